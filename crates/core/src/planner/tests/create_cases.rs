//! The create steps' decisions after an unknown outcome (review D1, D2, D21).

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::super::create::*;
use super::{GEN, now};
use crate::mapping::fixtures;
use outbound_api::{CreateIntent, OutboundTaskSpec, OutboundTaskStatus};

const GRACE: Duration = Duration::from_secs(15);
const SKEW: Duration = Duration::from_secs(60);

fn new_spec(name: &str, sub_user_id: Option<&str>) -> OutboundTaskSpec {
    let mut spec = fixtures::spec();
    spec.task_id = None;
    spec.task.name = name.into();
    spec.sub_user_id = sub_user_id.map(str::to_string);
    spec
}

fn input<'a>(spec: &'a OutboundTaskSpec, status: &'a OutboundTaskStatus, at: Timestamp) -> CreateInput<'a> {
    CreateInput {
        spec,
        generation: GEN,
        status,
        requested_at: None,
        now: at,
        grace: GRACE,
        skew: SKEW,
    }
}

fn secs(n: i64) -> SignedDuration {
    SignedDuration::from_secs(n)
}

fn listed(id: &str, name: &str, created_at: Option<Timestamp>) -> Candidate {
    Candidate {
        id: id.into(),
        name: name.into(),
        created_at,
    }
}

/// Runs one execution from `Begin` through intent, create (answered with `create`), to the end,
/// answering every list with `list`; returns the effects seen and the result.
fn run(input: &CreateInput<'_>, create: CreateOutcome, list: Vec<Candidate>) -> (Vec<CreateEffect>, CreateResult) {
    let mut steps = CreateSteps::new(input);
    let mut seen = Vec::new();
    let mut outcome = CreateOutcome::Begin;
    loop {
        let effect = steps.next(outcome);
        seen.push(effect.clone());
        outcome = match effect {
            CreateEffect::WriteIntent(_) => CreateOutcome::IntentWritten,
            CreateEffect::Create { .. } => create.clone(),
            CreateEffect::List { .. } => CreateOutcome::Listed(list.clone()),
            CreateEffect::Done(result) => return (seen, result),
        };
    }
}

fn lost_answer(at: Timestamp) -> CreateOutcome {
    CreateOutcome::CreateFailed {
        failure: super::super::Failure::Transient("no complete response within 10s".into()),
        maybe_created: true,
        at,
    }
}

fn pending_intent(result: &CreateResult) -> CreateIntent {
    match result {
        CreateResult::Pending { intent, .. } => intent.clone(),
        other => panic!("expected Pending, got {other:?}"),
    }
}

/// D1: the create waited 18 s for the rate budget and 10 s for an answer that never came; the
/// next reconcile, 30 s after the intent (past the grace counted from it), must still look, not
/// create again: the grace counts from when the outcome became unknown.
#[test]
fn the_grace_counts_from_the_lost_answer_not_from_the_intent() {
    let spec = new_spec("sale", None);
    let empty = OutboundTaskStatus::default();
    let first = input(&spec, &empty, now());
    let (_, result) = run(&first, lost_answer(now() + secs(28)), vec![]);
    let intent = pending_intent(&result);
    assert_eq!(intent.started_at, Time(now()));

    let status = OutboundTaskStatus {
        create_intent: Some(intent),
        ..Default::default()
    };
    let later = input(&spec, &status, now() + secs(30));
    let (effects, result) = run(&later, lost_answer(now()), vec![]);
    assert!(
        !effects.iter().any(|e| matches!(e, CreateEffect::Create { .. })),
        "created again 2 s after the answer was lost: {effects:?}"
    );
    assert!(matches!(result, CreateResult::Pending { .. }), "{result:?}");

    // Once the grace after the lost answer has passed, the task was not made: create again.
    let past = input(&spec, &status, now() + secs(28) + secs(16));
    let (effects, _) = run(&past, lost_answer(now()), vec![]);
    assert!(
        effects.iter().any(|e| matches!(e, CreateEffect::Create { .. })),
        "{effects:?}"
    );
}

/// D1: an intent found without an answer (a crash mid-create, or an intent of an earlier
/// version) starts the grace at the first lookup, whatever its age.
#[test]
fn an_intent_found_unanswered_starts_the_grace_at_the_first_lookup() {
    let spec = new_spec("sale", None);
    let status = OutboundTaskStatus {
        create_intent: Some(CreateIntent {
            started_at: Time(now() - secs(3600)),
            generation: GEN,
            acknowledged: false,
            name: None,
            sub_user_id: None,
            unknown_since: None,
        }),
        ..Default::default()
    };
    let (effects, result) = run(&input(&spec, &status, now()), lost_answer(now()), vec![]);
    assert!(
        !effects.iter().any(|e| matches!(e, CreateEffect::Create { .. })),
        "{effects:?}"
    );
    assert_eq!(pending_intent(&result).unknown_since, Some(Time(now())));
}

/// D2: the task was created as "A" under sub-account "s1"; the spec was then renamed to "B" (and
/// moved to "s2"). The lookup searches "A" in "s1", finds it, and never creates "B".
#[test]
fn the_lookup_searches_the_name_the_task_was_created_with() {
    let before = new_spec("A", Some("s1"));
    let empty = OutboundTaskStatus::default();
    let (effects, result) = run(&input(&before, &empty, now()), lost_answer(now()), vec![]);
    let intent = pending_intent(&result);
    assert_eq!(intent.name.as_deref(), Some("A"));
    assert_eq!(intent.sub_user_id.as_deref(), Some("s1"));
    assert!(effects.contains(&CreateEffect::List {
        name: "A".into(),
        sub_user_id: Some("s1".into())
    }));

    let renamed = new_spec("B", Some("s2"));
    let status = OutboundTaskStatus {
        create_intent: Some(intent),
        ..Default::default()
    };
    let later = input(&renamed, &status, now() + secs(5));
    let (effects, result) = run(&later, lost_answer(now()), vec![listed("a-1", "A", Some(now()))]);
    assert!(effects.contains(&CreateEffect::List {
        name: "A".into(),
        sub_user_id: Some("s1".into())
    }));
    assert_eq!(
        result,
        CreateResult::Known {
            id: "a-1".into(),
            listed: true
        }
    );
}

/// D21: a same-named task whose `create_datetime` could not be read may be older than the
/// intent: it is not adopted, and nothing is created either (AmbiguousName, stalled).
#[test]
fn a_namesake_without_a_readable_creation_time_is_ambiguous_not_ours() {
    let spec = new_spec("sale", None);
    let empty = OutboundTaskStatus::default();
    let (_, result) = run(
        &input(&spec, &empty, now()),
        lost_answer(now()),
        vec![listed("old", "sale", None)],
    );
    match result {
        CreateResult::Failed {
            failure: super::super::Failure::AmbiguousName { ids, .. },
            intent: Some(_),
        } => assert_eq!(ids, vec!["old".to_string()]),
        other => panic!("expected AmbiguousName, got {other:?}"),
    }
    // With one readable candidate of ours beside it: still ambiguous, never a guess.
    let (_, result) = run(
        &input(&spec, &empty, now()),
        lost_answer(now()),
        vec![listed("old", "sale", None), listed("new", "sale", Some(now()))],
    );
    assert!(
        matches!(result, CreateResult::Failed { failure: super::super::Failure::AmbiguousName { ref ids, .. }, .. } if ids.len() == 2),
        "{result:?}"
    );
}
