//! The planner: from (spec, observed task, status) to the calls to make, the journal to write
//! before them, the events to publish and the verdict to report. Pure: no I/O, no clock (the time
//! comes in `PlanOptions::now`).
//!
//! Rules, in order:
//! 1. `spec.suspend`: nothing is read or written, unless a journal says the operator itself paused
//!    a task that must run again (then the task is read and resumed: a running campaign is never
//!    left paused by the operator). [`needs_remote_read`] tells the controller whether to read.
//! 2. Remote state Unknown: no writes at all, report and re-read soon (`requeue_after`).
//! 3. `mode: Observe`: no writes (same journal exception as 1); report drift.
//! 4. Enforce: when settings differ, Pause (if started: running or waiting, since the platform
//!    refuses edits to started tasks, code 6007), Update, Resume (if the task must run after).
//!    When they are equal, only the run state is corrected: Pause when `runState: Paused` and
//!    started, Resume when it must run and is paused.
//!
//! "Must run after" (`resume_after`): `runState: Running` -> yes; `Paused` -> no; unset -> the
//! state it had: started when read, or a journal saying the operator paused it (the journal wins
//! over the observed state, because the controller itself paused the task).
//!
//! The convergence guard: the same difference fingerprint after N successful updates (same
//! generation, no new `reconcile.fluxcd.io/requestedAt`) means the platform ignores a field: no
//! more updates, Stalled naming the field(s). A difference the platform rejected is not re-sent
//! for the same generation either (its fingerprint is kept in `convergence`; Stalled until the
//! spec or the difference changes, or a reconcile is requested): pausing a running campaign only
//! to hear the same "no" again is a call that does not earn its place. Likewise an update still
//! refused as "task started" (6007) after every retry of N consecutive reconciles is held
//! (Stalled, NotPausable; count in `status.stillStarted`) until the spec changes or a reconcile
//! is requested. An unknown remote state is re-read after a delay that doubles with each
//! consecutive unknown read (`status.unknownReads`), capped.

mod claim;
mod create;
mod create_report;
mod deletion;
mod enforcing;
mod failure;
mod intent;
mod plan;
mod platform_user;
mod recovery;
mod report;
mod settle;
mod steps;
#[cfg(test)]
mod tests;

use std::time::Duration;

pub use claim::{Claimant, RemoteTask, holder};
pub use create::{Candidate, CreateEffect, CreateInput, CreateOutcome, CreateResult, CreateSteps, LOOKUP_INTERVAL};
pub use create_report::{CreateReportInput, create_event, create_report, create_requeue};
pub use deletion::{GIVE_UP_AFTER, Owed, finalizer_wanted, gives_up, owed_at_deletion};
pub use failure::{EventType, Failure, PlannedEvent, reasons};
pub use intent::{Intent, NewIntent, changed_intent};
pub use plan::{Action, ActionKind, IfStillStarted, Plan, Verdict};
pub use platform_user::{account_moved, platform_user, stamp_platform};
pub use recovery::{
    MAX_STARTED_RETRIES, MAX_STARTED_RETRY_INTERVAL, Recovery, StartedBehaviour, on_failure, on_update_started,
};
pub use report::{Execution, ReportInput, in_progress, report};
pub use settle::PauseSettle;
pub use steps::{CallError, Effect, Outcome, StepLimits, Steps};

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::diff;
use crate::mapping::{self, FieldSet};
use crate::wire::TaskDetail;
use outbound_api::{
    Convergence, Mode, Operation, OutboundTaskSpec, OutboundTaskStatus, RemoteState, RunState, StillStarted, condition,
};
use plan::run_state_drift;

/// Knobs of the planner.
#[derive(Clone, Debug)]
pub struct PlanOptions {
    /// Successful updates leaving the same difference before the guard stalls (default 3).
    pub max_identical_updates: u32,
    /// Now (journal `startedAt`).
    pub now: Timestamp,
    /// Re-read delay when the remote state is unknown (default 15 s), doubled for each further
    /// consecutive unknown read (`status.unknownReads`) up to `unknown_state_max_retry`.
    pub unknown_state_retry: Duration,
    /// Cap of that delay (default 5 min).
    pub unknown_state_max_retry: Duration,
    /// Consecutive reconciles whose update is still refused as "task started" after every retry
    /// before the task is Stalled with reason NotPausable (default 3).
    pub max_still_started_reconciles: u32,
}

