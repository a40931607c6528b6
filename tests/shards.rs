//! Sharding against the real API server: two operator processes with `--leader-elect` and
//! different `--watch-label-selector`s (Flux's `sharding.fluxcd.io/key=shard1`, and
//! `!sharding.fluxcd.io/key` for the remainder) on one API server and one platform simulator.
//! The simulator's journal names each call's task (in its path) and the replica that made it (the
//! User-Agent ends with `(<identity>)`).

#[path = "harness/mod.rs"]
mod harness;
mod support;

use std::time::Duration;

use harness::{Operator, calls_for, eventually, made_by, put_remote_task, remote_equals_spec};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, ListParams, Patch, PatchParams};
use outbound_api::{OutboundTask, RunState};
use outbound_sim::{FaultConfig, JournalEntry, SimEndpoint, SimHandle};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);
const KEY: &str = "sharding.fluxcd.io/key";

/// Asserts that replica `identity` made calls for the remote task after journal entry `after`,
/// and no other replica did.
fn assert_only_by(sim: &SimHandle, task: &OutboundTask, after: u64, identity: &str) {
    let calls: Vec<JournalEntry> = calls_for(sim, task.spec.task_id.as_deref().unwrap())
        .into_iter()
        .filter(|e| e.seq > after)
        .collect();
    let agents: Vec<&str> = calls.iter().map(|e| e.user_agent.as_deref().unwrap_or("")).collect();
    let name = task.metadata.name.as_deref().unwrap_or_default();
    assert!(!calls.is_empty(), "{identity} made no call for {name}");
    assert!(
        calls.iter().all(|e| made_by(e, identity)),
        "only {identity} calls for {name}: {agents:?}"
    );
}

