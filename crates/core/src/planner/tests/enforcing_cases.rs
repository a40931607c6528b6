//! Switching an observed task with differences to Enforce: the `EnforcingChanges` event, listing
//! what will change, is published before the first platform call.

use super::*;
use outbound_api::{Mode, RunState};

/// The status an Observe reconcile wrote for a running task that differs from spec.
fn observed_with_drift(spec: &OutboundTaskSpec) -> OutboundTaskStatus {
    let mut observe = spec.clone();
    observe.mode = Mode::Observe;
    let previous = status_with(None);
    let p = plan(&input(&observe, drifted(&observe, RemoteState::Running), &previous));
    assert_eq!(p.verdict, Verdict::Drifted);
    report_of(Some(&p), &Execution::default(), &previous)
}

fn enforcing_events(p: &Plan) -> Vec<&PlannedEvent> {
    p.events.iter().filter(|e| e.reason == "EnforcingChanges").collect()
}

#[test]
fn switching_to_enforce_announces_every_change_before_the_first_call() {
    let spec = fixtures::spec();
    let status = observed_with_drift(&spec);
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Running), &status));
    assert_eq!(kinds(&p), [Pause, Update, Resume]);
    let events = enforcing_events(&p);
    assert_eq!(events.len(), 1, "{:?}", p.events);
    let event = events[0];
    assert_eq!(event.type_, EventType::Normal);
    assert_eq!(event.after_action, None, "published before the actions");
    assert!(
        event.note.contains("spec.task.maxConcurrency: 4 -> 2"),
        "names the field and both values: {}",
        event.note
    );
    assert!(
        event.note.contains("pause") && event.note.contains("resume"),
        "{}",
        event.note
    );

    let mut steps = Steps::new(&p, StepLimits::default());
    let mut effects = vec![steps.next(Outcome::Begin)];
    if matches!(effects[0], Effect::WriteJournal(_)) {
        effects.push(steps.next(Outcome::JournalWritten));
    }
    let first_publish = effects.iter().position(|e| matches!(e, Effect::Publish(_)));
    let first_call = effects.iter().position(|e| matches!(e, Effect::Call(_)));
    assert!(first_call.is_none(), "no call before the announcement: {effects:?}");
    match effects.last() {
        Some(Effect::Publish(e)) => assert_eq!(e.reason, "EnforcingChanges"),
        other => panic!("expected the announcement, got {other:?} (first publish {first_publish:?})"),
    }
    assert!(matches!(steps.next(Outcome::Performed), Effect::Call(Action::Pause)));
}

#[test]
fn a_run_state_change_alone_is_announced_too() {
    let mut spec = fixtures::spec();
    spec.run_state = Some(RunState::Running);
    let mut observe = spec.clone();
    observe.mode = Mode::Observe;
    let previous = status_with(None);
    let p = plan(&input(&observe, echo(&observe, RemoteState::Paused), &previous));
    assert_eq!(p.verdict, Verdict::Drifted);
    let status = report_of(Some(&p), &Execution::default(), &previous);
    let p = plan(&input(&spec, echo(&spec, RemoteState::Paused), &status));
    assert_eq!(kinds(&p), [Resume]);
    let events = enforcing_events(&p);
    assert_eq!(events.len(), 1, "{:?}", p.events);
    assert!(
        events[0].note.contains("spec.runState: Paused -> Running"),
        "{}",
        events[0].note
    );
}

#[test]
fn no_announcement_without_a_prior_observe_drift() {
    let spec = fixtures::spec();
    let p = plan(&input(&spec, drifted(&spec, RemoteState::Running), &status_with(None)));
    assert_eq!(kinds(&p), [Pause, Update, Resume]);
    assert!(enforcing_events(&p).is_empty(), "{:?}", p.events);
}

#[test]
fn observe_itself_announces_nothing() {
    let spec = fixtures::spec();
    let status = observed_with_drift(&spec);
    let mut observe = spec.clone();
    observe.mode = Mode::Observe;
    let p = plan(&input(&observe, drifted(&observe, RemoteState::Running), &status));
    assert!(p.actions.is_empty() && p.events.is_empty(), "{p:?}");
}