impl PlanOptions {
    pub fn new(now: Timestamp) -> Self {
        PlanOptions {
            max_identical_updates: 3,
            now,
            unknown_state_retry: Duration::from_secs(15),
            unknown_state_max_retry: Duration::from_secs(300),
            max_still_started_reconciles: 3,
        }
    }
}

/// The remote task as read, normalised.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    pub fields: FieldSet,
    pub state: RemoteState,
    /// The state fields as read, for messages (`status=1 enable=true call_status=-`).
    pub state_fields: String,
    /// What an update sends back for fields the spec leaves unset but the call needs.
    pub carried: mapping::Carried,
}

impl Observed {
    pub fn from_detail(detail: &TaskDetail) -> Self {
        Observed {
            fields: mapping::observed_fields(detail),
            state: mapping::remote_state(detail),
            state_fields: mapping::describe_state(detail),
            carried: mapping::Carried::from_detail(detail),
        }
    }
}

/// Everything the planner looks at.
#[derive(Clone, Debug)]
pub struct PlanInput<'a> {
    pub spec: &'a OutboundTaskSpec,
    /// `metadata.generation`.
    pub generation: i64,
    /// The remote task as read; `None` when it was not read (suspended).
    pub observed: Option<Observed>,
    /// The current status: its journal (`operation`), `convergence`, conditions.
    pub status: &'a OutboundTaskStatus,
    /// The `reconcile.fluxcd.io/requestedAt` annotation, if any.
    pub requested_at: Option<&'a str>,
    pub options: PlanOptions,
}

/// Whether the controller must read the remote task: always, except when suspended with no
/// operator-made pause to undo.
pub fn needs_remote_read(spec: &OutboundTaskSpec, status: &OutboundTaskStatus) -> bool {
    !spec.suspend || has_resume_debt(spec, status.operation.as_ref())
}

fn has_resume_debt(spec: &OutboundTaskSpec, journal: Option<&Operation>) -> bool {
    journal.is_some_and(|j| j.resume_after) && spec.run_state != Some(RunState::Paused)
}

