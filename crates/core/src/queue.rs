//! Which waiting reconcile runs next when there is more work than workers.
//!
//! kube-runtime's own scheduler, once its concurrency limit is reached, parks due work in a
//! `HashSet` and takes it back in hash order, so under load some tasks are served again and again
//! while others never run (see `tests/kube_runtime_scheduler.rs`). The operator therefore lets
//! kube-runtime start every due reconcile and admits them itself, in this order:
//! 1. [`Priority::Resume`]: a task with an operation journal, whose campaign the operator may
//!    have paused;
//! 2. [`Priority::Change`]: a spec change, a requested reconcile, a deletion, or the retry of a
//!    reconcile that failed transiently;
//! 3. [`Priority::FirstSight`]: a task this process has not reconciled yet;
//! 4. [`Priority::Resync`]: the drift check of a task that was in sync, last.
//!
//! Within a class, first come first served. Pure: no clock, no I/O.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use kube::ResourceExt;

use outbound_api::{OutboundTask, condition};

/// How urgently a waiting reconcile must run; lower runs first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// The task has an operation journal: a campaign the operator paused may be waiting.
    Resume,
    /// Its spec changed, a reconcile was requested, it is being deleted, or it is being retried.
    Change,
    /// Not yet reconciled by this process (the initial list after a start).
    FirstSight,
    /// A drift check of a task that was in sync.
    Resync,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Self::Resume, Self::Change, Self::FirstSight, Self::Resync];

    /// Label value in metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Resume => "resume",
            Self::Change => "change",
            Self::FirstSight => "first_sight",
            Self::Resync => "resync",
        }
    }

    /// The class of a reconcile of `task`, from the object as last seen in the cache.
    /// `seen_before`: this process has already admitted a reconcile of it.
    pub fn of(task: &OutboundTask, seen_before: bool) -> Priority {
        let status = task.status.clone().unwrap_or_default();
        if status.operation.is_some() {
            return Self::Resume;
        }
        let spec_changed = task.metadata.generation != status.observed_generation;
        let requested = task
            .annotations()
            .get(outbound_api::REQUESTED_AT)
            .is_some_and(|at| status.last_handled_reconcile_at.as_deref() != Some(at.as_str()));
        let retrying = status
            .conditions
            .iter()
            .any(|c| c.type_ == condition::RECONCILING && c.status == "True");
        if spec_changed || requested || retrying || task.metadata.deletion_timestamp.is_some() {
            Self::Change
        } else if !seen_before {
            Self::FirstSight
        } else {
            Self::Resync
        }
    }
}

/// Waiting work, ordered by priority and then by arrival. A key waits at most once.
#[derive(Debug)]
pub struct Backlog<K> {
    order: BTreeMap<(Priority, u64), K>,
    places: HashMap<K, (Priority, u64)>,
    arrivals: u64,
    counts: [usize; 4],
}

impl<K> Default for Backlog<K> {
    fn default() -> Self {
        Self {
            order: BTreeMap::new(),
            places: HashMap::new(),
            arrivals: 0,
            counts: [0; 4],
        }
    }
}

impl<K: Clone + Eq + Hash> Backlog<K> {
    /// Adds `key` at the back of its class. A key already waiting keeps its place in line and
    /// moves to the more urgent of the two classes.
    pub fn push(&mut self, key: K, priority: Priority) {
        if self.places.contains_key(&key) {
            self.promote(&key, priority);
            return;
        }
        self.arrivals += 1;
        let place = (priority, self.arrivals);
        self.order.insert(place, key.clone());
        self.places.insert(key, place);
        self.counts[priority as usize] += 1;
    }

    /// Moves a waiting `key` up to `priority` (never down), keeping its arrival order; whether
    /// it was waiting.
    pub fn promote(&mut self, key: &K, priority: Priority) -> bool {
        let Some(&(current, arrival)) = self.places.get(key) else {
            return false;
        };
        if priority < current {
            let key = self.order.remove(&(current, arrival)).expect("backlog index");
            self.order.insert((priority, arrival), key.clone());
            self.places.insert(key, (priority, arrival));
            self.counts[current as usize] -= 1;
            self.counts[priority as usize] += 1;
        }
        true
    }

    /// Takes the most urgent, longest-waiting key.
    pub fn pop(&mut self) -> Option<(K, Priority)> {
        let ((priority, _), key) = self.order.pop_first()?;
        self.places.remove(&key);
        self.counts[priority as usize] -= 1;
        Some((key, priority))
    }

