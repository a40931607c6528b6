//! The end of every reconcile, in one place (the shape of Flux's deferred `finalizeStatus`): the
//! update path and the create path each hand an [`Ending`] to [`finish`], which writes the status
//! when it is worth writing, publishes the Events, reports the account's credentials, counts,
//! logs and says when to come back. A rule about what is written at the end lives here.
//!
//! # Guarantees
//!
//! - Nothing is written for a task that left this process's watch (another shard's now).
//! - The status is written before any Event: Ready does not wait for them, and no Event stands in
//!   a pause window.
//! - A place among `maxPaused` is held until the status that ends the operation is written.
//! - A failure publishes a Warning only when it is new or changed, not on every retry.
//! - The finalizer goes once deletion would owe nothing (an Orphan task without a journal that
//!   resumes, an Observe or suspended task), after the Events (off the critical path), and only
//!   from a task that holds it: no write on an ordinary reconcile.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use rand::Rng;

use super::deletion;
use super::error::Error;
use super::remote::{Remote, forget_refused_token};
use crate::controller::accounts::credentials::Credentials;
use crate::controller::accounts::pause_slots::PauseSlot;
use crate::controller::context::Context;
use crate::controller::intake::watches::REQUESTED_AT;
use crate::controller::metrics::controller::ReconcileResult;
use crate::controller::writes::{finalizer, task_status};
use outbound_api::{OutboundTask, OutboundTaskStatus};
use outbound_core::planner::{self, Execution, Failure, PlannedEvent, ReportInput};

/// Why a status write was not made (the platform client refuses the calls the same way).
pub const LEFT_SHARD: &str = "the task left this operator's watch (relabelled to another shard): not written";

/// What a reconcile leaves to write and to decide at its end.
pub struct Ending<'a> {
    /// `namespace/name`.
    pub key: &'a str,
    /// When the reconcile began.
    pub started: Instant,
    /// The status the reconcile leads to.
    pub status: OutboundTaskStatus,
    /// The status the API server holds as far as this reconcile knows: the one read, or the
    /// journal (create intent) written since; `None` once a write's outcome is unknown.
    pub on_server: Option<OutboundTaskStatus>,
    /// The Events of the operation, published after the status.
    pub events: Vec<PlannedEvent>,
    pub failure: Option<Failure>,
    /// The connection used, if one was made: a token the platform refused is forgotten.
    pub remote: Option<&'a Remote>,
    /// Whether any call reached the platform (an answer, whatever it said).
    pub reached_platform: bool,
    /// When the planner asks to look again; a failure's backoff may come sooner.
    pub requeue_after: Option<Duration>,
    /// The platform's Retry-After: never come back sooner.
    pub retry_after: Option<Duration>,
    /// Suspended: no resync (a spec change wakes the task).
    pub suspended: bool,
    /// The place among `maxPaused` the operation held, released once the status is written.
    pub pause_slot: Option<PauseSlot<'a>>,
    /// Whether the object holds our finalizer (read with it, or added by this reconcile).
    pub finalizer_on_server: bool,
    /// What was decided and done, in a few words, for the log.
    pub summary: String,
    /// The log line's message.
    pub message: &'static str,
}

/// Writes the end of a reconcile (see the module's guarantees) and says when to come back.
pub async fn finish(
    ctx: &Context,
    api: &Api<OutboundTask>,
    task: &OutboundTask,
    ending: Ending<'_>,
) -> Result<Action, Error> {
    let Ending {
        key,
        started,
        status,
        on_server,
        events,
        failure,
        remote,
        reached_platform,
        requeue_after,
        retry_after,
        suspended,
        pause_slot,
        finalizer_on_server,
        summary,
        message,
    } = ending;
    let namespace = task.namespace().unwrap_or_default();
    if let (Some(failure), Some(remote)) = (&failure, remote) {
        forget_refused_token(ctx, remote, &namespace, failure);
    }
    if !ctx.still_ours(task) {
        // Another shard acts on it now: its status is that shard's to write.
        tracing::info!(task = %key, outcome = %summary, "{LEFT_SHARD}");
        return Ok(Action::await_change());
    }
    let worth_writing = on_server
        .as_ref()
        .is_none_or(|written| task_status::worth_writing(written, &status, ctx.settings.sync_time_refresh));
    if worth_writing {
        task_status::apply_with_retries(api, task, &status).await?;
    }
    drop(pause_slot);
    for event in &events {
        ctx.events.publish(task, event).await;
    }
    let previous = task.status.clone().unwrap_or_default();
    if let Some(failure) = &failure
        && failure_is_new(&previous, &status)
    {
        ctx.events.publish(task, &failure.event()).await;
    }
    if finalizer_on_server && !deletion::wanted_after(task, &status) {
        let mut on_server = task.finalizers().to_vec();
        if !finalizer::has(task) {
            on_server.push(finalizer::FINALIZER.to_owned());
        }
        // Left for the next reconcile if it fails (e.g. someone else's finalizer changed the list).
        if let Err(error) = finalizer::remove_from(api, &task.name_any(), &on_server).await {
            tracing::debug!(task = %key, %error, "could not remove the finalizer no journal needs");
        }
    }
    if let Some(credentials) = Credentials::from_outcome(reached_platform, failure.as_ref()) {
        ctx.account_reports
            .report(&namespace, &task.spec.account_ref.name, credentials)
            .await;
    }
    if let Some(remote) = remote
        && let Some(budget) = ctx.pool.budget_of(&remote.key)
    {
        ctx.account_reports.report_budget(&remote.key, &budget).await;
    }

    let holds_paused = status.operation.as_ref().is_some_and(|journal| journal.resume_after);
    let requeue = next_run(ctx, task, key, requeue_after, suspended, holds_paused, failure.as_ref())
        .map(|after| after.max(retry_after.unwrap_or_default()));
    let result = match failure {
        Some(_) => ReconcileResult::Error,
        None => ReconcileResult::Success,
    };
    ctx.metrics.reconciled(result, started.elapsed());
    tracing::info!(
        task = %key,
        outcome = %summary,
        failure = failure.as_ref().map(Failure::to_string),
        next_in = ?requeue,
        "{message}"
    );
    if let Some(failure) = &failure {
        let text = failure.to_string();
        if ctx.worth_warning(key, &text) {
            tracing::warn!(task = %key, reason = failure.synced_reason(), error = %text, retry_in = ?requeue, "reconcile failed");
        }
    }
    Ok(match requeue {
        Some(after) => Action::requeue(after),
        None => Action::await_change(),
    })
}

