//! The alerts (manifests/monitoring/alerts.yaml) and the Grafana dashboard
//! (manifests/monitoring/dashboard.json) name only metrics that the operator exports: compared
//! with a scrape of `/metrics` from the operator binary, run with leader election against the
//! local control plane and the platform simulator, after it has reconciled a task.
//! (That the queries parse is checked with promtool by scripts/test-monitoring.sh.)

#[path = "harness/mod.rs"]
mod harness;
mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use harness::{Operator, put_remote_task};
use kube::api::Api;
use outbound_api::{OutboundAccount, OutboundTask};
use serde_json::{Value, json};
use support::wait_for_condition;

const WAIT: Duration = Duration::from_secs(60);

/// Every query of the dashboard and every alert expression, with where it comes from.
fn queries() -> Vec<(String, String)> {
    let root = support::repo_root().join("manifests/monitoring");
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("dashboard.json")).unwrap()).unwrap();
    let mut queries = Vec::new();
    let mut panels: Vec<&Value> = dashboard["panels"].as_array().unwrap().iter().collect();
    while let Some(panel) = panels.pop() {
        panels.extend(panel["panels"].as_array().into_iter().flatten());
        for target in panel["targets"].as_array().into_iter().flatten() {
            let title = panel["title"].as_str().unwrap();
            queries.push((
                format!("dashboard panel {title:?}"),
                target["expr"].as_str().unwrap().to_string(),
            ));
        }
    }
    let alerts: Value = serde_yaml::from_str(&std::fs::read_to_string(root.join("alerts.yaml")).unwrap()).unwrap();
    for rule in alerts["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
    {
        let name = rule["alert"].as_str().unwrap();
        queries.push((format!("alert {name}"), rule["expr"].as_str().unwrap().to_string()));
    }
    queries
}

/// The operator's metric names in a query: identifiers that start with `outbound_` (every metric
/// of the operator does; label names and functions never do).
fn metric_names(query: &str) -> BTreeSet<String> {
    query
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|word| word.starts_with("outbound_"))
        .map(str::to_string)
        .collect()
}

/// Names a query may use for what the scrape holds: each sample's name, and for each family in
/// a `# TYPE` line the names Prometheus gives its series (a family without samples yet counts).
fn exported_names(scrape: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in scrape.lines() {
        if let Some(declared) = line.strip_prefix("# TYPE ") {
            let mut parts = declared.split_whitespace();
            let (Some(family), Some(kind)) = (parts.next(), parts.next()) else {
                continue;
            };
            let suffixes: &[&str] = match kind {
                "counter" => &["_total"],
                "histogram" => &["_bucket", "_count", "_sum"],
                _ => &[""],
            };
            names.extend(suffixes.iter().map(|suffix| format!("{family}{suffix}")));
        } else if !line.starts_with('#') && !line.is_empty() {
            let name = line.split(['{', ' ']).next().unwrap_or_default();
            names.insert(name.to_string());
        }
    }
    names
}

