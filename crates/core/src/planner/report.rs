//! The status to write after a reconcile, as a pure function of the plan, what happened when it
//! ran, the previous status and the time.
//!
//! Conditions, always in this order: Ready, Synced, Reconciling, Stalled (then any condition of
//! another type found in the previous status, untouched). Each carries `observedGeneration`; its
//! `lastTransitionTime` changes only when its status changes. kstatus reads a synced task as
//! Current (Ready=True, Reconciling=False, Stalled=False, observedGeneration == generation) and
//! a stalled one as Failed (Stalled=True).
//!
//! | situation | Ready | Synced | Reconciling | Stalled |
//! |---|---|---|---|---|
//! | equal, or made equal | True InSync | True ReconcileSuccess | False InSync | False InSync |
//! | Observe mode, drift | False Drifted | True ReconcileSuccess | False Drifted | False Drifted |
//! | suspended | False Suspended | (kept) | False Suspended | False Suspended |
//! | transient failure | False `<event reason>` (Updating while a journal is kept) | False `<reason>` | True `<reason>` | False `<reason>` |
//! | needs a human | False `<event reason>` | False `<reason>` | False `<event reason>` (True Updating while a journal is kept) | True `<event reason>` |
//!
//! `<reason>` is the failure's Synced reason; `<event reason>` that of its Warning event (the
//! same, except `NotConverged` for RemoteRejected and `RemoteStateUnknown` for RemoteError).

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use super::intent::NewIntent;
use super::{ActionKind, Failure, Plan, Verdict};
use crate::diff::{MAX_DRIFT_ENTRIES, shorten};
use outbound_api::{
    Convergence, DriftEntry, Operation, OperationPhase, OutboundTaskStatus, RemoteState, StillStarted, condition,
};

/// What happened when the plan ran.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Execution {
    /// Actions that succeeded, in the order they ran: the plan's, and recovery actions
    /// ([`super::on_failure`]) appended after them.
    pub done: Vec<ActionKind>,
    /// The plan action that failed, if any.
    pub failed: Option<ActionKind>,
    /// The failure, if any; a failure with no action (a read that failed, a missing Secret)
    /// comes with an empty `done` and no `failed`.
    pub failure: Option<Failure>,
    /// A person changed the object during the operation: it stopped before a call
    /// ([`super::changed_intent`]), and the next reconcile plans from the latest object.
    pub superseded: Option<NewIntent>,
}

impl Execution {
    /// Every action of the plan succeeded.
    pub fn completed(plan: &Plan) -> Self {
        Execution {
            done: plan.action_kinds(),
            failed: None,
            failure: None,
            superseded: None,
        }
    }

    /// Failed before any action (reading, credentials, ...).
    pub fn failed_before_actions(failure: Failure) -> Self {
        Execution {
            done: Vec::new(),
            failed: None,
            failure: Some(failure),
            superseded: None,
        }
    }

    /// `failed` failed with `failure` after `done` succeeded (recovery actions included).
    pub fn failed_at(done: Vec<ActionKind>, failed: ActionKind, failure: Failure) -> Self {
        Execution {
            done,
            failed: Some(failed),
            failure: Some(failure),
            superseded: None,
        }
    }

    /// Stopped by a person's change after `done` succeeded (a resume still owed included).
    pub fn superseded(done: Vec<ActionKind>, by: NewIntent) -> Self {
        Execution {
            done,
            failed: None,
            failure: None,
            superseded: Some(by),
        }
    }
}

/// Inputs of [`report`].
#[derive(Clone, Debug)]
pub struct ReportInput<'a> {
    /// The plan, or `None` when the reconcile failed before planning.
    pub plan: Option<&'a Plan>,
    pub execution: &'a Execution,
    pub previous: &'a OutboundTaskStatus,
    /// `metadata.generation`.
    pub generation: i64,
    pub now: Timestamp,
    /// The `reconcile.fluxcd.io/requestedAt` annotation handled by this reconcile.
    pub requested_at: Option<&'a str>,
}

