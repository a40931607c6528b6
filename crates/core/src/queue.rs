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
        let turn = self.turns.iter().position(eligible)?;
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

    /// Whether a key of another group than `group` waits, in any class.
    pub fn waits_besides(&self, group: &G) -> bool {
        self.classes.iter().any(|class| class.groups.keys().any(|g| g != group))
    }

    /// How many wait in each class, in the order of [`Priority::ALL`].
    pub fn counts(&self) -> [usize; 4] {
        self.classes.each_ref().map(|class| class.len)
    }
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
