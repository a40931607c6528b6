//! The step machine when a person changes the object during an operation (issue 22 item 2):
//! the driver answers a call [`Outcome::Superseded`] instead of making it.

use std::time::Duration;

use super::steps_cases::running_drifted_plan;
use super::*;
use outbound_api::RunState;

/// Runs `plan`, answering the call number `at` (0-based) with `Superseded(by)` and every other
/// call with success; returns the calls made and the execution.
fn superseded_at(plan: &Plan, at: usize, by: NewIntent) -> (Vec<ActionKind>, Execution, Vec<PlannedEvent>) {
    let mut steps = Steps::new(plan, StepLimits::default());
    let (mut calls, mut events, mut seen) = (Vec::new(), Vec::new(), 0);
    let mut outcome = Outcome::Begin;
    for _ in 0..100 {
        outcome = match steps.next(outcome) {
            Effect::Done(execution) => return (calls, execution, events),
            Effect::Publish(event) => {
                events.push(event);
                Outcome::Performed
            }
            Effect::Wait(_) => Outcome::Performed,
            Effect::AwaitPause(waited) => Outcome::PauseAge {
                since_pause: waited,
                settle: Duration::ZERO,
            },
            Effect::WriteJournal(_) => Outcome::JournalWritten,
            Effect::Call(action) => {
                seen += 1;
                if seen - 1 == at {
                    Outcome::Superseded(by)
                } else {
                    calls.push(action.kind());
                    Outcome::Succeeded
                }
            }
        };
    }
    panic!("the step machine never finished");
}

use ActionKind::{Pause, Resume, Update};

#[test]
fn a_runstate_paused_set_mid_operation_is_never_resumed_and_the_old_spec_is_not_sent() {
    let p = running_drifted_plan(&status_with(None));
    // Before the update: paused by us, the update of the old spec not sent, no resume.
    let (calls, execution, events) = superseded_at(&p, 1, NewIntent::Paused);
    assert_eq!(calls, vec![Pause]);
    assert_eq!(execution.superseded, Some(NewIntent::Paused));
    assert_eq!((execution.failure, execution.done), (None, vec![Pause]));
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].reason, reasons::SUPERSEDED);
    assert!(events[0].note.contains("before the update"), "{}", events[0].note);
    // Before the resume: updated, not resumed.
    let (calls, execution, _) = superseded_at(&p, 2, NewIntent::Paused);
    assert_eq!(
        (calls, execution.superseded),
        (vec![Pause, Update], Some(NewIntent::Paused))
    );
}

#[test]
fn hands_off_sends_no_change_but_resumes_the_campaign_this_operation_paused() {
    let p = running_drifted_plan(&status_with(None));
    // Suspended (or Observe, or deleted) before the update: the update is dropped, the campaign
    // we paused is resumed.
    let (calls, execution, events) = superseded_at(&p, 1, NewIntent::HandsOff);
    assert_eq!(calls, vec![Pause, Resume]);
    assert_eq!(execution.superseded, Some(NewIntent::HandsOff));
    assert!(
        events
            .iter()
            .any(|e| e.reason == reasons::SUPERSEDED && e.note.contains("before the update"))
    );
    // Before the resume: the planned resume is still made.
    let (calls, execution, _) = superseded_at(&p, 2, NewIntent::HandsOff);
    assert_eq!(calls, vec![Pause, Update, Resume]);
    assert_eq!(execution.failure, None);
    // Before the first pause: nothing at all, and no event for nothing.
    let (calls, execution, events) = superseded_at(&p, 0, NewIntent::HandsOff);
    assert!(calls.is_empty() && events.is_empty(), "{calls:?} {events:?}");
    assert_eq!(execution.superseded, Some(NewIntent::HandsOff));
}

#[test]
fn hands_off_resumes_nothing_it_did_not_pause() {
    // The campaign was paused in the console; the spec says Running: the plan is an update then
    // a resume. Suspended before the update: nothing is sent, the console's pause stays.
    let mut spec = fixtures::spec();
    spec.run_state = Some(RunState::Running);
    let status = status_with(None);
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Paused), &status));
    assert_eq!(p.action_kinds(), vec![Update, Resume]);
    let (calls, _, _) = superseded_at(&p, 0, NewIntent::HandsOff);
    assert!(calls.is_empty(), "{calls:?}");
    // The operator had paused it (a journal): then it is resumed.
    let status = status_with(Some(journal(OperationPhase::Updating, true)));
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Paused), &status));
    assert!(p.resume_debt);
    let (calls, _, _) = superseded_at(&p, 0, NewIntent::HandsOff);
    assert_eq!(calls, vec![Resume]);
}

