//! Performs the effects of the planner's step machine ([`Steps`]): writes the journal to
//! status, calls the platform, publishes events, sleeps. Every decision (what to call next, 6007
//! retries and their waits, waiting out a throttle, recovery after a failure, when to stop) is
//! the step machine's; this driver only reports how each effect went.

use kube::ResourceExt;
use kube::api::Api;

use super::context::Context;
use super::reconcile::{Remote, failure_of};
use super::{events, status};
use crate::api::OutboundTask;
use crate::planner::{Action, CallError, Effect, Execution, Outcome, Plan, StartedBehaviour, StepLimits, Steps};
use crate::remote::{ErrorKind, RemoteError};

pub async fn execute(
    ctx: &Context,
    api: &Api<OutboundTask>,
    task: &OutboundTask,
    plan: &Plan,
    remote: &Remote,
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
            Effect::WriteJournal(journal) => {
                let in_progress = status::in_progress(&previous, &journal, generation, jiff::Timestamp::now());
                match status::apply(api, &task.name_any(), &in_progress).await {
                    Ok(()) => Outcome::JournalWritten,
                    Err(error) => {
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
