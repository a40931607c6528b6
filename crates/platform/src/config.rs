//! The client's settings, derived from an `OutboundAccountSpec`, and the path templates.
//!
//! `ClientConfig` holds everything of the spec that shapes the client (and nothing secret: the
//! token Secret reference is left out). The pool compares it to decide when
//! an account's client must be rebuilt.

use std::fmt::Write as _;
use std::time::Duration;

use reqwest::Url;

use super::error::{ConfigError, Endpoint};
use outbound_api::{Endpoints, OutboundAccountSpec, RateLimit, SubUserIdPlacement};

/// Default timeout of one HTTP attempt when the spec's value is empty.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The bounds the CRD's rules set (crates/api `account.rs`), checked again here for an account
/// stored before a rule existed.
const MAX_REQUEST_TIMEOUT: (Duration, &str) = (Duration::from_secs(60), "at most 60s");
const MIN_CREATE_LIST_GRACE: (Duration, &str) = (Duration::from_secs(5), "at least 5s");
const MAX_CREATE_CLOCK_SKEW: (Duration, &str) = (Duration::from_secs(30 * 60), "at most 30m");

/// Bounded retries inside one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// HTTP attempts per call, the first included (1 = no retry).
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubled for each further one, then jittered.
    pub base_backoff: Duration,
    /// Cap of the backoff before jitter.
    pub max_backoff: Duration,
    /// A `Retry-After` up to this long is waited out inside the call; a longer one (or the last
    /// attempt) returns `Throttled` so the controller requeues.
    pub max_inline_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
            max_inline_retry_after: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// Jittered exponential backoff before attempt `attempt + 1` (`attempt` counts from 1):
    /// a uniform draw in `[d/2, d]` with `d = min(base * 2^(attempt-1), max)`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let d = exp.min(self.max_backoff);
        let half = d / 2;
        let jitter = rand::random_range(0.0..=1.0f64);
        half + half.mul_f64(jitter)
    }
}

/// Everything the client needs from an account spec, parsed and validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// Base URL without trailing slash.
    pub base_url: String,
    /// Main account id, the `{user_id}` of every task path.
    pub user_id: String,
    pub endpoints: Endpoints,
    pub rate_limit: RateLimit,
    /// Timeout of one HTTP attempt (connect to end of body).
    pub request_timeout: Duration,
    pub sub_user_id_on_write: SubUserIdPlacement,
    /// For the controller's 6007 loop (the client itself does not retry 6007).
    pub started_retries: u32,
    /// For the controller's 6007 loop.
    pub started_retry_interval: Duration,
    pub retry: RetryPolicy,
    /// How long an unknown create outcome is looked up in the list before creating again.
    pub create_list_grace: Duration,
    /// Clock skew allowed when comparing the list's `create_datetime` with the create intent.
    pub create_clock_skew: Duration,
    /// The account's zone of the platform's naive date-times.
    pub time_zone: jiff::tz::TimeZone,
}

