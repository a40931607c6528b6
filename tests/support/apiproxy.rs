//! A fault-injecting proxy in front of the test control plane's kube-apiserver, for tests of the
//! operator when the Kubernetes side fails: chosen requests (by method and path) are refused
//! with an HTTP error, forwarded and their answer lost, or held before they are forwarded (a
//! slow API server); a watch can be told it fell too far behind (410 Gone, so the watcher lists
//! again); streams in flight can be cut. Requests are matched on
//! their path and query. Everything else, watches included, is
//! passed through as it streams. The operator is pointed at it with the kubeconfig it writes
//! (plain HTTP on loopback, the plane's admin token).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use futures::StreamExt;
use serde_json::{Value, json};

/// What happens to a request that matches a [`Fault`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultMode {
    /// Answered with the status at once; the API server never sees it.
    Refuse(u16),
    /// Forwarded (its effect happens), then answered with the status instead of the real answer.
    LoseAnswer(u16),
    /// Forwarded after this long, as by an API server that takes its time over writes.
    Delay(std::time::Duration),
    /// A watch answered with one ERROR event, code 410 (the resourceVersion it resumes from is too
    /// old: what the API server says to a watch that fell behind), and ended.
    WatchGone,
}

#[derive(Clone, Debug)]
struct Fault {
    method: String,
    path_contains: String,
    /// Matching requests let through untouched before the fault applies.
    skip: u32,
    remaining: u32,
    mode: FaultMode,
}

struct Shared {
    faults: Mutex<Vec<Fault>>,
    /// Bumped to end every streamed answer in flight.
    cut: tokio::sync::watch::Sender<u64>,
    /// Every request seen: (method, path, faulted).
    seen: Mutex<Vec<(String, String, bool)>>,
}

