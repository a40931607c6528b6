//! Reading the account's token from its Secret. The Secret is read again whenever it changed
//! (the Secret watch reports each new resourceVersion), so rotation needs no restart, while an
//! unchanged Secret costs no apiserver call per reconcile.

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::{Client, ResourceExt};

use crate::api::SecretKeyRef;
use crate::remote::Token;

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
    /// resourceVersion of the Secret the cached token came from.
    fetched: Option<String>,
    /// Newest resourceVersion the watch has reported.
    latest: Option<String>,
    data: Option<std::collections::BTreeMap<String, k8s_openapi::ByteString>>,
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
                .and_then(|e| e.data.clone())
        };
        let mut fetch_guard = None;
        if cached().is_none() {
            fetch_guard = Some(self.fetching.lock().await);
        }
        let data = match cached() {
            Some(data) => data,
            None => {
                let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
                let found = api.get_opt(&secret.name).await.map_err(|source| TokenError::Kube {
                    namespace: namespace.into(),
                    name: secret.name.clone(),
                    source,
                })?;
                let Some(found) = found else {
                    self.invalidate(namespace, &secret.name);
                    return Err(TokenError::SecretNotFound {
                        namespace: namespace.into(),
                        name: secret.name.clone(),
                    });
                };
                let version = found.resource_version();
                let data = found.data.unwrap_or_default();
                let mut entries = self.entries.lock().expect("token cache lock");
                let entry = entries.entry(key).or_default();
                entry.fetched = version.clone();
                if entry.latest.is_none() {
                    entry.latest = version;
                }
                entry.data = Some(data.clone());
                drop(entries);
                drop(fetch_guard.take());
                data
            }
        };
        let value = data.get(&secret.key).ok_or_else(|| TokenError::KeyMissing {
            namespace: namespace.into(),
            name: secret.name.clone(),
            key: secret.key.clone(),
        })?;
        let text = String::from_utf8(value.0.clone()).map_err(|_| TokenError::NotText {
            namespace: namespace.into(),
            name: secret.name.clone(),
            key: secret.key.clone(),
        })?;
        Ok(Token::new(text.trim().to_string()))
    }
}
