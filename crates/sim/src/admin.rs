//! Admin endpoints under `/_sim/` (no authentication, never journaled): inspect and steer the
//! simulator from tests and scripts.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::config::TaskFixture;
use super::faults::FaultConfig;
use super::run_state::{STATUS_PAUSED, STATUS_WAITING};
use super::state::SimState;

type AdminState = State<Arc<SimState>>;

/// The admin routes, to be nested under `/_sim`.
pub(crate) fn router() -> Router<Arc<SimState>> {
    Router::new()
        .route("/healthz", get(|| async { axum::Json(json!({"status": "ok"})) }))
        .route("/journal", get(journal).delete(clear_journal))
        .route("/counters", get(counters))
        .route("/tasks", get(tasks))
        .route("/tasks/{task_id}", get(task).put(put_task))
        .route("/tasks/{task_id}/config", patch(patch_config))
        .route("/tasks/{task_id}/status", put(set_status))
        .route("/lines", get(lines))
        .route("/lines/{line_id}", put(set_line))
        .route("/faults", get(faults).put(set_faults))
        .route("/token", put(set_token))
        .route("/reset", post(reset))
        .fallback(|| async { admin_error(StatusCode::NOT_FOUND, "no such admin endpoint") })
}

fn admin_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"error": message}))).into_response()
}

/// Parses a JSON body, answering 400 with `{"error": ...}` when it does not fit.
#[allow(clippy::result_large_err)] // Response is the handler's return type; boxing gains nothing.
fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, Response> {
    serde_json::from_slice(body)
        .map_err(|error| admin_error(StatusCode::BAD_REQUEST, &format!("invalid body: {error}")))
}

async fn journal(State(state): AdminState) -> Response {
    axum::Json(state.journal()).into_response()
}

async fn clear_journal(State(state): AdminState) -> StatusCode {
    state.clear_journal();
    StatusCode::NO_CONTENT
}

async fn counters(State(state): AdminState) -> Response {
    axum::Json(state.counters()).into_response()
}

async fn tasks(State(state): AdminState) -> Response {
    let tasks: serde_json::Map<String, Value> = state
        .task_ids()
        .into_iter()
        .filter_map(|id| {
            let task = state.task(&id)?;
            Some((id, serde_json::to_value(task).ok()?))
        })
        .collect();
    axum::Json(tasks).into_response()
}

/// `{user_id, status, config, sub_user_id}`; `sub_user_id` is `null` when unset.
async fn task(State(state): AdminState, Path(task_id): Path<String>) -> Response {
    match state.task(&task_id) {
        Some(task) => axum::Json(json!({
            "user_id": task.user_id,
            "status": task.status,
            "config": task.config,
            "sub_user_id": task.sub_user_id,
        }))
        .into_response(),
        None => admin_error(StatusCode::NOT_FOUND, &format!("no task {task_id}")),
    }
}

async fn put_task(State(state): AdminState, Path(task_id): Path<String>, body: Bytes) -> Response {
    let fixture: TaskFixture = match parse(&body) {
        Ok(fixture) => fixture,
        Err(response) => return response,
    };
    if let Err(error) = fixture.validate() {
        return admin_error(StatusCode::BAD_REQUEST, &error.to_string());
    }
    if state.put_task(&task_id, fixture) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        StatusCode::CREATED.into_response()
    }
}

async fn patch_config(State(state): AdminState, Path(task_id): Path<String>, body: Bytes) -> Response {
    let patch: Value = match parse(&body) {
        Ok(patch) => patch,
        Err(response) => return response,
    };
    if !patch.is_object() {
        return admin_error(StatusCode::BAD_REQUEST, "the patch must be a JSON object");
    }
    match state.patch_config(&task_id, patch) {
        Some(config) => axum::Json(config).into_response(),
        None => admin_error(StatusCode::NOT_FOUND, &format!("no task {task_id}")),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: u8,
}

async fn set_status(State(state): AdminState, Path(task_id): Path<String>, body: Bytes) -> Response {
    let StatusBody { status } = match parse(&body) {
        Ok(body) => body,
        Err(response) => return response,
    };
    if !(STATUS_PAUSED..=STATUS_WAITING).contains(&status) {
        return admin_error(StatusCode::BAD_REQUEST, "status must be 1, 2 or 3");
    }
    if state.set_status(&task_id, status) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        admin_error(StatusCode::NOT_FOUND, &format!("no task {task_id}"))
    }
}

async fn lines(State(state): AdminState) -> Response {
    axum::Json(state.lines()).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineBody {
    remaining: u32,
}

async fn set_line(State(state): AdminState, Path(line_id): Path<String>, body: Bytes) -> Response {
    match parse::<LineBody>(&body) {
        Ok(LineBody { remaining }) => {
            state.set_line(&line_id, remaining);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(response) => response,
    }
}

async fn faults(State(state): AdminState) -> Response {
    axum::Json(state.faults()).into_response()
}

async fn set_faults(State(state): AdminState, body: Bytes) -> Response {
    let faults: FaultConfig = match parse(&body) {
        Ok(faults) => faults,
        Err(response) => return response,
    };
    if let Err(message) = faults.validate() {
        return admin_error(StatusCode::BAD_REQUEST, &message);
    }
    state.set_faults(faults);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    token: String,
}

async fn set_token(State(state): AdminState, body: Bytes) -> Response {
    match parse::<TokenBody>(&body) {
        Ok(TokenBody { token }) if !token.is_empty() => {
            state.set_token(token);
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(_) => admin_error(StatusCode::BAD_REQUEST, "token must not be empty"),
        Err(response) => response,
    }
}

async fn reset(State(state): AdminState) -> StatusCode {
    state.reset();
    StatusCode::NO_CONTENT
}
