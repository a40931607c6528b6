//! `outbound-operator plan` end to end: against the simulator it shows the diff and exits 2; after
//! the operator (a real controller on the local API server) has synced the examples, it exits 0.

#[path = "harness/mod.rs"]
mod harness;
#[path = "support/plan_cli.rs"]
mod plan_cli;
mod support;

use std::path::Path;
use std::time::Duration;

use kube::api::Api;
use outbound_api::{OutboundAccount, OutboundTask};
use outbound_sim::{Fixtures, SimConfig, Simulator};
use plan_cli::{args, demo_simulator, example, plan, run, write_examples};

/// The example of a task the operator creates (no taskId).
const CREATE_EXAMPLE: &str = "task-create.yaml";

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
    apply_dir(&client, &ns, dir.path()).await;
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

/// Applies every manifest in `dir` to namespace `ns` (strict server-side apply).
async fn apply_dir(client: &kube::Client, ns: &str, dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        for document in support::yaml_documents(&entry.unwrap().path()) {
            let result = match document["kind"].as_str() {
                Some("Secret") => {
                    support::apply_json_strict::<k8s_openapi::api::core::v1::Secret>(client, ns, &document, false).await
                }
                Some("OutboundAccount") => {
                    support::apply_json_strict::<OutboundAccount>(client, ns, &document, false).await
                }
                Some("OutboundTask") => support::apply_json_strict::<OutboundTask>(client, ns, &document, false).await,
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
}

/// `plan` and the operator in Observe mode report the same drift: the planner decides both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_and_observe_mode_report_the_same_drift() {
    let Some(client) = support::cluster().await else { return };
    support::ensure_crds(&client).await;
    let sim = demo_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_examples(dir.path(), &sim.base_url(), |file| {
        matches!(file, "account.yaml" | "secret.yaml")
    });
    let task = example(
        "task-unified.yaml",
        &sim.base_url(),
        &[("mode: Enforce", "mode: Observe")],
    );
    std::fs::write(dir.path().join("task.yaml"), task).unwrap();
    let ns = support::test_namespace(&client, "plan-observe").await;
    let _operator = harness::Operator::start(&ns, &[]);
    apply_dir(&client, &ns, dir.path()).await;
    let tasks: Api<OutboundTask> = Api::namespaced(client.clone(), &ns);
    let observed = support::wait_for(
        &tasks,
        "unified-campaign",
        Duration::from_secs(60),
        "drift reported",
        |t| t.status.as_ref().is_some_and(|s| !s.drift.is_empty()),
    )
    .await;
    let mut in_status: Vec<String> = observed.status.unwrap().drift.into_iter().map(|d| d.field).collect();

    let (code, json) = plan(dir.path(), "demo-token", true);
    assert_eq!(code, 0, "Observe drift alone: {json}");
    let plans: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        (plans[0]["drifted"].as_bool(), plans[0]["changes"].as_bool()),
        (Some(true), Some(false))
    );
    let mut in_plan: Vec<String> = plans[0]["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap().to_string())
        .collect();
    in_status.sort();
    in_plan.sort();
    assert_eq!(in_plan, in_status);
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

/// The gate's contract: 0 no change, 2 changes, 1 anything wrong, including how it was called
/// (clap's own code for a usage error is 2, which a pipeline would read as "changes").
#[test]
fn usage_errors_exit_1_and_help_exits_0_with_the_exit_codes() {
    for bad in [
        args(&["plan"]),
        args(&["plan", "-f", "x.yaml", "--detailed"]),
        args(&["plan", "-f", "x.yaml", "-o", "yaml"]),
        args(&["plna"]),
        args(&[]),
    ] {
        let (code, _, text) = run(&bad, Some("t"), None);
        assert_eq!(code, 1, "{bad:?}: {text}");
        assert!(text.contains("error") || text.contains("Usage"), "{bad:?}: {text}");
    }
    let (code, text, _) = run(&args(&["plan", "--help"]), None, None);
    assert_eq!(code, 0, "{text}");
    for line in ["0  ", "1  ", "2  "] {
        assert!(text.contains(line), "the exit codes in --help: {text}");
    }
    let (code, _, _) = run(&args(&["--version"]), None, None);
    assert_eq!(code, 0);
}

/// Observe drift is reported, but the operator would change nothing: not a change (exit 0).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observe_drift_is_reported_and_is_not_a_change() {
    let sim = demo_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_examples(dir.path(), &sim.base_url(), |file| matches!(file, "account.yaml"));
    let task = example(
        "task-unified.yaml",
        &sim.base_url(),
        &[("mode: Enforce", "mode: Observe")],
    );
    std::fs::write(dir.path().join("task.yaml"), task).unwrap();

    let (code, text) = plan(dir.path(), "demo-token", false);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("~ spec.task.name"), "{text}");
    assert!(text.contains("verdict: Drifted"), "{text}");
    assert!(
        text.contains("1 task(s): 0 to change, 1 drifted (Observe), 0 with errors"),
        "{text}"
    );
    let (code, json) = plan(dir.path(), "demo-token", true);
    assert_eq!(code, 0, "{json}");
    let plans: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(plans[0]["changes"], false, "{json}");
    assert_eq!(plans[0]["drifted"], true, "{json}");
}

