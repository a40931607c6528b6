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
    /// Called by the Secret watch for every version it sees (changes and lists alike). Only a
    /// Secret already cached (or being fetched) is concerned: one never fetched is read fresh
    /// when a task needs it, so Helm release Secrets, certificate renewals and the like add no
    /// entry (the cache holds only Secrets an account has asked for).
    pub fn saw_version(&self, namespace: &str, name: &str, version: Option<String>) {
        let mut entries = self.entries.lock().expect("token cache lock");
        if let Some(entry) = entries.get_mut(&(namespace.to_string(), name.to_string())) {
            entry.latest = version;
        }
    }

    /// Called by the Secret watch when a Secret is deleted: a task needing it again reads it
    /// afresh (and finds it missing), so nothing of it is kept.
    pub fn saw_deleted(&self, namespace: &str, name: &str) {
        self.invalidate(namespace, name);
    }

    /// Forgets the Secrets no account uses any more (`in_use(namespace, name)` is false), so
    /// that an account deleted or pointed at another Secret leaves nothing behind.
    pub fn forget_unused(&self, in_use: impl Fn(&str, &str) -> bool) {
        self.entries
            .lock()
            .expect("token cache lock")
            .retain(|(namespace, name), _| in_use(namespace, name));
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
                // An entry before the read, so that a version the watch reports while the read
                // is under way is noted (and the next reconcile reads again), not dropped as
                // concerning a Secret never fetched.
                self.entries
                    .lock()
                    .expect("token cache lock")
                    .entry(key.clone())
                    .or_default();
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
                // No entry left: the Secret was deleted (or forgotten) during the read, so what
                // was read is used once but not kept.
                if let Some(entry) = entries.get_mut(&key) {
                    if entry.fetched != version {
                        entry.tokens.clear();
                    }
                    entry.fetched = version.clone();
                    if entry.latest.is_none() {
                        entry.latest = version;
                    }
                    entry.tokens.insert(secret.key.clone(), found.clone());
                }
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
    use std::sync::Arc;

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
        serving_with(secret, || {})
    }

    /// Like [`serving`], calling `during` while answering each request (what the watch reports
    /// while a read is under way).
    fn serving_with(secret: Secret, during: impl Fn() + Clone + Send + 'static) -> Client {
        let body = serde_json::to_vec(&secret).unwrap();
        let service = tower::service_fn(move |_request: http::Request<kube::client::Body>| {
            let body = body.clone();
            during();
            async move { Ok::<_, std::convert::Infallible>(http::Response::new(kube::client::Body::from(body))) }
        });
        Client::new(service, "default")
    }

    fn creds(version: &str) -> Secret {
        Secret {
            metadata: ObjectMeta {
                name: Some("creds".into()),
                namespace: Some("ns".into()),
                resource_version: Some(version.into()),
                ..ObjectMeta::default()
            },
            data: Some(BTreeMap::from([(
                "token".to_string(),
                ByteString(b"tok-cache-2".to_vec()),
            )])),
            ..Secret::default()
        }
    }

    fn reference() -> SecretKeyRef {
        SecretKeyRef {
            name: "creds".into(),
            key: "token".into(),
        }
    }

    /// A client counting the requests it answers with `secret`, calling `during` in each.
    fn counting(
        secret: Secret,
        during: impl Fn() + Clone + Send + Sync + 'static,
    ) -> (Client, Arc<std::sync::atomic::AtomicUsize>) {
        let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = reads.clone();
        let client = serving_with(secret, move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            during();
        });
        (client, reads)
    }

    #[tokio::test]
    async fn a_version_seen_during_the_read_is_not_lost() {
        let cache = Arc::new(TokenCache::default());
        let watch = cache.clone();
        let (client, reads) = counting(creds("7"), move || watch.saw_version("ns", "creds", Some("8".into())));
        cache.token(&client, "ns", &reference()).await.unwrap();
        cache.token(&client, "ns", &reference()).await.unwrap();
        assert_eq!(
            reads.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "version 8, reported during the read of 7, makes the next reconcile read again"
        );
    }

    #[tokio::test]
    async fn a_secret_deleted_during_the_read_is_not_kept() {
        let cache = Arc::new(TokenCache::default());
        let watch = cache.clone();
        let (client, _) = counting(creds("7"), move || watch.saw_deleted("ns", "creds"));
        cache.token(&client, "ns", &reference()).await.unwrap();
        assert!(cache.entries.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn deleted_and_unused_secrets_are_forgotten() {
        let cache = TokenCache::default();
        let (client, reads) = counting(creds("7"), || {});
        cache.token(&client, "ns", &reference()).await.unwrap();
        cache.saw_version("ns", "creds", Some("7".into()));
        cache.token(&client, "ns", &reference()).await.unwrap();
        assert_eq!(
            reads.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "an unchanged Secret is cached"
        );
        cache.saw_deleted("ns", "creds");
        assert!(
            cache.entries.lock().unwrap().is_empty(),
            "a deleted Secret is forgotten"
        );

        cache.token(&client, "ns", &reference()).await.unwrap();
        cache.forget_unused(|namespace, name| (namespace, name) == ("ns", "creds"));
        assert_eq!(cache.held_keys("ns", "creds"), ["token"], "a Secret in use is kept");
        cache.forget_unused(|_, _| false);
        assert!(
            cache.entries.lock().unwrap().is_empty(),
            "a Secret no account uses is forgotten"
        );
    }

    #[test]
    fn a_change_updates_only_the_secrets_already_cached() {
        let cache = TokenCache::default();
        cache.saw_version("ns", "unrelated", Some("3".into()));
        assert!(
            cache.entries.lock().unwrap().is_empty(),
            "a Secret never fetched is not kept"
        );
        cache
            .entries
            .lock()
            .unwrap()
            .entry(("ns".into(), "creds".into()))
            .or_default();
        cache.saw_version("ns", "creds", Some("8".into()));
        let entries = cache.entries.lock().unwrap();
        let latest = &entries[&("ns".to_string(), "creds".to_string())].latest;
        assert_eq!(latest.as_deref(), Some("8"), "a newer version is noted");
    }

    #[test]
    fn secrets_never_fetched_leave_no_entry() {
        let cache = TokenCache::default();
        // Helm release Secrets, cert-manager renewals...: changed and deleted, never read.
        for version in 0..100 {
            let name = format!("sh.helm.release.v1.app.v{version}");
            cache.saw_version("ns", &name, Some(version.to_string()));
            cache.saw_deleted("ns", &name);
        }
        assert!(
            cache.entries.lock().unwrap().is_empty(),
            "the watch of Secrets no task uses adds no entry"
        );
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
