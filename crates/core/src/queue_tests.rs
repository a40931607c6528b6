use super::*;

fn drain<G: Clone + Eq + Hash>(backlog: &mut Backlog<&'static str, G>) -> Vec<&'static str> {
    std::iter::from_fn(|| backlog.pop().map(|(k, _)| k)).collect()
}

#[test]
fn classes_run_in_order_and_first_come_first_served_within_one() {
    let mut backlog = Backlog::default();
    backlog.push("resync-1", (), Priority::Resync);
    backlog.push("new-1", (), Priority::FirstSight);
    backlog.push("resync-2", (), Priority::Resync);
    backlog.push("change-1", (), Priority::Change);
    backlog.push("resume-1", (), Priority::Resume);
    backlog.push("new-2", (), Priority::FirstSight);
    backlog.push("resume-2", (), Priority::Resume);
    assert_eq!(
        drain(&mut backlog),
        [
            "resume-1", "resume-2", "change-1", "new-1", "new-2", "resync-1", "resync-2"
        ]
    );
}

#[test]
fn a_promoted_key_keeps_its_arrival_and_never_moves_down() {
    let mut backlog = Backlog::default();
    backlog.push("a", (), Priority::Resync);
    backlog.push("b", (), Priority::Change);
    backlog.push("c", (), Priority::Resync);
    assert!(backlog.promote(&"c", Priority::Change));
    assert!(backlog.promote(&"b", Priority::Resync), "still waiting, not moved down");
    backlog.push("a", (), Priority::Resync);
    assert!(!backlog.promote(&"z", Priority::Resume), "not waiting");
    assert_eq!(backlog.counts(), [0, 2, 0, 1]);
    assert_eq!(drain(&mut backlog), ["b", "c", "a"]);
}

/// The counts are the `outbound_queue_waiting` gauge: every way out of line lowers them.
#[test]
fn counts_and_length_follow_every_push_promotion_pop_and_removal() {
    let mut backlog = Backlog::default();
    backlog.push("a", (), Priority::Resync);
    backlog.push("b", (), Priority::Resync);
    backlog.push("c", (), Priority::FirstSight);
    assert_eq!(backlog.counts(), [0, 0, 1, 2]);
    assert_eq!((backlog.len(), backlog.is_empty()), (3, false));
    backlog.push("b", (), Priority::Change);
    assert_eq!(backlog.counts(), [0, 1, 1, 1]);
    assert_eq!(backlog.pop(), Some(("b", Priority::Change)));
    assert_eq!(backlog.counts(), [0, 0, 1, 1]);
    assert_eq!(backlog.remove(&"a"), Some(Priority::Resync));
    assert_eq!(backlog.counts(), [0, 0, 1, 0]);
    assert_eq!(backlog.pop(), Some(("c", Priority::FirstSight)));
    assert_eq!(backlog.counts(), [0; 4]);
    assert_eq!((backlog.len(), backlog.is_empty()), (0, true));
}

#[test]
fn another_group_waiting_is_seen_in_any_class() {
    let mut backlog = Backlog::default();
    assert!(!backlog.waits_besides(&"bulk"));
    backlog.push("b1", "bulk", Priority::Resync);
    backlog.push("b2", "bulk", Priority::Change);
    assert!(!backlog.waits_besides(&"bulk"), "only the group itself waits");
    backlog.push("s1", "small", Priority::Resync);
    assert!(backlog.waits_besides(&"bulk"));
    assert_eq!(backlog.remove(&"s1"), Some(Priority::Resync));
    assert!(!backlog.waits_besides(&"bulk"));
}

/// The label values of the `priority` label (docs/reference/metrics.md).
#[test]
fn each_class_has_its_documented_label() {
    let names = Priority::ALL.map(Priority::name);
    assert_eq!(names, ["resume", "change", "first_sight", "resync"]);
}

#[test]
fn every_key_is_served_once_however_many_arrive_after_it() {
    // The starvation seen with kube-runtime's pending set: keys served, then due again at
    // once, must not overtake a key that waited longer in the same class.
    let mut backlog = Backlog::default();
    for key in 0..100u32 {
        backlog.push(key, (), Priority::Resync);
    }
    let mut served = std::collections::HashSet::new();
    for _ in 0..100 {
        let (key, _) = backlog.pop().unwrap();
        assert!(served.insert(key), "{key} served twice before all were served once");
        backlog.push(key, (), Priority::Resync);
    }
    assert_eq!(served.len(), 100);
}

#[test]
fn removed_keys_leave_no_trace() {
    let mut backlog = Backlog::default();
    backlog.push("a", (), Priority::Change);
    backlog.push("b", (), Priority::Resync);
    assert_eq!(backlog.remove(&"a"), Some(Priority::Change));
    assert_eq!(backlog.remove(&"a"), None);
    assert_eq!(backlog.len(), 1);
    assert_eq!(drain(&mut backlog), ["b"]);
    assert!(backlog.is_empty());
}

#[test]
fn accounts_take_turns_within_a_class_and_keep_their_own_order() {
    let mut backlog = Backlog::default();
    for key in ["bulk-1", "bulk-2", "bulk-3", "bulk-4"] {
        backlog.push(key, "bulk", Priority::Change);
    }
    backlog.push("small-1", "small", Priority::Change);
    backlog.push("small-2", "small", Priority::Change);
    backlog.push("bulk-resync", "bulk", Priority::Resync);
    backlog.push("other-1", "other", Priority::Change);
    assert_eq!(
        drain(&mut backlog),
        [
            "bulk-1",
            "small-1",
            "other-1",
            "bulk-2",
            "small-2",
            "bulk-3",
            "bulk-4",
            "bulk-resync"
        ]
    );
}

#[test]
fn a_class_still_goes_before_the_turns_of_a_less_urgent_one() {
    let mut backlog = Backlog::default();
    backlog.push("small-resync", "small", Priority::Resync);
    backlog.push("bulk-change", "bulk", Priority::Change);
    backlog.push("bulk-resume", "bulk", Priority::Resume);
    backlog.push("small-resume", "small", Priority::Resume);
    assert_eq!(
        drain(&mut backlog),
        ["bulk-resume", "small-resume", "bulk-change", "small-resync"]
    );
}

#[test]
fn an_account_passed_over_keeps_its_turn() {
    let mut backlog = Backlog::default();
    backlog.push("bulk-1", "bulk", Priority::Change);
    backlog.push("bulk-2", "bulk", Priority::Change);
    backlog.push("small-1", "small", Priority::Change);
    backlog.push("small-2", "small", Priority::Change);
    let not_bulk = |group: &&str| *group != "bulk";
    assert_eq!(backlog.pop_where(not_bulk), Some(("small-1", Priority::Change)));
    assert_eq!(backlog.pop_where(|_| false), None);
    assert_eq!(backlog.len(), 3, "nothing eligible: nothing taken");
    assert_eq!(drain(&mut backlog), ["bulk-1", "small-2", "bulk-2"]);
}

#[test]
fn a_promoted_key_takes_its_group_into_the_more_urgent_turns() {
    let mut backlog = Backlog::default();
    backlog.push("a-resync", "a", Priority::Resync);
    backlog.push("b-change", "b", Priority::Change);
    assert!(backlog.promote(&"a-resync", Priority::Change));
    assert_eq!(backlog.counts(), [0, 2, 0, 0]);
    assert_eq!(backlog.remove(&"b-change"), Some(Priority::Change));
    assert_eq!(drain(&mut backlog), ["a-resync"]);
    assert!(backlog.is_empty());
}

fn task(status: serde_json::Value, annotations: serde_json::Value) -> OutboundTask {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "outbound.dev/v1alpha1", "kind": "OutboundTask",
        "metadata": {"name": "t", "namespace": "ns", "generation": 2, "annotations": annotations},
        "spec": {"accountRef": {"name": "a"}, "taskId": "f232d184-dd54-42a0-8ace-0bf8d660f4cc",
                 "task": {"name": "n", "scriptGroupId": 1, "maxConcurrency": 1, "dialTimeGroupId": 1,
                          "schedule": {"startTime": "2024-12-23 19:00:00"}}},
        "status": status,
    }))
    .unwrap()
}

