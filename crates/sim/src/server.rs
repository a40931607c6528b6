//! The platform side of the simulator: one handler for every `/agent-api/...` call that routes
//! it, applies faults, authenticates, performs the operation, and records it in the journal.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::answer::{Answer, CODE_NOT_PAUSED, MESSAGE_NOT_PAUSED, MESSAGE_TASK_NOT_FOUND, MESSAGE_UNAUTHENTICATED};
use super::create::ListQuery;
use super::detail::render_detail;
use super::endpoint::{Route, SimEndpoint, route};
use super::journal::{JournalEntry, Redactor, UNKNOWN_ENDPOINT};
use super::state::{SimState, TaskError, TaskRef};

/// Larger bodies are refused; a task update is a few kilobytes.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// What the token endpoint reports: a token that never expires in practice.
const TOKEN_EXPIRES_AT: &str = "2099-12-31 23:59:59";

/// A platform call as received.
struct Call {
    endpoint: Option<SimEndpoint>,
    /// The path is a platform route but the method is not the route's.
    wrong_method: bool,
    task: Option<(String, String)>,
    query: HashMap<String, String>,
    body: Option<Value>,
    body_is_json: bool,
}

impl Call {
    /// `sub_user_id` from the JSON body (PUT) or else the query string.
    fn sub_user_id(&self) -> Option<String> {
        let from_body = self
            .body
            .as_ref()
            .filter(|_| self.body_is_json)
            .and_then(|body| body.get("sub_user_id"))
            .and_then(Value::as_str);
        from_body
            .or_else(|| self.query.get("sub_user_id").map(String::as_str))
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
    }
}

/// Handles every request that is not under `/_sim/`.
pub(crate) async fn platform_call(State(state): State<Arc<SimState>>, request: Request) -> Response {
    let arrived_at = format!("{:.3}", jiff::Timestamp::now());
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_owned();
    let path = parts.uri.path().to_owned();
    let raw_query = parts.uri.query().map(str::to_owned);
    let presented_token = bearer_token(&parts.headers);
    let accepted_token = state.token();
    let redactor = Redactor::new([accepted_token.as_str(), presented_token.as_deref().unwrap_or_default()]);

    let (body, body_too_large) = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => (bytes, false),
        Err(_) => (Bytes::new(), true),
    };
    let (body, body_is_json) = parse_body(&body);
    let (endpoint, task, wrong_method) = match route(&method, &path) {
        Route::Matched { endpoint, task } => (Some(endpoint), task, false),
        Route::WrongMethod { .. } => (None, None, true),
        Route::Unknown => (None, None, false),
    };
    let call = Call {
        endpoint,
        wrong_method,
        task,
        query: Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .map(|Query(query)| query)
            .unwrap_or_default(),
        body,
        body_is_json,
    };
    let mut entry = JournalEntry {
        seq: 0,
        at: arrived_at,
        endpoint: endpoint.map_or(UNKNOWN_ENDPOINT, SimEndpoint::as_str).to_owned(),
        method: method.clone(),
        path: redactor.text(&path),
        query: raw_query.as_deref().map(|query| redactor.query(query)),
        body: call.body.clone().map(|body| redactor.value(body)),
        http_status: None,
        code: None,
        fault: None,
        task_id: call
            .task
            .as_ref()
            .filter(|(_, task_id)| !task_id.is_empty())
            .map(|(_, task_id)| task_id.clone()),
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|agent| redactor.text(agent)),
    };

    let answer = if body_too_large {
        Answer::error(StatusCode::PAYLOAD_TOO_LARGE, 413, "request body too large")
    } else {
        match answer_call(&state, &call, &method, presented_token.as_deref(), &entry).await {
            Some(answer) => answer,
            // A hang was recorded when it started; its late answer is not recorded again.
            None => {
                return Answer::plain(StatusCode::GATEWAY_TIMEOUT, "Gateway Timeout", "hang").into_response();
            }
        }
    };
    let mut answer = answer;
    if state.with_faults(|faults| faults.config.echo_headers) {
        answer.echo_headers(&parts.headers);
    }
    entry.http_status = Some(answer.http_status.as_u16());
    entry.code = answer.code;
    entry.fault = answer.fault.map(str::to_owned);
    tracing::debug!(endpoint = %entry.endpoint, %method, status = answer.http_status.as_u16(), code = ?answer.code, "platform call");
    if !answer.journaled {
        state.record(entry);
    }
    answer.into_response()
}

/// Applies throttles and faults, then authenticates and performs the call. `None` means the
/// call hung (and has been journaled already).
async fn answer_call(
    state: &SimState,
    call: &Call,
    method: &str,
    presented_token: Option<&str>,
    entry: &JournalEntry,
) -> Option<Answer> {
    if let Some(throttle) = state.with_faults(|faults| faults.throttle(Instant::now())) {
        return Some(Answer::throttled(throttle));
    }
    let Some(endpoint) = call.endpoint else {
        // Laravel resolves routes before authenticating, so unknown paths are 404/405 for all.
        return Some(if call.wrong_method {
            Answer::error(
                StatusCode::METHOD_NOT_ALLOWED,
                405,
                &format!("The {method} method is not supported for this route."),
            )
        } else {
            Answer::error(StatusCode::NOT_FOUND, 404, "Not Found")
        });
    };
    let faults = state.with_faults(|faults| faults.draw(endpoint));
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    if let Some(hang) = faults.hang {
        let mut hung = entry.clone();
        hung.fault = Some("hang".to_owned());
        state.record(hung);
        state.sleep_unless_shutdown(hang).await;
        return None;
    }
    if let Some(error) = faults.error {
        return Some(Answer::injected(error));
    }
    if presented_token != Some(state.token().as_str()) {
        return Some(Answer::error(StatusCode::UNAUTHORIZED, 401, MESSAGE_UNAUTHENTICATED));
    }
    let mut answer = perform(state, endpoint, call);
    if endpoint == SimEndpoint::Create && answer.code == Some(200) {
        answer = created_answer(state, answer, entry).await;
    }
    if faults.malformed && answer.http_status == StatusCode::OK {
        answer.malform();
    }
    Some(answer)
}

