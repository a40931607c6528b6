//! The platform's budget spent like a scheduler, end to end (real kube-apiserver, the simulator,
//! the operator binary): the API-server writes of a change, and rolling changes (`maxPaused`).

#[path = "harness/mod.rs"]
mod harness;
mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use harness::{Operator, calls_for, put_remote_task, remote_equals_spec, remote_status};
use k8s_openapi::api::events::v1::Event;
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams};
use outbound_api::OutboundTask;
use outbound_sim::FaultConfig;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(90);

fn new_task(name: &str) -> OutboundTask {
    let mut task = support::task(name, "main", &harness::uuid_like());
    task.spec.resync_interval = "1h".into();
    task
}

/// The operator's API-server writes (every verb but reads and the leader Lease), by
/// "verb resource", from its `outbound_kube_requests_total`.
fn kube_writes(metrics: &str) -> BTreeMap<String, f64> {
    let mut writes = BTreeMap::new();
    for line in metrics
        .lines()
        .filter(|l| l.starts_with("outbound_kube_requests_total{"))
    {
        let label = |name: &str| {
            let start = line.find(&format!(r#"{name}=""#))? + name.len() + 2;
            Some(line[start..].split('"').next()?.to_string())
        };
        let (Some(verb), Some(resource)) = (label("verb"), label("resource")) else {
            continue;
        };
        if ["get", "list", "watch"].contains(&verb.as_str()) || resource == "leases" {
            continue;
        }
        let value: f64 = line.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
        *writes.entry(format!("{verb} {resource}")).or_default() += value;
    }
    writes
}

/// What changed between two scrapes.
fn delta(after: &BTreeMap<String, f64>, before: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v != 0.0)
        .collect()
}

/// Renames `task` and waits until it is Ready at `generation`.
async fn rename(setup: &harness::Setup, task: &OutboundTask, generation: i64) -> OutboundTask {
    let name = task.name_any();
    let patch = json!({"spec": {"task": {"name": format!("renamed-{generation}")}}});
    setup
        .tasks
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    support::wait_for(&setup.tasks, &name, WAIT, "Ready at the new generation", |t| {
        t.status
            .as_ref()
            .is_some_and(|s| s.observed_generation == Some(generation))
            && support::condition(t, "Ready").is_some_and(|c| c.status == "True")
    })
    .await
}

/// The Events of the namespace, once one with reason Updated is there (or after 10 s).
async fn updated_events(events: &Api<Event>) -> Vec<Event> {
    let mut published = Vec::new();
    for _ in 0..50 {
        published = events.list(&ListParams::default()).await.unwrap().items;
        if published.iter().any(|e| e.reason.as_deref() == Some("Updated")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    published
}

/// Creates `task` in sync with its remote task (in run state `status`), waits until it is
/// Ready, changes its spec once (a first operation also adds the finalizer, once in the task's
/// life), then once more, the change measured. Returns the operator's API-server writes for that
/// change up to its Ready, those up to when its Event is published, the Events, and the task as
/// it became Ready.
async fn change_costs(
    setup: &harness::Setup,
    operator: &Operator,
    task: &OutboundTask,
    status: u8,
) -> (BTreeMap<String, f64>, BTreeMap<String, f64>, Vec<Event>, OutboundTask) {
    put_remote_task(&setup.sim, task, status, json!({}));
    support::create_task(&setup.client, &setup.ns, task).await;
    support::wait_for_condition(&setup.tasks, &task.name_any(), "Ready", "True", WAIT).await;
    rename(setup, task, 2).await;
    let events: Api<Event> = Api::namespaced(setup.client.clone(), &setup.ns);
    for event in updated_events(&events).await {
        events.delete(&event.name_any(), &Default::default()).await.unwrap();
    }
    setup.sim.clear_journal();
    let before = kube_writes(&operator.metrics().await);
    let ready = rename(setup, task, 3).await;
    let at_ready = delta(&kube_writes(&operator.metrics().await), &before);
    let published = updated_events(&events).await;
    let with_events = delta(&kube_writes(&operator.metrics().await), &before);
    (at_ready, with_events, published, ready)
}

fn calls(sim: &outbound_sim::SimHandle, task: &OutboundTask) -> Vec<String> {
    calls_for(sim, task.spec.task_id.as_deref().unwrap())
        .iter()
        .map(|c| c.endpoint.clone())
        .collect()
}

/// A changed running task: the journal and the final status are its only API-server writes
/// until it is Ready; the operation's Event comes after the final status (etcd's revisions order
/// the writes of one API server). With `deletionPolicy: Pause` the finalizer stays for good; an
/// `Orphan` task adds it before the journal and removes it after the Events, two more writes per
/// operation that pauses (tests/controller.rs counts them).
#[tokio::test]
async fn a_changed_running_task_costs_two_api_server_writes_before_ready() {
    let Some(setup) = harness::setup("budget-writes").await else {
        return;
    };
    let operator = Operator::start(&setup.ns, &[]);
    let mut task = new_task("running");
    task.spec.deletion_policy = outbound_api::DeletionPolicy::Pause;
    let (at_ready, with_events, events, ready) = change_costs(&setup, &operator, &task, 2).await;
    assert_eq!(calls(&setup.sim, &task), ["detail", "pause", "update", "resume"]);
    // The scrape after Ready may already count the Event: the revisions below order them.
    assert_eq!(at_ready.get("patch outboundtasks/status"), Some(&2.0), "{at_ready:?}");
    assert!(
        at_ready
            .keys()
            .all(|k| k == "patch outboundtasks/status" || k == "create events"),
        "journal and final status only, before Ready: {at_ready:?}"
    );
    assert_eq!(
        with_events,
        BTreeMap::from([
            ("create events".to_string(), 1.0),
            ("patch outboundtasks/status".to_string(), 2.0)
        ])
    );
    let updated: Vec<&Event> = events
        .iter()
        .filter(|e| e.reason.as_deref() == Some("Updated"))
        .collect();
    assert_eq!(updated.len(), 1, "{events:?}");
    let revision = |rv: Option<&String>| rv.and_then(|v| v.parse::<u64>().ok()).expect("numeric resourceVersion");
    assert!(
        revision(updated[0].metadata.resource_version.as_ref()) > revision(ready.metadata.resource_version.as_ref()),
        "the Event was written before the final status: it stood on the critical path"
    );
}

/// A change of a paused task needs no pause, so no journal: one status write.
#[tokio::test]
async fn a_changed_paused_task_writes_no_journal() {
    let Some(setup) = harness::setup("budget-nojournal").await else {
        return;
    };
    let operator = Operator::start(&setup.ns, &[]);
    let task = new_task("paused");
    let (_, with_events, _, _) = change_costs(&setup, &operator, &task, 1).await;
    assert_eq!(calls(&setup.sim, &task), ["detail", "update"]);
    assert_eq!(
        with_events.get("patch outboundtasks/status"),
        Some(&1.0),
        "the final status only: {with_events:?}"
    );
    assert_eq!(
        remote_status(&setup.sim, task.spec.task_id.as_deref().unwrap()),
        1,
        "stays paused"
    );
}

/// The most campaigns paused at once, from the simulator's journal: each task from its first
/// answered pause to its answered resume.
fn most_paused_at_once(sim: &outbound_sim::SimHandle, tasks: &[OutboundTask]) -> usize {
    let mut edges = Vec::new();
    for task in tasks {
        let calls = calls_for(sim, task.spec.task_id.as_deref().unwrap());
        let at = |endpoint: &str| {
            calls
                .iter()
                .find(|c| c.endpoint == endpoint && c.http_status == Some(200))
                .map(|c| c.seq)
        };
        if let (Some(pause), Some(resume)) = (at("pause"), at("resume")) {
            edges.push((pause, 1i32));
            edges.push((resume, -1));
        }
    }
    edges.sort();
    let mut paused = 0;
    let mut most = 0;
    for (_, step) in edges {
        paused += step;
        most = most.max(paused);
    }
    most as usize
}

/// Eight running tasks changed at once, an account with `maxPaused: 2` and a pause that takes
/// 0.5 s: never more than two campaigns paused at once, and every task ends updated and running.
#[tokio::test]
async fn max_paused_is_never_exceeded() {
    let Some(setup) = harness::setup_with("budget-maxpaused", |account| account.spec.max_paused = Some(2)).await else {
        return;
    };
    setup
        .sim
        .set_faults(FaultConfig {
            slow_pause_secs: 0.5,
            ..Default::default()
        })
        .unwrap();
    let tasks: Vec<OutboundTask> = (0..8).map(|i| new_task(&format!("t{i}"))).collect();
    for task in &tasks {
        put_remote_task(&setup.sim, task, 2, json!({"name": "console name"}));
    }
    let _operator = Operator::start(&setup.ns, &[]);
    for task in &tasks {
        support::create_task(&setup.client, &setup.ns, task).await;
    }
    for task in &tasks {
        support::wait_for_condition(&setup.tasks, &task.name_any(), "Ready", "True", WAIT).await;
    }
    for task in &tasks {
        assert!(remote_equals_spec(&setup.sim, task), "{} not updated", task.name_any());
        assert_eq!(
            remote_status(&setup.sim, task.spec.task_id.as_deref().unwrap()),
            2,
            "{} not running",
            task.name_any()
        );
    }
    let most = most_paused_at_once(&setup.sim, &tasks);
    assert!(most <= 2, "{most} campaigns paused at once");
    assert_eq!(most, 2, "the change rolled two at a time");
}

/// Review D22: a graceful shutdown (SIGTERM) lets the operation in flight finish, but a reconcile
/// waiting for a `maxPaused` place gives up instead of pausing another campaign the next replica
/// would have to resume (and the kubelet's SIGKILL could leave paused).
#[tokio::test]
async fn a_shutdown_starts_no_pause_for_a_task_waiting_for_a_max_paused_place() {
    let Some(setup) = harness::setup_with("budget-shutdown", |account| account.spec.max_paused = Some(1)).await else {
        return;
    };
    // The first to take the place holds it through a slow update; the others wait for it.
    let tasks = harness::changed_tasks_behind_a_slow_update(&setup, &["first", "second"], Duration::from_millis(4000));
    let mut operator = Operator::start(&setup.ns, &[]);
    for task in &tasks {
        support::create_task(&setup.client, &setup.ns, task).await;
    }
    let ids: Vec<String> = tasks.iter().map(|t| t.spec.task_id.clone().unwrap()).collect();
    harness::eventually(WAIT, "one campaign paused", || {
        ids.iter().filter(|id| remote_status(&setup.sim, id) == 1).count() == 1
    })
    .await;
    let holder = ids.iter().position(|id| remote_status(&setup.sim, id) == 1).unwrap();
    let waiter = &ids[1 - holder];

    let (status, operator) = tokio::task::spawn_blocking(move || {
        let status = operator.terminate(Duration::from_secs(60));
        (status, operator)
    })
    .await
    .unwrap();
    let status = status.expect("exits on SIGTERM");
    assert!(status.success(), "{status:?}: {}", operator.logs());
    assert_eq!(
        remote_status(&setup.sim, &ids[holder]),
        2,
        "the operation in flight finished"
    );
    let calls = harness::call_names(&setup.sim, waiter);
    assert!(
        !calls.iter().any(|call| call.starts_with("pause")),
        "the waiting task's campaign was paused during the shutdown: {calls:?}"
    );
    assert_eq!(remote_status(&setup.sim, waiter), 2);
    assert!(
        operator.logs().contains("shutting down: no new pause"),
        "{}",
        operator.logs()
    );
}
