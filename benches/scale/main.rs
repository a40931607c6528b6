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
//! The pause-budget run (`benches/scale/pause_budget.rs`): N (`--pause-budget-tasks`, 1,000)
//! running tasks in sync, all changed at once, at 20 rps with a pause that takes 1 s; converge
//! time against 4N/R, the pause windows, the most campaigns paused at once, the busiest second.
//!
//! Then the budget run: a simulator whose rate limit is `--budget-rps` (20) requests/s, an
//! account with `rateLimit` 20 rps and burst B (each B of `--budget-burst`), M tasks that all need
//! pause/update/resume: the largest number of calls the simulator saw in any 1-second window.
//!
//! Then the chaos run (benches/scale/chaos.rs): `--chaos-tasks` (1,000) running tasks, faults,
//! one spec change, `--chaos-kills` SIGKILLs of the operator in `--chaos-kill-window` seconds,
//! then one instance left running: how long until the campaigns left paused run again, until
//! all are Ready, the longest pause window, tasks the last instance never reached.
//!
//! Then the head-of-line run (benches/scale/head_of_line.rs): one account works through
//! `--head-of-line-tasks` (300) changes at `--head-of-line-rps` (5); a task of another account is
//! changed five times meanwhile: how long until its first call and its Ready.
//!
//! Then the memory run (benches/scale/memory.rs): `--memory-tasks` (10,000) OutboundTasks that
//! exist before the operator starts; its RSS over the first sync and over a restart.
//!
//! Measured throughout: remote calls per task by endpoint and the exact call sequence per task
//! (from the simulator's journal), the operator's apiserver requests by verb and resource (its
//! `outbound_kube_requests_total`), its resident memory (VmRSS sampled every 100 ms, VmHWM) and
//! CPU seconds (utime + stime), and the CPU seconds of kube-apiserver, etcd and of this process
//! (simulator, watcher, clients), which share the same cores.
//!
//! Output: a table on stdout and `target/bench/results.json`; operator logs in
//! `target/bench/logs/`.

mod args;
mod budget;
mod calls;
mod chaos;
mod chaos_journal;
mod cluster;
mod fixtures;
mod floor;
mod head_of_line;
mod idle;
mod machine;
mod mark;
mod memory;
mod operator;
mod pause_budget;
mod phases;
mod procs;
mod report;
mod results;
mod scrape;
mod tracker;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use kube::Client;

use args::{Args, USAGE};
use budget::budget_run;
use chaos::chaos_run;
use cluster::{ensure_crds, kube_client};
use machine::machine;
use memory::memory_run;
use operator::pids_dir;
use phases::scale_run;
use report::{print_run, render};
use results::{Results, write_results};

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
// The run

async fn run(args: Args) -> anyhow::Result<()> {
    let started_at = jiff::Timestamp::now();
    outbound_platform::install_crypto_provider();
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
        pause_budget: Vec::new(),
        chaos: Vec::new(),
        memory: Vec::new(),
        head_of_line: Vec::new(),
    };
    let env = Env {
        client,
        http,
        args: args.clone(),
        out_dir,
    };
    let only = args.chaos_only || args.memory_only || args.pause_budget_only || args.head_of_line_only;
    let scale_tasks: &[usize] = if only { &[] } else { &args.tasks };
    for &n in scale_tasks {
        for &concurrency in &args.concurrency {
            eprintln!("\n=== N = {n}, --concurrency {concurrency} ===");
            let result = scale_run(&env, n, concurrency).await?;
            print_run(&result);
            results.runs.push(result);
            write_results(&args.out, &mut results)?;
        }
    }
    if args.head_of_line_tasks > 0 && (!only || args.head_of_line_only) {
        eprintln!(
            "\n=== head of line: {} changes at {} rps on one account, one change on another ===",
            args.head_of_line_tasks, args.head_of_line_rps
        );
        let result = head_of_line::head_of_line_run(&env).await?;
        results.head_of_line.push(result);
        write_results(&args.out, &mut results)?;
    }
    if args.pause_budget_tasks > 0 && !(args.chaos_only || args.memory_only || args.head_of_line_only) {
        eprintln!(
            "\n=== pause budget: {} changed running tasks, {} rps, pause takes {} s ===",
            args.pause_budget_tasks, args.budget_rps, args.pause_budget_pause_s
        );
        let result = pause_budget::pause_budget_run(&env).await?;
        results.pause_budget.push(result);
        write_results(&args.out, &mut results)?;
    }
    if args.budget_tasks > 0 && !only {
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
    if args.memory_tasks > 0 && !(args.chaos_only || args.pause_budget_only || args.head_of_line_only) {
        eprintln!("\n=== memory: {} tasks listed at start ===", args.memory_tasks);
        let result = memory_run(&env).await?;
        results.memory.push(result);
        write_results(&args.out, &mut results)?;
    }
    if args.chaos_tasks > 0 && !(args.memory_only || args.pause_budget_only || args.head_of_line_only) {
        eprintln!(
            "\n=== chaos: {} tasks, {} kills in {}s, --concurrency {} ===",
            args.chaos_tasks, args.chaos_kills, args.chaos_kill_window_s, args.chaos_concurrency
        );
        let result = chaos_run(&env).await?;
        results.chaos.push(result);
        write_results(&args.out, &mut results)?;
    }
    println!("{}", render(&results));
    write_results(&args.out, &mut results)?;
    eprintln!("scale: results in {}", args.out.display());
    Ok(())
}

struct Env {
    client: Client,
    http: reqwest::Client,
    args: Args,
    out_dir: PathBuf,
}
