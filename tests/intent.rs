//! A person's latest intent wins, before every platform write of an operation in flight (issue 22
//! item 2), against the real API server and the simulator: the driver looks at the latest object
//! right before each call, and the step machine decides from it.

#[path = "harness/mod.rs"]
mod harness;
mod support;

use std::time::Duration;

use harness::{Operator, call_names, eventually, put_remote_task, remote_status, setup, wait_gone};
use kube::api::{Patch, PatchParams};
use outbound_sim::{FaultConfig, SimEndpoint};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

async fn patch(setup: &harness::Setup, name: &str, body: Value) {
    setup
        .tasks
        .patch(name, &PatchParams::default(), &Patch::Merge(&body))
        .await
        .unwrap();
}

fn remote_concurrency(setup: &harness::Setup, id: &str) -> Option<i64> {
    setup.sim.task(id).and_then(|t| t.config["maximumcall"].as_i64())
}

/// A running campaign whose settings differ from its new object's, behind an update answered
/// after `update_latency`; the operator started and the object created. Returns the task id.
async fn changing(setup: &harness::Setup, name: &str, faults: FaultConfig) -> (String, Operator) {
    let task = support::task(name, "main", &harness::uuid_like());
    let id = task.spec.task_id.clone().unwrap();
    put_remote_task(&setup.sim, &task, 2, json!({"maximumcall": 1}));
    setup.sim.set_faults(faults).unwrap();
    let operator = Operator::start(&setup.ns, &[]);
    support::create_task(&setup.client, &setup.ns, &task).await;
    (id, operator)
}

/// [`changing`] behind an update answered after `latency`, once the campaign is paused: the
/// update is then in flight.
async fn paused_before_a_slow_update(setup: &harness::Setup, name: &str, latency: Duration) -> (String, Operator) {
    let (id, operator) = changing(setup, name, slow_update(latency)).await;
    eventually(WAIT, "the pause before the update", || {
        remote_status(&setup.sim, &id) == 1
    })
    .await;
    (id, operator)
}

/// Waits until `name` is Ready at its second generation (the person's edit) with no journal left.
async fn ready_at_the_edited_spec(setup: &harness::Setup, name: &str) {
    support::wait_for(&setup.tasks, name, WAIT, "Ready at the edited spec", |t| {
        t.status
            .as_ref()
            .is_some_and(|s| s.observed_generation == Some(2) && s.operation.is_none())
            && support::condition(t, "Ready").is_some_and(|c| c.status == "True")
    })
    .await;
}

fn slow_update(latency: Duration) -> FaultConfig {
    let mut faults = FaultConfig::default();
    faults.endpoint_mut(SimEndpoint::Update).latency_ms = latency.as_millis() as u64;
    faults
}

/// `runState: Paused` set while the update is in flight: the campaign is never resumed after it
/// (on the old driver, the resume planned before the edit followed the update).
#[tokio::test]
async fn a_campaign_set_to_paused_during_its_update_is_never_resumed() {
    let Some(setup) = setup("intent-paused").await else {
        return;
    };
    let (id, _operator) = paused_before_a_slow_update(&setup, "paused-mid-update", Duration::from_secs(4)).await;
    patch(&setup, "paused-mid-update", json!({"spec": {"runState": "Paused"}})).await;
    ready_at_the_edited_spec(&setup, "paused-mid-update").await;
    let calls = call_names(&setup.sim, &id);
    assert!(
        !calls.iter().any(|call| call.starts_with("resume")),
        "resumed after the person said stop: {calls:?}"
    );
    assert_eq!(remote_status(&setup.sim, &id), 1, "{calls:?}");
    assert_eq!(
        remote_concurrency(&setup, &id),
        Some(2),
        "the settings are the spec's: {calls:?}"
    );
}

