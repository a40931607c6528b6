//! What every reconcile shares: the Kubernetes client, the platform clients (one per account,
//! one rate limiter each), the token cache, the account cache and metrics.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::Client;
use kube::runtime::reflector::Store;
use tokio::sync::watch;

use super::accounts::credentials::AccountReporter;
use super::accounts::pause_slots::PauseSlots;
use super::accounts::settle_times::SettleTimes;
use super::accounts::tokens::TokenCache;
use super::args::Settings;
use super::intake::queue::WorkQueue;
use super::intake::waiting::Waiting;
use super::metrics::controller::ControllerMetrics;
use super::writes::events::EventRecorder;
use outbound_api::{OutboundAccount, OutboundTask};
use outbound_platform::ClientPool;

/// The shared pieces a Context is built from.
pub struct Parts {
    pub client: Client,
    pub metrics: Arc<ControllerMetrics>,
    pub pool: ClientPool,
    pub tokens: Arc<TokenCache>,
    pub accounts: Store<OutboundAccount>,
    pub accounts_listed: watch::Receiver<bool>,
    pub tasks: Store<OutboundTask>,
    pub queue: Arc<WorkQueue>,
}

pub struct Context {
    pub client: Client,
    pub settings: Settings,
    pub metrics: Arc<ControllerMetrics>,
    pub pool: ClientPool,
    pub tokens: Arc<TokenCache>,
    /// Publishes the tasks' Events, as this process.
    pub events: EventRecorder,
    pub accounts: Store<OutboundAccount>,
    /// The task cache: a reconcile that waited for its worker acts on the latest object.
    pub tasks: Store<OutboundTask>,
    /// Which due reconcile gets the next worker.
    pub queue: Arc<WorkQueue>,
    /// The tasks standing aside for the holder of their remote task, woken by its watch events.
    pub waiting: Arc<Waiting>,
    /// Campaigns held paused per account (`maxPaused`).
    pub pauses: PauseSlots,
    /// How long each account's pauses take to take effect, as learned.
    pub settle: SettleTimes,
    /// True once the account cache has listed. (A watch channel rather than
    /// `Store::wait_until_ready`, whose concurrent waiters were seen not to be woken.)
    accounts_listed: watch::Receiver<bool>,
    /// Writes the accounts' status (Ready: the token was accepted).
    pub account_reports: AccountReporter,
    /// Consecutive failed reconciles per task (namespace/name), for exponential backoff.
    failures: Mutex<HashMap<String, u32>>,
    /// The failure last logged at WARN per task, and when: the same one is repeated at most
    /// every [`WARN_EVERY`].
    warned: Mutex<HashMap<String, (String, Instant)>>,
}

/// How often the same failure of one task is logged again at WARN.
const WARN_EVERY: Duration = Duration::from_secs(300);

impl Context {
    pub fn new(parts: Parts, settings: Settings, reporter_instance: Option<String>) -> Self {
        Context {
            events: EventRecorder::new(
                parts.client.clone(),
                reporter_instance.unwrap_or_else(super::leader::default_identity),
            ),
            account_reports: AccountReporter::new(parts.client.clone(), parts.accounts.clone()),
            client: parts.client,
            settings,
            metrics: parts.metrics,
            pool: parts.pool,
            tokens: parts.tokens,
            accounts: parts.accounts,
            accounts_listed: parts.accounts_listed,
            tasks: parts.tasks,
            queue: parts.queue,
            waiting: Default::default(),
            pauses: Default::default(),
            settle: Default::default(),
            failures: Mutex::new(HashMap::new()),
            warned: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `task` is still this process's to act on: in its cache, so neither gone for good
    /// nor moved to another shard by a label change (`--watch-label-selector`). Checked before
    /// every platform write and status write of a reconcile, so that once another shard can
    /// see a task, this one sends nothing more for it.
    pub fn still_ours(&self, task: &OutboundTask) -> bool {
        self.tasks
            .get(&kube::runtime::reflector::ObjectRef::from_obj(task))
            .is_some()
    }

    pub async fn accounts_listed(&self) {
        let mut listed = self.accounts_listed.clone();
        let _ = listed.wait_for(|done| *done).await;
    }

    /// The delay before retrying a task that failed `n` times in a row: 5 s doubling, capped.
    pub fn backoff_after_failure(&self, key: &str) -> Duration {
        let mut failures = self.failures.lock().expect("backoff lock");
        let count = failures.entry(key.to_string()).or_insert(0);
        *count = count.saturating_add(1);
        let exponent = (*count - 1).min(16);
        Duration::from_secs(5)
            .saturating_mul(1 << exponent)
            .min(self.settings.max_backoff)
    }

    pub fn succeeded(&self, key: &str) {
        self.failures.lock().expect("backoff lock").remove(key);
        self.warned.lock().expect("warn lock").remove(key);
    }

    /// Whether task `key`'s failure `message` is worth a WARN line now: a new failure is, and the
    /// same one again once `WARN_EVERY` has passed.
    pub fn worth_warning(&self, key: &str, message: &str) -> bool {
        let mut warned = self.warned.lock().expect("warn lock");
        let now = Instant::now();
        match warned.get(key) {
            Some((last, at)) if last == message && now.duration_since(*at) < WARN_EVERY => false,
            _ => {
                warned.insert(key.to_string(), (message.to_string(), now));
                true
            }
        }
    }
}
