//! The step machine at its edges: plans of one action, and the bounds of its retries (cases
//! that mutation testing, `make mutants`, found no test for).

use super::*;
use outbound_api::RunState;

/// `runState: Paused` on a running task in sync: a plan of one pause, and nothing after it (no
/// wait for the pause to take effect: no update follows it).
#[test]
fn a_plan_of_one_pause_is_done_when_the_pause_succeeds() {
    let mut spec = fixtures::spec();
    spec.run_state = Some(RunState::Paused);
    let status = status_with(None);
    let p = plan(&input(&spec, echo(&spec, RemoteState::Running), &status));
    assert_eq!(kinds(&p), [Pause]);
    let mut steps = Steps::new(&p, StepLimits::default());
    assert_eq!(steps.next(Outcome::Begin), Effect::Call(Action::Pause));
    let Effect::Publish(event) = steps.next(Outcome::Succeeded) else {
        panic!("the pause's event first")
    };
    assert_eq!(event.reason, reasons::PAUSED);
    assert_eq!(steps.next(Outcome::Performed), Effect::Done(Execution::completed(&p)));
}
