//! What the platform client returns when a call fails: a small struct whose `ErrorKind` the
//! controller acts on, and the `Token` newtype that keeps the partner token out of every log line.
//!
//! Nothing here ever holds the token or a request header: `Display` and `Debug` are written by
//! hand (or derived from fields that cannot contain it), and the classifier redacts the token
//! from any platform message that echoes it.

use std::fmt;
use std::time::Duration;

pub use super::token::Token;

/// The platform calls the client makes. `as_str` is the `endpoint` label of the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// `GET` the task's settings and run state (`endpoints.detail`).
    Detail,
    /// `PUT` the task's settings (`endpoints.update`).
    Update,
    /// `PUT` pause (`endpoints.pause`).
    Pause,
    /// `PUT` resume (`endpoints.resume`).
    Resume,
    /// `GET` the partner token's validity (`endpoints.tokenCheck`).
    Token,
    /// `POST` a new task (`endpoints.create`).
    Create,
    /// `GET` the account's tasks, filtered by name (`endpoints.list`).
    List,
    /// `DELETE` a task (`endpoints.delete`).
    Delete,
}

impl Endpoint {
    pub const ALL: [Endpoint; 8] = [
        Endpoint::Detail,
        Endpoint::Update,
        Endpoint::Pause,
        Endpoint::Resume,
        Endpoint::Token,
        Endpoint::Create,
        Endpoint::List,
        Endpoint::Delete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Detail => "detail",
            Endpoint::Update => "update",
            Endpoint::Pause => "pause",
            Endpoint::Resume => "resume",
            Endpoint::Token => "token",
            Endpoint::Create => "create",
            Endpoint::List => "list",
            Endpoint::Delete => "delete",
        }
    }

    /// Whether the call writes: it is fenced (sent only while this replica leads).
    pub fn is_write(self) -> bool {
        matches!(
            self,
            Endpoint::Update | Endpoint::Pause | Endpoint::Resume | Endpoint::Create | Endpoint::Delete
        )
    }

    /// Whether the call carries a JSON body (PUT, POST): `sub_user_id` then follows
    /// `subUserIdOnWrite`; GET and DELETE carry it in the query.
    pub fn has_body(self) -> bool {
        matches!(
            self,
            Endpoint::Update | Endpoint::Pause | Endpoint::Resume | Endpoint::Create
        )
    }

    /// Whether the call concerns one task (its path has `{task_id}`).
    pub fn has_task_id(self) -> bool {
        !matches!(self, Endpoint::Token | Endpoint::Create | Endpoint::List)
    }

    pub fn method(self) -> reqwest::Method {
        match self {
            Endpoint::Detail | Endpoint::Token | Endpoint::List => reqwest::Method::GET,
            Endpoint::Update | Endpoint::Pause | Endpoint::Resume => reqwest::Method::PUT,
            Endpoint::Create => reqwest::Method::POST,
            Endpoint::Delete => reqwest::Method::DELETE,
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The class of a failed call, without its details. `as_str` is the `result` label of the
/// metrics (`ok` is the label of a success).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Code 6007: the task is started (running or waiting); pause it before updating.
    TaskStarted,
    /// The platform refused the request (validation or business rule); retrying the same
    /// request will not help. The message is the platform's explanation.
    Rejected,
    /// HTTP 401/403 or envelope code 401/403: the token is wrong, expired or not allowed.
    Unauthorized,
    /// HTTP 404 or envelope code 404: no such task (or path) for this account/sub-account.
    NotFound,
    /// HTTP 429 or envelope code 429. The error carries the server's `Retry-After` when given.
    Throttled,
    /// 5xx, timeout, connection failure, or a body that is not the expected JSON: worth retrying
    /// later.
    Transient,
    /// Not an answer of the platform: the write was refused here, before sending, because the
    /// leader Lease may no longer be ours (see `Fence`). Never retried, never sent; status and
    /// code are always `None`.
    Fenced,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::TaskStarted => "task_started",
            ErrorKind::Rejected => "rejected",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Throttled => "throttled",
            ErrorKind::Transient => "transient",
            ErrorKind::Fenced => "fenced",
        }
    }

    /// Whether trying again later can succeed without a change of spec or credentials.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Transient | ErrorKind::Throttled | ErrorKind::TaskStarted
        )
    }
}

