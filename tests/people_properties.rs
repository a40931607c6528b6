//! What people do while the operator works, as properties (issue 22 item 7, review T3): the
//! controller's real reconcile (`reconcile::reconcile`, hence the executor's, the creator's and
//! the finalizer's drivers) runs in-process against an in-memory API server
//! (`support/fake_kube.rs`) and the platform simulator, while the generated steps interleave
//! people's actions (spec edits and renames, `runState` flips, Observe/suspend toggles, deletes,
//! a copied object on the same taskId, a start in the platform's console, account edits) with the
//! simulator's faults (5xx, a lost answer after the effect, a hang, 429, a slow pause answered
//! 6007), API-server write failures (before or after the effect) and crashes (the reconcile
//! dropped right before or after a request takes effect; a new process starts from what the API
//! server holds). Each happening comes at a chosen request of a reconcile
//! (`people_properties/world.rs` explains the points).
//!
//! Invariants, at every platform write: none for an object in Observe or suspended, except
//! resuming a campaign the operator holds paused (its journal) and the spec does not say Paused;
//! never a resume after the latest spec says `runState: Paused`; never two objects writing to one
//! campaign. Once the steps are over and reconciles run without faults: every deleted object is
//! gone (no finalizer left), no journal or create intent left, one remote task at most for the
//! object that creates, and every campaign held by an Enforce object has its spec's settings and
//! runs exactly when its latest `runState` says so.
//!
//! Time is tokio's paused clock: the waits of the executor (6007 retries, throttles, status write
//! retries, request timeouts) take no real time. Two things run on the real clock: the
//! simulator's slow pause (50 ms) and the account's `createListGrace` (5 s, the least the
//! operator accepts), which only a case whose create outcome stays unknown waits out.

mod harness;
mod support;

#[path = "support/fake_kube.rs"]
mod fake_kube;
#[path = "people_properties/model.rs"]
mod model;
#[path = "people_properties/proxy.rs"]
mod proxy;
#[path = "people_properties/world.rs"]
mod world;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use outbound_api::OutboundTask;
use outbound_operator::controller::Context;
use proptest::prelude::*;
use serde_json::{Value, json};
use tokio::sync::Notify;

use fake_kube::FakeKube;
use model::{Start, Step};
use world::{NS, Script, lock, name};

/// The id of the older task named as the one object 2 creates.
const OLDER_NAMESAKE: &str = "0a1d2e3r-older-task";

/// Reconcile rounds over every object once the steps are over go on at most this long on the real
/// clock: the least `createListGrace` an account may set (5 s: a lookup after an unknown create
/// outcome may wait for it), and a margin.
const QUIET_FOR: Duration = Duration::from_secs(7);

/// Rounds that change nothing on the platform or the API server before the case is judged, when
/// the objects are not all settled (a stall is a state too).
const IDLE_ROUNDS: usize = 12;

/// Runs one case on a runtime of its own, with the clock paused.
fn run(start: &Start, steps: &[Step]) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a runtime");
    let violations = runtime.block_on(case(start, steps));
    // The first few say what went wrong; the rest mostly repeat it.
    let shown: Vec<&String> = violations.iter().take(4).collect();
    prop_assert!(
        violations.is_empty(),
        "{} violation(s), first: {shown:#?}",
        violations.len()
    );
    Ok(())
}

