//! The API reference (Markdown) generated from the CRDs' OpenAPI schemas, so the descriptions
//! users read with `kubectl explain` and the API reference (`docs/reference/api.md`) are one text.

use kube::CustomResourceExt;
use serde_json::Value;

use super::{OutboundAccount, OutboundTask};

/// `docs/reference/api.md`: one table per kind, one row per field.
pub fn markdown() -> String {
    let mut out = String::from(
        "# API reference: outbound.dev/v1alpha1\n\n\
         Generated from the CRDs by `outbound-operator crd --reference` (`make crds` refreshes it; a test \
         fails when it is stale). `kubectl explain outboundtask.spec.task` shows the same text.\n",
    );
    for crd in [OutboundAccount::crd(), OutboundTask::crd()] {
        let names = &crd.spec.names;
        let version = &crd.spec.versions[0];
        let schema = serde_json::to_value(version.schema.as_ref().and_then(|s| s.open_api_v3_schema.as_ref()))
            .expect("schema serialises");
        out.push_str(&format!(
            "\n## {kind} (short name `{short}`)\n\n{description}\n\n| field | type | default | description and validation |\n|---|---|---|---|\n",
            kind = names.kind,
            short = names.short_names.as_ref().and_then(|s| s.first()).cloned().unwrap_or_default(),
            description = schema["description"].as_str().unwrap_or_default(),
        ));
        for top in ["spec", "status"] {
            walk(&schema["properties"][top], top, is_required(&schema, top), &mut out);
        }
    }
    out
}

fn is_required(parent: &Value, name: &str) -> bool {
    parent["required"]
        .as_array()
        .is_some_and(|r| r.iter().any(|n| n == name))
}

fn walk(node: &Value, path: &str, required: bool, out: &mut String) {
    if node.is_null() {
        return;
    }
    out.push_str(&row(node, path, required));
    if let Some(properties) = node["properties"].as_object() {
        for (name, child) in properties {
            walk(child, &format!("{path}.{name}"), is_required(node, name), out);
        }
    }
    let items = &node["items"];
    if let Some(properties) = items["properties"].as_object() {
        for (name, child) in properties {
            walk(child, &format!("{path}[].{name}"), is_required(items, name), out);
        }
    }
}

fn row(node: &Value, path: &str, required: bool) -> String {
    let mut kind = node["type"].as_str().unwrap_or("object").to_string();
    if kind == "array" {
        kind = format!("[]{}", node["items"]["type"].as_str().unwrap_or("object"));
    }
    if required {
        kind.push_str(", required");
    }
    let default = match &node["default"] {
        Value::Null => String::new(),
        value => format!("`{value}`"),
    };
    let mut notes = vec![node["description"].as_str().unwrap_or_default().replace('\n', " ")];
    if let Some(values) = node["enum"].as_array().or_else(|| node["items"]["enum"].as_array()) {
        let values: Vec<String> = values
            .iter()
            .map(|v| v.to_string().trim_matches('"').to_string())
            .collect();
        notes.push(format!("One of: {}.", values.join(", ")));
    }
    for (key, label) in [
        ("minimum", "min"),
        ("maximum", "max"),
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("minItems", "min items"),
        ("maxItems", "max items"),
    ] {
        if let Some(v) = node[key].as_i64() {
            notes.push(format!("{label} {v}."));
        }
    }
    if let Some(pattern) = node["pattern"].as_str() {
        notes.push(format!("Pattern `{pattern}`."));
    }
    if let Some(list_type) = node["x-kubernetes-list-type"].as_str() {
        notes.push(format!("List type {list_type}."));
    }
    if let Some(rules) = node["x-kubernetes-validations"].as_array() {
        for rule in rules {
            notes.push(format!("Rule: {}.", rule["message"].as_str().unwrap_or_default()));
        }
    }
    format!(
        "| `{path}` | {kind} | {default} | {} |\n",
        notes.join(" ").replace('|', "\\|").trim()
    )
}
