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
//! Within a class, the accounts with work waiting take turns (round robin), and each account's
//! work is first come first served: one account's backlog of hundreds of changes delays another
//! account's change by at most one turn, not by the whole backlog. The turns are plain round
//! robin, not weighted by each account's budget: an account with the higher budget gets no more
//! turns, but a turn costs it less waiting (the admission skips an account that has as many
//! reconciles waiting for its budget as it may, see `WorkQueue`). Pure: no clock, no I/O.

use std::collections::{BTreeMap, HashMap, VecDeque};
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

/// Waiting work, ordered by priority; within a class, the groups (accounts) that have work
/// waiting take turns, and each group's keys come first come first served. A key waits at most
/// once.
#[derive(Debug)]
pub struct Backlog<K, G> {
    classes: [Class<K, G>; 4],
    places: HashMap<K, Place<G>>,
    arrivals: u64,
}

/// Where a waiting key stands: its class, its group and its arrival.
#[derive(Clone, Debug)]
struct Place<G> {
    priority: Priority,
    group: G,
    arrival: u64,
}

/// One priority class: each group's keys by arrival, and the groups in the order of their turns.
#[derive(Debug)]
struct Class<K, G> {
    groups: HashMap<G, BTreeMap<u64, K>>,
    turns: VecDeque<G>,
    len: usize,
}

impl<K, G> Default for Class<K, G> {
    fn default() -> Self {
        Self {
            groups: HashMap::new(),
            turns: VecDeque::new(),
            len: 0,
        }
    }
}

impl<K: Clone, G: Clone + Eq + Hash> Class<K, G> {
    fn insert(&mut self, group: &G, arrival: u64, key: K) {
        let keys = self.groups.entry(group.clone()).or_insert_with(|| {
            // A group with nothing waiting joins at the back of the turns.
            self.turns.push_back(group.clone());
            BTreeMap::new()
        });
        keys.insert(arrival, key);
        self.len += 1;
    }

    fn remove(&mut self, group: &G, arrival: u64) -> Option<K> {
        let keys = self.groups.get_mut(group)?;
        let key = keys.remove(&arrival)?;
        self.len -= 1;
        if keys.is_empty() {
            self.groups.remove(group);
            self.turns.retain(|g| g != group);
        }
        Some(key)
    }

    /// The longest-waiting key of the first group in turn that `eligible` accepts; that group
    /// goes to the back of the turns, the groups passed over keep their place at the front.
    fn pop_where(&mut self, eligible: &impl Fn(&G) -> bool) -> Option<(G, u64, K)> {
        let turn = self.turns.iter().position(|g| eligible(g))?;
        let group = self.turns.remove(turn).expect("turn index");
        let keys = self.groups.get_mut(&group).expect("a group in turn has keys");
        let (arrival, key) = keys.pop_first().expect("a group in turn has keys");
        self.len -= 1;
        if keys.is_empty() {
            self.groups.remove(&group);
        } else {
            self.turns.push_back(group.clone());
        }
        Some((group, arrival, key))
    }
}

impl<K, G> Default for Backlog<K, G> {
    fn default() -> Self {
        Self {
            classes: Default::default(),
            places: HashMap::new(),
            arrivals: 0,
        }
    }
}

impl<K: Clone + Eq + Hash, G: Clone + Eq + Hash> Backlog<K, G> {
    /// Adds `key` of `group` at the back of its group's line in its class. A key already waiting
    /// keeps its place in line and moves to the more urgent of the two classes.
    pub fn push(&mut self, key: K, group: G, priority: Priority) {
        if self.places.contains_key(&key) {
            self.promote(&key, priority);
            return;
        }
        self.arrivals += 1;
        let arrival = self.arrivals;
        self.classes[priority as usize].insert(&group, arrival, key.clone());
        self.places.insert(
            key,
            Place {
                priority,
                group,
                arrival,
            },
        );
    }

    /// Moves a waiting `key` up to `priority` (never down), keeping its arrival order; whether
    /// it was waiting.
    pub fn promote(&mut self, key: &K, priority: Priority) -> bool {
        let Some(place) = self.places.get_mut(key) else {
            return false;
        };
        if priority < place.priority {
            let moved = self.classes[place.priority as usize]
                .remove(&place.group, place.arrival)
                .expect("backlog index");
            self.classes[priority as usize].insert(&place.group, place.arrival, moved);
            place.priority = priority;
        }
        true
    }

    /// Takes the most urgent key, serving the groups of its class in turn.
    pub fn pop(&mut self) -> Option<(K, Priority)> {
        self.pop_where(|_| true)
    }

    /// Like [`Backlog::pop`], among the groups `eligible` accepts only (the others keep their
    /// turn for when they are eligible again).
    pub fn pop_where(&mut self, eligible: impl Fn(&G) -> bool) -> Option<(K, Priority)> {
        for priority in Priority::ALL {
            if let Some((_, _, key)) = self.classes[priority as usize].pop_where(&eligible) {
                self.places.remove(&key);
                return Some((key, priority));
            }
        }
        None
    }

    /// Takes `key` out of line (its waiter went away); its class, if it was waiting.
    pub fn remove(&mut self, key: &K) -> Option<Priority> {
        let place = self.places.remove(key)?;
        self.classes[place.priority as usize].remove(&place.group, place.arrival);
        Some(place.priority)
    }

    pub fn len(&self) -> usize {
        self.places.len()
    }

    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    /// How many wait in each class, in the order of [`Priority::ALL`].
    pub fn counts(&self) -> [usize; 4] {
        self.classes.each_ref().map(|class| class.len)
    }
}

#[cfg(test)]
mod tests {
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
        assert_eq!(Priority::of(&task(retrying, none), true), Priority::Change);
    }
}
