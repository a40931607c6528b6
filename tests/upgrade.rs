//! An upgrade in the middle of changes (issue 25, item 6): the operator of an earlier version
//! (UPGRADE_FROM_COMMIT of scripts/upgrade-from.env, built once and cached by
//! scripts/build-upgrade-from.sh, which `make test` runs and names in OUTBOUND_UPGRADE_FROM_BIN)
//! runs under that version's CRDs, pauses running campaigns to change them, and is SIGKILLed with
//! its journals in their status: some campaigns paused with the update not sent, others updated
//! but not resumed, and a campaign created whose answer never came. Then, as an upgrade does it,
//! the current CRDs are applied and the current operator starts. It must read the older journals
//! and finish every change: each campaign ends running with the latest settings, a change made
//! during the upgrade included, and the created one is found, never made twice.
//!
//! The CRDs are cluster-wide, so the test runs on a control plane of its own.

#[path = "harness/mod.rs"]
mod harness;
mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use harness::{Operator, eventually, put_remote_task, remote_equals_spec, remote_status, remote_tasks_named, setup_on};
use kube::api::{Patch, PatchParams};
use outbound_api::OutboundTask;
use outbound_sim::{FaultConfig, SimEndpoint};
use serde_json::json;
use support::private_plane::PrivatePlane;

const WAIT: Duration = Duration::from_secs(60);
const UPGRADE_FROM_BIN: &str = "OUTBOUND_UPGRADE_FROM_BIN";

/// The commit the upgrade starts from, as scripts/upgrade-from.env pins it.
fn upgrade_from_commit() -> String {
    let env = std::fs::read_to_string(support::repo_root().join("scripts/upgrade-from.env")).expect("upgrade-from.env");
    env.lines()
        .find_map(|line| line.strip_prefix("UPGRADE_FROM_COMMIT="))
        .expect("UPGRADE_FROM_COMMIT in scripts/upgrade-from.env")
        .trim()
        .to_string()
}

/// The CRDs of that commit, as its users had them installed.
fn earlier_crds(dir: &std::path::Path) -> PathBuf {
    let commit = upgrade_from_commit();
    let output = Command::new("git")
        .args(["show", &format!("{commit}:crds/outbound.dev_crds.yaml")])
        .current_dir(support::repo_root())
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git show {commit}:crds/... failed (a shallow clone? git fetch --unshallow): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let file = dir.join("earlier-crds.yaml");
    std::fs::write(&file, output.stdout).unwrap();
    file
}

fn earlier_operator() -> PathBuf {
    let path = std::env::var_os(UPGRADE_FROM_BIN).filter(|path| !path.is_empty()).unwrap_or_else(|| {
        panic!("{UPGRADE_FROM_BIN} is not set: run `make test`, or export {UPGRADE_FROM_BIN}=$(scripts/build-upgrade-from.sh)")
    });
    PathBuf::from(path)
}

fn name_of(task: &OutboundTask) -> &str {
    task.metadata.name.as_deref().unwrap()
}

fn id_of(task: &OutboundTask) -> &str {
    task.spec.task_id.as_deref().unwrap()
}

/// Creates `tasks` (running campaigns whose settings differ) and waits until the operator has
/// journalled each one and paused its campaign, and, when `updated`, sent the update too. The
/// objects as created: the earlier CRDs fill defaults the current ones leave unset.
async fn start_changes(setup: &harness::Setup, tasks: &[OutboundTask], updated: bool) -> Vec<OutboundTask> {
    let mut created = Vec::new();
    for task in tasks {
        put_remote_task(&setup.sim, task, 2, json!({"maximumcall": 1}));
        created.push(support::create_task(&setup.client, &setup.ns, task).await);
    }
    for task in &created {
        support::wait_for(&setup.tasks, name_of(task), WAIT, "the journal", |t| {
            t.status.as_ref().is_some_and(|s| s.operation.is_some())
        })
        .await;
        let what = format!("{} paused{}", name_of(task), if updated { " and updated" } else { "" });
        eventually(WAIT, &what, || {
            remote_status(&setup.sim, id_of(task)) == 1 && (!updated || remote_equals_spec(&setup.sim, task))
        })
        .await;
    }
    created
}

