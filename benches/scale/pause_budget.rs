//! The pause-budget run (issue 13): N running tasks, in sync, all changed in one commit, on a
//! platform whose pause takes `--pause-budget-pause` (1 s) to take effect and that answers 429
//! past `--budget-rps` (20) requests per second; the account's `rateLimit` is the same rate.
//! Measured: converge time against the ideal 4N/R (each task needs read, pause, update, resume),
//! the pause window of each task (from its pause to its resume, as the simulator's journal has
//! them), the most campaigns paused at once, the busiest 1-second window of calls, the 429s,
//! and the operator's API-server requests per task.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use kube::api::Api;
use outbound_api::OutboundTask;
use outbound_sim::{FaultConfig, JournalEntry};
use serde::Serialize;

use crate::Env;
use crate::calls::{max_in_window, millis, summarise};
use crate::cluster::{create_all, rename_every_task, setup_namespace};
use crate::fixtures::{in_sync_fleet, simulator};
use crate::mark::Mark;
use crate::operator::Operator;
use crate::procs::Procs;
use crate::tracker::Tracker;

/// The operator's default worker count, as in the table.
const WORKERS: u16 = 8;

#[derive(Debug, Clone, Serialize)]
pub struct PauseBudgetResult {
    pub operator: String,
    pub tasks: usize,
    pub rps: u32,
    pub burst: u32,
    pub pause_takes_s: f64,
    pub concurrency: u16,
    /// From the first spec patch to the last task Ready at generation 2.
    pub converge_s: f64,
    /// 4N/R.
    pub ideal_s: f64,
    pub converge_vs_ideal: f64,
    /// Pause to resume per task (seconds): p50, p95, p99, max.
    pub pause_window_s: [f64; 4],
    pub most_paused_at_once: usize,
    pub busiest_1s_window: usize,
    /// The shortest time spanned by `rps + 1` consecutive calls as the simulator's clock has them
    /// (ms; under 1000 means a second held more than the budget): what is left of the
    /// limiter's guard after the real jitter.
    pub tightest_budget_plus_one_ms: i64,
    pub answered_429: u64,
    pub calls_per_task: BTreeMap<String, f64>,
    pub kube_requests_per_task: BTreeMap<String, f64>,
}

pub async fn pause_budget_run(env: &Env) -> anyhow::Result<PauseBudgetResult> {
    let args = &env.args;
    let (n, rps, burst) = (args.pause_budget_tasks, args.budget_rps, args.pause_budget_burst);
    let run_id: u32 = rand::random();
    let label = format!("pause-budget-n{n}");
    let ns = format!("bench-{label}-{:06x}", run_id & 0xff_ffff);
    let token = format!("bench-token-{run_id:08x}");
    let sim = simulator(
        &token,
        FaultConfig {
            rate_limit_rps: Some(f64::from(rps)),
            slow_pause_secs: args.pause_budget_pause_s,
            ..FaultConfig::default()
        },
    )
    .await?;
    let (tasks, ids) = in_sync_fleet(&sim, n, run_id, "1h")?;
    setup_namespace(&env.client, &ns, &token, &sim.base_url(), rps, burst).await?;
    let tracker = Tracker::start(Api::namespaced(env.client.clone(), &ns));
    let mut operator = Operator::start(env, &ns, WORKERS, &label)?;
    operator.wait_ready(&env.http).await?;
    let procs = Procs::new(operator.pid);
    let api: Api<OutboundTask> = Api::namespaced(env.client.clone(), &ns);
    // In sync first: one read per task, within the same budget.
    let timeout = Duration::from_secs(120) + Duration::from_secs_f64(10.0 * n as f64 / f64::from(rps));
    create_all(&api, tasks.clone()).await?;
    tracker.wait(n, 1, Instant::now(), timeout).await?;
    eprintln!("pause budget: {n} tasks in sync; changing every one");

    let mark = Mark::take(&operator, &env.http, &procs).await?;
    sim.clear_journal();
    let started = Instant::now();
    let sent = rename_every_task(&api, &tasks).await?;
    let ready = tracker.wait(n, 2, started, timeout).await?;
    let phase = mark
        .finish("pause-budget", &operator, &env.http, &procs, n, ready, sent)
        .await?;
    operator.stop();
    let journal = sim.journal();
    sim.shutdown().await;
    let kept = env.out_dir.join(format!("journal-{label}.json"));
    std::fs::write(&kept, serde_json::to_vec(&journal)?)?;
    eprintln!("pause budget: the simulator's journal is in {}", kept.display());

    let windows = pause_windows(&journal)?;
    let times: Vec<i64> = journal.iter().map(|e| millis(&e.at)).collect::<Result<_, _>>()?;
    let ideal_s = 4.0 * n as f64 / f64::from(rps);
    let result = PauseBudgetResult {
        operator: args.operator.display().to_string(),
        tasks: n,
        rps,
        burst,
        pause_takes_s: args.pause_budget_pause_s,
        concurrency: WORKERS,
        converge_s: phase.ready_s,
        ideal_s,
        converge_vs_ideal: phase.ready_s / ideal_s,
        pause_window_s: distribution(windows.iter().map(|w| w.1 - w.0).collect()),
        most_paused_at_once: most_at_once(&windows),
        tightest_budget_plus_one_ms: tightest_span(&times, rps as usize + 1),
        busiest_1s_window: max_in_window(times, 1000).0,
        answered_429: journal.iter().filter(|e| e.http_status == Some(429)).count() as u64,
        calls_per_task: summarise(&journal, &ids, n, &["detail", "pause", "update", "resume"]).per_task,
        kube_requests_per_task: phase.kube_requests_per_task,
    };
    eprintln!("{}", line(&result));
    Ok(result)
}

