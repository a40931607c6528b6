//! Results: what the bench writes to `target/bench/results.json`, and what report.rs renders as tables.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use crate::args::Args;
use crate::machine::Machine;
use crate::procs::CpuSeconds;

#[derive(Debug, Serialize)]
pub struct Results {
    pub started_at: String,
    pub finished_at: String,
    pub command: String,
    pub args: Args,
    pub machine: Machine,
    pub runs: Vec<RunResult>,
    pub budget: Vec<BudgetResult>,
    pub pause_budget: Vec<crate::pause_budget::PauseBudgetResult>,
    pub chaos: Vec<crate::chaos::ChaosResult>,
    pub memory: Vec<crate::memory::MemoryResult>,
}

#[derive(Debug, Serialize)]
pub struct RunResult {
    pub tasks: usize,
    pub concurrency: u16,
    pub namespace: String,
    pub phases: Vec<PhaseResult>,
    pub floor: FloorResult,
    pub idle: Option<IdleResult>,
    /// change / floor.best_s (target: at most 2).
    pub change_vs_floor: f64,
    pub initial_vs_floor: f64,
    /// VmHWM of the operator at the end of the run.
    pub operator_peak_rss_mib: f64,
    /// VmRSS at the end of the idle phase (or of the last phase).
    pub operator_steady_rss_mib: f64,
    pub operator_cpu_total_s: f64,
    /// Every remote task holds the changed settings and runs.
    pub remote_verified: bool,
    pub targets: Vec<Target>,
}

#[derive(Debug, Serialize)]
pub struct Target {
    pub name: String,
    pub target: String,
    pub measured: String,
    pub met: bool,
}

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

#[derive(Debug, Clone, Serialize, Default)]
pub struct CallSummary {
    pub total: u64,
    /// Calls per task by endpoint (all answers).
    pub per_task: BTreeMap<String, f64>,
    /// Answers other than 200, by `endpoint:code`.
    pub not_ok: BTreeMap<String, u64>,
    /// The expected per-task sequence and how many tasks had exactly it.
    pub expected: String,
    pub tasks_exact: usize,
    /// Per-task call sequences seen (most frequent first, at most 8).
    pub sequences: Vec<(String, usize)>,
}

#[derive(Debug, Serialize)]
pub struct FloorResult {
    pub patches: usize,
    /// First status write of the N objects, FLOOR_PARALLELISM in flight (not used as the floor).
    pub first_write_s: f64,
    /// N patches with the operator's --concurrency in flight.
    pub same_parallelism_s: f64,
    /// N patches with FLOOR_PARALLELISM in flight.
    pub parallel_s: f64,
    /// The lower of the two: what the cluster can do.
    pub best_s: f64,
    /// N creates of the floor objects, CLIENT_PARALLELISM in flight.
    pub create_s: f64,
    /// CPU seconds during the timed pass of `best_s` (the operator idles meanwhile).
    pub cpu: CpuSeconds,
    /// For comparison, not the floor: the same N writes as JSON merge patches (no server-side
    /// apply), FLOOR_PARALLELISM in flight, and their CPU seconds.
    pub merge_patch_s: f64,
    pub merge_patch_cpu: CpuSeconds,
}

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

#[derive(Debug, Serialize)]
pub struct BudgetResult {
    pub tasks: usize,
    pub simulator_rate_limit_rps: u32,
    pub account_rps: u32,
    pub account_burst: u32,
    pub concurrency: u16,
    pub ready_s: f64,
    pub calls: u64,
    pub answered_429: u64,
    pub max_calls_in_1s_window: usize,
    pub budget_plus_burst: u32,
    pub within_budget_plus_burst: bool,
    pub within_budget: bool,
    pub calls_per_task: BTreeMap<String, f64>,
}

pub fn write_results(path: &Path, results: &mut Results) -> anyhow::Result<()> {
    results.finished_at = format!("{:.0}", jiff::Timestamp::now());
    let text = serde_json::to_string_pretty(results)?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
