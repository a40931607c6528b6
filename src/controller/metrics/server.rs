//! The metrics and health endpoints: `/metrics`, `/healthz`, `/readyz`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::{Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;

/// Readiness: true once the controller is either leading with its caches synced, or standing by
/// as a follower (a follower is ready to take over), and none of its watches is failing (a leader
/// whose watches cannot list reconciles nothing).
#[derive(Clone, Default)]
pub struct Readiness(Arc<Inner>);

#[derive(Default)]
struct Inner {
    ready: AtomicBool,
    /// The resources whose watch failed, each until when it counts as failing.
    failing: Mutex<BTreeMap<&'static str, Instant>>,
}

impl Readiness {
    pub fn set(&self, ready: bool) {
        self.0.ready.store(ready, Ordering::Relaxed);
    }

    /// Notes that the watch of `resource` counts as failing until `until` (`None`: it works).
    pub fn set_failing_until(&self, resource: &'static str, until: Option<Instant>) {
        let mut failing = self.0.failing.lock().expect("readiness lock");
        match until {
            Some(until) => failing.insert(resource, until),
            None => failing.remove(resource),
        };
    }

    /// The resources whose watch is failing now, in order.
    pub fn failing(&self) -> Vec<&'static str> {
        let now = Instant::now();
        let failing = self.0.failing.lock().expect("readiness lock");
        failing
            .iter()
            .filter(|(_, until)| **until > now)
            .map(|(resource, _)| *resource)
            .collect()
    }

    pub fn get(&self) -> bool {
        self.0.ready.load(Ordering::Relaxed) && self.failing().is_empty()
    }
}

#[derive(Clone)]
struct AppState {
    registry: Arc<Registry>,
    readiness: Readiness,
}

pub async fn serve(addr: SocketAddr, registry: Arc<Registry>, readiness: Readiness) -> anyhow::Result<()> {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(AppState { registry, readiness });
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(addr = %listener.local_addr()?, "serving /metrics, /healthz, /readyz");
    axum::serve(listener, app).await?;
    Ok(())
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut body = String::new();
    match encode(&mut body, &state.registry) {
        Ok(()) => (
            StatusCode::OK,
            [(
                "content-type",
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        ),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [("content-type", "text/plain")],
            String::new(),
        ),
    }
}

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let failing = state.readiness.failing();
    if !failing.is_empty() {
        let message = format!("not ready: the watch of {} is failing", failing.join(", "));
        (StatusCode::SERVICE_UNAVAILABLE, message)
    } else if state.readiness.get() {
        (StatusCode::OK, "ok".to_string())
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready".to_string())
    }
}