/// A failed platform call, classified for the controller: its `kind`, the endpoint, the HTTP
/// status (`None` when no response arrived), the envelope's business code (`None` when the body
/// was not an envelope), a message (the platform's own text where it gave one) and, for
/// Throttled only, the server's `Retry-After`.
///
/// `Debug` is derived: no field can hold the token (every message built from a response is
/// redacted by `response_text` first).
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteError {
    kind: ErrorKind,
    endpoint: Endpoint,
    status: Option<u16>,
    code: Option<i64>,
    message: String,
    retry_after: Option<Duration>,
}

impl RemoteError {
    /// An error of `kind` (`retry_after` is kept for Throttled only).
    pub fn new(
        kind: ErrorKind,
        endpoint: Endpoint,
        status: Option<u16>,
        code: Option<i64>,
        message: impl Into<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        RemoteError {
            kind,
            endpoint,
            status,
            code,
            message: message.into(),
            retry_after: retry_after.filter(|_| kind == ErrorKind::Throttled),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn endpoint(&self) -> Endpoint {
        self.endpoint
    }

    /// HTTP status of the response, `None` when none arrived (timeout, connection error).
    pub fn http_status(&self) -> Option<u16> {
        self.status
    }

    /// The envelope's business `code`, `None` when the body was not an envelope.
    pub fn code(&self) -> Option<i64> {
        self.code
    }

    /// The platform's message, or a description of what went wrong on our side.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The server's requested delay (Throttled only).
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Whether trying again later can succeed without a change of spec or credentials.
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ErrorKind::TaskStarted => "task is started (pause it first)",
            ErrorKind::Rejected => "rejected by the platform",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::NotFound => "not found",
            ErrorKind::Throttled => "throttled",
            ErrorKind::Transient => "transient failure",
            ErrorKind::Fenced => "not sent",
        };
        write!(f, "platform {} call: {what}", self.endpoint)?;
        match (self.status, self.code) {
            (Some(s), Some(c)) => write!(f, " (HTTP {s}, code {c})")?,
            (Some(s), None) => write!(f, " (HTTP {s})")?,
            (None, Some(c)) => write!(f, " (code {c})")?,
            (None, None) => {}
        }
        if let Some(delay) = self.retry_after {
            write!(f, ", retry after {}", humantime::format_duration(delay))?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for RemoteError {}

/// An account spec the client cannot be built from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("spec.baseUrl {0:?} is not an http(s) URL")]
    BaseUrl(String),
    #[error("spec.requestTimeout {0:?} is not a positive duration")]
    Timeout(String),
    #[error("spec.platform.startedRetryInterval {0:?} is not a duration")]
    StartedRetryInterval(String),
    #[error("spec.rateLimit: requestsPerSecond and burst must be at least 1")]
    RateLimit,
    #[error("spec.{field} {value:?} is not a duration")]
    Duration { field: &'static str, value: String },
    /// A create that times out must leave time to find the task in the list before the grace
    /// ends (review D1).
    #[error(
        "spec.requestTimeout ({timeout}) must be shorter than spec.platform.createListGrace ({grace}): \
         a create answered only at the timeout would leave no time to find the task in the list"
    )]
    TimeoutNotBelowGrace { timeout: String, grace: String },
    #[error("spec.timeZone {0:?} is not a known IANA time zone")]
    TimeZone(String),
    #[error("spec.endpoints.{field} {template:?}: {reason}")]
    Template {
        field: &'static str,
        template: String,
        reason: &'static str,
    },
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}

/// Text taken from a platform response (an envelope message, a body) as it may appear in an error
/// message: the token removed wherever the response echoed it, however escaped (see
/// [`crate::redact`]; the trimmed token too, which is what the `Authorization` header carries),
/// then cut to `max_bytes` with an ellipsis. Redacting
/// before cutting matters: a cut inside the token would leave a prefix no search finds. Every
/// message built from a response goes through here.
pub(crate) fn response_text(text: &str, token: &str, max_bytes: usize) -> String {
    let token = token.trim();
    let text = if token.len() >= 4 {
        crate::redact::redact(text, token)
    } else {
        text.to_owned()
    };
    if text.len() <= max_bytes {
        return text;
    }
    let mut cut = max_bytes;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &text[..cut])
}

