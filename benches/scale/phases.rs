//! One scale run: phases 1-5 for N tasks and one operator `--concurrency`, and its targets.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use kube::ResourceExt;
use kube::api::Api;
use outbound_api::OutboundTask;
use outbound_sim::{FaultConfig, STATUS_RUNNING};
use serde::Serialize;
use serde_json::json;

use crate::Env;
use crate::calls::summarise;
use crate::cluster::{create_all, patch_all, rename_every_task, setup_namespace};
use crate::fixtures::{in_sync_fleet, remote_config, simulator};
use crate::floor::{FLOOR_PARALLELISM, FloorResult, floor};
use crate::idle::{IdleResult, idle_phase};
use crate::mark::{Mark, PhaseResult, phase_line};
use crate::operator::Operator;
use crate::procs::{MIB, Procs, opt};
use crate::tracker::Tracker;

/// One scale run's figures (`results.json` `runs`), with the run that measures them.
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

pub async fn scale_run(env: &Env, n: usize, concurrency: u16) -> anyhow::Result<RunResult> {
    let run_id: u32 = rand::random();
    let label = format!("n{n}-c{concurrency}");
    let ns = format!("bench-{label}-{:06x}", run_id & 0xff_ffff);
    let floor_ns = format!("bench-floor-{label}-{:06x}", run_id & 0xff_ffff);
    let token = format!("bench-token-{run_id:08x}");
    let sim = simulator(&token, FaultConfig::default()).await?;
    let (tasks, ids) = in_sync_fleet(&sim, n, run_id, "1h")?;
    setup_namespace(&env.client, &ns, &token, &sim.base_url(), 1000, 1000).await?;
    let tracker = Tracker::start(Api::namespaced(env.client.clone(), &ns));
    let mut operator = Operator::start(env, &ns, concurrency, &label)?;
    operator.wait_ready(&env.http).await?;
    let procs = Procs::new(operator.pid);
    let api: Api<OutboundTask> = Api::namespaced(env.client.clone(), &ns);
    let timeout = Duration::from_secs(120) + Duration::from_millis(60 * n as u64);
    let mut phases = Vec::new();

    // 1. initial
    let mark = Mark::take(&operator, &env.http, &procs).await?;
    sim.clear_journal();
    let started = Instant::now();
    let sent = create_all(&api, tasks.clone()).await?;
    eprintln!("initial: {n} creates sent in {:.2}s", sent.as_secs_f64());
    let ready = tracker.wait(n, 1, started, timeout).await?;
    let mut phase = mark
        .finish("initial", &operator, &env.http, &procs, n, ready, sent)
        .await?;
    phase.calls = summarise(&sim.journal(), &ids, n, &["detail"]);
    eprintln!("{}", phase_line(&phase));
    phases.push(phase);

    // 2. floor
    let template = api
        .get_status(&tasks[0].name_any())
        .await?
        .status
        .context("task 0 has no status")?;
    let floor = floor(env, &floor_ns, &tasks, &template, concurrency as usize, &procs).await?;
    eprintln!(
        "floor: {n} status patches: {:.2}s with {} in flight, {:.2}s with {FLOOR_PARALLELISM} (first write {:.2}s; {n} creates {:.2}s); CPU-s of the best: apiserver {}, etcd {}, bench {:.2}, others {:.2}; as JSON merge patches instead of apply: {:.2}s, apiserver CPU-s {}",
        floor.same_parallelism_s,
        concurrency,
        floor.parallel_s,
        floor.first_write_s,
        floor.create_s,
        opt(floor.cpu.apiserver),
        opt(floor.cpu.etcd),
        floor.cpu.bench,
        floor.cpu.others(),
        floor.merge_patch_s,
        opt(floor.merge_patch_cpu.apiserver)
    );

    // 3. change: one field of every spec, remote tasks running.
    let mark = Mark::take(&operator, &env.http, &procs).await?;
    sim.clear_journal();
    let started = Instant::now();
    let sent = rename_every_task(&api, &tasks).await?;
    let ready = tracker.wait(n, 2, started, timeout).await?;
    let mut phase = mark
        .finish("change", &operator, &env.http, &procs, n, ready, sent)
        .await?;
    phase.calls = summarise(&sim.journal(), &ids, n, &["detail", "pause", "update", "resume"]);
    eprintln!("{}", phase_line(&phase));
    let change_s = phase.ready_s;
    phases.push(phase);
    let remote_verified = tasks.iter().all(|t| {
        let mut spec = t.spec.clone();
        spec.task.name = format!("{}-v2", t.spec.task.name);
        sim.task(t.spec.task_id.as_deref().unwrap())
            .is_some_and(|remote| remote.status == STATUS_RUNNING && remote.config == remote_config(&spec))
    });
    eprintln!("change: every remote task updated and running: {remote_verified}");

    // 4. touch: resyncInterval 30s (a spec change without remote effect).
    let mut idle = None;
    if env.args.idle {
        let mark = Mark::take(&operator, &env.http, &procs).await?;
        sim.clear_journal();
        let started = Instant::now();
        let sent = patch_all(&api, &tasks, |_| json!({"spec": {"resyncInterval": "30s"}})).await?;
        let ready = tracker.wait(n, 3, started, timeout).await?;
        let mut phase = mark
            .finish("touch", &operator, &env.http, &procs, n, ready, sent)
            .await?;
        let touch_journal = sim.journal();
        phase.calls = summarise(&touch_journal, &ids, n, &["detail"]);
        eprintln!("{}", phase_line(&phase));
        phases.push(phase);

        // 5. idle: one resync period.
        idle = Some(idle_phase(&sim, &operator, &env.http, &procs, &ids, n, &touch_journal).await?);
    }

    let usage = operator.usage();
    let peak = operator.peak_rss_kib() as f64 * 1024.0 / MIB;
    let steady = usage.rss_kib as f64 * 1024.0 / MIB;
    let cpu_total = usage.cpu_s;
    operator.stop();
    drop(tracker);
    sim.shutdown().await;

    let initial_s = phases[0].ready_s;
    let change = phases.iter().find(|p| p.name == "change").expect("change phase");
    let mut targets = vec![
        Target {
            name: "change Ready vs floor".into(),
            target: "<= 2.0x (1,000 tasks)".into(),
            measured: format!(
                "{:.2}x ({:.2}s / {:.2}s)",
                change_s / floor.best_s,
                change_s,
                floor.best_s
            ),
            met: change_s <= 2.0 * floor.best_s,
        },
        Target {
            name: "calls per changed running task".into(),
            target: "exactly 4 (detail, pause, update, resume)".into(),
            measured: format!(
                "{:.3} per task; {}/{} tasks exactly [{}]",
                change.calls.total as f64 / n as f64,
                change.calls.tasks_exact,
                n,
                change.calls.expected
            ),
            met: change.calls.tasks_exact == n && change.calls.total == 4 * n as u64,
        },
    ];
    if let Some(idle) = &idle {
        targets.push(Target {
            name: "calls per in-sync task per resync".into(),
            target: "1 read, 0 writes".into(),
            measured: format!(
                "{:.3} reads, {:.3} writes per task; {}/{} tasks exactly 1 read",
                idle.reads_per_task, idle.writes_per_task, idle.tasks_with_one_read, n
            ),
            met: idle.tasks_with_one_read == n && idle.tasks_with_writes == 0,
        });
    }
    targets.push(Target {
        name: "operator resident memory".into(),
        target: "< 64 MiB (10,000 tasks)".into(),
        measured: format!("peak {peak:.1} MiB, steady {steady:.1} MiB"),
        met: peak < 64.0,
    });
    Ok(RunResult {
        tasks: n,
        concurrency,
        namespace: ns,
        phases,
        change_vs_floor: change_s / floor.best_s,
        initial_vs_floor: initial_s / floor.best_s,
        floor,
        idle,
        operator_peak_rss_mib: peak,
        operator_steady_rss_mib: steady,
        operator_cpu_total_s: cpu_total,
        remote_verified,
        targets,
    })
}
