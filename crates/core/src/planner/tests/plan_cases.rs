use super::*;
use crate::mapping::Field;
use outbound_api::{Mode, RunState};

#[test]
fn in_sync_task_needs_no_action() {
    let spec = fixtures::spec();
    let status = status_with(None);
    for state in [RemoteState::Running, RemoteState::Waiting, RemoteState::Paused] {
        let p = plan(&input(&spec, echo(&spec, state), &status));
        assert!(p.actions.is_empty(), "{state:?}");
        assert_eq!(p.verdict, Verdict::InSync);
        assert!(p.journal.is_none());
        assert!(p.drift.is_empty());
    }
}

#[test]
fn running_task_with_drift_is_paused_updated_resumed() {
    let spec = fixtures::spec();
    let status = status_with(None);
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Running), &status));
    assert_eq!(kinds(&p), [Pause, Update, Resume]);
    assert_eq!(
        p.actions[1],
        Action::Update(crate::mapping::update_body(&spec, &Default::default()))
    );
    assert_eq!(p.verdict, Verdict::Converging);
    let j = p.journal.clone().expect("journal before the pause");
    assert_eq!(
        (j.phase, j.resume_after, j.generation),
        (OperationPhase::Pausing, true, GEN)
    );
    assert_eq!(j.started_at, Time(now()));
    assert_eq!(p.drift[0].field, "spec.task.maxConcurrency");
    assert_eq!((p.drift[0].desired.as_str(), p.drift[0].observed.as_str()), ("2", "4"));
}

#[test]
fn journal_is_written_before_each_step() {
    let spec = fixtures::spec();
    let status = status_with(None);
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Running), &status));
    let phases: Vec<OperationPhase> = (0..3).map(|i| p.journal_for(i).unwrap().phase).collect();
    assert_eq!(
        phases,
        [
            OperationPhase::Pausing,
            OperationPhase::Updating,
            OperationPhase::Resuming
        ]
    );
    assert!((0..3).all(|i| p.journal_for(i).unwrap().resume_after));
    assert_eq!(p.journal_for(3), None);
}

#[test]
fn paused_task_with_drift_is_updated_and_stays_paused() {
    let spec = fixtures::spec();
    let status = status_with(None);
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Paused), &status));
    assert_eq!(kinds(&p), [Update]);
    assert_eq!(p.journal, None, "no pause, no campaign to strand: no journal write");
}

#[test]
fn paused_task_with_drift_and_run_state_running_is_updated_then_resumed() {
    let mut spec = fixtures::spec();
    spec.run_state = Some(RunState::Running);
    let status = status_with(None);
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Paused), &status));
    assert_eq!(kinds(&p), [Update, Resume]);
    assert!(p.resume_after);
}

#[test]
fn waiting_task_with_drift_is_paused_first_then_resumed() {
    let spec = fixtures::spec();
    let status = status_with(None);
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Waiting), &status));
    assert_eq!(kinds(&p), [Pause, Update, Resume]);
}

#[test]
fn run_state_running_resumes_a_paused_in_sync_task() {
    let mut spec = fixtures::spec();
    spec.run_state = Some(RunState::Running);
    let status = status_with(None);
    let p = plan(&input(&spec, echo(&spec, RemoteState::Paused), &status));
    assert_eq!(kinds(&p), [Resume]);
    assert_eq!(p.journal, None, "a resume alone needs no journal");
    assert_eq!(p.events[0].reason, reasons::RESUMED);
    assert_eq!(p.verdict, Verdict::Converging);
}

#[test]
fn run_state_paused_pauses_a_started_in_sync_task() {
    let mut spec = fixtures::spec();
    spec.run_state = Some(RunState::Paused);
    let status = status_with(None);
    for state in [RemoteState::Running, RemoteState::Waiting] {
        let p = plan(&input(&spec, echo(&spec, state), &status));
        assert_eq!(kinds(&p), [Pause], "{state:?}");
        assert_eq!(p.journal, None);
    }
}

