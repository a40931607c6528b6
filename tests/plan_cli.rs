//! `outbound-operator plan` end to end: against the simulator it shows the diff and exits 2; after
//! the operator (a real controller on the local API server) has synced the examples, it exits 0.

#[path = "harness/mod.rs"]
mod harness;
mod support;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use kube::api::Api;
use outbound_api::{OutboundAccount, OutboundTask};
use outbound_sim::{Fixtures, SimConfig, SimHandle, Simulator};

/// The example of a task the operator creates (no taskId).
const CREATE_EXAMPLE: &str = "task-create.yaml";

/// The examples `keep` selects by file name, with the account pointing at this test's simulator.
fn write_examples(dir: &Path, base_url: &str, keep: impl Fn(&str) -> bool) {
    for entry in std::fs::read_dir(support::repo_root().join("manifests/examples")).unwrap() {
        let path = entry.unwrap().path();
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
    let mut args = vec!["plan".to_string(), "-f".into(), dir.display().to_string()];
    if json {
        args.extend(["--output".into(), "json".into()]);
    }
    let (code, stdout, stderr) = run(&args, Some(token), None);
    // JSON on stdout only; messages (errors, what was skipped) go to stderr.
    (code, if json { stdout } else { stdout + &stderr })
}

/// Runs the binary with `args` (and `stdin`), OUTBOUND_TOKEN set to `token`: its exit code, stdout
/// and stderr.
fn run(args: &[String], token: Option<&str>, stdin: Option<&str>) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_outbound-operator"));
    command.args(args).env_remove("OUTBOUND_TOKEN");
    if let Some(token) = token {
        command.env("OUTBOUND_TOKEN", token);
    }
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("plan runs");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default().as_bytes()).unwrap();
    drop(input);
    let output = child.wait_with_output().unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).to_string();
    (
        output.status.code().unwrap_or(-1),
        text(&output.stdout),
        text(&output.stderr),
    )
}

