//! What people do while the operator works, against the real API server and the simulator: a
//! person's latest intent wins, Observe and suspend never write, and deletion never gets stuck
//! (issue 22; review D3, D6, D13, D16 in `shared/notes/review-2026-12-07.md`).

#[path = "harness/mod.rs"]
mod harness;
mod support;

use std::time::Duration;

use harness::{Operator, call_names, eventually, put_remote_task, remote_status, setup, wait_gone};
use k8s_openapi::api::core::v1::{Event, Secret};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use outbound_api::{DeletionPolicy, Mode, OutboundTask, RunState};
use outbound_sim::FaultConfig;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);
const FINALIZER: &str = "outbound.dev/finalizer";

/// The calls that change a campaign (everything but reads).
fn writes(calls: &[String]) -> Vec<&String> {
    calls
        .iter()
        .filter(|call| !call.starts_with("detail") && !call.starts_with("list"))
        .collect()
}

fn finalizers(task: &OutboundTask) -> Vec<String> {
    task.metadata.finalizers.clone().unwrap_or_default()
}

/// D3: an object in Observe mode, or suspended, is deleted without a platform write, whatever
/// its `deletionPolicy` says: the running campaigns stay as they are.
#[tokio::test]
async fn observe_and_suspended_objects_are_deleted_without_a_platform_write() {
    let Some(setup) = setup("ppl-observe").await else {
        return;
    };
    let mut observe_delete = support::task("observe-delete", "main", &harness::uuid_like());
    observe_delete.spec.mode = Mode::Observe;
    observe_delete.spec.deletion_policy = DeletionPolicy::Delete;
    let mut observe_pause = support::task("observe-pause", "main", &harness::uuid_like());
    observe_pause.spec.mode = Mode::Observe;
    observe_pause.spec.deletion_policy = DeletionPolicy::Pause;
    let mut suspended_pause = support::task("suspended-pause", "main", &harness::uuid_like());
    suspended_pause.spec.suspend = true;
    suspended_pause.spec.deletion_policy = DeletionPolicy::Pause;
    let all = [&observe_delete, &observe_pause, &suspended_pause];
    for task in all {
        put_remote_task(&setup.sim, task, 2, json!({}));
    }
    let _operator = Operator::start(&setup.ns, &[]);
    for task in all {
        support::create_task(&setup.client, &setup.ns, task).await;
    }
    for task in all {
        let name = task.metadata.name.as_deref().unwrap();
        support::wait_for(&setup.tasks, name, WAIT, "reconciled", |t| {
            t.status.as_ref().is_some_and(|s| s.observed_generation == Some(1))
        })
        .await;
    }
    for task in all {
        setup
            .tasks
            .delete(task.metadata.name.as_deref().unwrap(), &DeleteParams::default())
            .await
            .unwrap();
    }
    for task in all {
        wait_gone(&setup.tasks, task.metadata.name.as_deref().unwrap(), WAIT).await;
    }
    for task in all {
        let id = task.spec.task_id.as_deref().unwrap();
        let calls = call_names(&setup.sim, id);
        assert!(
            writes(&calls).is_empty(),
            "{}: no platform write, but: {calls:?}",
            task.metadata.name.as_deref().unwrap()
        );
        assert!(setup.sim.task(id).is_some(), "the remote task still exists");
        assert_eq!(remote_status(&setup.sim, id), 2, "the campaign still runs");
    }
}

/// D16: a campaign the operator paused for an update, whose object a person then sets to
/// `runState: Paused` and deletes (Orphan), stays paused: the person's latest word was stop.
#[tokio::test]
async fn deletion_does_not_resume_a_campaign_the_latest_spec_says_to_keep_paused() {
    let Some(setup) = setup("ppl-keep-paused").await else {
        return;
    };
    let task = support::task("keep-paused", "main", &harness::uuid_like());
    let id = task.spec.task_id.clone().unwrap();
    put_remote_task(&setup.sim, &task, 2, json!({"maximumcall": 1}));
    harness::kill_operator_mid_update(&setup, &task).await;

    let paused = json!({"spec": {"runState": "Paused"}});
    setup
        .tasks
        .patch("keep-paused", &PatchParams::default(), &Patch::Merge(&paused))
        .await
        .unwrap();
    setup
        .tasks
        .delete("keep-paused", &DeleteParams::default())
        .await
        .unwrap();
    setup.sim.clear_journal();
    let _next = Operator::start(&setup.ns, &[]);
    wait_gone(&setup.tasks, "keep-paused", WAIT).await;
    assert_eq!(
        remote_status(&setup.sim, &id),
        1,
        "the campaign stays paused: {:?}",
        call_names(&setup.sim, &id)
    );
}

