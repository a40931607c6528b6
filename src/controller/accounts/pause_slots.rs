//! The places of `maxPaused`: which campaigns of a platform user the operator holds paused. The
//! accounts reaching one platform user share its places, at the lowest `maxPaused` among them
//! ([`SharedBudget`]).
//!
//! A campaign counts as held from the moment its reconcile takes a place ([`PauseSlot`]), before
//! the journal is written, until the journal is gone from the task cache: the places this process
//! handed out, together with every task whose status journal says the operator paused it
//! (`operation.resumeAfter`), which covers the operations of a previous process after a restart
//! and never under-counts while the cache lags behind the status writes.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use kube::ResourceExt;
use kube::runtime::reflector::Store;
use tokio::sync::Notify;

use outbound_api::OutboundTask;
use outbound_platform::{AccountKey, PlatformUser, SharedBudget};

/// How often a task waiting for a place looks again even without a release in this process (a
/// journal left by a previous process clears when its task is resumed, which may be by another
/// reconcile path than a place).
const RECHECK: Duration = Duration::from_secs(1);

/// The places handed out by this process, per platform user.
#[derive(Default)]
pub struct PauseSlots {
    held: Mutex<HashMap<PlatformUser, HashSet<String>>>,
    released: Notify,
}

/// One campaign held paused; dropping it gives the place back.
pub struct PauseSlot<'a> {
    slots: &'a PauseSlots,
    user: PlatformUser,
    task: String,
}

impl Drop for PauseSlot<'_> {
    fn drop(&mut self) {
        let mut held = self.slots.lock();
        if let Some(tasks) = held.get_mut(&self.user) {
            tasks.remove(&self.task);
            if tasks.is_empty() {
                held.remove(&self.user);
            }
        }
        drop(held);
        self.slots.released.notify_waiters();
    }
}

impl PauseSlots {
    /// A place for `task` (namespace/name) drawing on `budget` if it already holds one (its
    /// journal is in the cache) or fewer than `budget.max_paused` campaigns of the budget's
    /// accounts are held.
    pub fn try_take(&self, budget: &SharedBudget, task: &str, tasks: &Store<OutboundTask>) -> Option<PauseSlot<'_>> {
        // The cache is scanned before the lock is taken (review D11: the scan is O(tasks), and
        // every waiter runs it on every release). Counting from a scan a moment old is safe: a
        // place is given back only after the status that clears its journal is written, so a
        // campaign missing from both the scan and `mine` is no longer paused.
        let mut holding = journaled(&budget.accounts, tasks);
        let mut held = self.lock();
        let mine = held.entry(budget.user.clone()).or_default();
        holding.extend(mine.iter().cloned());
        if !holding.contains(task) && holding.len() >= budget.max_paused as usize {
            return None;
        }
        mine.insert(task.to_string());
        Some(PauseSlot {
            slots: self,
            user: budget.user.clone(),
            task: task.to_string(),
        })
    }

    /// Waits for a place (see [`PauseSlots::try_take`]) while `still_wanted` holds: `None` once it
    /// does not (looked at on every release and every [`RECHECK`]), so that a person's change to
    /// the task ends the wait instead of an operation planned before it.
    pub async fn take(
        &self,
        budget: &SharedBudget,
        task: &str,
        tasks: &Store<OutboundTask>,
        still_wanted: impl Fn() -> bool,
    ) -> Option<PauseSlot<'_>> {
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            if !still_wanted() {
                return None;
            }
            if let Some(slot) = self.try_take(budget, task, tasks) {
                return Some(slot);
            }
            tokio::select! {
                _ = released => {}
                _ = tokio::time::sleep(RECHECK) => {}
            }
        }
    }

    /// Campaigns of `budget` held paused now, as [`PauseSlots::try_take`] counts them.
    pub fn count(&self, budget: &SharedBudget, tasks: &Store<OutboundTask>) -> usize {
        let mut holding = journaled(&budget.accounts, tasks);
        if let Some(mine) = self.lock().get(&budget.user) {
            holding.extend(mine.iter().cloned());
        }
        holding.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PlatformUser, HashSet<String>>> {
        self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The tasks of `accounts` whose status journal says the operator paused them (namespace/name).
fn journaled(accounts: &BTreeSet<AccountKey>, tasks: &Store<OutboundTask>) -> HashSet<String> {
    tasks
        .state()
        .iter()
        .filter(|task| {
            task.status
                .as_ref()
                .and_then(|s| s.operation.as_ref())
                .is_some_and(|operation| operation.resume_after)
        })
        .filter_map(|task| {
            let namespace = task.namespace()?;
            let account = AccountKey::new(namespace.clone(), task.spec.account_ref.name.clone());
            accounts
                .contains(&account)
                .then(|| format!("{namespace}/{}", task.name_any()))
        })
        .collect()
}

#[cfg(test)]
#[path = "pause_slots_tests.rs"]
mod tests;
