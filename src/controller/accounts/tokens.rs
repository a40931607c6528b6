//! Reading the account's token from its Secret. The Secret is read again whenever it changed
//! (the Secret watch reports each new resourceVersion), so rotation needs no restart, while an
//! unchanged Secret costs no apiserver call per reconcile.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::{Client, ResourceExt};

use outbound_api::SecretKeyRef;
use outbound_platform::Token;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("Secret {namespace}/{name} not found")]
    SecretNotFound { namespace: String, name: String },
    #[error("Secret {namespace}/{name} has no key {key:?}")]
    KeyMissing {
        namespace: String,
        name: String,
        key: String,
    },
    #[error("Secret {namespace}/{name}: key {key:?} is not valid UTF-8 text")]
    NotText {
        namespace: String,
        name: String,
        key: String,
    },
    #[error("reading Secret {namespace}/{name}: {source}")]
    Kube {
        namespace: String,
        name: String,
        source: kube::Error,
    },
}

#[derive(Default)]
struct Entry {
    /// resourceVersion of the Secret the cached tokens came from.
    fetched: Option<String>,
    /// Newest resourceVersion the watch has reported.
    latest: Option<String>,
    /// What each key asked for held in that version: only the token, never the rest of the
    /// Secret's data (which may hold other credentials).
    tokens: BTreeMap<String, Result<Token, Unusable>>,
}

/// Why a Secret's key holds no token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unusable {
    Missing,
    NotText,
}

/// The token under `key`, trimmed (a Secret written with a trailing newline is common).
fn token_under(data: Option<BTreeMap<String, ByteString>>, key: &str) -> Result<Token, Unusable> {
    let value = data.and_then(|mut data| data.remove(key)).ok_or(Unusable::Missing)?;
    let text = String::from_utf8(value.0).map_err(|_| Unusable::NotText)?;
    Ok(Token::new(text.trim().to_string()))
}

#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<(String, String), Entry>>,
    /// Held while a Secret is fetched, so that the reconciles of many tasks starting together
    /// fetch it once (fetches are rare: only when the Secret changed).
    fetching: tokio::sync::Mutex<()>,
}

impl TokenCache {
    /// Called by the Secret watch for every version it sees.
    pub fn saw_version(&self, namespace: &str, name: &str, version: Option<String>) {
        let mut entries = self.entries.lock().expect("token cache lock");
        entries
            .entry((namespace.to_string(), name.to_string()))
            .or_default()
            .latest = version;
    }

    /// Called for every Secret a list names (at start, and again after the watch fell behind):
    /// only a Secret already cached is concerned (one never fetched is read fresh when a task
    /// needs it), so the cache does not grow with every Secret of the namespaces watched.
    pub fn saw_listed_version(&self, namespace: &str, name: &str, version: Option<String>) {
        let mut entries = self.entries.lock().expect("token cache lock");
        if let Some(entry) = entries.get_mut(&(namespace.to_string(), name.to_string())) {
            entry.latest = version;
        }
    }

    /// Forgets a Secret, e.g. after the platform refused its token.
    pub fn invalidate(&self, namespace: &str, name: &str) {
        self.entries
            .lock()
            .expect("token cache lock")
            .remove(&(namespace.to_string(), name.to_string()));
    }

    pub async fn token(&self, client: &Client, namespace: &str, secret: &SecretKeyRef) -> Result<Token, TokenError> {
        let key = (namespace.to_string(), secret.name.clone());
        let cached = || {
            let entries = self.entries.lock().expect("token cache lock");
            entries
                .get(&key)
                .filter(|e| e.fetched.is_some() && e.fetched == e.latest)
                .and_then(|e| e.tokens.get(&secret.key).cloned())
        };
        let mut fetch_guard = None;
        if cached().is_none() {
            fetch_guard = Some(self.fetching.lock().await);
        }
        let found = match cached() {
            Some(found) => found,
            None => {
                let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
                let secret_object = api.get_opt(&secret.name).await.map_err(|source| TokenError::Kube {
                    namespace: namespace.into(),
                    name: secret.name.clone(),
                    source,
                })?;
                let Some(secret_object) = secret_object else {
                    self.invalidate(namespace, &secret.name);
                    return Err(TokenError::SecretNotFound {
                        namespace: namespace.into(),
                        name: secret.name.clone(),
                    });
                };
                let version = secret_object.resource_version();
                let found = token_under(secret_object.data, &secret.key);
                let mut entries = self.entries.lock().expect("token cache lock");
                let entry = entries.entry(key).or_default();
                if entry.fetched != version {
                    entry.tokens.clear();
                }
                entry.fetched = version.clone();
                if entry.latest.is_none() {
                    entry.latest = version;
                }
                entry.tokens.insert(secret.key.clone(), found.clone());
                drop(entries);
                drop(fetch_guard.take());
                found
            }
        };
        found.map_err(|unusable| {
            let (namespace, name, key) = (namespace.into(), secret.name.clone(), secret.key.clone());
            match unusable {
                Unusable::Missing => TokenError::KeyMissing { namespace, name, key },
                Unusable::NotText => TokenError::NotText { namespace, name, key },
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use kube::api::ObjectMeta;

    use super::*;

    impl TokenCache {
        /// The keys of a Secret whose values the cache holds.
        fn held_keys(&self, namespace: &str, name: &str) -> Vec<String> {
            let entries = self.entries.lock().unwrap();
            let entry = entries.get(&(namespace.to_string(), name.to_string()));
            entry.map(|e| e.tokens.keys().cloned().collect()).unwrap_or_default()
        }
    }

    /// A kube client whose API server answers every request with `secret`.
    fn serving(secret: Secret) -> Client {
        let body = serde_json::to_vec(&secret).unwrap();
        let service = tower::service_fn(move |_request: http::Request<kube::client::Body>| {
            let body = body.clone();
            async move { Ok::<_, std::convert::Infallible>(http::Response::new(kube::client::Body::from(body))) }
        });
        Client::new(service, "default")
    }

    #[test]
    fn a_list_updates_only_the_secrets_already_cached() {
        let cache = TokenCache::default();
        cache.saw_listed_version("ns", "unrelated", Some("3".into()));
        assert!(
            cache.entries.lock().unwrap().is_empty(),
            "a Secret never fetched is not kept"
        );
        cache.saw_version("ns", "creds", Some("7".into()));
        cache.saw_listed_version("ns", "creds", Some("8".into()));
        let entries = cache.entries.lock().unwrap();
        let latest = &entries[&("ns".to_string(), "creds".to_string())].latest;
        assert_eq!(latest.as_deref(), Some("8"), "a relist's newer version is noted");
    }

    #[tokio::test]
    async fn only_the_token_is_kept_of_the_secret() {
        let data = BTreeMap::from([
            ("token".to_string(), ByteString(b"tok-cache-1\n".to_vec())),
            ("password".to_string(), ByteString(b"another-credential".to_vec())),
        ]);
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some("creds".into()),
                namespace: Some("ns".into()),
                resource_version: Some("7".into()),
                ..ObjectMeta::default()
            },
            data: Some(data),
            ..Secret::default()
        };
        let cache = TokenCache::default();
        let reference = SecretKeyRef {
            name: "creds".into(),
            key: "token".into(),
        };
        let token = cache.token(&serving(secret), "ns", &reference).await.unwrap();
        assert_eq!(token.expose(), "tok-cache-1");
        assert_eq!(cache.held_keys("ns", "creds"), ["token"]);
    }
}