/// A platform message, redacted, at most what belongs in a condition message.
pub(crate) fn sanitize_message(message: &str, token: &str) -> String {
    response_text(message, token, 512)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_endpoint_status_code_and_delay() {
        let e = RemoteError::new(
            ErrorKind::Throttled,
            Endpoint::Detail,
            Some(429),
            None,
            "slow down",
            Some(Duration::from_secs(3)),
        );
        assert_eq!(
            e.to_string(),
            "platform detail call: throttled (HTTP 429), retry after 3s: slow down"
        );
        let e = RemoteError::new(
            ErrorKind::TaskStarted,
            Endpoint::Update,
            Some(200),
            Some(6007),
            "x",
            None,
        );
        assert_eq!(e.kind().as_str(), "task_started");
        assert_eq!(
            (e.http_status(), e.code(), e.endpoint()),
            (Some(200), Some(6007), Endpoint::Update)
        );
        assert!(e.to_string().contains("HTTP 200, code 6007"));
        assert_eq!(e.retry_after(), None);
    }

    #[test]
    fn retry_after_is_kept_for_throttled_only() {
        let delay = Some(Duration::from_secs(5));
        let e = RemoteError::new(ErrorKind::Transient, Endpoint::Detail, Some(503), None, "", delay);
        assert_eq!(e.retry_after(), None);
        assert_eq!(e.to_string(), "platform detail call: transient failure (HTTP 503)");
        let e = RemoteError::new(ErrorKind::Throttled, Endpoint::Detail, Some(429), None, "", delay);
        assert_eq!(e.retry_after(), delay);
        let retryable = [ErrorKind::Transient, ErrorKind::Throttled, ErrorKind::TaskStarted];
        for kind in [
            ErrorKind::Rejected,
            ErrorKind::Unauthorized,
            ErrorKind::NotFound,
            ErrorKind::Fenced,
        ]
        .into_iter()
        .chain(retryable)
        {
            let e = RemoteError::new(kind, Endpoint::Pause, None, None, "", None);
            assert_eq!(e.is_retryable(), retryable.contains(&kind), "{kind:?}");
        }
    }

    #[test]
    fn sanitize_redacts_token_and_truncates() {
        assert_eq!(sanitize_message("bad token abcd1234", "abcd1234"), "bad token ***");
        let long = "é".repeat(600);
        let out = sanitize_message(&long, "abcd1234");
        assert!(out.len() <= 512 + '…'.len_utf8());
        assert_eq!(sanitize_message("echo abcd1234", "abcd1234\n"), "echo ***");
        // A cut that falls inside a character moves back to the character's start.
        let odd = format!("a{}", "é".repeat(600));
        assert_eq!(sanitize_message(&odd, "abcd1234"), format!("a{}…", "é".repeat(255)));
    }

    /// A base64 token holds `/`, `+` and `=`, which an echo of the request headers may carry
    /// escaped: PHP's `json_encode` writes `\/`, other JSON encoders `\u002f`; a URL or form
    /// echo percent-encodes (either case, some encoders leave `/` alone); an HTML error page
    /// writes entities. Every such form is redacted.
    #[test]
    fn escaped_echoes_of_the_token_are_redacted() {
        let token = "dG9r/ZW4+c2Vj=";
        for echoed in [
            r"dG9r\/ZW4+c2Vj=",
            r"dG9r\u002fZW4\u002Bc2Vj\u003d",
            "dG9r%2FZW4%2Bc2Vj%3D",
            "dG9r%2fZW4%2bc2Vj%3d",
            "dG9r/ZW4%2Bc2Vj%3D",
            "dG9r&#x2F;ZW4&#43;c2Vj&#61;",
            "dG9r&#47;ZW4&plus;c2Vj&equals;",
            "dG9r&sol;ZW4+c2Vj=",
            "%64%47%39%72%2F%5A%57%34%2B%63%32%56%6A%3D",
        ] {
            let text = format!(r#"{{"headers":{{"authorization":"Bearer {echoed}"}}}}"#);
            assert_eq!(
                response_text(&text, token, 512),
                r#"{"headers":{"authorization":"Bearer ***"}}"#,
                "{echoed}"
            );
        }
        assert_eq!(
            response_text("dG9r/ZW4-c2Vj= is another token", token, 512),
            "dG9r/ZW4-c2Vj= is another token"
        );
    }
}
