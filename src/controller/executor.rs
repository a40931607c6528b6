//! Performs the effects of the planner's step machine ([`Steps`]): writes the journal to
//! status, calls the platform, publishes events, sleeps. Every decision (what to call next, 6007
//! retries and their waits, waiting out a throttle, recovery after a failure, when to stop) is
//! the step machine's; this driver only reports how each effect went.

use kube::ResourceExt;
use kube::api::Api;

use super::context::Context;
use super::reconcile::{Remote, failure_of};
use super::{events, finalizer, status};
use crate::api::{OutboundTask, OutboundTaskStatus};
use crate::planner::{Action, CallError, Effect, Execution, Outcome, Plan, StartedBehaviour, StepLimits, Steps};
use crate::remote::{ErrorKind, RemoteError};

/// `on_server` is the status the API server holds as far as this reconcile knows: the journal's
/// in-progress status once written, `None` once a write's outcome is unknown.
pub async fn execute(
    ctx: &Context,
    api: &Api<OutboundTask>,
    task: &OutboundTask,
    plan: &Plan,
    remote: &Remote,
    on_server: &mut Option<OutboundTaskStatus>,
) -> Execution {
    let _in_flight = ctx.metrics.operation_started();
    let previous = task.status.clone().unwrap_or_default();
    let generation = task.metadata.generation.unwrap_or_default();
    let config = remote.client.config();
    let started = StartedBehaviour::bounded(config.started_retry_interval, config.started_retries);
    let mut steps = Steps::new(plan, StepLimits::new(started));
    let mut outcome = Outcome::Begin;
    loop {
        outcome = match steps.next(outcome) {
            Effect::WriteJournal(_) if !ctx.still_ours(task) => Outcome::JournalNotWritten(LEFT_SHARD.into()),
            Effect::WriteJournal(journal) => {
                let in_progress = status::in_progress(&previous, &journal, generation, jiff::Timestamp::now());
                // The finalizer first, so that the object cannot go away with the journal.
                let finalizer = match finalizer::has(task) {
                    true => Ok(()),
                    false => finalizer::add(api, task).await,
                };
                let written = match finalizer {
                    Ok(()) => status::apply(api, &task.name_any(), &in_progress).await,
                    Err(error) => Err(error),
                };
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
            Effect::Call(action) => match perform(task, remote, &action).await {
                Ok(()) => Outcome::Succeeded,
                Err(error) => {
                    tracing::debug!(task = %task.name_any(), action = action.kind().name(), %error, "platform call failed");
                    Outcome::Failed(call_error(&error))
                }
            },
            Effect::Publish(event) => {
                events::publish(ctx, task, &event).await;
                Outcome::Performed
            }
            Effect::Wait(duration) => {
                tokio::time::sleep(duration).await;
                Outcome::Performed
            }
            Effect::Done(execution) => return execution,
        }
    }
}

/// Why a status write was not made (the platform client refuses the calls the same way).
pub const LEFT_SHARD: &str = "the task left this operator's watch (relabelled to another shard): not written";

/// A platform error as the step machine sees it.
fn call_error(error: &RemoteError) -> CallError {
    CallError {
        failure: failure_of(error),
        task_started: error.kind() == ErrorKind::TaskStarted,
        retry_after: error.retry_after(),
    }
}

async fn perform(task: &OutboundTask, remote: &Remote, action: &Action) -> Result<(), RemoteError> {
    let (client, token, id, sub_user) = (
        &remote.client,
        &remote.token,
        task.remote_id().unwrap_or_default(),
        task.spec.sub_user_id.as_deref(),
    );
    match action {
        Action::Pause => client.pause(token, id, sub_user).await,
        Action::Resume => client.resume(token, id, sub_user).await,
        Action::Update(body) => client.update(token, id, sub_user, body).await,
    }
}
