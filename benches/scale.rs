//! Scale benchmark: the operator binary (release build) against the local control plane
//! (kube-apiserver + etcd, `scripts/envtest.sh`) and an in-process platform simulator.
//!
//!     make bench                                      # N = 100 and 1,000, --concurrency 64
//!     make bench BENCH_TASKS=100,1000,10000 BENCH_CONCURRENCY=64,8
//!     scripts/bench.sh --tasks 1000 --concurrency 8   # flags override the environment
//!
//! `scripts/bench.sh` starts a control plane of its own (state in `target/bench/envtest`), runs
//! `cargo bench --bench scale -- ...` with KUBECONFIG set, and stops the plane. Run by hand, the
//! bench needs KUBECONFIG; without `--bench` (as under `cargo test --all-targets`) it only prints
//! how to run it.
//!
//! For each N (task count) and each operator `--concurrency` C, in fresh namespaces:
//!
//! 1. initial: N remote tasks, running and already holding what the specs say, exist on the
//!    simulator; N OutboundTasks are created (64 creates in flight) and timed until every one is
//!    Ready at generation 1 (Ready=True, observedGeneration = generation).
//! 2. floor: the same apiserver's time for N status patches alone (server-side apply of the
//!    operator's own Ready status to N other OutboundTasks in a namespace nobody watches), once
//!    with C patches in flight and once with 64; the lower time is "what the cluster can do".
//! 3. change: one field of every spec (`spec.task.name`) changes; timed until all are Ready at
//!    generation 2. The remote tasks run, so each needs the full read, pause, update, resume.
//!    Afterwards every remote task must hold the new settings and run.
//! 4. touch: `spec.resyncInterval` becomes 30s (no remote field changes: a read, no write).
//! 5. idle: one resync period with nothing to do. For each task, the calls in the window from its
//!    last read to that read + 30 s + 10% jitter + 3 s slack: exactly one read and no write is the
//!    target.
//!
//! The tasks are created with `resyncInterval: 1h` so that no resync falls inside phases 1-4
//! (at 10,000 tasks they last minutes); phase 4 switches to the 30 s minimum for phase 5.
//!
//! Then the budget run: a simulator whose rate limit is `--budget-rps` (20) requests/s, an
//! account with `rateLimit` 20 rps and burst B (each B of `--budget-burst`), M tasks that all need
//! pause/update/resume: the largest number of calls the simulator saw in any 1-second window.
//!
//! Measured throughout: remote calls per task by endpoint and the exact call sequence per task
//! (from the simulator's journal), the operator's apiserver requests by verb and resource (its
//! `outbound_kube_requests_total`), its resident memory (VmRSS sampled every 100 ms, VmHWM) and
//! CPU seconds (utime + stime), and the CPU seconds of kube-apiserver, etcd and of this process
//! (simulator, watcher, clients), which share the same cores.
//!
//! Output: a table on stdout and `target/bench/results.json`; operator logs in
//! `target/bench/logs/`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Config, ResourceExt};
use outbound_operator::api::{OutboundAccount, OutboundTask, OutboundTaskSpec, OutboundTaskStatus};
use outbound_operator::mapping;
use outbound_operator::sim::{FaultConfig, Fixtures, JournalEntry, SimConfig, SimHandle, Simulator, TaskFixture};
use serde::Serialize;
use serde_json::{Value, json};

const USER_ID: &str = "5832d184-dd53-42a0-8ace-0bf8d660f4cc";
const LINE_ID: &str = "d47c3599-f166-4cd0-999c-f60e46814d26";
const FIELD_MANAGER: &str = "outbound-bench";
/// Creates and patches the bench itself keeps in flight.
const CLIENT_PARALLELISM: usize = 64;
/// Patches in flight for the "what the cluster can do" floor.
const FLOOR_PARALLELISM: usize = 64;
/// The resync interval of phase 5 (the CRD's minimum) and the operator's jitter on it.
const RESYNC: Duration = Duration::from_secs(30);
const JITTER: f64 = 0.10;
const IDLE_SLACK: Duration = Duration::from_secs(3);
const MIB: f64 = 1024.0 * 1024.0;

const USAGE: &str = "usage: cargo bench --bench scale -- [--tasks 100,1000] [--concurrency 64[,8]] \
[--budget-tasks 100] [--budget-burst 20[,1]] [--budget-rps 20] [--no-idle] [--out FILE]
environment: BENCH_TASKS, BENCH_CONCURRENCY, BENCH_BUDGET_TASKS, BENCH_BUDGET_BURST, BENCH_OUT,
BENCH_OPERATOR_LOG (RUST_LOG of the operator, default info), BENCH_APISERVER_PID, BENCH_ETCD_PID;
KUBECONFIG must name the control plane (scripts/bench.sh does all of it).";

fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if !raw.iter().any(|a| a == "--bench") {
        println!("scale: not run (no --bench argument). Run the scale benchmark with `make bench`.");
        return ExitCode::SUCCESS;
    }
    if std::env::var_os("KUBECONFIG").is_none_or(|v| v.is_empty()) {
        println!("scale: skipped: KUBECONFIG is not set. Run it with `make bench` (scripts/bench.sh).");
        return ExitCode::SUCCESS;
    }
    let args = match Args::parse(&raw) {
        Ok(args) => args,
        Err(error) => {
            eprintln!("scale: {error:#}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let outcome = runtime.block_on(async {
        // On SIGINT/SIGTERM the bench future is dropped: every operator child is killed by its
        // Drop, and scripts/bench.sh stops the control plane.
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM");
        tokio::select! {
            result = run(args) => result,
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
            _ = term.recv() => Err(anyhow::anyhow!("terminated")),
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(2));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("scale: FAILED: {error:#}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Arguments

#[derive(Debug, Clone, Serialize)]
struct Args {
    tasks: Vec<usize>,
    concurrency: Vec<u16>,
    budget_tasks: usize,
    budget_bursts: Vec<u32>,
    budget_rps: u32,
    idle: bool,
    out: PathBuf,
    operator: PathBuf,
    operator_log: String,
}

impl Args {
    fn parse(raw: &[String]) -> anyhow::Result<Self> {
        let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_string());
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut args = Args {
            tasks: list(&env("BENCH_TASKS", "100,1000"))?,
            concurrency: list(&env("BENCH_CONCURRENCY", "64"))?,
            budget_tasks: number(&env("BENCH_BUDGET_TASKS", "100"))?,
            budget_bursts: list(&env("BENCH_BUDGET_BURST", "20,1"))?,
            budget_rps: 20,
            idle: true,
            out: std::env::var_os("BENCH_OUT")
                .map(PathBuf::from)
                .unwrap_or_else(|| root.join("target/bench/results.json")),
            operator: PathBuf::from(env!("CARGO_BIN_EXE_outbound-operator")),
            operator_log: env("BENCH_OPERATOR_LOG", "info"),
        };
        let mut it = raw.iter();
        while let Some(arg) = it.next() {
            let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
            match arg.as_str() {
                "--bench" => {}
                "--tasks" => args.tasks = list(value()?)?,
                "--concurrency" => args.concurrency = list(value()?)?,
                "--budget-tasks" => args.budget_tasks = number(value()?)?,
                "--budget-burst" => args.budget_bursts = list(value()?)?,
                "--budget-rps" => args.budget_rps = number(value()?)?,
                "--no-idle" => args.idle = false,
                "--out" => args.out = PathBuf::from(value()?),
                "--operator" => args.operator = PathBuf::from(value()?),
                other => bail!("unknown argument {other:?}"),
            }
        }
        ensure!(
            !args.tasks.is_empty() && args.tasks.iter().all(|&n| n > 0),
            "--tasks: give positive counts"
        );
        ensure!(
            !args.concurrency.is_empty() && args.concurrency.iter().all(|&c| c > 0),
            "--concurrency: give positive values"
        );
        ensure!(
            args.budget_bursts.iter().all(|&b| (1..=1000).contains(&b)),
            "--budget-burst: 1..=1000"
        );
        ensure!((1..=1000).contains(&args.budget_rps), "--budget-rps: 1..=1000");
        Ok(args)
    }
}

fn number<T: std::str::FromStr>(text: &str) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    text.trim()
        .replace('_', "")
        .parse()
        .map_err(|e| anyhow::anyhow!("{text:?} is not a number: {e}"))
}

fn list<T: std::str::FromStr>(text: &str) -> anyhow::Result<Vec<T>>
where
    T::Err: std::fmt::Display,
{
    text.split(',').filter(|s| !s.trim().is_empty()).map(number).collect()
}

// ---------------------------------------------------------------------------------------------
// Results

#[derive(Debug, Serialize)]
struct Results {
    started_at: String,
    finished_at: String,
    command: String,
    args: Args,
    machine: Machine,
    runs: Vec<RunResult>,
    budget: Vec<BudgetResult>,
}

#[derive(Debug, Serialize)]
struct Machine {
    cpus: usize,
    cpu_model: String,
    memory_gib: f64,
    kernel: String,
    apiserver_version: String,
    git_commit: String,
}

#[derive(Debug, Serialize)]
struct RunResult {
    tasks: usize,
    concurrency: u16,
    namespace: String,
    phases: Vec<PhaseResult>,
    floor: FloorResult,
    idle: Option<IdleResult>,
    /// change / floor.best_s (target: at most 2).
    change_vs_floor: f64,
    initial_vs_floor: f64,
    /// VmHWM of the operator at the end of the run.
    operator_peak_rss_mib: f64,
    /// VmRSS at the end of the idle phase (or of the last phase).
    operator_steady_rss_mib: f64,
    operator_cpu_total_s: f64,
    /// Every remote task holds the changed settings and runs.
    remote_verified: bool,
    targets: Vec<Target>,
}

#[derive(Debug, Serialize)]
struct Target {
    name: String,
    target: String,
    measured: String,
    met: bool,
}

#[derive(Debug, Clone, Serialize, Default)]
struct PhaseResult {
    name: String,
    /// From the first create/patch sent to the last task Ready at the phase's generation.
    ready_s: f64,
    /// Time to send the N creates/patches (64 in flight).
    requests_s: f64,
    /// Per-task time from phase start to Ready.
    ready_p50_s: f64,
    ready_p99_s: f64,
    calls: CallSummary,
    /// The operator's apiserver requests per task, by "verb resource".
    kube_requests_per_task: BTreeMap<String, f64>,
    kube_requests_total: f64,
    reconciles: f64,
    reconcile_errors: f64,
    cpu: CpuSeconds,
    operator_rss_peak_mib: f64,
}

#[derive(Debug, Clone, Serialize, Default)]
struct CpuSeconds {
    operator: f64,
    apiserver: Option<f64>,
    etcd: Option<f64>,
    /// This process: simulator, watcher, clients.
    bench: f64,
    /// The whole machine (all processes); `machine - the others above` is load that is not the
    /// bench's (it should be near 0 for figures to be trusted).
    machine: f64,
}

#[derive(Debug, Clone, Serialize, Default)]
struct CallSummary {
    total: u64,
    /// Calls per task by endpoint (all answers).
    per_task: BTreeMap<String, f64>,
    /// Answers other than 200, by `endpoint:code`.
    not_ok: BTreeMap<String, u64>,
    /// The expected per-task sequence and how many tasks had exactly it.
    expected: String,
    tasks_exact: usize,
    /// Per-task call sequences seen (most frequent first, at most 8).
    sequences: Vec<(String, usize)>,
}

#[derive(Debug, Serialize)]
struct FloorResult {
    patches: usize,
    /// First status write of the N objects, FLOOR_PARALLELISM in flight (not used as the floor).
    first_write_s: f64,
    /// N patches with the operator's --concurrency in flight.
    same_parallelism_s: f64,
    /// N patches with FLOOR_PARALLELISM in flight.
    parallel_s: f64,
    /// The lower of the two: what the cluster can do.
    best_s: f64,
    /// N creates of the floor objects, CLIENT_PARALLELISM in flight.
    create_s: f64,
    /// CPU seconds during the timed pass of `best_s` (the operator idles meanwhile).
    cpu: CpuSeconds,
    /// For comparison, not the floor: the same N writes as JSON merge patches (no server-side
    /// apply), FLOOR_PARALLELISM in flight, and their CPU seconds.
    merge_patch_s: f64,
    merge_patch_cpu: CpuSeconds,
}

#[derive(Debug, Serialize)]
struct IdleResult {
    resync_interval_s: f64,
    /// Per task: from its last read to that read + interval * 1.1 + slack.
    window_s: f64,
    wall_s: f64,
    reads_per_task: f64,
    writes_per_task: f64,
    tasks_with_one_read: usize,
    tasks_without_read: usize,
    tasks_with_more_reads: usize,
    tasks_with_writes: usize,
    calls: CallSummary,
    kube_requests_per_task: BTreeMap<String, f64>,
    cpu: CpuSeconds,
    operator_cpu_percent: f64,
    /// Operator CPU per in-sync resync.
    operator_cpu_ms_per_resync: f64,
    operator_rss_mib: f64,
}

#[derive(Debug, Serialize)]
struct BudgetResult {
    tasks: usize,
    simulator_rate_limit_rps: u32,
    account_rps: u32,
    account_burst: u32,
    concurrency: u16,
    ready_s: f64,
    calls: u64,
    answered_429: u64,
    max_calls_in_1s_window: usize,
    budget_plus_burst: u32,
    within_budget_plus_burst: bool,
    within_budget: bool,
    calls_per_task: BTreeMap<String, f64>,
}

// ---------------------------------------------------------------------------------------------
// The run

async fn run(args: Args) -> anyhow::Result<()> {
    let started_at = jiff::Timestamp::now();
    outbound_operator::remote::install_crypto_provider();
    ensure!(
        args.operator.is_file(),
        "operator binary {} missing (cargo build --release --bins)",
        args.operator.display()
    );
    let client = kube_client().await?;
    ensure_crds(&client).await?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .context("HTTP client")?;
    let out_dir = args.out.parent().map(Path::to_path_buf).unwrap_or_default();
    std::fs::create_dir_all(out_dir.join("logs")).context("creating target/bench/logs")?;
    std::fs::create_dir_all(pids_dir()).context("creating target/bench/pids")?;
    let machine = machine(&client).await;
    eprintln!(
        "scale: {} CPUs ({}), {:.1} GiB, kube-apiserver {}; operator {}",
        machine.cpus,
        machine.cpu_model,
        machine.memory_gib,
        machine.apiserver_version,
        args.operator.display()
    );

    let mut results = Results {
        started_at: format!("{started_at:.0}"),
        finished_at: String::new(),
        command: std::env::var("BENCH_COMMAND").unwrap_or_else(|_| "make bench".into()),
        args: args.clone(),
        machine,
        runs: Vec::new(),
        budget: Vec::new(),
    };
    let env = Env {
        client,
        http,
        args: args.clone(),
        out_dir,
    };
    for &n in &args.tasks {
        for &concurrency in &args.concurrency {
            eprintln!("\n=== N = {n}, --concurrency {concurrency} ===");
            let result = scale_run(&env, n, concurrency).await?;
            print_run(&result);
            results.runs.push(result);
            write_results(&args.out, &mut results)?;
        }
    }
    if args.budget_tasks > 0 {
        for &burst in &args.budget_bursts {
            eprintln!(
                "\n=== budget: {} tasks, simulator limit {} rps, account {} rps burst {burst} ===",
                args.budget_tasks, args.budget_rps, args.budget_rps
            );
            let result = budget_run(&env, burst).await?;
            results.budget.push(result);
            write_results(&args.out, &mut results)?;
        }
    }
    println!("{}", render(&results));
    write_results(&args.out, &mut results)?;
    eprintln!("scale: results in {}", args.out.display());
    Ok(())
}

fn write_results(path: &Path, results: &mut Results) -> anyhow::Result<()> {
    results.finished_at = format!("{:.0}", jiff::Timestamp::now());
    let text = serde_json::to_string_pretty(results)?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

struct Env {
    client: Client,
    http: reqwest::Client,
    args: Args,
    out_dir: PathBuf,
}

/// The OutboundTask `i` of a run: its name, its remote task id and its spec.
fn task(i: usize, run: u32, resync: &str) -> OutboundTask {
    let task_id = format!("{run:08x}-0000-4000-a000-{i:012x}");
    let spec: OutboundTaskSpec = serde_json::from_value(json!({
        "accountRef": {"name": "main"},
        "taskId": task_id,
        "resyncInterval": resync,
        "task": {
            "name": format!("bench-{i}"),
            "scriptGroupId": 123,
            "maxConcurrency": 2,
            "dialTimeGroupId": 123,
            "schedule": {"startTime": "2024-12-23 19:00:00", "stopTime": "2025-12-25 23:59:59"},
            "lines": [{"id": LINE_ID, "limit": 2}],
        },
    }))
    .expect("valid task spec");
    OutboundTask::new(&format!("task-{i:05}"), spec)
}

/// The remote task holding what `spec` maps to, in run state `status` (2 running).
fn remote_task(spec: &OutboundTaskSpec, status: u8) -> TaskFixture {
    TaskFixture {
        user_id: USER_ID.into(),
        status,
        config: remote_config(spec),
        sub_user_id: None,
    }
}

fn remote_config(spec: &OutboundTaskSpec) -> Value {
    let mut config = serde_json::to_value(mapping::update_body(spec)).expect("update body");
    if let Some(object) = config.as_object_mut() {
        object.remove("sub_user_id");
    }
    config
}

async fn scale_run(env: &Env, n: usize, concurrency: u16) -> anyhow::Result<RunResult> {
    let run_id: u32 = rand::random();
    let label = format!("n{n}-c{concurrency}");
    let ns = format!("bench-{label}-{:06x}", run_id & 0xff_ffff);
    let floor_ns = format!("bench-floor-{label}-{:06x}", run_id & 0xff_ffff);
    let token = format!("bench-token-{run_id:08x}");
    let sim = simulator(&token, FaultConfig::default()).await?;
    let tasks: Vec<OutboundTask> = (0..n).map(|i| task(i, run_id, "1h")).collect();
    for t in &tasks {
        sim.put_task(&t.spec.task_id, remote_task(&t.spec, 2))?;
    }
    let ids: HashMap<String, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.spec.task_id.clone(), i))
        .collect();
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
    let sent = patch_all(
        &api,
        &tasks,
        |t| json!({"spec": {"task": {"name": format!("{}-v2", t.spec.task.name)}}}),
    )
    .await?;
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
        sim.task(&t.spec.task_id)
            .is_some_and(|remote| remote.status == 2 && remote.config == remote_config(&spec))
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

async fn idle_phase(
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

async fn floor(
    env: &Env,
    ns: &str,
    tasks: &[OutboundTask],
    template: &OutboundTaskStatus,
    concurrency: usize,
    procs: &Procs,
) -> anyhow::Result<FloorResult> {
    create_namespace(&env.client, ns).await?;
    let api: Api<OutboundTask> = Api::namespaced(env.client.clone(), ns);
    let started = Instant::now();
    create_all(&api, tasks.to_vec()).await?;
    let create_s = started.elapsed().as_secs_f64();
    let names: Vec<String> = tasks.iter().map(|t| t.name_any()).collect();
    let first_write_s = status_patches(&api, &names, template, 1, FLOOR_PARALLELISM, true)
        .await?
        .as_secs_f64();
    let before = procs.sample();
    let same_parallelism_s = status_patches(&api, &names, template, 2, concurrency, true)
        .await?
        .as_secs_f64();
    let mut cpu = procs.sample().minus(&before);
    let mut parallel_s = same_parallelism_s;
    if concurrency != FLOOR_PARALLELISM {
        let before = procs.sample();
        parallel_s = status_patches(&api, &names, template, 3, FLOOR_PARALLELISM, true)
            .await?
            .as_secs_f64();
        if parallel_s < same_parallelism_s {
            cpu = procs.sample().minus(&before);
        }
    }
    let before = procs.sample();
    let merge_patch_s = status_patches(&api, &names, template, 4, FLOOR_PARALLELISM, false)
        .await?
        .as_secs_f64();
    let merge_patch_cpu = procs.sample().minus(&before);
    Ok(FloorResult {
        merge_patch_s,
        merge_patch_cpu,
        patches: tasks.len(),
        first_write_s,
        same_parallelism_s,
        parallel_s,
        best_s: same_parallelism_s.min(parallel_s),
        create_s,
        cpu,
    })
}

/// N server-side applies of a Ready status (the operator's own, with a message that differs per
/// pass and object so that each is a real write), `parallelism` in flight.
async fn status_patches(
    api: &Api<OutboundTask>,
    names: &[String],
    template: &OutboundTaskStatus,
    pass: usize,
    parallelism: usize,
    apply: bool,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    stream::iter(names.iter().enumerate())
        .map(|(i, name)| {
            let mut status = template.clone();
            status.observed_generation = Some(1);
            for condition in &mut status.conditions {
                condition.observed_generation = Some(1);
                if condition.type_ == "Synced" {
                    condition.message = format!("floor pass {pass} object {i}");
                }
            }
            let patch = json!({"apiVersion": "outbound.dev/v1alpha1", "kind": "OutboundTask", "status": status});
            async move {
                if apply {
                    let params = PatchParams::apply("outbound-bench-floor").force();
                    api.patch_status(name, &params, &Patch::Apply(&patch)).await
                } else {
                    let params = PatchParams::default();
                    api.patch_status(name, &params, &Patch::Merge(&patch)).await
                }
            }
        })
        .buffer_unordered(parallelism)
        .try_for_each(|_| futures::future::ready(Ok(())))
        .await
        .context("floor status patch")?;
    Ok(started.elapsed())
}

async fn budget_run(env: &Env, burst: u32) -> anyhow::Result<BudgetResult> {
    let run_id: u32 = rand::random();
    let m = env.args.budget_tasks;
    let rps = env.args.budget_rps;
    let concurrency = env.args.concurrency[0];
    let label = format!("budget-b{burst}");
    let ns = format!("bench-{label}-{:06x}", run_id & 0xff_ffff);
    let token = format!("bench-token-{run_id:08x}");
    let sim = simulator(
        &token,
        FaultConfig {
            rate_limit_rps: Some(f64::from(rps)),
            ..FaultConfig::default()
        },
    )
    .await?;
    let tasks: Vec<OutboundTask> = (0..m).map(|i| task(i, run_id, "1h")).collect();
    let ids: HashMap<String, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.spec.task_id.clone(), i))
        .collect();
    for t in &tasks {
        // Running, with other settings: every task needs read, pause, update, resume.
        let mut previous = t.spec.clone();
        previous.task.name = format!("{}-old", t.spec.task.name);
        sim.put_task(&t.spec.task_id, remote_task(&previous, 2))?;
    }
    setup_namespace(&env.client, &ns, &token, &sim.base_url(), rps, burst).await?;
    let tracker = Tracker::start(Api::namespaced(env.client.clone(), &ns));
    let mut operator = Operator::start(env, &ns, concurrency, &label)?;
    operator.wait_ready(&env.http).await?;
    let api: Api<OutboundTask> = Api::namespaced(env.client.clone(), &ns);
    sim.clear_journal();
    let started = Instant::now();
    create_all(&api, tasks).await?;
    let timeout = Duration::from_secs(120) + Duration::from_secs_f64(8.0 * m as f64 / f64::from(rps));
    let ready = tracker.wait(m, 1, started, timeout).await?;
    operator.stop();
    let journal = sim.journal();
    sim.shutdown().await;

    let times: Vec<i64> = journal.iter().map(|e| millis(&e.at)).collect::<Result<_, _>>()?;
    let (max_window, _) = max_in_window(times, 1000);
    let answered_429 = journal.iter().filter(|e| e.http_status == Some(429)).count() as u64;
    let calls = summarise(&journal, &ids, m, &["detail", "pause", "update", "resume"]);
    let result = BudgetResult {
        tasks: m,
        simulator_rate_limit_rps: rps,
        account_rps: rps,
        account_burst: burst,
        concurrency,
        ready_s: ready.all_s,
        calls: journal.len() as u64,
        answered_429,
        max_calls_in_1s_window: max_window,
        budget_plus_burst: rps + burst,
        within_budget_plus_burst: max_window <= (rps + burst) as usize,
        within_budget: max_window <= rps as usize,
        calls_per_task: calls.per_task.clone(),
    };
    eprintln!(
        "budget: {} calls in {:.1}s, max {} in any 1s window (budget {rps}, budget + burst {}), {} answered 429; sequences {:?}",
        result.calls,
        result.ready_s,
        max_window,
        rps + burst,
        answered_429,
        calls.sequences
    );
    Ok(result)
}

/// The largest number of instants (ms) within any half-open window of `width` ms, and its start.
fn max_in_window(mut times: Vec<i64>, width: i64) -> (usize, i64) {
    times.sort_unstable();
    let (mut best, mut start, mut lo) = (0, 0, 0);
    for hi in 0..times.len() {
        while times[hi] - times[lo] >= width {
            lo += 1;
        }
        if hi - lo + 1 > best {
            best = hi - lo + 1;
            start = times[lo];
        }
    }
    (best, start)
}

fn millis(at: &str) -> anyhow::Result<i64> {
    Ok(at
        .parse::<jiff::Timestamp>()
        .with_context(|| format!("journal time {at:?}"))?
        .as_millisecond())
}

/// Calls per task from a journal: by endpoint, non-200 answers, and per-task sequences.
fn summarise(journal: &[JournalEntry], ids: &HashMap<String, usize>, n: usize, expected: &[&str]) -> CallSummary {
    let mut per_endpoint: BTreeMap<String, u64> = BTreeMap::new();
    let mut not_ok: BTreeMap<String, u64> = BTreeMap::new();
    let mut sequences: Vec<Vec<String>> = vec![Vec::new(); n];
    for entry in journal {
        *per_endpoint.entry(entry.endpoint.clone()).or_default() += 1;
        let name = match entry.code {
            Some(200) | None if entry.http_status == Some(200) => entry.endpoint.clone(),
            Some(code) => format!("{}:{code}", entry.endpoint),
            None => format!("{}:http{}", entry.endpoint, entry.http_status.unwrap_or_default()),
        };
        if name != entry.endpoint {
            *not_ok.entry(name.clone()).or_default() += 1;
        }
        if let Some(&i) = entry.task_id.as_ref().and_then(|id| ids.get(id)) {
            sequences[i].push(name);
        }
    }
    let expected_text = expected.join(",");
    let mut counts: HashMap<String, usize> = HashMap::new();
    for sequence in &sequences {
        *counts.entry(sequence.join(",")).or_default() += 1;
    }
    let tasks_exact = counts.get(&expected_text).copied().unwrap_or_default();
    let mut sequences: Vec<(String, usize)> = counts.into_iter().collect();
    sequences.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    sequences.truncate(8);
    CallSummary {
        total: journal.len() as u64,
        per_task: per_endpoint
            .into_iter()
            .map(|(endpoint, count)| (endpoint, count as f64 / n as f64))
            .collect(),
        not_ok,
        expected: expected_text,
        tasks_exact,
        sequences,
    }
}

// ---------------------------------------------------------------------------------------------
// Cluster and simulator set-up

async fn kube_client() -> anyhow::Result<Client> {
    let path = PathBuf::from(std::env::var_os("KUBECONFIG").context("KUBECONFIG")?);
    let kubeconfig = Kubeconfig::read_from(&path).with_context(|| format!("reading {}", path.display()))?;
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    let client = Client::try_from(config)?;
    client
        .apiserver_version()
        .await
        .with_context(|| format!("the apiserver of KUBECONFIG={} does not answer", path.display()))?;
    Ok(client)
}

async fn ensure_crds(client: &Client) -> anyhow::Result<()> {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("crds/outbound.dev_crds.yaml");
    let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let api = Api::<CustomResourceDefinition>::all(client.clone());
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let value: Value = serde::Deserialize::deserialize(doc)?;
        if value.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition") {
            continue;
        }
        let crd: CustomResourceDefinition = serde_json::from_value(value)?;
        let name = crd.name_any();
        api.patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&crd))
            .await
            .with_context(|| format!("applying CRD {name}"))?;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let tasks = Api::<OutboundTask>::all(client.clone()).list(&Default::default()).await;
        let accounts = Api::<OutboundAccount>::all(client.clone())
            .list(&Default::default())
            .await;
        if tasks.is_ok() && accounts.is_ok() {
            return Ok(());
        }
        ensure!(Instant::now() < deadline, "CRDs not served after 60s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn simulator(token: &str, faults: FaultConfig) -> anyhow::Result<SimHandle> {
    let fixtures = Fixtures::from_yaml_str(&format!("lines: {{\"{LINE_ID}\": 50}}\ntasks: {{}}"))?;
    let mut config = SimConfig::new(token, fixtures);
    config.faults = faults;
    Simulator::start(config).await
}