/// The complete new status.
pub fn report(input: &ReportInput<'_>) -> OutboundTaskStatus {
    let previous = input.previous;
    let plan = input.plan;
    let exec = input.execution;
    let failure = exec
        .failure
        .clone()
        .or_else(|| plan.and_then(|p| p.verdict.failure().cloned()))
        .or_else(|| {
            plan.is_none()
                .then(|| Failure::Transient("the reconcile ended before planning".into()))
        });
    let updated = exec.done.contains(&ActionKind::Update);
    let state_after = plan.and_then(|p| state_after(p.remote_state, &exec.done));
    let operation = match plan {
        None => previous.operation.clone(),
        Some(p) => remaining_journal(p, exec, failure.is_some(), previous.operation.as_ref()),
    };
    let suspended = plan.is_some_and(|p| p.verdict == Verdict::Suspended);

    let mut status = OutboundTaskStatus {
        task_id: previous.task_id.clone(),
        create_intent: previous.create_intent.clone(),
        observed_generation: Some(input.generation),
        conditions: Vec::new(),
        remote_state: state_after.or(previous.remote_state),
        last_sync_time: previous.last_sync_time.clone(),
        drift: previous.drift.clone(),
        operation_platform: operation.as_ref().and(previous.operation_platform.clone()),
        operation,
        convergence: previous.convergence.clone(),
        still_started: previous.still_started.clone(),
        unknown_reads: previous.unknown_reads,
        last_handled_reconcile_at: input
            .requested_at
            .map(str::to_string)
            .or_else(|| previous.last_handled_reconcile_at.clone()),
    };
    if let Some(p) = plan.filter(|p| p.remote_state.is_some()) {
        status.drift = drift_after(p, updated, state_after);
        if updated {
            status.convergence = p.convergence_on_success.clone();
        } else if matches!(failure, Some(Failure::Rejected(_))) && exec.failed == Some(ActionKind::Update) {
            // Remember which difference was rejected (not a successful update: attempts unchanged),
            // so the planner holds this spec instead of pausing the campaign to hear "no" again.
            status.convergence = p.convergence_on_success.clone().map(|c| Convergence {
                attempts: c.attempts - 1,
                ..c
            });
        } else if p.differences.is_empty() {
            status.convergence = None;
        }
        status.still_started = still_started_after(p, exec, previous);
        status.unknown_reads = (p.remote_state == Some(RemoteState::Unknown))
            .then(|| previous.unknown_reads.unwrap_or(0).saturating_add(1));
        if failure.is_none() && matches!(p.verdict, Verdict::InSync | Verdict::Converging) {
            status.last_sync_time = Some(Time(input.now));
        }
    }

    let set = |type_: &str, ok: bool, reason: &str, message: String| {
        condition(
            &previous.conditions,
            type_,
            ok,
            reason,
            message,
            input.generation,
            input.now,
        )
    };
    let mut conditions = Vec::with_capacity(4);
    match (&failure, plan) {
        (Some(f), _) => {
            let in_flight = status.operation.is_some().then_some("Updating");
            conditions = failure_conditions(&previous.conditions, f, in_flight, input.generation, input.now);
        }
        (None, Some(_)) if suspended => {
            let message =
                "reconciliation is suspended (spec.suspend): the task is neither read nor written".to_string();
            conditions.push(set(condition::READY, false, "Suspended", message));
            if let Some(synced) = previous.conditions.iter().find(|c| c.type_ == condition::SYNCED) {
                conditions.push(Condition {
                    observed_generation: Some(input.generation),
                    ..synced.clone()
                });
            }
            conditions.push(set(condition::RECONCILING, false, "Suspended", String::new()));
            conditions.push(set(condition::STALLED, false, "Suspended", String::new()));
        }
        (None, Some(p)) => {
            let (ready, reason, message) = match p.verdict {
                Verdict::Drifted => {
                    let entries = &status.drift;
                    let shown: Vec<String> = entries
                        .iter()
                        .map(|d| format!("{}: {} -> {}", d.field, d.observed, d.desired))
                        .collect();
                    (
                        false,
                        "Drifted",
                        format!("{} difference(s) (Observe mode): {}", entries.len(), shown.join("; ")),
                    )
                }
                _ => {
                    let state = status.remote_state.map_or(String::new(), |s| format!(" ({s:?})"));
                    (true, "InSync", format!("the remote task equals spec{state}"))
                }
            };
            conditions.push(set(condition::READY, ready, reason, message));
            conditions.push(set(
                condition::SYNCED,
                true,
                "ReconcileSuccess",
                "last reconcile succeeded".into(),
            ));
            conditions.push(set(condition::RECONCILING, false, reason, String::new()));
            conditions.push(set(condition::STALLED, false, reason, String::new()));
        }
        (None, None) => unreachable!("a missing plan is reported as a failure"),
    }
    conditions.extend(foreign_conditions(&previous.conditions));
    status.conditions = conditions;
    status
}

