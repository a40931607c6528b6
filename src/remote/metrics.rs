//! Prometheus metrics of the platform client: one count and one duration per HTTP attempt
//! (retries included), labelled by endpoint and by result class.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use super::error::{Endpoint, RemoteError};

/// Labels of `outbound_remote_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `detail`, `update`, `pause`, `resume`, `token`.
    pub endpoint: &'static str,
    /// `ok`, `task_started`, `rejected`, `unauthorized`, `not_found`, `throttled`, `transient`.
    pub result: &'static str,
}

/// Labels of `outbound_remote_request_duration_seconds`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    pub endpoint: &'static str,
}

type HistogramFamily = Family<EndpointLabels, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    // 5 ms … ~41 s: covers loopback calls up to the longest sensible request timeout.
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

/// The client's metrics. Cheap to clone (the families share their storage); every client of a
/// `ClientPool` records into the same instance.
#[derive(Clone, Debug)]
pub struct RemoteMetrics {
    requests: Family<RequestLabels, Counter>,
    duration: HistogramFamily,
}

impl Default for RemoteMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl RemoteMetrics {
    /// Metrics not yet registered anywhere (tests, or a caller that registers later).
    pub fn new() -> Self {
        RemoteMetrics {
            requests: Family::default(),
            duration: Family::new_with_constructor(duration_histogram as fn() -> Histogram),
        }
    }

    /// Adds `outbound_remote_requests_total{endpoint,result}` and
    /// `outbound_remote_request_duration_seconds{endpoint}` to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "outbound_remote_requests",
            "HTTP attempts to the calling platform, retries included, by endpoint and result",
            self.requests.clone(),
        );
        registry.register_with_unit(
            "outbound_remote_request_duration",
            "Duration of one HTTP attempt to the calling platform (rate-limiter wait excluded)",
            Unit::Seconds,
            self.duration.clone(),
        );
    }

    /// Records one attempt.
    pub fn observe(&self, endpoint: Endpoint, result: Result<(), &RemoteError>, elapsed: Duration) {
        let result = match result {
            Ok(()) => "ok",
            Err(error) => error.kind().as_str(),
        };
        self.requests
            .get_or_create(&RequestLabels {
                endpoint: endpoint.as_str(),
                result,
            })
            .inc();
        self.duration
            .get_or_create(&EndpointLabels {
                endpoint: endpoint.as_str(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// How many attempts were recorded with these labels (for tests and diagnostics).
    pub fn request_count(&self, endpoint: Endpoint, result: &'static str) -> u64 {
        self.requests
            .get_or_create(&RequestLabels {
                endpoint: endpoint.as_str(),
                result,
            })
            .get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::error::ErrorKind;
    use prometheus_client::encoding::text::encode;

    #[test]
    fn registers_and_counts_by_endpoint_and_result() {
        let metrics = RemoteMetrics::new();
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        metrics.observe(Endpoint::Detail, Ok(()), Duration::from_millis(12));
        let err = RemoteError::new(ErrorKind::Throttled, Endpoint::Update, Some(429), None, "", None);
        metrics.observe(Endpoint::Update, Err(&err), Duration::from_millis(3));
        metrics.observe(Endpoint::Update, Err(&err), Duration::from_millis(3));
        assert_eq!(metrics.request_count(Endpoint::Update, "throttled"), 2);

        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        assert!(
            text.contains(r#"outbound_remote_requests_total{endpoint="detail",result="ok"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"outbound_remote_requests_total{endpoint="update",result="throttled"} 2"#));
        assert!(text.contains(r#"outbound_remote_request_duration_seconds_count{endpoint="detail"} 1"#));
        assert!(text.contains("# UNIT outbound_remote_request_duration_seconds seconds"));
    }
}
