//! `kubectl outbound plan --cluster` against the API server, the simulator and the operator: a
//! manifest without `taskId` whose object the operator created plans no create (the cluster's
//! `status.taskId` is used), accounts and tokens come from the cluster, objects the files no
//! longer hold are listed, and `-o markdown` is what tests/fixtures/plugin/plan.md holds.

#[path = "harness/mod.rs"]
mod harness;
#[path = "support/plugin_cli.rs"]
mod plugin_cli;
mod support;

use std::time::Duration;

use harness::{Operator, put_remote_task, setup};
use outbound_api::DeletionPolicy;
use plugin_cli::kubectl_outbound;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);
/// The adopted task's id (fixed, for the golden file).
const ADOPTED_ID: &str = "0f3b6c1e-5a4d-4e2b-9c7f-1d2e3f4a5b6c";
/// Set to 1 to rewrite the golden file from this run's output.
const UPDATE_ENV: &str = "OUTBOUND_UPDATE_GOLDEN";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_with_the_cluster_plans_no_false_create_and_its_markdown_is_the_golden_file() {
    let Some(setup) = setup("plugin-plan").await else {
        return;
    };
    let mut created = support::task("created", "main", ADOPTED_ID);
    created.spec.task_id = None;
    created.spec.task.name = "created-campaign".into();
    let adopted = support::task("adopted", "main", ADOPTED_ID);
    put_remote_task(&setup.sim, &adopted, 2, json!({}));
    let mut gone = support::task("gone", "main", &harness::uuid_like());
    gone.spec.deletion_policy = DeletionPolicy::Pause;
    gone.spec.suspend = true;
    let _operator = Operator::start(&setup.ns, &[]);
    for task in [&created, &adopted, &gone] {
        support::create_task(&setup.client, &setup.ns, task).await;
    }
    for name in ["created", "adopted"] {
        support::wait_for_condition(&setup.tasks, name, "Ready", "True", WAIT).await;
    }
    let created_id = setup
        .tasks
        .get("created")
        .await
        .unwrap()
        .status
        .unwrap()
        .task_id
        .unwrap();

    // The files: both tasks, no account (it is in the cluster), the created one with a new remark.
    let dir = tempfile::tempdir().unwrap();
    let mut changed = created.clone();
    changed.spec.task.remark = Some("from Git".into());
    for (file, task) in [("created.yaml", &changed), ("adopted.yaml", &adopted)] {
        let mut object = serde_json::to_value(task).unwrap();
        object["metadata"] = json!({"name": task.metadata.name});
        std::fs::write(dir.path().join(file), serde_yaml::to_string(&object).unwrap()).unwrap();
    }
    let files = dir.path().to_str().unwrap();

    let (code, markdown, stderr) =
        kubectl_outbound(&["plan", "-n", &setup.ns, "-f", files, "--cluster", "-o", "markdown"]);
    assert_eq!(code, 2, "changes: {markdown}{stderr}");
    let markdown = markdown
        .replace(&setup.ns, "NAMESPACE")
        .replace(&created_id, "CREATED-TASK-ID");
    let golden = support::repo_root().join("tests/fixtures/plugin/plan.md");
    if std::env::var(UPDATE_ENV).is_ok_and(|v| v == "1") {
        std::fs::write(&golden, &markdown).unwrap();
    }
    assert_eq!(
        markdown,
        std::fs::read_to_string(&golden).unwrap(),
        "{UPDATE_ENV}=1 rewrites it"
    );

    // Without the cluster, the same files plan a create (and need the account and a token).
    let (code, text, _) = kubectl_outbound(&["plan", "-f", files]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("names no OutboundAccount in the given manifests"),
        "{text}"
    );
    assert!(
        setup.sim.journal().iter().all(|e| e.endpoint != "update"),
        "plan never writes"
    );
}
