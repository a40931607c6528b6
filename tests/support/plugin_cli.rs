//! Helpers of the `kubectl outbound` tests (tests/plugin_import.rs, tests/plugin_ops.rs): the
//! plugin binary run as a person runs it (KUBECONFIG from the environment), a simulated account
//! holding every kind of campaign, and applying the plugin's output as printed.

#![allow(dead_code)]

use std::process::{Command, Stdio};

use kube::Client;
use outbound_api::{OutboundTask, TaskSettings};
use outbound_sim::SimHandle;
use serde_json::{Value, json};

use super::harness::{merge, put_remote_task, uuid_like};
use super::support;

/// The sub-account of the mixed account.
pub const SUB_USER_ID: &str = "7c1e0a52-3b8f-4d7e-9a41-2f6d5c8b9e10";

/// Runs `kubectl-outbound` with `args`: its exit code, stdout and stderr.
pub fn kubectl_outbound(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_kubectl-outbound"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("kubectl-outbound runs");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).to_string();
    (
        output.status.code().unwrap_or(-1),
        text(&output.stdout),
        text(&output.stderr),
    )
}

/// One remote task of the mixed account.
pub struct RemoteTask {
    pub id: String,
    pub name: String,
    /// 1 paused, 2 running, 3 waiting.
    pub status: u8,
    pub sub_user_id: Option<String>,
}

/// An account with every kind of campaign: each script selection (Unified, ByTime, ByVariable,
/// MultiScript), new and old 2.0 tasks, paused, running and waiting ones, two tasks with the same
/// name, one with an end action the API cannot express, and one task of a sub-account.
pub fn mixed_account(sim: &SimHandle) -> Vec<RemoteTask> {
    let line = support::LINE_ID;
    let base = |name: &str| -> Value {
        json!({
            "name": name, "scriptGroupId": 123, "maxConcurrency": 2, "dialTimeGroupId": 77,
            "schedule": {"startTime": "2025-03-01 08:00:00", "stopTime": "2026-12-31 21:00:00",
                         "holidays": [{"begin": "2025-05-01 00:00", "end": "2025-05-03 23:59"}],
                         "workWeek": [1, 2, 3, 4, 5], "workHours": [{"begin": "09:00", "end": "12:00"}],
                         "callIntervalSeconds": 5},
            "lines": [{"id": line, "limit": 2}],
        })
    };
    let with = |name: &str, extra: Value| {
        let mut settings = base(name);
        merge(&mut settings, extra);
        settings
    };
    let tasks = [
        (
            "Unified Spring",
            2,
            None,
            with(
                "Unified Spring",
                json!({"scriptSelection": "Unified", "remark": "since 2025", "backgroundSoundId": 9, "bridgeGroupId": 4, "numberOrder": "Sequential", "redial": {"enabled": true, "freshNumbersFirst": true, "intervalMinutes": 10, "maxAttempts": 2, "onOutcomes": ["NoAnswer", "Busy"]}}),
            ),
            json!({}),
        ),
        (
            "By time",
            3,
            None,
            with(
                "By time",
                json!({"scriptSelection": "ByTime", "scriptsByTime": [{"begin": "09:00", "end": "12:00", "scriptGroupId": 5}, {"begin": "13:00", "end": "18:00", "scriptGroupId": 6}]}),
            ),
            json!({}),
        ),
        (
            "By variable",
            1,
            None,
            with(
                "By variable",
                json!({"scriptSelection": "ByVariable", "scriptsByVariable": [{"match": "EqualsAny", "values": ["男"], "scriptGroupId": 11, "priority": 1}, {"match": "ContainsAny", "values": ["女", "女性"], "scriptGroupId": 12, "priority": 0}]}),
            ),
            json!({}),
        ),
        (
            "Multi script",
            2,
            None,
            with(
                "Multi script",
                json!({"scriptSelection": "MultiScript", "elasticSeats": true, "multiScript": {"order": "Random", "scripts": [{"scriptGroupId": 21, "sort": 1}, {"scriptGroupId": 22, "sort": 2}]}}),
            ),
            json!({}),
        ),
        (
            "老客户回访",
            1,
            None,
            with(
                "老客户回访",
                json!({"taskType": 6, "maxConcurrency": 4, "lines": [{"id": line, "limit": 4}], "legacy": {"groupSwitchRules": [{"start": "09:00", "end": "11:00", "scriptGroupId": 31, "defaultScriptGroupId": 32}], "callRules": [{"recallTime": "10:30:00", "intervalMinutes": 60, "ruleId": 8}]}}),
            ),
            json!({}),
        ),
        ("Promo", 2, None, with("Promo", json!({})), json!({})),
        (
            "Promo",
            1,
            None,
            with(
                "Promo",
                json!({"maxConcurrency": 1, "lines": [{"id": line, "limit": 1}]}),
            ),
            json!({}),
        ),
        ("Odd end", 3, None, with("Odd end", json!({})), json!({"end_action": 7})),
        (
            "Sub account",
            2,
            Some(SUB_USER_ID),
            with("Sub account", json!({"scriptSelection": "Unified"})),
            json!({}),
        ),
    ];
    tasks
        .into_iter()
        .map(|(name, status, sub_user_id, settings, edit)| {
            let id = uuid_like();
            let settings: TaskSettings = serde_json::from_value(settings).expect("valid settings");
            let mut task = support::task_with("remote", "main", &id, settings);
            task.spec.sub_user_id = sub_user_id.map(str::to_owned);
            put_remote_task(sim, &task, status, edit);
            RemoteTask {
                id,
                name: name.to_string(),
                status,
                sub_user_id: task.spec.sub_user_id,
            }
        })
        .collect()
}

/// Applies every document of `yaml` (server-side, strict field validation) in `ns`, as
/// `kubectl apply --server-side` would: the objects' names.
pub async fn apply_documents(client: &Client, ns: &str, yaml: &str) -> Vec<String> {
    let mut names = Vec::new();
    for document in serde_yaml::Deserializer::from_str(yaml) {
        let value: Value = serde::Deserialize::deserialize(document).expect("a YAML document");
        if value.is_null() {
            continue;
        }
        support::apply_json_strict::<OutboundTask>(client, ns, &value, false)
            .await
            .unwrap_or_else(|e| panic!("applying {value}: {e}"));
        names.push(value["metadata"]["name"].as_str().unwrap().to_string());
    }
    names
}
