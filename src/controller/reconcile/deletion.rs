//! Deletion of an OutboundTask: what the operator owes the remote task before it lets the object
//! go. The finalizer (`writes::finalizer`) holds the object while it owes something. With `deletionPolicy: Pause` it is always there, and deletion pauses
//! the remote task; with `Delete` likewise, and deletion pauses the task, then deletes it. With `Orphan` it is added before an operation's journal (by the
//! executor) and kept while a journal is in status, so that deleting a task whose campaign the
//! operator paused (an operator killed mid-operation) first resumes the campaign; the end of the
//! reconcile that clears the journal removes it again ([`wanted_after`]), so that an Orphan task
//! never blocks its own deletion, its namespace's or its CRD's once the operator is gone.
//! Deleting an Orphan task that still holds it without a journal removes it without calling the
//! platform. A task with no id (never created) has nothing to pause or delete.

use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;

use super::error::{Error, failure_of};
use super::remote::{self, Remote};
use crate::controller::context::Context;
use crate::controller::writes::finalizer::{has, remove};
use outbound_api::{DeletionPolicy, OutboundTask, OutboundTaskStatus, RemoteState};
use outbound_core::planner::{EventType, Failure, PlannedEvent, reasons};

/// Whether the finalizer must be on the object before anything else is done.
pub fn wanted(task: &OutboundTask) -> bool {
    matches!(
        task.spec.deletion_policy,
        DeletionPolicy::Pause | DeletionPolicy::Delete
    ) || journal_resumes(task)
}

/// Whether the finalizer must stay once `status` is on the server: always with `Pause` and
/// `Delete`; with `Orphan` while any journal is in status (an operation in flight, or one cut off
/// whose campaign may have to be resumed).
pub fn wanted_after(task: &OutboundTask, status: &OutboundTaskStatus) -> bool {
    matches!(
        task.spec.deletion_policy,
        DeletionPolicy::Pause | DeletionPolicy::Delete
    ) || status.operation.is_some()
}

/// The status holds a journal of an operation that paused a campaign which must run again.
fn journal_resumes(task: &OutboundTask) -> bool {
    task.status
        .as_ref()
        .and_then(|s| s.operation.as_ref())
        .is_some_and(|journal| journal.resume_after)
}

/// Deletion: with `Pause`, pause the remote task (if started) before letting the object go; with
/// `Delete`, pause it, then delete it; with a journal whose campaign must run, resume it first (`Orphan` too: the operator paused
/// it, so leaving it alone means leaving it running). Otherwise nothing is called.
pub async fn finalize(
    ctx: &Context,
    api: &Api<OutboundTask>,
    task: &OutboundTask,
    namespace: &str,
) -> Result<Action, Error> {
    if !has(task) {
        return Ok(Action::await_change());
    }
    let deleting = task.spec.deletion_policy == DeletionPolicy::Delete;
    let owed = if matches!(
        task.spec.deletion_policy,
        DeletionPolicy::Pause | DeletionPolicy::Delete
    ) {
        Some(RemoteState::Paused)
    } else if journal_resumes(task) {
        Some(RemoteState::Running)
    } else {
        None
    };
    if let Some(state) = owed.filter(|_| task.remote_id().is_some()) {
        let outcome = match remote::connect(ctx, task, namespace).await? {
            Ok(remote) => match set_run_state(ctx, task, &remote, state).await {
                Ok(()) if deleting => delete_remote(ctx, task, &remote).await,
                done => done,
            },
            Err(failure) => Err(failure),
        };
        match outcome {
            Ok(()) | Err(Failure::TaskNotFound) => {}
            Err(failure) => {
                let verb = match state {
                    RemoteState::Paused if deleting => "pause and delete",
                    RemoteState::Paused => "pause",
                    _ => "resume",
                };
                let note = format!("could not {verb} the remote task before deletion: {failure}");
                let event = PlannedEvent {
                    type_: EventType::Warning,
                    reason: "DeletionBlocked",
                    note,
                    after_action: None,
                };
                ctx.events.publish(task, &event).await;
                return Ok(Action::requeue(
                    ctx.backoff_after_failure(&format!("{namespace}/{}", task.name_any())),
                ));
            }
        }
    }
    remove(api, task).await?;
    Ok(Action::await_change())
}

/// Pauses (`Paused`) or resumes (`Running`) the remote task unless it already is so.
async fn set_run_state(
    ctx: &Context,
    task: &OutboundTask,
    remote: &Remote,
    wanted: RemoteState,
) -> Result<(), Failure> {
    let (id, sub_user) = (task.remote_id().unwrap_or_default(), task.spec.sub_user_id.as_deref());
    let detail = match remote.client.detail(&remote.token, id, sub_user).await {
        Ok(detail) => detail,
        Err(error) => return Err(failure_of(&error)),
    };
    let state = outbound_core::mapping::remote_state(&detail);
    let pausing = wanted == RemoteState::Paused;
    if (pausing && state == RemoteState::Paused) || (!pausing && state.is_started()) {
        return Ok(());
    }
    let (result, reason, note) = if pausing {
        let result = remote.client.pause(&remote.token, id, sub_user).await;
        (
            result,
            "Paused",
            "paused the remote task before deletion (deletionPolicy: Pause or Delete)",
        )
    } else {
        let result = remote.client.resume(&remote.token, id, sub_user).await;
        let note = "resumed the remote task before deletion: the operator had paused it for an update";
        (result, "Resumed", note)
    };
    match result {
        Ok(()) => {
            let event = PlannedEvent {
                type_: EventType::Normal,
                reason,
                note: note.into(),
                after_action: None,
            };
            ctx.events.publish(task, &event).await;
            Ok(())
        }
        Err(error) => Err(failure_of(&error)),
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
            ctx.events.publish(task, &event).await;
            Ok(())
        }
        Err(error) => Err(failure_of(&error)),
    }
}
