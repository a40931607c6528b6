//! Performs the effects of the planner's create steps ([`CreateSteps`]) for an OutboundTask with
//! no task id yet: writes the create intent to status, creates the task, lists tasks by name.
//! Every decision (whether to create, look up, wait for the list, or stall) is the step
//! machine's; this driver only reports how each effect went, then writes the status.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;

use super::ending::{self, Ending};
use super::error::{Error, failure_of};
use super::remote::{self, Remote};
use crate::controller::context::Context;
use crate::controller::intake::watches::REQUESTED_AT;
use crate::controller::writes::task_status;
use outbound_api::{OutboundTask, OutboundTaskStatus};
use outbound_core::planner::{
    Candidate, CreateEffect, CreateInput, CreateOutcome, CreateReportInput, CreateResult, CreateSteps, create_event,
    create_report, create_requeue,
};
use outbound_platform::ErrorKind;

/// One reconcile of a task to create: connect, run the create steps, report.
pub async fn reconcile_create(
    ctx: &Context,
    api: &Api<OutboundTask>,
    task: &OutboundTask,
    namespace: &str,
    key: &str,
    started: Instant,
) -> Result<Action, Error> {
    let previous = task.status.clone().unwrap_or_default();
    let generation = task.metadata.generation.unwrap_or_default();
    let requested_at = task.annotations().get(REQUESTED_AT).map(String::as_str);
    let remote = if task.spec.suspend {
        None
    } else {
        match remote::connect(ctx, task, namespace).await? {
            Ok(remote) => Some(remote),
            Err(failure) => {
                let result = CreateResult::Failed {
                    failure,
                    intent: previous.create_intent.clone(),
                };
                return finish(ctx, api, task, key, started, None, Some(previous), &result, false).await;
            }
        }
    };
    let input = CreateInput {
        spec: &task.spec,
        generation,
        status: &previous,
        requested_at,
        now: Timestamp::now(),
        grace: remote
            .as_ref()
            .map_or(Duration::ZERO, |r| r.client.config().create_list_grace),
        skew: remote
            .as_ref()
            .map_or(Duration::ZERO, |r| r.client.config().create_clock_skew),
    };
    let mut steps = CreateSteps::new(&input);
    let mut outcome = CreateOutcome::Begin;
    let mut reached_platform = false;
    // What the API server holds: `previous` until the intent is written.
    let mut on_server = Some(previous.clone());
    let mut reported = None;
    let result = loop {
        outcome = match (steps.next(outcome), &remote) {
            (CreateEffect::Done(result), _) => break result,
            // The intent is written right before the create call: a person's change since the
            // read (suspend, Observe, deletion, a new spec) ends the reconcile before either, and
            // the next one plans from the latest object.
            (CreateEffect::WriteIntent(_), _) if super::executor::new_intent(ctx, task, &mut reported).is_some() => {
                tracing::info!(task = %key, "create not sent: the object changed since it was read");
                return Ok(Action::requeue(Duration::ZERO));
            }
            // Like the executor's journal (review D14): no intent for a task another shard sees now.
            (CreateEffect::WriteIntent(_), _) if !ctx.still_ours(task) => {
                CreateOutcome::IntentNotWritten(ending::LEFT_SHARD.into())
            }
            (CreateEffect::WriteIntent(intent), _) => {
                let pending = CreateResult::Pending {
                    intent,
                    retry_after: Duration::ZERO,
                };
                let in_progress = report(task, &pending);
                match task_status::apply(api, task, &in_progress).await {
                    Ok(()) => {
                        on_server = Some(in_progress);
                        CreateOutcome::IntentWritten
                    }
                    Err(error) => {
                        // It may have been written all the same (a lost answer).
                        on_server = None;
                        tracing::warn!(task = %key, %error, "could not write the create intent");
                        CreateOutcome::IntentNotWritten(error.to_string())
                    }
                }
            }
            // And again right before the call: a change that landed during the intent write. The
            // intent is taken back (its create was never sent), so the next reconcile does not
            // look for a task that does not exist; if that write fails, the lookup finds none.
            (CreateEffect::Create { .. }, _) if super::executor::new_intent(ctx, task, &mut reported).is_some() => {
                tracing::info!(task = %key, "create not sent: the object changed while its intent was written");
                if let Err(error) = task_status::apply(api, task, &previous).await {
                    tracing::debug!(task = %key, %error, "could not take back the create intent");
                }
                return Ok(Action::requeue(Duration::ZERO));
            }
            (CreateEffect::Create { body, sub_user_id }, Some(remote)) => {
                match remote.client.create(&remote.token, sub_user_id.as_deref(), &body).await {
                    Ok(id) => {
                        reached_platform = true;
                        CreateOutcome::Created(id)
                    }
                    Err(error) => {
                        reached_platform |= error.http_status().is_some();
                        tracing::info!(task = %key, %error, "create failed");
                        CreateOutcome::CreateFailed {
                            failure: failure_of(&error),
                            // Only a failure that may have reached the platform's handler leaves
                            // the outcome open; a refused write or an answer saying no does not.
                            maybe_created: error.kind() == ErrorKind::Transient,
                            at: Timestamp::now(),
                        }
                    }
                }
            }
            (CreateEffect::List { name, sub_user_id }, Some(remote)) => {
                match remote.client.list(&remote.token, &name, sub_user_id.as_deref()).await {
                    Ok(items) => {
                        reached_platform = true;
                        let zone = &remote.client.config().time_zone;
                        CreateOutcome::Listed(items.iter().filter_map(|i| Candidate::from_listed(i, zone)).collect())
                    }
                    Err(error) => {
                        reached_platform |= error.http_status().is_some();
                        CreateOutcome::ListFailed(failure_of(&error))
                    }
                }
            }
            (effect, None) => unreachable!("a suspended task makes no platform call: {effect:?}"),
        };
    };
    finish(
        ctx,
        api,
        task,
        key,
        started,
        remote.as_ref(),
        on_server,
        &result,
        reached_platform,
    )
    .await
}