async fn case(start: &Start, steps: &[Step]) -> Vec<String> {
    outbound_platform::install_crypto_provider();
    let token = harness::unique_token("props");
    let sim = Arc::new(harness::simulator(&token).await);
    let kube = FakeKube::default();
    let crashed = Arc::new(Notify::new());
    let script = Arc::new(Mutex::new(Script::new(kube.clone(), sim.clone(), crashed.clone())));
    let platform = proxy::start(sim.base_url(), script.clone()).await;
    let gate = script.clone();
    kube.set_gate(move |seen| lock(&gate).api_point(seen));
    lay_out(start, &kube, &sim, &platform, &token, &mut lock(&script));

    let (mut ctx, mut _listed) = world::process(&kube);
    for step in steps {
        match step {
            Step::Person(person) => lock(&script).act(person),
            Step::Reconcile(object, happenings) => {
                lock(&script).begin(&name(*object), happenings);
                if !reconcile(&ctx, &name(*object), &crashed).await {
                    (ctx, _listed) = world::process(&kube);
                }
            }
        }
    }
    let deadline = std::time::Instant::now() + QUIET_FOR;
    let mut idle = 0;
    while std::time::Instant::now() < deadline {
        let writes = |script: &Script| (script.writes.len(), script.task_writes);
        let before = writes(&lock(&script));
        for object in kube.list::<OutboundTask>("outboundtasks") {
            let object = object.metadata.name.unwrap_or_default();
            lock(&script).begin(&object, &[]);
            if !reconcile(&ctx, &object, &crashed).await {
                (ctx, _listed) = world::process(&kube);
            }
        }
        // Settled: a whole round changed nothing, on the platform or on the API server.
        let unchanged = writes(&lock(&script)) == before;
        idle = if unchanged { idle + 1 } else { 0 };
        if unchanged && (settled(&kube) || (idle >= IDLE_ROUNDS && !awaiting_lookup(&kube))) {
            break;
        }
        // The create grace and the slow pause run on the real clock.
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut script = lock(&script);
    let mut violations = std::mem::take(&mut script.violations);
    violations.extend(as_asked(&kube, &sim, &script));
    violations
}

/// One reconcile as kube-runtime starts it (the object from the cache); false when the process
/// crashed in it (or it hung: a process killed then, too).
async fn reconcile(ctx: &Arc<Context>, object: &str, crashed: &Notify) -> bool {
    let Some(task) = world::cached(ctx, object) else {
        return true;
    };
    let reconcile = outbound_operator::controller::reconcile::reconcile(task, ctx.clone());
    tokio::select! {
        biased;
        () = crashed.notified() => false,
        done = tokio::time::timeout(Duration::from_secs(600), reconcile) => done.is_ok(),
    }
}

/// The Secret, the account and the objects of `start`, and their campaigns.
fn lay_out(
    start: &Start,
    kube: &FakeKube,
    sim: &outbound_sim::SimHandle,
    platform: &str,
    token: &str,
    script: &mut Script,
) {
    let secret = k8s_openapi::ByteString(token.as_bytes().to_vec());
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "platform-token"}, "data": {"token": secret}});
    kube.create("secrets", NS, secret);
    let mut account = serde_json::to_value(support::account("main", platform, "platform-token")).unwrap();
    account["spec"]["rateLimit"] = json!({"requestsPerSecond": 1000});
    account["spec"]["requestTimeout"] = json!("50ms");
    account["spec"]["platform"] =
        json!({"startedRetries": 2, "startedRetryInterval": "100ms", "createListGrace": "5s"});
    kube.create("outboundaccounts", NS, account);
    for (index, (running, run_state, policy)) in start.adopted.iter().enumerate() {
        let mut task = support::task(&name(index as u8), "main", &harness::uuid_like());
        // A campaign whose settings differ from the spec's.
        harness::put_remote_task(sim, &task, if *running { 2 } else { 1 }, json!({"maximumcall": 1}));
        let mut object = serde_json::to_value(&task).unwrap();
        object["spec"]["deletionPolicy"] = json!(policy);
        if let Some(paused) = run_state {
            object["spec"]["runState"] = json!(if *paused { "Paused" } else { "Running" });
        }
        task = serde_json::from_value(object.clone()).unwrap();
        kube.create("outboundtasks", NS, serde_json::to_value(&task).unwrap());
        script
            .must_run
            .insert(name(index as u8), run_state.map_or(*running, |paused| !paused));
    }
    if start.creates {
        let mut object = serde_json::to_value(support::task(&name(2), "main", "unused")).unwrap();
        object["spec"]["taskId"] = Value::Null;
        object["spec"]["runState"] = json!("Running");
        object["spec"]["task"]["name"] = json!(format!("created-{}", harness::uuid_like()));
        if start.older_namesake {
            // Listed as created long ago: never taken for the object's own.
            let older: OutboundTask = serde_json::from_value(object.clone()).unwrap();
            let mut older = older.clone();
            older.spec.task_id = Some(OLDER_NAMESAKE.into());
            harness::put_remote_task(sim, &older, 2, json!({}));
        }
        kube.create("outboundtasks", NS, object);
        script.must_run.insert(name(2), true);
    }
}

