//! Logging set-up shared by the binaries: text for people, JSON for log pipelines.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Installs the global subscriber. `RUST_LOG` overrides the default level (`info`).
pub fn init(format: LogFormat) {
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref());
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Text => registry.with(fmt::layer().with_target(false)).try_init(),
        LogFormat::Json => registry
            .with(fmt::layer().json().flatten_event(true).with_current_span(true))
            .try_init(),
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}

/// kube-runtime opens an INFO span for each reconcile it starts. When every due reconcile started
/// at once and waited for a place, 10,000 spans were alive after a start at 10,000 tasks, about
/// 3 MB of heap (docs/performance.md, "Memory"); work now waits as keys (`controller::intake::queue`),
/// but the span still costs per reconcile. Our own log lines name the task, so the span is off
/// unless `RUST_LOG` names kube_runtime or asks for debug or trace.
const QUIET_RECONCILE_SPANS: &str = "kube_runtime::controller=warn";

/// The log filter for a `RUST_LOG` value (`info` when unset or invalid).
fn filter(rust_log: Option<&str>) -> EnvFilter {
    let spec = rust_log
        .map(str::trim)
        .filter(|spec| !spec.is_empty() && EnvFilter::try_new(spec).is_ok())
        .unwrap_or("info");
    let asks_for_more = ["kube_runtime", "debug", "trace"]
        .iter()
        .any(|word| spec.contains(word));
    if asks_for_more {
        EnvFilter::new(spec)
    } else {
        EnvFilter::new(format!("{spec},{QUIET_RECONCILE_SPANS}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether kube-runtime's per-reconcile span would be recorded under `rust_log`.
    fn reconcile_span_recorded(rust_log: Option<&str>) -> bool {
        let subscriber = tracing_subscriber::registry().with(filter(rust_log));
        tracing::subscriber::with_default(subscriber, || {
            !tracing::span!(target: "kube_runtime::controller", tracing::Level::INFO, "reconciling object")
                .is_disabled()
        })
    }

    #[test]
    fn kube_runtime_reconcile_spans_are_off_unless_asked_for() {
        assert!(!reconcile_span_recorded(None));
        assert!(!reconcile_span_recorded(Some("info")));
        assert!(!reconcile_span_recorded(Some("warn,outbound_operator=debug")));
        assert!(reconcile_span_recorded(Some("info,kube_runtime=info")));
        assert!(reconcile_span_recorded(Some("debug")));
        let events_kept = tracing_subscriber::registry().with(filter(Some("info")));
        tracing::subscriber::with_default(events_kept, || {
            assert!(tracing::enabled!(target: "kube_runtime::controller", tracing::Level::WARN));
            assert!(tracing::enabled!(target: "outbound_operator::controller", tracing::Level::INFO));
        });
    }
}
