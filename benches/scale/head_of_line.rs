//! The head-of-line run (issue 23): one account ("main", `--head-of-line-rps`, 5 requests/s)
//! works through a backlog of `--head-of-line-tasks` (300) changed running campaigns; meanwhile
//! a task of another account ("small", 20 requests/s, another platform user: its own simulator)
//! is changed, `SAMPLES` times a few seconds apart. Measured for each change: from the patch to
//! the small task's first call on the platform (target: under 1 s, whatever the backlog), and to
//! its Ready (target: its own four calls at 20 rps plus two status writes), and how much of the
//! backlog was done by then.

use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use kube::api::{Api, Patch, PatchParams};
use outbound_api::OutboundTask;
use outbound_sim::{FaultConfig, STATUS_RUNNING};
use serde::Serialize;
use serde_json::json;

use crate::Env;
use crate::cluster::{create_account, create_all, setup_namespace};
use crate::fixtures::{remote_task, simulator, task};
use crate::operator::Operator;
use crate::tracker::ready_generation;

const WORKERS: u16 = 8;
const SMALL_RPS: u32 = 20;
const SAMPLES: usize = 5;

#[derive(Debug, Clone, Serialize)]
pub struct HeadOfLineResult {
    pub backlog_tasks: usize,
    pub backlog_rps: u32,
    pub small_rps: u32,
    pub concurrency: u16,
    /// Per change of the small task: seconds from the patch to its first platform call.
    pub started_s: Vec<f64>,
    /// Per change: seconds from the patch to Ready at the new generation.
    pub ready_s: Vec<f64>,
    /// Backlog campaigns updated when the last small change was Ready.
    pub backlog_updated: usize,
}

pub async fn head_of_line_run(env: &Env) -> anyhow::Result<HeadOfLineResult> {
    let (n, rps) = (env.args.head_of_line_tasks, env.args.head_of_line_rps);
    let run_id: u32 = rand::random();
    let ns = format!("bench-head-of-line-{:06x}", run_id & 0xff_ffff);
    let token = format!("bench-token-{run_id:08x}");
    let bulk_sim = simulator(&token, FaultConfig::default()).await?;
    let small_sim = simulator(&token, FaultConfig::default()).await?;
    setup_namespace(&env.client, &ns, &token, &bulk_sim.base_url(), rps, 1).await?;
    create_account(&env.client, &ns, "small", &small_sim.base_url(), SMALL_RPS, 1).await?;

    // The backlog: every remote campaign runs with another name than its spec says.
    let backlog: Vec<OutboundTask> = (0..n).map(|i| task(i, run_id, "1h")).collect();
    for t in &backlog {
        let mut remote = remote_task(&t.spec, STATUS_RUNNING);
        remote.config["name"] = json!(format!("{}-old", t.spec.task.name));
        bulk_sim.put_task(t.spec.task_id.as_deref().unwrap(), remote)?;
    }
    let mut small = task(n, run_id, "1h");
    small.metadata.name = Some("small".into());
    small.spec.account_ref.name = "small".into();
    let small_id = small.spec.task_id.clone().unwrap();
    small_sim.put_task(&small_id, remote_task(&small.spec, STATUS_RUNNING))?;

    let api: Api<OutboundTask> = Api::namespaced(env.client.clone(), &ns);
    create_all(&api, vec![small.clone()]).await?;
    let mut operator = Operator::start(env, &ns, WORKERS, "head-of-line")?;
    operator.wait_ready(&env.http).await?;
    wait_ready_at(&api, 1, Duration::from_secs(60)).await?;
    create_all(&api, backlog).await?;
    let updates = || bulk_sim.journal().iter().filter(|e| e.endpoint == "update").count();
    tokio::time::sleep(Duration::from_secs(5)).await;

    let (mut started_s, mut ready_s) = (Vec::new(), Vec::new());
    for sample in 0..SAMPLES {
        let generation = 2 + sample as i64;
        small_sim.clear_journal();
        let patch = json!({"spec": {"task": {"maxConcurrency": 3 + sample}}});
        let changed = Instant::now();
        api.patch("small", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .context("changing the small task")?;
        while small_sim.journal().is_empty() {
            ensure!(
                changed.elapsed() < Duration::from_secs(300),
                "the small change never started"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        started_s.push(changed.elapsed().as_secs_f64());
        wait_ready_at(&api, generation, Duration::from_secs(300)).await?;
        ready_s.push(changed.elapsed().as_secs_f64());
        eprintln!(
            "head of line: change {}: first call {:.3} s, Ready {:.3} s; backlog updated {} of {n}",
            sample + 1,
            started_s[sample],
            ready_s[sample],
            updates()
        );
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let backlog_updated = updates();
    operator.stop();
    bulk_sim.shutdown().await;
    small_sim.shutdown().await;
    ensure!(
        backlog_updated < n,
        "the backlog was done before the last change: the figures prove nothing"
    );
    Ok(HeadOfLineResult {
        backlog_tasks: n,
        backlog_rps: rps,
        small_rps: SMALL_RPS,
        concurrency: WORKERS,
        started_s,
        ready_s,
        backlog_updated,
    })
}

/// Waits until the task "small" is Ready at `generation`.
async fn wait_ready_at(api: &Api<OutboundTask>, generation: i64, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if ready_generation(&api.get("small").await?) == Some(generation) {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "the small task was not Ready at generation {generation} within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn render(runs: &[HeadOfLineResult]) -> String {
    let mut out = String::from(
        "\nHead of line (a change on one account while another works through a backlog):\n\n\
         | backlog | backlog rps | small rps | workers | first call max (s) | Ready max (s) | backlog updated by then |\n\
         |---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let max = |values: &[f64]| values.iter().copied().fold(0.0, f64::max);
    for r in runs {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.3} | {:.3} | {} |\n",
            r.backlog_tasks,
            r.backlog_rps,
            r.small_rps,
            r.concurrency,
            max(&r.started_s),
            max(&r.ready_s),
            r.backlog_updated
        ));
    }
    out
}
