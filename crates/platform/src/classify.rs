//! Turns an HTTP response (status, `Retry-After`, body) into the envelope's `data` or a
//! classified `RemoteError`. Pure, so every branch is unit-tested without a server.
//!
//! Order of the rules (the platform's HTTP statuses for errors are undocumented, and it answers
//! errors with HTTP 200 too, so the envelope decides whenever the HTTP status does not):
//! 1. HTTP 429 → Throttled; 401/403 → Unauthorized; 404 → NotFound; 5xx and 408 → Transient.
//! 2. Otherwise the body must be a JSON envelope (`code`/`status`); a body that is not JSON, or
//!    JSON that is no envelope, is Transient on 2xx/3xx (a proxy page, a truncated answer) and
//!    Rejected on other 4xx (the request itself is wrong: retrying will not help).
//! 3. A success envelope (`status: "success"`, or code 200 without status) → `Ok(data)`.
//! 4. An error envelope by `code`: 6007 → TaskStarted; 401/403 → Unauthorized; 404 → NotFound;
//!    429 → Throttled; 5xx → Transient; anything else → Rejected with the platform's message.

use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::error::{Endpoint, ErrorKind, RemoteError, response_text, sanitize_message};
use outbound_core::wire::Envelope;

/// The business code of "2.0 task is started; stop it first".
pub const CODE_TASK_STARTED: i64 = 6007;

/// A response as received.
#[derive(Debug, Clone, Copy)]
pub struct RawResponse<'a> {
    pub status: u16,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<&'a str>,
    pub body: &'a [u8],
}

/// Classifies one response. `token` is only used to redact it from every message built from the
/// response (the platform's message and the body snippets of the fallbacks).
pub fn classify(endpoint: Endpoint, response: RawResponse<'_>, token: &str) -> Result<Value, RemoteError> {
    let status = response.status;
    let envelope = parse_envelope(response.body);
    let code = envelope.as_ref().and_then(|e| e.code);
    let platform_message = envelope
        .as_ref()
        .and_then(|e| e.message.clone())
        .map(|m| sanitize_message(&m, token));
    let retry_after = response
        .retry_after
        .and_then(|v| parse_retry_after(v, SystemTime::now()));
    let err = |kind: ErrorKind, fallback: String| {
        let message = platform_message.clone().unwrap_or(fallback);
        Err(RemoteError::new(
            kind,
            endpoint,
            Some(status),
            code,
            message,
            retry_after,
        ))
    };

    match status {
        429 => return err(ErrorKind::Throttled, "too many requests".into()),
        401 | 403 => {
            return err(ErrorKind::Unauthorized, "the platform refused the token".into());
        }
        404 => return err(ErrorKind::NotFound, "no such task or path".into()),
        408 | 500..=599 => {
            return err(
                ErrorKind::Transient,
                format!("server error: {}", snippet(response.body, token)),
            );
        }
        _ => {}
    }

    let Some(envelope) = envelope else {
        let what = format!("response is not a JSON envelope: {}", snippet(response.body, token));
        let kind = if (400..500).contains(&status) {
            ErrorKind::Rejected
        } else {
            ErrorKind::Transient
        };
        return err(kind, what);
    };
    if envelope.is_success() {
        return Ok(envelope.data);
    }
    let kind = match code {
        Some(CODE_TASK_STARTED) => ErrorKind::TaskStarted,
        Some(401 | 403) => ErrorKind::Unauthorized,
        Some(404) => ErrorKind::NotFound,
        Some(429) => ErrorKind::Throttled,
        Some(500..=599) => ErrorKind::Transient,
        _ => ErrorKind::Rejected,
    };
    let fallback = format!("error envelope: {}", snippet(response.body, token));
    err(kind, fallback)
}

/// The body as an envelope: a JSON object with a `code` or a `status`. `None` otherwise.
fn parse_envelope(body: &[u8]) -> Option<Envelope> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let object = value.as_object()?;
    if !object.contains_key("code") && !object.contains_key("status") {
        return None;
    }
    let envelope: Envelope = serde_json::from_value(value).ok()?;
    (envelope.code.is_some() || envelope.status.is_some()).then_some(envelope)
}

/// The start of a body, for messages, with the token redacted (a proxy or error page may echo
/// the request headers).
fn snippet(body: &[u8], token: &str) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".into();
    }
    response_text(text, token, 120)
}

