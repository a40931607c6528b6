//! Work under overload, end to end (issue "Under load the work that matters starves"): 300
//! changed running campaigns, a platform whose pause takes 1 s to take effect and that fails or
//! loses the answer of some calls, and the operator SIGKILLed mid-operation several times.
//! Checks that the last instance resumes every campaign a killed one left paused within seconds,
//! reconciles every task, and that, with resyncs overloading the workers, spec changes still go
//! first. Real kube-apiserver, real operator binary, the simulator in this process.

#[path = "harness/mod.rs"]
mod harness;
mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use harness::{Operator, eventually, put_remote_task};
use kube::api::{ListParams, Patch, PatchParams};
use outbound_api::OutboundTask;
use outbound_sim::{FaultConfig, SimEndpoint, SimHandle};
use serde_json::json;

const TASKS: usize = 300;
const WORKERS: &str = "8";
/// How long after the last restart every campaign left paused by a killed instance must run again.
const RESUMED_WITHIN: Duration = Duration::from_secs(30);

fn faults(detail_latency_ms: u64) -> FaultConfig {
    let mut faults = FaultConfig {
        slow_pause_secs: 1.0,
        ..Default::default()
    };
    for endpoint in SimEndpoint::TASK {
        let f = faults.endpoint_mut(endpoint);
        f.error_rate = 0.05;
        f.malformed_rate = 0.05; // the call takes effect, its answer is lost
    }
    faults.endpoint_mut(SimEndpoint::Detail).latency_ms = detail_latency_ms;
    faults
}

fn all_ready(tasks: &[OutboundTask]) -> bool {
    tasks.iter().all(|t| {
        let status = t.status.clone().unwrap_or_default();
        status.observed_generation == t.metadata.generation
            && support::condition(t, "Ready").is_some_and(|c| c.status == "True")
    })
}

/// Remote tasks the platform holds paused (status 1).
fn paused_remotely(sim: &SimHandle, ids: &[String]) -> HashSet<String> {
    ids.iter()
        .filter(|id| sim.task(id).is_some_and(|t| t.status == 1))
        .cloned()
        .collect()
}

#[tokio::test]
async fn after_kills_paused_campaigns_resume_first_every_task_is_reconciled_and_changes_beat_resyncs() {
    let Some(harness::Setup {
        client,
        ns,
        sim,
        tasks: api,
        ..
    }) = harness::setup_with("fair", |account| {
        account.spec.rate_limit.requests_per_second = 1000;
        account.spec.rate_limit.burst = 100;
        account.spec.platform.started_retry_interval = "300ms".into();
        // As many operations in flight as workers, so that the kills below find some mid-way (and
        // the restarted instance must count the journals they leave).
        account.spec.max_paused = Some(8);
    })
    .await
    else {
        return;
    };

    let mut ids = Vec::new();
    let mut tasks = Vec::new();
    for i in 0..TASKS {
        let mut task = support::task(&format!("c{i:03}"), "main", &harness::uuid_like());
        task.spec.resync_interval = "30s".into();
        put_remote_task(&sim, &task, 2, json!({"maximumcall": 1}));
        ids.push(task.spec.task_id.clone().unwrap());
        tasks.push(task);
    }
    stream::iter(&tasks)
        .for_each_concurrent(16, |task| support::create_task(&client, &ns, task).map(|_| ()))
        .await;
    sim.set_faults(faults(0)).unwrap();

    // Kill the operator mid-operation, again and again, as a crash-looping Pod would.
    for _ in 0..4 {
        let mut operator = Operator::start(&ns, &["--concurrency", WORKERS]);
        tokio::time::sleep(Duration::from_secs(4)).await;
        operator.kill();
    }
    // A pause sent just before a kill takes effect 1 s later (slow_pause_secs).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let left_paused = paused_remotely(&sim, &ids);
    let restart_seq = sim.journal().last().map_or(0, |e| e.seq);
    let restarted = Instant::now();
    let operator = Operator::start(&ns, &["--concurrency", WORKERS]);
    assert!(
        !left_paused.is_empty(),
        "the kills should leave campaigns paused mid-operation; none were (the test proves nothing)"
    );

    eventually(
        RESUMED_WITHIN,
        "campaigns left paused by killed instances to run again",
        || left_paused.iter().all(|id| sim.task(id).is_some_and(|t| t.status == 2)),
    )
    .await;
    let resumed_after = restarted.elapsed();

    let converge = Duration::from_secs(240);
    let deadline = Instant::now() + converge;
    loop {
        let listed = api.list(&ListParams::default()).await.unwrap().items;
        if all_ready(&listed) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not every task was Ready within {converge:?} of the restart"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let converged_after = restarted.elapsed();
    let touched: HashSet<String> = sim
        .journal()
        .into_iter()
        .filter(|e| e.seq > restart_seq)
        .filter_map(|e| ids.iter().find(|id| e.path.contains(id.as_str())).cloned())
        .collect();
    assert_eq!(touched.len(), TASKS, "the last instance reconciled every task");
    assert!(paused_remotely(&sim, &ids).is_empty(), "no campaign left paused");

    // Overload: every read now takes 1 s, so 8 workers read 8 tasks a second while 300 tasks
    // resyncing every 30 s ask for 10. Resyncs stretch; a spec change must not wait behind them.
    sim.set_faults(faults(1000)).unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let changed: Vec<String> = (0..TASKS).step_by(30).map(|i| format!("c{i:03}")).collect();
    let patch = json!({"spec": {"task": {"maxConcurrency": 3}}});
    let changed_at = Instant::now();
    for name in &changed {
        api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    }
    let bound = Duration::from_secs(25);
    let deadline = Instant::now() + bound;
    loop {
        let listed = api.list(&ListParams::default()).await.unwrap().items;
        let done = listed
            .iter()
            .filter(|t| changed.contains(&t.metadata.name.clone().unwrap_or_default()))
            .filter(|t| t.metadata.generation == Some(2))
            .collect::<Vec<_>>();
        if done.len() == changed.len() && all_ready(&done.into_iter().cloned().collect::<Vec<_>>()) {
            break;
        }
        if Instant::now() >= deadline {
            let late: Vec<String> = listed
                .iter()
                .filter(|t| changed.contains(&t.metadata.name.clone().unwrap_or_default()))
                .map(|t| {
                    format!(
                        "{} gen {:?} status {:?}",
                        t.metadata.name.clone().unwrap_or_default(),
                        t.metadata.generation,
                        t.status
                    )
                })
                .collect();
            panic!(
                "spec changes waited more than {bound:?} behind resyncs:\n{}",
                late.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let metrics = operator.metrics().await;
    eprintln!(
        "left paused by kills: {}; all resumed {resumed_after:?} after the restart; all {TASKS} Ready after \
         {converged_after:?}; {} spec changes under resync overload Ready after {:?}",
        left_paused.len(),
        changed.len(),
        changed_at.elapsed()
    );
    assert!(
        metrics.contains("outbound_queue_wait_seconds_count{priority=\"resync\"}"),
        "queue metrics exported"
    );
}

use futures::FutureExt as _;