pub struct ApiProxy {
    /// A kubeconfig for the proxy (give it to the operator as KUBECONFIG).
    pub kubeconfig: PathBuf,
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for ApiProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl ApiProxy {
    /// Starts a proxy to the plane named by KUBECONFIG.
    pub async fn start() -> Self {
        let path = super::kubeconfig_path();
        let kubeconfig: Value = serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let upstream = kubeconfig["clusters"][0]["cluster"]["server"]
            .as_str()
            .expect("kubeconfig server")
            .trim_end_matches('/')
            .to_string();
        let token = kubeconfig["users"][0]["user"]["token"]
            .as_str()
            .expect("kubeconfig token (the plane's admin user)")
            .to_string();
        let ca = path.parent().unwrap().join("pki/ca.crt");
        let ca = std::fs::read(&ca).unwrap_or_else(|e| panic!("the plane's CA {}: {e}", ca.display()));
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
            .build()
            .unwrap();
        let shared = Arc::new(Shared {
            faults: Mutex::default(),
            cut: tokio::sync::watch::channel(0).0,
            seen: Mutex::default(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .fallback(forward)
            .with_state((http, upstream, shared.clone()));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let dir = tempfile::tempdir().unwrap();
        let config = json!({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "proxy", "cluster": {"server": format!("http://{addr}")}}],
            "users": [{"name": "admin", "user": {"token": token}}],
            "contexts": [{"name": "proxy", "context": {"cluster": "proxy", "user": "admin"}}],
            "current-context": "proxy",
        });
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, serde_yaml::to_string(&config).unwrap()).unwrap();
        ApiProxy {
            kubeconfig,
            addr,
            shared,
            server,
            _dir: dir,
        }
    }

    /// The next `count` requests with `method` whose path and query contain every space-separated
    /// part of `path_contains` get `mode` (faults are tried in the order they were added).
    pub fn fail(&self, method: &str, path_contains: &str, count: u32, mode: FaultMode) {
        self.fail_after(method, path_contains, 0, count, mode);
    }

    /// The same, after letting `skip` matching requests through.
    pub fn fail_after(&self, method: &str, path_contains: &str, skip: u32, count: u32, mode: FaultMode) {
        self.shared.faults.lock().unwrap().push(Fault {
            method: method.to_uppercase(),
            path_contains: path_contains.into(),
            skip,
            remaining: count,
            mode,
        });
    }

    /// Drops the faults not used up yet.
    pub fn clear_faults(&self) {
        self.shared.faults.lock().unwrap().clear();
    }

    /// Ends every streamed answer in flight (the watches), as a dropped connection would.
    pub fn cut_streams(&self) {
        self.shared.cut.send_modify(|n| *n += 1);
    }

    /// Faults not used up yet.
    pub fn faults_left(&self) -> u32 {
        self.shared.faults.lock().unwrap().iter().map(|f| f.remaining).sum()
    }

    /// Every request seen whose path and query contain `part`: "METHOD path?query", and "(faulted)".
    pub fn requests(&self, part: &str) -> Vec<String> {
        let seen = self.shared.seen.lock().unwrap();
        seen.iter()
            .filter(|(_, p, _)| p.contains(part))
            .map(|(m, p, hit)| format!("{m} {p}{}", if *hit { " (faulted)" } else { "" }))
            .collect()
    }

    /// Requests seen with `method` whose path and query contain every space-separated part of
    /// `path_contains`: (all, faulted).
    pub fn count(&self, method: &str, path_contains: &str) -> (usize, usize) {
        let seen = self.shared.seen.lock().unwrap();
        let matching = seen
            .iter()
            .filter(|(m, p, _)| m.eq_ignore_ascii_case(method) && contains_all(p, path_contains));
        let (all, faulted) = matching.fold((0, 0), |(a, f), (_, _, hit)| (a + 1, f + usize::from(*hit)));
        (all, faulted)
    }
}

type ProxyState = (reqwest::Client, String, Arc<Shared>);

async fn forward(State((http, upstream, shared)): State<ProxyState>, request: Request) -> Response {
    let method = request.method().as_str().to_string();
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let fault = {
        let mut faults = shared.faults.lock().unwrap();
        faults
            .iter_mut()
            .find(|f| f.remaining > 0 && f.method == method && contains_all(&path_and_query, &f.path_contains))
            .and_then(|f| {
                if f.skip > 0 {
                    f.skip -= 1;
                    return None;
                }
                f.remaining -= 1;
                Some(f.mode)
            })
    };
    shared
        .seen
        .lock()
        .unwrap()
        .push((method.clone(), path_and_query.clone(), fault.is_some()));
    match fault {
        Some(FaultMode::Refuse(code)) => return error(code),
        Some(FaultMode::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(FaultMode::WatchGone) => return watch_gone(),
        _ => {}
    }
    let headers = request.headers().clone();
    let body = axum::body::to_bytes(request.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    let mut upstream_request = http.request(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
        format!("{upstream}{path_and_query}"),
    );
    for (name, value) in copyable(&headers) {
        upstream_request = upstream_request.header(name, value);
    }
    let answer = match upstream_request.body(body).send().await {
        Ok(answer) => answer,
        Err(_) => return error(502),
    };
    if let Some(FaultMode::LoseAnswer(code)) = fault {
        return error(code);
    }
    let mut response = Response::builder().status(answer.status().as_u16());
    for (name, value) in copyable(answer.headers()) {
        response = response.header(name, value);
    }
    // Streamed chunk by chunk, so that watches work through the proxy, until cut.
    let mut cut = shared.cut.subscribe();
    let chunks = futures::stream::unfold(answer, |mut answer| async move {
        match answer.chunk().await {
            Ok(Some(chunk)) => Some((Ok::<_, std::io::Error>(chunk), answer)),
            Ok(None) => None,
            Err(e) => Some((Err(std::io::Error::other(e)), answer)),
        }
    })
    .take_until(async move {
        let _ = cut.changed().await;
    });
    response.body(Body::from_stream(chunks)).unwrap()
}

/// Headers passed on both ways (hop-by-hop ones and Host are the proxy's own business).
fn copyable(headers: &HeaderMap) -> impl Iterator<Item = (String, Vec<u8>)> + '_ {
    headers
        .iter()
        .filter(|(name, _)| {
            !matches!(
                name.as_str(),
                "host" | "connection" | "transfer-encoding" | "content-length" | "keep-alive"
            )
        })
        .map(|(name, value)| (name.as_str().to_string(), value.as_bytes().to_vec()))
}

fn contains_all(path_and_query: &str, parts: &str) -> bool {
    parts.split(' ').all(|part| path_and_query.contains(part))
}

/// What the API server streams to a watch resuming from a resourceVersion it no longer has.
fn watch_gone() -> Response {
    let event = json!({"type": "ERROR", "object": {
        "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Expired", "code": 410,
        "message": "too old resource version (injected by the test's API proxy)",
    }});
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Body::from(format!("{event}\n")))
        .unwrap()
}

/// An API-server style error answer.
fn error(code: u16) -> Response {
    let status = json!({
        "kind": "Status", "apiVersion": "v1", "status": "Failure",
        "message": "injected by the test's API proxy", "reason": "InternalError", "code": code,
    });
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap())
        .header("content-type", "application/json")
        .body(Body::from(status.to_string()))
        .unwrap()
}
