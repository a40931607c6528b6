//! Reading OutboundAccount and OutboundTask manifests from files and directories (multi-document
//! YAML or JSON), as `outbound-operator plan -f` does. Errors name the file, the document and the
//! field.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use kube::ResourceExt;
use serde::de::DeserializeOwned;

use outbound_api::{OutboundAccount, OutboundTask};

#[derive(Debug, Default)]
pub struct Manifests {
    pub accounts: Vec<OutboundAccount>,
    pub tasks: Vec<OutboundTask>,
}

impl Manifests {
    /// Reads every path; a directory contributes its `.yaml`, `.yml` and `.json` files (sorted,
    /// not recursive). Documents of other kinds (Secrets, Namespaces...) are skipped.
    pub fn read(paths: &[PathBuf]) -> anyhow::Result<Self> {
        let mut manifests = Manifests::default();
        for path in paths {
            for file in files_of(path)? {
                let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
                manifests.add_documents(&file, &text)?;
            }
        }
        Ok(manifests)
    }

    fn add_documents(&mut self, file: &Path, text: &str) -> anyhow::Result<()> {
        for (index, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
            let at = || format!("{} (document {})", file.display(), index + 1);
            let value = serde_yaml::Value::deserialize_from(document).with_context(at)?;
            if value.is_null() {
                continue;
            }
            let kind = value.get("kind").and_then(|k| k.as_str()).unwrap_or_default();
            match kind {
                "OutboundAccount" => {
                    let mut account: OutboundAccount = decode(value).with_context(at)?;
                    default_namespace(&mut account.metadata.namespace);
                    self.accounts.push(account);
                }
                "OutboundTask" => {
                    let mut task: OutboundTask = decode(value).with_context(at)?;
                    default_namespace(&mut task.metadata.namespace);
                    self.tasks.push(task);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The account a task names, from the same set of manifests.
    pub fn account_of(&self, task: &OutboundTask) -> anyhow::Result<&OutboundAccount> {
        let namespace = task.namespace();
        self.accounts
            .iter()
            .find(|a| a.namespace() == namespace && a.name_any() == task.spec.account_ref.name)
            .with_context(|| {
                format!(
                    "OutboundTask {}/{}: spec.accountRef.name {:?} names no OutboundAccount in the given manifests",
                    namespace.unwrap_or_default(),
                    task.name_any(),
                    task.spec.account_ref.name
                )
            })
    }
}

trait DeserializeFrom: Sized {
    fn deserialize_from(document: serde_yaml::Deserializer<'_>) -> Result<Self, serde_yaml::Error>;
}

impl DeserializeFrom for serde_yaml::Value {
    fn deserialize_from(document: serde_yaml::Deserializer<'_>) -> Result<Self, serde_yaml::Error> {
        serde::Deserialize::deserialize(document)
    }
}

/// Decodes with the failing field's path in the error (e.g. `spec.task.maxConcurrency: invalid
/// type: string "two", expected i32`).
fn decode<T: DeserializeOwned>(value: serde_yaml::Value) -> anyhow::Result<T> {
    match serde_path_to_error::deserialize(value) {
        Ok(decoded) => Ok(decoded),
        Err(error) => bail!("{}: {}", error.path(), error.inner()),
    }
}

fn default_namespace(namespace: &mut Option<String>) {
    if namespace.is_none() {
        *namespace = Some("default".into());
    }
}

fn files_of(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("reading directory {}", path.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")))
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_multi_document_yaml_and_skips_other_kinds() {
        let mut manifests = Manifests::default();
        let text = include_str!("../../manifests/examples/simulator/secret.yaml").to_string()
            + "\n---\n"
            + include_str!("../../manifests/examples/simulator/account.yaml")
            + "\n---\n"
            + include_str!("../../manifests/examples/task-by-variable.yaml");
        manifests.add_documents(Path::new("all.yaml"), &text).unwrap();
        assert_eq!(manifests.accounts.len(), 1);
        assert_eq!(manifests.tasks.len(), 1);
        let task = &manifests.tasks[0];
        assert_eq!(
            manifests.account_of(task).unwrap().name_any(),
            task.spec.account_ref.name
        );
    }

    #[test]
    fn a_wrong_type_names_the_field_and_the_document() {
        let text = "kind: OutboundTask\napiVersion: outbound.dev/v1alpha1\nmetadata: {name: t}\nspec:\n  accountRef: {name: main}\n  taskId: f232d184-dd54-42a0-8ace-0bf8d660f4cc\n  task: {name: n, scriptGroupId: 1, maxConcurrency: two, dialTimeGroupId: 1, schedule: {startTime: '2024-12-23 19:00:00'}}\n";
        let error = Manifests::default()
            .add_documents(Path::new("bad.yaml"), text)
            .unwrap_err();
        let message = format!("{error:#}");
        assert!(message.contains("spec.task.maxConcurrency"), "{message}");
        assert!(message.contains("bad.yaml (document 1)"), "{message}");
    }

    #[test]
    fn a_task_whose_account_is_missing_is_an_error_naming_the_field() {
        let mut manifests = Manifests::default();
        manifests
            .add_documents(
                Path::new("t.yaml"),
                include_str!("../../manifests/examples/task-by-variable.yaml"),
            )
            .unwrap();
        let error = manifests.account_of(&manifests.tasks[0]).unwrap_err();
        assert!(error.to_string().contains("spec.accountRef.name"), "{error}");
    }
}