async fn create_namespace(client: &Client, name: &str) -> anyhow::Result<()> {
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some([("outbound.dev/bench".to_string(), "true".to_string())].into()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .with_context(|| format!("creating namespace {name}"))?;
    Ok(())
}

/// Namespace, token Secret and account `main` (rate limit `rps`, `burst`).
async fn setup_namespace(
    client: &Client,
    ns: &str,
    token: &str,
    base_url: &str,
    rps: u32,
    burst: u32,
) -> anyhow::Result<()> {
    create_namespace(client, ns).await?;
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some("platform-token".into()),
            ..Default::default()
        },
        string_data: Some([("token".to_string(), token.to_string())].into()),
        type_: Some("Opaque".into()),
        ..Default::default()
    };
    Api::<Secret>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &secret)
        .await
        .context("creating the token Secret")?;
    let account: OutboundAccount = serde_json::from_value(json!({
        "apiVersion": "outbound.dev/v1alpha1",
        "kind": "OutboundAccount",
        "metadata": {"name": "main"},
        "spec": {
            "baseUrl": base_url,
            "userId": USER_ID,
            "tokenSecretRef": {"name": "platform-token", "key": "token"},
            "rateLimit": {"requestsPerSecond": rps, "burst": burst},
        },
    }))?;
    Api::<OutboundAccount>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &account)
        .await
        .context("creating the OutboundAccount")?;
    Ok(())
}

