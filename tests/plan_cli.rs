//! `outbound-operator plan` end to end: against the simulator it shows the diff and exits 2; after
//! the operator (a real controller on the local API server) has synced the examples, it exits 0.

#[path = "harness/mod.rs"]
mod harness;
mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use kube::api::Api;
use outbound_api::{OutboundAccount, OutboundTask};
use outbound_sim::{Fixtures, SimConfig, Simulator};

/// The example of a task the operator creates (no taskId).
const CREATE_EXAMPLE: &str = "task-create.yaml";

/// The examples `keep` selects by file name, with the account pointing at this test's simulator.
fn write_examples(dir: &Path, base_url: &str, keep: impl Fn(&str) -> bool) {
    let examples = support::repo_root().join("manifests/examples");
    let simulator = std::fs::read_dir(examples.join("simulator")).unwrap();
    for entry in std::fs::read_dir(&examples).unwrap().chain(simulator) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            continue;
        }
        if !keep(&path.file_name().unwrap().to_string_lossy()) {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("http://127.0.0.1:18080", base_url);
        std::fs::write(dir.join(path.file_name().unwrap()), text).unwrap();
    }
}

fn plan(dir: &Path, token: &str, json: bool) -> (i32, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_outbound-operator"));
    command.args(["plan", "-f"]).arg(dir).env("OUTBOUND_TOKEN", token);
    if json {
        command.args(["--output", "json"]);
    }
    let output = command.output().expect("plan runs");
    let text = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().unwrap_or(-1), text)
}

// Multi-threaded: `plan` runs as a blocking child process while this runtime serves the simulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_shows_the_diff_then_nothing_once_the_operator_synced() {
    let Some(client) = support::cluster().await else { return };
    support::ensure_crds(&client).await;
    let fixtures = Fixtures::load(&support::repo_root().join("scripts/demo/fixtures.yaml")).unwrap();
    let sim = Simulator::start(SimConfig::new("demo-token", fixtures)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Without the created task: `plan` cannot see a cluster's status, so a manifest without
    // taskId always plans a create (tested below).
    write_examples(dir.path(), &sim.base_url(), |file| file != CREATE_EXAMPLE);

    let (code, text) = plan(dir.path(), "demo-token", false);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("~ spec.task.name"), "{text}");
    assert!(text.contains("actions: pause, update, resume"), "{text}");
    let (code, json) = plan(dir.path(), "demo-token", true);
    assert_eq!(code, 2, "{json}");
    let plans: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(plans.as_array().unwrap().len(), 5, "one plan per example task");
    assert!(
        sim.journal().iter().all(|e| e.endpoint == "detail"),
        "plan never writes"
    );

    let (code, text) = plan(dir.path(), "wrong-token", false);
    assert_eq!(code, 1, "errors exit 1: {text}");
    assert!(!text.contains("wrong-token"), "the token is never printed");

    // The operator syncs the same manifests; then there is nothing left to plan.
    let ns = support::test_namespace(&client, "plan").await;
    let _operator = harness::Operator::start(&ns, &[]);
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        for document in support::yaml_documents(&entry.unwrap().path()) {
            let result = match document["kind"].as_str() {
                Some("Secret") => {
                    support::apply_json_strict::<k8s_openapi::api::core::v1::Secret>(&client, &ns, &document, false)
                        .await
                }
                Some("OutboundAccount") => {
                    support::apply_json_strict::<OutboundAccount>(&client, &ns, &document, false).await
                }
                Some("OutboundTask") => {
                    support::apply_json_strict::<OutboundTask>(&client, &ns, &document, false).await
                }
                other => panic!("unexpected example kind {other:?}"),
            };
            result.unwrap_or_else(|e| {
                panic!(
                    "applying {}: {}",
                    document["metadata"]["name"],
                    support::error_message(&e)
                )
            });
        }
    }
    let tasks: Api<OutboundTask> = Api::namespaced(client.clone(), &ns);
    for name in [
        "unified-campaign",
        "by-time-campaign",
        "spring-campaign",
        "multi-script-campaign",
        "legacy-campaign",
    ] {
        support::wait_for_condition(&tasks, name, "Ready", "True", Duration::from_secs(90)).await;
    }
    let accounts: Api<OutboundAccount> = Api::namespaced(client.clone(), &ns);
    support::wait_for_condition(&accounts, "main", "Ready", "True", Duration::from_secs(30)).await;
    let (code, text) = plan(dir.path(), "demo-token", false);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("0 to change"), "{text}");
}

/// A manifest without taskId plans a create (exit 2) and `plan` never creates: it makes no call
/// at all for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_shows_a_create_for_a_manifest_without_task_id_and_never_creates() {
    let sim = Simulator::start(SimConfig::new("demo-token", Fixtures::default()))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_examples(dir.path(), &sim.base_url(), |file| {
        matches!(file, CREATE_EXAMPLE | "account.yaml" | "secret.yaml")
    });

    let (code, text) = plan(dir.path(), "demo-token", false);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("(task to be created)"), "{text}");
    assert!(text.contains("actions: create"), "{text}");
    let (code, json) = plan(dir.path(), "demo-token", true);
    assert_eq!(code, 2, "{json}");
    let plans: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(plans[0]["taskId"], serde_json::Value::Null);
    assert_eq!(plans[0]["actions"], serde_json::json!(["create"]));
    assert!(sim.journal().is_empty(), "plan never creates: {:?}", sim.journal());
    assert!(sim.task_ids().is_empty());
}
