//! The step machine, effect by effect.

use std::time::Duration;

use super::*;
use outbound_api::{RunState, StillStarted};

pub(super) fn running_drifted_plan(status: &OutboundTaskStatus) -> Plan {
    let spec = fixtures::spec();
    plan(&input(&spec, drifted(&spec, RemoteState::Running), status))
}

fn remote_error() -> Outcome {
    Outcome::Failed(CallError {
        failure: Failure::Transient("HTTP 503".into()),
        task_started: false,
        retry_after: None,
    })
}

pub(super) fn started() -> Outcome {
    Outcome::Failed(CallError {
        failure: Failure::Transient("code 6007".into()),
        task_started: true,
        retry_after: None,
    })
}

fn throttled(retry_after: Option<u64>) -> Outcome {
    Outcome::Failed(CallError {
        failure: Failure::Throttled,
        task_started: false,
        retry_after: retry_after.map(Duration::from_secs),
    })
}

fn call_kind(effect: &Effect) -> Option<ActionKind> {
    match effect {
        Effect::Call(action) => Some(action.kind()),
        _ => None,
    }
}

/// Answers every effect with `answer` (Publish and Wait with Performed, a pause awaited as old
/// enough) until Done; returns the calls made and the execution.
fn run(steps: &mut Steps<'_>, mut answer: impl FnMut(&Effect) -> Outcome) -> (Vec<ActionKind>, Execution) {
    let mut calls = Vec::new();
    let mut outcome = Outcome::Begin;
    for _ in 0..200 {
        let effect = steps.next(outcome);
        if let Effect::Done(execution) = effect {
            return (calls, execution);
        }
        calls.extend(call_kind(&effect));
        outcome = match effect {
            Effect::Publish(_) | Effect::Wait(_) => Outcome::Performed,
            Effect::AwaitPause(waited) => Outcome::PauseAge {
                since_pause: waited,
                settle: Duration::ZERO,
            },
            Effect::WriteJournal(_) => Outcome::JournalWritten,
            ref call => answer(call),
        };
    }
    panic!("the step machine never finished");
}

#[test]
fn the_journal_is_written_before_the_first_call_then_the_actions_run_and_their_event_follows() {
    let p = running_drifted_plan(&status_with(None));
    let mut steps = Steps::new(&p, StepLimits::default());
    let Effect::WriteJournal(journal) = steps.next(Outcome::Begin) else {
        panic!("journal first")
    };
    assert_eq!((journal.phase, journal.resume_after), (OperationPhase::Pausing, true));
    assert_eq!(steps.next(Outcome::JournalWritten), Effect::Call(Action::Pause));
    assert_eq!(steps.next(Outcome::Succeeded), Effect::AwaitPause(Duration::ZERO));
    let old_enough = Outcome::PauseAge {
        since_pause: Duration::ZERO,
        settle: Duration::ZERO,
    };
    assert_eq!(call_kind(&steps.next(old_enough)), Some(Update));
    assert_eq!(steps.next(Outcome::Succeeded), Effect::Call(Action::Resume));
    let Effect::Publish(event) = steps.next(Outcome::Succeeded) else {
        panic!("the Updated event after the last action")
    };
    assert_eq!(event.reason, reasons::UPDATED);
    assert_eq!(steps.next(Outcome::Performed), Effect::Done(Execution::completed(&p)));
}

/// Issue 11, item 2: the old executor called `recover` here, which resumed a paused task whose
/// spec says Running (its old settings, since the update never ran).
#[test]
fn a_failed_journal_write_makes_no_platform_call_at_all() {
    let mut spec = fixtures::spec();
    spec.run_state = Some(RunState::Running);
    let status = status_with(None);
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Paused), &status));
    assert_eq!(kinds(&p), [Update, Resume]);
    let mut steps = Steps::new(&p, StepLimits::default());
    assert!(matches!(steps.next(Outcome::Begin), Effect::WriteJournal(_)));
    let Effect::Done(execution) = steps.next(Outcome::JournalNotWritten("timeout".into())) else {
        panic!("no call after a failed journal write")
    };
    assert!(execution.done.is_empty());
    assert_eq!(execution.failed, None);
    assert!(matches!(execution.failure, Some(Failure::KubeWrite(ref m)) if m.contains("journal")));
    let reported = report_of(Some(&p), &execution, &status);
    assert_eq!(
        reported.operation, None,
        "no journal was written, nothing was done: none is reported"
    );
}

