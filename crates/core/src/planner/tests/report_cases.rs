use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use super::*;
use outbound_api::{Mode, condition};

fn find<'a>(status: &'a OutboundTaskStatus, type_: &str) -> &'a Condition {
    status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap_or_else(|| panic!("{type_} missing"))
}

fn summary(status: &OutboundTaskStatus) -> Vec<(String, String, String)> {
    status
        .conditions
        .iter()
        .map(|c| (c.type_.clone(), c.status.clone(), c.reason.clone()))
        .collect()
}

fn row(t: &str, s: &str, r: &str) -> (String, String, String) {
    (t.into(), s.into(), r.into())
}

#[test]
fn synced_task_reads_as_current() {
    let spec = fixtures::spec();
    let previous = status_with(None);
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Running), &previous));
    let s = report_of(Some(&p), &Execution::completed(&p), &previous);
    assert_eq!(
        summary(&s),
        [
            row("Ready", "True", "InSync"),
            row("Synced", "True", "ReconcileSuccess"),
            row("Reconciling", "False", "InSync"),
            row("Stalled", "False", "InSync"),
        ]
    );
    assert!(s.conditions.iter().all(|c| c.observed_generation == Some(GEN)));
    assert_eq!(s.observed_generation, Some(GEN));
    assert_eq!(s.operation, None, "journal cleared on completion");
    assert!(s.drift.is_empty());
    assert_eq!(s.remote_state, Some(RemoteState::Running));
    assert_eq!(s.last_sync_time, Some(Time(now())));
    assert_eq!(s.convergence, p.convergence_on_success);
}

#[test]
fn in_sync_task_clears_the_convergence_guard() {
    let spec = fixtures::spec();
    let mut previous = status_with(None);
    previous.convergence = Some(Convergence {
        fingerprint: "x".into(),
        attempts: 2,
    });
    let p = plan(&input(&spec, echo(&spec, RemoteState::Paused), &previous));
    let s = report_of(Some(&p), &Execution::completed(&p), &previous);
    assert_eq!(s.convergence, None);
    assert_eq!(s.remote_state, Some(RemoteState::Paused));
}

#[test]
fn rejected_update_reads_as_failed_with_the_platform_message() {
    let spec = fixtures::spec();
    let previous = status_with(None);
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Running), &previous));
    let failure = Failure::Rejected("maximumcall 8 exceeds line residue 4".into());
    let recovery = on_failure(Update, &failure, p.journal_for(1).as_ref());
    assert_eq!(recovery, [Action::Resume]);
    let s = report_of(
        Some(&p),
        &Execution::failed_at(vec![Pause, Resume], Update, failure),
        &previous,
    );
    assert_eq!(
        summary(&s),
        [
            row("Ready", "False", "RemoteRejected"),
            row("Synced", "False", "RemoteRejected"),
            row("Reconciling", "False", "RemoteRejected"),
            row("Stalled", "True", "RemoteRejected"),
        ]
    );
    assert!(
        find(&s, condition::STALLED)
            .message
            .contains("maximumcall 8 exceeds line residue 4")
    );
    assert_eq!(s.operation, None, "resumed: nothing left in flight");
    assert_eq!(s.remote_state, Some(RemoteState::Running));
    assert_eq!(s.drift.len(), 1, "the difference remains");
    // The next reconcile holds the rejected spec instead of pausing the campaign again.
    let next = plan(&input(&spec, drifted(&spec, RemoteState::Running), &s));
    assert!(next.actions.is_empty());
    assert!(
        matches!(next.verdict, Verdict::Blocked(Failure::Rejected(ref m)) if m == "maximumcall 8 exceeds line residue 4")
    );
    let held = report_of(Some(&next), &Execution::completed(&next), &s);
    assert_eq!(
        find(&held, condition::STALLED).message,
        find(&s, condition::STALLED).message
    );
}

#[test]
fn transient_failure_is_reconciling_not_stalled() {
    let previous = status_with(None);
    let s = report_of(
        None,
        &Execution::failed_before_actions(Failure::Transient("HTTP 503".into())),
        &previous,
    );
    assert_eq!(
        summary(&s),
        [
            row("Ready", "False", "RemoteError"),
            row("Synced", "False", "RemoteError"),
            row("Reconciling", "True", "RemoteError"),
            row("Stalled", "False", "RemoteError"),
        ]
    );
}

#[test]
fn failure_after_the_pause_keeps_the_journal_when_the_resume_failed() {
    let spec = fixtures::spec();
    let previous = status_with(None);
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Running), &previous));
    let s = report_of(
        Some(&p),
        &Execution::failed_at(vec![Pause, Update], Resume, Failure::Transient("timeout".into())),
        &previous,
    );
    let op = s.operation.clone().expect("journal kept: the task must be resumed");
    assert_eq!((op.phase, op.resume_after), (OperationPhase::Resuming, true));
    assert_eq!(find(&s, condition::READY).reason, "Updating");
    assert_eq!(find(&s, condition::RECONCILING).status, "True");
    assert_eq!(s.remote_state, Some(RemoteState::Paused));
    assert_eq!(
        s.drift.len(),
        1,
        "settings applied; the run state is the remaining drift"
    );
    assert_eq!(s.drift[0].field, "spec.runState");
    // The next reconcile resumes it.
    let next = plan(&input(&spec, echo(&spec, RemoteState::Paused), &s));
    assert_eq!(kinds(&next), [Resume]);
}

