//! Counts the operator's own requests to the Kubernetes API server, by verb and resource, so that
//! its load on the cluster is visible (`outbound_kube_requests_total`) and benchmarks can report it.

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

    pub fn count(&self, method: &http::Method, uri: &http::Uri) {
        self.requests.get_or_create(&labels(method, uri)).inc();
    }
}

fn labels(method: &http::Method, uri: &http::Uri) -> RequestLabels {
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
    RequestLabels {
        verb: verb.into(),
        resource,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(method: http::Method, uri: &str) -> (String, String) {
        let l = labels(&method, &uri.parse().unwrap());
        (l.verb, l.resource)
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
