//! The checks the API server makes on an object before storing it, run locally against the CRD
//! this binary generates (the one `outbound-operator crd` prints, `crds/` holds and the cluster
//! gets): nulls pruned and defaults applied, then the OpenAPI schema (patterns, enums, bounds,
//! required fields), then the CEL rules (`x-kubernetes-validations`, see [`cel_rules`]).

mod cel_rules;

use kube::CustomResourceExt;
use serde_json::{Map, Value};

use cel_rules::Rules;

/// A rule an object breaks: where (`spec.task.lines[0].id`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() { "(object)" } else { &self.path };
        write!(f, "{path}: {}", self.message)
    }
}

/// One kind's `openAPIV3Schema`, compiled.
pub struct Schema {
    root: Value,
    validator: jsonschema::Validator,
    rules: Rules,
}

impl Schema {
    /// The schema of `K`'s CRD, as generated for the cluster.
    pub fn of<K: CustomResourceExt>() -> anyhow::Result<Self> {
        let crd = serde_json::to_value(K::crd())?;
        let root = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone();
        anyhow::ensure!(root.is_object(), "the generated CRD of {} has no schema", K::crd_name());
        // OpenAPI v3.0 schemas are JSON Schema draft 4 plus keywords a validator ignores
        // (`nullable`, handled by pruning below, and the `x-kubernetes-*` ones).
        let validator = jsonschema::draft4::options()
            .should_validate_formats(true)
            .should_ignore_unknown_formats(true)
            .build(&root)
            .map_err(|e| anyhow::anyhow!("compiling the CRD schema of {}: {e}", K::crd_name()))?;
        let rules = Rules::compile(&root)?;
        Ok(Schema { root, validator, rules })
    }

    /// What the API server would reject in `object`. The status is not checked: the server
    /// ignores the status of what is applied. CEL rules are checked once the schema passes (a rule
    /// reading a field of the wrong type could only fail for that reason).
    pub fn check(&self, object: &Value) -> Vec<Violation> {
        let mut object = object.clone();
        if let Some(fields) = object.as_object_mut() {
            fields.remove("status");
        }
        prune_nulls(&mut object);
        apply_defaults(&self.root, &mut object);
        let violations: Vec<Violation> = self
            .validator
            .iter_errors(&object)
            .map(|error| Violation {
                path: dotted(error.instance_path().as_str()),
                message: error.to_string(),
            })
            .collect();
        if !violations.is_empty() {
            return violations;
        }
        self.rules.check(&object)
    }
}

/// The API server drops a `null` field of an object before validating (a `nullable` one passes
/// validation anyway): `field: null` is the same as no field, and gets the field's default.
fn prune_nulls(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            fields.retain(|_, v| !v.is_null());
            fields.values_mut().for_each(prune_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(prune_nulls),
        _ => {}
    }
}

/// Fills in the schema's `default`s where a field is absent, as the API server does before
/// validating: a CEL rule may read a defaulted field (`has(self.scriptSelection)`).
fn apply_defaults(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(fields) => {
            let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
                return;
            };
            for (name, property) in properties {
                if let (false, Some(default)) = (fields.contains_key(name), property.get("default")) {
                    fields.insert(name.clone(), default.clone());
                }
                if let Some(field) = fields.get_mut(name) {
                    apply_defaults(property, field);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                items.iter_mut().for_each(|item| apply_defaults(item_schema, item));
            }
        }
        _ => {}
    }
}

/// `/spec/task/lines/0/id` (a JSON pointer) as `spec.task.lines[0].id`.
pub fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if segment.parse::<usize>().is_ok() {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&segment);
        }
    }
    out
}