/// `suspend: true` set while the operator waits for its pause to take effect (the platform still
/// answers "task started"): the update is never sent again, and the campaign the operator paused
/// is resumed (suspend never writes, but a running campaign is never left paused by us).
#[tokio::test]
async fn a_suspend_set_before_the_update_sends_no_change_and_resumes_what_the_operator_paused() {
    let Some(setup) = setup("intent-suspend").await else {
        return;
    };
    let faults = FaultConfig {
        slow_pause_secs: 3.0,
        ..Default::default()
    };
    let (id, _operator) = changing(&setup, "suspended-mid-update", faults).await;
    eventually(WAIT, "an update refused as started", || {
        call_names(&setup.sim, &id).iter().any(|call| call == "update:6007")
    })
    .await;
    patch(&setup, "suspended-mid-update", json!({"spec": {"suspend": true}})).await;
    support::wait_for(&setup.tasks, "suspended-mid-update", WAIT, "no journal left", |t| {
        t.status
            .as_ref()
            .is_some_and(|s| s.observed_generation == Some(2) && s.operation.is_none())
    })
    .await;
    let calls = call_names(&setup.sim, &id);
    assert!(
        !calls.iter().any(|call| call == "update"),
        "an update went through after suspend: {calls:?}"
    );
    assert_eq!(
        remote_concurrency(&setup, &id),
        Some(1),
        "the settings were left alone: {calls:?}"
    );
    eventually(WAIT, "running again", || remote_status(&setup.sim, &id) == 2).await;
}

/// A new spec while the update of the old one is in flight: the campaign is not resumed with
/// the old settings only to be paused again; the next reconcile sends the new spec within the
/// same pause.
#[tokio::test]
async fn a_new_spec_during_an_operation_is_sent_within_the_same_pause() {
    let Some(setup) = setup("intent-newspec").await else {
        return;
    };
    let (id, _operator) = paused_before_a_slow_update(&setup, "edited-mid-update", Duration::from_secs(3)).await;
    patch(
        &setup,
        "edited-mid-update",
        json!({"spec": {"task": {"maxConcurrency": 3}}}),
    )
    .await;
    setup.sim.set_faults(FaultConfig::default()).unwrap();
    ready_at_the_edited_spec(&setup, "edited-mid-update").await;
    let calls = call_names(&setup.sim, &id);
    assert_eq!(remote_concurrency(&setup, &id), Some(3), "{calls:?}");
    assert_eq!(remote_status(&setup.sim, &id), 2, "{calls:?}");
    let pauses = calls.iter().filter(|call| call.starts_with("pause")).count();
    assert_eq!(pauses, 1, "one pause for both specs: {calls:?}");
}

/// A deletion with `deletionPolicy: Delete` reads the campaign first; a person switches the
/// object to Observe meanwhile: neither the pause nor the delete is sent, and the object goes.
#[tokio::test]
async fn a_deletion_switched_to_observe_before_its_calls_sends_none_of_them() {
    let Some(setup) = setup("intent-delete").await else {
        return;
    };
    let mut task = support::task("observe-at-deletion", "main", &harness::uuid_like());
    task.spec.deletion_policy = outbound_api::DeletionPolicy::Delete;
    let id = task.spec.task_id.clone().unwrap();
    put_remote_task(&setup.sim, &task, 2, json!({}));
    let _operator = Operator::start(&setup.ns, &[]);
    support::create_task(&setup.client, &setup.ns, &task).await;
    support::wait_for_condition(&setup.tasks, "observe-at-deletion", "Ready", "True", WAIT).await;
    let mut faults = FaultConfig::default();
    faults.endpoint_mut(SimEndpoint::Detail).latency_ms = 3000;
    setup.sim.set_faults(faults).unwrap();
    setup.sim.clear_journal();
    setup
        .tasks
        .delete("observe-at-deletion", &Default::default())
        .await
        .unwrap();
    // Within the 3 s read that deletion makes before its calls.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    patch(&setup, "observe-at-deletion", json!({"spec": {"mode": "Observe"}})).await;
    wait_gone(&setup.tasks, "observe-at-deletion", WAIT).await;
    let calls = call_names(&setup.sim, &id);
    assert!(
        calls.iter().all(|call| call.starts_with("detail")),
        "a write after the switch to Observe: {calls:?}"
    );
    assert!(setup.sim.task(&id).is_some(), "the campaign was deleted: {calls:?}");
    assert_eq!(remote_status(&setup.sim, &id), 2, "{calls:?}");
}
