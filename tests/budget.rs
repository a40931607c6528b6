//! The platform's budget spent like a scheduler, end to end (real kube-apiserver, the simulator,
//! the operator binary): the API-server writes of a change, and rolling changes (`maxPaused`).

#[path = "harness/mod.rs"]
mod harness;
mod support;

use std::time::Duration;

use harness::{Operator, calls_for, put_remote_task, remote_equals_spec, remote_status, unique_token};
use k8s_openapi::api::events::v1::Event;
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams};
use outbound_operator::api::{OutboundAccount, OutboundTask};
use outbound_operator::sim::FaultConfig;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(90);

struct Setup {
    client: kube::Client,
    ns: String,
    sim: outbound_operator::sim::SimHandle,
    tasks: Api<OutboundTask>,
}

async fn setup(prefix: &str) -> Option<Setup> {
    let client = support::cluster().await?;
    support::ensure_crds(&client).await;
    let ns = support::test_namespace(&client, prefix).await;
    let token = unique_token(prefix);
    let sim = harness::simulator(&token).await;
    support::create_token_secret(&client, &ns, "platform-token", &token).await;
    support::create_account(&client, &ns, "main", &sim.base_url(), "platform-token").await;
    let tasks = Api::namespaced(client.clone(), &ns);
    Some(Setup { client, ns, sim, tasks })
}

fn new_task(name: &str) -> OutboundTask {
    let mut task = support::task(name, "main", &harness::uuid_like());
    task.spec.resync_interval = "1h".into();
    task
}

/// `outbound_kube_requests_total` for one verb and resource.
fn kube_requests(metrics: &str, verb: &str, resource: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| {
            l.starts_with("outbound_kube_requests_total")
                && l.contains(&format!(r#"resource="{resource}""#))
                && l.contains(&format!(r#"verb="{verb}""#))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Creates `task` (remote task already there) and waits until it is Ready and its Events are
/// published; returns the status patches it cost, the Events, and the task as it became Ready.
async fn change_costs(setup: &Setup, operator: &Operator, task: &OutboundTask) -> (f64, Vec<Event>, OutboundTask) {
    let before = operator.metrics().await;
    support::create_task(&setup.client, &setup.ns, task).await;
    let ready = support::wait_for_condition(&setup.tasks, &task.name_any(), "Ready", "True", WAIT).await;
    let events: Api<Event> = Api::namespaced(setup.client.clone(), &setup.ns);
    let mut published = Vec::new();
    for _ in 0..50 {
        published = events.list(&ListParams::default()).await.unwrap().items;
        if !published.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after = operator.metrics().await;
    let patches = kube_requests(&after, "patch", "outboundtasks/status")
        - kube_requests(&before, "patch", "outboundtasks/status");
    (patches, published, ready)
}

/// A changed running task: the journal and the final status are the only API-server writes
/// before Ready; the operation's Event comes after the final status (etcd's revisions order
/// the writes of one API server).
#[tokio::test]
async fn a_changed_running_task_costs_two_api_server_writes_before_ready() {
    let Some(setup) = setup("budget-writes").await else {
        return;
    };
    let operator = Operator::start(&setup.ns, &[]);
    let task = new_task("running");
    put_remote_task(&setup.sim, &task, 2, json!({"name": "console name"}));
    let (patches, events, ready) = change_costs(&setup, &operator, &task).await;
    let names: Vec<String> = calls_for(&setup.sim, &task.spec.task_id)
        .iter()
        .map(|c| c.endpoint.clone())
        .collect();
    assert_eq!(names, ["detail", "pause", "update", "resume"]);
    assert_eq!(patches, 2.0, "journal and final status");
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
    let Some(setup) = setup("budget-nojournal").await else {
        return;
    };
    let operator = Operator::start(&setup.ns, &[]);
    let task = new_task("paused");
    put_remote_task(&setup.sim, &task, 1, json!({"name": "console name"}));
    let (patches, _, _) = change_costs(&setup, &operator, &task).await;
    let names: Vec<String> = calls_for(&setup.sim, &task.spec.task_id)
        .iter()
        .map(|c| c.endpoint.clone())
        .collect();
    assert_eq!(names, ["detail", "update"]);
    assert_eq!(patches, 1.0, "the final status only");
    assert_eq!(remote_status(&setup.sim, &task.spec.task_id), 1, "stays paused");
}

/// The most campaigns paused at once, from the simulator's journal: each task from its first
/// answered pause to its answered resume.
fn most_paused_at_once(sim: &outbound_operator::sim::SimHandle, tasks: &[OutboundTask]) -> usize {
    let mut edges = Vec::new();
    for task in tasks {
        let calls = calls_for(sim, &task.spec.task_id);
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
    let Some(setup) = setup("budget-maxpaused").await else {
        return;
    };
    let accounts: Api<OutboundAccount> = Api::namespaced(setup.client.clone(), &setup.ns);
    accounts
        .patch(
            "main",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"maxPaused": 2}})),
        )
        .await
        .unwrap();
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
            remote_status(&setup.sim, &task.spec.task_id),
            2,
            "{} not running",
            task.name_any()
        );
    }
    let most = most_paused_at_once(&setup.sim, &tasks);
    assert!(most <= 2, "{most} campaigns paused at once");
    assert_eq!(most, 2, "the change rolled two at a time");
}
