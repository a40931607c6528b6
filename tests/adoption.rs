//! Adopting a running campaign as the README's quick start says: `mode: Observe` first changes
//! nothing on the platform and reports the drift; switching to Enforce announces what will change
//! (event `EnforcingChanges`, before the first write), then pauses, updates and resumes. Fields
//! the spec leaves unset keep the console's values throughout.
//!
//! A real kube-apiserver (scripts/envtest.sh), the simulator in this process (it records every
//! call) and the operator binary as a child process, like tests/controller.rs.

#[path = "harness/mod.rs"]
mod harness;
mod support;

use std::time::Duration;

use harness::{Operator, call_names, calls_for, put_remote_task, remote_status, setup};
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams, Patch, PatchParams};
use outbound_api::Mode;
use serde_json::json;
use support::{condition, wait_for, wait_for_condition};

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn adopting_in_observe_changes_nothing_then_enforce_announces_and_updates() {
    let Some(setup) = setup("adopt").await else { return };
    let id = harness::uuid_like();
    let mut task = support::task("campaign", "main", &id);
    task.spec.resync_interval = "30s".into();
    task.spec.mode = Mode::Observe;
    assert_eq!(task.spec.task.number_order, None, "the spec leaves numberOrder unset");
    // The console's campaign: running, with another concurrency and a sequential order.
    put_remote_task(
        &setup.sim,
        &task,
        2,
        json!({"maximumcall": 1, "task_extras": {"pop_mode": 1}}),
    );
    let console = setup.sim.task(&id).unwrap().config;
    let _operator = Operator::start(&setup.ns, &[]);
    support::create_task(&setup.client, &setup.ns, &task).await;

    // Observe: the drift is reported, nothing is written.
    let observed = wait_for(&setup.tasks, "campaign", WAIT, "drift reported", |t| {
        t.status.as_ref().is_some_and(|s| !s.drift.is_empty())
    })
    .await;
    let status = observed.status.clone().unwrap();
    let drift: Vec<String> = status
        .drift
        .iter()
        .map(|d| format!("{}: {} -> {}", d.field, d.observed, d.desired))
        .collect();
    assert_eq!(
        drift,
        ["spec.task.maxConcurrency: 1 -> 2"],
        "unset numberOrder is not drift"
    );
    let ready = condition(&observed, "Ready").unwrap();
    assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("False", "Drifted"));
    // A second look a little later: still only reads.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let calls = call_names(&setup.sim, &id);
    assert!(
        !calls.is_empty() && calls.iter().all(|c| c == "detail"),
        "Observe only reads: {calls:?}"
    );
    assert_eq!(
        setup.sim.task(&id).unwrap().config,
        console,
        "nothing changed on the platform"
    );
    assert_eq!(remote_status(&setup.sim, &id), 2, "still running");
    let events: Api<Event> = Api::namespaced(setup.client.clone(), &setup.ns);
    let listed = events.list(&ListParams::default()).await.unwrap().items;
    assert!(listed.is_empty(), "no event while observing: {listed:?}");

    // Enforce: announced, then paused, updated, resumed.
    setup.sim.clear_journal();
    setup
        .tasks
        .patch(
            "campaign",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"mode": "Enforce"}})),
        )
        .await
        .unwrap();
    wait_for_condition(&setup.tasks, "campaign", "Ready", "True", WAIT).await;
    assert_eq!(call_names(&setup.sim, &id), ["detail", "pause", "update", "resume"]);
    assert_eq!(remote_status(&setup.sim, &id), 2, "the campaign runs again");
    let calls = calls_for(&setup.sim, &id);
    let update = calls.iter().find(|c| c.endpoint == "update").unwrap();
    let body = update.body.as_ref().unwrap();
    assert_eq!(body["maximumcall"], json!(2));
    assert_eq!(
        body["task_extras"]["pop_mode"],
        json!(1),
        "the console's order is sent back, not a default"
    );
    let remote = setup.sim.task(&id).unwrap().config;
    assert_eq!(
        remote["task_extras"]["pop_mode"],
        json!(1),
        "the console's order is kept"
    );

    let mut announced = None;
    for _ in 0..50 {
        let listed = events.list(&ListParams::default()).await.unwrap().items;
        announced = listed
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("EnforcingChanges"));
        if announced.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let announced = announced.expect("an EnforcingChanges event");
    assert_eq!(announced.type_.as_deref(), Some("Normal"));
    let note = announced.message.clone().unwrap_or_default();
    assert!(
        note.contains("will pause, then update, then resume") && note.contains("spec.task.maxConcurrency: 1 -> 2"),
        "{note}"
    );
    // Published before the first write: its time is before the pause reached the platform.
    let published = announced.event_time.expect("eventTime").0;
    let pause = calls.iter().find(|c| c.endpoint == "pause").unwrap();
    let paused: jiff::Timestamp = pause.at.parse().unwrap();
    assert!(published < paused, "event at {published}, pause at {paused}");
}