#[tokio::test(flavor = "multi_thread")]
async fn the_current_operator_finishes_the_changes_an_earlier_one_was_killed_in() {
    if support::skip_requested() {
        return;
    }
    let binary = earlier_operator();
    let plane = PrivatePlane::start();
    let client = support::client_of(&plane.kubeconfig).await;
    let scratch = tempfile::tempdir().unwrap();
    support::install_crds(&client, support::crds_in(&earlier_crds(scratch.path()))).await;
    // Calls may hang for the whole test: no timeout before the kill (the grace must exceed it).
    let setup = setup_on(client, "upgrade", |account| {
        account.spec.request_timeout = "5m".into();
        account.spec.platform.create_list_grace = "10m".into();
    })
    .await;

    let mut earlier = Operator::start_binary(&binary, &setup.ns, &[], Some(&plane.kubeconfig));
    let not_updated: Vec<OutboundTask> = (0..3)
        .map(|i| support::task(&format!("paused-{i}"), "main", &harness::uuid_like()))
        .collect();
    let not_resumed: Vec<OutboundTask> = (0..3)
        .map(|i| support::task(&format!("updated-{i}"), "main", &harness::uuid_like()))
        .collect();
    let mut faults = FaultConfig {
        hang_secs: 600,
        ..Default::default()
    };
    faults.endpoint_mut(SimEndpoint::Update).hang = true;
    setup.sim.set_faults(faults.clone()).unwrap();
    let not_updated = start_changes(&setup, &not_updated, false).await;
    faults.endpoint_mut(SimEndpoint::Update).hang = false;
    faults.endpoint_mut(SimEndpoint::Resume).hang = true;
    // And a create whose answer never came back: the task is made, the intent is in status, in
    // the earlier layout (without the name, sub-account and unknownSince of the current one).
    faults.create.hold_response_secs = 600.0;
    setup.sim.set_faults(faults).unwrap();
    let not_resumed = start_changes(&setup, &not_resumed, true).await;
    let mut creating = support::task("created", "main", &harness::uuid_like());
    creating.spec.task_id = None;
    creating.spec.task.name = format!("created-{}", setup.ns);
    let creating = support::create_task(&setup.client, &setup.ns, &creating).await;
    let remote_name = creating.spec.task.name.clone();
    eventually(WAIT, "the create to reach the platform", || {
        remote_tasks_named(&setup.sim, &remote_name).len() == 1
    })
    .await;
    earlier.kill();
    setup.sim.set_faults(FaultConfig::default()).unwrap();
    let intent = setup
        .tasks
        .get("created")
        .await
        .unwrap()
        .status
        .and_then(|s| s.create_intent);
    assert!(intent.is_some(), "the create intent is not in status after the kill");

    let mut all: Vec<OutboundTask> = not_updated.into_iter().chain(not_resumed).collect();
    for task in &all {
        let stored = setup.tasks.get(name_of(task)).await.unwrap();
        let journal = stored.status.and_then(|s| s.operation);
        assert!(journal.is_some(), "{} has no journal after the kill", name_of(task));
        assert_eq!(
            remote_status(&setup.sim, id_of(task)),
            1,
            "{} is not paused",
            name_of(task)
        );
    }
    // A person's change while no operator runs: the latest settings are the ones that must land.
    let renamed = json!({"spec": {"task": {"name": "renamed-during-the-upgrade"}}});
    let edited = setup
        .tasks
        .patch(name_of(&all[3]), &PatchParams::default(), &Patch::Merge(&renamed))
        .await
        .unwrap();
    all[3] = edited;

    // The upgrade: the current CRDs, then the current operator.
    support::install_crds(&setup.client, support::crd_documents()).await;
    let _current = Operator::start_with_kubeconfig(&setup.ns, &[], Some(&plane.kubeconfig));
    let finished =
        |task: &OutboundTask| remote_status(&setup.sim, id_of(task)) == 2 && remote_equals_spec(&setup.sim, task);
    let deadline = Instant::now() + WAIT;
    while !all.iter().all(finished) {
        let campaigns: Vec<String> = all
            .iter()
            .map(|task| {
                let state = if remote_status(&setup.sim, id_of(task)) == 2 {
                    "running"
                } else {
                    "paused"
                };
                let settings = if remote_equals_spec(&setup.sim, task) {
                    "latest"
                } else {
                    "older"
                };
                format!("{}: {state}, {settings} settings", name_of(task))
            })
            .collect();
        assert!(
            Instant::now() < deadline,
            "after {WAIT:?}, not every campaign runs with its latest settings: {}",
            campaigns.join("; ")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let created = support::wait_for_condition(&setup.tasks, "created", "Ready", "True", WAIT).await;
    let made = remote_tasks_named(&setup.sim, &remote_name);
    assert_eq!(
        made.len(),
        1,
        "exactly one remote task for the create in flight: {made:?}"
    );
    let created_id = created.status.as_ref().and_then(|s| s.task_id.clone());
    assert_eq!(
        created_id.as_ref(),
        Some(&made[0]),
        "the created task is the one adopted"
    );
    for task in &all {
        let name = name_of(task);
        support::wait_for(&setup.tasks, name, WAIT, "the journal cleared and Ready", |t| {
            t.status.as_ref().is_some_and(|s| s.operation.is_none())
                && support::condition(t, "Ready").is_some_and(|c| c.status == "True")
        })
        .await;
    }
}
