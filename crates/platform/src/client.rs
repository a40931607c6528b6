//! The platform client of one account: the task calls (detail, update, pause, resume, create,
//! list, delete) and the token check, each rate-limited, timed out, retried within bounds,
//! classified and counted.
//!
//! Retry policy (per call, `RetryPolicy`): at most `max_attempts` HTTP attempts (3). Transient
//! failures (5xx, timeout, connection error, malformed body) are retried after a jittered
//! exponential backoff (200 ms, 400 ms, … capped at 2 s, each drawn in `[d/2, d]`). Throttled is
//! retried after the server's `Retry-After` when that is at most `max_inline_retry_after` (5 s),
//! after the backoff when the server gave none, and returned at once (with the delay) when it
//! is longer, so the controller requeues instead of holding a worker. Every other class is
//! returned at once. Every attempt, retries included, first takes a cell of the account's rate
//! limiter, by the call's [`CallClass`]: update, resume and `pause_again` finish an operation in
//! flight and go before reads and first pauses. The PUT calls are retried too: update sends the
//! whole body of the settings we manage (the same values again if one did land; whether the
//! platform merges or replaces fields we leave out is unknown, remote-api.md) and pause/resume set
//! a state, so replaying one that did land is harmless. Create is the
//! exception: it is sent once and never retried here, because a create that landed and is sent
//! again makes a second campaign; an unknown outcome goes back to the controller, which looks the
//! task up before creating again.
//!
//! Leader fencing: right before each attempt of a write (update, pause, resume, create, delete)
//! is sent, the client asks its `Fence`; a refused write is a `RemoteError` of kind `Fenced`,
//! returned at once, never retried and not counted as a platform answer in the metrics.
//!
//! The token is passed to every call and lives only in the `Authorization` header value, which
//! is marked sensitive; the client keeps no copy.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use serde_json::{Value, json};

use super::classify::{RawResponse, classify};
use super::config::ClientConfig;
use super::error::{ConfigError, Endpoint, ErrorKind, RemoteError, Token, response_text};
use super::fence::Fence;
use super::http::http_client;
use super::metrics::RemoteMetrics;
use super::ratelimit::{AccountLimiter, CallClass};
use outbound_api::SubUserIdPlacement;
use outbound_core::wire::{TaskDetail, UpdateBody};

mod tasks;

/// One account's client. Share it (`Arc`) between all tasks of the account: the rate limiter
/// lives here. `ClientPool` does that.
pub struct PlatformClient {
    http: reqwest::Client,
    config: ClientConfig,
    limiter: Arc<AccountLimiter>,
    metrics: Arc<RemoteMetrics>,
    fence: Fence,
}

impl fmt::Debug for PlatformClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlatformClient")
            .field("config", &self.config)
            .field("limiter", &self.limiter)
            .field("fence", &self.fence)
            .finish_non_exhaustive()
    }
}

/// A prepared request: where, and what.
struct Call {
    endpoint: Endpoint,
    class: CallClass,
    url: String,
    query_sub_user_id: Option<String>,
    /// Further query parameters (the list's filter and page).
    query: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
}

impl PlatformClient {
    /// A client with its own HTTP connection pool.
    pub fn new(config: ClientConfig, metrics: Arc<RemoteMetrics>) -> Result<Self, ConfigError> {
        Ok(Self::with_http(config, http_client()?, metrics))
    }

    /// A client on a shared HTTP client (see `http_client`), with its own rate limiter and no
    /// fence.
    pub fn with_http(config: ClientConfig, http: reqwest::Client, metrics: Arc<RemoteMetrics>) -> Self {
        let limiter = Arc::new(AccountLimiter::new(&config.rate_limit));
        Self::sharing(config, http, limiter, metrics, Fence::unfenced())
    }

    /// A client drawing on an existing rate limiter (the account's, kept by `ClientPool` across
    /// rebuilds of the client) whose writes ask `fence` first.
    pub(crate) fn sharing(
        config: ClientConfig,
        http: reqwest::Client,
        limiter: Arc<AccountLimiter>,
        metrics: Arc<RemoteMetrics>,
        fence: Fence,
    ) -> Self {
        PlatformClient {
            http,
            config,
            limiter,
            metrics,
            fence,
        }
    }