/// D6: deleting the account, its Secret and a `Pause` task together (a namespace deletion, a
/// `kubectl delete -f dir/`) completes: the finalizer that can no longer reach the platform gives up within a bounded time, with a Warning
/// that names what could not be done.
#[tokio::test]
async fn a_task_whose_account_and_secret_went_first_is_deleted_without_getting_stuck() {
    let Some(setup) = setup("ppl-namespace").await else {
        return;
    };
    let mut task = support::task("pause-on-delete", "main", &harness::uuid_like());
    task.spec.deletion_policy = DeletionPolicy::Pause;
    put_remote_task(&setup.sim, &task, 2, json!({}));
    let _operator = Operator::start(&setup.ns, &[]);
    support::create_task(&setup.client, &setup.ns, &task).await;
    support::wait_for_condition(&setup.tasks, "pause-on-delete", "Ready", "True", WAIT).await;

    // The account and the Secret go first (as they may in a namespace deletion or a
    // `kubectl delete -f dir/`), then the task.
    let accounts: Api<outbound_api::OutboundAccount> = Api::namespaced(setup.client.clone(), &setup.ns);
    accounts.delete("main", &DeleteParams::default()).await.unwrap();
    let secrets: Api<Secret> = Api::namespaced(setup.client.clone(), &setup.ns);
    secrets
        .delete("platform-token", &DeleteParams::default())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    setup
        .tasks
        .delete("pause-on-delete", &DeleteParams::default())
        .await
        .unwrap();
    wait_gone(&setup.tasks, "pause-on-delete", Duration::from_secs(90)).await;
    let events: Api<Event> = Api::namespaced(setup.client.clone(), &setup.ns);
    let warnings: Vec<String> = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.type_.as_deref() == Some("Warning") && e.reason.as_deref() == Some("DeletionIncomplete"))
        .filter_map(|e| e.message)
        .collect();
    assert!(
        warnings
            .iter()
            .any(|note| note.contains("pause") && note.contains("AccountNotFound")),
        "a Warning names what was not done and why: {warnings:?}"
    );
}

/// D13: the finalizer is added once beside another controller's, and the object goes away
/// once that other finalizer is removed.
#[tokio::test]
async fn the_finalizer_is_added_once_beside_another_controllers() {
    let Some(setup) = setup("ppl-finalizers").await else {
        return;
    };
    let mut task = support::task("shared", "main", &harness::uuid_like());
    task.spec.deletion_policy = DeletionPolicy::Pause;
    task.spec.run_state = Some(RunState::Running);
    task.metadata.finalizers = Some(vec!["example.com/x".into()]);
    put_remote_task(&setup.sim, &task, 2, json!({"maximumcall": 1}));
    let _operator = Operator::start(&setup.ns, &[]);
    support::create_task(&setup.client, &setup.ns, &task).await;
    let updated = support::wait_for_condition(&setup.tasks, "shared", "Ready", "True", WAIT).await;
    assert_eq!(
        finalizers(&updated),
        ["example.com/x", FINALIZER],
        "ours once, the other kept"
    );

    setup.tasks.delete("shared", &DeleteParams::default()).await.unwrap();
    support::wait_for(&setup.tasks, "shared", WAIT, "our finalizer gone", |t| {
        !finalizers(t).iter().any(|f| f == FINALIZER)
    })
    .await;
    let others = json!({"metadata": {"finalizers": null}});
    setup
        .tasks
        .patch("shared", &PatchParams::default(), &Patch::Merge(&others))
        .await
        .unwrap();
    wait_gone(&setup.tasks, "shared", WAIT).await;
}

