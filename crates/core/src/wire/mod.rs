//! The platform's wire formats. What we send is strict and typed (`UpdateBody`); what we read is
//! lenient (`TaskDetail`): ids as strings or numbers, flags as bools or 0/1, `null` for unset,
//! lines as id strings or `{id, limit}`, holiday keys `begin` or `start`, unknown fields ignored.

mod created;
mod read;
mod send;

pub use created::*;
pub use read::*;
pub use send::*;

use serde::Deserialize;
use serde_json::Value;

use crate::lenient::{opt_bool, opt_i64, opt_string};

/// The response envelope of every call: `{code, status, message, data}`. Errors arrive with
/// HTTP 200 too, so callers decide on `status`/`code`, not on the HTTP status alone.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct Envelope {
    #[serde(deserialize_with = "opt_i64")]
    pub code: Option<i64>,
    #[serde(deserialize_with = "opt_string")]
    pub status: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub message: Option<String>,
    pub data: Value,
    /// Pagination block of list calls; `None` elsewhere.
    pub meta: Option<Meta>,
}

/// Pagination of list responses. `per_page` arrives as a string (`"1"`) while the others are
/// numbers, so every number is read leniently.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct Meta {
    #[serde(deserialize_with = "opt_bool")]
    pub has_pages: Option<bool>,
    #[serde(deserialize_with = "opt_i64")]
    pub total: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    pub last_page: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    pub current_page: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    pub per_page: Option<i64>,
}

impl Envelope {
    /// Success is `status == "success"` or, when `status` is missing, code 200.
    pub fn is_success(&self) -> bool {
        match self.status.as_deref() {
            Some(status) => status.eq_ignore_ascii_case("success"),
            None => self.code == Some(200),
        }
    }
}
