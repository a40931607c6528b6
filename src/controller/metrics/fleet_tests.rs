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
            json!({"conditions": [condition("Ready", "True", "InSync", 50)], "remoteState": "Running"}),
        ),
        task(
            "sales",
            "updating-new",
            json!({"conditions": [condition("Ready", "False", "Updating", 60)], "operation": operation(60)}),
        ),
        task(
            "sales",
            "updating-old",
            json!({
                "conditions": [condition("Ready", "False", "Updating", 900)],
                "operation": operation(900),
                "remoteState": "Paused",
            }),
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
        // Out of sync since 700 s ago: first a platform error, the Secret missing now.
        task(
            "sales",
            "no-secret",
            json!({"conditions": [
                condition("Ready", "False", "Error", 700),
                condition("Synced", "False", "SecretNotFound", 700),
            ], "remoteState": "Running"}),
        ),
        task(
            "sales",
            "no-secret-either",
            json!({"conditions": [condition("Synced", "False", "SecretNotFound", 60)]}),
        ),
        task(
            "sales",
            "synced",
            json!({"conditions": [condition("Synced", "True", "ReconcileSuccess", 9000)]}),
        ),
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
    assert_eq!(fleet.tasks_by_ready[&ready("Unknown", NOT_YET_RECONCILED)], 5.0);
    assert_eq!(fleet.paused_by_operator, BTreeMap::from([(ns("sales"), 2.0)]));
    assert_eq!(fleet.oldest_operation_age, BTreeMap::from([(ns("sales"), 900.0)]));
}

#[test]
fn counts_stalled_tasks_and_the_longest_stall_but_not_recovered_ones() {
    let fleet = fleet();
    let key = ReasonLabels {
        task_namespace: "ops".into(),
        reason: "SpecRejected".into(),
    };
    assert_eq!(fleet.stalled, BTreeMap::from([(key.clone(), 2.0)]));
    assert_eq!(fleet.longest_stalled, BTreeMap::from([(key, 1200.0)]));
}

#[test]
fn counts_tasks_by_remote_state_only_while_they_are_in_the_cache() {
    let fleet = fleet();
    let state = |s: &str| StateLabels { state: s.into() };
    assert_eq!(
        fleet.tasks_by_remote_state,
        BTreeMap::from([(state("Running"), 2.0), (state("Paused"), 1.0)])
    );
    // A deleted task (or one moved to another shard) leaves the cache, and the count with it.
    let (tasks, accounts) = (vec![], vec![]);
    assert!(
        Fleet::of(&tasks, &accounts, Timestamp::from_second(NOW).unwrap())
            .tasks_by_remote_state
            .is_empty()
    );
}

#[test]
fn counts_unsynced_tasks_by_reason_and_the_longest_time_out_of_sync() {
    let fleet = fleet();
    let key = ReasonLabels {
        task_namespace: "sales".into(),
        reason: "SecretNotFound".into(),
    };
    assert_eq!(fleet.not_synced, BTreeMap::from([(key.clone(), 2.0)]));
    assert_eq!(fleet.longest_not_synced, BTreeMap::from([(key, 700.0)]));
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
        r#"outbound_tasks_by_remote_state{state="Running"} 2.0"#,
        r#"outbound_tasks_not_synced{task_namespace="sales",reason="SecretNotFound"} 2.0"#,
        r#"outbound_tasks_not_synced_longest_seconds{task_namespace="sales",reason="SecretNotFound"} 700.0"#,
    ] {
        assert!(text.contains(line), "no `{line}` in\n{text}");
    }
}

#[test]
fn a_follower_exports_leader_zero_and_no_fleet_samples() {
    let metrics = FleetMetrics::new(Some("outbound-operator-shard1"));
    let mut registry = Registry::default();
    metrics.register(&mut registry);
    let mut text = String::new();
    encode(&mut text, &registry).unwrap();
    let leader = r#"outbound_leader{lease="outbound-operator-shard1"}"#;
    assert!(text.contains(&format!("{leader} 0\n")), "{text}");
    assert!(text.contains("# TYPE outbound_tasks_by_ready_reason gauge"), "{text}");
    assert!(!text.contains("outbound_tasks_by_ready_reason{"), "{text}");

    metrics.set_leader(true);
    let mut text = String::new();
    encode(&mut text, &registry).unwrap();
    assert!(text.contains(&format!("{leader} 1\n")), "{text}");
}

/// The collector's encoding of a fixed snapshot.
#[derive(Debug)]
struct StaticFleet(Fleet);

impl Collector for StaticFleet {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        self.0.encode(&mut encoder)
    }
}

#[test]
fn a_failed_task_is_counted_under_the_reason_of_its_failure() {
    use outbound_core::planner::{Execution, Failure, ReportInput, report};
    let mut tasks = Vec::new();
    for (name, failure) in [
        ("no-secret", Failure::SecretNotFound),
        ("rejected", Failure::Rejected("x".into())),
    ] {
        let status = report(&ReportInput {
            plan: None,
            execution: &Execution::failed_before_actions(failure),
            previous: &Default::default(),
            generation: 1,
            now: Timestamp::from_second(NOW).unwrap(),
            requested_at: None,
        });
        tasks.push(task("sales", name, serde_json::to_value(status).unwrap()));
    }
    let fleet = Fleet::of(&tasks, &[], Timestamp::from_second(NOW).unwrap());
    assert_eq!(fleet.tasks_by_ready[&ready("False", "SecretNotFound")], 1.0);
    assert_eq!(fleet.tasks_by_ready[&ready("False", "RemoteRejected")], 1.0);
    assert!(!fleet.tasks_by_ready.contains_key(&ready("False", "Error")));
}
