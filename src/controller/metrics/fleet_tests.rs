use super::*;
use prometheus_client::encoding::text::encode;
use serde_json::{Value, json};

const NOW: i64 = 1_800_000_000;

fn at(seconds_before_now: i64) -> Value {
    json!(Timestamp::from_second(NOW - seconds_before_now).unwrap().to_string())
}

fn condition(type_: &str, status: &str, reason: &str, since: i64) -> Value {
    json!({"type": type_, "status": status, "reason": reason, "message": "", "lastTransitionTime": at(since)})
}

/// The example task of the README, in `namespace`, with this status.
fn task(namespace: &str, name: &str, status: Value) -> Arc<OutboundTask> {
    let mut task: OutboundTask =
        serde_yaml::from_str(include_str!("../../../manifests/examples/task-legacy.yaml")).unwrap();
    task.metadata.name = Some(name.into());
    task.metadata.namespace = Some(namespace.into());
    task.status = serde_json::from_value(status).unwrap();
    Arc::new(task)
}

fn account(namespace: &str, ready: Option<Value>) -> Arc<OutboundAccount> {
    let mut account: OutboundAccount =
        serde_yaml::from_str(include_str!("../../../manifests/examples/simulator/account.yaml")).unwrap();
    account.metadata.namespace = Some(namespace.into());
    account.status = serde_json::from_value(json!({"conditions": ready.into_iter().collect::<Vec<_>>()})).unwrap();
    Arc::new(account)
}

fn operation(started: i64) -> Value {
    json!({"phase": "Updating", "resumeAfter": true, "startedAt": at(started), "generation": 2})
}

fn fleet() -> Fleet {
    let tasks = [
        task(
            "sales",
            "ok",
            json!({"conditions": [condition("Ready", "True", "InSync", 50)]}),
        ),
        task(
            "sales",
            "updating-new",
            json!({"conditions": [condition("Ready", "False", "Updating", 60)], "operation": operation(60)}),
        ),
        task(
            "sales",
            "updating-old",
            json!({"conditions": [condition("Ready", "False", "Updating", 900)], "operation": operation(900)}),
        ),
        task(
            "ops",
            "rejected",
            json!({"conditions": [
                condition("Ready", "False", "SpecRejected", 2000),
                condition("Stalled", "True", "SpecRejected", 1200),
            ]}),
        ),
        task(
            "ops",
            "rejected-later",
            json!({"conditions": [condition("Stalled", "True", "SpecRejected", 30)]}),
        ),
        task(
            "ops",
            "recovered",
            json!({"conditions": [condition("Stalled", "False", "SpecRejected", 5000)]}),
        ),
        task("ops", "new", json!({})),
    ];
    let accounts = [
        account("sales", Some(condition("Ready", "False", "Unauthorized", 10))),
        account("ops", None),
    ];
    Fleet::of(&tasks, &accounts, Timestamp::from_second(NOW).unwrap())
}

fn ns(name: &str) -> NamespaceLabels {
    NamespaceLabels {
        task_namespace: name.into(),
    }
}

fn ready(status: &str, reason: &str) -> ConditionLabels {
    ConditionLabels {
        status: status.into(),
        reason: reason.into(),
    }
}

#[test]
fn counts_tasks_by_ready_reason_and_operations_in_flight_with_the_oldest_age() {
    let fleet = fleet();
    assert_eq!(fleet.tasks_by_ready[&ready("True", "InSync")], 1.0);
    assert_eq!(fleet.tasks_by_ready[&ready("False", "Updating")], 2.0);
    assert_eq!(fleet.tasks_by_ready[&ready("Unknown", NOT_YET_RECONCILED)], 3.0);
    assert_eq!(fleet.paused_by_operator, BTreeMap::from([(ns("sales"), 2.0)]));
    assert_eq!(fleet.oldest_operation_age, BTreeMap::from([(ns("sales"), 900.0)]));
}

#[test]
fn counts_stalled_tasks_and_the_longest_stall_but_not_recovered_ones() {
    let fleet = fleet();
    let key = StalledLabels {
        task_namespace: "ops".into(),
        reason: "SpecRejected".into(),
    };
    assert_eq!(fleet.stalled, BTreeMap::from([(key.clone(), 2.0)]));
    assert_eq!(fleet.longest_stalled, BTreeMap::from([(key, 1200.0)]));
}

#[test]
fn exports_each_account_with_its_ready_reason_and_budget() {
    let fleet = fleet();
    let mut registry = Registry::default();
    registry.register_collector(Box::new(StaticFleet(fleet)));
    let mut text = String::new();
    encode(&mut text, &registry).unwrap();
    for line in [
        r#"outbound_account_ready{account_namespace="sales",account="main",status="False",reason="Unauthorized"} 1.0"#,
        r#"outbound_account_ready{account_namespace="ops",account="main",status="Unknown",reason="NotYetReconciled"} 1.0"#,
        r#"outbound_account_rate_limit_requests_per_second{account_namespace="sales",account="main"} 10.0"#,
        r#"outbound_account_rate_limit_burst{account_namespace="ops",account="main"} 1.0"#,
        r#"outbound_operation_oldest_age_seconds{task_namespace="sales"} 900.0"#,
        r#"outbound_tasks_stalled_longest_seconds{task_namespace="ops",reason="SpecRejected"} 1200.0"#,
        r#"outbound_tasks_paused_by_operator{task_namespace="sales"} 2.0"#,
        r#"outbound_tasks_by_ready_reason{status="False",reason="Updating"} 2.0"#,
    ] {
        assert!(text.contains(line), "no `{line}` in\n{text}");
    }
}

#[test]
fn a_follower_exports_leader_zero_and_no_fleet_samples() {
    let metrics = FleetMetrics::default();
    let mut registry = Registry::default();
    metrics.register(&mut registry);
    let mut text = String::new();
    encode(&mut text, &registry).unwrap();
    assert!(text.contains("outbound_leader 0\n"), "{text}");
    assert!(text.contains("# TYPE outbound_tasks_by_ready_reason gauge"), "{text}");
    assert!(!text.contains("outbound_tasks_by_ready_reason{"), "{text}");

    metrics.set_leader(true);
    let mut text = String::new();
    encode(&mut text, &registry).unwrap();
    assert!(text.contains("outbound_leader 1\n"), "{text}");
}

/// The collector's encoding of a fixed snapshot.
#[derive(Debug)]
struct StaticFleet(Fleet);

impl Collector for StaticFleet {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        self.0.encode(&mut encoder)
    }
}