    /// Takes `key` out of line (its waiter went away); its class, if it was waiting.
    pub fn remove(&mut self, key: &K) -> Option<Priority> {
        let place = self.places.remove(key)?;
        self.order.remove(&place);
        self.counts[place.0 as usize] -= 1;
        Some(place.0)
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// How many wait in each class, in the order of [`Priority::ALL`].
    pub fn counts(&self) -> [usize; 4] {
        self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(backlog: &mut Backlog<&'static str>) -> Vec<&'static str> {
        std::iter::from_fn(|| backlog.pop().map(|(k, _)| k)).collect()
    }

    #[test]
    fn classes_run_in_order_and_first_come_first_served_within_one() {
        let mut backlog = Backlog::default();
        backlog.push("resync-1", Priority::Resync);
        backlog.push("new-1", Priority::FirstSight);
        backlog.push("resync-2", Priority::Resync);
        backlog.push("change-1", Priority::Change);
        backlog.push("resume-1", Priority::Resume);
        backlog.push("new-2", Priority::FirstSight);
        backlog.push("resume-2", Priority::Resume);
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
        backlog.push("a", Priority::Resync);
        backlog.push("b", Priority::Change);
        backlog.push("c", Priority::Resync);
        assert!(backlog.promote(&"c", Priority::Change));
        assert!(backlog.promote(&"b", Priority::Resync), "still waiting, not moved down");
        backlog.push("a", Priority::Resync);
        assert!(!backlog.promote(&"z", Priority::Resume), "not waiting");
        assert_eq!(backlog.counts(), [0, 2, 0, 1]);
        assert_eq!(drain(&mut backlog), ["b", "c", "a"]);
    }

    #[test]
    fn every_key_is_served_once_however_many_arrive_after_it() {
        // The starvation seen with kube-runtime's pending set: keys served, then due again at
        // once, must not overtake a key that waited longer in the same class.
        let mut backlog = Backlog::default();
        for key in 0..100u32 {
            backlog.push(key, Priority::Resync);
        }
        let mut served = std::collections::HashSet::new();
        for _ in 0..100 {
            let (key, _) = backlog.pop().unwrap();
            assert!(served.insert(key), "{key} served twice before all were served once");
            backlog.push(key, Priority::Resync);
        }
        assert_eq!(served.len(), 100);
    }

    /// The counts are the `outbound_queue_waiting` gauge: every way out of line lowers them.
    #[test]
    fn counts_and_length_follow_every_push_promotion_pop_and_removal() {
        let mut backlog = Backlog::default();
        backlog.push("a", Priority::Resync);
        backlog.push("b", Priority::Resync);
        backlog.push("c", Priority::FirstSight);
        assert_eq!(backlog.counts(), [0, 0, 1, 2]);
        assert_eq!((backlog.len(), backlog.is_empty()), (3, false));
        backlog.push("b", Priority::Change);
        assert_eq!(backlog.counts(), [0, 1, 1, 1]);
        assert_eq!(backlog.pop(), Some(("b", Priority::Change)));
        assert_eq!(backlog.counts(), [0, 0, 1, 1]);
        assert_eq!(backlog.remove(&"a"), Some(Priority::Resync));
        assert_eq!(backlog.counts(), [0, 0, 1, 0]);
        assert_eq!(backlog.pop(), Some(("c", Priority::FirstSight)));
        assert_eq!(backlog.counts(), [0; 4]);
        assert_eq!((backlog.len(), backlog.is_empty()), (0, true));
    }

    /// The label values of the `priority` label (docs/reference/metrics.md).
    #[test]
    fn each_class_has_its_documented_label() {
        let names = Priority::ALL.map(Priority::name);
        assert_eq!(names, ["resume", "change", "first_sight", "resync"]);
    }

    #[test]
    fn removed_keys_leave_no_trace() {
        let mut backlog = Backlog::default();
        backlog.push("a", Priority::Change);
        backlog.push("b", Priority::Resync);
        assert_eq!(backlog.remove(&"a"), Some(Priority::Change));
        assert_eq!(backlog.remove(&"a"), None);
        assert_eq!(backlog.len(), 1);
        assert_eq!(drain(&mut backlog), ["b"]);
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
}
