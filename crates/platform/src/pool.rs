//! One `PlatformClient` per account, shared by every task of the account. Keyed by the account's
//! identity (namespace/name); rebuilt when the part of the spec that shapes the client changes.
//! The rate limiter is the platform user's (`budget`), not the client's nor the account's: the
//! accounts reaching one user (same base URL and user id) draw on one limiter at the tightest of
//! their rates. It outlives rebuilds and `remove` (a refused token drops the client), and a change
//! of `spec.rateLimit` re-rates it in place, so no rebuild hands out a fresh burst and the calls
//! still queued on an old client share the budget of the new one.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use super::account::AccountKey;
use super::budget::{Asked, PlatformUser, SharedBudget};
use super::client::PlatformClient;
use super::config::ClientConfig;
use super::error::ConfigError;
use super::fence::Fence;
use super::http::http_client_for;
use super::metrics::RemoteMetrics;
use super::ratelimit::AccountLimiter;
use outbound_api::OutboundAccountSpec;

/// The accounts' clients. All share one HTTP connection pool and one `RemoteMetrics` (each
/// records with its account's labels).
pub struct ClientPool {
    http: reqwest::Client,
    metrics: Arc<RemoteMetrics>,
    fence: Fence,
    accounts: Mutex<Accounts>,
}

#[derive(Default)]
struct Accounts {
    accounts: HashMap<AccountKey, Account>,
    /// One limiter per platform user, for the life of the process.
    limiters: HashMap<PlatformUser, Arc<AccountLimiter>>,
}

/// What the pool keeps of one account: its client (none after `remove`) and what it asks of its
/// platform user's budget.
struct Account {
    client: Option<Arc<PlatformClient>>,
    asked: Asked,
}

impl fmt::Debug for ClientPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<String> = self
            .lock()
            .accounts
            .iter()
            .filter(|(_, account)| account.client.is_some())
            .map(|(key, _)| key.to_string())
            .collect();
        f.debug_struct("ClientPool")
            .field("accounts", &keys)
            .finish_non_exhaustive()
    }
}

impl ClientPool {
    /// Clients whose writes are not fenced (no leader election, or no writes at all).
    pub fn new(metrics: Arc<RemoteMetrics>) -> Result<Self, ConfigError> {
        Self::fenced(metrics, Fence::unfenced(), None)
    }

    /// Clients whose every write asks `fence` first. `instance` (the replica's identity) goes
    /// into the User-Agent, so the platform's logs tell the replicas apart.
    pub fn fenced(metrics: Arc<RemoteMetrics>, fence: Fence, instance: Option<&str>) -> Result<Self, ConfigError> {
        Ok(ClientPool {
            http: http_client_for(instance)?,
            metrics,
            fence,
            accounts: Mutex::new(Accounts::default()),
        })
    }

    pub fn metrics(&self) -> &Arc<RemoteMetrics> {
        &self.metrics
    }

    /// The account's client: the cached one while the spec's client settings (base URL, user
    /// id, rate limit, endpoints, timeout, platform behaviour) are unchanged, else a new one that
    /// replaces it. Every client of a platform user draws on the user's limiter, re-rated in place
    /// to the tightest rate of the user's accounts whenever one of them changes. Callers holding
    /// the old client finish their calls on it, drawing on the same budget. A spec that does not
    /// validate leaves the cache untouched.
    pub fn client_for(&self, key: &AccountKey, spec: &OutboundAccountSpec) -> Result<Arc<PlatformClient>, ConfigError> {
        let config = ClientConfig::from_spec(spec)?;
        let asked = Asked::new(&config, spec);
        let mut inner = self.lock();
        let Accounts { accounts, limiters } = &mut *inner;
        let account = accounts.entry(key.clone()).or_insert_with(|| Account {
            client: None,
            asked: asked.clone(),
        });
        let left = std::mem::replace(&mut account.asked, asked.clone()).user;
        let client = account.client.clone();
        for user in [&left, &asked.user] {
            if let Some(budget) = SharedBudget::of(user, accounts.iter().map(|(k, a)| (k, &a.asked))) {
                limiters
                    .entry(user.clone())
                    .or_insert_with(|| Arc::new(AccountLimiter::new(&budget.rate)))
                    .rerate(&budget.rate);
            }
        }
        let limiter = limiters.get(&asked.user).expect("the user's limiter").clone();
        match client {
            Some(client) if client.config() == &config => return Ok(client),
            Some(_) => tracing::info!(account = %key, "account settings changed: platform client rebuilt"),
            None => {}
        }
        let client = Arc::new(PlatformClient::sharing(
            config,
            self.http.clone(),
            limiter,
            Arc::new(self.metrics.for_account(key)),
            self.fence.clone(),
        ));
        accounts.get_mut(key).expect("entry made above").client = Some(client.clone());
        Ok(client)
    }

