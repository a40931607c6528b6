//! Creating campaigns from Git, end to end: a real kube-apiserver, the platform simulator in this
//! process, the operator binary as a child process (one per test, in the test's namespace).
//! Every test checks how many remote tasks were made for the object: never two.

#[path = "harness/mod.rs"]
mod harness;
mod support;

use std::time::Duration;

use harness::{Operator, eventually, remote_equals_spec, remote_status, remote_tasks_named, setup};
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use outbound_api::{DeletionPolicy, OutboundTask, RunState};
use outbound_sim::{CreateAnswer, CreateBehaviour, FaultConfig, SimHandle};
use serde_json::json;
use support::{condition, wait_for, wait_for_condition};

const WAIT: Duration = Duration::from_secs(60);

/// A task without `spec.taskId`; its remote name is unique to the test.
fn new_task(name: &str, remote_name: &str) -> OutboundTask {
    let mut task = support::task(name, "main", &harness::uuid_like());
    task.spec.task_id = None;
    task.spec.task.name = remote_name.into();
    task.spec.resync_interval = "30s".into();
    task
}

fn with_create(sim: &SimHandle, create: CreateBehaviour) {
    sim.set_faults(FaultConfig {
        create,
        ..FaultConfig::default()
    })
    .unwrap();
}

fn calls(sim: &SimHandle, endpoint: &str) -> usize {
    sim.journal().iter().filter(|e| e.endpoint == endpoint).count()
}

/// The object as the operator created it: spec.taskId set to the created id, so the harness
/// helpers (which read spec.taskId) can compare.
fn as_adopted(task: &OutboundTask, id: &str) -> OutboundTask {
    let mut adopted = task.clone();
    adopted.spec.task_id = Some(id.into());
    adopted
}

fn status_task_id(task: &OutboundTask) -> Option<String> {
    task.status.as_ref().and_then(|s| s.task_id.clone())
}

#[tokio::test]
async fn a_new_manifest_creates_one_task_with_its_settings_and_runs_it() {
    let Some(setup) = setup("create-plain").await else {
        return;
    };
    let mut task = new_task("campaign", "create-plain");
    task.spec.run_state = Some(RunState::Running);
    let operator = Operator::start(&setup.ns, &[]);
    support::create_task(&setup.client, &setup.ns, &task).await;

    let ready = wait_for_condition(&setup.tasks, "campaign", "Ready", "True", WAIT).await;
    let made = remote_tasks_named(&setup.sim, "create-plain");
    assert_eq!(made.len(), 1, "exactly one remote task: {made:?}");
    let id = &made[0];
    assert_eq!(status_task_id(&ready).as_ref(), Some(id), "the id in status.taskId");
    assert!(ready.status.as_ref().unwrap().create_intent.is_none(), "intent cleared");
    assert!(
        remote_equals_spec(&setup.sim, &as_adopted(&task, id)),
        "settings equal spec"
    );
    assert_eq!(
        remote_status(&setup.sim, id),
        2,
        "runState Running: resumed after create"
    );
    assert_eq!(calls(&setup.sim, "create"), 1);
    let events: Api<Event> = Api::namespaced(setup.client.clone(), &setup.ns);
    let events = events.list(&ListParams::default()).await.unwrap().items;
    assert!(
        events.iter().any(|e| e.reason.as_deref() == Some("Created")),
        "a Created event: {events:?}"
    );

    // Resyncs (requested reconciles and a restart of the operator) read, never create.
    for round in ["one", "two"] {
        let poke = json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": round}}});
        setup
            .tasks
            .patch("campaign", &PatchParams::default(), &Patch::Merge(&poke))
            .await
            .unwrap();
        wait_for(&setup.tasks, "campaign", WAIT, "the requested reconcile", |t| {
            t.status.as_ref().and_then(|s| s.last_handled_reconcile_at.as_deref()) == Some(round)
        })
        .await;
    }
    drop(operator);
    let restarted = Operator::start(&setup.ns, &[]);
    let detail_calls = calls(&setup.sim, "detail");
    eventually(WAIT, "the restarted operator reads the task", || {
        calls(&setup.sim, "detail") > detail_calls
    })
    .await;
    assert_eq!(calls(&setup.sim, "create"), 1, "no further create");
    assert_eq!(remote_tasks_named(&setup.sim, "create-plain").len(), 1);
    drop(restarted);
}

