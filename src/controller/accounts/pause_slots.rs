//! The places of `maxPaused`: which campaigns of an account the operator holds paused.
//!
//! A campaign counts as held from the moment its reconcile takes a place ([`PauseSlot`]), before
//! the journal is written, until the journal is gone from the task cache: the places this process
//! handed out, together with every task whose status journal says the operator paused it
//! (`operation.resumeAfter`), which covers the operations of a previous process after a restart
//! and never under-counts while the cache lags behind the status writes.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use kube::ResourceExt;
use kube::runtime::reflector::Store;
use tokio::sync::Notify;

use outbound_api::OutboundTask;
use outbound_platform::AccountKey;

/// How often a task waiting for a place looks again even without a release in this process (a
/// journal left by a previous process clears when its task is resumed, which may be by another
/// reconcile path than a place).
const RECHECK: Duration = Duration::from_secs(1);

/// The places handed out by this process, per account.
#[derive(Default)]
pub struct PauseSlots {
    held: Mutex<HashMap<AccountKey, HashSet<String>>>,
    released: Notify,
}

/// One campaign held paused; dropping it gives the place back.
pub struct PauseSlot<'a> {
    slots: &'a PauseSlots,
    account: AccountKey,
    task: String,
}

impl Drop for PauseSlot<'_> {
    fn drop(&mut self) {
        let mut held = self.slots.lock();
        if let Some(tasks) = held.get_mut(&self.account) {
            tasks.remove(&self.task);
            if tasks.is_empty() {
                held.remove(&self.account);
            }
        }
        drop(held);
        self.slots.released.notify_waiters();
    }
}

impl PauseSlots {
    /// A place for `task` (namespace/name) of `account` if it already holds one (its journal is in
    /// the cache) or fewer than `limit` campaigns of the account are held.
    pub fn try_take(
        &self,
        account: &AccountKey,
        task: &str,
        limit: u32,
        tasks: &Store<OutboundTask>,
    ) -> Option<PauseSlot<'_>> {
        let mut held = self.lock();
        let mine = held.entry(account.clone()).or_default();
        let mut holding = journaled(account, tasks);
        holding.extend(mine.iter().cloned());
        if !holding.contains(task) && holding.len() >= limit as usize {
            return None;
        }
        mine.insert(task.to_string());
        Some(PauseSlot {
            slots: self,
            account: account.clone(),
            task: task.to_string(),
        })
    }

    /// Waits for a place (see [`PauseSlots::try_take`]) while `still_wanted` holds: `None` once it
    /// does not (looked at on every release and every [`RECHECK`]), so that a person's change to
    /// the task ends the wait instead of an operation planned before it.
    pub async fn take(
        &self,
        account: &AccountKey,
        task: &str,
        limit: u32,
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
            if let Some(slot) = self.try_take(account, task, limit, tasks) {
                return Some(slot);
            }
            tokio::select! {
                _ = released => {}
                _ = tokio::time::sleep(RECHECK) => {}
            }
        }
    }

    /// Campaigns of `account` held paused now, as [`PauseSlots::try_take`] counts them.
    pub fn count(&self, account: &AccountKey, tasks: &Store<OutboundTask>) -> usize {
        let mut holding = journaled(account, tasks);
        if let Some(mine) = self.lock().get(account) {
            holding.extend(mine.iter().cloned());
        }
        holding.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<AccountKey, HashSet<String>>> {
        self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The tasks of `account` whose status journal says the operator paused them (namespace/name).
fn journaled(account: &AccountKey, tasks: &Store<OutboundTask>) -> HashSet<String> {
    tasks
        .state()
        .iter()
        .filter(|task| {
            task.namespace().as_deref() == Some(account.namespace.as_str())
                && task.spec.account_ref.name == account.name
                && task
                    .status
                    .as_ref()
                    .and_then(|s| s.operation.as_ref())
                    .is_some_and(|operation| operation.resume_after)
        })
        .map(|task| format!("{}/{}", account.namespace, task.name_any()))
        .collect()
}

#[cfg(test)]
#[path = "pause_slots_tests.rs"]
mod tests;
