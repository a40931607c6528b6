//! Executes a plan's actions crash-safely: before the first action the operation journal (phase
//! and whether to resume) is written to status, so a controller that dies anywhere between pause
//! and resume is finished by the next one. An update answered "task started" (6007) is retried as the
//! planner's recovery rule says; after any failure following the pause the planner's recovery
//! actions (resume when the task must run) are performed.

use kube::ResourceExt;
use kube::api::Api;

use super::context::Context;
use super::reconcile::{Remote, failure_of};
use super::{events, status};
use crate::api::{Operation, OutboundTask};
use crate::planner::{self, Action, ActionKind, Execution, Failure, Plan, Recovery, StartedBehaviour};
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
    let behaviour = StartedBehaviour {
        retry_interval: remote.client.config().started_retry_interval,
        retries: remote.client.config().started_retries,
        ..StartedBehaviour::default()
    };
    let mut done = Vec::new();
    for (step, action) in plan.actions.iter().enumerate() {
        let journal = plan.journal_for(step);
        // The journal is written once, before the first action: what a restarted controller
        // needs is `resumeAfter`, and it re-derives every step from what it reads, so writing
        // each later phase would only spend API-server writes.
        if let Some(journal) = journal.as_ref().filter(|_| step == 0) {
            let in_progress = status::in_progress(&previous, journal, generation, jiff::Timestamp::now());
            if let Err(error) = status::apply(api, &task.name_any(), &in_progress).await {
                // Without the journal in status a crash could strand a paused task: stop here.
                let failure = Failure::Remote(format!("could not write the operation journal: {error}"));
                return recover(ctx, task, remote, done, action.kind(), failure, Some(journal)).await;
            }
        }
        let result = match action {
            Action::Update(body) => update_with_retries(task, remote, body, &behaviour).await,
            other => perform(task, remote, other).await.map_err(|e| failure_of(&e)),
        };
        match result {
            Ok(()) => {
                done.push(action.kind());
                for event in plan.events.iter().filter(|e| e.after_action == Some(step)) {
                    events::publish(ctx, task, event).await;
                }
            }
            Err(failure) => return recover(ctx, task, remote, done, action.kind(), failure, journal.as_ref()).await,
        }
    }
    Execution::completed(plan)
}

/// After `failed` failed: the planner's recovery actions, then the execution record.
async fn recover(
    ctx: &Context,
    task: &OutboundTask,
    remote: &Remote,
    mut done: Vec<ActionKind>,
    failed: ActionKind,
    failure: Failure,
    journal: Option<&Operation>,
) -> Execution {
    for action in planner::on_failure(failed, &failure, journal) {
        match perform(task, remote, &action).await {
            Ok(()) => {
                done.push(action.kind());
                let note = format!("resumed the task after the failed {}: {failure}", failed.name());
                let event = planner::PlannedEvent {
                    type_: planner::EventType::Normal,
                    reason: "Resumed",
                    note,
                    after_action: None,
                };
                events::publish(ctx, task, &event).await;
            }
            // The journal stays in status: the next reconcile resumes the task.
            Err(error) => tracing::warn!(task = %task.name_any(), %error, "recovery action failed"),
        }
    }
    Execution::failed_at(done, failed, failure)
}

async fn update_with_retries(
    task: &OutboundTask,
    remote: &Remote,
    body: &crate::remote::wire::UpdateBody,
    behaviour: &StartedBehaviour,
) -> Result<(), Failure> {
    let sub_user = task.spec.sub_user_id.as_deref();
    let mut started_answers = 0;
    loop {
        match remote
            .client
            .update(&remote.token, &task.spec.task_id, sub_user, body)
            .await
        {
            Ok(()) => return Ok(()),
            Err(error) if error.kind() == ErrorKind::TaskStarted => {
                started_answers += 1;
                match planner::on_update_started(started_answers, behaviour) {
                    Recovery::Retry { after, pause_first } => {
                        tracing::debug!(task = %task.name_any(), attempt = started_answers, "update answered 6007; retrying");
                        tokio::time::sleep(after).await;
                        if pause_first {
                            perform(task, remote, &Action::Pause)
                                .await
                                .map_err(|e| failure_of(&e))?;
                        }
                    }
                    Recovery::GiveUp => return Err(planner::started_failure(started_answers)),
                }
            }
            Err(error) => return Err(failure_of(&error)),
        }
    }
}

async fn perform(task: &OutboundTask, remote: &Remote, action: &Action) -> Result<(), RemoteError> {
    let (client, token, id, sub_user) = (
        &remote.client,
        &remote.token,
        &task.spec.task_id,
        task.spec.sub_user_id.as_deref(),
    );
    match action {
        Action::Pause => client.pause(token, id, sub_user).await,
        Action::Resume => client.resume(token, id, sub_user).await,
        Action::Update(body) => client.update(token, id, sub_user, body).await,
    }
}