#[tokio::test]
async fn a_lost_create_answer_is_found_by_name_and_not_created_again() {
    let Some(setup) = setup("create-lost").await else {
        return;
    };
    with_create(
        &setup.sim,
        CreateBehaviour {
            lose_response: true,
            ..CreateBehaviour::default()
        },
    );
    let task = new_task("campaign", "create-lost");
    let _operator = Operator::start(&setup.ns, &[]);
    support::create_task(&setup.client, &setup.ns, &task).await;

    let ready = wait_for_condition(&setup.tasks, "campaign", "Ready", "True", WAIT).await;
    let made = remote_tasks_named(&setup.sim, "create-lost");
    assert_eq!(made.len(), 1, "exactly one remote task: {made:?}");
    assert_eq!(status_task_id(&ready).as_ref(), Some(&made[0]));
    assert_eq!(calls(&setup.sim, "create"), 1, "the 502 is not retried");
    assert!(calls(&setup.sim, "list") >= 1, "looked up by name");
}

/// Starts an operator, lets it send the create of `task` (its answer held by `held`), and kills
/// it there: the create intent is in status, the task id is not.
async fn kill_mid_create(setup: &harness::Setup, task: &OutboundTask, held: &CreateBehaviour) {
    with_create(&setup.sim, held.clone());
    let mut operator = Operator::start(&setup.ns, &[]);
    support::create_task(&setup.client, &setup.ns, task).await;
    eventually(WAIT, "the create to reach the platform", || {
        calls(&setup.sim, "create") == 1
    })
    .await;
    operator.kill();
    let crashed = setup.tasks.get(task.metadata.name.as_deref().unwrap()).await.unwrap();
    let status = crashed.status.clone().unwrap_or_default();
    assert!(
        status.create_intent.is_some(),
        "the intent was written before the create"
    );
    assert!(status.task_id.is_none(), "the answer never arrived");
}

#[tokio::test]
async fn an_operator_killed_mid_create_finds_the_task_after_a_restart_despite_list_lag() {
    let Some(setup) = setup("create-kill").await else {
        return;
    };
    let held = CreateBehaviour {
        hold_response_secs: 60.0,
        list_lag_secs: 8.0,
        ..CreateBehaviour::default()
    };
    let task = new_task("campaign", "create-kill");
    kill_mid_create(&setup, &task, &held).await;
    // The platform answers at once again; the list still lags the create by 8 seconds.
    with_create(
        &setup.sim,
        CreateBehaviour {
            hold_response_secs: 0.0,
            ..held
        },
    );
    let _restarted = Operator::start(&setup.ns, &[]);

    let ready = wait_for_condition(&setup.tasks, "campaign", "Ready", "True", WAIT).await;
    let made = remote_tasks_named(&setup.sim, "create-kill");
    assert_eq!(made.len(), 1, "exactly one remote task: {made:?}");
    assert_eq!(status_task_id(&ready).as_ref(), Some(&made[0]));
    assert_eq!(calls(&setup.sim, "create"), 1, "looked up, never created again");
    assert!(
        calls(&setup.sim, "list") >= 2,
        "kept looking while the list lagged: {} list calls",
        calls(&setup.sim, "list")
    );
}

