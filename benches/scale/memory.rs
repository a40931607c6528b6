//! The memory run: the operator's resident memory on a fleet that exists before it starts, as
//! after a restart or a failover: N OutboundTasks (default 10,000) are created with no operator
//! running, then
//!
//! 1. first sync: an operator starts, lists them all and reconciles each (a read and the first
//!    status write), until all are Ready;
//! 2. restart: it is stopped and a new one starts on the Ready fleet: the same list, then a read
//!    per task and no write.
//!
//! For each: peak RSS (sampled every 100 ms, and VmHWM) and RSS once every task is Ready.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::ensure;
use kube::api::Api;
use outbound_api::OutboundTask;
use outbound_sim::{FaultConfig, SimHandle};
use serde::Serialize;

use crate::Env;
use crate::cluster::{create_all, setup_namespace};
use crate::fixtures::{in_sync_fleet, simulator};
use crate::operator::Operator;
use crate::procs::MIB;
use crate::tracker::Tracker;

#[derive(Debug, Serialize)]
pub struct MemoryResult {
    pub tasks: usize,
    pub concurrency: u16,
    pub operator: String,
    pub first_sync: MemoryStep,
    pub restart: MemoryStep,
    /// The higher of the two peaks (target: under 64 MiB at 10,000 tasks).
    pub peak_rss_mib: f64,
}

#[derive(Debug, Serialize)]
pub struct MemoryStep {
    /// From the operator's start until every task was read (and, on the first sync, Ready).
    pub done_s: f64,
    pub peak_rss_mib: f64,
    /// RSS when done, and 10 s later.
    pub rss_at_done_mib: f64,
    pub rss_after_10s_mib: f64,
}

pub async fn memory_run(env: &Env) -> anyhow::Result<MemoryResult> {
    let n = env.args.memory_tasks;
    let concurrency = env.args.concurrency[0];
    let run_id: u32 = rand::random();
    let ns = format!("bench-memory-n{n}-{:06x}", run_id & 0xff_ffff);
    let token = format!("bench-token-{run_id:08x}");
    let sim = simulator(&token, FaultConfig::default()).await?;
    let (tasks, _) = in_sync_fleet(&sim, n, run_id, "1h")?;
    setup_namespace(&env.client, &ns, &token, &sim.base_url(), 1000, 1000).await?;
    let api: Api<OutboundTask> = Api::namespaced(env.client.clone(), &ns);
    let tracker = Tracker::start(api.clone());
    let sent = create_all(&api, tasks).await?;
    eprintln!(
        "memory: {n} OutboundTasks created in {:.1}s, no operator running",
        sent.as_secs_f64()
    );

    let timeout = Duration::from_secs(120) + Duration::from_millis(60 * n as u64);
    let started = Instant::now();
    let mut operator = Operator::start(env, &ns, concurrency, &format!("memory-n{n}-first"))?;
    tracker.wait(n, 1, started, timeout).await?;
    let first_sync = settle(&operator, &sim, n, started, timeout, "first sync").await?;
    operator.stop();

    let started = Instant::now();
    sim.clear_journal();
    let mut operator = Operator::start(env, &ns, concurrency, &format!("memory-n{n}-restart"))?;
    let restart = settle(&operator, &sim, n, started, timeout, "restart").await?;
    operator.stop();
    drop(tracker);
    sim.shutdown().await;
    Ok(MemoryResult {
        tasks: n,
        concurrency,
        operator: env.args.operator.display().to_string(),
        peak_rss_mib: first_sync.peak_rss_mib.max(restart.peak_rss_mib),
        first_sync,
        restart,
    })
}

/// Waits until the operator has read every task since `started`, then samples its memory.
async fn settle(
    operator: &Operator,
    sim: &SimHandle,
    n: usize,
    started: Instant,
    timeout: Duration,
    label: &str,
) -> anyhow::Result<MemoryStep> {
    loop {
        let read: HashSet<String> = sim
            .journal()
            .into_iter()
            .filter(|e| e.endpoint == "detail" && e.http_status == Some(200))
            .filter_map(|e| e.task_id)
            .collect();
        if read.len() >= n {
            break;
        }
        ensure!(
            started.elapsed() < timeout,
            "{label}: only {} of {n} tasks read after {timeout:?}",
            read.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let done_s = started.elapsed().as_secs_f64();
    let at_done = operator.usage().rss_kib;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let mib = |kib: u64| kib as f64 * 1024.0 / MIB;
    let step = MemoryStep {
        done_s,
        peak_rss_mib: mib(operator.peak_rss_kib()),
        rss_at_done_mib: mib(at_done),
        rss_after_10s_mib: mib(operator.usage().rss_kib),
    };
    eprintln!(
        "memory: {label}: {n} tasks read in {done_s:.1}s; RSS peak {:.1} MiB, when done {:.1} MiB, 10 s later {:.1} MiB",
        step.peak_rss_mib, step.rss_at_done_mib, step.rss_after_10s_mib
    );
    Ok(step)
}

/// The Markdown table of the memory runs (empty when there were none).
pub fn render_memory(runs: &[MemoryResult]) -> String {
    if runs.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\nMemory (a fleet that exists before the operator starts):\n\n\
         | tasks | conc. | operator | first sync: s, RSS peak / done / +10 s MiB | restart: s, RSS peak / done / +10 s MiB | < 64 MiB |\n\
         |---:|---:|---|---|---|---|\n",
    );
    for r in runs {
        let cell = |s: &MemoryStep| {
            format!(
                "{:.1} s, {:.1} / {:.1} / {:.1}",
                s.done_s, s.peak_rss_mib, s.rss_at_done_mib, s.rss_after_10s_mib
            )
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            r.tasks,
            r.concurrency,
            r.operator,
            cell(&r.first_sync),
            cell(&r.restart),
            if r.peak_rss_mib < 64.0 { "yes" } else { "NO" }
        ));
    }
    out
}
