//! A phase's measurement: the operator's counters and everyone's CPU at its start and end.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::calls::CallSummary;
use crate::operator::Operator;
use crate::procs::{CpuSeconds, MIB, Procs, opt};
use crate::scrape::{Scrape, label};
use crate::tracker::Ready;

/// One phase's figures, as `Mark::finish` measures them (the caller adds the calls from the
/// simulator's journal). Kept with `Mark`, which makes it, so that every run that times a phase
/// depends on this module only.
#[derive(Debug, Clone, Serialize, Default)]
pub struct PhaseResult {
    pub name: String,
    /// From the first create/patch sent to the last task Ready at the phase's generation.
    pub ready_s: f64,
    /// Time to send the N creates/patches (64 in flight).
    pub requests_s: f64,
    /// Per-task time from phase start to Ready.
    pub ready_p50_s: f64,
    pub ready_p99_s: f64,
    pub calls: CallSummary,
    /// The operator's apiserver requests per task, by "verb resource".
    pub kube_requests_per_task: BTreeMap<String, f64>,
    pub kube_requests_total: f64,
    pub reconciles: f64,
    pub reconcile_errors: f64,
    pub cpu: CpuSeconds,
    pub operator_rss_peak_mib: f64,
}

/// Counters and CPU at the start of a phase.
pub struct Mark {
    scrape: Scrape,
    cpu: CpuSeconds,
}

impl Mark {
    pub async fn take(operator: &Operator, http: &reqwest::Client, procs: &Procs) -> anyhow::Result<Self> {
        // `metrics` needs &mut only to reap a dead child; a shared scrape is fine here.
        let text = http.get(&operator.metrics_url).send().await?.text().await?;
        operator.take_sampled_peak_kib();
        Ok(Mark {
            scrape: Scrape::parse(&text),
            cpu: procs.sample(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn finish(
        self,
        name: &str,
        operator: &Operator,
        http: &reqwest::Client,
        procs: &Procs,
        n: usize,
        ready: Ready,
        sent: Duration,
    ) -> anyhow::Result<PhaseResult> {
        let text = http.get(&operator.metrics_url).send().await?.text().await?;
        let scrape = Scrape::parse(&text);
        let cpu = procs.sample();
        let kube = scrape.delta(&self.scrape, "outbound_kube_requests_total");
        let mut kube_requests_per_task = BTreeMap::new();
        let mut kube_total = 0.0;
        for (labels, value) in &kube {
            if *value == 0.0 {
                continue;
            }
            // Summed over the `code` label: one row per verb and resource.
            let key = format!("{} {}", label(labels, "verb"), label(labels, "resource"));
            *kube_requests_per_task.entry(key).or_insert(0.0) += value / n as f64;
            kube_total += value;
        }
        let reconciles = scrape.delta(&self.scrape, "outbound_reconciles_total");
        Ok(PhaseResult {
            name: name.into(),
            ready_s: ready.all_s,
            requests_s: sent.as_secs_f64(),
            ready_p50_s: ready.p50_s,
            ready_p99_s: ready.p99_s,
            calls: CallSummary::default(),
            kube_requests_per_task,
            kube_requests_total: kube_total,
            reconciles: reconciles.values().sum(),
            reconcile_errors: reconciles
                .iter()
                .filter(|(labels, _)| labels.contains("Error") || labels.contains("error"))
                .map(|(_, v)| v)
                .sum::<f64>()
                .max(0.0),
            cpu: cpu.minus(&self.cpu),
            operator_rss_peak_mib: operator.take_sampled_peak_kib() as f64 * 1024.0 / MIB,
        })
    }
}

/// The progress line of a phase on stderr.
pub fn phase_line(p: &PhaseResult) -> String {
    format!(
        "{}: all Ready in {:.2}s (p50 {:.2}s, p99 {:.2}s; requests sent in {:.2}s); calls/task {:?}, {}/{} tasks exactly [{}]; apiserver requests/task {:?}; CPU-s operator {:.2}, apiserver {}, etcd {}, bench {:.2}, others {:.2}; operator RSS peak {:.1} MiB; reconciles {} ({} errors)",
        p.name,
        p.ready_s,
        p.ready_p50_s,
        p.ready_p99_s,
        p.requests_s,
        p.calls.per_task,
        p.calls.tasks_exact,
        p.calls.sequences.iter().map(|(_, c)| c).sum::<usize>(),
        p.calls.expected,
        p.kube_requests_per_task,
        p.cpu.operator,
        opt(p.cpu.apiserver),
        opt(p.cpu.etcd),
        p.cpu.bench,
        p.cpu.others(),
        p.operator_rss_peak_mib,
        p.reconciles,
        p.reconcile_errors
    )
}