/// D4: a change rolls through campaigns held in line by `maxPaused`; a person sets `runState:
/// Paused` on one that waits for its place. It is never resumed: the wait ends when the spec
/// changes, and the reconcile plans again from the latest object.
#[tokio::test]
async fn a_campaign_paused_by_a_person_while_it_waits_for_a_max_paused_place_is_never_resumed() {
    let Some(setup) = harness::setup_with("ppl-wait", |account| account.spec.max_paused = Some(1)).await else {
        return;
    };
    // The first to take the place holds it through a slow update; the others wait for it.
    let tasks =
        harness::changed_tasks_behind_a_slow_update(&setup, &["first", "second", "third"], Duration::from_millis(8000));
    let _operator = Operator::start(&setup.ns, &[]);
    for task in &tasks {
        support::create_task(&setup.client, &setup.ns, task).await;
    }
    let ids: Vec<String> = tasks.iter().map(|t| t.spec.task_id.clone().unwrap()).collect();
    eventually(WAIT, "one campaign paused", || {
        ids.iter().filter(|id| remote_status(&setup.sim, id) == 1).count() == 1
    })
    .await;
    let holder = ids.iter().position(|id| remote_status(&setup.sim, id) == 1).unwrap();
    let stop = json!({"spec": {"runState": "Paused"}});
    for (index, task) in tasks.iter().enumerate().filter(|(index, _)| *index != holder) {
        let name = task.metadata.name.as_deref().unwrap();
        setup
            .tasks
            .patch(name, &PatchParams::default(), &Patch::Merge(&stop))
            .await
            .unwrap();
        assert_eq!(remote_status(&setup.sim, &ids[index]), 2, "{name} was still waiting");
    }
    setup.sim.set_faults(FaultConfig::default()).unwrap();
    for (index, task) in tasks.iter().enumerate().filter(|(index, _)| *index != holder) {
        let name = task.metadata.name.as_deref().unwrap();
        support::wait_for(&setup.tasks, name, Duration::from_secs(60), "updated and paused", |t| {
            t.status.as_ref().is_some_and(|s| s.observed_generation == Some(2))
                && support::condition(t, "Ready").is_some_and(|c| c.status == "True")
        })
        .await;
        let calls = call_names(&setup.sim, &ids[index]);
        assert!(
            !calls.iter().any(|call| call.starts_with("resume")),
            "{name} was resumed after the person said stop: {calls:?}"
        );
        assert_eq!(
            remote_status(&setup.sim, &ids[index]),
            1,
            "{name} stays paused: {calls:?}"
        );
    }
}

/// D7: the platform's resume path is inferred; when it answers 404, the campaign the operator
/// paused stays paused only until the next retry on the failure backoff (never a whole
/// `resyncInterval`), and the condition names the resume call instead of blaming `spec.taskId`.
#[tokio::test]
async fn a_wrong_resume_path_is_named_and_retried_on_the_backoff_while_a_campaign_is_held_paused() {
    let Some(setup) = harness::setup_with("ppl-resume-path", |account| {
        account.spec.endpoints.resume = "/agent-api/no-such-path/{task_id}/start".into();
    })
    .await
    else {
        return;
    };
    let mut task = support::task("held", "main", &harness::uuid_like());
    task.spec.resync_interval = "1h".into();
    let id = task.spec.task_id.clone().unwrap();
    put_remote_task(&setup.sim, &task, 2, json!({"maximumcall": 1}));
    let _operator = Operator::start(&setup.ns, &["--max-backoff", "4s"]);
    support::create_task(&setup.client, &setup.ns, &task).await;
    let stalled = support::wait_for(&setup.tasks, "held", WAIT, "Synced False", |t| {
        support::condition(t, "Synced").is_some_and(|c| c.status == "False")
    })
    .await;
    let synced = support::condition(&stalled, "Synced").unwrap();
    assert_eq!(synced.reason, "EndpointNotFound", "{synced:?}");
    assert!(synced.message.contains("resume"), "{}", synced.message);
    // The simulator knows no such path: the calls show in its journal by their path.
    let resumes = || {
        harness::calls_for(&setup.sim, &id)
            .iter()
            .filter(|call| call.path.contains("no-such-path"))
            .count()
    };
    eventually(Duration::from_secs(20), "the resume retried on the backoff", || {
        resumes() >= 3
    })
    .await;
    assert_eq!(
        remote_status(&setup.sim, &id),
        1,
        "held paused by the journal meanwhile"
    );
}