/// How many OutboundTasks a replica's fleet metrics count (its cache: its shard).
async fn tasks_counted(operator: &Operator) -> f64 {
    operator
        .metrics()
        .await
        .lines()
        .filter(|line| line.starts_with("outbound_tasks_by_ready_reason{"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn last_seq(sim: &SimHandle) -> u64 {
    sim.journal().last().map_or(0, |e| e.seq)
}

/// A running remote task whose settings differ from the spec, so that its shard must pause,
/// update and resume it: a task nobody reconciles stays different.
fn drifted(sim: &SimHandle, task: &OutboundTask) {
    put_remote_task(sim, task, 2, json!({"maximumcall": 1}));
}

fn task(name: &str, shard: Option<&str>) -> OutboundTask {
    let mut task = support::task(name, "main", &harness::uuid_like());
    // No resync during the test: every call is the answer to a watch event.
    task.spec.resync_interval = "1h".into();
    task.spec.run_state = Some(RunState::Running);
    if let Some(shard) = shard {
        task.metadata.labels = Some([(KEY.to_owned(), shard.to_owned())].into());
    }
    task
}

#[tokio::test]
async fn each_shard_reconciles_only_its_tasks_the_remainder_the_unlabelled_and_a_relabelled_task_moves() {
    let Some(harness::Setup {
        client, ns, sim, tasks, ..
    }) = harness::setup("shards").await
    else {
        return;
    };

    // No --leader-election-id: each shard derives its Lease from its selector.
    let lease = ["--leader-elect", "--leader-election-namespace", ns.as_str()];
    let shard1 = Operator::start(
        &ns,
        &[
            &lease[..],
            &[
                "--identity",
                "shard1",
                "--watch-label-selector",
                &format!("{KEY}=shard1"),
            ],
        ]
        .concat(),
    );
    let remainder = Operator::start(
        &ns,
        &[
            &lease[..],
            &["--identity", "remainder", "--watch-label-selector", &format!("!{KEY}")],
        ]
        .concat(),
    );
    for (operator, name) in [(&shard1, "shard1"), (&remainder, "the remainder")] {
        eventually(WAIT, &format!("{name} leads its own Lease"), || {
            operator.logs().contains("acquired leadership")
        })
        .await;
    }
    let leases: Vec<Lease> = Api::<Lease>::namespaced(client.clone(), &ns)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    let mut holders: Vec<(String, String)> = leases
        .iter()
        .map(|l| {
            let holder = l.spec.as_ref().and_then(|s| s.holder_identity.clone());
            (l.metadata.name.clone().unwrap(), holder.unwrap_or_default())
        })
        .collect();
    holders.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(holders.len(), 2, "one Lease per shard: {holders:?}");
    assert_eq!(holders[0].1, "remainder");
    assert_eq!(holders[1].1, "shard1");
    let shard1_lease = holders[1].0.clone();
    assert!(
        shard1_lease.starts_with("outbound-operator-leader-key-shard1-"),
        "{shard1_lease}"
    );

    let labelled = task("labelled", Some("shard1"));
    let unlabelled = task("unlabelled", None);
    let elsewhere = task("elsewhere", Some("shard2"));
    for task in [&labelled, &unlabelled, &elsewhere] {
        drifted(&sim, task);
        support::create_task(&client, &ns, task).await;
    }
    for name in ["labelled", "unlabelled"] {
        support::wait_for_condition(&tasks, name, "Ready", "True", WAIT).await;
    }
    assert!(remote_equals_spec(&sim, &labelled) && remote_equals_spec(&sim, &unlabelled));
    assert_only_by(&sim, &labelled, 0, "shard1");
    assert_only_by(&sim, &unlabelled, 0, "remainder");
    // A shard that no Deployment runs is left alone, by the remainder too.
    assert!(calls_for(&sim, elsewhere.spec.task_id.as_deref().unwrap()).is_empty());
    assert!(!remote_equals_spec(&sim, &elsewhere));
    assert_eq!(
        tasks_counted(&shard1).await,
        1.0,
        "shard1's fleet metrics count its task"
    );
    assert_eq!(
        tasks_counted(&remainder).await,
        1.0,
        "the remainder's count the unlabelled one"
    );

    // Relabel the unlabelled task into shard1, with its remote task drifted again: shard1 takes it
    // up (for shard1 it is a new task) and the remainder, for which it left the watch as if
    // deleted, makes no call for it any more.
    let cut = last_seq(&sim);
    drifted(&sim, &unlabelled);
    let relabel = json!({"metadata": {"labels": {KEY: "shard1"}}});
    tasks
        .patch("unlabelled", &PatchParams::default(), &Patch::Merge(&relabel))
        .await
        .unwrap();
    eventually(WAIT, "shard1 corrects the relabelled task", || {
        remote_equals_spec(&sim, &unlabelled)
    })
    .await;
    // Give a remainder that still watched the task time to act on it too (it would, right away).
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_only_by(&sim, &unlabelled, cut, "shard1");
    assert!(
        sim.journal()
            .iter()
            .filter(|e| e.seq > cut)
            .all(|e| !made_by(e, "remainder")),
        "the remainder made no call at all after the relabel"
    );

    // Two shards named onto one Lease: the second refuses to run instead of waiting forever.
    let mut misconfigured = Operator::start(
        &ns,
        &[
            &lease[..],
            &[
                "--identity",
                "shard2",
                "--watch-label-selector",
                &format!("{KEY}=shard2"),
            ],
            &["--leader-election-id", &shard1_lease],
        ]
        .concat(),
    );
    eventually(WAIT, "a shard given another shard's Lease exits", || {
        !misconfigured.is_running()
    })
    .await;
    let logs = misconfigured.logs();
    assert!(logs.contains("belongs to the shard"), "{logs}");
    assert!(!logs.contains("acquired leadership"), "{logs}");
}

/// Moving a task to another shard while its shard is mid-update (paused, the update hanging):
/// the new shard finishes the operation from the journal, and the old one sends nothing more for
/// it once the relabel reached its watch, neither the recovery resume nor its status.
#[tokio::test]
async fn a_task_relabelled_mid_operation_is_finished_by_its_new_shard_and_the_old_one_stops() {
    let Some(harness::Setup {
        client, ns, sim, tasks, ..
    }) = harness::setup("shard-move").await
    else {
        return;
    };
    let shard = |identity: &str, selector: String| {
        let args = ["--identity", identity, "--watch-label-selector", selector.as_str()];
        Operator::start(&ns, &args)
    };
    let _shard1 = shard("shard1", format!("{KEY}=shard1"));
    let _remainder = shard("remainder", format!("!{KEY}"));
    let moving = task("moving", Some("shard1"));
    drifted(&sim, &moving);
    let mut faults = FaultConfig {
        hang_secs: 8,
        ..Default::default()
    };
    faults.endpoint_mut(SimEndpoint::Update).hang = true;
    sim.set_faults(faults).unwrap();
    support::create_task(&client, &ns, &moving).await;
    let id = moving.spec.task_id.clone().unwrap();
    eventually(WAIT, "shard1 paused the task and hangs in its update", || {
        harness::call_names(&sim, &id) == ["detail", "pause", "update"]
    })
    .await;
    sim.set_faults(FaultConfig::default()).unwrap();

    let cut = last_seq(&sim);
    let relabel = json!({"metadata": {"labels": {KEY: null}}});
    tasks
        .patch("moving", &PatchParams::default(), &Patch::Merge(&relabel))
        .await
        .unwrap();
    let done = support::wait_for(&tasks, "moving", WAIT, "the remainder to finish the operation", |t| {
        t.status.as_ref().is_some_and(|s| s.operation.is_none())
            && support::condition(t, "Ready").is_some_and(|c| c.status == "True")
    })
    .await;
    assert!(remote_equals_spec(&sim, &moving));
    assert_eq!(harness::remote_status(&sim, &id), 2, "running again");
    // shard1's update answers 504 after its 8 s hang; its step machine would now resume and
    // report. Give it the time, then check that it sent nothing and wrote nothing.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let after: Vec<String> = calls_for(&sim, &id)
        .into_iter()
        .filter(|e| e.seq > cut && made_by(e, "shard1"))
        .map(|e| e.endpoint)
        .collect();
    assert!(
        after.is_empty(),
        "shard1 kept acting on a task it no longer owns: {after:?}"
    );
    let now = tasks.get("moving").await.unwrap();
    assert_eq!(
        now.status, done.status,
        "shard1 overwrote the status the remainder wrote"
    );
}

#[test]
fn a_bad_selector_stops_the_operator_at_start_naming_the_flag() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_outbound-operator"))
        .args(["run", "--watch-label-selector", "sharding.fluxcd.io/key in shard1"])
        .output()
        .expect("operator runs");
    // A usage error of any command exits 1 (2 is `plan`'s "changes").
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--watch-label-selector"), "{stderr}");
    assert!(stderr.contains("sharding.fluxcd.io/key in shard1"), "{stderr}");
}