#[test]
fn a_new_spec_stops_the_operation_and_leaves_the_debt_to_the_next_reconcile() {
    let p = running_drifted_plan(&status_with(None));
    for (at, done) in [(0, vec![]), (1, vec![Pause]), (2, vec![Pause, Update])] {
        let (calls, execution, _) = superseded_at(&p, at, NewIntent::NewSpec);
        assert_eq!(calls, done, "superseded at call {at}");
        assert_eq!(execution.superseded, Some(NewIntent::NewSpec));
        assert_eq!(execution.failure, None);
    }
}

#[test]
fn a_resume_after_a_failure_is_still_made_under_a_new_spec_but_not_under_paused() {
    let p = running_drifted_plan(&status_with(None));
    let rejected = Outcome::Failed(CallError {
        failure: Failure::Transient("HTTP 503".into()),
        task_started: false,
        retry_after: None,
    });
    for (by, resumed) in [
        (NewIntent::NewSpec, true),
        (NewIntent::HandsOff, true),
        (NewIntent::Paused, false),
    ] {
        let mut steps = Steps::new(&p, StepLimits::default());
        assert!(matches!(steps.next(Outcome::Begin), Effect::WriteJournal(_)));
        assert_eq!(steps.next(Outcome::JournalWritten), Effect::Call(Action::Pause));
        assert_eq!(steps.next(Outcome::Succeeded), Effect::AwaitPause(Duration::ZERO));
        let old_enough = Outcome::PauseAge {
            since_pause: Duration::ZERO,
            settle: Duration::ZERO,
        };
        assert!(matches!(steps.next(old_enough), Effect::Call(Action::Update(_))));
        assert_eq!(steps.next(rejected.clone()), Effect::Call(Action::Resume), "recovery");
        let next = steps.next(Outcome::Superseded(by));
        assert_eq!(next == Effect::Call(Action::Resume), resumed, "{by:?}: {next:?}");
    }
}

#[test]
fn a_superseded_resume_that_fails_ends_as_a_failure_so_it_is_retried_on_the_backoff() {
    let p = running_drifted_plan(&status_with(None));
    let mut steps = Steps::new(&p, StepLimits::default());
    steps.next(Outcome::Begin);
    steps.next(Outcome::JournalWritten);
    steps.next(Outcome::Succeeded);
    let old_enough = Outcome::PauseAge {
        since_pause: Duration::ZERO,
        settle: Duration::ZERO,
    };
    assert!(matches!(steps.next(old_enough), Effect::Call(Action::Update(_))));
    assert_eq!(
        steps.next(Outcome::Superseded(NewIntent::HandsOff)),
        Effect::Call(Action::Resume)
    );
    let failed = Outcome::Failed(CallError {
        failure: Failure::Transient("HTTP 503".into()),
        task_started: false,
        retry_after: None,
    });
    let mut effect = steps.next(failed);
    while let Effect::Publish(_) = effect {
        effect = steps.next(Outcome::Performed);
    }
    let Effect::Done(execution) = effect else {
        panic!("{effect:?}")
    };
    assert_eq!(execution.failed, Some(Resume));
    assert!(execution.failure.is_some());
}

#[test]
fn a_journal_whose_resume_runstate_paused_called_off_goes_while_suspended() {
    let status = status_with(Some(journal(OperationPhase::Updating, true)));
    let suspended = |run_state| {
        let mut spec = fixtures::spec();
        spec.suspend = true;
        spec.run_state = run_state;
        spec
    };
    let unread = |spec: &OutboundTaskSpec| {
        plan(&PlanInput {
            observed: None,
            ..input(spec, echo(spec, RemoteState::Paused), &status)
        })
    };
    let p = unread(&suspended(Some(RunState::Paused)));
    assert_eq!((p.verdict.clone(), p.journal.clone()), (Verdict::Suspended, None));
    // Without runState: Paused the debt stands: the task is read (then resumed), not suspended.
    let p = unread(&suspended(None));
    assert_ne!(p.verdict, Verdict::Suspended, "{p:?}");
}