#[test]
fn failed_pause_keeps_the_journal() {
    let spec = fixtures::spec();
    let previous = status_with(None);
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Running), &previous));
    let s = report_of(
        Some(&p),
        &Execution::failed_at(vec![], Pause, Failure::Transient("timeout".into())),
        &previous,
    );
    assert_eq!(s.operation.map(|o| o.phase), Some(OperationPhase::Pausing));
}

#[test]
fn unauthorized_mid_update_keeps_the_journal_and_stalls() {
    let spec = fixtures::spec();
    let previous = status_with(None);
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Running), &previous));
    assert!(on_failure(Update, &Failure::Unauthorized, p.journal_for(1).as_ref()).is_empty());
    let s = report_of(
        Some(&p),
        &Execution::failed_at(vec![Pause], Update, Failure::Unauthorized),
        &previous,
    );
    assert!(s.operation.is_some());
    assert_eq!(find(&s, condition::STALLED).status, "True");
    assert_eq!(
        find(&s, condition::RECONCILING).status,
        "True",
        "a resume is still owed"
    );
}

#[test]
fn last_transition_time_is_preserved_when_status_does_not_change() {
    let spec = fixtures::spec();
    let mut previous = status_with(None);
    let p = plan(&input(&spec, echo(&spec, RemoteState::Running), &previous));
    let first = report(&ReportInput {
        plan: Some(&p),
        execution: &Execution::completed(&p),
        previous: &previous,
        generation: GEN,
        now: earlier(),
        requested_at: None,
    });
    previous = first.clone();
    let second = report_of(Some(&p), &Execution::completed(&p), &previous);
    assert!(
        second
            .conditions
            .iter()
            .all(|c| c.last_transition_time == Time(earlier()))
    );
    let failed = report_of(None, &Execution::failed_before_actions(Failure::Throttled), &second);
    assert_eq!(
        find(&failed, condition::READY).last_transition_time,
        Time(now()),
        "True -> False"
    );
    assert_eq!(
        find(&failed, condition::STALLED).last_transition_time,
        Time(earlier()),
        "False -> False"
    );
}

#[test]
fn conditions_are_in_a_stable_order_and_foreign_ones_are_kept() {
    let spec = fixtures::spec();
    let mut previous = status_with(None);
    previous.conditions.push(Condition {
        type_: "Custom".into(),
        status: "True".into(),
        reason: "X".into(),
        message: String::new(),
        observed_generation: None,
        last_transition_time: Time(earlier()),
    });
    let p = plan(&input(&spec, echo(&spec, RemoteState::Running), &previous));
    let s = report_of(Some(&p), &Execution::completed(&p), &previous);
    let types: Vec<&str> = s.conditions.iter().map(|c| c.type_.as_str()).collect();
    assert_eq!(types, ["Ready", "Synced", "Reconciling", "Stalled", "Custom"]);
}

#[test]
fn observe_mode_drift_reports_drifted() {
    let mut spec = fixtures::spec();
    spec.mode = Mode::Observe;
    let previous = status_with(None);
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Running), &previous));
    let s = report_of(Some(&p), &Execution::completed(&p), &previous);
    assert_eq!(find(&s, condition::READY).reason, "Drifted");
    assert_eq!(find(&s, condition::READY).status, "False");
    assert!(
        find(&s, condition::READY)
            .message
            .contains("spec.task.maxConcurrency: 4 -> 2")
    );
    assert_eq!(find(&s, condition::SYNCED).status, "True");
    assert_eq!(find(&s, condition::STALLED).status, "False");
    assert_eq!(s.drift.len(), 1);
    assert_eq!(s.last_sync_time, None);
}

#[test]
fn suspended_reports_suspended_and_keeps_synced() {
    let mut spec = fixtures::spec();
    let previous = status_with(None);
    let p = plan(&input(&spec, echo(&spec, RemoteState::Running), &previous));
    let synced = report_of(Some(&p), &Execution::completed(&p), &previous);
    spec.suspend = true;
    let p = plan(&PlanInput {
        observed: None,
        ..input(&spec, echo(&spec, RemoteState::Running), &synced)
    });
    let s = report_of(Some(&p), &Execution::completed(&p), &synced);
    assert_eq!(
        summary(&s),
        [
            row("Ready", "False", "Suspended"),
            row("Synced", "True", "ReconcileSuccess"),
            row("Reconciling", "False", "Suspended"),
            row("Stalled", "False", "Suspended"),
        ]
    );
    assert_eq!(s.remote_state, synced.remote_state);
    assert_eq!(s.last_sync_time, synced.last_sync_time);
}