/// Whether no object holds a journal, or a create intent it is to resolve.
fn settled(kube: &FakeKube) -> bool {
    kube.list::<Value>("outboundtasks").iter().all(|o| {
        let hands_off = o["spec"]["mode"] == "Observe" || o["spec"]["suspend"] == true;
        o["status"]["operation"].is_null() && (o["status"]["createIntent"].is_null() || hands_off)
    })
}

/// Whether an object waits for a create's unknown outcome (its intent in status, in Enforce): it
/// may need the whole grace on the real clock.
fn awaiting_lookup(kube: &FakeKube) -> bool {
    kube.list::<Value>("outboundtasks").iter().any(|o| {
        let hands_off = o["spec"]["mode"] == "Observe" || o["spec"]["suspend"] == true;
        !o["status"]["createIntent"].is_null() && !hands_off
    })
}

/// What is not as the latest specs ask once the quiet reconciles are over.
fn as_asked(kube: &FakeKube, sim: &outbound_sim::SimHandle, script: &Script) -> Vec<String> {
    let mut wrong = Vec::new();
    for gone in &script.deleted {
        if let Some(object) = kube.get("outboundtasks", NS, gone) {
            wrong.push(format!("{gone} was deleted but is still there: {}", object["metadata"]));
        }
    }
    let created = sim
        .journal()
        .iter()
        .filter(|e| e.endpoint == "create" && e.http_status == Some(200))
        .count();
    if created > 1 {
        wrong.push(format!("{created} remote tasks created for one object"));
    }
    let objects: Vec<OutboundTask> = kube.list("outboundtasks");
    for task in &objects {
        let object = task.metadata.name.clone().unwrap_or_default();
        if script.deleted.contains(&object) {
            continue; // reported above
        }
        let status = task.status.clone().unwrap_or_default();
        let hands_off = task.spec.mode == outbound_api::Mode::Observe || task.spec.suspend;
        // A create intent stays while hands-off: the create may have gone through, and Enforce
        // again looks it up rather than create a second task.
        if status.operation.is_some() || (status.create_intent.is_some() && !hands_off) {
            wrong.push(format!("{object} left a journal or intent: {status:?}"));
        }
        if status.task_id.as_deref() == Some(OLDER_NAMESAKE) {
            wrong.push(format!("{object} took the older task of the same name for its own"));
        }
        let Some(id) = task.spec.task_id.clone().or(status.task_id.clone()) else {
            if !hands_off {
                wrong.push(format!("{object} has no remote task"));
            }
            continue;
        };
        let claimed_earlier = objects.iter().any(|other| {
            other.spec.task_id.as_deref() == Some(&id)
                && other.metadata.creation_timestamp < task.metadata.creation_timestamp
        });
        // A holder deleted with `deletionPolicy: Delete` took the campaign with it.
        let deleted_remotely = script.writes.iter().any(|w| w.endpoint == "delete" && w.task_id == id);
        if claimed_earlier || hands_off || deleted_remotely {
            continue;
        }
        let mut adopted = task.clone();
        adopted.spec.task_id = Some(id.clone());
        if !harness::remote_equals_spec(sim, &adopted) {
            wrong.push(format!("{object}: the campaign's settings are not the spec's"));
        }
        let running = sim.task(&id).is_some_and(|t| t.status != 1);
        match script.must_run.get(&object) {
            Some(must_run) if *must_run != running => wrong.push(format!(
                "{object}: campaign running: {running}; must run: {must_run} (runState, or as it ran before)"
            )),
            _ => {}
        }
    }
    wrong
}

proptest! {
    // 128 cases: 21 s alone on the 2-core machine (250 cases took 40 s).
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn people_and_faults_never_break_the_guarantees(
        start in model::start(),
        steps in proptest::collection::vec(model::step(), 1..10),
    ) {
        run(&start, &steps)?;
    }
}
