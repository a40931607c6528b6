//! The admission's backlog end to end: tasks wait there as keys, and kube-runtime is asked to
//! start one only when a worker place is reserved for it. A task deleted while it waits is still
//! in line; when its turn comes kube-runtime finds no object, and its reserved place must go to
//! the next task, or with `--concurrency 1` the operator would stop at the first such task.
//! Real kube-apiserver, real operator binary, the simulator in this process.

#[path = "harness/mod.rs"]
mod harness;
mod support;

use std::time::Duration;

use futures::{StreamExt, stream};
use harness::{Operator, eventually, put_remote_task};
use kube::api::{DeleteParams, ListParams};
use outbound_sim::{FaultConfig, SimEndpoint};

const TASKS: usize = 30;

#[tokio::test]
async fn tasks_deleted_while_they_wait_give_their_place_to_the_next() {
    let Some(harness::Setup {
        client,
        ns,
        sim,
        tasks: api,
        ..
    }) = harness::setup("backlog").await
    else {
        return;
    };
    let mut tasks = Vec::new();
    for i in 0..TASKS {
        let task = support::task(&format!("w{i:02}"), "main", &harness::uuid_like());
        put_remote_task(&sim, &task, 2, serde_json::json!({}));
        tasks.push(task);
    }
    stream::iter(&tasks)
        .for_each_concurrent(16, |task| async {
            support::create_task(&client, &ns, task).await;
        })
        .await;
    // One worker and slow reads: the line is long when the deletions come.
    let mut faults = FaultConfig::default();
    faults.endpoint_mut(SimEndpoint::Detail).latency_ms = 300;
    sim.set_faults(faults).unwrap();
    let operator = Operator::start(&ns, &["--concurrency", "1"]);

    let deleted: Vec<String> = (0..TASKS).filter(|i| i % 3 != 0).map(|i| format!("w{i:02}")).collect();
    eventually(Duration::from_secs(30), "the first task to be reconciled", || {
        sim.journal().iter().any(|e| e.endpoint == "detail")
    })
    .await;
    for name in &deleted {
        api.delete(name, &DeleteParams::default()).await.unwrap();
    }
    let kept: Vec<String> = (0..TASKS).filter(|i| i % 3 == 0).map(|i| format!("w{i:02}")).collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let listed = api.list(&ListParams::default()).await.unwrap().items;
        let ready = listed
            .iter()
            .filter(|t| support::condition(*t, "Ready").is_some_and(|c| c.status == "True"))
            .count();
        if ready == kept.len() && listed.len() == kept.len() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{ready} of the {} tasks left Ready after 60 s ({} listed); operator log tail:\n{}",
            kept.len(),
            listed.len(),
            operator.logs().lines().rev().take(20).collect::<Vec<_>>().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let read: Vec<String> = sim
        .journal()
        .into_iter()
        .filter(|e| e.endpoint == "detail")
        .filter_map(|e| e.task_id)
        .collect();
    let deleted_ids: Vec<&str> = tasks
        .iter()
        .filter(|t| deleted.contains(t.metadata.name.as_ref().unwrap()))
        .map(|t| t.spec.task_id.as_deref().unwrap())
        .collect();
    let deleted_read = read.iter().filter(|id| deleted_ids.contains(&id.as_str())).count();
    eprintln!(
        "{} deleted while waiting, {deleted_read} of them read before their deletion; {} kept, all Ready",
        deleted.len(),
        kept.len()
    );
    assert!(
        deleted_read < deleted.len() / 2,
        "most deleted tasks should have been deleted while they waited ({deleted_read} were read first)"
    );
}