#[test]
fn a_failed_update_resumes_the_task_that_was_running() {
    let p = running_drifted_plan(&status_with(None));
    let mut steps = Steps::new(&p, StepLimits::default());
    let (calls, execution) = run(&mut steps, |effect| match call_kind(effect) {
        Some(Update) => remote_error(),
        _ => Outcome::Succeeded,
    });
    assert_eq!(calls, [Pause, Update, Resume]);
    assert_eq!(execution.done, [Pause, Resume]);
    assert_eq!(execution.failed, Some(Update));
}

/// Issue 11, item 5(b): the old executor ended the operation on a 429 after the pause, leaving
/// the campaign paused until the next backoff.
#[test]
fn a_throttled_call_after_the_pause_is_waited_out_within_the_operation() {
    let p = running_drifted_plan(&status_with(None));
    for throttled_kind in [Update, Resume] {
        let mut steps = Steps::new(&p, StepLimits::default());
        assert!(matches!(steps.next(Outcome::Begin), Effect::WriteJournal(_)));
        let mut effect = steps.next(Outcome::JournalWritten);
        let mut waits = Vec::new();
        let mut throttles = 2;
        while !matches!(effect, Effect::Done(_)) {
            let outcome = match &effect {
                Effect::Wait(d) => {
                    waits.push(*d);
                    Outcome::Performed
                }
                Effect::AwaitPause(d) => Outcome::PauseAge {
                    since_pause: *d,
                    settle: Duration::ZERO,
                },
                Effect::Call(a) if a.kind() == throttled_kind && throttles > 0 => {
                    throttles -= 1;
                    throttled(Some(20))
                }
                Effect::Call(_) => Outcome::Succeeded,
                _ => Outcome::Performed,
            };
            effect = steps.next(outcome);
        }
        assert_eq!(effect, Effect::Done(Execution::completed(&p)), "{throttled_kind:?}");
        assert_eq!(waits, [Duration::from_secs(20); 2], "Retry-After honoured");
    }
}

#[test]
fn throttling_within_the_operation_is_bounded() {
    let p = running_drifted_plan(&status_with(None));
    let limits = StepLimits::default();
    // A Retry-After longer than the whole budget is not waited out in the operation.
    let mut steps = Steps::new(&p, limits.clone());
    let (calls, execution) = run(&mut steps, |effect| match call_kind(effect) {
        Some(Update) => throttled(Some(600)),
        _ => Outcome::Succeeded,
    });
    assert_eq!(calls, [Pause, Update]);
    assert_eq!(execution.failure, Some(Failure::Throttled));
    // A platform that throttles every call: at most max_throttled_retries more attempts.
    let mut steps = Steps::new(&p, limits.clone());
    let (calls, _) = run(&mut steps, |effect| match call_kind(effect) {
        Some(Update) => throttled(None),
        _ => Outcome::Succeeded,
    });
    assert_eq!(calls.len(), 2 + limits.max_throttled_retries as usize);
    // Before anything was changed, a throttle ends the execution (the reconcile is retried later).
    let mut steps = Steps::new(&p, limits);
    let (calls, _) = run(&mut steps, |_| throttled(Some(1)));
    assert_eq!(calls, [Pause]);
}