/// Per task, from its first answered pause to its answered resume after it (milliseconds).
fn pause_windows(journal: &[JournalEntry]) -> anyhow::Result<Vec<(i64, i64)>> {
    let mut paused: HashMap<&str, i64> = HashMap::new();
    let mut windows = Vec::new();
    for entry in journal {
        let (Some(task), Some(200)) = (entry.task_id.as_deref(), entry.http_status) else {
            continue;
        };
        let at = millis(&entry.at)?;
        match entry.endpoint.as_str() {
            "pause" => {
                paused.entry(task).or_insert(at);
            }
            "resume" => {
                if let Some(from) = paused.remove(task) {
                    windows.push((from, at));
                }
            }
            _ => {}
        }
    }
    Ok(windows)
}

fn most_at_once(windows: &[(i64, i64)]) -> usize {
    let mut edges: Vec<(i64, i32)> = windows.iter().flat_map(|&(from, to)| [(from, 1), (to, -1)]).collect();
    // At the same millisecond a resume counts before a pause.
    edges.sort();
    let (mut now, mut most) = (0i32, 0i32);
    for (_, step) in edges {
        now += step;
        most = most.max(now);
    }
    most as usize
}

/// The shortest time from the first to the last of `count` consecutive instants (ms).
fn tightest_span(times: &[i64], count: usize) -> i64 {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    sorted
        .windows(count.max(1))
        .map(|w| w[w.len() - 1] - w[0])
        .min()
        .unwrap_or(0)
}

/// p50, p95, p99 and max, in seconds, of durations in milliseconds.
fn distribution(mut ms: Vec<i64>) -> [f64; 4] {
    if ms.is_empty() {
        return [0.0; 4];
    }
    ms.sort_unstable();
    let at = |q: f64| ms[((ms.len() as f64 * q).ceil() as usize).clamp(1, ms.len()) - 1] as f64 / 1000.0;
    [at(0.50), at(0.95), at(0.99), at(1.0)]
}

pub fn line(r: &PauseBudgetResult) -> String {
    format!(
        "pause budget: {} tasks at {} rps (burst {}), pause takes {} s: converge {:.1} s = {:.2} x 4N/R ({:.0} s); \
         pause window p50/p95/p99/max {:.2}/{:.2}/{:.2}/{:.2} s; at most {} paused at once; busiest second {} calls \
         (tightest {} consecutive calls: {} ms); \
         {} answered 429; calls per task {:?}; API-server requests per task {:?}",
        r.tasks,
        r.rps,
        r.burst,
        r.pause_takes_s,
        r.converge_s,
        r.converge_vs_ideal,
        r.ideal_s,
        r.pause_window_s[0],
        r.pause_window_s[1],
        r.pause_window_s[2],
        r.pause_window_s[3],
        r.most_paused_at_once,
        r.busiest_1s_window,
        r.rps + 1,
        r.tightest_budget_plus_one_ms,
        r.answered_429,
        r.calls_per_task,
        r.kube_requests_per_task
    )
}

/// The Markdown table of the pause-budget runs.
pub fn render(runs: &[PauseBudgetResult]) -> String {
    let mut out = String::from(
        "\nPause budget (changed running tasks, simulator limit = account rate):\n\n\
         | operator | tasks | rps | burst | pause takes | converge | vs 4N/R | pause window p50 / p95 / p99 / max | most paused at once | busiest 1 s | 429s |\n\
         |---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|\n",
    );
    for r in runs {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} s | {:.1} s | {:.2}x | {:.2} / {:.2} / {:.2} / {:.2} s | {} | {} | {} |\n",
            r.operator.rsplit('/').next().unwrap_or_default(),
            r.tasks,
            r.rps,
            r.burst,
            r.pause_takes_s,
            r.converge_s,
            r.converge_vs_ideal,
            r.pause_window_s[0],
            r.pause_window_s[1],
            r.pause_window_s[2],
            r.pause_window_s[3],
            r.most_paused_at_once,
            r.busiest_1s_window,
            r.answered_429
        ));
    }
    out
}