/// The status while an operation runs: the journal, Ready=False and Reconciling=True with reason
/// Updating (kstatus: InProgress), Stalled=False; Synced and everything else as it was. Written
/// before the first platform call of an operation that holds a campaign paused.
pub fn in_progress(
    previous: &OutboundTaskStatus,
    journal: &Operation,
    generation: i64,
    now: Timestamp,
) -> OutboundTaskStatus {
    let step = match journal.phase {
        OperationPhase::Pausing => "pausing the task to update it",
        OperationPhase::Updating => "updating the task's settings",
        OperationPhase::Resuming => "resuming the task",
    };
    let set = |type_: &str, ok: bool, message: &str| {
        condition(
            &previous.conditions,
            type_,
            ok,
            "Updating",
            message.to_string(),
            generation,
            now,
        )
    };
    let synced = previous
        .conditions
        .iter()
        .find(|c| c.type_ == condition::SYNCED)
        .cloned();
    let mut status = previous.clone();
    status.operation = Some(journal.clone());
    status.observed_generation = Some(generation);
    status.conditions = [
        Some(set(condition::READY, false, step)),
        synced,
        Some(set(condition::RECONCILING, true, step)),
        Some(set(condition::STALLED, false, "")),
    ]
    .into_iter()
    .flatten()
    .chain(foreign_conditions(&previous.conditions))
    .collect();
    status
}

/// Ready, Synced, Reconciling and Stalled after `f`. `in_flight`: the reason of Ready and
/// Reconciling while work is left in flight (a journal, a create intent), which keeps the task
/// Reconciling even when it stalls.
pub(super) fn failure_conditions(
    previous: &[Condition],
    f: &Failure,
    in_flight: Option<&str>,
    generation: i64,
    now: Timestamp,
) -> Vec<Condition> {
    let set = |type_: &str, ok: bool, reason: &str, message: String| {
        condition(previous, type_, ok, reason, message, generation, now)
    };
    // Ready's reason is the REASON column of `kubectl get otask` and the `reason` label of
    // outbound_tasks_by_ready_reason: the failure's own reason (that of its Warning event), so
    // that a missing Secret and a rejected spec read differently.
    let ready_reason = in_flight.unwrap_or(f.stalled_reason());
    let reconciling = in_flight.is_some() || !f.stalls();
    let reconciling_reason = match in_flight {
        Some(reason) => reason,
        None if f.stalls() => f.stalled_reason(),
        None => f.synced_reason(),
    };
    let message = if reconciling { f.message() } else { String::new() };
    let stalled_reason = if f.stalls() {
        f.stalled_reason()
    } else {
        f.synced_reason()
    };
    let stalled_message = if f.stalls() { f.message() } else { String::new() };
    vec![
        set(condition::READY, false, ready_reason, f.message()),
        set(condition::SYNCED, false, f.synced_reason(), f.message()),
        set(condition::RECONCILING, reconciling, reconciling_reason, message),
        set(condition::STALLED, f.stalls(), stalled_reason, stalled_message),
    ]
}

