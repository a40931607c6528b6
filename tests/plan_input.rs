//! `outbound-operator plan`'s input: what the API server rejects, `plan` rejects, naming the
//! file, the object and the field (checked against the local API server too); `kind: List`,
//! subdirectories and standard input are read.

#[path = "support/plan_cli.rs"]
mod plan_cli;
mod support;

use outbound_api::OutboundTask;
use plan_cli::{args, demo_simulator, example, plan, run, write_examples};

/// A manifest the API server rejects: the file it is written to, its text, the error `plan`
/// prints (after the file's path), and what the API server's message names.
struct Bad {
    file: &'static str,
    text: String,
    plan_says: &'static str,
    server_says: &'static str,
}

/// Misspelt fields, a wrong apiVersion or kind, a schema pattern, the CRD's CEL rules.
fn bad_manifests(url: &str) -> Vec<Bad> {
    let two_lines = "limit: 1\n      - id: 29c39ec4-b292-4af9-a88b-922d61866a0b\n        limit: 1";
    vec![
        Bad {
            file: "typo.yaml",
            text: example("task-unified.yaml", url, &[("numberOrder:", "numberOrdr:")]),
            plan_says: "typo.yaml (document 1): OutboundTask default/unified-campaign: spec.task.numberOrdr: unknown field",
            server_says: ".spec.task.numberOrdr: field not declared in schema",
        },
        Bad {
            file: "typo-metadata.yaml",
            text: example(
                "task-multi-script.yaml",
                url,
                &[("metadata:", "metadata:\n  labelz: {team: a}")],
            ),
            plan_says: "typo-metadata.yaml (document 1): OutboundTask default/multi-script-campaign: metadata.labelz: unknown field",
            server_says: ".metadata.labelz: field not declared in schema",
        },
        Bad {
            file: "version.yaml",
            text: example("task-by-time.yaml", url, &[("outbound.dev/v1alpha1", "example.com/v9")]),
            plan_says: "version.yaml (document 1): OutboundTask default/by-time-campaign: apiVersion: \"example.com/v9\" is not outbound.dev/v1alpha1",
            server_says: "example.com/v9",
        },
        Bad {
            file: "kind.yaml",
            text: example("task-legacy.yaml", url, &[("kind: OutboundTask", "kind: OutboundTaks")]),
            plan_says: "kind.yaml (document 1): OutboundTaks default/legacy-campaign: kind: \"OutboundTaks\" is not a kind of outbound.dev",
            server_says: "OutboundTaks",
        },
        Bad {
            file: "uuid.yaml",
            text: example(
                "task-by-variable.yaml",
                url,
                &[("- id: d47c3599-f166-4cd0-999c-f60e46814d26", "- id: not-a-uuid")],
            ),
            plan_says: "uuid.yaml (document 1): OutboundTask default/spring-campaign: spec.task.lines[0].id: \"not-a-uuid\" does not match",
            server_says: "spec.task.lines[0].id",
        },
        Bad {
            file: "divisible.yaml",
            text: example(
                "task-unified.yaml",
                url,
                &[("maxConcurrency: 2", "maxConcurrency: 3"), ("limit: 2", two_lines)],
            ),
            plan_says: "divisible.yaml (document 1): OutboundTask default/unified-campaign: spec.task: spec.task.maxConcurrency must be divisible by the number of spec.task.lines",
            server_says: "spec.task.maxConcurrency must be divisible by the number of spec.task.lines",
        },
        Bad {
            file: "stop.yaml",
            text: example("task-by-time.yaml", url, &[("stopTime: \"2025", "stopTime: \"2020")]),
            plan_says: "stop.yaml (document 1): OutboundTask default/by-time-campaign: spec.task.schedule: spec.task.schedule.stopTime must be after spec.task.schedule.startTime",
            server_says: "spec.task.schedule.stopTime must be after spec.task.schedule.startTime",
        },
        Bad {
            file: "resync.yaml",
            text: example(
                "task-multi-script.yaml",
                url,
                &[("resyncInterval: 10m", "resyncInterval: 5s")],
            ),
            plan_says: "resync.yaml (document 1): OutboundTask default/multi-script-campaign: spec.resyncInterval: spec.resyncInterval must be at least 30s",
            server_says: "spec.resyncInterval must be at least 30s",
        },
    ]
}

/// What the API server rejects, `plan` rejects, naming the file, the object and the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_the_api_server_rejects_is_an_error_naming_file_object_and_field() {
    let sim = demo_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_examples(dir.path(), &sim.base_url(), |file| {
        matches!(file, "account.yaml" | "secret.yaml")
    });
    let bad = bad_manifests(&sim.base_url());
    for case in &bad {
        std::fs::write(dir.path().join(case.file), &case.text).unwrap();
    }
    let (code, text) = plan(dir.path(), "demo-token", false);
    assert_eq!(code, 1, "{text}");
    for case in &bad {
        let error = format!("error: {}/{}", dir.path().display(), case.plan_says);
        assert!(text.contains(&error), "{error}\nin:\n{text}");
    }
}

/// The same manifests, sent to the local API server with the generated CRDs installed (strict
/// server-side apply, dry run): each is rejected there too, for the same field or rule; and the
/// examples `plan` accepts, the API server accepts (tests/plan_cli.rs applies them).
#[tokio::test]
async fn the_api_server_rejects_what_plan_rejects() {
    let Some(client) = support::cluster().await else { return };
    support::ensure_crds(&client).await;
    let ns = support::test_namespace(&client, "plan-input").await;
    for case in bad_manifests("http://127.0.0.1:1") {
        let document: serde_json::Value = serde_yaml::from_str(&case.text).unwrap();
        let result = support::apply_json_strict::<OutboundTask>(&client, &ns, &document, true).await;
        let error = match result {
            Ok(_) => panic!("{}: the API server accepted what plan rejects", case.file),
            Err(error) => support::error_message(&error),
        };
        assert!(error.contains(case.server_says), "{}: {error}", case.file);
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
