use kube::runtime::watcher::Event::{self, Apply, Delete, Init, InitApply, InitDone};
use outbound_api::OutboundTask;

use super::*;

fn task(name: &str, generation: i64) -> OutboundTask {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "outbound.dev/v1alpha1", "kind": "OutboundTask",
        "metadata": {"name": name, "namespace": "ns", "generation": generation},
        "spec": {"accountRef": {"name": "a"}, "taskId": "f232d184-dd54-42a0-8ace-0bf8d660f4cc",
                 "task": {"name": "n", "scriptGroupId": 1, "maxConcurrency": 1, "dialTimeGroupId": 1,
                          "schedule": {"startTime": "2024-12-23 19:00:00"}}}
    }))
    .unwrap()
}

fn generation(task: &OutboundTask) -> u64 {
    task.metadata.generation.unwrap_or_default() as u64
}

/// What each event names, in turn ("-": nothing), as "name" per object.
fn named(listed: Listed, deleted: Deleted, events: Vec<Event<OutboundTask>>) -> Vec<String> {
    let mut changes = changes(listed, deleted, generation);
    events
        .into_iter()
        .map(|event| match changes.on(Ok(event)) {
            None => "-".to_string(),
            Some(named) => {
                let names: Vec<String> = named
                    .unwrap()
                    .into_iter()
                    .inspect(|r| assert_eq!(r.namespace.as_deref(), Some("ns")))
                    .map(|r| r.name)
                    .collect();
                names.join(",")
            }
        })
        .collect()
}

#[test]
fn the_objects_of_a_list_are_named_at_its_end_when_the_store_holds_them() {
    let events = vec![
        Init,
        InitApply(task("a", 1)),
        InitApply(task("b", 1)),
        InitDone,
        Apply(task("a", 1)), // a status write: the same generation
        Apply(task("a", 2)),
    ];
    assert_eq!(
        named(Listed::Triggers, Deleted::Ignored, events),
        ["-", "-", "-", "a,b", "-", "a"]
    );
}

/// The watch fell behind, the API server answered 410 Gone and the watcher lists again: the
/// tasks whose spec changed in the gap are named once the relist is complete (a reconcile begun
/// before would read the store as it was before the gap), the others not at all.
#[test]
fn a_relist_names_what_changed_in_the_gap_once_complete() {
    let events = vec![
        Init,
        InitApply(task("a", 1)),
        InitApply(task("b", 1)),
        InitDone,
        Init,
        InitApply(task("a", 2)),
        InitApply(task("b", 1)),
        InitDone,
    ];
    assert_eq!(
        named(Listed::Triggers, Deleted::Ignored, events.clone()),
        ["-", "-", "-", "a,b", "-", "-", "-", "a"]
    );
    assert_eq!(
        named(Listed::Recorded, Deleted::Ignored, events),
        ["-", "-", "-", "-", "-", "-", "-", "a"],
        "accounts: the first list only records, a relist names what changed"
    );
}

#[test]
fn what_a_relist_no_longer_lists_was_deleted_in_the_gap() {
    let events = || {
        vec![
            Init,
            InitApply(task("a", 1)),
            InitApply(task("b", 1)),
            InitDone,
            Init,
            InitApply(task("a", 1)),
            InitDone,
            Apply(task("b", 1)), // created again: new to the filter
        ]
    };
    assert_eq!(
        named(Listed::Recorded, Deleted::Triggers, events()),
        ["-", "-", "-", "-", "-", "-", "b", "b"],
        "accounts: the deletion in the gap names the account (its tasks lose it)"
    );
    assert_eq!(
        named(Listed::Triggers, Deleted::Ignored, events()),
        ["-", "-", "-", "a,b", "-", "-", "-", "b"],
        "tasks: forgotten, so the object back is new"
    );
}

#[test]
fn only_new_or_changed_objects_pass_and_a_deleted_one_is_forgotten() {
    let mut with_status = task("t", 1);
    with_status.status = Some(Default::default());
    let events = || {
        vec![
            Init,
            InitApply(task("t", 1)),
            InitDone,
            Apply(with_status.clone()),
            Apply(task("t", 2)),
            Init,
            InitApply(task("t", 2)),
            InitDone,
            Delete(task("t", 2)),
            Apply(task("t", 2)),
        ]
    };
    assert_eq!(
        named(Listed::Triggers, Deleted::Ignored, events()),
        ["-", "-", "t", "-", "t", "-", "-", "-", "-", "t"],
        "tasks: the first list, the spec change and the object back after its deletion"
    );
    assert_eq!(
        named(Listed::Recorded, Deleted::Triggers, events()),
        ["-", "-", "-", "-", "t", "-", "-", "-", "t", "t"],
        "accounts: the spec change, the deletion, the object back after it"
    );
}

#[test]
fn a_list_begun_again_before_its_end_still_names_what_the_first_attempt_saw() {
    // A relist that failed half way: the watcher starts it over with Init.
    let events = vec![
        Init,
        InitApply(task("a", 1)),
        InitDone,
        Init,
        InitApply(task("a", 2)),
        Init,
        InitApply(task("a", 2)),
        InitApply(task("b", 1)),
        InitDone,
    ];
    let names = named(Listed::Triggers, Deleted::Ignored, events);
    assert_eq!(names.last().map(String::as_str), Some("a,b"), "{names:?}");
}
