//! Operating OutboundTasks with `kubectl outbound` against a real API server, the simulator and
//! the operator: `status` (text and JSON), `reconcile --wait` (Ready, and Stalled with its
//! reason), `suspend`/`resume` (and the warning for objects a GitOps tool manages).

#[path = "harness/mod.rs"]
mod harness;
#[path = "support/plugin_cli.rs"]
mod plugin_cli;
mod support;

use std::time::Duration;

use harness::{Operator, put_remote_task, setup, uuid_like};
use kube::api::{Patch, PatchParams};
use outbound_api::REQUESTED_AT;
use outbound_sim::{FaultConfig, SimEndpoint};
use plugin_cli::kubectl_outbound;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_each_task_and_its_account() {
    let Some(setup) = setup("plugin-status").await else {
        return;
    };
    let id = uuid_like();
    let task = support::task("campaign", "main", &id);
    put_remote_task(&setup.sim, &task, 2, json!({}));
    let _operator = Operator::start(&setup.ns, &[]);
    support::create_task(&setup.client, &setup.ns, &task).await;
    support::wait_for_condition(&setup.tasks, "campaign", "Ready", "True", WAIT).await;

    let (code, text, stderr) = kubectl_outbound(&["status", "-n", &setup.ns]);
    assert_eq!(code, 0, "{stderr}");
    let line = text
        .lines()
        .find(|l| l.contains("campaign"))
        .expect("a line for the task");
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        cells[..8],
        [
            setup.ns.as_str(),
            "campaign",
            "True",
            "True",
            "Running",
            "InSync",
            "0",
            "-"
        ],
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "account {}/main: 1 task(s), 0 paused by the operator now (max 50), resync reads 0.00/s of 10 requests/s",
            setup.ns
        )),
        "{text}"
    );
    let (code, json, _) = kubectl_outbound(&["status", "campaign", "-n", &setup.ns, "-o", "json"]);
    assert_eq!(code, 0);
    let report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["tasks"][0]["ready"], "True", "{report}");
    assert_eq!(report["tasks"][0]["runState"], "Running", "{report}");
    assert_eq!(report["accounts"][0]["tasks"], 1, "{report}");
    let (code, _, stderr) = kubectl_outbound(&["status", "nothing-here", "-n", &setup.ns]);
    assert_eq!((code, stderr.trim()), (1, "error: OutboundTask nothing-here not found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_wait_ends_ready_or_stalled_with_the_reason() {
    let Some(setup) = setup("plugin-reconcile").await else {
        return;
    };
    let id = uuid_like();
    let task = support::task("campaign", "main", &id);
    put_remote_task(&setup.sim, &task, 2, json!({}));
    // A task id the platform does not know: Stalled (TaskNotFound).
    let missing = support::task("missing", "main", &uuid_like());
    let _operator = Operator::start(&setup.ns, &[]);
    support::create_task(&setup.client, &setup.ns, &task).await;
    support::create_task(&setup.client, &setup.ns, &missing).await;
    support::wait_for_condition(&setup.tasks, "campaign", "Ready", "True", WAIT).await;
    setup.sim.clear_journal();
    // The requested read takes a while: `--wait` must wait for it, not take the Ready of before.
    let mut slow = FaultConfig::default();
    slow.endpoint_mut(SimEndpoint::Detail).latency_ms = 1500;
    setup.sim.set_faults(slow).unwrap();

    let (code, _, stderr) = kubectl_outbound(&["reconcile", "campaign", "-n", &setup.ns, "--wait", "--timeout", "60s"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.ends_with("campaign: Ready\n"), "{stderr}");
    let handled = setup.tasks.get("campaign").await.unwrap();
    let requested = handled.metadata.annotations.as_ref().unwrap()[REQUESTED_AT].clone();
    assert_eq!(
        handled.status.unwrap().last_handled_reconcile_at.as_deref(),
        Some(requested.as_str()),
        "the answer came after the operator handled this very request"
    );
    assert_eq!(
        harness::call_names(&setup.sim, &id),
        ["detail"],
        "the request read the task"
    );
    setup.sim.set_faults(FaultConfig::default()).unwrap();

    let (code, _, stderr) = kubectl_outbound(&["reconcile", "missing", "-n", &setup.ns, "--wait", "--timeout", "60s"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("missing: Stalled: TaskNotFound: "), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_and_resume_set_the_spec_and_warn_about_gitops_managers() {
    let Some(setup) = setup("plugin-suspend").await else {
        return;
    };
    // One object as Argo CD applies it, one as a person does.
    let mut gitops = support::task_json("from-git", "main", &uuid_like());
    gitops["metadata"]["namespace"] = setup.ns.clone().into();
    setup
        .tasks
        .patch(
            "from-git",
            &PatchParams::apply("argocd-controller"),
            &Patch::Apply(&gitops),
        )
        .await
        .unwrap();
    support::create_task(
        &setup.client,
        &setup.ns,
        &support::task("by-hand", "main", &uuid_like()),
    )
    .await;

    let (code, stdout, stderr) = kubectl_outbound(&["suspend", "from-git", "-n", &setup.ns]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, format!("{}/from-git suspended\n", setup.ns));
    assert!(
        stderr.contains("is managed by Argo CD: its next sync from Git sets spec.suspend back"),
        "{stderr}"
    );
    let (code, _, stderr) = kubectl_outbound(&["suspend", "by-hand", "-n", &setup.ns]);
    assert_eq!((code, stderr.as_str()), (0, ""), "no warning without a GitOps manager");
    for name in ["from-git", "by-hand"] {
        assert!(setup.tasks.get(name).await.unwrap().spec.suspend, "{name} suspended");
    }

    let (code, stdout, _) = kubectl_outbound(&["resume", "--all", "-n", &setup.ns]);
    assert_eq!(code, 0);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    for name in ["from-git", "by-hand"] {
        assert!(!setup.tasks.get(name).await.unwrap().spec.suspend, "{name} resumed");
    }
    let (code, _, stderr) = kubectl_outbound(&["suspend", "-n", &setup.ns]);
    assert_eq!(code, 1, "a name or --all is required: {stderr}");
}
