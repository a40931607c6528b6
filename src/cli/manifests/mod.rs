//! Reading OutboundAccount and OutboundTask manifests (multi-document YAML or JSON, `kind: List`)
//! from files, directories and standard input, as `outbound-operator plan -f` does, checked as the
//! API server would check them (`decode`, `schema`). Nothing is dropped silently:
//! every error names the file, the document, the object and the field, and what is not ours
//! (other kinds, other files) is counted in [`Skipped`].

pub(crate) mod decode;
pub(crate) mod schema;
mod sources;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use kube::ResourceExt;
use serde_json::Value;

use decode::Shape;
use outbound_api::{OutboundAccount, OutboundTask};
use schema::Schema;

#[derive(Default)]
pub struct Manifests {
    pub accounts: Vec<OutboundAccount>,
    pub tasks: Vec<OutboundTask>,
    /// What could not be read or would be rejected by the API server, one message each.
    pub errors: Vec<String>,
    pub skipped: Skipped,
    /// `namespace/name` of accounts that were given but are invalid (their errors are above).
    invalid_accounts: Vec<String>,
}

/// What was read but is not ours to plan.
#[derive(Default, Debug)]
pub struct Skipped {
    /// Files in the given directories without a manifest extension.
    pub files: Vec<PathBuf>,
    /// Documents of other kinds, counted by kind.
    pub kinds: BTreeMap<String, usize>,
    /// Documents without a `kind` (not Kubernetes objects).
    pub without_kind: usize,
}

impl Skipped {
    /// One line for people, or `None` when nothing was skipped.
    pub fn summary(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.kinds.is_empty() {
            let kinds: Vec<String> = self.kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
            parts.push(format!("documents of other kinds ({})", kinds.join(", ")));
        }
        if self.without_kind > 0 {
            parts.push(format!("{} document(s) without a kind", self.without_kind));
        }
        if !self.files.is_empty() {
            let shown: Vec<String> = self.files.iter().take(5).map(|f| f.display().to_string()).collect();
            let more = self.files.len().saturating_sub(shown.len());
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            parts.push(format!(
                "{} file(s) without a .yaml, .yml or .json extension ({}{more})",
                self.files.len(),
                shown.join(", ")
            ));
        }
        (!parts.is_empty()).then(|| format!("skipped: {}", parts.join("; ")))
    }
}

/// The compiled checks of both kinds, and the namespace of objects that name none.
struct Checks {
    account: Schema,
    task: Schema,
    namespace: String,
}

impl Manifests {
    /// Reads every path (`-`: standard input). Errors in the input are collected in `errors`;
    /// only a CRD this binary cannot compile fails the whole read.
    pub fn read(paths: &[PathBuf]) -> anyhow::Result<Self> {
        Self::read_in(paths, "default")
    }

    /// [`Self::read`], objects without a namespace put in `namespace` (as `kubectl apply -n`).
    pub fn read_in(paths: &[PathBuf], namespace: &str) -> anyhow::Result<Self> {
        let checks = Checks {
            account: Schema::of::<OutboundAccount>()?,
            task: Schema::of::<OutboundTask>()?,
            namespace: namespace.to_string(),
        };
        let mut manifests = Manifests::default();
        let sources = sources::read(paths, &mut manifests.errors, &mut manifests.skipped.files);
        for source in sources {
            manifests.add_documents(&checks, &source.name, &source.text);
        }
        Ok(manifests)
    }

    fn add_documents(&mut self, checks: &Checks, file: &str, text: &str) {
        for (index, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
            let at = format!("{file} (document {})", index + 1);
            let value = serde::Deserialize::deserialize(document)
                .map_err(|e| e.to_string())
                .and_then(|yaml: serde_yaml::Value| serde_json::to_value(yaml).map_err(|e| e.to_string()));
            match value {
                Ok(Value::Null) => {}
                Ok(value) => self.add_value(checks, &at, value),
                Err(error) => self.errors.push(format!("{at}: {error}")),
            }
        }
    }