#[test]
fn failure_before_planning_keeps_the_previous_state_and_journal() {
    let mut previous = status_with(Some(journal(OperationPhase::Resuming, true)));
    previous.remote_state = Some(RemoteState::Paused);
    previous.drift = vec![outbound_api::DriftEntry {
        field: "spec.runState".into(),
        desired: "Running".into(),
        observed: "Paused".into(),
    }];
    for failure in [
        Failure::AccountNotFound,
        Failure::SecretNotFound,
        Failure::TaskNotFound,
        Failure::Unauthorized,
        Failure::Throttled,
    ] {
        let s = report_of(None, &Execution::failed_before_actions(failure.clone()), &previous);
        assert_eq!(s.operation, previous.operation, "{failure:?}");
        assert_eq!(s.remote_state, previous.remote_state);
        assert_eq!(s.drift, previous.drift);
        assert_eq!(find(&s, condition::SYNCED).reason, failure.synced_reason());
        assert_eq!(find(&s, condition::READY).reason, "Updating", "a journal is in flight");
    }
}

#[test]
fn each_failure_maps_to_its_synced_reason_and_stall_class() {
    let cases = [
        (Failure::AccountNotFound, "AccountNotFound", false),
        (Failure::SecretNotFound, "SecretNotFound", false),
        (Failure::Unauthorized, "Unauthorized", true),
        (Failure::TaskNotFound, "TaskNotFound", true),
        (Failure::Rejected("x".into()), "RemoteRejected", true),
        (Failure::Throttled, "Throttled", false),
        (Failure::Transient("x".into()), "RemoteError", false),
        (Failure::RemoteStateUnknown("x".into()), "RemoteError", false),
        (Failure::InvalidAccount("x".into()), "InvalidAccount", true),
        (Failure::KubeWrite("x".into()), "KubernetesError", false),
        (
            Failure::NotConverged(vec!["spec.task.name".into()]),
            "RemoteRejected",
            true,
        ),
    ];
    let previous = status_with(None);
    for (failure, reason, stalls) in cases {
        assert_eq!(failure.synced_reason(), reason);
        assert_eq!(failure.stalls(), stalls, "{failure:?}");
        let s = report_of(None, &Execution::failed_before_actions(failure.clone()), &previous);
        assert_eq!(
            find(&s, condition::STALLED).status,
            if stalls { "True" } else { "False" }
        );
        assert_eq!(
            find(&s, condition::RECONCILING).status,
            if stalls { "False" } else { "True" }
        );
        assert_eq!(failure.event().type_, EventType::Warning);
        // The REASON column (Ready's reason) names the failure, as its Warning event does.
        assert_eq!(find(&s, condition::READY).reason, failure.event().reason, "{failure:?}");
        assert_ne!(find(&s, condition::RECONCILING).reason, "Error", "{failure:?}");
    }
}

#[test]
fn non_convergence_is_reported_as_stalled_naming_the_field() {
    let spec = fixtures::spec();
    let observed = drifted(&spec, RemoteState::Running);
    let mut previous = status_with(None);
    let fingerprint = crate::diff::fingerprint(&plan(&input(&spec, observed.clone(), &previous)).differences);
    previous.convergence = Some(Convergence {
        fingerprint,
        attempts: 3,
    });
    let p = plan(&input(&spec, observed, &previous));
    let s = report_of(Some(&p), &Execution::completed(&p), &previous);
    let stalled = find(&s, condition::STALLED);
    assert_eq!(
        (stalled.status.as_str(), stalled.reason.as_str()),
        ("True", "NotConverged")
    );
    assert!(stalled.message.contains("spec.task.maxConcurrency"));
    assert_eq!(s.convergence, previous.convergence, "kept until the spec changes");
}

#[test]
fn unknown_remote_state_is_reported_and_keeps_the_journal() {
    let spec = fixtures::spec();
    let previous = status_with(Some(journal(OperationPhase::Updating, true)));
    let p = plan(&input(&spec, echo(&spec, RemoteState::Unknown), &previous));
    let s = report_of(Some(&p), &Execution::completed(&p), &previous);
    assert_eq!(s.operation, previous.operation);
    assert_eq!(s.remote_state, Some(RemoteState::Unknown));
    assert_eq!(find(&s, condition::RECONCILING).status, "True");
    assert!(find(&s, condition::READY).message.contains("unknown"));
}

#[test]
fn the_requested_reconcile_token_is_echoed() {
    let previous = status_with(None);
    let s = report(&ReportInput {
        plan: None,
        execution: &Execution::failed_before_actions(Failure::Throttled),
        previous: &previous,
        generation: GEN,
        now: now(),
        requested_at: Some("2025-03-01T10:00:00Z"),
    });
    assert_eq!(s.last_handled_reconcile_at.as_deref(), Some("2025-03-01T10:00:00Z"));
}
