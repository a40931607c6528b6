//! One reconcile of one OutboundTask: resolve its account and token, read the remote task, plan,
//! execute, report. The decisions are the planner's; this file only gathers inputs and performs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use rand::Rng;

pub mod create;
pub mod deletion;
pub mod executor;
pub mod remote;
pub mod rolling;

use self::remote::{Error, connect, failure_is_new, failure_of, forget_refused_token};
use crate::controller::accounts::credentials;
use crate::controller::context::Context;
use crate::controller::intake::queue::Permit;
use crate::controller::intake::watches::REQUESTED_AT;
use crate::controller::metrics::controller::ReconcileResult;
use crate::controller::writes::{finalizer, task_status};
use outbound_api::OutboundTask;
use outbound_core::planner::{self, Execution, Failure, PlanInput, PlanOptions, ReportInput};

/// kube-runtime calls this for every reconcile it begins: one the queue reserved a place
/// for, or a requeue of its own. A requeue that finds others waiting for a place joins them and
/// ends here; the queue starts it again when its turn comes (by priority: see
/// `outbound_core::queue`).
pub async fn reconcile(task: Arc<OutboundTask>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = task.namespace().ok_or(Error::NoNamespace)?;
    let Some((_running, place)) = ctx.queue.enter(&task) else {
        return Ok(Action::await_change()); // waiting, or shutting down
    };
    let key = format!("{namespace}/{}", task.name_any());
    // Boxed: a reconcile that ends at once does not pay for the whole future.
    Box::pin(reconcile_admitted(task, ctx.clone(), namespace, key, place)).await
}

/// `worker` is given back early by an operation that holds a campaign paused (see `rolling`).
async fn reconcile_admitted(
    task: Arc<OutboundTask>,
    ctx: Arc<Context>,
    namespace: String,
    key: String,
    worker: Permit<'_>,
) -> Result<Action, Error> {
    let mut worker = Some(worker);
    let mut pause_slot = None;
    let started = Instant::now();
    let name = task.name_any();
    let api: Api<OutboundTask> = Api::namespaced(ctx.client.clone(), &namespace);
    tracing::debug!(task = %key, generation = ?task.meta().generation, "reconciling");

    if task.meta().deletion_timestamp.is_some() {
        return deletion::finalize(&ctx, &api, &task, &namespace).await;
    }
    // Once there, the finalizer stays until deletion (removing it would cost a write after
    // every operation of an Orphan task); the executor adds it before a journal.
    if deletion::wanted(&task) && !finalizer::has(&task) {
        finalizer::add(&api, &task).await?;
    }
    if task.remote_id().is_none() {
        return create::reconcile_create(&ctx, &api, &task, &namespace, &key, started).await;
    }

    let previous = task.status.clone().unwrap_or_default();
    let generation = task.meta().generation.unwrap_or_default();
    let requested_at = task.annotations().get(REQUESTED_AT).map(String::as_str);
    let options = PlanOptions {
        max_identical_updates: ctx.settings.convergence_attempts,
        max_still_started_reconciles: ctx.settings.started_stall_after,
        ..PlanOptions::new(Timestamp::now())
    };

    // What the API server holds: `previous` until the executor writes a journal.
    let mut on_server = Some(previous.clone());
    let mut retry_after = None;
    let mut reached_platform = false;
    let mut operation_events = Vec::new();
    let (plan, execution) = if !planner::needs_remote_read(&task.spec, &previous) {
        let input = PlanInput {
            spec: &task.spec,
            generation,
            observed: None,
            status: &previous,
            requested_at,
            options,
        };
        (Some(planner::plan(&input)), Execution::default())
    } else {
        match connect(&ctx, &task, &namespace).await? {
            Err(failure) => (None, Execution::failed_before_actions(failure)),
            Ok(remote) => match rolling::read_and_plan(&ctx, &remote, &task, &key, &mut worker, |observed| {
                planner::plan(&PlanInput {
                    spec: &task.spec,
                    generation,
                    observed: Some(observed),
                    status: &previous,
                    requested_at,
                    options: options.clone(),
                })
            })
            .await
            {
                Err(error) => {
                    reached_platform = error.http_status().is_some();
                    retry_after = error.retry_after();
                    let failure = failure_of(&error);
                    forget_refused_token(&ctx, &remote, &namespace, &failure);
                    (None, Execution::failed_before_actions(failure))
                }
                Ok((plan, slot)) => {
                    reached_platform = true;
                    pause_slot = slot;
                    if !plan.differences.is_empty() {
                        ctx.metrics.drift_detected();
                    }
                    let execution = if plan.writes() {
                        let executed =
                            executor::execute(&ctx, &api, &task, &plan, &remote, &mut on_server, &mut worker).await;
                        operation_events = executed.events;
                        executed.execution
                    } else {
                        Execution::default()
                    };
                    if let Some(failure) = &execution.failure {
                        forget_refused_token(&ctx, &remote, &namespace, failure);
                    }
                    (Some(plan), execution)
                }
            },
        }
    };

    let failure = execution
        .failure
        .clone()
        .or_else(|| plan.as_ref().and_then(|p| p.verdict.failure().cloned()));
    let mut new_status = planner::report(&ReportInput {
        plan: plan.as_ref(),
        execution: &execution,
        previous: &previous,
        generation,
        now: Timestamp::now(),
        requested_at,
    });
    if new_status.task_id.is_none() {
        // The printer column shows status.taskId: the adopted id, or the created one.
        new_status.task_id = task.spec.task_id.clone();
    }
    if !ctx.still_ours(&task) {
        // Another shard acts on it now: its status is that shard's to write.
        tracing::info!(task = %key, actions = ?execution.done, "{}", executor::LEFT_SHARD);
        return Ok(Action::await_change());
    }
    let worth_writing = on_server
        .as_ref()
        .is_none_or(|written| task_status::worth_writing(written, &new_status, ctx.settings.sync_time_refresh));
    if worth_writing {
        task_status::apply_with_retries(&api, &name, &new_status).await?;
    }
    drop(pause_slot);
    // After the status: Ready does not wait for them (see `executor`).
    for event in &operation_events {
        ctx.events.publish(&task, event).await;
    }
    if let Some(failure) = &failure
        && failure_is_new(&previous, &new_status)
    {
        ctx.events.publish(&task, &failure.event()).await;
    }
    ctx.metrics.remote_state(&key, new_status.remote_state);
    if let Some(credentials) = credentials::Credentials::from_outcome(reached_platform, failure.as_ref()) {
        ctx.account_reports
            .report(&namespace, &task.spec.account_ref.name, credentials)
            .await;
    }

    let requeue =
        next_run(&ctx, &task, &key, plan.as_ref(), failure.as_ref()).map(|d| d.max(retry_after.unwrap_or_default()));
    let result = if failure.is_some() {
        ReconcileResult::Error
    } else {
        ReconcileResult::Success
    };
    ctx.metrics.reconciled(result, started.elapsed());
    let verdict = plan
        .as_ref()
        .map(|p| format!("{:?}", p.verdict))
        .unwrap_or_else(|| "not planned".into());
    tracing::info!(
        task = %key,
        verdict = %verdict,
        actions = ?execution.done,
        failure = failure.as_ref().map(|f| f.to_string()),
        next_in = ?requeue,
        "reconciled"
    );
    if let Some(failure) = &failure {
        let message = failure.to_string();
        if ctx.worth_warning(&key, &message) {
            tracing::warn!(task = %key, reason = failure.synced_reason(), error = %message, retry_in = ?requeue, "reconcile failed");
        }
    }
    Ok(match requeue {
        Some(after) => Action::requeue(after),
        None => Action::await_change(),
    })
}

