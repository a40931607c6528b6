//! People editing the leader Lease (review D9): two replicas of the operator binary with
//! `--leader-elect` on the real API server, the leader in the middle of updates (the simulator
//! answers each update only after a while), when a person deletes the Lease or clears its holder.
//! The simulator's journal records when each platform write arrived and which replica sent it
//! (User-Agent `outbound-operator/<v> (<identity>)`): the replica that takes over must not write
//! until the old leader's fence has long been closed.

#[path = "harness/mod.rs"]
mod harness;
mod support;

use std::time::Duration;

use harness::{Operator, Setup, eventually, remote_equals_spec, remote_status, writes_by};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use outbound_api::OutboundTask;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(90);
/// The operator's renew deadline: a cut-off leader's fence stays open at most this long after
/// its last renewal, so a new leader that waits less could write beside it.
const RENEW_DEADLINE: Duration = Duration::from_secs(10);
/// How often the leader renews: it must learn of a person's edit sooner than its next renewal.
const RETRY_PERIOD: Duration = Duration::from_secs(2);

/// Two replicas, `first` leading and in the middle of updating three campaigns (each update
/// arrived at the platform and is answered only 5 s later); `second` waiting for the Lease.
async fn leader_mid_update(prefix: &str) -> Option<(Setup, Operator, Operator, Vec<OutboundTask>)> {
    let setup = harness::setup(prefix).await?;
    let tasks = harness::changed_tasks_behind_a_slow_update(&setup, &["a", "b", "c"], Duration::from_secs(5));
    let lease = ["--leader-elect", "--leader-election-namespace", setup.ns.as_str()];
    let first = Operator::start(&setup.ns, &[&lease[..], &["--identity", "first"]].concat());
    eventually(WAIT, "the first replica leads", || {
        first.logs().contains("caches synced")
    })
    .await;
    let second = Operator::start(&setup.ns, &[&lease[..], &["--identity", "second"]].concat());
    eventually(WAIT, "the second replica waits", || {
        second.logs().contains("waiting for leadership")
    })
    .await;
    for task in &tasks {
        support::create_task(&setup.client, &setup.ns, task).await;
    }
    // Paused: each update is on its way or held by the platform for 5 s, the resume still to come.
    eventually(WAIT, "every campaign paused by the leader", || {
        tasks
            .iter()
            .all(|task| remote_status(&setup.sim, task.spec.task_id.as_deref().unwrap()) == 1)
    })
    .await;
    Some((setup, first, second, tasks))
}

/// The one Lease of the test's namespace (the replicas' only one).
async fn the_lease(setup: &Setup) -> (Api<Lease>, String) {
    let leases: Api<Lease> = Api::namespaced(setup.client.clone(), &setup.ns);
    let list = leases.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(list.len(), 1, "one Lease: {list:?}");
    let name = list[0].metadata.name.clone().unwrap();
    (leases, name)
}

/// The old leader stopped within a renewal period of the person's edit (`edited_at`); the
/// second replica takes over and finishes the campaigns; its first platform write arrived at
/// least the renew deadline after the old leader's last one.
async fn hand_over_without_overlap(
    setup: &Setup,
    edited_at: jiff::Timestamp,
    first: &mut Operator,
    second: &Operator,
    tasks: &[OutboundTask],
) {
    eventually(WAIT, "the second replica takes over", || {
        second.logs().contains("acquired leadership")
    })
    .await;
    eventually(WAIT, "every campaign updated and running", || {
        tasks.iter().all(|task| {
            remote_equals_spec(&setup.sim, task)
                && remote_status(&setup.sim, task.spec.task_id.as_deref().unwrap()) == 2
        })
    })
    .await;
    let (old, new) = (writes_by(&setup.sim, "first"), writes_by(&setup.sim, "second"));
    let (Some(old_last), Some(new_first)) = (old.last(), new.first()) else {
        panic!("both replicas wrote: first {old:?}, second {new:?}");
    };
    let took_over = second.logged_at("acquired leadership").unwrap();
    let gap = new_first.duration_since(*old_last);
    eprintln!(
        "the old leader's last write {old_last}, the new one's first {new_first} ({gap:#} later); took over {took_over}"
    );
    assert!(
        old_last < &took_over,
        "the old leader wrote at {old_last} while the new one held the Lease since {took_over}"
    );
    assert!(
        gap >= jiff::SignedDuration::try_from(RENEW_DEADLINE).unwrap(),
        "the new leader wrote {gap:#} after the old one's last write (first: {old:?}, second: {new:?})"
    );
    assert!(!first.is_running(), "the old leader exited: {}", first.logs());
    let stopped = first.logged_at("lost leadership").expect("the old leader says it lost");
    let noticed = stopped.duration_since(edited_at);
    eprintln!("the old leader stopped writing {noticed:#} after the edit");
    assert!(
        noticed < jiff::SignedDuration::try_from(RETRY_PERIOD).unwrap(),
        "the old leader noticed the edit only after {noticed:#}"
    );
}

#[tokio::test]
async fn a_lease_deleted_mid_update_closes_the_fence_and_the_follower_waits_the_lease_out() {
    let Some((setup, mut first, second, tasks)) = leader_mid_update("lease-delete").await else {
        return;
    };
    let (leases, name) = the_lease(&setup).await;
    let edited_at = jiff::Timestamp::now();
    leases.delete(&name, &DeleteParams::default()).await.unwrap();
    hand_over_without_overlap(&setup, edited_at, &mut first, &second, &tasks).await;
}

#[tokio::test]
async fn a_lease_whose_holder_a_person_clears_mid_update_is_waited_out() {
    let Some((setup, mut first, second, tasks)) = leader_mid_update("lease-clear").await else {
        return;
    };
    let (leases, name) = the_lease(&setup).await;
    let cleared = json!({"spec": {"holderIdentity": ""}});
    let edited_at = jiff::Timestamp::now();
    leases
        .patch(&name, &PatchParams::default(), &Patch::Merge(&cleared))
        .await
        .unwrap();
    hand_over_without_overlap(&setup, edited_at, &mut first, &second, &tasks).await;
}