#[test]
fn run_state_paused_with_drift_on_a_running_task_pauses_updates_and_stays_paused() {
    let mut spec = fixtures::spec();
    spec.run_state = Some(RunState::Paused);
    let status = status_with(None);
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Running), &status));
    assert_eq!(kinds(&p), [Pause, Update]);
    assert_eq!(
        p.journal, None,
        "the task stays paused: nothing to resume after a crash"
    );
}

#[test]
fn unset_run_state_keeps_the_state_the_task_had() {
    let spec = fixtures::spec();
    let status = status_with(None);
    assert_eq!(
        kinds(&plan(&input(&spec, drifted(&spec, RemoteState::Running), &status))),
        [Pause, Update, Resume]
    );
    assert_eq!(
        kinds(&plan(&input(&spec, drifted(&spec, RemoteState::Paused), &status))),
        [Update]
    );
    assert!(
        plan(&input(&spec, echo(&spec, RemoteState::Paused), &status))
            .actions
            .is_empty()
    );
}

#[test]
fn unknown_remote_state_writes_nothing_and_retries_soon() {
    let mut spec = fixtures::spec();
    spec.run_state = Some(RunState::Running);
    let operation = journal(OperationPhase::Updating, true);
    let status = status_with(Some(operation.clone()));
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Unknown), &status));
    assert!(p.actions.is_empty());
    assert!(matches!(p.verdict, Verdict::Blocked(Failure::RemoteStateUnknown(ref why)) if why.contains("status=9")));
    assert_eq!(p.journal, Some(operation), "the journal is kept for the next reconcile");
    assert_eq!(p.requeue_after, Some(std::time::Duration::from_secs(15)));
    assert_eq!(p.drift.len(), 1, "drift is still reported");
}

#[test]
fn observe_mode_never_writes() {
    let mut spec = fixtures::spec();
    spec.mode = Mode::Observe;
    spec.run_state = Some(RunState::Paused);
    let status = status_with(None);
    for state in [RemoteState::Running, RemoteState::Waiting, RemoteState::Paused] {
        let p = plan(&input(&spec, drifted(&spec, state), &status));
        assert!(p.actions.is_empty(), "{state:?}");
        assert_eq!(p.verdict, Verdict::Drifted);
        assert_eq!(p.journal, None);
    }
    let p = plan(&input(&spec, echo(&spec, RemoteState::Paused), &status));
    assert_eq!(p.verdict, Verdict::InSync);
}

#[test]
fn observe_mode_reports_run_state_drift() {
    let mut spec = fixtures::spec();
    spec.mode = Mode::Observe;
    spec.run_state = Some(RunState::Running);
    let status = status_with(None);
    let p = plan(&input(&spec, echo(&spec, RemoteState::Paused), &status));
    assert!(p.actions.is_empty());
    assert_eq!(p.verdict, Verdict::Drifted);
    let entry = p.run_state_drift(p.remote_state).unwrap();
    assert_eq!(
        (entry.field.as_str(), entry.desired.as_str(), entry.observed.as_str()),
        ("spec.runState", "Running", "Paused")
    );
}

#[test]
fn observe_mode_still_resumes_a_task_the_operator_paused() {
    let mut spec = fixtures::spec();
    spec.mode = Mode::Observe;
    let status = status_with(Some(journal(OperationPhase::Updating, true)));
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Paused), &status));
    assert_eq!(
        kinds(&p),
        [Resume],
        "only the operator's own pause is undone; settings are not written"
    );
    assert_eq!(p.journal_for(0).unwrap().phase, OperationPhase::Resuming);
}

#[test]
fn suspended_task_makes_no_remote_call() {
    let mut spec = fixtures::spec();
    spec.suspend = true;
    let status = status_with(None);
    assert!(!needs_remote_read(&spec, &status));
    let p = plan(&PlanInput {
        observed: None,
        ..input(&spec, echo(&spec, RemoteState::Running), &status)
    });
    assert_eq!(p.verdict, Verdict::Suspended);
    assert!(p.actions.is_empty());
    assert_eq!(p.remote_state, None);
}