/// The answer of a create that made a task, as the create faults shape it: held (journaled
/// first, since the caller may be gone before the answer leaves), lost (HTTP 502).
async fn created_answer(state: &SimState, mut answer: Answer, entry: &JournalEntry) -> Answer {
    let behaviour = state.with_faults(|faults| faults.config.create.clone());
    let hold = behaviour.hold();
    if !hold.is_zero() {
        let mut held = entry.clone();
        held.http_status = Some(if behaviour.lose_response { 502 } else { 200 });
        held.code = (!behaviour.lose_response).then_some(200);
        held.fault = Some("held".to_owned());
        state.record(held);
        state.sleep_unless_shutdown(hold).await;
    }
    if behaviour.lose_response {
        answer = Answer::plain(
            StatusCode::BAD_GATEWAY,
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
            "lost",
        );
    }
    answer.journaled = !hold.is_zero();
    answer
}

/// Performs an authenticated call on the task store.
fn perform(state: &SimState, endpoint: SimEndpoint, call: &Call) -> Answer {
    if endpoint == SimEndpoint::Token {
        let data = json!({"valid": true, "expire_at": TOKEN_EXPIRES_AT});
        return Answer::success("ok", data);
    }
    let Some((user_id, task_id)) = &call.task else {
        unreachable!("every task endpoint route carries user and task ids");
    };
    let sub_user_id = call.sub_user_id();
    let task = TaskRef {
        user_id,
        task_id,
        sub_user_id: sub_user_id.as_deref(),
    };
    let result = match endpoint {
        SimEndpoint::Detail => state
            .detail(task)
            .map(|record| Answer::success("返回任务信息成功", render_detail(&record))),
        SimEndpoint::Update => match update_config(call) {
            Ok(config) => state
                .update(task, config)
                .map(|()| Answer::success("修改成功", json!(""))),
            Err(message) => Err(TaskError::Invalid(message)),
        },
        SimEndpoint::Pause => state.pause(task).map(|()| Answer::success("任务已暂停", json!(""))),
        SimEndpoint::Resume => state.resume(task).map(|()| Answer::success("任务已启动", json!(""))),
        SimEndpoint::Create => match update_config(call) {
            Ok(config) => {
                let behaviour = state.with_faults(|faults| faults.config.create.clone());
                let name = config
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                state
                    .with_platform(|platform| {
                        platform.create(user_id, task.sub_user_id, config, &behaviour, Instant::now())
                    })
                    .map(|id| Answer::success("创建成功", behaviour.answer_data(&id, &name)))
            }
            Err(message) => Err(TaskError::Invalid(message)),
        },
        SimEndpoint::List => {
            let query = ListQuery::parse(&call.query);
            let (data, meta) =
                state.with_platform(|platform| platform.list(user_id, task.sub_user_id, &query, Instant::now()));
            Ok(Answer::success_with_meta("获取成功", data, meta))
        }
        SimEndpoint::Delete => state
            .with_platform(|platform| platform.delete(user_id, task_id, task.sub_user_id, Instant::now()))
            .map(|()| Answer::success("删除成功", json!(""))),
        SimEndpoint::Token => unreachable!("handled above"),
    };
    match result {
        Ok(answer) => answer,
        Err(TaskError::NotFound) => Answer::error(StatusCode::NOT_FOUND, 404, MESSAGE_TASK_NOT_FOUND),
        Err(TaskError::NotPaused) => Answer::error(StatusCode::OK, CODE_NOT_PAUSED, MESSAGE_NOT_PAUSED),
        Err(TaskError::Invalid(message)) => Answer::error(StatusCode::OK, 422, &message),
    }
}

/// The config an update stores: the body minus `sub_user_id`.
fn update_config(call: &Call) -> Result<Value, String> {
    match (&call.body, call.body_is_json) {
        (Some(Value::Object(body)), true) => {
            let mut config = body.clone();
            config.remove("sub_user_id");
            Ok(Value::Object(config))
        }
        _ => Err("the request body must be a JSON object".to_owned()),
    }
}

/// The bearer token of the Authorization header, if any.
fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

/// The body as JSON; non-JSON text is kept as a JSON string so the journal still shows it.
fn parse_body(bytes: &[u8]) -> (Option<Value>, bool) {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return (None, false);
    }
    match serde_json::from_slice(bytes) {
        Ok(value) => (Some(value), true),
        Err(_) => (Some(Value::String(String::from_utf8_lossy(bytes).into_owned())), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn bearer_token_parsing() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(bearer_token(&headers).as_deref(), Some("abc"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), None);
    }

    #[test]
    fn body_parsing_keeps_non_json_text() {
        assert_eq!(parse_body(b"  "), (None, false));
        assert_eq!(parse_body(b"{}"), (Some(json!({})), true));
        assert_eq!(parse_body(b"x=1"), (Some(json!("x=1")), false));
    }
}
