//! The step machine's waits between a pause and the update (issue 13): the learned time a
//! pause takes, read again on every wake-up, and the 6007 retries.

use std::time::Duration;

use super::steps_cases::{running_drifted_plan, started};
use super::*;

/// Runs `steps` on a clock that only waits move: the first pause that succeeds starts the
/// pause's age, `settle(age)` is the account's learned time as it stands at that age (another
/// operation's refusal may raise it meanwhile), `answer` answers the calls. Returns the effects
/// by name: the call, "wait N", "await N" (ms), "journal", "event", "done".
fn shape(
    steps: &mut Steps<'_>,
    mut settle: impl FnMut(Duration) -> Duration,
    mut answer: impl FnMut(&Action) -> Outcome,
) -> Vec<String> {
    let (mut now, mut paused_at, mut outcome) = (Duration::ZERO, None, Outcome::Begin);
    let mut shape = Vec::new();
    for _ in 0..100 {
        let effect = steps.next(outcome);
        shape.push(match &effect {
            Effect::Call(a) => a.kind().name().to_string(),
            Effect::Wait(d) => format!("wait {}", d.as_millis()),
            Effect::AwaitPause(d) => format!("await {}", d.as_millis()),
            Effect::WriteJournal(_) => "journal".into(),
            Effect::Publish(_) => "event".into(),
            Effect::Done(_) => return [shape, vec!["done".into()]].concat(),
        });
        outcome = match &effect {
            Effect::WriteJournal(_) => Outcome::JournalWritten,
            Effect::Call(action) => {
                let outcome = answer(action);
                if outcome == Outcome::Succeeded && *action == Action::Pause && paused_at.is_none() {
                    paused_at = Some(now);
                }
                outcome
            }
            Effect::Wait(d) => {
                now += *d;
                Outcome::Performed
            }
            Effect::AwaitPause(d) => {
                now += *d;
                let since_pause = now - paused_at.expect("a pause is awaited only after one");
                Outcome::PauseAge {
                    since_pause,
                    settle: settle(since_pause),
                }
            }
            _ => Outcome::Performed,
        };
    }
    panic!("the step machine never finished: {shape:?}");
}

#[test]
fn an_update_answered_started_waits_repauses_and_is_sent_again() {
    let p = running_drifted_plan(&status_with(None));
    let mut steps = Steps::new(&p, StepLimits::default());
    let mut started_answers = 0;
    let shape = shape(
        &mut steps,
        |_| Duration::ZERO,
        |action| match action {
            Action::Update(_) if started_answers < 2 => {
                started_answers += 1;
                started()
            }
            _ => Outcome::Succeeded,
        },
    );
    assert_eq!(
        shape,
        [
            "journal",
            "pause",
            "await 0",
            "update",
            "await 250",
            "update",
            "wait 500",
            "pause",
            "await 0",
            "update",
            "resume",
            "event",
            "done"
        ],
        "a short first retry, doubling up to startedRetryInterval; re-paused from the second"
    );
}

/// Issue 13: the update after a pause waits the account's learned settle time instead of being
/// refused 6007 first.
#[test]
fn the_update_after_a_pause_waits_the_learned_settle_time() {
    let p = running_drifted_plan(&status_with(None));
    let mut steps = Steps::new(&p, StepLimits::default());
    let shape = shape(&mut steps, |_| Duration::from_millis(1100), |_| Outcome::Succeeded);
    assert_eq!(
        shape,
        [
            "journal",
            "pause",
            "await 0",
            "await 1100",
            "update",
            "resume",
            "event",
            "done"
        ]
    );
}

/// Issue 13: an operation read the learned time once, when it started, and slept that long:
/// when another operation's refusal raised it meanwhile, every operation already waiting was
/// refused in turn. Now each wake-up reads it again, for the first update and for a retry.
#[test]
fn a_waiting_update_reads_the_learned_time_again_when_it_wakes() {
    let p = running_drifted_plan(&status_with(None));
    let mut steps = Steps::new(&p, StepLimits::default());
    // Raised to 1.3 s while this one sleeps its 1.1 s.
    let raised = |age: Duration| Duration::from_millis(if age.is_zero() { 1100 } else { 1300 });
    let shape1 = shape(&mut steps, raised, |_| Outcome::Succeeded);
    assert_eq!(
        shape1,
        [
            "journal",
            "pause",
            "await 0",
            "await 1100",
            "await 200",
            "update",
            "resume",
            "event",
            "done"
        ]
    );
    // Refused at 1.3 s; the retry due 250 ms later waits until the 1.7 s learned meanwhile.
    let mut steps = Steps::new(&p, StepLimits::default());
    let mut refused = false;
    let raised = |age: Duration| Duration::from_millis(if age < Duration::from_millis(1400) { 1300 } else { 1700 });
    let shape2 = shape(&mut steps, raised, |action| match action {
        Action::Update(_) if !refused => {
            refused = true;
            started()
        }
        _ => Outcome::Succeeded,
    });
    assert_eq!(
        shape2,
        [
            "journal",
            "pause",
            "await 0",
            "await 1300",
            "update",
            "await 250",
            "await 150",
            "update",
            "resume",
            "event",
            "done"
        ]
    );
    // Whatever the driver reports, one wait is never longer than the longest learned time.
    let mut steps = Steps::new(&p, StepLimits::default());
    let shape3 = shape(&mut steps, |_| Duration::from_secs(3600), |_| Outcome::Succeeded);
    assert_eq!(
        &shape3[..5],
        [
            "journal",
            "pause",
            "await 0",
            &format!("await {}", MAX_STARTED_RETRY_INTERVAL.as_millis()),
            "update"
        ]
    );
}