    /// The same client with its writes behind `fence`.
    pub fn fenced(self, fence: Fence) -> Self {
        PlatformClient { fence, ..self }
    }

    /// A copy for one task's calls, sharing the connections and the rate budget, whose writes
    /// also need `still_ours` (see [`Fence::while_also`]).
    pub fn for_task(&self, still_ours: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        PlatformClient {
            http: self.http.clone(),
            config: self.config.clone(),
            limiter: self.limiter.clone(),
            metrics: self.metrics.clone(),
            fence: self.fence.while_also(still_ours),
        }
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    pub fn limiter(&self) -> &Arc<AccountLimiter> {
        &self.limiter
    }

    pub fn metrics(&self) -> &Arc<RemoteMetrics> {
        &self.metrics
    }

    /// Reads a task: `GET endpoints.detail` with `sub_user_id` in the query. Returns the
    /// leniently decoded `data`; a `data` that does not decode is Transient.
    pub async fn detail(
        &self,
        token: &Token,
        task_id: &str,
        sub_user_id: Option<&str>,
    ) -> Result<TaskDetail, RemoteError> {
        let call = self.call(Endpoint::Detail, task_id, sub_user_id, None);
        let data = self.execute(token, &call, decode_detail).await?;
        Ok(data)
    }

    /// Replaces a task's settings: `PUT endpoints.update` with `body`. The task must be paused
    /// (else `TaskStarted`, code 6007; the client does not retry it: the controller pauses and
    /// retries per `platform.startedRetries`). `sub_user_id` (or, when `None`, the body's own
    /// `sub_user_id`) is placed per `platform.subUserIdOnWrite`.
    pub async fn update(
        &self,
        token: &Token,
        task_id: &str,
        sub_user_id: Option<&str>,
        body: &UpdateBody,
    ) -> Result<(), RemoteError> {
        let call = self.body_call(Endpoint::Update, task_id, sub_user_id, body);
        self.execute(token, &call, ignore_data).await
    }

    /// An update or create call: `sub_user_id` (or, when `None`, the body's own) placed per
    /// `platform.subUserIdOnWrite`.
    fn body_call(&self, endpoint: Endpoint, task_id: &str, sub_user_id: Option<&str>, body: &UpdateBody) -> Call {
        let sub_user_id = sub_user_id.map(str::to_owned).or_else(|| body.sub_user_id.clone());
        let (in_query, in_body) = self.placement(endpoint, sub_user_id.as_deref());
        let mut body = body.clone();
        body.sub_user_id = in_body.map(str::to_owned);
        let bytes = serde_json::to_vec(&body).expect("UpdateBody serialises");
        let mut call = self.call(endpoint, task_id, None, Some(bytes));
        call.query_sub_user_id = in_query.map(str::to_owned);
        call
    }

    /// Pauses a task: `PUT endpoints.pause` with body `{}` (or `{"sub_user_id": …}` per
    /// `subUserIdOnWrite`). Whether pausing a paused task succeeds is the platform's business;
    /// the controller re-reads the state either way.
    pub async fn pause(&self, token: &Token, task_id: &str, sub_user_id: Option<&str>) -> Result<(), RemoteError> {
        self.switch(Endpoint::Pause, CallClass::Starting, token, task_id, sub_user_id)
            .await
    }

    /// `pause` within an operation in flight (after "task started", the pause may have been
    /// undone): its budget goes before reads and first pauses, like the update and the resume.
    pub async fn pause_again(
        &self,
        token: &Token,
        task_id: &str,
        sub_user_id: Option<&str>,
    ) -> Result<(), RemoteError> {
        self.switch(Endpoint::Pause, CallClass::Finishing, token, task_id, sub_user_id)
            .await
    }

    /// Resumes a task: `PUT endpoints.resume` (default `task_start`, a path inferred from
    /// `task_stop` and overridable in the account), body as for `pause`.
    pub async fn resume(&self, token: &Token, task_id: &str, sub_user_id: Option<&str>) -> Result<(), RemoteError> {
        self.switch(Endpoint::Resume, CallClass::Finishing, token, task_id, sub_user_id)
            .await
    }

    /// Checks the partner token: `GET endpoints.tokenCheck`. Returns the envelope's `data`
    /// (its shape is undocumented); a bad token is `Unauthorized`.
    pub async fn check_token(&self, token: &Token) -> Result<Value, RemoteError> {
        let call = self.call(Endpoint::Token, "", None, None);
        self.execute(token, &call, Ok).await
    }

    async fn switch(
        &self,
        endpoint: Endpoint,
        class: CallClass,
        token: &Token,
        task_id: &str,
        sub_user_id: Option<&str>,
    ) -> Result<(), RemoteError> {
        let (in_query, in_body) = self.placement(endpoint, sub_user_id);
        let body = match in_body {
            Some(sub) => json!({ "sub_user_id": sub }),
            None => json!({}),
        };
        let mut call = self.call(endpoint, task_id, None, Some(body.to_string().into_bytes()));
        call.class = class;
        call.query_sub_user_id = in_query.map(str::to_owned);
        self.execute(token, &call, ignore_data).await
    }

    /// Where `sub_user_id` goes: `(query, body)`.
    fn placement<'a>(&self, endpoint: Endpoint, sub: Option<&'a str>) -> (Option<&'a str>, Option<&'a str>) {
        if !endpoint.has_body() {
            return (sub, None);
        }
        match self.config.sub_user_id_on_write {
            SubUserIdPlacement::Body => (None, sub),
            SubUserIdPlacement::Query => (sub, None),
            SubUserIdPlacement::Both => (sub, sub),
        }
    }