pub fn error_policy(task: Arc<OutboundTask>, error: &Error, ctx: Arc<Context>) -> Action {
    let key = format!("{}/{}", task.namespace().unwrap_or_default(), task.name_any());
    let delay = ctx.backoff_after_failure(&key);
    ctx.metrics.reconciled(ReconcileResult::Error, Duration::ZERO);
    tracing::warn!(task = %key, error = %error, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// When to look at the task again: soon after failures (exponential backoff, Retry-After
/// honoured), at the planner's request, or after the jittered resync interval; never while
/// suspended (a spec change wakes it).
fn next_run(
    ctx: &Context,
    task: &OutboundTask,
    key: &str,
    plan: Option<&planner::Plan>,
    failure: Option<&Failure>,
) -> Option<Duration> {
    if let Some(failure) = failure {
        let backoff = ctx.backoff_after_failure(key);
        // A human has to act on a stall; its watch (spec, Secret, account) brings the task
        // back sooner, so retry at the pace of the resync rather than hammering the platform.
        let delay = if failure.stalls() {
            task.spec.resync_period().max(backoff)
        } else {
            backoff
        };
        return Some(
            plan.and_then(|p| p.requeue_after)
                .map_or(delay, |after| after.min(delay)),
        );
    }
    ctx.succeeded(key);
    if let Some(plan) = plan {
        if plan.verdict == planner::Verdict::Suspended {
            return None;
        }
        if let Some(after) = plan.requeue_after {
            return Some(after);
        }
    }
    Some(jittered(task.spec.resync_period()))
}

/// The resync period stretched by up to 10%, so tasks created together do not read together.
fn jittered(period: Duration) -> Duration {
    period.mul_f64(1.0 + rand::rng().random_range(0.0..0.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_ten_percent_above_the_period() {
        for _ in 0..1000 {
            let d = jittered(Duration::from_secs(30));
            assert!(d >= Duration::from_secs(30) && d <= Duration::from_secs(33), "{d:?}");
        }
    }
}
