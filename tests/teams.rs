//! Many teams on one operator (issue 23), end to end: real kube-apiserver, the operator binary,
//! the simulator in this process. One account works through a backlog of hundreds of changes at
//! a low rate; a change to another account's task must not wait behind it.

#[path = "harness/mod.rs"]
mod harness;
mod support;

use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use harness::{Operator, calls_for, eventually, put_remote_task};
use kube::api::{Patch, PatchParams};
use serde_json::json;

/// Changed running campaigns of the busy account.
const BACKLOG: usize = 220;
/// The busy account's budget: its backlog takes 4 × 220 / 5 ≈ 3 minutes.
const BULK_RPS: u32 = 5;
const SMALL_RPS: u32 = 20;

#[tokio::test]
async fn a_change_on_one_account_does_not_wait_behind_another_accounts_backlog() {
    let Some(setup) = harness::setup_with("teams", |account| {
        account.spec.rate_limit.requests_per_second = BULK_RPS;
    })
    .await
    else {
        return;
    };
    // The small team's account: another platform user (its own simulator), its own budget.
    let small_sim = harness::simulator(&setup.token).await;
    let mut small_account = support::account("small", &small_sim.base_url(), "platform-token");
    small_account.spec.rate_limit.requests_per_second = SMALL_RPS;
    support::create(&setup.client, &setup.ns, &small_account).await;
    let small = support::task("small-change", "small", &harness::uuid_like());
    put_remote_task(&small_sim, &small, 2, json!({}));
    support::create_task(&setup.client, &setup.ns, &small).await;

    let bulk: Vec<_> = (0..BACKLOG)
        .map(|i| support::task(&format!("bulk-{i:03}"), "main", &harness::uuid_like()))
        .collect();
    for task in &bulk {
        put_remote_task(&setup.sim, task, 2, json!({"maximumcall": 1}));
    }
    stream::iter(&bulk)
        .for_each_concurrent(16, |task| async {
            support::create_task(&setup.client, &setup.ns, task).await;
        })
        .await;
    let operator = Operator::start(&setup.ns, &["--concurrency", "8"]);
    support::wait_for_condition(&setup.tasks, "small-change", "Ready", "True", Duration::from_secs(60)).await;
    // The backlog is well under way: some bulk operations done, most still waiting.
    eventually(Duration::from_secs(60), "ten bulk campaigns updated", || {
        setup.sim.journal().iter().filter(|e| e.endpoint == "update").count() >= 10
    })
    .await;

    let small_id = small.spec.task_id.clone().unwrap();
    small_sim.clear_journal();
    let patch = json!({"spec": {"task": {"maxConcurrency": 3}}});
    let changed = Instant::now();
    setup
        .tasks
        .patch("small-change", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    eventually(Duration::from_secs(60), "the small change's first call", || {
        !calls_for(&small_sim, &small_id).is_empty()
    })
    .await;
    let started_after = changed.elapsed();
    support::wait_for(
        &setup.tasks,
        "small-change",
        Duration::from_secs(120),
        "Ready at generation 2",
        |t| {
            t.status.as_ref().is_some_and(|s| s.observed_generation == Some(2))
                && support::condition(t, "Ready").is_some_and(|c| c.status == "True")
        },
    )
    .await;
    let ready_after = changed.elapsed();
    let bulk_updated = setup.sim.journal().iter().filter(|e| e.endpoint == "update").count();
    eprintln!(
        "small change: first call {started_after:?}, Ready {ready_after:?} after the patch; \
         bulk updates by then: {bulk_updated} of {BACKLOG}"
    );
    let calls: Vec<String> = calls_for(&small_sim, &small_id)
        .into_iter()
        .map(|c| c.endpoint)
        .collect();
    assert_eq!(calls, ["detail", "pause", "update", "resume"]);
    assert!(
        bulk_updated < BACKLOG / 2,
        "the backlog was mostly done before the change: the test proves nothing"
    );
    assert!(
        started_after < Duration::from_secs(1),
        "the small change started {started_after:?} after the patch, behind the other account's backlog"
    );
    // Its own four calls at 20 rps take 0.2 s, plus two status writes: 3 s is ample, the backlog
    // ahead of it takes minutes.
    assert!(
        ready_after < Duration::from_secs(3),
        "the small change was Ready {ready_after:?} after the patch"
    );
    drop(operator);
}