    fn add_value(&mut self, checks: &Checks, at: &str, value: Value) {
        let kind = match decode::shape(&value) {
            Ok(kind) => kind,
            Err(error) => return self.errors.push(format!("{at}: {}{error}", object_name(&value))),
        };
        match kind {
            Shape::List => {
                let items = value["items"].as_array().cloned().unwrap_or_default();
                for (index, item) in items.into_iter().enumerate() {
                    self.add_value(checks, &format!("{at}, items[{index}]"), item);
                }
            }
            Shape::Other(kind) => *self.skipped.kinds.entry(kind).or_default() += 1,
            Shape::NoKind => self.skipped.without_kind += 1,
            Shape::Ours("OutboundAccount") => match check(&checks.account, &value) {
                Ok(mut account) => {
                    default_namespace(&mut account, &checks.namespace);
                    self.accounts.push(account);
                }
                Err(errors) => {
                    self.invalid_accounts.push(namespaced_name(&value));
                    self.push_errors(at, &value, errors);
                }
            },
            Shape::Ours(_) => match check(&checks.task, &value) {
                Ok(mut task) => {
                    default_namespace(&mut task, &checks.namespace);
                    self.tasks.push(task);
                }
                Err(errors) => self.push_errors(at, &value, errors),
            },
        }
    }

    fn push_errors(&mut self, at: &str, value: &Value, errors: Vec<String>) {
        let object = object_name(value);
        self.errors
            .extend(errors.into_iter().map(|error| format!("{at}: {object}{error}")));
    }

    /// The account a task names, from the same set of manifests.
    pub fn account_of(&self, task: &OutboundTask) -> anyhow::Result<&OutboundAccount> {
        let namespace = task.namespace().unwrap_or_default();
        let name = &task.spec.account_ref.name;
        let found = self
            .accounts
            .iter()
            .find(|a| a.namespace().as_deref() == Some(namespace.as_str()) && a.name_any() == *name);
        let why = if self.invalid_accounts.contains(&format!("{namespace}/{name}")) {
            "names an OutboundAccount that is invalid (its errors are listed above)"
        } else {
            "names no OutboundAccount in the given manifests"
        };
        found.with_context(|| format!("spec.accountRef.name {name:?} {why}"))
    }
}

/// Decodes an object of ours strictly, then checks it against its CRD's schema and CEL rules.
fn check<T: serde::de::DeserializeOwned>(schema: &Schema, value: &Value) -> Result<T, Vec<String>> {
    let decoded = decode::decode::<T>(value);
    let violations: Vec<String> = schema.check(value).iter().map(ToString::to_string).collect();
    match decoded {
        Ok(decoded) if violations.is_empty() => Ok(decoded),
        Ok(_) => Err(violations),
        Err(mut errors) => {
            // Both lists may name the same field (a wrong type); say it once.
            let named: Vec<String> = errors
                .iter()
                .filter_map(|e| e.split(": ").next().map(|field| format!("{field}: ")))
                .collect();
            errors.extend(
                violations
                    .into_iter()
                    .filter(|v| !named.iter().any(|field| v.starts_with(field))),
            );
            Err(errors)
        }
    }
}

/// `OutboundTask default/name: ` for messages (empty when the document has no kind).
fn object_name(value: &Value) -> String {
    match value.get("kind").and_then(Value::as_str) {
        Some(kind) => format!("{kind} {}: ", namespaced_name(value)),
        None => String::new(),
    }
}

fn namespaced_name(value: &Value) -> String {
    let metadata = &value["metadata"];
    format!(
        "{}/{}",
        metadata["namespace"].as_str().unwrap_or("default"),
        metadata["name"].as_str().unwrap_or("(no name)")
    )
}

