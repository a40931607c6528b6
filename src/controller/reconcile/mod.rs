//! One reconcile of one OutboundTask: resolve its account and token, read the remote task, plan,
//! execute, report. The decisions are the planner's; this file only gathers inputs and performs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};

pub mod claim;
pub mod create;
pub mod deletion;
mod ending;
pub mod error;
pub mod executor;
pub mod remote;
pub mod rolling;

use self::ending::Ending;
use self::error::{Error, failure_of};
use self::remote::connect;
use self::rolling::Planned;
use crate::controller::context::Context;
use crate::controller::intake::queue::Permit;
use crate::controller::intake::watches::REQUESTED_AT;
use crate::controller::metrics::controller::ReconcileResult;
use crate::controller::writes::finalizer;
use outbound_api::OutboundTask;
use outbound_core::planner::{self, Execution, PlanInput, PlanOptions};

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
    let api: Api<OutboundTask> = Api::namespaced(ctx.client.clone(), &namespace);
    tracing::debug!(task = %key, generation = ?task.meta().generation, "reconciling");

    if task.meta().deletion_timestamp.is_some() {
        ctx.waiting.done(&key);
        return deletion::finalize(&ctx, &api, &task, &namespace).await;
    }
    // Another object's remote task: no platform call, and no finalizer for it either.
    if task.remote_id().is_some()
        && let Some(holder) = claim::holder(&ctx, &task, &key).await
    {
        return ending::stand_aside(&ctx, &api, &task, &key, holder, started).await;
    }
    // The executor adds it before a journal when it is not there yet; the ending removes it once
    // deletion would owe nothing (`deletion::wanted_after`).
    let task = if deletion::wanted(&task) && !finalizer::has(&task) {
        finalizer::add(&api, &task).await?;
        // So that the executor does not add it again before its journal.
        Arc::new(finalizer::with_finalizer(&task))
    } else {
        task
    };
    let mut finalizer_on_server = finalizer::has(&task);
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
    // A task whose planner needs no read (suspended, Observe with nothing to read) connects to
    // nothing.
    let remote = match planner::needs_remote_read(&task.spec, &previous) {
        true => Some(connect(&ctx, &task, &namespace).await?),
        false => None,
    };
    // A journal's campaign paused through another platform user than the account reaches now.
    let moved = match &remote {
        Some(Ok(connected)) => planner::account_moved(&previous, &connected.platform),
        _ => None,
    };
    let (plan, execution) = match &remote {
        _ if let Some(failure) = &moved => (None, Execution::failed_before_actions(failure.clone())),
        None => {
            let input = PlanInput {
                spec: &task.spec,
                generation,
                observed: None,
                status: &previous,
                requested_at,
                options,
            };
            (Some(planner::plan(&input)), Execution::default())
        }
        Some(Err(failure)) => (None, Execution::failed_before_actions(failure.clone())),
        Some(Ok(remote)) => match rolling::read_and_plan(&ctx, remote, &task, &key, &mut worker, |observed| {
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
                (None, Execution::failed_before_actions(failure_of(&error)))
            }
            Ok(Planned::Superseded) => return Ok(Action::requeue(Duration::ZERO)),
            Ok(Planned::Ready(plan, slot)) => {
                reached_platform = true;
                pause_slot = slot;
                if !plan.differences.is_empty() {
                    ctx.metrics.drift_detected();
                }
                let execution = if plan.writes() {
                    let executed =
                        executor::execute(&ctx, &api, &task, &plan, remote, &mut on_server, &mut worker).await;
                    operation_events = executed.events;
                    finalizer_on_server |= executed.finalizer_added;
                    executed.execution
                } else {
                    Execution::default()
                };
                (Some(plan), execution)
            }
        },
    };

    // A person changed the object during the operation: the status on the server (its journal)
    // stands, and the next reconcile, at once, plans from the latest object.
    let superseded = execution.superseded.is_some().then(|| on_server.clone()).flatten();
    let failure = match superseded {
        Some(_) => None,
        None => execution
            .failure
            .clone()
            .or_else(|| plan.as_ref().and_then(|p| p.verdict.failure().cloned())),
    };
    let requeue_after = match superseded {
        Some(_) => Some(Duration::ZERO),
        None => plan.as_ref().and_then(|p| p.requeue_after),
    };
    let mut status = superseded.unwrap_or_else(|| ending::status_after(&task, plan.as_ref(), &execution));
    if let Some(Ok(connected)) = &remote {
        planner::stamp_platform(&mut status, &connected.platform);
    }
    let verdict = plan.as_ref().map(|p| p.verdict.clone());
    let ending = Ending {
        key: &key,
        started,
        status,
        on_server,
        events: operation_events,
        failure,
        remote: remote.as_ref().and_then(|connected| connected.as_ref().ok()),
        reached_platform,
        requeue_after,
        retry_after,
        suspended: verdict == Some(planner::Verdict::Suspended),
        pause_slot,
        finalizer_on_server,
        summary: match verdict {
            Some(verdict) => format!("{verdict:?}, actions {:?}", execution.done),
            None => "not planned".into(),
        },
        message: "reconciled",
    };
    ending::finish(&ctx, &api, &task, ending).await
}

pub fn error_policy(task: Arc<OutboundTask>, error: &Error, ctx: Arc<Context>) -> Action {
    let key = format!("{}/{}", task.namespace().unwrap_or_default(), task.name_any());
    let delay = ctx.backoff_after_failure(&key);
    ctx.metrics.reconciled(ReconcileResult::Error, Duration::ZERO);
    tracing::warn!(task = %key, error = %error, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}
