//! The Argo CD health check (manifests/gitops/outboundtask-health.lua) run in a real Lua 5.1
//! interpreter (Argo CD's gopher-lua implements 5.1) against sample OutboundTasks.

use mlua::{Lua, LuaSerdeExt, Value};
use serde_json::json;

const SCRIPT: &str = include_str!("../manifests/gitops/outboundtask-health.lua");

fn health(obj: serde_json::Value) -> (String, String) {
    let lua = Lua::new();
    let globals = lua.globals();
    globals.set("obj", lua.to_value(&obj).unwrap()).unwrap();
    let result: mlua::Table = lua.load(SCRIPT).eval().unwrap();
    let status: String = result.get("status").unwrap();
    let message: Value = result.get("message").unwrap();
    let message = match message {
        Value::String(s) => s.to_str().unwrap().to_string(),
        _ => String::new(),
    };
    (status, message)
}

fn task(generation: i64, status: serde_json::Value) -> serde_json::Value {
    json!({
        "apiVersion": "outbound.dev/v1alpha1", "kind": "OutboundTask",
        "metadata": {"name": "spring", "generation": generation},
        "spec": {"taskId": "f232d184-dd54-42a0-8ace-0bf8d660f4cc"},
        "status": status,
    })
}

fn condition(type_: &str, status: &str, reason: &str, message: &str) -> serde_json::Value {
    json!({"type": type_, "status": status, "reason": reason, "message": message})
}

#[test]
fn synced_task_is_healthy() {
    let status = json!({"observedGeneration": 2, "conditions": [
        condition("Ready", "True", "InSync", "remote task equals spec"),
        condition("Synced", "True", "ReconcileSuccess", ""),
        condition("Reconciling", "False", "InSync", ""),
        condition("Stalled", "False", "InSync", ""),
    ]});
    assert_eq!(health(task(2, status)).0, "Healthy");
}

#[test]
fn updating_task_is_progressing() {
    let status = json!({"observedGeneration": 2, "conditions": [
        condition("Ready", "False", "Updating", "pausing the task to update it"),
        condition("Reconciling", "True", "Updating", "pausing the task to update it"),
    ]});
    let (status, message) = health(task(2, status));
    assert_eq!(status, "Progressing");
    assert!(message.contains("pausing"), "{message}");
}

#[test]
fn new_generation_not_yet_observed_is_progressing() {
    let status = json!({"observedGeneration": 1, "conditions": [condition("Ready", "True", "InSync", "")]});
    assert_eq!(health(task(2, status)).0, "Progressing");
    assert_eq!(
        health(json!({"metadata": {"name": "x", "generation": 1}, "spec": {}})).0,
        "Progressing"
    );
}

#[test]
fn rejected_task_is_degraded_with_the_platform_message() {
    let status = json!({"observedGeneration": 3, "conditions": [
        condition("Ready", "False", "RemoteRejected", "update rejected"),
        condition("Synced", "False", "RemoteRejected", "maximumcall 8 exceeds line residue 4"),
        condition("Stalled", "True", "RemoteRejected", "maximumcall 8 exceeds line residue 4"),
    ]});
    let (status, message) = health(task(3, status));
    assert_eq!(status, "Degraded");
    assert!(message.contains("maximumcall 8 exceeds"), "{message}");
}

#[test]
fn observe_mode_drift_is_degraded() {
    let status = json!({"observedGeneration": 1, "conditions": [
        condition("Ready", "False", "Drifted", "spec.task.maxConcurrency: 2 -> 4"),
        condition("Stalled", "False", "Drifted", ""),
    ]});
    assert_eq!(health(task(1, status)).0, "Degraded");
}

#[test]
fn transient_error_is_progressing() {
    let status = json!({"observedGeneration": 1, "conditions": [
        condition("Ready", "False", "RemoteError", "platform unavailable"),
        condition("Synced", "False", "RemoteError", "detail: HTTP 503"),
        condition("Stalled", "False", "RemoteError", ""),
    ]});
    assert_eq!(health(task(1, status)).0, "Progressing");
}

#[test]
fn suspended_task_is_suspended() {
    let mut obj = task(1, json!({"observedGeneration": 1}));
    obj["spec"]["suspend"] = json!(true);
    assert_eq!(health(obj).0, "Suspended");
}

#[test]
fn argocd_configmap_patch_embeds_the_same_script() {
    let patch: serde_yaml::Value =
        serde_yaml::from_str(include_str!("../manifests/gitops/argocd-cm-patch.yaml")).unwrap();
    let embedded = patch["data"]["resource.customizations.health.outbound.dev_OutboundTask"]
        .as_str()
        .unwrap();
    assert_eq!(
        embedded.trim(),
        SCRIPT.trim(),
        "regenerate argocd-cm-patch.yaml from outboundtask-health.lua"
    );
}