/// Review D2: a person renames the campaign (`spec.task.name`) while a create's outcome is
/// unknown. The lookup searches the name the create was sent with, so the task made by the lost
/// create is found, adopted and renamed: one remote task, never a second under the new name.
#[tokio::test]
async fn a_rename_while_a_create_outcome_is_unknown_makes_no_second_task() {
    let Some(setup) = setup("create-rename").await else {
        return;
    };
    let held = CreateBehaviour {
        hold_response_secs: 60.0,
        ..CreateBehaviour::default()
    };
    let task = new_task("campaign", "create-rename-old");
    kill_mid_create(&setup, &task, &held).await;
    let rename = json!({"spec": {"task": {"name": "create-rename-new"}}});
    setup
        .tasks
        .patch("campaign", &PatchParams::default(), &Patch::Merge(&rename))
        .await
        .unwrap();
    with_create(&setup.sim, CreateBehaviour::default());
    let _restarted = Operator::start(&setup.ns, &[]);

    let ready = wait_for(&setup.tasks, "campaign", WAIT, "Ready at the renamed spec", |t| {
        t.status.as_ref().is_some_and(|s| s.observed_generation == Some(2))
            && condition(t, "Ready").is_some_and(|c| c.status == "True")
    })
    .await;
    let old = remote_tasks_named(&setup.sim, "create-rename-old");
    let new = remote_tasks_named(&setup.sim, "create-rename-new");
    assert_eq!(
        (old.len(), new.len()),
        (0, 1),
        "one remote task, renamed: {old:?} {new:?}"
    );
    assert_eq!(status_task_id(&ready).as_ref(), Some(&new[0]));
    assert_eq!(calls(&setup.sim, "create"), 1, "never created again");
}

#[tokio::test]
async fn an_older_task_with_the_same_name_is_not_mistaken_for_ours() {
    let Some(setup) = setup("create-older").await else {
        return;
    };
    // The answer carries no id, so the task is found through the list, where an older task of
    // the same name (made long ago, e.g. by hand) is listed too.
    with_create(
        &setup.sim,
        CreateBehaviour {
            answer: CreateAnswer::Empty,
            ..CreateBehaviour::default()
        },
    );
    let task = new_task("campaign", "create-older");
    let older = harness::uuid_like();
    harness::put_remote_task(&setup.sim, &as_adopted(&task, &older), 2, json!({"maximumcall": 1}));
    let _operator = Operator::start(&setup.ns, &[]);
    support::create_task(&setup.client, &setup.ns, &task).await;

    let ready = wait_for_condition(&setup.tasks, "campaign", "Ready", "True", WAIT).await;
    let named = remote_tasks_named(&setup.sim, "create-older");
    assert_eq!(named.len(), 2, "the older task and exactly one new one: {named:?}");
    let ours = status_task_id(&ready).expect("status.taskId");
    assert_ne!(ours, older, "the older task is not ours");
    assert!(named.contains(&ours));
    assert_eq!(calls(&setup.sim, "create"), 1);
    assert_eq!(
        setup.sim.task(&older).unwrap().config["maximumcall"],
        1,
        "the older task untouched"
    );
    assert_eq!(remote_status(&setup.sim, &older), 2);
}

#[tokio::test]
async fn two_candidates_stall_naming_both_and_nothing_is_created() {
    let Some(setup) = setup("create-two").await else { return };
    let task = new_task("campaign", "create-two");
    support::create_task(&setup.client, &setup.ns, &task).await;
    // As after a crash mid-create: the intent is in status, and two tasks of this name were
    // made since (ours and someone else's).
    let intent_at = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(10);
    let started_at = intent_at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let intent = json!({"status": {"createIntent": {"startedAt": started_at, "generation": 1}}});
    setup
        .tasks
        .patch_status("campaign", &PatchParams::default(), &Patch::Merge(&intent))
        .await
        .unwrap();
    let (first, second) = (harness::uuid_like(), harness::uuid_like());
    for id in [&first, &second] {
        harness::put_remote_task(&setup.sim, &as_adopted(&task, id), 1, json!({}));
        setup
            .sim
            .set_task_create_datetime(id, &setup.sim.platform_now())
            .unwrap();
    }
    let _operator = Operator::start(&setup.ns, &[]);

    let stalled = wait_for_condition(&setup.tasks, "campaign", "Stalled", "True", WAIT).await;
    let stalled_condition = condition(&stalled, "Stalled").unwrap();
    assert_eq!(stalled_condition.reason, "AmbiguousName");
    for id in [&first, &second] {
        assert!(
            stalled_condition.message.contains(id.as_str()),
            "{}",
            stalled_condition.message
        );
    }
    assert_eq!(calls(&setup.sim, "create"), 0, "no create");
    assert_eq!(remote_tasks_named(&setup.sim, "create-two").len(), 2);
    assert!(status_task_id(&stalled).is_none(), "no guess");
}

