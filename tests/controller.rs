//! The controller end to end: a real kube-apiserver (scripts/envtest.sh), the platform simulator
//! in this process, and the operator binary as a child process (one per test, watching only the
//! test's namespace, so tests run in parallel).

#[path = "harness/mod.rs"]
mod harness;
mod support;

use std::time::Duration;

use harness::{Operator, Setup, call_names, eventually, put_remote_task, remote_equals_spec, remote_status, setup};
use k8s_openapi::api::core::v1::{Event, Secret};
use kube::api::{Api, ListParams, Patch, PatchParams};
use outbound_api::{OutboundTask, RemoteState};
use outbound_sim::{EndpointFaults, FaultConfig, SimEndpoint};
use serde_json::json;
use support::{condition, wait_for, wait_for_condition};

const WAIT: Duration = Duration::from_secs(60);

fn new_task(name: &str) -> OutboundTask {
    let mut task = support::task(name, "main", &harness::uuid_like());
    task.spec.resync_interval = "30s".into();
    task
}

/// No token in logs, events or status (DEVELOPERS.md: tokens never appear anywhere).
async fn assert_no_token_leak(setup: &Setup, operators: &[&Operator], tokens: &[&str]) {
    let events: Api<Event> = Api::namespaced(setup.client.clone(), &setup.ns);
    let events = serde_json::to_string(&events.list(&ListParams::default()).await.unwrap().items).unwrap();
    let accounts: Api<outbound_api::OutboundAccount> = Api::namespaced(setup.client.clone(), &setup.ns);
    let statuses = serde_json::to_string(&(
        setup.tasks.list(&ListParams::default()).await.unwrap().items,
        accounts.list(&ListParams::default()).await.unwrap().items,
    ))
    .unwrap();
    // A prefix is enough to leak (a message cut inside the token): look for the first 20 characters.
    for token in tokens.iter().map(|t| &t[..t.len().min(20)]) {
        for operator in operators {
            assert!(!operator.logs().contains(token), "token found in the operator's logs");
        }
        assert!(!events.contains(token), "token found in events");
        assert!(!statuses.contains(token), "token found in status");
    }
}