/// The fields of an object schema, or none.
pub fn properties(schema: &Value) -> Option<&Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use outbound_api::{OutboundAccount, OutboundTask};
    use serde_json::json;

    fn task() -> Value {
        json!({
            "apiVersion": "outbound.dev/v1alpha1", "kind": "OutboundTask",
            "metadata": {"name": "t"},
            "spec": {
                "accountRef": {"name": "main"},
                "taskId": "f232d184-dd54-42a0-8ace-0bf8d660f4cc",
                "task": {"name": "n", "scriptGroupId": 1, "maxConcurrency": 2, "dialTimeGroupId": 1,
                          "schedule": {"startTime": "2024-12-23 19:00:00", "stopTime": "2025-12-25 23:59:59"},
                          "lines": [{"id": "29c39ec4-3d69-4b5c-a0a4-d6f6a2a4a6b1", "limit": 2}]}
            }
        })
    }

    fn messages(violations: &[Violation]) -> String {
        violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn a_valid_task_passes_and_nulls_are_pruned() {
        let schema = Schema::of::<OutboundTask>().unwrap();
        let mut value = task();
        value["spec"]["runState"] = Value::Null;
        value["status"] = json!({"taskId": 12});
        assert_eq!(schema.check(&value), vec![]);
    }

    #[test]
    fn patterns_and_bounds_name_the_field() {
        let schema = Schema::of::<OutboundTask>().unwrap();
        let mut value = task();
        value["spec"]["task"]["lines"][0]["id"] = json!("not-a-uuid");
        value["spec"]["resyncInterval"] = json!("soon");
        let text = messages(&schema.check(&value));
        assert!(
            text.contains("spec.task.lines[0].id: \"not-a-uuid\" does not match"),
            "{text}"
        );
        assert!(text.contains("spec.resyncInterval: \"soon\" does not match"), "{text}");
    }

    #[test]
    fn cel_rules_run_after_the_schema_with_defaults_applied() {
        let schema = Schema::of::<OutboundTask>().unwrap();
        let mut value = task();
        value["spec"]["task"]["maxConcurrency"] = json!(3);
        let lines = value["spec"]["task"]["lines"].as_array_mut().unwrap();
        lines.push(json!({"id": "d47c3599-f166-4cd0-999c-f60e46814d26", "limit": 1}));
        value["spec"]["task"]["schedule"]["stopTime"] = json!("2024-01-01 00:00:00");
        value["spec"]["resyncInterval"] = json!("5s");
        let text = messages(&schema.check(&value));
        assert!(
            text.contains("spec.task: spec.task.maxConcurrency must be divisible by the number of spec.task.lines"),
            "{text}"
        );
        assert!(
            text.contains("spec.task.schedule: spec.task.schedule.stopTime must be after spec.task.schedule.startTime"),
            "{text}"
        );
        assert!(
            text.contains("spec.resyncInterval: spec.resyncInterval must be at least 30s"),
            "{text}"
        );
    }

    #[test]
    fn the_account_schema_checks_its_rules_too() {
        let schema = Schema::of::<OutboundAccount>().unwrap();
        let account = json!({
            "apiVersion": "outbound.dev/v1alpha1", "kind": "OutboundAccount", "metadata": {"name": "main"},
            "spec": {"baseUrl": "ftp://x", "userId": "5832d184-dd53-42a0-8ace-0bf8d660f4cc",
                     "tokenSecretRef": {"name": "s", "key": "token"},
                     "platform": {"startedRetryInterval": "1m"}}
        });
        let text = messages(&schema.check(&account));
        assert!(text.contains("spec.baseUrl: \"ftp://x\" does not match"), "{text}");
        let mut account = account;
        account["spec"]["baseUrl"] = json!("http://127.0.0.1:1");
        let text = messages(&schema.check(&account));
        assert!(
            text.contains("spec.platform.startedRetryInterval: spec.platform.startedRetryInterval must be at most 15s"),
            "{text}"
        );
    }

    #[test]
    fn pointers_become_field_paths() {
        assert_eq!(dotted("/spec/task/lines/0/id"), "spec.task.lines[0].id");
        assert_eq!(dotted(""), "");
    }
}