async fn create_all(api: &Api<OutboundTask>, tasks: Vec<OutboundTask>) -> anyhow::Result<Duration> {
    let started = Instant::now();
    stream::iter(tasks)
        .map(|task| async move { api.create(&PostParams::default(), &task).await.map(drop) })
        .buffer_unordered(CLIENT_PARALLELISM)
        .try_collect::<Vec<()>>()
        .await
        .context("creating OutboundTasks")?;
    Ok(started.elapsed())
}

async fn patch_all(
    api: &Api<OutboundTask>,
    tasks: &[OutboundTask],
    patch: impl Fn(&OutboundTask) -> Value,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    stream::iter(tasks)
        .map(|task| {
            let body = patch(task);
            async move {
                api.patch(&task.name_any(), &PatchParams::default(), &Patch::Merge(&body))
                    .await
                    .map(drop)
            }
        })
        .buffer_unordered(CLIENT_PARALLELISM)
        .try_collect::<Vec<()>>()
        .await
        .context("patching OutboundTasks")?;
    Ok(started.elapsed())
}

// ---------------------------------------------------------------------------------------------
// Watching readiness

/// Watches the bench namespace and records when each task was first seen Ready at each
/// generation.
struct Tracker {
    state: Arc<Mutex<HashMap<String, BTreeMap<i64, Instant>>>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Ready {
    all_s: f64,
    p50_s: f64,
    p99_s: f64,
}

impl Tracker {
    fn start(api: Api<OutboundTask>) -> Self {
        let state: Arc<Mutex<HashMap<String, BTreeMap<i64, Instant>>>> = Arc::default();
        let shared = state.clone();
        let task = tokio::spawn(async move {
            let mut events = std::pin::pin!(watcher(api, watcher::Config::default()).default_backoff());
            while let Some(event) = events.next().await {
                let task = match event {
                    Ok(watcher::Event::Apply(task) | watcher::Event::InitApply(task)) => task,
                    Ok(_) => continue,
                    Err(error) => {
                        eprintln!("scale: watch error (retrying): {error}");
                        continue;
                    }
                };
                if let Some(generation) = ready_generation(&task) {
                    let now = Instant::now();
                    shared
                        .lock()
                        .expect("tracker lock")
                        .entry(task.name_any())
                        .or_default()
                        .entry(generation)
                        .or_insert(now);
                }
            }
        });
        Tracker { state, task }
    }

