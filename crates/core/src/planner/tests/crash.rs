//! A journal left by a crashed run, in each phase: finish the job.

use super::*;
use outbound_api::RunState;

#[test]
fn crash_journal_pausing_with_task_still_running_is_paused_updated_resumed() {
    let spec = fixtures::spec();
    let status = status_with(Some(journal(OperationPhase::Pausing, true)));
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Running), &status));
    assert_eq!(kinds(&p), [Pause, Update, Resume]);
    assert_eq!(
        p.journal.unwrap().started_at,
        Time(earlier()),
        "startedAt of the interrupted operation"
    );
}

#[test]
fn crash_journal_pausing_with_task_paused_is_updated_and_resumed() {
    let spec = fixtures::spec();
    let status = status_with(Some(journal(OperationPhase::Pausing, true)));
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Paused), &status));
    assert_eq!(kinds(&p), [Update, Resume]);
}

#[test]
fn crash_journal_updating_with_task_paused_and_still_different_updates_then_resumes() {
    let spec = fixtures::spec();
    let status = status_with(Some(journal(OperationPhase::Updating, true)));
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Paused), &status));
    assert_eq!(kinds(&p), [Update, Resume]);
    assert_eq!(p.journal_for(0).unwrap().phase, OperationPhase::Updating);
}

#[test]
fn crash_journal_updating_resumes_task() {
    let spec = fixtures::spec();
    let status = status_with(Some(journal(OperationPhase::Updating, true)));
    let p = plan(&input(&spec, echo(&spec, RemoteState::Paused), &status));
    assert_eq!(kinds(&p), [Resume]);
    assert_eq!(p.journal_for(0).unwrap().phase, OperationPhase::Resuming);
    assert!(p.events[0].note.contains("operator had paused"));
}

#[test]
fn crash_journal_resuming_resumes_a_still_paused_task() {
    let spec = fixtures::spec();
    let status = status_with(Some(journal(OperationPhase::Resuming, true)));
    let p = plan(&input(&spec, echo(&spec, RemoteState::Paused), &status));
    assert_eq!(kinds(&p), [Resume]);
}

#[test]
fn crash_journal_resuming_with_task_already_running_clears_the_journal() {
    let spec = fixtures::spec();
    let status = status_with(Some(journal(OperationPhase::Resuming, true)));
    let p = plan(&input(&spec, echo(&spec, RemoteState::Running), &status));
    assert!(p.actions.is_empty());
    assert_eq!(p.journal, None);
    assert_eq!(p.verdict, Verdict::InSync);
}

#[test]
fn crash_journal_resume_after_wins_over_the_observed_paused_state() {
    // runState unset: "keep the state it had" would leave a paused task paused, but the journal
    // says the operator paused it.
    let spec = fixtures::spec();
    for phase in [
        OperationPhase::Pausing,
        OperationPhase::Updating,
        OperationPhase::Resuming,
    ] {
        let status = status_with(Some(journal(phase, true)));
        let p = plan(&input(&spec, echo(&spec, RemoteState::Paused), &status));
        assert!(p.resume_after, "{phase:?}");
        assert_eq!(kinds(&p), [Resume], "{phase:?}");
    }
}

#[test]
fn crash_journal_without_resume_after_leaves_a_paused_task_paused() {
    let spec = fixtures::spec();
    let status = status_with(Some(journal(OperationPhase::Updating, false)));
    assert_eq!(
        kinds(&plan(&input(&spec, drifted(&spec, RemoteState::Paused), &status))),
        [Update]
    );
    let p = plan(&input(&spec, echo(&spec, RemoteState::Paused), &status));
    assert!(p.actions.is_empty());
    assert_eq!(p.journal, None, "done: the journal is cleared");
}

#[test]
fn crash_journal_gives_way_to_run_state_paused() {
    let mut spec = fixtures::spec();
    spec.run_state = Some(RunState::Paused);
    let status = status_with(Some(journal(OperationPhase::Updating, true)));
    assert!(
        plan(&input(&spec, echo(&spec, RemoteState::Paused), &status))
            .actions
            .is_empty()
    );
    assert_eq!(
        kinds(&plan(&input(&spec, drifted(&spec, RemoteState::Paused), &status))),
        [Update]
    );
}

#[test]
fn crash_journal_of_an_older_generation_applies_the_current_spec() {
    let spec = fixtures::spec();
    let old = Operation {
        generation: GEN - 1,
        ..journal(OperationPhase::Updating, true)
    };
    let status = status_with(Some(old));
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Paused), &status));
    assert_eq!(kinds(&p), [Update, Resume]);
    assert_eq!(p.journal.unwrap().generation, GEN);
}