/// Plans one reconcile.
pub fn plan(input: &PlanInput<'_>) -> Plan {
    let spec = input.spec;
    let status = input.status;
    let journal = status.operation.as_ref();
    let debt = has_resume_debt(spec, journal);

    if spec.suspend && !debt {
        let mut p = Plan::new(spec, Verdict::Suspended);
        // A journal whose resume `runState: Paused` called off owes nothing: it goes (found by
        // tests/people_properties.rs: suspended and Paused, it stayed for ever).
        p.journal = journal.filter(|_| spec.run_state != Some(RunState::Paused)).cloned();
        return p;
    }
    let Some(observed) = &input.observed else {
        let mut p = Plan::new(
            spec,
            Verdict::Blocked(Failure::RemoteStateUnknown("the task was not read".into())),
        );
        p.journal = journal.cloned();
        p.requeue_after = Some(input.options.unknown_state_retry);
        return p;
    };

    let desired = mapping::desired_fields(&spec.task);
    let differences = diff::diff(&desired, &observed.fields);
    let mut p = Plan::new(spec, Verdict::InSync);
    p.resume_debt = debt;
    p.drift = diff::drift_entries(&differences);
    p.differences = differences;
    p.remote_state = Some(observed.state);

    if observed.state == RemoteState::Unknown {
        p.verdict = Verdict::Blocked(Failure::RemoteStateUnknown(observed.state_fields.clone()));
        p.journal = journal.cloned();
        p.requeue_after = Some(unknown_state_delay(&input.options, status.unknown_reads));
        return p;
    }

    let started = observed.state.is_started();
    p.resume_after = match spec.run_state {
        Some(RunState::Running) => true,
        Some(RunState::Paused) => false,
        None => started || journal.is_some_and(|j| j.resume_after),
    };
    // Unset runState keeps the state the task had: running when it must run again.
    p.desired_run_state = spec.run_state.or(p.resume_after.then_some(RunState::Running));

    if spec.suspend || spec.mode == Mode::Observe {
        // Never write, except to resume a task the operator itself paused.
        if debt && !started {
            p.actions.push(Action::Resume);
        }
        let settled = if p.actions.is_empty() {
            observed.state
        } else {
            RemoteState::Running
        };
        p.verdict = if spec.suspend {
            Verdict::Suspended
        } else if p.differences.is_empty() && run_state_drift(p.desired_run_state, Some(settled)).is_none() {
            Verdict::InSync
        } else {
            Verdict::Drifted
        };
        finish(&mut p, input, journal, false);
        return p;
    }

    let mut update = !p.differences.is_empty();
    if update {
        let manual = input
            .requested_at
            .is_some_and(|r| status.last_handled_reconcile_at.as_deref() != Some(r));
        let same_generation = status.observed_generation == Some(input.generation);
        let fingerprint = diff::fingerprint(&p.differences);
        let prior = status
            .convergence
            .as_ref()
            .filter(|c| same_generation && !manual && c.fingerprint == fingerprint)
            .map_or(0, |c| c.attempts.max(0) as u32);
        // The same difference was rejected for this generation: do not pause the campaign again
        // to hear the same answer (the report records the rejected fingerprint).
        let rejected = status
            .convergence
            .as_ref()
            .filter(|c| !manual && c.fingerprint == fingerprint)
            .and_then(|_| rejected_at(status, input.generation));
        let refusals = refusals_so_far(status, input.generation, manual);
        if let Some(message) = rejected {
            p.verdict = Verdict::Blocked(Failure::Rejected(message));
            update = false;
        } else if prior >= input.options.max_identical_updates {
            let fields = p.differences.iter().map(|d| d.path().to_string()).collect();
            p.verdict = Verdict::Blocked(Failure::NotConverged(fields));
            update = false;
        } else if refusals >= input.options.max_still_started_reconciles {
            // Every retry of N reconciles found the task started: pausing it again would only
            // interrupt the campaign once more.
            p.verdict = Verdict::Blocked(Failure::NotPausable(refusals));
            update = false;
        } else {
            p.convergence_on_success = Some(Convergence {
                fingerprint,
                attempts: prior as i32 + 1,
            });
            let reconciles = refusals + 1;
            p.if_still_started = Some(plan::IfStillStarted {
                record: StillStarted {
                    generation: input.generation,
                    reconciles: reconciles as i32,
                },
                stalls: reconciles >= input.options.max_still_started_reconciles,
            });
        }
    }

    if update {
        if started {
            p.actions.push(Action::Pause);
        }
        p.actions
            .push(Action::Update(mapping::update_body(spec, &observed.carried)));
        if p.resume_after {
            p.actions.push(Action::Resume);
        }
    } else if started && !p.resume_after {
        p.actions.push(Action::Pause);
    } else if !started && p.resume_after {
        p.actions.push(Action::Resume);
    }
    if p.verdict == Verdict::InSync && !p.actions.is_empty() {
        p.verdict = Verdict::Converging;
    }
    // A correction of drift: the task had been in sync at this generation (someone changed it
    // on the platform since). Otherwise the update applies a new or not yet applied spec.
    let drift_corrected =
        status.observed_generation == Some(input.generation) && status.last_sync_time.is_some() && journal.is_none();
    finish(&mut p, input, journal, drift_corrected);
    enforcing::announce(&mut p, status);
    p
}

