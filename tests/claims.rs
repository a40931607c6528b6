//! One campaign, one owner (issue 22, item 5), against the real API server and the simulator: two
//! OutboundTasks naming the same remote task (same platform account, same taskId) through two
//! OutboundAccounts, with different settings. The first claimant (by creation time) keeps the
//! campaign; the other makes no platform call and is Stalled `TaskClaimed` naming the holder, until
//! the holder is deleted: then it takes over and converges.

#[path = "harness/mod.rs"]
mod harness;
mod support;

use std::time::Duration;

use harness::{Operator, call_names, put_remote_task, remote_equals_spec, setup};
use kube::api::DeleteParams;
use outbound_api::{DeletionPolicy, OutboundTask};
use serde_json::json;
use support::{condition, wait_for, wait_for_condition};

const WAIT: Duration = Duration::from_secs(60);

/// The calls that change a campaign (everything but reads).
fn writes(calls: &[String]) -> Vec<String> {
    calls
        .iter()
        .filter(|call| !call.starts_with("detail") && !call.starts_with("list"))
        .cloned()
        .collect()
}

fn claimed_by(task: &OutboundTask, holder: &str) -> bool {
    condition(task, "Stalled")
        .is_some_and(|c| c.status == "True" && c.reason == "TaskClaimed" && c.message.contains(holder))
}

#[tokio::test]
async fn the_first_claimant_keeps_a_campaign_and_the_second_takes_over_when_it_goes() {
    let Some(setup) = setup("own-claim").await else { return };
    // A second account object for the same platform account: the claim is on the platform's
    // identity (baseUrl + userId), not on the account object's name.
    support::create_account(
        &setup.client,
        &setup.ns,
        "same-account",
        &setup.sim.base_url(),
        "platform-token",
    )
    .await;
    let id = harness::uuid_like();
    let mut first = support::task("a-first", "main", &id);
    first.spec.deletion_policy = DeletionPolicy::Orphan;
    let mut second = support::task("b-second", "same-account", &id);
    second.spec.task.max_concurrency = 7;
    put_remote_task(&setup.sim, &first, 2, json!({"maximumcall": 1}));
    let _operator = Operator::start(&setup.ns, &[]);

    support::create_task(&setup.client, &setup.ns, &first).await;
    wait_for_condition(&setup.tasks, "a-first", "Ready", "True", WAIT).await;
    assert!(
        remote_equals_spec(&setup.sim, &first),
        "the first object converged the campaign"
    );
    let writes_of_first = writes(&call_names(&setup.sim, &id));
    assert_eq!(writes_of_first, ["pause", "update", "resume"]);

    support::create_task(&setup.client, &setup.ns, &second).await;
    let holder = format!("{}/a-first", setup.ns);
    let stalled = wait_for(
        &setup.tasks,
        "b-second",
        WAIT,
        "Stalled TaskClaimed naming the holder",
        |t| claimed_by(t, &holder),
    )
    .await;
    assert!(
        condition(&stalled, "Ready").is_some_and(|c| c.status == "False"),
        "not Ready while claimed: {:?}",
        stalled.status
    );
    // Time for a wrongful update to show in the journal.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        writes(&call_names(&setup.sim, &id)),
        writes_of_first,
        "the second object made no platform write"
    );
    assert!(
        remote_equals_spec(&setup.sim, &first),
        "the campaign keeps the holder's settings"
    );

    // The holder goes: the other takes the campaign over, without waiting for its resync.
    let calls_before = call_names(&setup.sim, &id).len();
    setup.tasks.delete("a-first", &DeleteParams::default()).await.unwrap();
    wait_for(&setup.tasks, "b-second", Duration::from_secs(30), "the takeover", |t| {
        condition(t, "Ready").is_some_and(|c| c.status == "True")
            && condition(t, "Stalled").is_none_or(|c| c.status != "True")
    })
    .await;
    assert!(
        remote_equals_spec(&setup.sim, &second),
        "the second object converged the campaign"
    );
    let after = call_names(&setup.sim, &id)[calls_before..].to_vec();
    assert_eq!(after, ["detail", "pause", "update", "resume"], "the takeover's calls");
}

/// An object that stands aside does not act on the holder's campaign when it is deleted either,
/// even with a finalizer and `deletionPolicy: Delete` (e.g. one it got while it held the task).
#[tokio::test]
async fn deleting_an_object_that_stands_aside_leaves_the_holders_campaign_alone() {
    let Some(setup) = setup("own-delete").await else { return };
    let id = harness::uuid_like();
    let first = support::task("a-first", "main", &id);
    let mut second = support::task("b-second", "main", &id);
    second.spec.deletion_policy = DeletionPolicy::Delete;
    second.metadata.finalizers = Some(vec!["outbound.dev/finalizer".into()]);
    put_remote_task(&setup.sim, &first, 2, json!({}));
    let _operator = Operator::start(&setup.ns, &[]);
    support::create_task(&setup.client, &setup.ns, &first).await;
    wait_for_condition(&setup.tasks, "a-first", "Ready", "True", WAIT).await;
    support::create_task(&setup.client, &setup.ns, &second).await;
    let holder = format!("{}/a-first", setup.ns);
    wait_for(&setup.tasks, "b-second", WAIT, "Stalled TaskClaimed", |t| {
        claimed_by(t, &holder)
    })
    .await;

    setup.tasks.delete("b-second", &DeleteParams::default()).await.unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    while setup.tasks.get_opt("b-second").await.unwrap().is_some() {
        assert!(std::time::Instant::now() < deadline, "b-second was never let go");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        writes(&call_names(&setup.sim, &id)).is_empty(),
        "no write: {:?}",
        call_names(&setup.sim, &id)
    );
    assert_eq!(harness::remote_status(&setup.sim, &id), 2, "the campaign still runs");
}
