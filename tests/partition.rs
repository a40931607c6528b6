//! Leader fencing against a real API-server partition: two replicas of the operator binary with
//! `--leader-elect`, the leader talking to a second kube-apiserver of the plane (same etcd) that
//! the test freezes, while the platform simulator stays reachable for both. The simulator's
//! journal tells the replicas' calls apart by User-Agent (`outbound-operator/<v> (<identity>)`).

#[path = "harness/mod.rs"]
mod harness;
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::{Operator, eventually, is_write, made_by, put_remote_task, remote_status};
use kube::api::{Patch, PatchParams};
use outbound_api::RunState;
use outbound_operator::controller::leader;
use outbound_platform::{AccountKey, ClientPool, ErrorKind, Fence, RemoteMetrics, Token};
use outbound_sim::JournalEntry;
use serde_json::json;
use support::extra_apiserver::ExtraApiserver;

const WAIT: Duration = Duration::from_secs(60);

/// The case: the spec changes to `runState: Paused` while the leader is cut off. The new
/// leader pauses the campaign; the cut-off one, whose cache still says Running, would resume it
/// on its next resync. It must instead stop writing at its renew deadline (before the Lease can be
/// taken over) and exit.
#[tokio::test]
async fn a_leader_cut_off_from_the_api_server_makes_no_platform_write_after_its_lease_and_exits() {
    let Some(harness::Setup {
        client, ns, sim, tasks, ..
    }) = harness::setup("partition").await
    else {
        return;
    };
    let extra = ExtraApiserver::start().await;

    let lease = ["--leader-elect", "--leader-election-namespace", ns.as_str()];
    let mut first = Operator::start_with_kubeconfig(
        &ns,
        &[&lease[..], &["--identity", "first"]].concat(),
        Some(&extra.kubeconfig),
    );
    eventually(WAIT, "the replica on the extra apiserver leads", || {
        first.logs().contains("acquired leadership")
    })
    .await;
    let second = Operator::start(&ns, &[&lease[..], &["--identity", "second"]].concat());
    eventually(WAIT, "the other replica waits", || {
        second.logs().contains("waiting for leadership")
    })
    .await;

    let mut task = support::task("contested", "main", &harness::uuid_like());
    task.spec.resync_interval = "30s".into();
    task.spec.run_state = Some(RunState::Running);
    let id = task.spec.task_id.clone().unwrap();
    put_remote_task(&sim, &task, 2, json!({"maximumcall": 1}));
    support::create_task(&client, &ns, &task).await;
    support::wait_for_condition(&tasks, "contested", "Ready", "True", WAIT).await;
    let journal = sim.journal();
    assert!(
        journal.iter().any(|e| made_by(e, "first") && is_write(e)),
        "the leader corrected the task: {journal:?}"
    );
    assert!(
        !journal.iter().any(|e| made_by(e, "second")),
        "the follower made no call"
    );

    extra.freeze();
    let frozen_at = jiff::Timestamp::now();
    let frozen = Instant::now();
    let paused = json!({"spec": {"runState": "Paused"}});
    tasks
        .patch("contested", &PatchParams::default(), &Patch::Merge(&paused))
        .await
        .unwrap();
    // The cut-off replica's cache still says Running, and it resyncs every 30 s: give it that
    // long (and more) to resume the campaign, or to exit.
    let deadline = Instant::now() + Duration::from_secs(40);
    while first.is_running() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let exited_after = (!first.is_running()).then(|| frozen.elapsed());
    let new_leader_before_the_exit = second.logs().contains("acquired leadership");
    eventually(WAIT, "the other replica takes over", || {
        second.logs().contains("acquired leadership")
    })
    .await;
    let took_over_after = frozen.elapsed();
    eventually(WAIT, "the new leader pauses the campaign", || {
        remote_status(&sim, &id) == 1
    })
    .await;
    eprintln!("after the freeze: old leader exited {exited_after:?}, takeover seen by {took_over_after:?}");
    let late_writes: Vec<JournalEntry> = sim
        .journal()
        .into_iter()
        .filter(|e| made_by(e, "first") && is_write(e))
        .filter(|e| e.at.parse::<jiff::Timestamp>().unwrap() >= frozen_at)
        .collect();
    assert!(
        late_writes.is_empty(),
        "the cut-off replica wrote to the platform after it lost the API server: {late_writes:?}"
    );
    assert!(
        exited_after.is_some(),
        "the cut-off replica is still running {:?} after the freeze",
        frozen.elapsed()
    );
    assert!(first.logs().contains("lost leadership"));
    assert!(
        !new_leader_before_the_exit,
        "the old leader had exited before the new one took the Lease"
    );
    assert_eq!(
        remote_status(&sim, &id),
        1,
        "the campaign stays paused, as the spec now says"
    );
}

/// Review T1: the fence itself, reached by a write. A leader elected by the operator's own code
/// (`leader::acquire`) on the extra API server, its platform client from the operator's pool
/// (`ClientPool::fenced`, as `run` builds it): a write goes through while it holds the Lease; once
/// its API server is frozen and the renew deadline has passed, its next write is refused (kind
/// `fenced`) and never reaches the platform. (The binary exits at that instant, which is why
/// the test above never sees a write attempt after the deadline.)
#[tokio::test]
async fn a_cut_off_leaders_write_after_its_renew_deadline_is_refused_and_never_sent() {
    let Some(harness::Setup { ns, sim, token, .. }) = harness::setup("fence-write").await else {
        return;
    };
    let extra = ExtraApiserver::start().await;
    let client = support::client_of(&extra.kubeconfig).await;
    let fence = Fence::closed();
    let mut leadership = leader::acquire(client, &ns, "fence-write", "", "cut-off", fence.clone())
        .await
        .unwrap();
    let pool = ClientPool::fenced(Arc::new(RemoteMetrics::new()), fence.clone(), Some("cut-off")).unwrap();
    let account = support::account("main", &sim.base_url(), "platform-token");
    let platform = pool.client_for(&AccountKey::new(&ns, "main"), &account.spec).unwrap();
    let task = support::task("fenced", "main", &harness::uuid_like());
    put_remote_task(&sim, &task, 2, json!({}));
    let (id, sub) = (task.spec.task_id.as_deref().unwrap(), task.spec.sub_user_id.as_deref());
    let token = Token::new(token);
    platform.pause(&token, id, sub).await.expect("the leader writes");

    extra.freeze();
    let lost = tokio::time::timeout(Duration::from_secs(20), leadership.lost())
        .await
        .expect("the renew deadline passes");
    eprintln!("{lost}");
    let refused = platform.resume(&token, id, sub).await.expect_err("refused");
    assert_eq!(refused.kind(), ErrorKind::Fenced, "{refused}");
    let writes: Vec<String> = sim
        .journal()
        .into_iter()
        .filter(|e| made_by(e, "cut-off") && is_write(e))
        .map(|e| e.endpoint)
        .collect();
    assert_eq!(writes, ["pause"], "the refused resume never reached the platform");
    assert_eq!(remote_status(&sim, id), 1);
}