/// The journal and the events of a plan whose actions are known.
fn finish(p: &mut Plan, input: &PlanInput<'_>, journal: Option<&Operation>, drift_corrected: bool) {
    let updates = p.actions.iter().any(|a| matches!(a, Action::Update(_)));
    let Some(first) = p.actions.first() else {
        p.journal = None;
        return;
    };
    // A journal only where a crash could strand a campaign the operator paused: an update of a
    // task that must run again, or an operation already journaled. An update of a paused task
    // needs none (one API-server write fewer).
    if (updates && p.resume_after) || journal.is_some() {
        p.journal = Some(Operation {
            phase: first.kind().phase(),
            resume_after: p.resume_after,
            started_at: journal.map_or(Time(input.options.now), |j| j.started_at.clone()),
            generation: input.generation,
        });
    }
    if updates {
        // One event per operation (the API server's write budget is shared with the status
        // writes): published once the last action succeeded, naming every step.
        let reason = if drift_corrected {
            reasons::DRIFT_CORRECTED
        } else {
            reasons::UPDATED
        };
        let kinds = p.action_kinds();
        let paused = if kinds.first() == Some(&ActionKind::Pause) {
            "paused the task, "
        } else {
            ""
        };
        let resumed = if kinds.last() == Some(&ActionKind::Resume) {
            ", resumed the task"
        } else {
            ""
        };
        let note = format!("{paused}updated {}{resumed}", diff::field_list(&p.differences));
        p.events.push(PlannedEvent {
            type_: EventType::Normal,
            reason,
            note: diff::shorten(&note, 1024),
            after_action: Some(p.actions.len() - 1),
        });
        return;
    }
    // Without an update the actions are a lone pause (spec.runState: Paused) or a lone resume
    // (spec.runState: Running, or a campaign the operator had paused): an event each.
    let paused_by_us = journal.is_some_and(|j| j.resume_after);
    for (i, action) in p.actions.iter().enumerate() {
        let note = match action.kind() {
            ActionKind::Pause => "paused the task (spec.runState: Paused)",
            ActionKind::Resume if paused_by_us => "resumed the task the operator had paused (interrupted update)",
            ActionKind::Resume => "resumed the task (spec.runState: Running)",
            ActionKind::Update => unreachable!("a plan with an update has its one event above"),
        };
        let reason = if action.kind() == ActionKind::Pause {
            reasons::PAUSED
        } else {
            reasons::RESUMED
        };
        p.events.push(PlannedEvent {
            type_: EventType::Normal,
            reason,
            note: note.to_string(),
            after_action: Some(i),
        });
    }
}

/// Consecutive reconciles of this generation whose update was refused as "task started"; a new
/// generation or a requested reconcile starts the count again.
fn refusals_so_far(status: &OutboundTaskStatus, generation: i64, manual: bool) -> u32 {
    status
        .still_started
        .as_ref()
        .filter(|s| s.generation == generation && !manual)
        .map_or(0, |s| s.reconciles.max(0) as u32)
}

/// The re-read delay after `reads` consecutive unknown reads before this one: doubled each time,
/// capped.
fn unknown_state_delay(options: &PlanOptions, reads: Option<i32>) -> Duration {
    let doublings = reads.unwrap_or(0).clamp(0, 16) as u32;
    options
        .unknown_state_retry
        .saturating_mul(1 << doublings)
        .min(options.unknown_state_max_retry)
}

/// The platform's message when an update of the current generation was rejected (a Stalled
/// condition with reason RemoteRejected written for this generation).
fn rejected_at(status: &OutboundTaskStatus, generation: i64) -> Option<String> {
    stalled_message(status, "RemoteRejected", generation).map(|message| {
        message
            .strip_prefix("the platform rejected the update: ")
            .unwrap_or(message)
            .to_string()
    })
}

/// The message of a Stalled=True condition with `reason` written for `generation`: a verdict
/// held until the spec changes.
fn stalled_message<'a>(status: &'a OutboundTaskStatus, reason: &str, generation: i64) -> Option<&'a str> {
    status
        .conditions
        .iter()
        .find(|c| {
            c.type_ == condition::STALLED
                && c.status == "True"
                && c.reason == reason
                && c.observed_generation == Some(generation)
        })
        .map(|c| c.message.as_str())
}
