//! The budget run: M tasks against a rate-limited simulator, and the most calls in any second.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use kube::api::Api;
use outbound_api::OutboundTask;
use outbound_sim::{FaultConfig, STATUS_RUNNING};
use serde::Serialize;

use crate::Env;
use crate::calls::{max_in_window, millis, summarise};
use crate::cluster::{create_all, setup_namespace};
use crate::fixtures::{remote_task, simulator, task};
use crate::operator::Operator;
use crate::tracker::Tracker;

/// One budget run's figures (`results.json` `budget`), with the run that measures them.
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

pub async fn budget_run(env: &Env, burst: u32) -> anyhow::Result<BudgetResult> {
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
        .map(|(i, t)| (t.spec.task_id.clone().unwrap(), i))
        .collect();
    for t in &tasks {
        // Running, with other settings: every task needs read, pause, update, resume.
        let mut previous = t.spec.clone();
        previous.task.name = format!("{}-old", t.spec.task.name);
        sim.put_task(
            t.spec.task_id.as_deref().unwrap(),
            remote_task(&previous, STATUS_RUNNING),
        )?;
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