fn args(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// An example manifest's text, pointed at `base_url`, with each `(from, to)` replaced once.
fn example(file: &str, base_url: &str, edits: &[(&str, &str)]) -> String {
    let mut text = std::fs::read_to_string(support::repo_root().join("manifests/examples").join(file))
        .unwrap()
        .replace("http://127.0.0.1:18080", base_url);
    for (from, to) in edits {
        assert!(text.contains(from), "{from:?} in {file}");
        text = text.replacen(from, to, 1);
    }
    text
}

async fn demo_simulator() -> SimHandle {
    let fixtures = Fixtures::load(&support::repo_root().join("scripts/demo/fixtures.yaml")).unwrap();
    Simulator::start(SimConfig::new("demo-token", fixtures)).await.unwrap()
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

/// What the API server rejects, `plan` rejects, naming the file, the object and the field:
/// misspelt fields, a wrong apiVersion or kind, schema patterns and the CRD's CEL rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_the_api_server_rejects_is_an_error_naming_file_object_and_field() {
    let sim = demo_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_examples(dir.path(), &sim.base_url(), |file| {
        matches!(file, "account.yaml" | "secret.yaml")
    });
    let url = sim.base_url();
    let cases: [(&str, String, &str); 7] = [
        (
            "typo.yaml",
            example(
                "task-unified.yaml",
                &url,
                &[("numberOrder:", "numberOrdr:"), ("resyncInterval:", "resyncIntervall:")],
            ),
            "typo.yaml (document 1): OutboundTask default/unified-campaign: spec.task.numberOrdr: unknown field",
        ),
        (
            "version.yaml",
            example(
                "task-by-time.yaml",
                &url,
                &[("outbound.dev/v1alpha1", "example.com/v9")],
            ),
            "version.yaml (document 1): OutboundTask default/by-time-campaign: apiVersion: \"example.com/v9\" is not outbound.dev/v1alpha1",
        ),
        (
            "kind.yaml",
            example(
                "task-legacy.yaml",
                &url,
                &[("kind: OutboundTask", "kind: OutboundTaks")],
            ),
            "kind.yaml (document 1): OutboundTaks default/legacy-campaign: kind: \"OutboundTaks\" is not a kind of outbound.dev",
        ),
        (
            "uuid.yaml",
            example(
                "task-by-variable.yaml",
                &url,
                &[("- id: d47c3599-f166-4cd0-999c-f60e46814d26", "- id: not-a-uuid")],
            ),
            "uuid.yaml (document 1): OutboundTask default/spring-campaign: spec.task.lines[0].id: \"not-a-uuid\" does not match",
        ),
        (
            "divisible.yaml",
            example(
                "task-unified.yaml",
                &url,
                &[
                    ("maxConcurrency: 2", "maxConcurrency: 3"),
                    (
                        "limit: 2",
                        "limit: 1\n      - id: 29c39ec4-b292-4af9-a88b-922d61866a0b\n        limit: 1",
                    ),
                ],
            ),
            "divisible.yaml (document 1): OutboundTask default/unified-campaign: spec.task: spec.task.maxConcurrency must be divisible by the number of spec.task.lines",
        ),
        (
            "stop.yaml",
            example("task-by-time.yaml", &url, &[("stopTime: \"2025", "stopTime: \"2020")]),
            "stop.yaml (document 1): OutboundTask default/by-time-campaign: spec.task.schedule: spec.task.schedule.stopTime must be after spec.task.schedule.startTime",
        ),
        (
            "resync.yaml",
            example(
                "task-multi-script.yaml",
                &url,
                &[("resyncInterval: 10m", "resyncInterval: 5s")],
            ),
            "resync.yaml (document 1): OutboundTask default/multi-script-campaign: spec.resyncInterval: spec.resyncInterval must be at least 30s",
        ),
    ];
    for (file, text, _) in &cases {
        std::fs::write(dir.path().join(file), text).unwrap();
    }
    let (code, text) = plan(dir.path(), "demo-token", false);
    assert_eq!(code, 1, "{text}");
    for (_, _, error) in &cases {
        assert!(
            text.contains(&format!("error: {}{error}", dir.path().display().to_string() + "/")),
            "{error}\nin:\n{text}"
        );
    }
}

/// `kind: List`, subdirectories and standard input are read; what is not ours is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_subdirectories_and_standard_input_are_read() {
    let sim = demo_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let url = sim.base_url();
    write_examples(dir.path(), &url, |file| matches!(file, "account.yaml" | "secret.yaml"));
    std::fs::create_dir_all(dir.path().join("team-a")).unwrap();
    std::fs::write(
        dir.path().join("team-a/task.yaml"),
        example("task-unified.yaml", &url, &[]),
    )
    .unwrap();
    std::fs::write(dir.path().join("team-a/README.md"), "not a manifest").unwrap();
    let item = |file: &str| serde_yaml::from_str::<serde_json::Value>(&example(file, &url, &[])).unwrap();
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List",
        "items": [item("task-by-time.yaml"), item("task-legacy.yaml")]});
    std::fs::write(dir.path().join("list.yaml"), serde_yaml::to_string(&list).unwrap()).unwrap();

    let stdin = example("task-by-variable.yaml", &url, &[]);
    let dir_arg = dir.path().display().to_string();
    let (code, json, stderr) = run(
        &args(&["plan", "-f", &dir_arg, "-f", "-", "-o", "json"]),
        Some("demo-token"),
        Some(&stdin),
    );
    assert_eq!(code, 2, "{json}{stderr}");
    let plans: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}{stderr}"));
    let mut names: Vec<&str> = plans
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["task"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "default/by-time-campaign",
            "default/legacy-campaign",
            "default/spring-campaign",
            "default/unified-campaign"
        ]
    );
    assert!(
        stderr.contains(
            "skipped: documents of other kinds (1 Secret); 1 file(s) without a .yaml, .yml or .json extension"
        ),
        "{stderr}"
    );
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
