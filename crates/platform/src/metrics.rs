//! Prometheus metrics of the platform client: one count and one duration per HTTP attempt
//! (retries included), labelled by account, endpoint and result class, and the time spent waiting
//! for the account's rate limiter. The account's budget (requests per second) is exported from
//! the account cache (`controller::fleet_metrics`), so that budget use is a PromQL ratio.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::AtomicU64;

use super::account::AccountKey;
use super::error::{Endpoint, RemoteError};

/// The account a client works for (empty for a client outside the pool). Named
/// `account_namespace` rather than `namespace`, which Prometheus sets to the scraped pod's.
#[derive(Clone, Debug, Default, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AccountLabels {
    pub account_namespace: String,
    pub account: String,
}

/// Labels of `outbound_remote_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    #[prometheus(flatten)]
    pub account: AccountLabels,
    /// `detail`, `update`, `pause`, `resume`, `token`.
    pub endpoint: &'static str,
    /// `ok`, `task_started`, `rejected`, `unauthorized`, `not_found`, `throttled`, `transient`.
    pub result: &'static str,
}

/// Labels of `outbound_remote_request_duration_seconds`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    #[prometheus(flatten)]
    pub account: AccountLabels,
    pub endpoint: &'static str,
}

type HistogramFamily = Family<EndpointLabels, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    // 5 ms … ~41 s: covers loopback calls up to the longest sensible request timeout.
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

/// The client's metrics. Cheap to clone (the families share their storage); every client of a
/// `ClientPool` records into the same families, through a copy scoped to its account
/// (`for_account`).
#[derive(Clone, Debug)]
pub struct RemoteMetrics {
    account: AccountLabels,
    requests: Family<RequestLabels, Counter>,
    duration: HistogramFamily,
    rate_limit_wait: Family<AccountLabels, Counter<f64, AtomicU64>>,
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
            account: AccountLabels::default(),
            requests: Family::default(),
            duration: Family::new_with_constructor(duration_histogram as fn() -> Histogram),
            rate_limit_wait: Family::default(),
        }
    }

    /// The same metrics, recorded with the labels of `account`.
    pub fn for_account(&self, account: &AccountKey) -> Self {
        RemoteMetrics {
            account: AccountLabels {
                account_namespace: account.namespace.clone(),
                account: account.name.clone(),
            },
            ..self.clone()
        }
    }

    /// Adds `outbound_remote_requests_total{account_namespace,account,endpoint,result}`,
    /// `outbound_remote_request_duration_seconds{account_namespace,account,endpoint}` and
    /// `outbound_remote_rate_limit_wait_seconds_total{account_namespace,account}` to `registry`.
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
        registry.register_with_unit(
            "outbound_remote_rate_limit_wait",
            "Time calls spent waiting for a cell of the account's rate budget (all waiters added up)",
            Unit::Seconds,
            self.rate_limit_wait.clone(),
        );
    }

    /// Records time spent waiting for the account's rate limiter.
    pub fn waited_for_budget(&self, waited: Duration) {
        self.rate_limit_wait
            .get_or_create(&self.account)
            .inc_by(waited.as_secs_f64());
    }

    /// Records one attempt.
    pub fn observe(&self, endpoint: Endpoint, result: Result<(), &RemoteError>, elapsed: Duration) {
        let result = match result {
            Ok(()) => "ok",
            Err(error) => error.kind().as_str(),
        };
        self.requests
            .get_or_create(&RequestLabels {
                account: self.account.clone(),
                endpoint: endpoint.as_str(),
                result,
            })
            .inc();
        self.duration
            .get_or_create(&EndpointLabels {
                account: self.account.clone(),
                endpoint: endpoint.as_str(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// How many attempts of this metrics' account were recorded with these labels (for tests and
    /// diagnostics).
    pub fn request_count(&self, endpoint: Endpoint, result: &'static str) -> u64 {
        self.requests
            .get_or_create(&RequestLabels {
                account: self.account.clone(),
                endpoint: endpoint.as_str(),
                result,
            })
            .get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use prometheus_client::encoding::text::encode;

    #[test]
    fn registers_and_counts_by_account_endpoint_and_result() {
        let metrics = RemoteMetrics::new();
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        let sales = metrics.for_account(&AccountKey::new("sales", "main"));
        let other = metrics.for_account(&AccountKey::new("ops", "main"));
        sales.observe(Endpoint::Detail, Ok(()), Duration::from_millis(12));
        let err = RemoteError::new(ErrorKind::Throttled, Endpoint::Update, Some(429), None, "", None);
        sales.observe(Endpoint::Update, Err(&err), Duration::from_millis(3));
        sales.observe(Endpoint::Update, Err(&err), Duration::from_millis(3));
        other.observe(Endpoint::Update, Err(&err), Duration::from_millis(3));
        sales.waited_for_budget(Duration::from_millis(250));
        assert_eq!(sales.request_count(Endpoint::Update, "throttled"), 2);
        assert_eq!(other.request_count(Endpoint::Update, "throttled"), 1);
        assert_eq!(metrics.request_count(Endpoint::Update, "throttled"), 0);

        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        let sales_labels = r#"account_namespace="sales",account="main""#;
        for line in [
            format!(r#"outbound_remote_requests_total{{{sales_labels},endpoint="detail",result="ok"}} 1"#),
            format!(r#"outbound_remote_requests_total{{{sales_labels},endpoint="update",result="throttled"}} 2"#),
            r#"outbound_remote_requests_total{account_namespace="ops",account="main",endpoint="update",result="throttled"} 1"#.to_string(),
            format!(r#"outbound_remote_request_duration_seconds_count{{{sales_labels},endpoint="detail"}} 1"#),
            format!(r#"outbound_remote_rate_limit_wait_seconds_total{{{sales_labels}}} 0.25"#),
        ] {
            assert!(text.contains(&line), "no `{line}` in\n{text}");
        }
        assert!(text.contains("# UNIT outbound_remote_request_duration_seconds seconds"));
    }
}