impl ClientConfig {
    /// Reads and checks an account spec: URL, durations, rate limit and path templates.
    pub fn from_spec(spec: &OutboundAccountSpec) -> Result<Self, ConfigError> {
        let base_url = spec.base_url.trim().trim_end_matches('/').to_owned();
        match Url::parse(&base_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
            _ => return Err(ConfigError::BaseUrl(spec.base_url.clone())),
        }
        let request_timeout = if spec.request_timeout.trim().is_empty() {
            DEFAULT_REQUEST_TIMEOUT
        } else {
            humantime::parse_duration(spec.request_timeout.trim())
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| ConfigError::Timeout(spec.request_timeout.clone()))?
        };
        let started_retry_interval = humantime::parse_duration(spec.platform.started_retry_interval.trim())
            .map_err(|_| ConfigError::StartedRetryInterval(spec.platform.started_retry_interval.clone()))?;
        if spec.rate_limit.requests_per_second == 0 || spec.rate_limit.burst == 0 {
            return Err(ConfigError::RateLimit);
        }
        let duration = |text: &str, field: &'static str| {
            humantime::parse_duration(text.trim()).map_err(|_| ConfigError::Duration {
                field,
                value: text.to_owned(),
            })
        };
        // Beyond a bound (an account stored before the CRD's rule existed): the bound applies,
        // with a warning naming the field. Refusing the account would strand the campaigns its
        // journals hold paused (tests/upgrade.rs: an earlier version's account with a 5m
        // requestTimeout left every campaign paused).
        let bounded =
            |value: Duration, field: &'static str, text: &str, fits: bool, (limit, bound): (Duration, &str)| {
                if fits {
                    return value;
                }
                tracing::warn!(
                    field,
                    value = text.trim(),
                    bound,
                    "an OutboundAccount setting is beyond its bound: the bound applies"
                );
                limit
            };
        let request_timeout = bounded(
            request_timeout,
            "requestTimeout",
            &spec.request_timeout,
            request_timeout <= MAX_REQUEST_TIMEOUT.0,
            MAX_REQUEST_TIMEOUT,
        );
        let create_list_grace = duration(&spec.platform.create_list_grace, "platform.createListGrace")?;
        let create_list_grace = bounded(
            create_list_grace,
            "platform.createListGrace",
            &spec.platform.create_list_grace,
            create_list_grace >= MIN_CREATE_LIST_GRACE.0,
            MIN_CREATE_LIST_GRACE,
        );
        if request_timeout >= create_list_grace {
            return Err(ConfigError::TimeoutNotBelowGrace {
                timeout: humantime::format_duration(request_timeout).to_string(),
                grace: humantime::format_duration(create_list_grace).to_string(),
            });
        }
        let create_clock_skew = duration(&spec.platform.create_clock_skew, "platform.createClockSkew")?;
        let create_clock_skew = bounded(
            create_clock_skew,
            "platform.createClockSkew",
            &spec.platform.create_clock_skew,
            create_clock_skew <= MAX_CREATE_CLOCK_SKEW.0,
            MAX_CREATE_CLOCK_SKEW,
        );
        let time_zone = jiff::tz::TimeZone::get(spec.time_zone.trim())
            .map_err(|_| ConfigError::TimeZone(spec.time_zone.clone()))?;
        for endpoint in Endpoint::ALL {
            check_template(endpoint, template_of(&spec.endpoints, endpoint))?;
        }
        Ok(ClientConfig {
            base_url,
            user_id: spec.user_id.clone(),
            endpoints: spec.endpoints.clone(),
            rate_limit: spec.rate_limit.clone(),
            request_timeout,
            sub_user_id_on_write: spec.platform.sub_user_id_on_write,
            started_retries: spec.platform.started_retries,
            started_retry_interval,
            retry: RetryPolicy::default(),
            create_list_grace,
            create_clock_skew,
            time_zone,
        })
    }

    /// The full URL of `endpoint` for `task_id` (ignored by the token check): the template with
    /// `{user_id}` and `{task_id}` replaced by their percent-encoded values.
    pub fn url(&self, endpoint: Endpoint, task_id: &str) -> String {
        let template = template_of(&self.endpoints, endpoint);
        let path = template
            .replace("{user_id}", &encode_segment(&self.user_id))
            .replace("{task_id}", &encode_segment(task_id));
        let slash = if path.starts_with('/') { "" } else { "/" };
        format!("{}{slash}{path}", self.base_url)
    }
}

/// The spec's template of `endpoint`.
pub fn template_of(endpoints: &Endpoints, endpoint: Endpoint) -> &str {
    match endpoint {
        Endpoint::Detail => &endpoints.detail,
        Endpoint::Update => &endpoints.update,
        Endpoint::Pause => &endpoints.pause,
        Endpoint::Resume => &endpoints.resume,
        Endpoint::Token => &endpoints.token_check,
        Endpoint::Create => &endpoints.create,
        Endpoint::List => &endpoints.list,
        Endpoint::Delete => &endpoints.delete,
    }
}

fn field_of(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::Token => "tokenCheck",
        other => other.as_str(),
    }
}

/// A template may only use `{user_id}` and `{task_id}`; calls of one task need `{task_id}` (else
/// every task would hit the same URL); the token check, create and list must not have one. No
/// query string.
fn check_template(endpoint: Endpoint, template: &str) -> Result<(), ConfigError> {
    let fail = |reason| ConfigError::Template {
        field: field_of(endpoint),
        template: template.to_owned(),
        reason,
    };
    if template.trim().is_empty() {
        return Err(fail("must not be empty"));
    }
    if template.contains(['?', '#']) || template.chars().any(char::is_whitespace) {
        return Err(fail("must be a bare path (no query, fragment or spaces)"));
    }
    let rest = template.replace("{user_id}", "").replace("{task_id}", "");
    if rest.contains(['{', '}']) {
        return Err(fail("only the placeholders {user_id} and {task_id} are known"));
    }
    match (endpoint.has_task_id(), template.contains("{task_id}")) {
        (false, true) => Err(fail("has no {task_id} (it concerns no single task)")),
        (true, false) => Err(fail("must contain {task_id}")),
        _ => Ok(()),
    }
}