    fn call(&self, endpoint: Endpoint, task_id: &str, query: Option<&str>, body: Option<Vec<u8>>) -> Call {
        Call {
            endpoint,
            // Update and resume end an operation; the rest start work (see `pause_again`).
            class: match endpoint {
                Endpoint::Update | Endpoint::Resume => CallClass::Finishing,
                _ => CallClass::Starting,
            },
            url: self.config.url(endpoint, task_id),
            query_sub_user_id: query.map(str::to_owned),
            query: Vec::new(),
            body,
        }
    }

    /// The retry loop (see the module doc).
    async fn execute<T>(
        &self,
        token: &Token,
        call: &Call,
        decode: fn(Value) -> Result<T, String>,
    ) -> Result<T, RemoteError> {
        let auth = auth_header(token, call.endpoint)?;
        let policy = self.config.retry;
        // A create is never sent twice by the client (see the module doc).
        let max_attempts = if call.endpoint == Endpoint::Create {
            1
        } else {
            policy.max_attempts.max(1)
        };
        let mut attempt = 1;
        loop {
            let queued = Instant::now();
            self.limiter.acquire(call.class).await;
            self.metrics.waited_for_budget(queued.elapsed());
            // Last check before the request leaves: nothing awaits between it and the send.
            if call.endpoint.is_write() && !self.fence.allows_write() {
                let message = "this replica may have lost the leader Lease, or the task moved to another shard: \
                               write refused before sending";
                return Err(RemoteError::new(
                    ErrorKind::Fenced,
                    call.endpoint,
                    None,
                    None,
                    message,
                    None,
                ));
            }
            let started = Instant::now();
            let result = self.attempt(token, &auth, call).await.and_then(|data| {
                decode(data).map_err(|why| {
                    // `why` quotes the response's data.
                    let message = response_text(&format!("unexpected data: {why}"), token.expose(), 512);
                    RemoteError::new(ErrorKind::Transient, call.endpoint, None, None, message, None)
                })
            });
            self.metrics
                .observe(call.endpoint, result.as_ref().map(|_| ()), started.elapsed());
            let error = match result {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            if attempt >= max_attempts {
                return Err(error);
            }
            let delay = match (error.kind(), error.retry_after()) {
                (ErrorKind::Transient, _) | (ErrorKind::Throttled, None) => policy.backoff(attempt),
                (ErrorKind::Throttled, Some(d)) if d <= policy.max_inline_retry_after => d,
                _ => return Err(error),
            };
            tracing::debug!(
                endpoint = call.endpoint.as_str(),
                attempt,
                delay_ms = delay.as_millis() as u64,
                error = %error,
                "retrying platform call"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// One HTTP attempt, bounded by `request_timeout` from sending to the end of the body.
    async fn attempt(&self, token: &Token, auth: &HeaderValue, call: &Call) -> Result<Value, RemoteError> {
        let mut request = self
            .http
            .request(call.endpoint.method(), &call.url)
            .header(AUTHORIZATION, auth.clone())
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json");
        if let Some(sub) = &call.query_sub_user_id {
            request = request.query(&[("sub_user_id", sub.as_str())]);
        }
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if let Some(body) = &call.body {
            request = request.body(body.clone());
        }
        let exchange = async {
            let response = request.send().await?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, retry_after, body))
        };
        let transient = |message: String| {
            Err(RemoteError::new(
                ErrorKind::Transient,
                call.endpoint,
                None,
                None,
                message,
                None,
            ))
        };
        match tokio::time::timeout(self.config.request_timeout, exchange).await {
            Err(_) => transient(format!(
                "no complete response within {}",
                humantime::format_duration(self.config.request_timeout)
            )),
            Ok(Err(error)) => transient(describe(&error)),
            Ok(Ok((status, retry_after, body))) => classify(
                call.endpoint,
                RawResponse {
                    status,
                    retry_after: retry_after.as_deref(),
                    body: &body,
                },
                token.expose(),
            ),
        }
    }
}

/// `Bearer <token>`, marked sensitive so no debug output of the request shows it. Surrounding
/// whitespace (a Secret written with a trailing newline) is dropped.
fn auth_header(token: &Token, endpoint: Endpoint) -> Result<HeaderValue, RemoteError> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose().trim())).map_err(|_| {
        let message = "the token contains characters not allowed in an HTTP header";
        RemoteError::new(ErrorKind::Unauthorized, endpoint, None, None, message, None)
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// A transport error in words, without the URL (the token is never in it anyway).
fn describe(error: &reqwest::Error) -> String {
    let what = if error.is_connect() {
        "connection failed"
    } else if error.is_timeout() {
        "timed out"
    } else if error.is_body() || error.is_decode() {
        "response body interrupted"
    } else {
        "request failed"
    };
    let mut text = what.to_owned();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn decode_detail(data: Value) -> Result<TaskDetail, String> {
    if !data.is_object() {
        return Err(format!("task detail is not an object: {}", short(&data)));
    }
    serde_json::from_value(data).map_err(|e| e.to_string())
}

fn ignore_data(_: Value) -> Result<(), String> {
    Ok(())
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    text.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::spec;

    #[test]
    fn builds_with_ring_and_never_prints_a_token() {
        let config = ClientConfig::from_spec(&spec("https://platform.example")).unwrap();
        let client = PlatformClient::new(config.clone(), Arc::new(RemoteMetrics::new())).unwrap();
        let printed = format!("{client:?} {config:?}");
        assert!(printed.contains("platform.example"));
        let token = Token::new("very-secret-token");
        let header = auth_header(&token, Endpoint::Detail).unwrap();
        assert!(header.is_sensitive());
        assert!(!format!("{header:?}").contains("very-secret"));
    }

    #[test]
    fn bad_header_token_is_unauthorized_without_the_value() {
        let err = auth_header(&Token::new("abc\ndef-secret"), Endpoint::Token).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthorized);
        assert!(!format!("{err} {err:?}").contains("secret"));
    }

    #[test]
    fn detail_data_must_be_an_object() {
        assert!(decode_detail(json!("")).is_err());
        assert!(decode_detail(json!({"name": "a"})).is_ok());
    }
}
