//! The chaos run (issue "Under load the work that matters starves"): N running campaigns in
//! sync on one account (platform limit 200 rps), `resyncInterval: 30s`, a platform whose pause
//! takes 1 s to take effect and that fails about a fifth of the calls, one spec change to all N,
//! then the operator SIGKILLed K times in the first W seconds and the last instance left running.
//!
//! Measured from the last start: until every campaign a killed instance left paused runs again,
//! until every task is Ready at the changed generation, the longest pause window (effective
//! pause → effective resume per task, from the simulator's journal), and the tasks the last
//! instance never called the platform for.

use std::time::{Duration, Instant};

use kube::api::{Api, ListParams};
use outbound_api::OutboundTask;
use outbound_sim::{FaultConfig, STATUS_RUNNING, SimEndpoint};
use serde::Serialize;
use serde_json::json;

use crate::Env;
use crate::chaos_journal::{PauseWindows, Restart, analyse};
use crate::cluster::{create_all, patch_all, setup_namespace};
use crate::fixtures::{in_sync_fleet, remote_config, simulator};
use crate::operator::Operator;
use crate::tracker::{Tracker, ready_generation};

/// The platform's rate limit, and the account's (so that the budget is not the limit).
const PLATFORM_RPS: u32 = 200;
const RESYNC: &str = "30s";
const SLOW_PAUSE_SECS: f64 = 1.0;
const HANG_SECS: u64 = 12;

#[derive(Debug, Serialize)]
pub struct ChaosResult {
    pub tasks: usize,
    pub concurrency: u16,
    pub operator: String,
    pub kills: u32,
    pub kill_window_s: f64,
    pub faults: FaultConfig,
    /// Setup: the N tasks created and Ready, without faults.
    pub setup_ready_s: f64,
    /// From the spec change to the last start.
    pub last_start_after_change_s: f64,
    /// How long the last instance was watched (until all Ready, or the timeout).
    pub watched_s: f64,
    pub restart: Restart,
    /// From the last start until every task was Ready at the changed generation.
    pub all_ready_s: Option<f64>,
    pub ready_at_end: usize,
    pub pause_windows: PauseWindows,
    /// Every remote task runs with the changed settings at the end.
    pub remote_updated_and_running: usize,
    pub calls: u64,
    /// Calls by outcome (`200`, `6007`, `429`, `error`, `malformed`, `hang`, ...).
    pub calls_by_outcome: std::collections::BTreeMap<String, u64>,
}

/// About a fifth of the task calls fail: 10% 500/503 without effect, 5% performed but the answer
/// lost, 3% hang for 12 s (longer than the operator's 10 s request timeout); 429s when the
/// operator exceeds the platform's 200 rps.
fn chaos_faults() -> FaultConfig {
    let mut faults = FaultConfig {
        rate_limit_rps: Some(f64::from(PLATFORM_RPS)),
        slow_pause_secs: SLOW_PAUSE_SECS,
        hang_secs: HANG_SECS,
        ..FaultConfig::default()
    };
    for endpoint in SimEndpoint::TASK {
        let f = faults.endpoint_mut(endpoint);
        f.error_rate = 0.10;
        f.malformed_rate = 0.05;
        f.hang_rate = 0.03;
    }
    faults
}