    /// Waits until `n` tasks have been Ready at `generation` (or later); times from `started`.
    async fn wait(&self, n: usize, generation: i64, started: Instant, timeout: Duration) -> anyhow::Result<Ready> {
        let deadline = started + timeout;
        loop {
            let times: Vec<Duration> = {
                let state = self.state.lock().expect("tracker lock");
                state
                    .values()
                    .filter_map(|seen| seen.range(generation..).map(|(_, at)| *at).min())
                    .map(|at| at.saturating_duration_since(started))
                    .collect()
            };
            if times.len() >= n {
                let mut secs: Vec<f64> = times.iter().map(Duration::as_secs_f64).collect();
                secs.sort_by(f64::total_cmp);
                let pick = |q: f64| secs[((secs.len() as f64 - 1.0) * q).round() as usize];
                return Ok(Ready {
                    all_s: *secs.last().expect("n > 0"),
                    p50_s: pick(0.5),
                    p99_s: pick(0.99),
                });
            }
            ensure!(
                Instant::now() < deadline,
                "only {} of {n} tasks Ready at generation {generation} after {timeout:?}",
                times.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The generation at which the task is Ready: Ready=True and observedGeneration (status and
/// condition) equal to metadata.generation, no operation in flight.
fn ready_generation(task: &OutboundTask) -> Option<i64> {
    let generation = task.metadata.generation?;
    let status = task.status.as_ref()?;
    if status.observed_generation != Some(generation) || status.operation.is_some() {
        return None;
    }
    let ready = status.conditions.iter().find(|c| c.type_ == "Ready")?;
    (ready.status == "True" && ready.observed_generation.is_none_or(|g| g == generation)).then_some(generation)
}

// ---------------------------------------------------------------------------------------------
// The operator process and its resources

struct Operator {
    child: Option<Child>,
    pid: u32,
    metrics_url: String,
    ready_url: String,
    log: PathBuf,
    pid_file: PathBuf,
    peak_rss_kib: Arc<AtomicU64>,
    sampler: tokio::task::JoinHandle<()>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    rss_kib: u64,
    hwm_kib: u64,
    cpu_s: f64,
}

impl Operator {
    fn start(env: &Env, ns: &str, concurrency: u16, label: &str) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let log = env.out_dir.join("logs").join(format!("operator-{label}.log"));
        let file = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let child = Command::new(&env.args.operator)
            .args(["run", "--namespace", ns, "--log-format", "json"])
            .args(["--concurrency", &concurrency.to_string()])
            .args(["--metrics-addr", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", &env.args.operator_log)
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("starting {}", env.args.operator.display()))?;
        let pid = child.id();
        let pid_file = pids_dir().join(format!("operator-{label}.pid"));
        std::fs::write(&pid_file, pid.to_string())?;
        let peak_rss_kib = Arc::new(AtomicU64::new(0));
        let peak = peak_rss_kib.clone();
        let sampler = tokio::spawn(async move {
            loop {
                if let Some(rss) = proc_status_kib(pid, "VmRSS") {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        eprintln!("operator pid {pid}, --concurrency {concurrency}, log {}", log.display());
        Ok(Operator {
            child: Some(child),
            pid,
            metrics_url: format!("http://127.0.0.1:{port}/metrics"),
            ready_url: format!("http://127.0.0.1:{port}/readyz"),
            log,
            pid_file,
            peak_rss_kib,
            sampler,
        })
    }

    async fn wait_ready(&mut self, http: &reqwest::Client) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!(
                    "the operator exited ({status}) at start; log {}:\n{}",
                    self.log.display(),
                    tail(&self.log, 30)
                );
            }
            if let Ok(response) = http.get(&self.ready_url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            ensure!(Instant::now() < deadline, "the operator was not ready after 60s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn usage(&self) -> Usage {
        Usage {
            rss_kib: proc_status_kib(self.pid, "VmRSS").unwrap_or_default(),
            hwm_kib: proc_status_kib(self.pid, "VmHWM").unwrap_or_default(),
            cpu_s: proc_cpu_s(self.pid).unwrap_or_default(),
        }
    }

    /// Peak resident memory: VmHWM, or the sampled VmRSS if higher.
    fn peak_rss_kib(&self) -> u64 {
        self.usage().hwm_kib.max(self.peak_rss_kib.load(Ordering::Relaxed))
    }

    /// Peak of the sampled VmRSS since the last call (and resets it).
    fn take_sampled_peak_kib(&self) -> u64 {
        let current = proc_status_kib(self.pid, "VmRSS").unwrap_or_default();
        self.peak_rss_kib.swap(current, Ordering::Relaxed).max(current)
    }

    /// SIGTERM (graceful shutdown), SIGKILL after 10 s.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_file(&self.pid_file);
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.sampler.abort();
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            eprintln!("scale: operator {} killed; log {}", self.pid, self.log.display());
        }
        let _ = std::fs::remove_file(&self.pid_file);
    }
}

/// Where the operators' pids are recorded while they run, whatever `--out` says: scripts/bench.sh
/// kills what is left there if the bench itself is killed.
fn pids_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench/pids")
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A `Vm*` line of /proc/PID/status, in KiB.
fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// utime + stime of /proc/PID/stat, in seconds.
fn proc_cpu_s(pid: u32) -> Option<f64> {
    stat_cpu_s(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn stat_cpu_s(stat: &str) -> Option<f64> {
    // Fields after the command name (which may hold spaces) start at field 3 (state).
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// The processes whose CPU a phase reports.
struct Procs {
    operator: u32,
    apiserver: Option<u32>,
    etcd: Option<u32>,
}

impl Procs {
    fn new(operator: u32) -> Self {
        let pid = |name: &str| std::env::var(name).ok().and_then(|p| p.trim().parse().ok());
        Procs {
            operator,
            apiserver: pid("BENCH_APISERVER_PID"),
            etcd: pid("BENCH_ETCD_PID"),
        }
    }

    fn sample(&self) -> CpuSeconds {
        CpuSeconds {
            operator: proc_cpu_s(self.operator).unwrap_or_default(),
            apiserver: self.apiserver.and_then(proc_cpu_s),
            etcd: self.etcd.and_then(proc_cpu_s),
            bench: std::fs::read_to_string("/proc/self/stat")
                .ok()
                .and_then(|s| stat_cpu_s(&s))
                .unwrap_or_default(),
            machine: machine_cpu_s(),
        }
    }
}

impl CpuSeconds {
    fn minus(&self, before: &CpuSeconds) -> CpuSeconds {
        let diff = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a - b);
        CpuSeconds {
            operator: self.operator - before.operator,
            apiserver: diff(self.apiserver, before.apiserver),
            etcd: diff(self.etcd, before.etcd),
            bench: self.bench - before.bench,
            machine: self.machine - before.machine,
        }
    }

    /// CPU seconds of every other process on the machine (a build, another test) in the span.
    fn others(&self) -> f64 {
        (self.machine - self.operator - self.apiserver.unwrap_or(0.0) - self.etcd.unwrap_or(0.0) - self.bench).max(0.0)
    }
}

/// Busy CPU seconds of the whole machine since boot (/proc/stat: all but idle and iowait).
fn machine_cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return 0.0;
    };
    let fields: Vec<f64> = line.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest time is included in user).
    let busy: f64 = fields
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| v)
        .sum();
    busy / clock_ticks()
}

/// Counters and CPU at the start of a phase.
struct Mark {
    scrape: Scrape,
    cpu: CpuSeconds,
}

impl Mark {
    async fn take(operator: &Operator, http: &reqwest::Client, procs: &Procs) -> anyhow::Result<Self> {
        // `metrics` needs &mut only to reap a dead child; a shared scrape is fine here.
        let text = http.get(&operator.metrics_url).send().await?.text().await?;
        operator.take_sampled_peak_kib();
        Ok(Mark {
            scrape: Scrape::parse(&text),
            cpu: procs.sample(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn finish(
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

/// A Prometheus text scrape: `name{labels}` -> value.
#[derive(Debug, Default, Clone)]
struct Scrape(BTreeMap<String, f64>);

impl Scrape {
    fn parse(text: &str) -> Self {
        Scrape(
            text.lines()
                .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
                .filter_map(|line| {
                    let (key, value) = line.rsplit_once(' ')?;
                    Some((key.to_string(), value.trim().parse().ok()?))
                })
                .collect(),
        )
    }

    /// `labels` -> (self - before) for the series of metric `name`.
    fn delta(&self, before: &Scrape, name: &str) -> BTreeMap<String, f64> {
        self.0
            .iter()
            .filter_map(|(key, value)| {
                let labels = key.strip_prefix(name)?;
                (labels.is_empty() || labels.starts_with('{'))
                    .then(|| (labels.to_string(), value - before.0.get(key).copied().unwrap_or(0.0)))
            })
            .collect()
    }
}

/// The value of `key` in `{a="x",b="y"}`.
fn label(labels: &str, key: &str) -> String {
    let pattern = format!("{key}=\"");
    labels
        .find(&pattern)
        .map(|start| {
            let rest = &labels[start + pattern.len()..];
            rest[..rest.find('"').unwrap_or(rest.len())].to_string()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Machine facts and output

async fn machine(client: &Client) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:")?.split_whitespace().next()?.parse().ok())
        .unwrap_or_default();
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let dirty = !git(&["status", "--porcelain", "--untracked-files=no"]).is_empty();
    Machine {
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model,
        memory_gib: mem_kib / 1024.0 / 1024.0,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_string(),
        apiserver_version: client
            .apiserver_version()
            .await
            .map(|v| v.git_version)
            .unwrap_or_default(),
        git_commit: format!(
            "{}{}",
            git(&["rev-parse", "--short", "HEAD"]),
            if dirty { " (with local changes)" } else { "" }
        ),
    }
}

fn phase_line(p: &PhaseResult) -> String {
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

fn opt(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{v:.2}"))
}

fn print_run(run: &RunResult) {
    for target in &run.targets {
        eprintln!(
            "target {}: {} (target {}): {}",
            target.name,
            target.measured,
            target.target,
            if target.met { "met" } else { "NOT met" }
        );
    }
}

fn calls_cell(calls: &CallSummary) -> String {
    let get = |e: &str| calls.per_task.get(e).copied().unwrap_or(0.0);
    format!(
        "{:.2}/{:.2}/{:.2}/{:.2}",
        get("detail"),
        get("pause"),
        get("update"),
        get("resume")
    )
}

fn kube_cell(p: &BTreeMap<String, f64>) -> String {
    if p.is_empty() {
        return "0".into();
    }
    p.iter()
        .map(|(k, v)| format!("{k} {v:.2}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The Markdown tables of the results.
fn render(results: &Results) -> String {
    let mut out = String::new();
    let m = &results.machine;
    out.push_str(&format!(
        "\nScale benchmark, {} ({} CPUs: {}; {:.1} GiB; kernel {}; kube-apiserver {}; commit {})\n\n",
        results.started_at, m.cpus, m.cpu_model, m.memory_gib, m.kernel, m.apiserver_version, m.git_commit
    ));
    out.push_str(
        "| tasks | conc. | initial Ready s | change Ready s | floor s (conc. / 64) | change / floor | initial / floor | \
         calls/task initial d/p/u/r | calls/task change d/p/u/r | idle reads, writes /task | RSS peak / steady MiB | \
         operator CPU s init / change / idle |\n",
    );
    out.push_str("|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|---|\n");
    for run in &results.runs {
        let phase = |name: &str| run.phases.iter().find(|p| p.name == name);
        let initial = phase("initial").expect("initial");
        let change = phase("change").expect("change");
        let idle = run.idle.as_ref();
        out.push_str(&format!(
            "| {} | {} | {:.2} | {:.2} | {:.2} / {:.2} | {:.2}x | {:.2}x | {} | {} | {} | {:.1} / {:.1} | {:.2} / {:.2} / {} |\n",
            run.tasks,
            run.concurrency,
            initial.ready_s,
            change.ready_s,
            run.floor.same_parallelism_s,
            run.floor.parallel_s,
            run.change_vs_floor,
            run.initial_vs_floor,
            calls_cell(&initial.calls),
            calls_cell(&change.calls),
            idle.map_or("-".into(), |i| format!(
                "{:.3}, {:.3} ({}/{} exactly 1 read)",
                i.reads_per_task, i.writes_per_task, i.tasks_with_one_read, run.tasks
            )),
            run.operator_peak_rss_mib,
            run.operator_steady_rss_mib,
            initial.cpu.operator,
            change.cpu.operator,
            idle.map_or("-".into(), |i| format!("{:.2} ({:.1}%)", i.cpu.operator, i.operator_cpu_percent)),
        ));
    }
    out.push_str("\nApiserver requests by the operator, per task:\n\n| tasks | conc. | phase | requests/task | CPU s: operator / apiserver / etcd / bench / others |\n|---:|---:|---|---|---|\n");
    for run in &results.runs {
        let f = &run.floor;
        out.push_str(&format!(
            "| {} | {} | floor ({:.2}s) | (the bench: patch outboundtasks/status 1.00) | - / {} / {} / {:.2} / {:.2} |\n",
            run.tasks,
            run.concurrency,
            f.best_s,
            opt(f.cpu.apiserver),
            opt(f.cpu.etcd),
            f.cpu.bench,
            f.cpu.others()
        ));
        out.push_str(&format!(
            "| {} | {} | floor as merge patches ({:.2}s) | (the bench: patch outboundtasks/status 1.00) | - / {} / {} / {:.2} / {:.2} |\n",
            run.tasks,
            run.concurrency,
            f.merge_patch_s,
            opt(f.merge_patch_cpu.apiserver),
            opt(f.merge_patch_cpu.etcd),
            f.merge_patch_cpu.bench,
            f.merge_patch_cpu.others()
        ));
        for p in &run.phases {
            out.push_str(&format!(
                "| {} | {} | {} ({:.2}s) | {} | {:.2} / {} / {} / {:.2} / {:.2} |\n",
                run.tasks,
                run.concurrency,
                p.name,
                p.ready_s,
                kube_cell(&p.kube_requests_per_task),
                p.cpu.operator,
                opt(p.cpu.apiserver),
                opt(p.cpu.etcd),
                p.cpu.bench,
                p.cpu.others()
            ));
        }
        if let Some(i) = &run.idle {
            out.push_str(&format!(
                "| {} | {} | idle ({:.0}s) | {} | {:.2} / {} / {} / {:.2} / {:.2} |\n",
                run.tasks,
                run.concurrency,
                i.wall_s,
                kube_cell(&i.kube_requests_per_task),
                i.cpu.operator,
                opt(i.cpu.apiserver),
                opt(i.cpu.etcd),
                i.cpu.bench,
                i.cpu.others()
            ));
        }
    }
    if !results.budget.is_empty() {
        out.push_str("\nRate budget (simulator limit = account rate):\n\n| tasks | budget rps | burst | calls | Ready s | max calls in any 1 s | <= budget + burst | <= budget | 429 answers |\n|---:|---:|---:|---:|---:|---:|---|---|---:|\n");
        for b in &results.budget {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {:.1} | {} | {} | {} | {} |\n",
                b.tasks,
                b.account_rps,
                b.account_burst,
                b.calls,
                b.ready_s,
                b.max_calls_in_1s_window,
                yes(b.within_budget_plus_burst),
                yes(b.within_budget),
                b.answered_429
            ));
        }
    }
    out.push_str("\nTargets:\n\n");
    for run in &results.runs {
        for t in &run.targets {
            out.push_str(&format!(
                "- N={} conc={}: {}: {} (target {}): {}\n",
                run.tasks,
                run.concurrency,
                t.name,
                t.measured,
                t.target,
                if t.met { "met" } else { "NOT met" }
            ));
        }
    }
    for b in &results.budget {
        out.push_str(&format!(
            "- budget {} rps, burst {}: max {} calls in a 1 s window: <= budget + burst ({}): {}; <= budget ({}): {}\n",
            b.account_rps,
            b.account_burst,
            b.max_calls_in_1s_window,
            b.budget_plus_burst,
            if b.within_budget_plus_burst { "met" } else { "NOT met" },
            b.account_rps,
            if b.within_budget { "met" } else { "NOT met" }
        ));
    }
    out
}

fn yes(value: bool) -> &'static str {
    if value { "yes" } else { "NO" }
}