/// `kubectl apply` puts an object without a namespace in the context's namespace; `plan` has no
/// context and takes `default`, `kubectl outbound plan` the namespace of `-n` or the context.
fn default_namespace<K: kube::Resource>(object: &mut K, namespace: &str) {
    if object.meta().namespace.is_none() {
        object.meta_mut().namespace = Some(namespace.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checks() -> Checks {
        Checks {
            account: Schema::of::<OutboundAccount>().unwrap(),
            task: Schema::of::<OutboundTask>().unwrap(),
            namespace: "default".into(),
        }
    }

    fn read_text(text: &str) -> Manifests {
        let mut manifests = Manifests::default();
        manifests.add_documents(&checks(), "all.yaml", text);
        manifests
    }

    #[test]
    fn reads_multi_document_yaml_and_counts_other_kinds() {
        let text = include_str!("../../../manifests/examples/simulator/secret.yaml").to_string()
            + "\n---\n"
            + include_str!("../../../manifests/examples/simulator/account.yaml")
            + "\n---\n"
            + include_str!("../../../manifests/examples/task-by-variable.yaml");
        let manifests = read_text(&text);
        assert!(manifests.errors.is_empty(), "{:?}", manifests.errors);
        assert_eq!(manifests.accounts.len(), 1);
        assert_eq!(manifests.tasks.len(), 1);
        let task = &manifests.tasks[0];
        assert_eq!(
            manifests.account_of(task).unwrap().name_any(),
            task.spec.account_ref.name
        );
        assert_eq!(
            manifests.skipped.summary().as_deref(),
            Some("skipped: documents of other kinds (1 Secret)")
        );
    }

    #[test]
    fn a_wrong_type_names_the_field_and_the_document_once() {
        let text = "kind: OutboundTask\napiVersion: outbound.dev/v1alpha1\nmetadata: {name: t}\nspec:\n  accountRef: {name: main}\n  taskId: f232d184-dd54-42a0-8ace-0bf8d660f4cc\n  task: {name: n, scriptGroupId: 1, maxConcurrency: two, dialTimeGroupId: 1, schedule: {startTime: '2024-12-23 19:00:00'}}\n";
        let manifests = read_text(text);
        assert_eq!(manifests.errors.len(), 1, "{:?}", manifests.errors);
        let message = &manifests.errors[0];
        assert!(
            message
                .starts_with("all.yaml (document 1): OutboundTask default/t: spec.task.maxConcurrency: invalid type"),
            "{message}"
        );
        assert!(manifests.tasks.is_empty());
    }

    #[test]
    fn list_items_are_read_and_named() {
        let task = include_str!("../../../manifests/examples/task-by-variable.yaml");
        let task: serde_yaml::Value = serde_yaml::from_str(task).unwrap();
        let mut bad = task.clone();
        bad["spec"]["task"]["numberOrdr"] = "Sequential".into();
        let list =
            serde_yaml::to_string(&serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [task, bad]}))
                .unwrap();
        let manifests = read_text(&list);
        assert_eq!(manifests.tasks.len(), 1);
        assert_eq!(
            manifests.errors,
            [
                "all.yaml (document 1), items[1]: OutboundTask default/spring-campaign: spec.task.numberOrdr: unknown field (the CRD has no such field; is it misspelt?)"
            ]
        );
    }

    #[test]
    fn a_task_whose_account_is_missing_or_invalid_is_an_error_naming_the_field() {
        let task = include_str!("../../../manifests/examples/task-by-variable.yaml");
        let manifests = read_text(task);
        let error = manifests.account_of(&manifests.tasks[0]).unwrap_err();
        assert!(error.to_string().contains("spec.accountRef.name"), "{error}");
        let account =
            include_str!("../../../manifests/examples/simulator/account.yaml").replace("baseUrl: http", "baseUrl: ftp");
        let manifests = read_text(&format!("{task}\n---\n{account}"));
        assert_eq!(manifests.errors.len(), 1, "{:?}", manifests.errors);
        let error = manifests.account_of(&manifests.tasks[0]).unwrap_err();
        assert!(error.to_string().contains("is invalid"), "{error}");
    }
}
