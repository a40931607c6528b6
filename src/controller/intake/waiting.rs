//! The tasks that stand aside for the holder of their remote task (`reconcile::claim`), by the
//! holder they wait for: a watch event of the holder (its deletion, its relabelling out of this
//! shard, a spec change that may name another task) triggers them too, so they take over at once
//! rather than at their next resync. In memory only: after a restart, each task's first reconcile
//! decides again and records its wait.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct Waiting {
    /// Waiter `namespace/name` -> holder `namespace/name`.
    holders: Mutex<HashMap<String, String>>,
}

impl Waiting {
    /// `waiter` stands aside for `holder`.
    pub fn wait(&self, waiter: &str, holder: &str) {
        self.lock().insert(waiter.to_owned(), holder.to_owned());
    }

    /// `waiter` waits for no one (it holds its remote task, or was deleted).
    pub fn done(&self, waiter: &str) {
        self.lock().remove(waiter);
    }

    /// The tasks waiting for any of `holders`.
    pub fn waiters_of(&self, holders: &[String]) -> Vec<String> {
        let waiting = self.lock();
        if waiting.is_empty() {
            return Vec::new();
        }
        waiting
            .iter()
            .filter(|(_, holder)| holders.contains(holder))
            .map(|(waiter, _)| waiter.clone())
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.holders.lock().expect("waiting lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiter_is_named_by_its_holder_until_done() {
        let waiting = Waiting::default();
        waiting.wait("ns/b", "ns/a");
        waiting.wait("other/c", "ns/a");
        waiting.wait("ns/d", "ns/b");
        let mut of_a = waiting.waiters_of(&["ns/a".into()]);
        of_a.sort();
        assert_eq!(of_a, ["ns/b", "other/c"]);
        waiting.wait("ns/b", "ns/x"); // decided again: another holder now
        waiting.done("other/c");
        assert!(waiting.waiters_of(&["ns/a".into()]).is_empty());
        assert_eq!(waiting.waiters_of(&["ns/x".into(), "ns/b".into()]).len(), 2);
    }
}