#[test]
fn suspended_task_with_an_operator_made_pause_is_read_and_resumed() {
    let mut spec = fixtures::spec();
    spec.suspend = true;
    let status = status_with(Some(journal(OperationPhase::Updating, true)));
    assert!(needs_remote_read(&spec, &status));
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Paused), &status));
    assert_eq!(kinds(&p), [Resume]);
    assert_eq!(p.verdict, Verdict::Suspended);
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Running), &status));
    assert!(p.actions.is_empty());
    assert_eq!(p.journal, None, "nothing left to do: the journal is cleared");
}

#[test]
fn non_converging_field_stalls_and_is_named() {
    let spec = fixtures::spec();
    let observed = drifted(&spec, RemoteState::Running);
    let mut status = status_with(None);
    for attempt in 1..=3 {
        let p = plan(&input(&spec, observed.clone(), &status));
        assert_eq!(kinds(&p), [Pause, Update, Resume], "attempt {attempt}");
        let c = p.convergence_on_success.clone().unwrap();
        assert_eq!(c.attempts, attempt);
        status.convergence = Some(c);
    }
    let p = plan(&input(&spec, observed, &status));
    assert!(p.actions.is_empty(), "no fourth identical update");
    assert_eq!(
        p.verdict,
        Verdict::Blocked(Failure::NotConverged(vec!["spec.task.maxConcurrency".into()]))
    );
    assert!(
        p.verdict
            .failure()
            .unwrap()
            .message()
            .contains("spec.task.maxConcurrency")
    );
}

#[test]
fn non_converging_task_still_gets_its_run_state() {
    let mut spec = fixtures::spec();
    spec.run_state = Some(RunState::Running);
    let observed = drifted(&spec, RemoteState::Paused);
    let mut status = status_with(None);
    let fingerprint = crate::diff::fingerprint(&plan(&input(&spec, observed.clone(), &status)).differences);
    status.convergence = Some(Convergence {
        fingerprint,
        attempts: 3,
    });
    let p = plan(&input(&spec, observed, &status));
    assert_eq!(kinds(&p), [Resume]);
    assert!(matches!(p.verdict, Verdict::Blocked(Failure::NotConverged(_))));
}

#[test]
fn convergence_guard_resets_on_a_new_generation_or_a_requested_reconcile() {
    let spec = fixtures::spec();
    let observed = drifted(&spec, RemoteState::Running);
    let mut status = status_with(None);
    let fingerprint = crate::diff::fingerprint(&plan(&input(&spec, observed.clone(), &status)).differences);
    status.convergence = Some(Convergence {
        fingerprint,
        attempts: 3,
    });
    let mut new_generation = input(&spec, observed.clone(), &status);
    new_generation.generation = GEN + 1;
    let p = plan(&new_generation);
    assert_eq!(kinds(&p), [Pause, Update, Resume]);
    assert_eq!(p.convergence_on_success.unwrap().attempts, 1);
    let requested = PlanInput {
        requested_at: Some("2025-03-01T10:00:00Z"),
        ..input(&spec, observed, &status)
    };
    assert_eq!(kinds(&plan(&requested)), [Pause, Update, Resume]);
}

