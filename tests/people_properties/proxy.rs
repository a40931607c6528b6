//! A pass-through proxy in front of the simulator: each platform request is a point of the
//! script (`Script::platform_point`), which may set the simulator's faults for it, apply a
//! person's action as it arrives, or make the process crash before or after it takes effect.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;

use super::fake_kube::Verdict;
use super::world::{Script, lock};

struct Proxy {
    http: reqwest::Client,
    simulator: String,
    script: Arc<Mutex<Script>>,
}

/// Starts the proxy; its base URL.
pub async fn start(simulator: String, script: Arc<Mutex<Script>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().expect("bound");
    let proxy = Proxy {
        // Plain HTTP to the simulator: no root certificates to load (100 ms in a debug build).
        http: reqwest::Client::builder()
            .tls_certs_only(Vec::new())
            .build()
            .expect("an HTTP client"),
        simulator,
        script,
    };
    let app = axum::Router::new().fallback(forward).with_state(Arc::new(proxy));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

async fn forward(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let (endpoint, task_id) = endpoint_of(parts.method.as_str(), parts.uri.path());
    let verdict = lock(&proxy.script).platform_point(endpoint, task_id.as_deref());
    if verdict == (Verdict::Hang { after_effect: false }) {
        return futures::future::pending().await;
    }
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("{}{path}", proxy.simulator);
    parts.headers.remove(http::header::HOST);
    parts.headers.remove(http::header::CONTENT_LENGTH);
    let answer = proxy
        .http
        .request(parts.method, url)
        .headers(parts.headers)
        .body(body)
        .send()
        .await;
    if matches!(verdict, Verdict::Hang { .. }) {
        return futures::future::pending().await;
    }
    let mut response = Response::builder();
    let body = match answer {
        Ok(answer) => {
            response = response.status(answer.status());
            if let Some(kind) = answer.headers().get(http::header::CONTENT_TYPE) {
                response = response.header(http::header::CONTENT_TYPE, kind);
            }
            if let Some(after) = answer.headers().get(http::header::RETRY_AFTER) {
                response = response.header(http::header::RETRY_AFTER, after);
            }
            answer.bytes().await.unwrap_or_default()
        }
        Err(_) => {
            response = response.status(502);
            Default::default()
        }
    };
    response.body(Body::from(body)).expect("a valid response")
}

/// The simulator's endpoint of a request on the account's default paths, and its task id.
fn endpoint_of(method: &str, path: &str) -> (&'static str, Option<String>) {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let after = |word: &str| {
        let at = parts.iter().position(|p| *p == word)?;
        parts.get(at + 1).map(|id| (*id).to_owned())
    };
    let endpoint = match (method, parts.as_slice()) {
        (_, [.., "token"]) => "token",
        ("PUT", [.., "task_stop", _]) => "pause",
        ("PUT", [.., "task_start", _]) => "resume",
        ("GET", [.., "edit"]) => "detail",
        ("PUT", _) => "update",
        ("POST", _) => "create",
        ("DELETE", _) => "delete",
        _ => "list",
    };
    let id = match endpoint {
        "pause" => after("task_stop"),
        "resume" => after("task_start"),
        "detail" | "update" | "delete" => after("task"),
        _ => None,
    };
    (endpoint, id)
}