#[tokio::test]
async fn running_task_with_other_settings_is_paused_updated_resumed() {
    let Some(setup) = setup("ctl-update").await else { return };
    let task = new_task("campaign");
    put_remote_task(&setup.sim, &task, 2, json!({"maximumcall": 1, "name": "console name"}));
    let operator = Operator::start(&setup.ns, &[]);
    support::create_task(&setup.client, &setup.ns, &task).await;

    let synced = wait_for_condition(&setup.tasks, "campaign", "Ready", "True", WAIT).await;
    let id = task.spec.task_id.as_deref().unwrap();
    assert_eq!(call_names(&setup.sim, id), ["detail", "pause", "update", "resume"]);
    assert!(
        remote_equals_spec(&setup.sim, &task),
        "remote settings differ from spec"
    );
    assert_eq!(remote_status(&setup.sim, id), 2, "the task runs again");
    let status = synced.status.clone().unwrap();
    assert_eq!(status.observed_generation, Some(1));
    assert!(status.operation.is_none(), "journal cleared once done");
    assert!(status.last_sync_time.is_some());
    for (type_, value) in [("Synced", "True"), ("Reconciling", "False"), ("Stalled", "False")] {
        assert_eq!(
            condition(&synced, type_).map(|c| c.status.as_str()),
            Some(value),
            "{type_}"
        );
    }
    // The operation's Event follows the final status write (it is off the critical path).
    let events: Api<Event> = Api::namespaced(setup.client.clone(), &setup.ns);
    let mut listed = Vec::new();
    for _ in 0..50 {
        listed = events.list(&ListParams::default()).await.unwrap().items;
        if listed.iter().any(|e| e.reason.as_deref() == Some("Updated")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let events = listed;
    let updated: Vec<&Event> = events
        .iter()
        .filter(|e| e.reason.as_deref() == Some("Updated"))
        .collect();
    assert_eq!(updated.len(), 1, "one event for the operation: {events:?}");
    let note = updated[0].message.as_deref().unwrap_or_default();
    assert!(
        note.starts_with("paused the task, updated ") && note.contains("spec.task.maxConcurrency"),
        "{note}"
    );
    assert!(note.ends_with("resumed the task"), "{note}");
    let metrics = operator.metrics().await;
    assert!(metrics.contains("outbound_remote_requests_total"), "{metrics}");
    let listed = setup.tasks.list(&ListParams::default()).await.unwrap();
    assert_eq!(
        harness::kstatus(&listed).get("campaign").map(String::as_str),
        Some("Current"),
        "kstatus reads a synced task as Current"
    );
    assert_no_token_leak(&setup, &[&operator], &[&setup.token]).await;
}

#[tokio::test]
async fn slow_pause_only_adds_retried_updates() {
    let Some(setup) = setup("ctl-slowpause").await else {
        return;
    };
    setup
        .sim
        .set_faults(FaultConfig {
            slow_pause_secs: 2.5,
            ..Default::default()
        })
        .unwrap();
    let task = new_task("slow");
    put_remote_task(&setup.sim, &task, 2, json!({"maximumcall": 1}));
    let _operator = Operator::start(&setup.ns, &[]);
    support::create_task(&setup.client, &setup.ns, &task).await;

    wait_for_condition(&setup.tasks, "slow", "Ready", "True", WAIT).await;
    let calls = call_names(&setup.sim, task.spec.task_id.as_deref().unwrap());
    assert_eq!(&calls[..2], ["detail", "pause"], "{calls:?}");
    assert_eq!(&calls[calls.len() - 2..], ["update", "resume"], "{calls:?}");
    let middle = &calls[2..calls.len() - 2];
    assert!(
        !middle.is_empty(),
        "the slow pause should have made at least one update answer 6007: {calls:?}"
    );
    assert!(
        middle.iter().all(|c| c == "update:6007" || c == "pause"),
        "only retried updates (and re-pauses) in between: {calls:?}"
    );
    assert!(remote_equals_spec(&setup.sim, &task));
    assert_eq!(remote_status(&setup.sim, task.spec.task_id.as_deref().unwrap()), 2);
}

#[tokio::test]
async fn in_sync_task_costs_one_read_per_resync_and_no_write() {
    let Some(setup) = setup("ctl-insync").await else { return };
    let task = new_task("steady");
    put_remote_task(&setup.sim, &task, 2, json!({}));
    let operator = Operator::start(&setup.ns, &[]);
    support::create_task(&setup.client, &setup.ns, &task).await;
    wait_for_condition(&setup.tasks, "steady", "Ready", "True", WAIT).await;
    assert_eq!(
        call_names(&setup.sim, task.spec.task_id.as_deref().unwrap()),
        ["detail"]
    );

    // resyncInterval 30s, jittered upwards by at most 10%: one resync falls in 40 s.
    setup.sim.clear_journal();
    let status_writes = |metrics: &str| {
        metrics
            .lines()
            .filter(|l| {
                l.starts_with("outbound_kube_requests_total")
                    && l.contains(r#"resource="outboundtasks/status""#)
                    && l.contains(r#"verb="patch""#)
            })
            // One series per answer code.
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    let writes_before = status_writes(&operator.metrics().await);
    tokio::time::sleep(Duration::from_secs(40)).await;
    assert_eq!(
        call_names(&setup.sim, task.spec.task_id.as_deref().unwrap()),
        ["detail"]
    );
    let reconciles = operator.logs().matches(r#""message":"reconciled""#).count();
    assert!(reconciles >= 2, "the resync happened ({reconciles} reconciles)");
    assert_eq!(
        status_writes(&operator.metrics().await),
        writes_before,
        "an unchanged resync writes no status"
    );
}

#[tokio::test]
async fn console_edit_is_corrected_in_enforce_and_reported_in_observe() {
    let Some(setup) = setup("ctl-drift").await else { return };
    // numberOrder is owned (set): the console's pop_mode edit below is drift.
    let mut enforced = new_task("enforced");
    enforced.spec.task.number_order = Some(outbound_api::NumberOrder::Random);
    let mut observed = new_task("observed");
    observed.spec.task.number_order = Some(outbound_api::NumberOrder::Random);
    observed.spec.mode = outbound_api::Mode::Observe;
    put_remote_task(&setup.sim, &enforced, 2, json!({}));
    put_remote_task(&setup.sim, &observed, 2, json!({}));
    let _operator = Operator::start(&setup.ns, &[]);
    support::create_task(&setup.client, &setup.ns, &enforced).await;
    support::create_task(&setup.client, &setup.ns, &observed).await;
    wait_for_condition(&setup.tasks, "enforced", "Ready", "True", WAIT).await;
    wait_for_condition(&setup.tasks, "observed", "Ready", "True", WAIT).await;

    setup.sim.clear_journal();
    for task in [&enforced, &observed] {
        setup
            .sim
            .patch_task_config(
                task.spec.task_id.as_deref().unwrap(),
                json!({"maximumcall": 4, "task_extras": {"pop_mode": 2}}),
            )
            .unwrap();
    }
    // Corrected on the next resync (30 s, jittered), without any trigger from us.
    let id = enforced.spec.task_id.clone().unwrap();
    // Updated and resumed (calls are spaced by the account's rate, 10/s).
    eventually(Duration::from_secs(50), "enforced task corrected", || {
        remote_equals_spec(&setup.sim, &enforced)
            && call_names(&setup.sim, &id).last().map(String::as_str) == Some("resume")
    })
    .await;
    assert_eq!(call_names(&setup.sim, &id), ["detail", "pause", "update", "resume"]);

    let drifted = wait_for(
        &setup.tasks,
        "observed",
        Duration::from_secs(50),
        "drift reported",
        |t| t.status.as_ref().is_some_and(|s| !s.drift.is_empty()),
    )
    .await;
    let status = drifted.status.as_ref().unwrap();
    let fields: Vec<&str> = status.drift.iter().map(|d| d.field.as_str()).collect();
    assert!(fields.contains(&"spec.task.maxConcurrency"), "{fields:?}");
    assert!(fields.contains(&"spec.task.numberOrder"), "{fields:?}");
    let ready = condition(&drifted, "Ready").unwrap();
    assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("False", "Drifted"));
    assert!(
        call_names(&setup.sim, observed.spec.task_id.as_deref().unwrap())
            .iter()
            .all(|c| c == "detail"),
        "Observe mode never writes"
    );
}

#[tokio::test]
async fn rejected_update_stalls_with_the_platform_message_and_resumes_then_recovers() {
    let Some(setup) = setup("ctl-reject").await else { return };
    let mut task = new_task("greedy");
    put_remote_task(&setup.sim, &task, 2, json!({}));
    // 80 on one line is more than the line's remaining 50: only the platform knows that.
    task.spec.task.max_concurrency = 80;
    task.spec.task.lines[0].limit = 80;
    let _operator = Operator::start(&setup.ns, &[]);
    support::create_task(&setup.client, &setup.ns, &task).await;

    let stalled = wait_for_condition(&setup.tasks, "greedy", "Stalled", "True", WAIT).await;
    let synced = condition(&stalled, "Synced").unwrap();
    assert_eq!(synced.reason, "RemoteRejected");
    assert!(
        synced.message.contains("maximumcall"),
        "platform message kept: {}",
        synced.message
    );
    let listed = setup.tasks.list(&ListParams::default()).await.unwrap();
    assert_eq!(
        harness::kstatus(&listed).get("greedy").map(String::as_str),
        Some("Failed"),
        "kstatus reads a rejected task as Failed"
    );
    let id = task.spec.task_id.as_deref().unwrap();
    eventually(Duration::from_secs(10), "task resumed after the rejection", || {
        remote_status(&setup.sim, id) == 2
    })
    .await;
    assert!(call_names(&setup.sim, id).contains(&"resume".to_string()));

    let fix = json!({"spec": {"task": {"maxConcurrency": 4, "lines": [{"id": support::LINE_ID, "limit": 4}]}}});
    setup
        .tasks
        .patch("greedy", &PatchParams::default(), &Patch::Merge(&fix))
        .await
        .unwrap();
    let fixed = wait_for_condition(&setup.tasks, "greedy", "Ready", "True", WAIT).await;
    assert_eq!(condition(&fixed, "Stalled").map(|c| c.status.as_str()), Some("False"));
    let fixed_task: OutboundTask = setup.tasks.get("greedy").await.unwrap();
    assert!(remote_equals_spec(&setup.sim, &fixed_task));
    assert_eq!(remote_status(&setup.sim, id), 2);
}

#[tokio::test]
async fn killed_while_the_update_is_held_then_restarted_ends_updated_and_running() {
    let Some(setup) = setup("ctl-crash").await else { return };
    let task = new_task("crashy");
    put_remote_task(&setup.sim, &task, 2, json!({"maximumcall": 1}));
    let hang = EndpointFaults {
        hang: true,
        ..Default::default()
    };
    setup
        .sim
        .set_faults(FaultConfig {
            endpoints: [(SimEndpoint::Update, hang)].into(),
            hang_secs: 120,
            ..Default::default()
        })
        .unwrap();
    let mut operator = Operator::start(&setup.ns, &[]);
    support::create_task(&setup.client, &setup.ns, &task).await;
    let id = task.spec.task_id.clone().unwrap();
    eventually(WAIT, "the update call to arrive", || {
        call_names(&setup.sim, &id).iter().any(|c| c.starts_with("update"))
    })
    .await;
    operator.kill();
    assert_eq!(
        remote_status(&setup.sim, &id),
        1,
        "killed between pause and resume: paused for now"
    );
    let journaled: OutboundTask = setup.tasks.get("crashy").await.unwrap();
    assert!(
        journaled.status.unwrap().operation.is_some(),
        "the operation journal was written before the pause"
    );

    setup.sim.set_faults(FaultConfig::default()).unwrap();
    let _restarted = Operator::start(&setup.ns, &[]);
    wait_for_condition(&setup.tasks, "crashy", "Ready", "True", WAIT).await;
    assert!(remote_equals_spec(&setup.sim, &task));
    assert_eq!(remote_status(&setup.sim, &id), 2, "never left paused");
}

#[tokio::test]
async fn credential_and_reference_errors_have_their_own_reasons_and_rotation_recovers() {
    credential_errors_and_rotation(false).await;
}

/// The same, behind a platform (or proxy) whose error bodies quote the request headers, the
/// `Authorization` header included: the token must still reach no log, event or status. The first
/// reads fail with HTTP 500 pages (the fallback messages that quote the body), then the run goes
/// on as above with every error answer echoing.
#[tokio::test]
async fn echoed_authorization_headers_never_reach_logs_events_or_status() {
    credential_errors_and_rotation(true).await;
}

async fn credential_errors_and_rotation(echo_headers: bool) {
    let Some(setup) = setup(if echo_headers { "ctl-echo" } else { "ctl-auth" }).await else {
        return;
    };
    let echo = FaultConfig {
        echo_headers,
        ..Default::default()
    };
    let mut failing_reads = echo.clone();
    failing_reads.endpoint_mut(SimEndpoint::Detail).error_rate = 1.0;
    if echo_headers {
        setup.sim.set_faults(failing_reads).unwrap();
    }
    let secrets: Api<Secret> = Api::namespaced(setup.client.clone(), &setup.ns);
    // Account `other` reads a Secret that does not exist yet.
    support::create_account(
        &setup.client,
        &setup.ns,
        "other",
        &setup.sim.base_url(),
        "missing-token",
    )
    .await;
    let mut no_secret = new_task("no-secret");
    no_secret.spec.account_ref.name = "other".into();
    put_remote_task(&setup.sim, &no_secret, 2, json!({}));
    let unknown = new_task("unknown-task"); // never put in the simulator
    let mut no_account = new_task("no-account");
    no_account.spec.account_ref.name = "nobody".into();
    let wrong_token = "wrong-token-value-1234567890";
    secrets
        .patch(
            "platform-token",
            &PatchParams::default(),
            &Patch::Merge(&json!({"stringData": {"token": wrong_token}})),
        )
        .await
        .unwrap();
    let rotated = new_task("rotated");
    put_remote_task(&setup.sim, &rotated, 2, json!({"maximumcall": 1}));

    let operator = Operator::start(&setup.ns, &[]);
    for task in [&no_secret, &unknown, &no_account, &rotated] {
        support::create_task(&setup.client, &setup.ns, task).await;
    }
    let reason_of = |t: &OutboundTask| condition(t, "Synced").map(|c| c.reason.clone()).unwrap_or_default();
    if echo_headers {
        let failed = wait_for(&setup.tasks, "rotated", WAIT, "a failed read", |t| {
            reason_of(t) == "RemoteError"
        })
        .await;
        let message = &condition(&failed, "Synced").unwrap().message;
        assert!(
            message.contains("request headers"),
            "the echoed page is quoted: {message}"
        );
        setup.sim.set_faults(echo).unwrap();
    }
    for (name, reason) in [
        ("no-secret", "SecretNotFound"),
        ("no-account", "AccountNotFound"),
        ("rotated", "Unauthorized"),
    ] {
        let t = wait_for(&setup.tasks, name, WAIT, reason, |t| reason_of(t) == reason).await;
        assert_eq!(
            condition(&t, "Ready").map(|c| c.status.as_str()),
            Some("False"),
            "{name}"
        );
    }
    // With the wrong token every task of the account is unauthorized, the unknown one included.
    // Rotate the Secret to the right token: no restart, and the unknown task shows TaskNotFound.
    secrets
        .patch(
            "platform-token",
            &PatchParams::default(),
            &Patch::Merge(&json!({"stringData": {"token": setup.token}})),
        )
        .await
        .unwrap();
    wait_for_condition(&setup.tasks, "rotated", "Ready", "True", WAIT).await;
    assert!(remote_equals_spec(&setup.sim, &rotated));
    let t = wait_for(&setup.tasks, "unknown-task", WAIT, "TaskNotFound", |t| {
        reason_of(t) == "TaskNotFound"
    })
    .await;
    assert_eq!(condition(&t, "Stalled").map(|c| c.status.as_str()), Some("True"));
    assert!(operator.metrics().await.contains("outbound_reconciles"));
    let accounts: Api<outbound_api::OutboundAccount> = Api::namespaced(setup.client.clone(), &setup.ns);
    let main = wait_for_condition(&accounts, "main", "Ready", "True", WAIT).await;
    assert_eq!(condition(&main, "Ready").unwrap().reason, "TokenAccepted");
    let other = wait_for_condition(&accounts, "other", "Ready", "False", WAIT).await;
    assert_eq!(condition(&other, "Ready").unwrap().reason, "SecretNotFound");
    assert_no_token_leak(&setup, &[&operator], &[&setup.token, wrong_token]).await;
}

/// A leader shut down gracefully (SIGTERM, as in a rollout or a drain) releases its Lease: the
/// follower takes over at its next read instead of waiting out the Lease's 15 s (review I18). Both
/// are Ready: the follower standing by, the leader once its caches have listed.
#[tokio::test]
async fn a_leader_stopped_with_sigterm_releases_its_lease() {
    let Some(setup) = setup("ctl-release").await else {
        return;
    };
    let lease_args = ["--leader-elect", "--leader-election-namespace", setup.ns.as_str()];
    let mut first = Operator::start(&setup.ns, &[&lease_args[..], &["--identity", "first"]].concat());
    eventually(WAIT, "first replica leads", || first.logs().contains("caches synced")).await;
    let second = Operator::start(&setup.ns, &[&lease_args[..], &["--identity", "second"]].concat());
    eventually(WAIT, "second replica waits", || {
        second.logs().contains("waiting for leadership")
    })
    .await;
    assert!(first.ready().await, "the leader is Ready once its caches synced");
    assert!(second.ready().await, "a follower is Ready: it stands by");

    let status = first.terminate(Duration::from_secs(30)).expect("exits on SIGTERM");
    assert!(status.success(), "{status:?}: {}", first.logs());
    let stopped = std::time::Instant::now();
    assert!(first.logs().contains("released the leader Lease"), "{}", first.logs());
    eventually(Duration::from_secs(30), "second replica takes over", || {
        second.logs().contains("acquired leadership")
    })
    .await;
    // Without the release the follower waits the Lease's duration (15 s) after the last renewal.
    assert!(
        stopped.elapsed() < Duration::from_secs(8),
        "took over {:?} after the leader stopped",
        stopped.elapsed()
    );
}

/// An Orphan task holds the finalizer only while a journal may need it: an operation adds it
/// before its journal, and the end of that reconcile removes it (review I6). Deleting the task
/// once the operator is gone (an uninstall, a namespace deletion) then never hangs.
#[tokio::test]
async fn an_orphan_task_drops_the_finalizer_once_no_journal_needs_it() {
    let Some(setup) = setup("ctl-orphanfin").await else {
        return;
    };
    let task = new_task("orphan");
    put_remote_task(&setup.sim, &task, 2, json!({"maximumcall": 1}));
    let mut operator = Operator::start(&setup.ns, &[]);
    support::create_task(&setup.client, &setup.ns, &task).await;
    let synced = wait_for_condition(&setup.tasks, "orphan", "Ready", "True", WAIT).await;
    let id = task.spec.task_id.as_deref().unwrap();
    assert_eq!(call_names(&setup.sim, id), ["detail", "pause", "update", "resume"]);
    assert!(synced.status.unwrap().operation.is_none());
    wait_for(&setup.tasks, "orphan", WAIT, "no finalizer", |t| {
        t.metadata.finalizers.as_ref().is_none_or(Vec::is_empty)
    })
    .await;
    // It was there for the operation: two JSON patches of the task, added before the journal and
    // removed after the final status.
    let metrics = operator.metrics().await;
    // Summed over the answers' codes.
    let patches: f64 = metrics
        .lines()
        .filter(|l| l.starts_with(r#"outbound_kube_requests_total{verb="patch",resource="outboundtasks","#))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(patches, 2.0, "{metrics}");

    operator.kill();
    setup.tasks.delete("orphan", &Default::default()).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while setup.tasks.get_opt("orphan").await.unwrap().is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "deletion hangs without the operator"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(remote_status(&setup.sim, id), 2, "Orphan: the campaign runs on");
}

#[tokio::test]
async fn with_leader_election_only_one_replica_acts_and_killing_it_hands_over() {
    let Some(setup) = setup("ctl-leader").await else { return };
    let lease_args = ["--leader-elect", "--leader-election-namespace", setup.ns.as_str()];
    let mut first = Operator::start(&setup.ns, &[&lease_args[..], &["--identity", "first"]].concat());
    eventually(WAIT, "first replica leads", || {
        first.logs().contains("acquired leadership")
    })
    .await;
    let mut second = Operator::start(&setup.ns, &[&lease_args[..], &["--identity", "second"]].concat());
    eventually(WAIT, "second replica waits", || {
        second.logs().contains("waiting for leadership")
    })
    .await;

    let task = new_task("led");
    put_remote_task(&setup.sim, &task, 2, json!({"maximumcall": 1}));
    support::create_task(&setup.client, &setup.ns, &task).await;
    wait_for_condition(&setup.tasks, "led", "Ready", "True", WAIT).await;
    assert!(!second.logs().contains("acquired leadership"), "only one leader");
    assert!(!second.logs().contains("reconciled"), "the follower does not reconcile");

    first.kill();
    eventually(Duration::from_secs(45), "second replica takes over", || {
        second.logs().contains("acquired leadership")
    })
    .await;
    setup
        .sim
        .patch_task_config(task.spec.task_id.as_deref().unwrap(), json!({"maximumcall": 1}))
        .unwrap();
    setup
        .tasks
        .patch(
            "led",
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "now"}}})),
        )
        .await
        .unwrap();
    eventually(WAIT, "the new leader corrects the drift", || {
        remote_equals_spec(&setup.sim, &task)
    })
    .await;
    assert!(second.is_running());
    let handled = wait_for(&setup.tasks, "led", WAIT, "requestedAt handled", |t| {
        t.status.as_ref().and_then(|s| s.last_handled_reconcile_at.as_deref()) == Some("now")
    })
    .await;
    assert_eq!(handled.status.unwrap().remote_state, Some(RemoteState::Running));
}

#[tokio::test]
async fn deletion_policy_suspend_and_run_state_do_what_they_say() {
    let Some(setup) = setup("ctl-policies").await else {
        return;
    };
    let mut pause_on_delete = new_task("pause-on-delete");
    pause_on_delete.spec.deletion_policy = outbound_api::DeletionPolicy::Pause;
    let orphan = new_task("orphan");
    let mut keep_paused = new_task("keep-paused");
    keep_paused.spec.run_state = Some(outbound_api::RunState::Paused);
    for task in [&pause_on_delete, &orphan, &keep_paused] {
        put_remote_task(&setup.sim, task, 2, json!({}));
    }
    let _operator = Operator::start(&setup.ns, &[]);
    for task in [&pause_on_delete, &orphan, &keep_paused] {
        support::create_task(&setup.client, &setup.ns, task).await;
    }
    for name in ["pause-on-delete", "orphan", "keep-paused"] {
        wait_for_condition(&setup.tasks, name, "Ready", "True", WAIT).await;
    }
    // runState Paused: an in-sync running task is paused, and nothing else is sent.
    assert_eq!(
        call_names(&setup.sim, keep_paused.spec.task_id.as_deref().unwrap()),
        ["detail", "pause"]
    );
    assert_eq!(
        remote_status(&setup.sim, keep_paused.spec.task_id.as_deref().unwrap()),
        1
    );
    let with_finalizer = setup.tasks.get("pause-on-delete").await.unwrap();
    assert!(
        with_finalizer
            .metadata
            .finalizers
            .unwrap_or_default()
            .iter()
            .any(|f| f == "outbound.dev/finalizer")
    );
    assert!(
        setup
            .tasks
            .get("orphan")
            .await
            .unwrap()
            .metadata
            .finalizers
            .unwrap_or_default()
            .is_empty(),
        "no finalizer for Orphan"
    );

    // Suspend: no call at all, even after a console edit and a requested reconcile.
    let suspend = json!({"spec": {"suspend": true}});
    setup
        .tasks
        .patch("orphan", &PatchParams::default(), &Patch::Merge(&suspend))
        .await
        .unwrap();
    let suspended = wait_for(&setup.tasks, "orphan", WAIT, "Suspended", |t| {
        condition(t, "Ready").is_some_and(|c| c.reason == "Suspended")
    })
    .await;
    assert_eq!(condition(&suspended, "Ready").unwrap().status, "False");
    setup.sim.clear_journal();
    setup
        .sim
        .patch_task_config(orphan.spec.task_id.as_deref().unwrap(), json!({"maximumcall": 1}))
        .unwrap();
    let poke = json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "poke"}}});
    setup
        .tasks
        .patch("orphan", &PatchParams::default(), &Patch::Merge(&poke))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        call_names(&setup.sim, orphan.spec.task_id.as_deref().unwrap()).is_empty(),
        "a suspended task is not read"
    );

    // Deletion: Pause pauses the remote task before the object goes; Orphan never calls.
    let delete = kube::api::DeleteParams::default();
    setup.tasks.delete("pause-on-delete", &delete).await.unwrap();
    setup.tasks.delete("orphan", &delete).await.unwrap();
    for name in ["pause-on-delete", "orphan"] {
        let deadline = std::time::Instant::now() + WAIT;
        while setup.tasks.get_opt(name).await.unwrap().is_some() {
            assert!(std::time::Instant::now() < deadline, "{name} was never deleted");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    assert_eq!(
        remote_status(&setup.sim, pause_on_delete.spec.task_id.as_deref().unwrap()),
        1,
        "paused before deletion"
    );
    assert!(
        call_names(&setup.sim, orphan.spec.task_id.as_deref().unwrap()).is_empty(),
        "Orphan never calls the platform"
    );
    assert_eq!(remote_status(&setup.sim, orphan.spec.task_id.as_deref().unwrap()), 2);
}
