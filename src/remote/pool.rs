//! One `PlatformClient` per account, shared by every task of the account so that they draw on
//! one rate limiter. Keyed by the account's identity (namespace/name); rebuilt (fresh limiter)
//! when the part of the spec that shapes the client changes.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use super::client::PlatformClient;
use super::config::ClientConfig;
use super::error::ConfigError;
use super::http::http_client;
use super::metrics::RemoteMetrics;
use crate::api::OutboundAccountSpec;

/// Identity of an OutboundAccount.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountKey {
    pub namespace: String,
    pub name: String,
}

impl AccountKey {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        AccountKey {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// The accounts' clients. All share one HTTP connection pool and one `RemoteMetrics` (each
/// records with its account's labels).
pub struct ClientPool {
    http: reqwest::Client,
    metrics: Arc<RemoteMetrics>,
    clients: Mutex<HashMap<AccountKey, Arc<PlatformClient>>>,
}

impl fmt::Debug for ClientPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<String> = self.lock().keys().map(ToString::to_string).collect();
        f.debug_struct("ClientPool")
            .field("accounts", &keys)
            .finish_non_exhaustive()
    }
}

impl ClientPool {
    pub fn new(metrics: Arc<RemoteMetrics>) -> Result<Self, ConfigError> {
        Ok(ClientPool {
            http: http_client()?,
            metrics,
            clients: Mutex::new(HashMap::new()),
        })
    }

    pub fn metrics(&self) -> &Arc<RemoteMetrics> {
        &self.metrics
    }

    /// The account's client: the cached one while the spec's client settings (base URL, user
    /// id, rate limit, endpoints, timeout, platform behaviour) are unchanged, else a new one
    /// (with a new, full rate-limit bucket) that replaces it. Callers holding the old client
    /// finish their calls on it. A spec that does not validate leaves the cache untouched.
    pub fn client_for(&self, key: &AccountKey, spec: &OutboundAccountSpec) -> Result<Arc<PlatformClient>, ConfigError> {
        let config = ClientConfig::from_spec(spec)?;
        let mut clients = self.lock();
        if let Some(client) = clients.get(key)
            && client.config() == &config
        {
            return Ok(client.clone());
        }
        let client = Arc::new(PlatformClient::with_http(
            config,
            self.http.clone(),
            Arc::new(self.metrics.for_account(key)),
        ));
        if clients.insert(key.clone(), client.clone()).is_some() {
            tracing::info!(account = %key, "account settings changed: platform client rebuilt");
        }
        Ok(client)
    }

    /// The cached client of an account, if any.
    pub fn get(&self, key: &AccountKey) -> Option<Arc<PlatformClient>> {
        self.lock().get(key).cloned()
    }

    /// Forgets an account (when the OutboundAccount is deleted).
    pub fn remove(&self, key: &AccountKey) -> bool {
        self.lock().remove(key).is_some()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<AccountKey, Arc<PlatformClient>>> {
        // A panic while holding the lock cannot leave the map half-updated: keep going.
        self.clients.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::config::tests::spec;

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

        // The token Secret and the time zone do not shape the client.
        let mut same = s.clone();
        same.token_secret_ref.name = "other".into();
        same.time_zone = "UTC".into();
        assert!(Arc::ptr_eq(&first, &pool.client_for(&a, &same).unwrap()));

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
}
