//! One YAML document to a typed OutboundAccount or OutboundTask, as strictly as the API server
//! takes it: `apiVersion` must be the one the CRDs serve, and a field the type does not have is an
//! error naming its path (`kubectl apply` validates strictly by default; with validation off, the
//! server would prune the field and the intended setting would never be applied).

use serde::de::DeserializeOwned;
use serde_json::Value;

use outbound_api::GROUP;

/// The `apiVersion` both kinds are served at.
pub const API_VERSION: &str = "outbound.dev/v1alpha1";

/// The kinds of the `outbound.dev` group.
pub const KINDS: [&str; 2] = ["OutboundAccount", "OutboundTask"];

/// What a document is, by its `apiVersion` and `kind`.
#[derive(Debug, PartialEq, Eq)]
pub enum Shape {
    /// OutboundAccount or OutboundTask at [`API_VERSION`].
    Ours(&'static str),
    /// `kind: List` (what `kubectl get -o yaml` prints): its `items` are documents too.
    List,
    /// Another kind (Secret, Namespace, Kustomization...): not ours to check.
    Other(String),
    /// No `kind` at all: not a Kubernetes object.
    NoKind,
}

/// Classifies a document; a wrong `apiVersion` for one of our kinds, or an unknown kind in our
/// group, is an error (the API server has no such resource).
pub fn shape(value: &Value) -> Result<Shape, String> {
    let kind = value.get("kind").and_then(Value::as_str);
    let api_version = value.get("apiVersion").and_then(Value::as_str);
    let ours_group = api_version.is_some_and(|v| v.split('/').next() == Some(GROUP));
    match kind {
        None if ours_group => Err(format!(
            "kind: missing (apiVersion {API_VERSION} serves {})",
            KINDS.join(", ")
        )),
        None => Ok(Shape::NoKind),
        Some("List") if value.get("items").is_some_and(Value::is_array) => Ok(Shape::List),
        Some(kind) => match KINDS.iter().find(|k| **k == kind) {
            Some(ours) if api_version == Some(API_VERSION) => Ok(Shape::Ours(ours)),
            Some(_) => Err(format!(
                "apiVersion: {:?} is not {API_VERSION}, the only version the CRDs serve",
                api_version.unwrap_or_default()
            )),
            None if ours_group => Err(format!(
                "kind: {kind:?} is not a kind of {GROUP} ({})",
                KINDS.join(", ")
            )),
            None => Ok(Shape::Other(kind.to_string())),
        },
    }
}

/// Decodes `value` into `T`. Every error names the field's path: a wrong type
/// (`spec.task.maxConcurrency: invalid type: string "two", expected i32`) or each field `T` does
/// not have (`spec.task.numberOrdr: unknown field`). `status` is not looked at for unknown fields:
/// the API server ignores the status of what is applied.
pub fn decode<T: DeserializeOwned>(value: &Value) -> Result<T, Vec<String>> {
    let mut unknown = Vec::new();
    let mut note = |path: serde_ignored::Path<'_>| {
        let path = dotted(&path);
        // kube-derive reads apiVersion and kind without keeping them; `shape` checked them.
        let checked_elsewhere = path == "apiVersion" || path == "kind";
        if !checked_elsewhere && path != "status" && !path.starts_with("status.") && !path.starts_with("status[") {
            unknown.push(path);
        }
    };
    let decoded = serde_path_to_error::deserialize(serde_ignored::Deserializer::new(value, &mut note));
    match decoded {
        Err(error) => Err(vec![format!("{}: {}", error.path(), error.inner())]),
        Ok(_) if !unknown.is_empty() => Err(unknown
            .into_iter()
            .map(|path| format!("{path}: unknown field (the CRD has no such field; is it misspelt?)"))
            .collect()),
        Ok(decoded) => Ok(decoded),
    }
}

/// `spec.task.lines[0].id`, the way the API server names fields (serde_ignored's own rendering
/// has `?` segments for optional values and no brackets).
fn dotted(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", dotted(parent)),
        Path::Map { parent, key } => match dotted(parent) {
            parent if parent.is_empty() => key.clone(),
            parent => format!("{parent}.{key}"),
        },
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => dotted(parent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use outbound_api::OutboundTask;
    use serde_json::json;

    fn task() -> Value {
        json!({
            "apiVersion": API_VERSION, "kind": "OutboundTask",
            "metadata": {"name": "t", "namespace": "default"},
            "spec": {
                "accountRef": {"name": "main"},
                "taskId": "f232d184-dd54-42a0-8ace-0bf8d660f4cc",
                "task": {"name": "n", "scriptGroupId": 1, "maxConcurrency": 2, "dialTimeGroupId": 1,
                          "schedule": {"startTime": "2024-12-23 19:00:00"},
                          "lines": [{"id": "29c39ec4-3d69-4b5c-a0a4-d6f6a2a4a6b1", "limit": 2}]}
            }
        })
    }

    #[test]
    fn a_valid_task_decodes() {
        let decoded: OutboundTask = decode(&task()).unwrap();
        assert_eq!(decoded.spec.task.max_concurrency, 2);
    }

    #[test]
    fn unknown_fields_anywhere_are_errors_naming_their_path() {
        let mut value = task();
        value["spec"]["task"]["numberOrdr"] = json!("Sequential");
        value["spec"]["resyncIntervall"] = json!("10m");
        value["spec"]["task"]["lines"][0]["limt"] = json!(1);
        value["metadata"]["labelz"] = json!({"a": "b"});
        value["colour"] = json!("blue");
        value["status"] = json!({"whatever": 1});
        let errors = decode::<OutboundTask>(&value).unwrap_err();
        let text = errors.join("\n");
        for path in [
            "spec.task.numberOrdr: unknown field",
            "spec.resyncIntervall: unknown field",
            "spec.task.lines[0].limt: unknown field",
            "metadata.labelz: unknown field",
            "colour: unknown field",
        ] {
            assert!(text.contains(path), "{path} in {text}");
        }
        assert_eq!(errors.len(), 5, "status is not checked: {text}");
    }

    #[test]
    fn shapes() {
        assert_eq!(shape(&task()), Ok(Shape::Ours("OutboundTask")));
        let wrong_version = json!({"apiVersion": "example.com/v9", "kind": "OutboundTask"});
        assert!(
            shape(&wrong_version)
                .unwrap_err()
                .starts_with("apiVersion: \"example.com/v9\"")
        );
        let old_version = json!({"apiVersion": "outbound.dev/v1", "kind": "OutboundAccount"});
        assert!(shape(&old_version).is_err());
        let wrong_kind = json!({"apiVersion": API_VERSION, "kind": "OutboundTaks"});
        assert!(
            shape(&wrong_kind)
                .unwrap_err()
                .contains("\"OutboundTaks\" is not a kind")
        );
        let list = json!({"apiVersion": "v1", "kind": "List", "items": []});
        assert_eq!(shape(&list), Ok(Shape::List));
        let secret = json!({"apiVersion": "v1", "kind": "Secret"});
        assert_eq!(shape(&secret), Ok(Shape::Other("Secret".into())));
        assert_eq!(shape(&json!({"replicaCount": 1})), Ok(Shape::NoKind));
    }
}
