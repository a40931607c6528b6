//! Arguments: the bench's flags, over the BENCH_* environment variables.

use std::path::PathBuf;

use anyhow::{Context as _, bail, ensure};
use serde::Serialize;

pub const USAGE: &str = "usage: cargo bench --bench scale -- [--tasks 100,1000] [--concurrency 64[,8]] \
[--budget-tasks 100] [--budget-burst 20[,1]] [--budget-rps 20] [--no-idle] [--out FILE]
[--pause-budget-tasks 1000] [--pause-budget-burst 1] [--pause-budget-pause 1.0] [--pause-budget-only]
[--chaos-tasks 1000] [--chaos-kills 25] [--chaos-kill-window 60] [--chaos-concurrency 8] [--chaos-timeout 900]
[--chaos-only] [--memory-tasks 10000] [--memory-only] [--head-of-line-tasks 300] [--head-of-line-rps 5]
[--head-of-line-only] [--operator PATH]
environment: BENCH_TASKS, BENCH_CONCURRENCY, BENCH_BUDGET_TASKS, BENCH_BUDGET_BURST, BENCH_OUT,
BENCH_PAUSE_BUDGET_TASKS, BENCH_CHAOS_TASKS, BENCH_MEMORY_TASKS, BENCH_HEAD_OF_LINE_TASKS,
BENCH_OPERATOR_LOG (RUST_LOG of the operator, default info), BENCH_APISERVER_PID, BENCH_ETCD_PID;
KUBECONFIG must name the control plane (scripts/bench.sh does all of it).";

#[derive(Debug, Clone, Serialize)]
pub struct Args {
    pub tasks: Vec<usize>,
    pub concurrency: Vec<u16>,
    pub budget_tasks: usize,
    pub budget_bursts: Vec<u32>,
    pub budget_rps: u32,
    /// Tasks of the pause-budget run (0 skips it), the account's burst there, and how long the
    /// simulator's pause takes to take effect (seconds).
    pub pause_budget_tasks: usize,
    pub pause_budget_burst: u32,
    pub pause_budget_pause_s: f64,
    /// Only the pause-budget run.
    pub pause_budget_only: bool,
    pub idle: bool,
    pub out: PathBuf,
    pub operator: PathBuf,
    pub operator_log: String,
    /// The chaos run (chaos.rs): tasks (0 skips it), SIGKILLs, the seconds they are spread over,
    /// the operator's --concurrency, how long the last instance is watched.
    pub chaos_tasks: usize,
    pub chaos_kills: u32,
    pub chaos_kill_window_s: f64,
    pub chaos_concurrency: u16,
    pub chaos_timeout_s: f64,
    /// Only the chaos run (no scale or budget runs).
    pub chaos_only: bool,
    /// The memory run (memory.rs): tasks (0 skips it); `--memory-only` runs only it.
    pub memory_tasks: usize,
    pub memory_only: bool,
    /// The head-of-line run (head_of_line.rs): the backlog's tasks (0 skips it) and its account's
    /// rate; `--head-of-line-only` runs only it.
    pub head_of_line_tasks: usize,
    pub head_of_line_rps: u32,
    pub head_of_line_only: bool,
}

impl Args {
    pub fn parse(raw: &[String]) -> anyhow::Result<Self> {
        let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_string());
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut args = Args {
            tasks: list(&env("BENCH_TASKS", "100,1000"))?,
            concurrency: list(&env("BENCH_CONCURRENCY", "64"))?,
            budget_tasks: number(&env("BENCH_BUDGET_TASKS", "100"))?,
            budget_bursts: list(&env("BENCH_BUDGET_BURST", "20,1"))?,
            budget_rps: 20,
            pause_budget_tasks: number(&env("BENCH_PAUSE_BUDGET_TASKS", "1000"))?,
            pause_budget_burst: 1,
            pause_budget_pause_s: 1.0,
            pause_budget_only: false,
            idle: true,
            out: std::env::var_os("BENCH_OUT")
                .map(PathBuf::from)
                .unwrap_or_else(|| root.join("target/bench/results.json")),
            operator: PathBuf::from(env!("CARGO_BIN_EXE_outbound-operator")),
            operator_log: env("BENCH_OPERATOR_LOG", "info"),
            chaos_tasks: number(&env("BENCH_CHAOS_TASKS", "1000"))?,
            chaos_kills: 25,
            chaos_kill_window_s: 60.0,
            chaos_concurrency: 8,
            chaos_timeout_s: 900.0,
            chaos_only: false,
            memory_tasks: number(&env("BENCH_MEMORY_TASKS", "10000"))?,
            memory_only: false,
            head_of_line_tasks: number(&env("BENCH_HEAD_OF_LINE_TASKS", "300"))?,
            head_of_line_rps: 5,
            head_of_line_only: false,
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
                "--pause-budget-tasks" => args.pause_budget_tasks = number(value()?)?,
                "--pause-budget-burst" => args.pause_budget_burst = number(value()?)?,
                "--pause-budget-pause" => args.pause_budget_pause_s = number(value()?)?,
                "--pause-budget-only" => args.pause_budget_only = true,
                "--no-idle" => args.idle = false,
                "--out" => args.out = PathBuf::from(value()?),
                "--operator" => args.operator = PathBuf::from(value()?),
                "--chaos-tasks" => args.chaos_tasks = number(value()?)?,
                "--chaos-kills" => args.chaos_kills = number(value()?)?,
                "--chaos-kill-window" => args.chaos_kill_window_s = number(value()?)?,
                "--chaos-concurrency" => args.chaos_concurrency = number(value()?)?,
                "--chaos-timeout" => args.chaos_timeout_s = number(value()?)?,
                "--chaos-only" => args.chaos_only = true,
                "--memory-tasks" => args.memory_tasks = number(value()?)?,
                "--memory-only" => args.memory_only = true,
                "--head-of-line-tasks" => args.head_of_line_tasks = number(value()?)?,
                "--head-of-line-rps" => args.head_of_line_rps = number(value()?)?,
                "--head-of-line-only" => args.head_of_line_only = true,
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
        ensure!(
            (1..=1000).contains(&args.head_of_line_rps),
            "--head-of-line-rps: 1..=1000"
        );
        ensure!(
            (1..=1000).contains(&args.pause_budget_burst),
            "--pause-budget-burst: 1..=1000"
        );
        ensure!(
            (0.0..=15.0).contains(&args.pause_budget_pause_s),
            "--pause-budget-pause: 0 to 15 seconds"
        );
        ensure!(
            args.chaos_concurrency > 0 && args.chaos_kill_window_s >= 0.0 && args.chaos_timeout_s > 0.0,
            "--chaos-concurrency, --chaos-timeout: positive; --chaos-kill-window: not negative"
        );
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
