use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::*;
use outbound_api::condition;

#[test]
fn in_progress_reads_as_kstatus_in_progress_and_keeps_the_journal() {
    let journal = journal(OperationPhase::Pausing, true);
    let status = in_progress(&OutboundTaskStatus::default(), &journal, GEN, now());
    assert_eq!(status.operation.as_ref(), Some(&journal));
    assert_eq!(status.observed_generation, Some(GEN));
    let get = |t: &str| {
        status
            .conditions
            .iter()
            .find(|c| c.type_ == t)
            .map(|c| (c.status.as_str(), c.reason.as_str()))
    };
    assert_eq!(get(condition::RECONCILING), Some(("True", "Updating")));
    assert_eq!(get(condition::READY), Some(("False", "Updating")));
    assert_eq!(get(condition::STALLED), Some(("False", "Updating")));
}

#[test]
fn in_progress_keeps_synced_and_foreign_conditions_and_unchanged_transition_times() {
    // A task in sync since `earlier()`: Ready flips (new transition time), Stalled stays False
    // (its time is kept), Synced and a condition of another type are untouched.
    let set = |type_: &str, ok: bool| {
        crate::planner::report::condition(&[], type_, ok, "InSync", String::new(), GEN, earlier())
    };
    let mut previous = OutboundTaskStatus {
        conditions: vec![
            set("Ready", true),
            set("Synced", true),
            set("Reconciling", false),
            set("Stalled", false),
        ],
        ..Default::default()
    };
    let mut foreign = previous.conditions[0].clone();
    foreign.type_ = "Healthy".into();
    previous.conditions.push(foreign.clone());
    let status = in_progress(&previous, &journal(OperationPhase::Updating, true), GEN, now());
    let types: Vec<&str> = status.conditions.iter().map(|c| c.type_.as_str()).collect();
    assert_eq!(types, ["Ready", "Synced", "Reconciling", "Stalled", "Healthy"]);
    let find = |t: &str| status.conditions.iter().find(|c| c.type_ == t).expect(t);
    assert_eq!(find("Ready").last_transition_time, Time(now()));
    assert_eq!(find("Stalled").last_transition_time, Time(earlier()));
    assert_eq!(
        find("Synced"),
        previous.conditions.iter().find(|c| c.type_ == "Synced").unwrap()
    );
    assert_eq!(find("Healthy"), &foreign);
}