#[test]
fn rejected_spec_is_not_resent_for_the_same_generation() {
    let spec = fixtures::spec();
    let mut status = status_with(None);
    status
        .conditions
        .push(k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
            type_: "Stalled".into(),
            status: "True".into(),
            reason: "RemoteRejected".into(),
            message: "the platform rejected the update: maximumcall exceeds residue".into(),
            observed_generation: Some(GEN),
            last_transition_time: Time(earlier()),
        });
    // A Stalled RemoteRejected without the rejected difference (e.g. a bad OutboundAccount)
    // does not hold the update.
    let first = plan(&input(&spec, drifted(&spec, RemoteState::Running), &status));
    assert_eq!(kinds(&first), [Pause, Update, Resume]);
    let fingerprint = crate::diff::fingerprint(&first.differences);
    status.convergence = Some(Convergence {
        fingerprint,
        attempts: 0,
    });
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Running), &status));
    assert!(p.actions.is_empty());
    assert_eq!(
        p.verdict,
        Verdict::Blocked(Failure::Rejected("maximumcall exceeds residue".into()))
    );
    // Another difference (the console changed something else) is tried.
    let mut v = fixtures::echo_json(&spec, 2);
    v["dial_time_id"] = 9.into();
    let other = plan(&input(&spec, Observed::from_detail(&fixtures::detail(v)), &status));
    assert_eq!(kinds(&other), [Pause, Update, Resume]);
    let requested = PlanInput {
        requested_at: Some("now"),
        ..input(&spec, drifted(&spec, RemoteState::Running), &status)
    };
    assert_eq!(
        kinds(&plan(&requested)),
        [Pause, Update, Resume],
        "a requested reconcile tries again"
    );
    let mut next = input(&spec, drifted(&spec, RemoteState::Running), &status);
    next.generation = GEN + 1;
    assert_eq!(
        kinds(&plan(&next)),
        [Pause, Update, Resume],
        "a new generation tries again"
    );
}

#[test]
fn unmanaged_console_edits_are_not_fought() {
    let spec = fixtures::spec();
    let mut v = fixtures::echo_json(&spec, 2);
    v["remark"] = "edited in the console".into();
    v["bridge_group_id"] = 77.into();
    v["task_extras"]["work_week"] = serde_json::json!([1, 2, 3]);
    let status = status_with(None);
    let p = plan(&input(&spec, Observed::from_detail(&fixtures::detail(v)), &status));
    assert!(p.actions.is_empty());
}

#[test]
fn one_event_per_update_operation_naming_its_steps() {
    let spec = fixtures::spec();
    // In sync at this generation before (lastSyncTime): the update corrects drift.
    let status = OutboundTaskStatus {
        last_sync_time: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            jiff::Timestamp::UNIX_EPOCH,
        )),
        ..status_with(None)
    };
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Running), &status));
    let events: Vec<(&str, Option<usize>)> = p.events.iter().map(|e| (e.reason, e.after_action)).collect();
    assert_eq!(
        events,
        [("DriftCorrected", Some(2))],
        "published once the resume succeeded"
    );
    assert!(p.events.iter().all(|e| e.type_ == EventType::Normal));
    let note = &p.events[0].note;
    assert!(
        note.starts_with("paused the task, updated ") && note.ends_with(", resumed the task"),
        "{note}"
    );
    assert!(note.contains("spec.task.maxConcurrency"), "{note}");
    let new_spec = OutboundTaskStatus {
        observed_generation: Some(GEN - 1),
        ..status
    };
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Running), &new_spec));
    assert_eq!(
        p.events[0].reason,
        reasons::UPDATED,
        "a new generation is an update, not a drift correction"
    );
    let never_synced = status_with(None);
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Running), &never_synced));
    assert_eq!(
        p.events[0].reason,
        reasons::UPDATED,
        "a spec never applied yet (an earlier reconcile failed) is an update too"
    );
}

#[test]
fn render_shows_state_differences_and_actions() {
    let mut spec = fixtures::spec();
    spec.task.remark = Some("spring".into());
    let status = status_with(None);
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Running), &status));
    let text = p.render();
    assert!(text.contains("remote state: Running"), "{text}");
    assert!(text.contains("  ~ spec.task.maxConcurrency: 4 -> 2\n"), "{text}");
    assert!(text.contains("actions: pause, update, resume"), "{text}");
    assert_eq!(p.differences[0].field, Field::MaxConcurrency);
}
