//! Performs the effects of the planner's step machine ([`Steps`]): writes the journal to
//! status, calls the platform, publishes events, sleeps. Every decision (what to call next, 6007
//! retries and their waits, waiting out a throttle, recovery after a failure, when to stop) is
//! the step machine's; this driver only reports how each effect went.
//!
//! The events of the operation are handed back rather than published on the way: an Event
//! between the update and the resume would stand in the pause window, and one before the final
//! status write would delay Ready. The caller publishes them after that write, so the critical
//! path of a changed running task holds two API-server writes (the journal, the final status).
//! The one exception is an event the step machine hands out before the first platform call
//! (`EnforcingChanges`): it announces what is about to change, so it is published at once, while
//! the campaign is still untouched.

use std::time::{Duration, Instant};

use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::reflector::ObjectRef;

use super::ending::LEFT_SHARD;
use super::error::failure_of;
use super::remote::Remote;
use super::rolling;
use crate::controller::context::Context;
use crate::controller::intake::queue::Permit;
use crate::controller::writes::{finalizer, task_status};
use outbound_api::{OutboundTask, OutboundTaskStatus};
use outbound_core::planner::{
    Action, CallError, Effect, Execution, Failure, Intent, NewIntent, Outcome, PauseSettle, Plan, PlannedEvent,
    StartedBehaviour, StepLimits, Steps, changed_intent,
};
use outbound_platform::{ErrorKind, RemoteError};

/// What an execution did, and the events it leaves to publish.
pub struct Executed {
    pub execution: Execution,
    pub events: Vec<PlannedEvent>,
    /// Whether this execution added the finalizer (the task read does not show it).
    pub finalizer_added: bool,
}

/// `on_server` is the status the API server holds as far as this reconcile knows: the journal's
/// in-progress status once written, `None` once a write's outcome is unknown. An operation that
/// holds a campaign paused gives `worker` back once its journal write is done (see `rolling`):
/// from there it holds a place among `maxPaused` instead.
pub async fn execute(
    ctx: &Context,
    api: &Api<OutboundTask>,
    task: &OutboundTask,
    plan: &Plan,
    remote: &Remote,
    on_server: &mut Option<OutboundTaskStatus>,
    worker: &mut Option<Permit<'_>>,
) -> Executed {
    let _in_flight = ctx.metrics.operation_started();
    let previous = task.status.clone().unwrap_or_default();
    let generation = task.metadata.generation.unwrap_or_default();
    let config = remote.client.config();
    let started = StartedBehaviour::bounded(config.started_retry_interval, config.started_retries);
    let mut steps = Steps::new(plan, StepLimits::new(started));
    let mut outcome = Outcome::Begin;
    let mut events = Vec::new();
    // When the first pause succeeded, and whether an update was refused as "task started" since.
    let mut paused_at: Option<Instant> = None;
    let mut refused = false;
    let mut called = false;
    let mut finalizer_added = false;
    // The person's change last reported to the step machine (each change is reported once).
    let mut reported = None;
    loop {
        outcome = match steps.next(outcome) {
            Effect::WriteJournal(_) if !ctx.still_ours(task) => Outcome::JournalNotWritten(LEFT_SHARD.into()),
            Effect::WriteJournal(journal) => {
                let mut in_progress =
                    outbound_core::planner::in_progress(&previous, &journal, generation, jiff::Timestamp::now());
                outbound_core::planner::stamp_platform(&mut in_progress, &remote.platform);
                // The finalizer first, so that the object cannot go away with the journal.
                let finalizer = match finalizer::has(task) || finalizer_added {
                    true => Ok(()),
                    false => finalizer::add(api, task).await.map(|()| finalizer_added = true),
                };
                let written = match finalizer {
                    Ok(()) => task_status::apply(api, task, &in_progress).await,
                    Err(error) => Err(error),
                };
                if rolling::holds_paused(plan) {
                    drop(worker.take());
                }
                match written {
                    Ok(()) => {
                        *on_server = Some(in_progress);
                        Outcome::JournalWritten
                    }
                    Err(error) => {
                        // It may have been written all the same (a lost answer).
                        *on_server = None;
                        tracing::warn!(task = %task.name_any(), %error, "could not write the operation journal");
                        Outcome::JournalNotWritten(error.to_string())
                    }
                }
            }
            Effect::Call(action) => match new_intent(ctx, task, &mut reported) {
                Some(by) => {
                    tracing::info!(task = %task.name_any(), action = action.kind().name(), change = by.describe(), "call not made: the object changed");
                    Outcome::Superseded(by)
                }
                None => {
                    called = true;
                    match perform(task, remote, &action, paused_at.is_some()).await {
                        Ok(()) => {
                            match (&action, paused_at) {
                                (Action::Pause, None) => paused_at = Some(Instant::now()),
                                (Action::Update(_), Some(_)) if !refused => {
                                    ctx.settle.learn(&remote.key, PauseSettle::update_went_through_at_once)
                                }
                                _ => {}
                            }
                            Outcome::Succeeded
                        }
                        Err(error) => {
                            // Timed at the answer: later than the platform looked, never sooner.
                            if let (ErrorKind::TaskStarted, Some(at)) = (error.kind(), paused_at) {
                                refused = true;
                                ctx.settle.learn(&remote.key, |s| s.update_refused(at.elapsed()));
                            }
                            tracing::debug!(task = %task.name_any(), action = action.kind().name(), %error, "platform call failed");
                            Outcome::Failed(call_error(&error))
                        }
                    }
                }
            },
            Effect::Publish(event) if !called => {
                ctx.events.publish(task, &event).await;
                Outcome::Performed
            }
            Effect::Publish(event) => {
                events.push(event);
                Outcome::Performed
            }
            Effect::Wait(duration) => {
                tokio::time::sleep(duration).await;
                Outcome::Performed
            }
            Effect::AwaitPause(duration) => {
                if !duration.is_zero() {
                    tokio::time::sleep(duration).await;
                }
                Outcome::PauseAge {
                    // Only a pause is awaited; without one there is nothing to wait for.
                    since_pause: paused_at.map_or(Duration::MAX, |at| at.elapsed()),
                    settle: ctx.settle.wait(&remote.key),
                }
            }
            Effect::Done(execution) => {
                if let (Some(Failure::StillStarted(_) | Failure::NotPausable(_)), Some(at)) =
                    (&execution.failure, paused_at)
                {
                    ctx.settle.learn(&remote.key, |s| s.update_gave_up(at.elapsed()));
                }
                return Executed {
                    execution,
                    events,
                    finalizer_added,
                };
            }
        }
    }
}

