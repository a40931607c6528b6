//! Deletion of an OutboundTask: performs what the planner says deletion owes the remote task
//! (`outbound_core::planner::owed_at_deletion`: pause with `deletionPolicy: Pause`, pause then
//! delete with `Delete`, in Enforce mode only; resume a campaign the operator itself holds paused,
//! unless the latest spec says `runState: Paused`), then lets the object go. The finalizer
//! (`writes::finalizer`) holds the object while deletion may owe something; it is added only then
//! (`finalizer_wanted`), so an Orphan, Observe or suspended task without a journal has none, and
//! the end of the reconcile that makes it unneeded removes it again ([`wanted_after`]): an Orphan
//! task never blocks its own deletion, its namespace's or its CRD's once the operator is gone. A
//! task with no id (never created) has nothing to pause or delete, nor has one whose remote task
//! another object holds (`claim`).

use jiff::Timestamp;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};

use super::claim;
use super::error::{Error, failure_of};
use super::remote::{self, Remote};
use crate::controller::context::Context;
use crate::controller::writes::finalizer::{has, remove};
use outbound_api::{OutboundTask, OutboundTaskStatus, RemoteState};
use outbound_core::planner::{
    EventType, Failure, Owed, PlannedEvent, account_moved, finalizer_wanted, gives_up, owed_at_deletion, reasons,
};

/// Whether the finalizer must be on the object before anything else is done.
pub fn wanted(task: &OutboundTask) -> bool {
    finalizer_wanted(&task.spec, &task.status.clone().unwrap_or_default())
}

/// Whether the finalizer must stay once `status` is on the server.
pub fn wanted_after(task: &OutboundTask, status: &OutboundTaskStatus) -> bool {
    finalizer_wanted(&task.spec, status)
}

/// Deletion: does what is owed (see the module), then removes the finalizer. A failure keeps the
/// finalizer and retries with backoff (a Warning `DeletionBlocked` each time), except when the
/// account or its token is gone for good: then, after a grace, the object goes with a Warning
/// `DeletionIncomplete` naming what was not done.
pub async fn finalize(
    ctx: &Context,
    api: &Api<OutboundTask>,
    task: &OutboundTask,
    namespace: &str,
) -> Result<Action, Error> {
    if !has(task) {
        return Ok(Action::await_change());
    }
    let owed = owed_at_deletion(&task.spec, &task.status.clone().unwrap_or_default());
    if owed != Owed::Nothing && task.remote_id().is_some() && !stands_aside(ctx, task, namespace).await {
        let status = task.status.clone().unwrap_or_default();
        let outcome = match remote::connect(ctx, task, namespace).await? {
            Ok(remote) => match account_moved(&status, &remote.platform) {
                Some(moved) => Err(moved),
                None => perform(ctx, task, &remote, owed).await,
            },
            Err(failure) => Err(failure),
        };
        match outcome {
            // A person changed the object since: what is owed is decided again from it.
            Ok(Performed::Superseded) => return Ok(Action::requeue(std::time::Duration::ZERO)),
            Ok(Performed::Done) | Err(Failure::TaskNotFound) => {}
            Err(failure) if gives_up(&failure, since_deletion(task)) => {
                let note = format!(
                    "did not {} the remote task {} before deletion ({}: {failure}); the object is let go and the \
                     campaign left as it is",
                    owed.verb(),
                    task.remote_id().unwrap_or_default(),
                    failure.synced_reason(),
                );
                let event = PlannedEvent {
                    type_: EventType::Warning,
                    reason: "DeletionIncomplete",
                    note,
                    after_action: None,
                };
                ctx.events.publish(task, &event).await;
            }
            Err(failure) => {
                let note = format!(
                    "could not {} the remote task before deletion ({}: {failure})",
                    owed.verb(),
                    failure.synced_reason()
                );
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

/// Whether another object holds the remote task (`claim`): deletion owes the campaign nothing
/// then, whatever this object's policy or journal says; it is the holder's.
async fn stands_aside(ctx: &Context, task: &OutboundTask, namespace: &str) -> bool {
    let key = format!("{namespace}/{}", task.name_any());
    let holder = claim::holder(ctx, task, &key).await;
    ctx.waiting.done(&key);
    if let Some(holder) = &holder {
        tracing::info!(task = %key, %holder, "deleted without a platform call: the remote task is the holder's");
    }
    holder.is_some()
}

/// How long ago the object was marked for deletion.
fn since_deletion(task: &OutboundTask) -> std::time::Duration {
    task.meta()
        .deletion_timestamp
        .as_ref()
        .map_or(std::time::Duration::ZERO, |at| {
            Timestamp::now().duration_since(at.0).unsigned_abs()
        })
}

/// How the calls deletion owes went, when none failed.
enum Performed {
    Done,
    /// A call was not made: the latest object no longer owes it ([`still_owed`]).
    Superseded,
}

/// The calls deletion owes, each made only if the latest object still owes it.
async fn perform(ctx: &Context, task: &OutboundTask, remote: &Remote, owed: Owed) -> Result<Performed, Failure> {
    match owed {
        Owed::Nothing => Ok(Performed::Done),
        Owed::Pause => set_run_state(ctx, task, remote, RemoteState::Paused).await,
        Owed::PauseAndDelete => match set_run_state(ctx, task, remote, RemoteState::Paused).await? {
            Performed::Done => delete_remote(ctx, task, remote).await,
            Performed::Superseded => Ok(Performed::Superseded),
        },
        Owed::Resume => set_run_state(ctx, task, remote, RemoteState::Running).await,
    }
}

/// Whether the latest object (the watch's cache), as a person may have changed it since the
/// deletion began (`runState: Paused`, Observe, suspend, another policy), still owes `call`.
fn still_owed(ctx: &Context, task: &OutboundTask, call: Owed) -> bool {
    let Some(latest) = ctx.tasks.get(&kube::runtime::reflector::ObjectRef::from_obj(task)) else {
        return false;
    };
    let owed = owed_at_deletion(&latest.spec, &latest.status.clone().unwrap_or_default());
    match call {
        Owed::Pause => matches!(owed, Owed::Pause | Owed::PauseAndDelete),
        other => owed == other,
    }
}

/// Pauses (`Paused`) or resumes (`Running`) the remote task unless it already is so.
async fn set_run_state(
    ctx: &Context,
    task: &OutboundTask,
    remote: &Remote,
    wanted: RemoteState,
) -> Result<Performed, Failure> {
    let (id, sub_user) = (task.remote_id().unwrap_or_default(), task.spec.sub_user_id.as_deref());
    let detail = match remote.client.detail(&remote.token, id, sub_user).await {
        Ok(detail) => detail,
        Err(error) => return Err(failure_of(&error)),
    };
    let state = outbound_core::mapping::remote_state(&detail);
    let pausing = wanted == RemoteState::Paused;
    if (pausing && state == RemoteState::Paused) || (!pausing && state.is_started()) {
        return Ok(Performed::Done);
    }
    if !still_owed(ctx, task, if pausing { Owed::Pause } else { Owed::Resume }) {
        return Ok(Performed::Superseded);
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
            Ok(Performed::Done)
        }
        Err(error) => Err(failure_of(&error)),
    }
}

/// Deletes the (paused) remote task; one already gone (TaskNotFound) counts as deleted.
async fn delete_remote(ctx: &Context, task: &OutboundTask, remote: &Remote) -> Result<Performed, Failure> {
    if !still_owed(ctx, task, Owed::PauseAndDelete) {
        return Ok(Performed::Superseded);
    }
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
            Ok(Performed::Done)
        }
        Err(error) => Err(failure_of(&error)),
    }
}