/// The status `result` leads to, from the object's status as read.
fn report(task: &OutboundTask, result: &CreateResult) -> outbound_api::OutboundTaskStatus {
    create_report(&CreateReportInput {
        result,
        previous: &task.status.clone().unwrap_or_default(),
        generation: task.metadata.generation.unwrap_or_default(),
        now: Timestamp::now(),
        requested_at: task.annotations().get(REQUESTED_AT).map(String::as_str),
    })
}

/// Hands the end of a create reconcile to [`ending::finish`].
#[allow(clippy::too_many_arguments)]
async fn finish(
    ctx: &Context,
    api: &Api<OutboundTask>,
    task: &OutboundTask,
    key: &str,
    started: Instant,
    remote: Option<&Remote>,
    on_server: Option<OutboundTaskStatus>,
    result: &CreateResult,
    reached_platform: bool,
) -> Result<Action, Error> {
    let failure = match result {
        CreateResult::Failed { failure, .. } => Some(failure.clone()),
        _ => None,
    };
    let ending = Ending {
        key,
        started,
        status: report(task, result),
        on_server,
        events: create_event(result).into_iter().collect(),
        failure,
        remote,
        reached_platform,
        requeue_after: create_requeue(result),
        retry_after: None,
        suspended: matches!(result, CreateResult::Suspended),
        pause_slot: None,
        finalizer_on_server: crate::controller::writes::finalizer::has(task),
        summary: summary(result),
        message: "reconciled (create)",
    };
    ending::finish(ctx, api, task, ending).await
}

/// The result in a few words, for the log.
fn summary(result: &CreateResult) -> String {
    match result {
        CreateResult::Suspended => "suspended".into(),
        CreateResult::Known { id, listed } => format!("task {id} ({})", if *listed { "listed" } else { "answered" }),
        CreateResult::Pending { .. } => "not listed yet".into(),
        CreateResult::Failed { intent, .. } => format!("failed (intent kept: {})", intent.is_some()),
    }
}
