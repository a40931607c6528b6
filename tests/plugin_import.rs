//! `kubectl outbound import` end to end: a mixed account on the simulator is imported, the output
//! is applied as printed to a real API server, and the operator then adopts every campaign with
//! reads only (no pause, update, resume or run-state change) and every object turns Ready.

#[path = "harness/mod.rs"]
mod harness;
#[path = "support/plugin_cli.rs"]
mod plugin_cli;
mod support;

use std::time::Duration;

use harness::{Operator, setup};
use plugin_cli::{SUB_USER_ID, apply_documents, kubectl_outbound, mixed_account};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(90);

// Multi-threaded: the plugin runs as a blocking child process while this runtime serves the
// simulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_account_is_adopted_with_reads_only_and_every_task_ready() {
    let Some(setup) = setup("import").await else { return };
    let remote = mixed_account(&setup.sim);
    let before: Vec<(Value, u8)> = remote
        .iter()
        .map(|t| {
            let stored = setup.sim.task(&t.id).unwrap();
            (stored.config, stored.status)
        })
        .collect();

    let (code, main, stderr) = kubectl_outbound(&["import", "--account", "main", "-n", &setup.ns]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("imported 8 of 8 task(s)"), "{stderr}");
    assert!(
        !main.contains(&setup.token) && !stderr.contains(&setup.token),
        "no token"
    );
    let odd = remote.iter().find(|t| t.name == "Odd end").unwrap();
    assert!(
        stderr.contains(&format!(
            "odd-end ({}): spec.task.endAction: the platform's value 7 cannot be expressed",
            odd.id
        )),
        "a setting the API cannot hold is reported: {stderr}"
    );
    let old = remote.iter().find(|t| t.name == "老客户回访").unwrap();
    let old_name = format!("task-{}", &old.id[..8]);
    assert!(
        stderr.contains(&format!(
            "{old_name} ({}): spec.task.lines: the platform reports no per-line limit",
            old.id
        )),
        "{stderr}"
    );
    let (code, sub, stderr) = kubectl_outbound(&[
        "import",
        "--account",
        "main",
        "-n",
        &setup.ns,
        "--sub-user-id",
        SUB_USER_ID,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(sub.contains(&format!("subUserId: {SUB_USER_ID}")), "{sub}");

    let mut names = apply_documents(&setup.client, &setup.ns, &main).await;
    names.extend(apply_documents(&setup.client, &setup.ns, &sub).await);
    let promos: Vec<String> = remote
        .iter()
        .filter(|t| t.name == "Promo")
        .map(|t| format!("promo-{}", &t.id[..8]))
        .collect();
    let mut expected: Vec<String> = ["by-time", "by-variable", "multi-script", "odd-end", "unified-spring"]
        .into_iter()
        .map(String::from)
        .chain(promos)
        .chain([old_name, "sub-account".into()])
        .collect();
    expected.sort();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, expected);

    setup.sim.clear_journal();
    let _operator = Operator::start(&setup.ns, &[]);
    for name in &names {
        support::wait_for_condition(&setup.tasks, name, "Ready", "True", WAIT).await;
    }
    let calls: Vec<String> = setup.sim.journal().into_iter().map(|e| e.endpoint).collect();
    assert!(
        calls.len() >= names.len() && calls.iter().all(|c| c == "detail"),
        "adoption only reads: {calls:?}"
    );
    for (task, (config, status)) in remote.iter().zip(before) {
        let stored = setup.sim.task(&task.id).unwrap();
        assert_eq!(
            (stored.config, stored.status),
            (config, status),
            "{} unchanged",
            task.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_the_api_cannot_hold_is_listed_with_its_reason_and_the_exit_code_says_so() {
    let sim = harness::simulator("tok-import-flags").await;
    let tasks = mixed_account(&sim);
    let promo = tasks.iter().find(|t| t.name == "Promo" && t.status == 2).unwrap();
    // Three calls at once over two lines: the CRD requires maxConcurrency divisible by the lines.
    sim.patch_task_config(
        &promo.id,
        serde_json::json!({"maximumcall": 3, "task_extras": {"line": [
            {"id": support::LINE_ID, "limit": 2}, {"id": "0b0e9f4c-7a7e-4c55-8d2f-5f0e1a2b3c4d", "limit": 1}
        ]}}),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "tok-import-flags\n").unwrap();
    let out = dir.path().join("campaigns");
    let (code, stdout, stderr) = kubectl_outbound(&[
        "import",
        "--base-url",
        &sim.base_url(),
        "--user-id",
        support::USER_ID,
        "--token-file",
        token_file.to_str().unwrap(),
        "--output-dir",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("imported 7 of 8 task(s)"), "{stderr}");
    assert!(
        stderr.contains(&format!("not imported:\n  {} (\"Promo\"): spec.task: spec.task.maxConcurrency must be divisible by the number of spec.task.lines", promo.id)),
        "{stderr}"
    );
    let kustomization = std::fs::read_to_string(out.join("kustomization.yaml")).unwrap();
    let files = std::fs::read_dir(&out).unwrap().count();
    assert_eq!(files, 8, "seven tasks and the kustomization");
    assert!(kustomization.contains("- by-time.yaml"), "{kustomization}");
    // Names are given over every listed task: the other "Promo" keeps its suffix.
    let other = tasks.iter().find(|t| t.name == "Promo" && t.status == 1).unwrap();
    assert!(out.join(format!("promo-{}.yaml", &other.id[..8])).exists());
    let calls: Vec<String> = sim.journal().into_iter().map(|e| e.endpoint).collect();
    assert!(
        calls.iter().all(|c| c == "list" || c == "detail"),
        "import only reads: {calls:?}"
    );
}
