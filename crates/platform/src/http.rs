//! The HTTP client under the platform clients, and its TLS set-up.
//!
//! TLS: reqwest is built with `rustls-no-provider`; we install rustls' `ring` provider (the
//! kube client links ring already, so no second crypto library such as aws-lc-rs is built).
//! Server certificates are checked against the platform's trust store
//! (rustls-platform-verifier, i.e. the system CA bundle on Linux).

use std::sync::Once;
use std::time::Duration;

use super::error::ConfigError;

/// Installs rustls' `ring` crypto provider as the process default, once. reqwest is built with
/// `rustls-no-provider` (the kube client already links ring; this avoids aws-lc-rs), and panics
/// at client construction when no provider is installed. Installing is idempotent: an error
/// from an earlier install (by us or by another component) is ignored.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The HTTP client shared by the accounts' clients (one connection pool). Redirects are not
/// followed (a redirect would carry the token to wherever it points); TLS roots are the
/// platform's (rustls-platform-verifier).
pub fn http_client() -> Result<reqwest::Client, ConfigError> {
    http_client_for(None)
}

/// `http_client`, with the replica's identity in the User-Agent
/// (`outbound-operator/<version> (<instance>)`).
pub fn http_client_for(instance: Option<&str>) -> Result<reqwest::Client, ConfigError> {
    install_crypto_provider();
    let product = concat!("outbound-operator/", env!("CARGO_PKG_VERSION"));
    let user_agent = match instance {
        Some(instance) => format!("{product} ({instance})"),
        None => product.to_owned(),
    };
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(90))
        .user_agent(user_agent)
        .build()
        .map_err(|e| ConfigError::Http(e.to_string()))
}
