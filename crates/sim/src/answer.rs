//! Responses to platform calls: the envelope in the platform's key order, the assumed error
//! messages, and the fault-shaped answers (429, injected 5xx, cut bodies).

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use super::faults::{InjectedError, Throttle};

/// The platform's one documented error code: update of a task that is not paused.
pub const CODE_NOT_PAUSED: i64 = 6007;
pub const MESSAGE_NOT_PAUSED: &str = "2.0任务启动中,请先停止任务";
/// Assumed (undocumented) answer for an unknown task.
pub const MESSAGE_TASK_NOT_FOUND: &str = "任务不存在";
/// Assumed (undocumented) answer for a missing or wrong token, as Laravel words it.
pub const MESSAGE_UNAUTHENTICATED: &str = "Unauthenticated.";

/// The platform's response envelope. A struct rather than a `json!` map so that the keys keep
/// the platform's order (code, status, message, data), as in the documented bodies.
#[derive(Serialize)]
struct Envelope<'a> {
    code: i64,
    status: &'a str,
    message: &'a str,
    data: Value,
    /// The pagination block of lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    meta: Option<Value>,
}

/// A response under construction, with what the journal needs to know about it.
pub(crate) struct Answer {
    pub http_status: StatusCode,
    pub body: Vec<u8>,
    content_type: &'static str,
    /// Envelope code, `None` when the body is not an envelope.
    pub code: Option<i64>,
    pub fault: Option<&'static str>,
    retry_after: bool,
    /// Already in the journal (a held answer is recorded when the call was performed).
    pub journaled: bool,
}

impl Answer {
    fn envelope(http_status: StatusCode, envelope: Envelope<'_>) -> Self {
        Answer {
            http_status,
            code: Some(envelope.code),
            body: serde_json::to_vec(&envelope).expect("JSON values always serialize"),
            content_type: "application/json",
            fault: None,
            retry_after: false,
            journaled: false,
        }
    }

    /// `{"code":200,"status":"success","message":...,"data":...}`
    pub fn success(message: &str, data: Value) -> Self {
        let envelope = Envelope {
            code: 200,
            status: "success",
            message,
            data,
            meta: None,
        };
        Answer::envelope(StatusCode::OK, envelope)
    }

    /// A list: `{"code":200,"status":"success","message":...,"data":[...],"meta":{...}}`
    pub fn success_with_meta(message: &str, data: Value, meta: Value) -> Self {
        let envelope = Envelope {
            code: 200,
            status: "success",
            message,
            data,
            meta: Some(meta),
        };
        Answer::envelope(StatusCode::OK, envelope)
    }

    /// `{"code":<code>,"status":"error","message":...,"data":[]}`
    pub fn error(http_status: StatusCode, code: i64, message: &str) -> Self {
        let envelope = Envelope {
            code,
            status: "error",
            message,
            data: json!([]),
            meta: None,
        };
        Answer::envelope(http_status, envelope)
    }

    pub fn plain(http_status: StatusCode, text: &str, fault: &'static str) -> Self {
        Answer {
            http_status,
            body: text.as_bytes().to_vec(),
            content_type: "text/html; charset=UTF-8",
            code: None,
            fault: Some(fault),
            retry_after: false,
            journaled: false,
        }
    }

    pub fn throttled(throttle: Throttle) -> Self {
        let mut answer = Answer::error(StatusCode::TOO_MANY_REQUESTS, 429, "Too Many Attempts.");
        answer.fault = Some(throttle.label());
        answer.retry_after = true;
        answer
    }

    pub fn injected(error: InjectedError) -> Self {
        let status = StatusCode::from_u16(error.http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut answer = if error.envelope_body {
            Answer::error(status, i64::from(error.http_status), "Server Error")
        } else {
            Answer::plain(
                status,
                "<html><body><h1>Service Unavailable</h1></body></html>",
                "error",
            )
        };
        answer.fault = Some("error");
        answer
    }

    /// The `echo_headers` fault: an error answer quotes the request headers (see `FaultConfig`).
    pub fn echo_headers(&mut self, headers: &HeaderMap) {
        let is_error = self.http_status != StatusCode::OK || self.code.is_some_and(|code| code != 200);
        if !is_error {
            return;
        }
        let quoted: Vec<String> = headers
            .iter()
            .map(|(name, value)| format!("{name}: {}", String::from_utf8_lossy(value.as_bytes())))
            .collect();
        if self.http_status == StatusCode::OK {
            let body = json!({"code": self.code, "status": "error", "data": [], "request_headers": quoted});
            self.body = serde_json::to_vec(&body).expect("JSON values always serialize");
        } else {
            self.body = format!("{}\nrequest headers:\n{}\n", self.http_status, quoted.join("\n")).into_bytes();
            self.content_type = "text/plain; charset=UTF-8";
            self.code = None;
        }
        self.fault = Some("echo_headers");
    }

    /// Cuts the body in half: a JSON object cut anywhere before its end is never valid JSON.
    pub fn malform(&mut self) {
        let text = String::from_utf8_lossy(&self.body).into_owned();
        let mut cut = text.len() / 2;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        self.body = text.as_bytes()[..cut].to_vec();
        self.code = None;
        self.fault = Some("malformed");
    }

    pub fn into_response(self) -> Response {
        let mut response = (self.http_status, Body::from(self.body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        if self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_bodies_are_never_valid_json() {
        for mut answer in [
            Answer::success("修改成功", json!("")),
            Answer::error(StatusCode::OK, 6007, MESSAGE_NOT_PAUSED),
        ] {
            answer.malform();
            assert!(serde_json::from_slice::<Value>(&answer.body).is_err());
            assert_eq!(answer.code, None);
        }
    }

    #[test]
    fn echoed_headers_replace_error_bodies_only() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer sim-secret-1"));
        let mut unauthorized = Answer::error(StatusCode::UNAUTHORIZED, 401, MESSAGE_UNAUTHENTICATED);
        unauthorized.echo_headers(&headers);
        let text = String::from_utf8(unauthorized.body).unwrap();
        assert!(text.starts_with("401 Unauthorized\n") && text.contains("authorization: Bearer sim-secret-1"));
        assert_eq!((unauthorized.code, unauthorized.fault), (None, Some("echo_headers")));

        let mut started = Answer::error(StatusCode::OK, CODE_NOT_PAUSED, MESSAGE_NOT_PAUSED);
        started.echo_headers(&headers);
        let body: Value = serde_json::from_slice(&started.body).unwrap();
        assert_eq!(body["code"], CODE_NOT_PAUSED);
        assert!(body.get("message").is_none());
        assert_eq!(body["request_headers"][0], "authorization: Bearer sim-secret-1");
        assert_eq!(started.code, Some(CODE_NOT_PAUSED));

        let mut success = Answer::success("ok", json!(""));
        let before = success.body.clone();
        success.echo_headers(&headers);
        assert_eq!((success.body, success.fault), (before, None));
    }

    #[test]
    fn envelopes_keep_the_platform_key_order() {
        let answer = Answer::error(StatusCode::UNAUTHORIZED, 401, MESSAGE_UNAUTHENTICATED);
        assert_eq!(
            String::from_utf8(answer.body).unwrap(),
            r#"{"code":401,"status":"error","message":"Unauthenticated.","data":[]}"#
        );
    }
}