/// `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3); a date in the past is
/// zero. `None` when unparsable.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(value).ok()?;
    let when = SystemTime::from(when);
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(status: u16, body: &str) -> Result<Value, RemoteError> {
        classify(
            Endpoint::Update,
            RawResponse {
                status,
                retry_after: None,
                body: body.as_bytes(),
            },
            "tok-123456",
        )
    }

    #[test]
    fn success_envelopes_return_data() {
        let ok = run(200, r#"{"code":200,"status":"success","message":"修改成功","data":""}"#).unwrap();
        assert_eq!(ok, Value::String(String::new()));
        // No status, code 200: success too.
        assert_eq!(run(200, r#"{"code":"200","data":{"a":1}}"#).unwrap()["a"], 1);
    }

    #[test]
    fn http_200_with_code_6007_is_task_started() {
        let e = run(
            200,
            r#"{"code": 6007,"status": "error","message": "2.0任务启动中,请先停止任务","data": []}"#,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TaskStarted);
        assert_eq!((e.http_status(), e.code()), (Some(200), Some(6007)));
        assert_eq!(e.message(), "2.0任务启动中,请先停止任务");
    }

    #[test]
    fn error_envelope_is_rejected_with_the_platform_message() {
        let e = run(
            200,
            r#"{"code":422,"status":"error","message":"并发数超过线路剩余并发","data":[]}"#,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Rejected);
        assert_eq!(e.message(), "并发数超过线路剩余并发");
        let e = run(422, r#"{"code":1001,"status":"error","message":"bad","data":[]}"#).unwrap_err();
        assert_eq!(
            (e.kind(), e.http_status(), e.code()),
            (ErrorKind::Rejected, Some(422), Some(1001))
        );
    }

    #[test]
    fn auth_not_found_throttled_by_http_status_or_code() {
        assert_eq!(
            run(401, r#"{"message":"Unauthenticated."}"#).unwrap_err().kind(),
            ErrorKind::Unauthorized
        );
        assert_eq!(run(403, "").unwrap_err().kind(), ErrorKind::Unauthorized);
        assert_eq!(
            run(200, r#"{"code":401,"status":"error","message":"x"}"#)
                .unwrap_err()
                .kind(),
            ErrorKind::Unauthorized
        );
        assert_eq!(run(404, "<html>").unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(
            run(200, r#"{"code":404,"status":"error"}"#).unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            run(200, r#"{"code":429,"status":"error"}"#).unwrap_err().kind(),
            ErrorKind::Throttled
        );
        let e = classify(
            Endpoint::Detail,
            RawResponse {
                status: 429,
                retry_after: Some("7"),
                body: b"",
            },
            "t",
        )
        .unwrap_err();
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    }

    #[test]
    fn server_errors_and_malformed_bodies_are_transient() {
        assert_eq!(
            run(500, r#"{"code":200,"status":"success"}"#).unwrap_err().kind(),
            ErrorKind::Transient
        );
        assert_eq!(run(503, "").unwrap_err().kind(), ErrorKind::Transient);
        assert_eq!(
            run(200, "<html>gateway</html>").unwrap_err().kind(),
            ErrorKind::Transient
        );
        assert_eq!(
            run(200, r#"{"code":200,"status":"succ"#).unwrap_err().kind(),
            ErrorKind::Transient
        );
        assert_eq!(run(200, "[1,2]").unwrap_err().kind(), ErrorKind::Transient);
        assert_eq!(run(200, r#"{"foo":1}"#).unwrap_err().kind(), ErrorKind::Transient);
        assert_eq!(
            run(200, r#"{"code":500,"status":"error"}"#).unwrap_err().kind(),
            ErrorKind::Transient
        );
        // A 4xx that is not JSON is a wrong request, not a passing hiccup.
        assert_eq!(run(405, "Method Not Allowed").unwrap_err().kind(), ErrorKind::Rejected);
    }

    /// Without a platform message, the error quotes the start of what came back, so that the
    /// condition says what the proxy or server answered.
    #[test]
    fn fallback_messages_quote_the_start_of_the_body() {
        assert_eq!(
            run(502, "<html>bad gateway</html>").unwrap_err().message(),
            "server error: <html>bad gateway</html>"
        );
        assert_eq!(run(503, "  ").unwrap_err().message(), "server error: (empty body)");
        assert_eq!(
            run(200, "[1,2]").unwrap_err().message(),
            "response is not a JSON envelope: [1,2]"
        );
        assert_eq!(
            run(200, r#"{"code":1001,"status":"error"}"#).unwrap_err().message(),
            r#"error envelope: {"code":1001,"status":"error"}"#
        );
    }

    #[test]
    fn no_error_class_echoes_the_token() {
        let echo = r#"{"code":CODE,"status":"error","message":"bad tok-123456"}"#;
        for (status, code, kind) in [
            (200, 6007, ErrorKind::TaskStarted),
            (200, 1001, ErrorKind::Rejected),
            (401, 401, ErrorKind::Unauthorized),
            (404, 404, ErrorKind::NotFound),
            (429, 429, ErrorKind::Throttled),
            (500, 500, ErrorKind::Transient),
        ] {
            let e = run(status, &echo.replace("CODE", &code.to_string())).unwrap_err();
            assert_eq!(e.kind(), kind);
            assert!(e.message().contains("***"));
            assert!(!format!("{e} {e:?}").contains("tok-123456"), "{e:?}");
        }
    }

    /// A proxy or error page that echoes the request headers: every fallback message (built
    /// from the body, not from an envelope message) is redacted, including when the 120-character
    /// cut falls inside the token.
    #[test]
    fn fallback_messages_from_echoed_headers_never_hold_the_token() {
        let page = |pad: usize| format!("{}authorization: Bearer tok-123456; user-agent: x", "x".repeat(pad));
        for pad in [0, 100, 110, 115] {
            for (status, body, kind) in [
                (500, page(pad), ErrorKind::Transient),
                (200, page(pad), ErrorKind::Transient),
                (405, page(pad), ErrorKind::Rejected),
                (
                    200,
                    format!(r#"{{"code":1001,"status":"error","headers":"{}"}}"#, page(pad)),
                    ErrorKind::Rejected,
                ),
                (
                    200,
                    format!(r#"{{"code":6007,"status":"error","headers":"{}"}}"#, page(pad)),
                    ErrorKind::TaskStarted,
                ),
            ] {
                let e = run(status, &body).unwrap_err();
                assert_eq!(e.kind(), kind, "{body}");
                let printed = format!("{e} {e:?}");
                assert!(!printed.contains("tok-1"), "pad {pad}: {printed}");
            }
        }
    }

    #[test]
    fn messages_never_echo_the_token() {
        let e = run(401, r#"{"message":"token tok-123456 is invalid"}"#).unwrap_err();
        assert!(!format!("{e} {e:?}").contains("tok-123456"));
    }

    #[test]
    fn retry_after_seconds_and_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // 1994-11-06 08:49:37Z
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }
}