/// Each account gets its own token; an account without a usable one (or a task without an
/// account) is an error for its tasks only: the others are planned (exit 1 overall).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_account_does_not_stop_the_others() {
    let sim = demo_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let url = sim.base_url();
    write_examples(dir.path(), &url, |file| file == "account.yaml");
    let other = example("account.yaml", &url, &[("name: main", "name: other")]);
    std::fs::write(dir.path().join("other.yaml"), other).unwrap();
    std::fs::write(dir.path().join("unified.yaml"), example("task-unified.yaml", &url, &[])).unwrap();
    let by_other = example("task-by-time.yaml", &url, &[("name: main", "name: other")]);
    std::fs::write(dir.path().join("by-time.yaml"), by_other).unwrap();
    let tokens = tempfile::tempdir().unwrap();
    let token_file = tokens.path().join("token");
    std::fs::write(&token_file, "demo-token\n").unwrap();
    let dir_arg = dir.path().display().to_string();
    let missing = format!("default/other={}", tokens.path().join("missing").display());

    let (code, text, stderr) = run(
        &args(&["plan", "-f", &dir_arg, "--account-token-file", &missing]),
        Some("demo-token"),
        None,
    );
    assert_eq!(code, 1, "{text}{stderr}");
    assert!(
        text.contains("actions: pause, update, resume"),
        "main's task is planned: {text}"
    );
    assert!(text.contains("OutboundTask default/by-time-campaign"), "{text}");
    assert!(
        text.contains("error: OutboundAccount default/other: reading --account-token-file"),
        "{text}"
    );
    assert!(
        text.contains("2 task(s): 1 to change, 0 drifted (Observe), 1 with errors"),
        "{text}"
    );

    // Without OUTBOUND_TOKEN: main's from --token-file, other's from its own file: both planned.
    let own = format!("other={}", token_file.display());
    let token_arg = token_file.display().to_string();
    let (code, text, stderr) = run(
        &args(&[
            "plan",
            "-f",
            &dir_arg,
            "--token-file",
            &token_arg,
            "--account-token-file",
            &own,
        ]),
        None,
        None,
    );
    assert_eq!(code, 2, "{text}{stderr}");
    assert!(
        text.contains("2 task(s): 2 to change, 0 drifted (Observe), 0 with errors"),
        "{text}"
    );
    assert!(
        !text.contains("demo-token") && !stderr.contains("demo-token"),
        "never the token"
    );

    // A task whose account is not given: its error, the others planned.
    let orphan = example("task-legacy.yaml", &url, &[("name: main", "name: absent")]);
    std::fs::write(dir.path().join("legacy.yaml"), orphan).unwrap();
    let (code, text, _) = run(&args(&["plan", "-f", &dir_arg, "--token-file", &token_arg]), None, None);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("error: spec.accountRef.name \"absent\" names no OutboundAccount in the given manifests"),
        "{text}"
    );
    assert!(
        text.contains("3 task(s): 2 to change, 0 drifted (Observe), 1 with errors"),
        "{text}"
    );
}

/// Values are never cut: a list that differs beyond the first 60 characters is shown whole, in
/// text and in JSON (as JSON values).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_are_shown_whole() {
    let sim = demo_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let url = sim.base_url();
    write_examples(dir.path(), &url, |file| file == "account.yaml");
    let two_lines = "limit: 1\n      - id: 29c39ec4-b292-4af9-a88b-922d61866a0b\n        limit: 1";
    let task = example("task-unified.yaml", &url, &[("limit: 2", two_lines)]);
    std::fs::write(dir.path().join("task.yaml"), task).unwrap();
    // Normalised: lines in id order.
    let desired = r#"[{"id":"29c39ec4-b292-4af9-a88b-922d61866a0b","limit":1},{"id":"d47c3599-f166-4cd0-999c-f60e46814d26","limit":1}]"#;

    let (code, text) = plan(dir.path(), "demo-token", false);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains(&format!("-> {desired}")), "{text}");
    assert!(!text.contains('…'), "{text}");
    let (_, json) = plan(dir.path(), "demo-token", true);
    let plans: serde_json::Value = serde_json::from_str(&json).unwrap();
    let lines = plans[0]["differences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["field"] == "spec.task.lines")
        .unwrap_or_else(|| panic!("{json}"));
    assert_eq!(
        lines["desired"],
        serde_json::from_str::<serde_json::Value>(desired).unwrap()
    );
}