/// D18: an object deleted and created again under the same name (Argo CD's `Replace=true`, a
/// `kubectl replace --force`) while a reconcile of the old one writes its status. That status
/// never lands on the successor (every status write tests the object's uid), so the successor
/// does not take over the old object's campaign: it creates its own.
#[tokio::test]
async fn a_status_written_for_a_replaced_object_never_lands_on_its_successor() {
    let Some(setup) = setup("ppl-replaced").await else {
        return;
    };
    let proxy = support::apiproxy::ApiProxy::start().await;
    // Every status write of the task takes 4 s: the window in which the object is replaced.
    proxy.fail(
        "PATCH",
        "/outboundtasks/replaced/status",
        u32::MAX,
        support::apiproxy::FaultMode::Delay(Duration::from_secs(4)),
    );
    let mut task = support::task("replaced", "main", &harness::uuid_like());
    task.spec.task_id = None;
    task.spec.task.name = "replaced-old".into();
    let _operator = Operator::start_with_kubeconfig(&setup.ns, &[], Some(&proxy.kubeconfig));
    support::create_task(&setup.client, &setup.ns, &task).await;
    let created = |name: &str| {
        setup
            .sim
            .task_ids()
            .into_iter()
            .find(|id| setup.sim.task(id).is_some_and(|t| t.config["name"] == name))
    };
    // The operator created the campaign and now writes the status that names it.
    eventually(WAIT, "the create call", || created("replaced-old").is_some()).await;
    let old_id = created("replaced-old").unwrap();
    setup.tasks.delete("replaced", &DeleteParams::default()).await.unwrap();
    wait_gone(&setup.tasks, "replaced", Duration::from_secs(3)).await;
    let mut successor = task.clone();
    successor.spec.task.name = "replaced-new".into();
    support::create_task(&setup.client, &setup.ns, &successor).await;

    eventually(Duration::from_secs(60), "the successor's own campaign", || {
        created("replaced-new").is_some()
    })
    .await;
    let new_id = created("replaced-new").unwrap();
    let settled = support::wait_for(&setup.tasks, "replaced", Duration::from_secs(60), "its own id", |t| {
        t.status.as_ref().and_then(|s| s.task_id.as_deref()) == Some(new_id.as_str())
    })
    .await;
    assert_ne!(settled.status.unwrap().task_id, Some(old_id.clone()));
    assert!(
        setup
            .sim
            .task(&old_id)
            .is_some_and(|t| t.config["name"] == "replaced-old"),
        "the old campaign was not renamed by the successor"
    );
}

/// D23: the account is moved to another platform user (`userId` edited) while a journal holds a
/// campaign paused. The task is Stalled `AccountMoved` (not "TaskNotFound" read elsewhere), its
/// deletion waits instead of letting the paused campaign go, and once the account is set back
/// the campaign is resumed before the object goes.
#[tokio::test]
async fn an_account_moved_under_a_paused_campaign_holds_it_until_set_back() {
    let Some(setup) = setup("ppl-moved").await else {
        return;
    };
    let mut task = support::task("moved", "main", &harness::uuid_like());
    task.spec.deletion_policy = DeletionPolicy::Orphan;
    let id = task.spec.task_id.clone().unwrap();
    put_remote_task(&setup.sim, &task, 2, json!({"maximumcall": 1}));
    harness::kill_operator_mid_update(&setup, &task).await;
    let accounts: Api<outbound_api::OutboundAccount> = Api::namespaced(setup.client.clone(), &setup.ns);
    let user_id = accounts.get("main").await.unwrap().spec.user_id;
    let elsewhere = json!({"spec": {"userId": "0f0f0f0f-0f0f-40f0-8f0f-0f0f0f0f0f0f"}});
    accounts
        .patch("main", &PatchParams::default(), &Patch::Merge(&elsewhere))
        .await
        .unwrap();
    let _next = Operator::start(&setup.ns, &[]);
    support::wait_for(&setup.tasks, "moved", WAIT, "Stalled AccountMoved", |t| {
        support::condition(t, "Stalled").is_some_and(|c| c.status == "True" && c.reason == "AccountMoved")
    })
    .await;
    setup.tasks.delete("moved", &DeleteParams::default()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let held = setup.tasks.get("moved").await.unwrap();
    assert_eq!(
        finalizers(&held),
        vec![FINALIZER.to_string()],
        "the object waits for the account"
    );
    assert_eq!(remote_status(&setup.sim, &id), 1);
    let back = json!({"spec": {"userId": user_id}});
    accounts
        .patch("main", &PatchParams::default(), &Patch::Merge(&back))
        .await
        .unwrap();
    wait_gone(&setup.tasks, "moved", Duration::from_secs(60)).await;
    assert_eq!(
        remote_status(&setup.sim, &id),
        2,
        "resumed before the object went: {:?}",
        call_names(&setup.sim, &id)
    );
}