/// Percent-encodes a value for one path segment (RFC 3986 unreserved characters stay).
pub fn encode_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use outbound_api::{PlatformBehaviour, SecretKeyRef};

    pub(crate) fn spec(base_url: &str) -> OutboundAccountSpec {
        OutboundAccountSpec {
            base_url: base_url.into(),
            user_id: "5832d184-dd53-42a0-8ace-0bf8d660f4cc".into(),
            token_secret_ref: SecretKeyRef {
                name: "s".into(),
                key: "token".into(),
            },
            rate_limit: RateLimit::default(),
            max_paused: None,
            endpoints: Endpoints::default(),
            time_zone: "Asia/Shanghai".into(),
            request_timeout: "10s".into(),
            platform: PlatformBehaviour::default(),
        }
    }

    #[test]
    fn renders_default_paths_with_encoded_ids() {
        let config = ClientConfig::from_spec(&spec("http://127.0.0.1:8080/")).unwrap();
        assert_eq!(
            config.url(Endpoint::Detail, "t 1/x"),
            "http://127.0.0.1:8080/agent-api/new/user/5832d184-dd53-42a0-8ace-0bf8d660f4cc/task/t%201%2Fx/edit"
        );
        assert!(config.url(Endpoint::Resume, "t").ends_with("/task_start/t"));
        assert_eq!(
            config.url(Endpoint::Token, "ignored"),
            "http://127.0.0.1:8080/agent-api/token"
        );
        assert_eq!(config.request_timeout, Duration::from_secs(10));
        assert_eq!(config.started_retry_interval, Duration::from_secs(2));
    }

    #[test]
    fn rejects_bad_specs() {
        assert!(matches!(
            ClientConfig::from_spec(&spec("ftp://x")),
            Err(ConfigError::BaseUrl(_))
        ));
        let mut s = spec("https://a.example");
        s.request_timeout = "soon".into();
        assert!(matches!(ClientConfig::from_spec(&s), Err(ConfigError::Timeout(_))));
        let mut s = spec("https://a.example");
        s.endpoints.resume = "/agent-api/new/user/{user_id}/start".into();
        let err = ClientConfig::from_spec(&s).unwrap_err();
        assert!(err.to_string().contains("spec.endpoints.resume"), "{err}");
        let mut s = spec("https://a.example");
        s.endpoints.detail = "/x/{userid}/{task_id}".into();
        assert!(ClientConfig::from_spec(&s).is_err());
        let mut s = spec("https://a.example");
        s.endpoints.token_check = "/t/{task_id}".into();
        assert!(ClientConfig::from_spec(&s).is_err());
        let mut s = spec("https://a.example");
        s.rate_limit.burst = 0;
        assert_eq!(ClientConfig::from_spec(&s), Err(ConfigError::RateLimit));
    }

    /// Review D1: a create that times out after the whole grace would leave no time to find
    /// the task in the list; such an account is refused, naming both fields.
    #[test]
    fn rejects_a_request_timeout_not_below_the_create_grace() {
        let mut s = spec("https://a.example");
        s.request_timeout = "30s".into();
        s.platform.create_list_grace = "30s".into();
        let err = ClientConfig::from_spec(&s).expect_err("requestTimeout 30s with createListGrace 30s");
        let text = err.to_string();
        assert!(
            text.contains("spec.requestTimeout") && text.contains("spec.platform.createListGrace"),
            "{text}"
        );
        s.request_timeout = "29s".into();
        assert!(ClientConfig::from_spec(&s).is_ok());
    }

    /// Review A5: an account stored before the CRD's bounds (or written past them) is refused by
    /// the operator too, naming the field and the bound.
    #[test]
    fn values_beyond_the_crd_bounds_take_the_bound() {
        let config = |edit: fn(&mut OutboundAccountSpec)| {
            let mut s = spec("https://a.example");
            s.platform.create_list_grace = "5m".into();
            edit(&mut s);
            ClientConfig::from_spec(&s).expect("an account stored before a rule still works")
        };
        assert_eq!(
            config(|s| s.request_timeout = "61s".into()).request_timeout,
            Duration::from_secs(60)
        );
        let grace = config(|s| {
            s.request_timeout = "1s".into();
            s.platform.create_list_grace = "4s".into();
        });
        assert_eq!(grace.create_list_grace, Duration::from_secs(5));
        let skew = config(|s| s.platform.create_clock_skew = "31m".into());
        assert_eq!(skew.create_clock_skew, Duration::from_secs(30 * 60));
        let at_bounds = config(|s| {
            s.request_timeout = "60s".into();
            s.platform.create_clock_skew = "30m".into();
        });
        assert_eq!(at_bounds.request_timeout, Duration::from_secs(60));
        assert_eq!(at_bounds.create_clock_skew, Duration::from_secs(30 * 60));
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let p = RetryPolicy::default();
        for _ in 0..50 {
            let b1 = p.backoff(1);
            assert!(
                b1 >= Duration::from_millis(100) && b1 <= Duration::from_millis(200),
                "{b1:?}"
            );
            let b2 = p.backoff(2);
            assert!(b2 >= Duration::from_millis(200) && b2 <= Duration::from_millis(400));
            assert!(p.backoff(30) <= Duration::from_secs(2));
        }
    }
}