/// Issue 11, item 4: every 6007 retry used up in N consecutive reconciles used to be reported as
/// transient forever (the pause / updates / resume cycle repeated after every backoff).
#[test]
fn the_nth_reconcile_refused_as_started_stalls_not_pausable_and_resumes_the_task() {
    let mut status = status_with(None);
    let mut outcomes = Vec::new();
    for reconcile in 1..=3 {
        let p = running_drifted_plan(&status);
        assert_eq!(kinds(&p), [Pause, Update, Resume], "reconcile {reconcile}");
        let mut steps = Steps::new(&p, StepLimits::default());
        let (calls, execution) = run(&mut steps, |effect| match call_kind(effect) {
            Some(Update) => started(),
            _ => Outcome::Succeeded,
        });
        assert_eq!(calls.last(), Some(&Resume), "the task is resumed");
        status = report_of(Some(&p), &execution, &status);
        outcomes.push(execution.failure.clone().unwrap());
    }
    assert_eq!(outcomes[0], Failure::StillStarted(6));
    assert!(!outcomes[1].stalls());
    assert_eq!(outcomes[2], Failure::NotPausable(3));
    let stalled = status.conditions.iter().find(|c| c.type_ == "Stalled").unwrap();
    assert_eq!(
        (stalled.status.as_str(), stalled.reason.as_str()),
        ("True", "NotPausable")
    );
    assert!(
        stalled.message.contains("3 consecutive reconciles"),
        "{}",
        stalled.message
    );
    assert_eq!(
        status.still_started,
        Some(StillStarted {
            generation: GEN,
            reconciles: 3
        })
    );
    assert_eq!(status.operation, None, "the task was resumed: nothing owed");

    // The next reconcile does not pause the campaign again for the same spec.
    let held = running_drifted_plan(&status);
    assert!(held.actions.is_empty());
    assert_eq!(held.verdict, Verdict::Blocked(Failure::NotPausable(3)));
}

#[test]
fn a_refused_update_is_tried_again_for_a_new_generation_or_a_requested_reconcile() {
    let spec = fixtures::spec();
    let observed = drifted(&spec, RemoteState::Running);
    let mut status = status_with(None);
    status.still_started = Some(StillStarted {
        generation: GEN,
        reconciles: 3,
    });
    let mut new_generation = input(&spec, observed.clone(), &status);
    new_generation.generation = GEN + 1;
    let p = plan(&new_generation);
    assert_eq!(kinds(&p), [Pause, Update, Resume]);
    assert_eq!(p.if_still_started.unwrap().record.reconciles, 1);
    let requested = PlanInput {
        requested_at: Some("2025-03-01T10:00:00Z"),
        ..input(&spec, observed, &status)
    };
    assert_eq!(kinds(&plan(&requested)), [Pause, Update, Resume]);
}

#[test]
fn a_successful_update_clears_the_refusal_count() {
    let mut status = status_with(None);
    status.still_started = Some(StillStarted {
        generation: GEN,
        reconciles: 2,
    });
    let p = running_drifted_plan(&status);
    let reported = report_of(Some(&p), &Execution::completed(&p), &status);
    assert_eq!(reported.still_started, None);
}

#[test]
fn the_started_retry_settings_are_held_to_their_bounds() {
    let b = StartedBehaviour::bounded(Duration::from_secs(3600), 1000);
    assert_eq!(b.retry_interval, MAX_STARTED_RETRY_INTERVAL);
    assert_eq!(b.retries, MAX_STARTED_RETRIES);
    assert!(MAX_STARTED_RETRY_INTERVAL * MAX_STARTED_RETRIES <= Duration::from_secs(180));
    assert_eq!(
        StartedBehaviour::bounded(Duration::from_secs(1), 2),
        StartedBehaviour {
            retry_interval: Duration::from_secs(1),
            retries: 2,
            ..StartedBehaviour::default()
        }
    );
}

/// Issue 11, item 5(c): an unknown state used to be re-read every 15 s forever.
#[test]
fn an_unknown_state_is_re_read_later_and_later_up_to_a_cap() {
    let spec = fixtures::spec();
    let mut status = status_with(None);
    let mut delays = Vec::new();
    for _ in 0..8 {
        let p = plan(&input(&spec, echo(&spec, RemoteState::Unknown), &status));
        delays.push(p.requeue_after.unwrap().as_secs());
        status = report_of(Some(&p), &Execution::default(), &status);
    }
    assert_eq!(delays, [15, 30, 60, 120, 240, 300, 300, 300]);
    assert_eq!(status.unknown_reads, Some(8));
    let known = plan(&input(&spec, echo(&spec, RemoteState::Running), &status));
    let after = report_of(Some(&known), &Execution::default(), &status);
    assert_eq!(after.unknown_reads, None, "a known state resets the count");
}
