//! The HTTP client under the platform clients, and its TLS set-up.
//!
//! Timeouts that keep a fenced write inside the leader fence's grace (5 s, review D17): a write
//! is checked against the fence right before it is handed to this client, which may first have
//! to open a connection (DNS, TCP, TLS: at most `CONNECT_TIMEOUT`, else the attempt fails and the
//! next attempt asks the fence again), and whose request bytes, once written, stop being
//! retransmitted after `UNACKED_TIMEOUT` (Linux `TCP_USER_TIMEOUT`: the connection is dropped).
//! So a request reaches the platform within about 4 s of the check, or never.
//!
//! TLS: reqwest is built with `rustls-no-provider`; we install rustls' `ring` provider (the
//! kube client links ring already, so no second crypto library such as aws-lc-rs is built).
//! Server certificates are checked against the platform's trust store
//! (rustls-platform-verifier, i.e. the system CA bundle on Linux).

use std::sync::Once;
use std::time::Duration;

use super::error::ConfigError;

/// Longest a new connection may take to open (DNS, TCP connect, TLS handshake): well under the
/// leader fence's 5 s grace.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest the bytes of a request may stay unacknowledged by the platform's host before the
/// kernel gives the connection up (no more retransmissions).
pub const UNACKED_TIMEOUT: Duration = Duration::from_secs(2);

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
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(90))
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(user_agent);
    // Elsewhere (no TCP_USER_TIMEOUT) a written request is bounded by `requestTimeout` only.
    #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
    let builder = builder.tcp_user_timeout(UNACKED_TIMEOUT);
    builder.build().map_err(|e| ConfigError::Http(e.to_string()))
}

#[cfg(test)]
#[path = "connect_tests.rs"]
mod tests;
