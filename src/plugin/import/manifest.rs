//! One remote task as read -> the `OutboundTask` that declares it exactly. The draft of
//! `spec.task` comes from the operator's own comparison ([`import::draft`]); it is then checked
//! as the API server checks it (the CRD's schema and CEL rules, as `plan` does), a setting the
//! API cannot express is dropped and reported (never silently), and the result is compared once
//! more the way the operator compares: anything but "in sync" is an error, not a manifest.

use serde::Serialize;
use serde_json::{Value, json};

use crate::cli::manifests::decode::decode;
use crate::cli::manifests::schema::Schema;
use outbound_api::{Mode, OutboundTask, OutboundTaskSpec, RemoteState, RunState};
use outbound_core::diff::diff;
use outbound_core::mapping::import::{self, ALWAYS_OWNED};
use outbound_core::mapping::{Field, describe_state, desired_fields, observed_fields, remote_state};
use outbound_core::wire::TaskDetail;

/// What every imported object shares.
pub struct Target {
    pub namespace: Option<String>,
    pub account: String,
    pub sub_user_id: Option<String>,
    pub mode: Mode,
}

/// One task's spec and what the person should know about it.
pub struct Imported {
    pub spec: OutboundTaskSpec,
    /// Settings the platform returned that the API cannot express (left unset, not owned).
    pub dropped: Vec<String>,
    /// Values the import chose, and a run state it could not tell.
    pub notes: Vec<String>,
}

/// The spec of the task `task_id` as read in `detail`, or why it cannot be imported.
pub fn import(schema: &Schema, target: &Target, task_id: &str, detail: &TaskDetail) -> Result<Imported, String> {
    let draft = import::draft(detail);
    let mut notes = draft.notes;
    let run_state = match remote_state(detail) {
        RemoteState::Running | RemoteState::Waiting => Some(RunState::Running),
        RemoteState::Paused => Some(RunState::Paused),
        RemoteState::Unknown => {
            notes.push(format!(
                "spec.runState: left unset, the run state read is unknown ({}); the operator keeps whatever state the task has",
                describe_state(detail)
            ));
            None
        }
    };
    let mut spec = json!({
        "accountRef": {"name": target.account},
        "taskId": task_id,
        "mode": target.mode,
        "task": draft.task,
    });
    if let Some(sub_user_id) = &target.sub_user_id {
        spec["subUserId"] = sub_user_id.clone().into();
    }
    if let Some(run_state) = run_state {
        spec["runState"] = serde_json::to_value(run_state).expect("an enum serialises");
    }
    let mut dropped = Vec::new();
    let decoded = loop {
        let object = json!({
            "apiVersion": "outbound.dev/v1alpha1",
            "kind": "OutboundTask",
            "metadata": {"name": "imported", "namespace": target.namespace.as_deref().unwrap_or("default")},
            "spec": spec,
        });
        let violations: Vec<(String, String)> = match decode::<OutboundTask>(&object) {
            Err(errors) => errors.iter().map(|e| split_error(e)).collect(),
            Ok(_) => schema.check(&object).into_iter().map(|v| (v.path, v.message)).collect(),
        };
        let Some((path, message)) = violations.into_iter().next() else {
            break decode::<OutboundTask>(&object).map_err(|e| e.join("; "))?;
        };
        let field = culprit(&spec["task"], &path).ok_or_else(|| format!("{path}: {message}"))?;
        let value = import::remove_field(&mut spec["task"], field).expect("the culprit is in the draft");
        dropped.push(format!(
            "{}: the platform's value {value} cannot be expressed ({message}); left unset",
            field.path()
        ));
    };
    // The operator's own comparison: what it will read must equal what is declared.
    let differences = diff(&desired_fields(&decoded.spec.task), &observed_fields(detail));
    if !differences.is_empty() {
        let listed: Vec<String> = differences.iter().map(ToString::to_string).collect();
        return Err(format!("would not be in sync once applied: {}", listed.join("; ")));
    }
    Ok(Imported {
        spec: decoded.spec,
        dropped,
        notes,
    })
}

/// `spec.task.endAction: unknown variant ...` -> (path, message).
fn split_error(error: &str) -> (String, String) {
    match error.split_once(": ") {
        Some((path, message)) => (path.to_string(), message.to_string()),
        None => (String::new(), error.to_string()),
    }
}

/// The optional field of the draft to drop for a violation at `path`: the field itself, or for a
/// rule about a list the script selection asks for (`scriptSelection: ByTime` without
/// `scriptsByTime`), the selection. `None`: nothing can be dropped (a required field, or a
/// violation outside `spec.task`).
fn culprit(task: &Value, path: &str) -> Option<Field> {
    let field = import::field_of_path(path)?;
    let present = |f: Field| {
        let mut draft = task.clone();
        import::remove_field(&mut draft, f).is_some()
    };
    let field = match field {
        Field::ScriptsByTime | Field::ScriptsByVariable | Field::MultiScript if !present(field) => {
            Field::ScriptSelection
        }
        other => other,
    };
    (!ALWAYS_OWNED.contains(&field) && present(field)).then_some(field)
}

/// An imported object as written: apiVersion, kind, metadata, spec, in that order; no status.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest<'a> {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: Metadata<'a>,
    pub spec: &'a OutboundTaskSpec,
}

#[derive(Serialize)]
pub struct Metadata<'a> {
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<&'a str>,
}

impl<'a> Manifest<'a> {
    pub fn new(name: &'a str, namespace: Option<&'a str>, spec: &'a OutboundTaskSpec) -> Self {
        Manifest {
            api_version: "outbound.dev/v1alpha1",
            kind: "OutboundTask",
            metadata: Metadata { name, namespace },
            spec,
        }
    }

    pub fn yaml(&self) -> String {
        serde_yaml::to_string(self).expect("a manifest serialises")
    }
}
