//! The calling platform's HTTP client: the calls of one account, and what they need (the wire
//! types they send and read are `outbound_core::wire`).
//!
//! - `client`: `PlatformClient`, the five calls of one account (rate-limited, timed out,
//!   retried within bounds, classified into `RemoteError`, counted in `RemoteMetrics`).
//! - `pool`: `ClientPool`, one client per account shared by all its tasks.
//! - `fence`: `Fence`, whether this replica may still write (leader election).
//! - `classify`, `config`, `error`, `http`, `metrics`, `ratelimit`, `token`: the parts.

pub mod account;
pub mod budget;
pub mod classify;
pub mod client;
pub mod config;
pub mod error;
pub mod fence;
pub mod http;
pub mod metrics;
pub mod pool;
pub mod ratelimit;
mod redact;
pub mod token;

#[cfg(test)]
mod wire_tests;

pub use account::AccountKey;
pub use budget::{PlatformUser, SharedBudget};
pub use classify::{CODE_TASK_STARTED, parse_retry_after};
pub use client::PlatformClient;
pub use config::{ClientConfig, DEFAULT_REQUEST_TIMEOUT, RetryPolicy};
pub use error::{ConfigError, Endpoint, ErrorKind, RemoteError, Token};
pub use fence::Fence;
pub use http::{http_client, install_crypto_provider};
pub use metrics::RemoteMetrics;
pub use pool::ClientPool;
pub use ratelimit::{AccountLimiter, CallClass};