/// The status a reconcile of `task` (as read) leads to, from its plan and what was done.
pub fn status_after(task: &OutboundTask, plan: Option<&planner::Plan>, execution: &Execution) -> OutboundTaskStatus {
    let mut status = planner::report(&ReportInput {
        plan,
        execution,
        previous: &task.status.clone().unwrap_or_default(),
        generation: task.meta().generation.unwrap_or_default(),
        now: Timestamp::now(),
        requested_at: task.annotations().get(REQUESTED_AT).map(String::as_str),
    });
    if status.task_id.is_none() {
        // The printer column shows status.taskId: the adopted id, or the created one.
        status.task_id = task.spec.task_id.clone();
    }
    status
}

/// Ends the reconcile of a task whose remote task `holder` holds: no platform call, Stalled
/// `TaskClaimed`, through the same ending as every reconcile.
pub async fn stand_aside(
    ctx: &Context,
    api: &Api<OutboundTask>,
    task: &OutboundTask,
    key: &str,
    holder: String,
    started: Instant,
) -> Result<Action, Error> {
    let failure = Failure::TaskClaimed(holder);
    let execution = Execution::failed_before_actions(failure.clone());
    let status = status_after(task, None, &execution);
    let ending = Ending {
        key,
        started,
        status,
        on_server: Some(task.status.clone().unwrap_or_default()),
        events: Vec::new(),
        failure: Some(failure),
        remote: None,
        reached_platform: false,
        requeue_after: None,
        retry_after: None,
        suspended: false,
        pause_slot: None,
        finalizer_on_server: finalizer::has(task),
        summary: "claimed by another object: no platform call".into(),
        message: "reconciled",
    };
    finish(ctx, api, task, ending).await
}

/// A Warning event when a failure appears or changes, not on every retry of the same one (the
/// Events are only published when something happened).
fn failure_is_new(previous: &OutboundTaskStatus, new: &OutboundTaskStatus) -> bool {
    let synced = |s: &OutboundTaskStatus| {
        s.conditions
            .iter()
            .find(|c| c.type_ == outbound_api::condition::SYNCED)
            .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
    };
    synced(previous) != synced(new)
}

/// When to look at the task again: soon after failures (exponential backoff; a stall at the pace
/// of the resync, since a human has to act and the watches bring the task back sooner, except
/// while a journal holds a campaign paused: that one is retried on the backoff, bounded by
/// `--max-backoff`, whatever the resync interval), at the planner's request, or after the
/// jittered resync interval; never while suspended.
#[allow(clippy::too_many_arguments)]
fn next_run(
    ctx: &Context,
    task: &OutboundTask,
    key: &str,
    requeue_after: Option<Duration>,
    suspended: bool,
    holds_paused: bool,
    failure: Option<&Failure>,
) -> Option<Duration> {
    if let Some(failure) = failure {
        let backoff = ctx.backoff_after_failure(key);
        let delay = if failure.stalls() && !holds_paused {
            task.spec.resync_period().max(backoff)
        } else {
            backoff
        };
        return Some(requeue_after.map_or(delay, |after| after.min(delay)));
    }
    ctx.succeeded(key);
    if suspended {
        return None;
    }
    Some(requeue_after.unwrap_or_else(|| jittered(task.spec.resync_period())))
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
