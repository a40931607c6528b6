//! Phase 5, idle: one resync period with nothing to do, and the calls of each task in it.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use outbound_sim::{JournalEntry, SimHandle};
use serde::Serialize;

use crate::calls::{CallSummary, millis, summarise};
use crate::mark::Mark;
use crate::operator::Operator;
use crate::procs::{CpuSeconds, MIB, Procs};
use crate::tracker::Ready;

/// The resync interval of phase 5 (the CRD's minimum) and the operator's jitter on it.
const RESYNC: Duration = Duration::from_secs(30);
const JITTER: f64 = 0.10;
const IDLE_SLACK: Duration = Duration::from_secs(3);

/// Phase 5's figures, kept with the phase (a run's `idle` in `results.json`).
#[derive(Debug, Serialize)]
pub struct IdleResult {
    pub resync_interval_s: f64,
    /// Per task: from its last read to that read + interval * 1.1 + slack.
    pub window_s: f64,
    pub wall_s: f64,
    pub reads_per_task: f64,
    pub writes_per_task: f64,
    pub tasks_with_one_read: usize,
    pub tasks_without_read: usize,
    pub tasks_with_more_reads: usize,
    pub tasks_with_writes: usize,
    pub calls: CallSummary,
    pub kube_requests_per_task: BTreeMap<String, f64>,
    pub cpu: CpuSeconds,
    pub operator_cpu_percent: f64,
    /// Operator CPU per in-sync resync.
    pub operator_cpu_ms_per_resync: f64,
    pub operator_rss_mib: f64,
}

pub async fn idle_phase(
    sim: &SimHandle,
    operator: &Operator,
    http: &reqwest::Client,
    procs: &Procs,
    ids: &HashMap<String, usize>,
    n: usize,
    touch_journal: &[JournalEntry],
) -> anyhow::Result<IdleResult> {
    // Each task's last call of the touch phase: its next resync falls in
    // (last, last + interval * (1 + jitter)].
    let mut last = vec![None::<i64>; n];
    for entry in touch_journal {
        if let Some(i) = entry.task_id.as_ref().and_then(|id| ids.get(id)) {
            let at = millis(&entry.at)?;
            last[*i] = Some(last[*i].map_or(at, |l: i64| l.max(at)));
        }
    }
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let last: Vec<i64> = last.into_iter().map(|l| l.unwrap_or(now_ms)).collect();
    let window_ms = (RESYNC.as_secs_f64() * (1.0 + JITTER) * 1000.0) as i64 + IDLE_SLACK.as_millis() as i64;
    let deadline = last.iter().max().copied().unwrap_or(now_ms) + window_ms;
    let mark = Mark::take(operator, http, procs).await?;
    let started = Instant::now();
    let wait_ms = (deadline - jiff::Timestamp::now().as_millisecond()).max(0) as u64;
    eprintln!(
        "idle: waiting {:.1}s (one resync period of 30s + 10% jitter + {}s slack after each task's last read)",
        wait_ms as f64 / 1000.0,
        IDLE_SLACK.as_secs()
    );
    tokio::time::sleep(Duration::from_millis(wait_ms)).await;
    let phase = mark
        .finish("idle", operator, http, procs, n, Ready::default(), Duration::ZERO)
        .await?;
    let wall_s = started.elapsed().as_secs_f64();

    let journal = sim.journal();
    let mut windowed = Vec::new();
    let mut reads = vec![0usize; n];
    let mut writes = vec![0usize; n];
    for entry in &journal {
        let Some(&i) = entry.task_id.as_ref().and_then(|id| ids.get(id)) else {
            continue;
        };
        let at = millis(&entry.at)?;
        if at > last[i] && at <= last[i] + window_ms {
            if entry.endpoint == "detail" {
                reads[i] += 1;
            } else {
                writes[i] += 1;
            }
            windowed.push(entry.clone());
        }
    }
    let calls = summarise(&windowed, ids, n, &["detail"]);
    let total_reads: usize = reads.iter().sum();
    let total_writes: usize = writes.iter().sum();
    let result = IdleResult {
        resync_interval_s: RESYNC.as_secs_f64(),
        window_s: window_ms as f64 / 1000.0,
        wall_s,
        reads_per_task: total_reads as f64 / n as f64,
        writes_per_task: total_writes as f64 / n as f64,
        tasks_with_one_read: reads.iter().filter(|&&r| r == 1).count(),
        tasks_without_read: reads.iter().filter(|&&r| r == 0).count(),
        tasks_with_more_reads: reads.iter().filter(|&&r| r > 1).count(),
        tasks_with_writes: writes.iter().filter(|&&w| w > 0).count(),
        calls,
        kube_requests_per_task: phase.kube_requests_per_task.clone(),
        operator_cpu_percent: 100.0 * phase.cpu.operator / wall_s,
        operator_cpu_ms_per_resync: 1000.0 * phase.cpu.operator / total_reads.max(1) as f64,
        cpu: phase.cpu.clone(),
        operator_rss_mib: operator.usage().rss_kib as f64 * 1024.0 / MIB,
    };
    eprintln!(
        "idle: {:.3} reads and {:.3} writes per task ({} of {n} with exactly one read); operator {:.2} CPU-s in {:.1}s ({:.1}%), RSS {:.1} MiB; apiserver requests/task {:?}",
        result.reads_per_task,
        result.writes_per_task,
        result.tasks_with_one_read,
        phase.cpu.operator,
        wall_s,
        result.operator_cpu_percent,
        result.operator_rss_mib,
        result.kube_requests_per_task
    );
    Ok(result)
}