#[tokio::test]
async fn a_rejected_create_is_not_retried_until_the_spec_changes() {
    let Some(setup) = setup("create-rejected").await else {
        return;
    };
    // One call at a time on the line: a concurrency of 2 is above its remaining capacity.
    setup.sim.set_line_remaining(support::LINE_ID, 1);
    let task = new_task("campaign", "create-rejected");
    let mut operator = Operator::start(&setup.ns, &[]);
    support::create_task(&setup.client, &setup.ns, &task).await;

    let stalled = wait_for_condition(&setup.tasks, "campaign", "Stalled", "True", WAIT).await;
    let stalled_condition = condition(&stalled, "Stalled").unwrap();
    assert_eq!(stalled_condition.reason, "CreateRejected");
    assert!(
        stalled_condition.message.contains("maximumcall"),
        "{}",
        stalled_condition.message
    );
    assert_eq!(calls(&setup.sim, "create"), 1);
    assert!(
        stalled.status.as_ref().unwrap().create_intent.is_none(),
        "nothing was made"
    );

    // A restart reconciles every task at once: the rejection is held, not sent again.
    operator.kill();
    let restarted = Operator::start(&setup.ns, &[]);
    eventually(WAIT, "the restarted operator to reconcile the task", || {
        restarted.logs().contains("reconciled (create)")
    })
    .await;
    assert_eq!(calls(&setup.sim, "create"), 1, "not retried for the same spec");

    // A new spec is a new attempt.
    let fix = json!({"spec": {"task": {"maxConcurrency": 1, "lines": [{"id": support::LINE_ID, "limit": 1}]}}});
    setup
        .tasks
        .patch("campaign", &PatchParams::default(), &Patch::Merge(&fix))
        .await
        .unwrap();
    wait_for_condition(&setup.tasks, "campaign", "Ready", "True", WAIT).await;
    assert_eq!(calls(&setup.sim, "create"), 2);
    assert_eq!(remote_tasks_named(&setup.sim, "create-rejected").len(), 1);
}

#[tokio::test]
async fn deletion_policy_delete_pauses_and_deletes_the_created_task() {
    let Some(setup) = setup("create-delete").await else {
        return;
    };
    let mut task = new_task("campaign", "create-delete");
    task.spec.run_state = Some(RunState::Running);
    task.spec.deletion_policy = DeletionPolicy::Delete;
    let _operator = Operator::start(&setup.ns, &[]);
    support::create_task(&setup.client, &setup.ns, &task).await;
    let ready = wait_for_condition(&setup.tasks, "campaign", "Ready", "True", WAIT).await;
    let id = status_task_id(&ready).expect("status.taskId");
    assert_eq!(remote_status(&setup.sim, &id), 2);

    setup.tasks.delete("campaign", &DeleteParams::default()).await.unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    while setup.tasks.get_opt("campaign").await.unwrap().is_some() {
        assert!(std::time::Instant::now() < deadline, "the object was never deleted");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(setup.sim.task(&id).is_none(), "the remote task is deleted");
    let order: Vec<String> = harness::calls_for(&setup.sim, &id)
        .into_iter()
        .map(|e| e.endpoint)
        .filter(|e| e == "pause" || e == "delete")
        .collect();
    assert_eq!(order, ["pause", "delete"], "paused, then deleted");
    assert_eq!(calls(&setup.sim, "create"), 1);
}