/// Conditions of other types found in the previous status, kept untouched.
pub(super) fn foreign_conditions(previous: &[Condition]) -> impl Iterator<Item = Condition> + '_ {
    let ours = [
        condition::READY,
        condition::SYNCED,
        condition::RECONCILING,
        condition::STALLED,
    ];
    previous
        .iter()
        .filter(move |c| !ours.contains(&c.type_.as_str()))
        .cloned()
}

/// A condition, keeping the previous `lastTransitionTime` when its status does not change.
pub(super) fn condition(
    previous: &[Condition],
    type_: &str,
    ok: bool,
    reason: &str,
    message: String,
    generation: i64,
    now: Timestamp,
) -> Condition {
    let status = if ok { "True" } else { "False" };
    let last_transition_time = previous
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .map_or(Time(now), |c| c.last_transition_time.clone());
    Condition {
        type_: type_.into(),
        status: status.into(),
        reason: reason.into(),
        message: shorten(&message, 1024),
        observed_generation: Some(generation),
        last_transition_time,
    }
}

/// The run state after the actions that succeeded (a resumed task that was waiting is waiting).
fn state_after(read: Option<RemoteState>, done: &[ActionKind]) -> Option<RemoteState> {
    let read = read?;
    let resumed = if read == RemoteState::Waiting {
        RemoteState::Waiting
    } else {
        RemoteState::Running
    };
    Some(done.iter().fold(read, |state, action| match action {
        ActionKind::Pause => RemoteState::Paused,
        ActionKind::Resume => resumed,
        ActionKind::Update => state,
    }))
}

/// The journal to keep: none once the work is done; on failure, only while the task may be left
/// paused although it must run (the next reconcile then finishes the job).
fn remaining_journal(plan: &Plan, exec: &Execution, failed: bool, previous: Option<&Operation>) -> Option<Operation> {
    if plan.actions.is_empty() {
        return plan.journal.clone();
    }
    if !failed {
        return None;
    }
    if exec.done.is_empty() && exec.failed.is_none() {
        // Nothing was called (the journal could not be written): the task is as it was.
        return previous.cloned();
    }
    let journal = plan.journal.clone()?;
    let started = state_after(plan.remote_state, &exec.done).is_some_and(RemoteState::is_started);
    let maybe_paused = !started || exec.failed == Some(ActionKind::Pause);
    let phase = exec.failed.unwrap_or(ActionKind::Resume).phase();
    (journal.resume_after && maybe_paused).then_some(Operation { phase, ..journal })
}

/// `status.stillStarted`: counted up when the update was refused as "task started" after every
/// retry, cleared when an update went through or none is needed, otherwise kept.
fn still_started_after(plan: &Plan, exec: &Execution, previous: &OutboundTaskStatus) -> Option<StillStarted> {
    let refused = matches!(exec.failure, Some(Failure::StillStarted(_) | Failure::NotPausable(_)))
        && exec.failed == Some(ActionKind::Update);
    if refused {
        return plan.if_still_started.as_ref().map(|s| s.record.clone());
    }
    if exec.done.contains(&ActionKind::Update) || plan.differences.is_empty() {
        return None;
    }
    previous.still_started.clone()
}

/// `status.drift` after the actions: the settings' differences unless the update went through,
/// and `spec.runState` if the task is not in it.
fn drift_after(plan: &Plan, updated: bool, state: Option<RemoteState>) -> Vec<DriftEntry> {
    let mut drift: Vec<DriftEntry> = plan.run_state_drift(state).into_iter().collect();
    if !updated {
        drift.extend(plan.drift.iter().cloned());
    }
    drift.truncate(MAX_DRIFT_ENTRIES);
    drift
}
