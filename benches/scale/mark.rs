//! A phase's measurement: the operator's counters and everyone's CPU at its start and end.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::operator::Operator;
use crate::procs::{CpuSeconds, MIB, Procs};
use crate::results::{CallSummary, PhaseResult};
use crate::scrape::{Scrape, label};
use crate::tracker::Ready;

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
            let key = format!("{} {}", label(labels, "verb"), label(labels, "resource"));
            kube_requests_per_task.insert(key, value / n as f64);
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
