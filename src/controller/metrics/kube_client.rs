//! Counts the operator's own requests to the Kubernetes API server, by verb, resource and answer
//! (`outbound_kube_requests_total`), so that its load on the cluster is visible, benchmarks can
//! report it, and failing writes (a status patch an admission webhook refuses, RBAC missing on
//! events or leases) can raise an alert: a failed status write cannot be reported in the status.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`.
    pub verb: String,
    /// Resource, with its subresource: `outboundtasks/status`, `secrets`, `events`, `leases`.
    pub resource: String,
    /// The HTTP status of the answer (`200`, `403`, `422`, ...), or `error` when none came
    /// (connection refused, timeout, TLS).
    pub code: String,
}

#[derive(Clone, Default)]
pub struct KubeRequestMetrics {
    requests: Family<RequestLabels, Counter>,
}

impl KubeRequestMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "outbound_kube_requests",
            "Requests this operator sent to the Kubernetes API server",
            self.requests.clone(),
        );
    }

    /// The layer for `kube::client::ClientBuilder::with_layer` that counts each request once its
    /// answer (its status line; a watch's body streams on) or its failure is known.
    pub fn layer(&self) -> CountingLayer {
        CountingLayer(self.clone())
    }
}

#[derive(Clone)]
pub struct CountingLayer(KubeRequestMetrics);

impl<S> tower::Layer<S> for CountingLayer {
    type Service = Counting<S>;

    fn layer(&self, inner: S) -> Counting<S> {
        Counting {
            inner,
            metrics: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Counting<S> {
    inner: S,
    metrics: KubeRequestMetrics,
}

type Answer<R, E> = Pin<Box<dyn Future<Output = Result<http::Response<R>, E>> + Send>>;

impl<S, B, R> tower::Service<http::Request<B>> for Counting<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = Answer<R, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let (verb, resource) = verb_and_resource(request.method(), request.uri());
        let answer = self.inner.call(request);
        let requests = self.metrics.requests.clone();
        Box::pin(async move {
            let answer = answer.await;
            let code = match &answer {
                Ok(response) => response.status().as_str().to_string(),
                Err(_) => "error".to_string(),
            };
            requests.get_or_create(&RequestLabels { verb, resource, code }).inc();
            answer
        })
    }
}

fn verb_and_resource(method: &http::Method, uri: &http::Uri) -> (String, String) {
    let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    // /api/v1/... or /apis/<group>/<version>/...; then optional namespaces/<ns>; then
    // <resource>[/<name>[/<subresource>]].
    let rest = match segments.first() {
        Some(&"api") => segments.get(2..).unwrap_or_default(),
        Some(&"apis") => segments.get(3..).unwrap_or_default(),
        _ => &[][..],
    };
    let rest = match rest {
        ["namespaces", _, tail @ ..] if !tail.is_empty() => tail,
        other => other,
    };
    let resource = match rest {
        [resource] | [resource, _] => resource.to_string(),
        [resource, _, sub, ..] => format!("{resource}/{sub}"),
        [] => "other".to_string(),
    };
    let watching = uri
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "watch=true" || p == "watch=1"));
    let named = matches!(rest, [_, _, ..]);
    let verb = match *method {
        http::Method::GET if watching => "watch",
        http::Method::GET if named => "get",
        http::Method::GET => "list",
        http::Method::POST => "create",
        http::Method::PUT => "update",
        http::Method::PATCH => "patch",
        http::Method::DELETE => "delete",
        _ => "other",
    };
    (verb.into(), resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(method: http::Method, uri: &str) -> (String, String) {
        verb_and_resource(&method, &uri.parse().unwrap())
    }

    /// Sends `request` through the counting layer to a server that answers `status` (or fails,
    /// for `None`) and returns the scrape.
    async fn count_one(metrics: &KubeRequestMetrics, request: http::Request<()>, status: Option<u16>) {
        use tower::{Layer, ServiceExt};
        let server = tower::service_fn(move |_: http::Request<()>| async move {
            match status {
                Some(code) => Ok(http::Response::builder().status(code).body(()).unwrap()),
                None => Err("connection refused"),
            }
        });
        let _ = metrics.layer().layer(server).oneshot(request).await;
    }

    #[tokio::test]
    async fn requests_are_counted_with_the_status_of_their_answer() {
        let metrics = KubeRequestMetrics::default();
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        let status = "/apis/outbound.dev/v1alpha1/namespaces/ns/outboundtasks/t1/status";
        let patch = || http::Request::patch(status).body(()).unwrap();
        count_one(&metrics, patch(), Some(200)).await;
        count_one(&metrics, patch(), Some(403)).await;
        count_one(&metrics, patch(), Some(403)).await;
        count_one(&metrics, patch(), None).await;
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        let series = r#"outbound_kube_requests_total{verb="patch",resource="outboundtasks/status",code="#;
        for line in [
            format!(r#"{series}"200"}} 1"#),
            format!(r#"{series}"403"}} 2"#),
            format!(r#"{series}"error"}} 1"#),
        ] {
            assert!(text.contains(&line), "no `{line}` in\n{text}");
        }
    }

    #[test]
    fn requests_are_labelled_by_verb_and_resource() {
        let tasks = "/apis/outbound.dev/v1alpha1/namespaces/ns/outboundtasks";
        assert_eq!(
            of(http::Method::GET, &format!("{tasks}?watch=true&resourceVersion=1")),
            ("watch".into(), "outboundtasks".into())
        );
        assert_eq!(
            of(http::Method::GET, &format!("{tasks}?limit=500")),
            ("list".into(), "outboundtasks".into())
        );
        assert_eq!(
            of(http::Method::PATCH, &format!("{tasks}/t1/status?force=true")),
            ("patch".into(), "outboundtasks/status".into())
        );
        assert_eq!(
            of(http::Method::GET, "/api/v1/namespaces/ns/secrets/token"),
            ("get".into(), "secrets".into())
        );
        assert_eq!(
            of(http::Method::POST, "/apis/events.k8s.io/v1/namespaces/ns/events"),
            ("create".into(), "events".into())
        );
        assert_eq!(
            of(http::Method::GET, "/apis/outbound.dev/v1alpha1/outboundtasks"),
            ("list".into(), "outboundtasks".into())
        );
    }
}
