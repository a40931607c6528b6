//! What each account's pauses have taught: how long a pause takes to take effect (the pure
//! [`PauseSettle`] of each account, shared by all its operations).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use outbound_core::planner::PauseSettle;
use outbound_platform::AccountKey;

/// The learned time each account's pauses take to take effect (see [`PauseSettle`]).
#[derive(Default)]
pub struct SettleTimes(Mutex<HashMap<AccountKey, PauseSettle>>);

impl SettleTimes {
    pub fn wait(&self, account: &AccountKey) -> Duration {
        self.lock().get(account).map_or(Duration::ZERO, PauseSettle::wait)
    }

    pub fn learn(&self, account: &AccountKey, what: impl FnOnce(&mut PauseSettle)) {
        what(self.lock().entry(account.clone()).or_default());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<AccountKey, PauseSettle>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