#[test]
fn metric_names_are_read_from_queries_and_scrapes() {
    assert_eq!(
        metric_names(r#"sum by (le) (rate(outbound_a_bucket{result="x"}[5m])) / on (account) outbound_b"#),
        BTreeSet::from(["outbound_a_bucket".to_string(), "outbound_b".to_string()])
    );
    let scrape = "# TYPE outbound_c counter\n# TYPE outbound_h histogram\noutbound_g{a=\"b\"} 1\n# EOF\n";
    let names = exported_names(scrape);
    for name in [
        "outbound_c_total",
        "outbound_h_bucket",
        "outbound_h_count",
        "outbound_g",
    ] {
        assert!(names.contains(name), "{name}: {names:?}");
    }
    assert!(!names.contains("outbound_c"), "{names:?}");
}

#[tokio::test]
async fn dashboard_and_alerts_name_only_metrics_the_operator_exports() {
    let Some(harness::Setup { client, ns, sim, .. }) = harness::setup("monitoring").await else {
        return;
    };
    let mut task = support::task("campaign", "main", &harness::uuid_like());
    task.spec.resync_interval = "30s".into();
    put_remote_task(&sim, &task, 2, json!({"maximumcall": 1}));
    let lease_args = [
        "--leader-elect",
        "--leader-election-namespace",
        &ns,
        "--leader-election-id",
        "monitoring",
    ];
    let operator = Operator::start(&ns, &lease_args);
    support::create_task(&client, &ns, &task).await;
    wait_for_condition(
        &Api::<OutboundTask>::namespaced(client.clone(), &ns),
        "campaign",
        "Ready",
        "True",
        WAIT,
    )
    .await;
    let accounts: Api<OutboundAccount> = Api::namespaced(client.clone(), &ns);
    wait_for_condition(&accounts, "main", "Ready", "True", WAIT).await;

    // The fleet metrics are read from the caches at scrape time: wait until they show the task.
    let ready_task = r#"outbound_tasks_by_ready_reason{status="True""#;
    let mut scrape = operator.metrics().await;
    let deadline = std::time::Instant::now() + WAIT;
    while !scrape.contains(ready_task) {
        assert!(std::time::Instant::now() < deadline, "no {ready_task} in\n{scrape}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        scrape = operator.metrics().await;
    }
    let account = format!(r#"account_namespace="{ns}",account="main""#);
    for series in [
        // Labelled with the Lease, so that alerts tell releases and shards apart.
        "\noutbound_leader{lease=\"monitoring\"} 1\n".to_string(),
        format!(r#"outbound_remote_requests_total{{{account},endpoint="update",result="ok"}} 1"#),
        format!(r#"outbound_remote_rate_limit_wait_seconds_total{{{account}}}"#),
        format!(r#"outbound_account_ready{{{account},status="True",reason="TokenAccepted"}} 1"#),
        format!(r#"outbound_account_rate_limit_requests_per_second{{{account}}} 10"#),
        r#"outbound_tasks_by_remote_state{state="Running"} 1"#.to_string(),
        // Each request to the API server is counted with the status of its answer.
        r#"outbound_kube_requests_total{verb="patch",resource="outboundtasks/status",code="200"}"#.to_string(),
    ] {
        assert!(scrape.contains(&series), "no `{series}` in\n{scrape}");
    }

    let exported = exported_names(&scrape);
    let queries = queries();
    assert!(queries.len() > 20, "{queries:?}");
    let mut unknown = Vec::new();
    for (source, query) in &queries {
        let names = metric_names(query);
        assert!(!names.is_empty(), "{source} names no metric of the operator: {query}");
        unknown.extend(
            names
                .into_iter()
                .filter(|name| !exported.contains(name))
                .map(|name| format!("{source}: {name}")),
        );
    }
    assert!(
        unknown.is_empty(),
        "metrics the operator does not export:\n{}\n--- scrape ---\n{scrape}",
        unknown.join("\n")
    );

    // A deleted task leaves "tasks by remote state" (review I15: it was counted until the next
    // restart). The task is deleted once its finalizer has run; the scrape must then drop it.
    let tasks = Api::<OutboundTask>::namespaced(client.clone(), &ns);
    tasks.delete("campaign", &Default::default()).await.unwrap();
    let gone = std::time::Instant::now() + WAIT;
    while tasks.get_opt("campaign").await.unwrap().is_some() {
        assert!(std::time::Instant::now() < gone, "task campaign was never deleted");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let counted = r#"outbound_tasks_by_remote_state{state="Running"} 1"#;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut scrape = operator.metrics().await;
    while scrape.contains(counted) {
        assert!(
            std::time::Instant::now() < deadline,
            "a deleted task is still counted: `{counted}` in\n{scrape}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        scrape = operator.metrics().await;
    }
    drop(operator);
    sim.shutdown().await;
}
