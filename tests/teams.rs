//! Many teams on one operator (issue 23), end to end: real kube-apiserver, the operator binary,
//! the simulator in this process. One account works through a backlog of hundreds of changes at
//! a low rate; a change to another account's task must not wait behind it. Two account objects
//! reaching one platform user share one budget, at the tighter rate.

#[path = "harness/mod.rs"]
mod harness;
mod support;

use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use harness::{Operator, busiest_second, calls_for, eventually, put_remote_task};
use kube::api::Api;
use kube::api::{Patch, PatchParams};
use outbound_api::OutboundAccount;
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

/// Review A4: a second account object for the same platform user (another team's namespace, a
/// copy of the production account) must not add its rate to the first's.
#[tokio::test]
async fn two_accounts_of_one_platform_user_share_the_tighter_budget() {
    const LOOSE_RPS: u32 = 10;
    const TIGHT_RPS: u32 = 4;
    const TASKS_EACH: usize = 6;
    let Some(setup) = harness::setup_with("one-user", |account| {
        account.spec.rate_limit.requests_per_second = LOOSE_RPS;
    })
    .await
    else {
        return;
    };
    let mut copy = support::account("copy", &setup.sim.base_url(), "platform-token");
    copy.spec.rate_limit.requests_per_second = TIGHT_RPS;
    support::create(&setup.client, &setup.ns, &copy).await;
    let tasks: Vec<_> = (0..2 * TASKS_EACH)
        .map(|i| {
            let account = if i % 2 == 0 { "main" } else { "copy" };
            support::task(&format!("t{i:02}"), account, &harness::uuid_like())
        })
        .collect();
    for task in &tasks {
        put_remote_task(&setup.sim, task, 2, json!({"maximumcall": 1}));
        support::create_task(&setup.client, &setup.ns, task).await;
    }
    let operator = Operator::start(&setup.ns, &[]);
    for task in &tasks {
        support::wait_for_condition(
            &setup.tasks,
            task.metadata.name.as_deref().unwrap(),
            "Ready",
            "True",
            Duration::from_secs(90),
        )
        .await;
    }
    let busiest = busiest_second(&setup.sim);
    eprintln!("busiest second: {busiest} calls (accounts at {LOOSE_RPS} and {TIGHT_RPS} requests/s)");
    assert!(
        setup.sim.journal().len() >= 4 * tasks.len(),
        "every task was read, paused, updated and resumed"
    );
    assert!(
        busiest <= TIGHT_RPS as usize,
        "{busiest} calls within one second to one platform user; the tighter account allows {TIGHT_RPS}"
    );
    let accounts: Api<OutboundAccount> = Api::namespaced(setup.client.clone(), &setup.ns);
    for (name, other) in [("main", "copy"), ("copy", "main")] {
        let account = support::wait_for(&accounts, name, Duration::from_secs(30), "BudgetShared", |a| {
            support::condition(a, "BudgetShared").is_some_and(|c| c.status == "True")
        })
        .await;
        let message = &support::condition(&account, "BudgetShared").unwrap().message;
        assert!(
            message.contains(&format!("{}/{other}", setup.ns)) && message.contains(&format!("{TIGHT_RPS} requests/s")),
            "{name}: {message}"
        );
        assert!(
            support::condition(&account, "Ready").is_some_and(|c| c.status == "True"),
            "Ready is kept beside it"
        );
    }
    drop(operator);
}