/// The person's change to the object since `task` was read (the plan's intent), looked up in the
/// watch's cache right before a platform call; `None` when there is none, or when it is the one
/// last reported (the step machine asks for the calls still owed under it).
pub(super) fn new_intent(ctx: &Context, task: &OutboundTask, reported: &mut Option<NewIntent>) -> Option<NewIntent> {
    let latest = ctx.tasks.get(&ObjectRef::from_obj(task));
    let changed = changed_intent(&intent(task), latest.as_deref().map(intent).as_ref());
    if changed.is_none() || changed == *reported {
        return None;
    }
    *reported = changed;
    changed
}

fn intent(task: &OutboundTask) -> Intent<'_> {
    Intent {
        spec: &task.spec,
        generation: task.metadata.generation.unwrap_or_default(),
        deleting: task.metadata.deletion_timestamp.is_some(),
    }
}

/// A platform error as the step machine sees it.
fn call_error(error: &RemoteError) -> CallError {
    CallError {
        failure: failure_of(error),
        task_started: error.kind() == ErrorKind::TaskStarted,
        retry_after: error.retry_after(),
    }
}

/// Performs one call; a pause after one that succeeded (the "task started" retry) finishes the
/// operation in flight and draws on the budget before reads and first pauses.
async fn perform(task: &OutboundTask, remote: &Remote, action: &Action, paused: bool) -> Result<(), RemoteError> {
    let (client, token, id, sub_user) = (
        &remote.client,
        &remote.token,
        task.remote_id().unwrap_or_default(),
        task.spec.sub_user_id.as_deref(),
    );
    match action {
        Action::Pause if paused => client.pause_again(token, id, sub_user).await,
        Action::Pause => client.pause(token, id, sub_user).await,
        Action::Resume => client.resume(token, id, sub_user).await,
        Action::Update(body) => client.update(token, id, sub_user, body).await,
    }
}