    /// The budget `key` draws on: its platform user's, with the accounts sharing it and the
    /// settings that apply (`None` for an account the pool has not seen).
    pub fn budget_of(&self, key: &AccountKey) -> Option<SharedBudget> {
        let inner = self.lock();
        let user = &inner.accounts.get(key)?.asked.user;
        SharedBudget::of(user, inner.accounts.iter().map(|(k, a)| (k, &a.asked)))
    }

    /// The cached client of an account, if any.
    pub fn get(&self, key: &AccountKey) -> Option<Arc<PlatformClient>> {
        self.lock().accounts.get(key).and_then(|account| account.client.clone())
    }

    /// Drops an account's client (the next `client_for` builds a new one); its rate budget stays.
    pub fn remove(&self, key: &AccountKey) -> bool {
        self.lock()
            .accounts
            .get_mut(key)
            .and_then(|account| account.client.take())
            .is_some()
    }

    /// Accounts with a client.
    pub fn len(&self) -> usize {
        self.lock()
            .accounts
            .values()
            .filter(|account| account.client.is_some())
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Accounts> {
        // A panic while holding the lock cannot leave the map half-updated: keep going.
        self.accounts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::tests::spec;

    #[test]
    fn same_client_per_account_until_its_spec_changes() {
        let pool = ClientPool::new(Arc::new(RemoteMetrics::new())).unwrap();
        let a = AccountKey::new("ns", "a");
        let b = AccountKey::new("ns", "b");
        let s = spec("http://127.0.0.1:1");
        let first = pool.client_for(&a, &s).unwrap();
        assert!(Arc::ptr_eq(&first, &pool.client_for(&a, &s).unwrap()));
        assert!(Arc::ptr_eq(first.limiter(), pool.client_for(&a, &s).unwrap().limiter()));
        assert!(!Arc::ptr_eq(&first, &pool.client_for(&b, &s).unwrap()));

        // The token Secret does not shape the client; the time zone does (create lookups).
        let mut same = s.clone();
        same.token_secret_ref.name = "other".into();
        assert!(Arc::ptr_eq(&first, &pool.client_for(&a, &same).unwrap()));
        let mut zoned = s.clone();
        zoned.time_zone = "UTC".into();
        assert!(!Arc::ptr_eq(&first, &pool.client_for(&a, &zoned).unwrap()));

        let mut changed = s.clone();
        changed.rate_limit.requests_per_second = 3;
        let rebuilt = pool.client_for(&a, &changed).unwrap();
        assert!(!Arc::ptr_eq(&first, &rebuilt));
        assert_eq!(rebuilt.limiter().rate().requests_per_second, 3);
        let mut changed = changed.clone();
        changed.endpoints.resume = "/x/{user_id}/go/{task_id}".into();
        assert!(!Arc::ptr_eq(&rebuilt, &pool.client_for(&a, &changed).unwrap()));

        let mut broken = s.clone();
        broken.base_url = "nope".into();
        assert!(pool.client_for(&a, &broken).is_err());
        assert_eq!(pool.len(), 2);
        assert!(pool.remove(&b));
        assert!(pool.get(&b).is_none());
        assert!(!format!("{pool:?}").is_empty());
    }

    /// Issue 23: two account objects for one platform user (same base URL and user id) draw on
    /// one limiter at the tighter rate; raising one account's rate does not loosen it.
    #[test]
    fn accounts_of_one_platform_user_share_one_limiter_at_the_tightest_rate() {
        let pool = ClientPool::new(Arc::new(RemoteMetrics::new())).unwrap();
        let (a, b, c) = (
            AccountKey::new("team-a", "main"),
            AccountKey::new("team-b", "main"),
            AccountKey::new("team-c", "main"),
        );
        let mut fast = spec("http://127.0.0.1:1/");
        fast.rate_limit.requests_per_second = 20;
        let mut slow = spec("http://127.0.0.1:1");
        slow.rate_limit.requests_per_second = 5;
        slow.max_paused = Some(7);
        let on_a = pool.client_for(&a, &fast).unwrap();
        assert_eq!(on_a.limiter().rate().requests_per_second, 20);
        let on_b = pool.client_for(&b, &slow).unwrap();
        assert!(
            Arc::ptr_eq(on_a.limiter(), on_b.limiter()),
            "one limiter per platform user"
        );
        assert_eq!(on_a.limiter().rate().requests_per_second, 5, "the tighter rate applies");
        let budget = pool.budget_of(&a).unwrap();
        assert!(budget.is_shared());
        assert_eq!((budget.rate.requests_per_second, budget.max_paused), (5, 7));
        assert_eq!(pool.budget_of(&b), Some(budget));

        let mut elsewhere = fast.clone();
        elsewhere.user_id = "6832d184-dd53-42a0-8ace-0bf8d660f4cc".into();
        let on_c = pool.client_for(&c, &elsewhere).unwrap();
        assert!(
            !Arc::ptr_eq(on_a.limiter(), on_c.limiter()),
            "another user, another budget"
        );
        assert!(!pool.budget_of(&c).unwrap().is_shared());

        // b moves to the other user: a's budget is its own again.
        pool.client_for(&b, &{
            let mut moved = slow.clone();
            moved.user_id = elsewhere.user_id.clone();
            moved
        })
        .unwrap();
        assert_eq!(on_a.limiter().rate().requests_per_second, 20);
        assert_eq!(on_c.limiter().rate().requests_per_second, 5);
    }

    /// A 401 drops the account's client (`remove`); the rebuilt client must not come with a
    /// fresh burst: the budget is the account's, whatever token or client it uses.
    #[test]
    fn rate_budget_survives_a_rebuilt_client() {
        let pool = ClientPool::new(Arc::new(RemoteMetrics::new())).unwrap();
        let key = AccountKey::new("ns", "a");
        let mut s = spec("http://127.0.0.1:1");
        s.rate_limit.requests_per_second = 1;
        s.rate_limit.burst = 2;
        let first = pool.client_for(&key, &s).unwrap();
        assert!(first.limiter().try_acquire() && first.limiter().try_acquire());
        assert!(!first.limiter().try_acquire(), "the burst is spent");

        assert!(pool.remove(&key));
        let rebuilt = pool.client_for(&key, &s).unwrap();
        assert!(
            !rebuilt.limiter().try_acquire(),
            "a dropped client's spent budget came back"
        );

        // Another client setting (not the rate) rebuilds the client, still on the same budget.
        s.endpoints.resume = "/x/{user_id}/go/{task_id}".into();
        let changed = pool.client_for(&key, &s).unwrap();
        assert!(!Arc::ptr_eq(&rebuilt, &changed));
        assert!(Arc::ptr_eq(rebuilt.limiter(), changed.limiter()));
    }

    /// Review D5: `requestsPerSecond` lowered from 20 to 10 while calls queue on the account.
    /// The calls queued before the change (holding the old client) and those of the rebuilt
    /// client share one budget, at the new rate from the change on: no second that holds a call
    /// sent after the change holds more than 10, the calls sent before it included.
    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_lowered_rate_holds_for_calls_queued_before_the_change() {
        use crate::ratelimit::CallClass;
        use tokio::time::Instant;

        let pool = ClientPool::new(Arc::new(RemoteMetrics::new())).unwrap();
        let key = AccountKey::new("ns", "a");
        let mut s = spec("http://127.0.0.1:1");
        s.rate_limit.requests_per_second = 20;
        let start = Instant::now();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let send = |client: Arc<PlatformClient>, calls: usize| {
            let sent = sent.clone();
            tokio::spawn(async move {
                for _ in 0..calls {
                    let limiter = client.limiter().clone();
                    let sent = sent.clone();
                    tokio::spawn(async move {
                        limiter.acquire(CallClass::Starting).await;
                        sent.lock().unwrap().push(Instant::now() - start);
                    });
                    tokio::task::yield_now().await;
                }
            })
        };
        send(pool.client_for(&key, &s).unwrap(), 100).await.unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let changed_at = Instant::now() - start;
        s.rate_limit.requests_per_second = 10;
        send(pool.client_for(&key, &s).unwrap(), 20).await.unwrap();
        tokio::time::sleep(Duration::from_secs(20)).await;

        let mut sent = sent.lock().unwrap().clone();
        sent.sort();
        assert_eq!(sent.len(), 120, "every call was sent");
        assert!(
            sent.iter().filter(|at| **at < changed_at).count() >= 30,
            "calls went at 20/s before"
        );
        let busiest = sent
            .iter()
            .filter(|at| **at >= changed_at)
            .map(|end| {
                sent.iter()
                    .filter(|at| **at <= *end && *end - **at < Duration::from_secs(1))
                    .count()
            })
            .max()
            .unwrap();
        assert!(
            busiest <= 10,
            "{busiest} calls within one second after the rate was lowered to 10"
        );
    }
}