pub async fn chaos_run(env: &Env) -> anyhow::Result<ChaosResult> {
    let n = env.args.chaos_tasks;
    let kills = env.args.chaos_kills;
    let window = Duration::from_secs_f64(env.args.chaos_kill_window_s);
    let concurrency = env.args.chaos_concurrency;
    let run_id: u32 = rand::random();
    let ns = format!("bench-chaos-n{n}-{:06x}", run_id & 0xff_ffff);
    // Log files named after the run: the next run must not overwrite them.
    let label = format!("chaos-n{n}-{:06x}", run_id & 0xff_ffff);
    let token = format!("bench-token-{run_id:08x}");
    let sim = simulator(
        &token,
        FaultConfig {
            rate_limit_rps: Some(f64::from(PLATFORM_RPS)),
            ..FaultConfig::default()
        },
    )
    .await?;
    let (tasks, ids) = in_sync_fleet(&sim, n, run_id, RESYNC)?;
    setup_namespace(&env.client, &ns, &token, &sim.base_url(), PLATFORM_RPS, PLATFORM_RPS).await?;
    let api: Api<OutboundTask> = Api::namespaced(env.client.clone(), &ns);
    let tracker = Tracker::start(api.clone());

    // Setup: in sync and Ready, no faults.
    let mut operator = Operator::start(env, &ns, concurrency, &format!("{label}-setup"))?;
    operator.wait_ready(&env.http).await?;
    let started = Instant::now();
    create_all(&api, tasks.clone()).await?;
    let setup = tracker
        .wait(
            n,
            1,
            started,
            Duration::from_secs(120) + Duration::from_millis(60 * n as u64),
        )
        .await?;
    operator.stop();
    eprintln!("chaos: setup: {n} tasks Ready in {:.1}s", setup.all_s);

    let faults = chaos_faults();
    sim.set_faults(faults.clone())?;
    sim.clear_journal();
    let changed_at = Instant::now();
    patch_all(
        &api,
        &tasks,
        |t| json!({"spec": {"task": {"name": format!("{}-v2", t.spec.task.name)}}}),
    )
    .await?;
    let pace = window / kills.max(1);
    for k in 0..kills {
        let instance = Operator::start(env, &ns, concurrency, &format!("{label}-k{k:02}"))?;
        tokio::time::sleep(pace).await;
        // Dropping an Operator SIGKILLs it: no graceful shutdown, mid-operation.
        drop(instance);
    }
    let restart_ms = jiff::Timestamp::now().as_millisecond();
    let restarted = Instant::now();
    let last_start_after_change_s = changed_at.elapsed().as_secs_f64();
    let mut last = Operator::start(env, &ns, concurrency, &format!("{label}-last"))?;
    eprintln!(
        "chaos: {kills} kills in {:.0}s; last instance started {last_start_after_change_s:.1}s after the change",
        window.as_secs_f64()
    );

    let timeout = Duration::from_secs_f64(env.args.chaos_timeout_s);
    let all_ready_s = match tracker.wait(n, 2, restarted, timeout).await {
        Ok(ready) => Some(ready.all_s),
        Err(error) => {
            eprintln!("chaos: {error:#}");
            None
        }
    };
    let watched_s = restarted.elapsed().as_secs_f64();
    let end_ms = jiff::Timestamp::now().as_millisecond();
    let listed = api.list(&ListParams::default()).await?.items;
    let ready_at_end = listed.iter().filter(|t| ready_generation(t) == Some(2)).count();
    last.stop();
    drop(tracker);
    let journal = sim.journal();
    let remote_updated_and_running = tasks
        .iter()
        .filter(|t| {
            let mut spec = t.spec.clone();
            spec.task.name = format!("{}-v2", t.spec.task.name);
            sim.task(t.spec.task_id.as_deref().unwrap())
                .is_some_and(|remote| remote.status == STATUS_RUNNING && remote.config == remote_config(&spec))
        })
        .count();
    sim.shutdown().await;

    let (pause_windows, restart) = analyse(&journal, &ids, restart_ms, end_ms)?;
    let mut calls_by_outcome = std::collections::BTreeMap::new();
    for entry in &journal {
        *calls_by_outcome.entry(entry.outcome()).or_default() += 1;
    }
    let result = ChaosResult {
        tasks: n,
        concurrency,
        operator: env.args.operator.display().to_string(),
        kills,
        kill_window_s: window.as_secs_f64(),
        faults,
        setup_ready_s: setup.all_s,
        last_start_after_change_s,
        watched_s,
        restart,
        all_ready_s,
        ready_at_end,
        pause_windows,
        remote_updated_and_running,
        calls: journal.len() as u64,
        calls_by_outcome,
    };
    eprintln!("chaos: {}", line(&result));
    Ok(result)
}

fn secs(value: Option<f64>) -> String {
    value.map_or("never".into(), |v| format!("{v:.1}s"))
}

fn line(r: &ChaosResult) -> String {
    format!(
        "N={} conc={}: {} left paused by kills, all resumed {} after the last start ({} never); all Ready {} \
         ({}/{} at the end, watched {:.0}s); pause window max {:.1}s (p50 {:.1}s, p95 {:.1}s, {} open at end); \
         never reconciled by the last instance {} (all reached {}); remote updated and running {}/{}; calls {} {:?}",
        r.tasks,
        r.concurrency,
        r.restart.left_paused,
        secs(r.restart.all_resumed_s),
        r.restart.never_resumed,
        secs(r.all_ready_s),
        r.ready_at_end,
        r.tasks,
        r.watched_s,
        r.pause_windows.max_s,
        r.pause_windows.p50_s,
        r.pause_windows.p95_s,
        r.pause_windows.open_at_end,
        r.restart.never_reconciled,
        secs(r.restart.all_touched_s),
        r.remote_updated_and_running,
        r.tasks,
        r.calls,
        r.calls_by_outcome
    )
}

/// The Markdown table of the chaos runs (empty when there were none).
pub fn render_chaos(runs: &[ChaosResult]) -> String {
    if runs.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\nChaos (faults, kills, then one instance left running; times from its start):\n\n\
         | tasks | conc. | kills | operator | left paused | all resumed | all Ready | Ready at end | \
         pause window max / p95 | never reconciled by last | calls |\n\
         |---:|---:|---:|---|---:|---:|---:|---:|---|---:|---:|\n",
    );
    for r in runs {
        out.push_str(&format!(
            "| {} | {} | {} in {:.0}s | {} | {} | {} | {} | {}/{} | {:.1}s / {:.1}s | {} | {} |\n",
            r.tasks,
            r.concurrency,
            r.kills,
            r.kill_window_s,
            r.operator,
            r.restart.left_paused,
            secs(r.restart.all_resumed_s),
            secs(r.all_ready_s),
            r.ready_at_end,
            r.tasks,
            r.pause_windows.max_s,
            r.pause_windows.p95_s,
            r.restart.never_reconciled,
            r.calls
        ));
    }
    out
}
