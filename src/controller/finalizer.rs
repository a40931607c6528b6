//! The finalizer that exists only for `deletionPolicy: Pause` and `Delete`: it holds the object
//! until the remote task is paused (`Pause`), or paused and then deleted (`Delete`). With
//! `Orphan` no finalizer is added (and a leftover one is removed without calling the platform).
//! A task with no id (never created) has nothing to pause or delete.

use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde_json::json;

use kube::runtime::controller::Action;

use super::context::Context;
use super::events;
use super::reconcile::{self, Remote};
use crate::api::{DeletionPolicy, OutboundTask, RemoteState};
use crate::planner::{EventType, Failure, PlannedEvent, reasons};

pub const PAUSE_ON_DELETE: &str = "outbound.dev/pause-on-delete";

pub fn has(task: &OutboundTask) -> bool {
    task.finalizers().iter().any(|f| f == PAUSE_ON_DELETE)
}

pub fn wanted(task: &OutboundTask) -> bool {
    matches!(
        task.spec.deletion_policy,
        DeletionPolicy::Pause | DeletionPolicy::Delete
    )
}

/// Adds the finalizer (JSON patch, so finalizers of others are kept).
pub async fn add(api: &Api<OutboundTask>, task: &OutboundTask) -> kube::Result<()> {
    let patch = if task.meta().finalizers.is_none() {
        json!([{"op": "add", "path": "/metadata/finalizers", "value": [PAUSE_ON_DELETE]}])
    } else {
        json!([{"op": "add", "path": "/metadata/finalizers/-", "value": PAUSE_ON_DELETE}])
    };
    let patch: json_patch::Patch = serde_json::from_value(patch).expect("valid JSON patch");
    api.patch(&task.name_any(), &PatchParams::default(), &Patch::Json::<()>(patch))
        .await?;
    Ok(())
}

/// Removes the finalizer; the `test` op makes the patch fail rather than remove another
/// finalizer if the list changed since we read it.
pub async fn remove(api: &Api<OutboundTask>, task: &OutboundTask) -> kube::Result<()> {
    let Some(index) = task.finalizers().iter().position(|f| f == PAUSE_ON_DELETE) else {
        return Ok(());
    };
    let path = format!("/metadata/finalizers/{index}");
    let patch = json!([
        {"op": "test", "path": path, "value": PAUSE_ON_DELETE},
        {"op": "remove", "path": path},
    ]);
    let patch: json_patch::Patch = serde_json::from_value(patch).expect("valid JSON patch");
    api.patch(&task.name_any(), &PatchParams::default(), &Patch::Json::<()>(patch))
        .await?;
    Ok(())
}

/// Deletion: with `Pause`, pause the remote task (if started) before letting the object go; with
/// `Delete`, pause it and delete it. Without our finalizer there is nothing to do: `Orphan` never
/// calls the platform.
pub async fn finalize(
    ctx: &Context,
    api: &Api<OutboundTask>,
    task: &OutboundTask,
    namespace: &str,
) -> Result<Action, reconcile::Error> {
    if !has(task) {
        return Ok(Action::await_change());
    }
    if wanted(task) && task.remote_id().is_some() {
        let deleting = task.spec.deletion_policy == DeletionPolicy::Delete;
        let outcome = match reconcile::connect(ctx, task, namespace).await? {
            Ok(remote) => match pause_remote(ctx, task, &remote).await {
                Ok(()) if deleting => delete_remote(ctx, task, &remote).await,
                paused => paused,
            },
            Err(failure) => Err(failure),
        };
        match outcome {
            Ok(()) | Err(Failure::TaskNotFound) => {}
            Err(failure) => {
                let (reason, what) = if deleting {
                    ("DeleteOnDeleteFailed", "pause and delete")
                } else {
                    ("PauseOnDeleteFailed", "pause")
                };
                let note = format!("could not {what} the remote task before deletion: {failure}");
                let event = PlannedEvent {
                    type_: EventType::Warning,
                    reason,
                    note,
                    after_action: None,
                };
                events::publish(ctx, task, &event).await;
                return Ok(Action::requeue(
                    ctx.backoff_after_failure(&format!("{namespace}/{}", task.name_any())),
                ));
            }
        }
    }
    remove(api, task).await?;
    Ok(Action::await_change())
}

/// Pauses the remote task unless it is paused already.
async fn pause_remote(ctx: &Context, task: &OutboundTask, remote: &Remote) -> Result<(), Failure> {
    let (id, sub_user) = (task.remote_id().unwrap_or_default(), task.spec.sub_user_id.as_deref());
    let detail = match remote.client.detail(&remote.token, id, sub_user).await {
        Ok(detail) => detail,
        Err(error) => return Err(reconcile::failure_of(&error)),
    };
    if crate::mapping::remote_state(&detail) == RemoteState::Paused {
        return Ok(());
    }
    match remote.client.pause(&remote.token, id, sub_user).await {
        Ok(()) => {
            let event = PlannedEvent {
                type_: EventType::Normal,
                reason: "Paused",
                note: "paused the remote task before deletion (deletionPolicy: Pause or Delete)".into(),
                after_action: None,
            };
            events::publish(ctx, task, &event).await;
            Ok(())
        }
        Err(error) => Err(reconcile::failure_of(&error)),
    }
}

/// Deletes the (paused) remote task; one already gone (TaskNotFound) counts as deleted.
async fn delete_remote(ctx: &Context, task: &OutboundTask, remote: &Remote) -> Result<(), Failure> {
    let (id, sub_user) = (task.remote_id().unwrap_or_default(), task.spec.sub_user_id.as_deref());
    match remote.client.delete(&remote.token, id, sub_user).await {
        Ok(()) => {
            let event = PlannedEvent {
                type_: EventType::Normal,
                reason: reasons::DELETED,
                note: format!("deleted the remote task {id} (deletionPolicy: Delete)"),
                after_action: None,
            };
            events::publish(ctx, task, &event).await;
            Ok(())
        }
        Err(error) => Err(reconcile::failure_of(&error)),
    }
}
