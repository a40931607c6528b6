//! The controller's Prometheus metrics (prometheus-client). Remote-call metrics live with the
//! client (`remote::metrics`) and are registered into the same registry.

use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use outbound_core::queue::Priority;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: ReconcileResult,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum ReconcileResult {
    /// In sync, or made so.
    Success,
    /// The reconcile ended with a condition that needs a retry or a human.
    Error,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PriorityLabels {
    pub priority: &'static str,
}

/// Metrics of the reconcile loop.
pub struct ControllerMetrics {
    reconciles: Family<ResultLabels, Counter>,
    reconcile_duration: Histogram,
    drift_detected: Counter,
    operations_in_flight: Gauge,
    queue_waiting: Family<PriorityLabels, Gauge>,
    queue_wait: Family<PriorityLabels, Histogram, fn() -> Histogram>,
}

impl Default for ControllerMetrics {
    fn default() -> Self {
        Self {
            reconciles: Family::default(),
            reconcile_duration: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
            drift_detected: Counter::default(),
            operations_in_flight: Gauge::default(),
            queue_waiting: Family::default(),
            queue_wait: Family::new_with_constructor(wait_histogram),
        }
    }
}

impl ControllerMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "outbound_reconciles",
            "Reconciles of OutboundTasks by result",
            self.reconciles.clone(),
        );
        registry.register(
            "outbound_reconcile_duration_seconds",
            "Time one reconcile of an OutboundTask took",
            self.reconcile_duration.clone(),
        );
        registry.register(
            "outbound_drift_detected",
            "Reconciles that found the remote task different from spec",
            self.drift_detected.clone(),
        );
        registry.register(
            "outbound_operations_in_flight",
            "Pause/update/resume operations currently executing",
            self.operations_in_flight.clone(),
        );
        registry.register(
            "outbound_queue_waiting",
            "Reconciles due but waiting for a worker, by priority (resume, change, first_sight, resync)",
            self.queue_waiting.clone(),
        );
        registry.register(
            "outbound_queue_wait_seconds",
            "Time from a reconcile being due to it getting a worker, by priority; a growing resync \
             wait means resyncs are stretched beyond resyncInterval to leave room for other work",
            self.queue_wait.clone(),
        );
    }

    /// Sets the number of waiting reconciles per priority (in the order of `Priority::ALL`).
    pub fn waiting(&self, counts: [usize; 4]) {
        for (priority, count) in Priority::ALL.iter().zip(counts) {
            let labels = PriorityLabels {
                priority: priority.name(),
            };
            self.queue_waiting.get_or_create(&labels).set(count as i64);
        }
    }

    /// Records how long a reconcile of `priority` waited for its worker.
    pub fn admitted(&self, priority: Priority, waited: Duration) {
        let labels = PriorityLabels {
            priority: priority.name(),
        };
        self.queue_wait.get_or_create(&labels).observe(waited.as_secs_f64());
    }

    pub fn reconciled(&self, result: ReconcileResult, took: Duration) {
        self.reconciles.get_or_create(&ResultLabels { result }).inc();
        self.reconcile_duration.observe(took.as_secs_f64());
    }

    pub fn drift_detected(&self) {
        self.drift_detected.inc();
    }

    /// Counts an operation in flight until the guard is dropped.
    pub fn operation_started(&self) -> InFlight<'_> {
        self.operations_in_flight.inc();
        InFlight(&self.operations_in_flight)
    }
}

pub struct InFlight<'a>(&'a Gauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// 10 ms to about 5.5 minutes.
fn wait_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 16))
}