#[test]
fn the_class_follows_from_what_the_object_says() {
    let synced = serde_json::json!({"observedGeneration": 2});
    let none = serde_json::json!({});
    assert_eq!(
        Priority::of(&task(synced.clone(), none.clone()), true),
        Priority::Resync
    );
    assert_eq!(
        Priority::of(&task(synced.clone(), none.clone()), false),
        Priority::FirstSight
    );
    let journal = serde_json::json!({"observedGeneration": 2, "operation": {
        "phase": "Updating", "resumeAfter": true, "startedAt": "2026-01-01T00:00:00Z", "generation": 2}});
    assert_eq!(Priority::of(&task(journal, none.clone()), true), Priority::Resume);
    let old = serde_json::json!({"observedGeneration": 1});
    assert_eq!(Priority::of(&task(old, none.clone()), true), Priority::Change);
    let requested = serde_json::json!({"reconcile.fluxcd.io/requestedAt": "now"});
    assert_eq!(
        Priority::of(&task(synced.clone(), requested.clone()), true),
        Priority::Change
    );
    let handled = serde_json::json!({"observedGeneration": 2, "lastHandledReconcileAt": "now"});
    assert_eq!(Priority::of(&task(handled, requested), true), Priority::Resync);
    let retrying = serde_json::json!({"observedGeneration": 2, "conditions": [{"type": "Reconciling",
        "status": "True", "reason": "RemoteError", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]});
    assert_eq!(Priority::of(&task(retrying, none.clone()), true), Priority::Change);
    // Only a Reconciling condition that is True says a retry is due: Ready=True or
    // Reconciling=False is a task in sync.
    for (type_, status) in [("Ready", "True"), ("Reconciling", "False")] {
        let settled = serde_json::json!({"observedGeneration": 2, "conditions": [{"type": type_,
            "status": status, "reason": "InSync", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]});
        assert_eq!(
            Priority::of(&task(settled, none.clone()), true),
            Priority::Resync,
            "{type_}={status}"
        );
    }
    let deleting = {
        let mut t = task(synced, none);
        t.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            "2026-01-01T00:00:00Z".parse().unwrap(),
        ));
        t
    };
    assert_eq!(Priority::of(&deleting, true), Priority::Change);
}
