// Each `printcolumn(...)` repeats `type_ = "string"`; clippy reads that as a duplicated attribute.
#![allow(clippy::duplicated_attributes)]

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::status::OutboundTaskStatus;
use super::task_settings::TaskSettings;

/// One remote task on the calling platform, adopted by its id (or created when `spec.taskId` is
/// unset), whose settings the operator owns: it reads the task, and when it differs from
/// `spec.task` it pauses it, updates it and resumes it.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "outbound.dev",
    version = "v1alpha1",
    kind = "OutboundTask",
    doc = "One remote task (campaign) on the calling platform, adopted by its id or created when spec.taskId is unset, whose settings the operator keeps equal to spec.task (pausing, updating and resuming it as needed).",
    validation = kube::core::Rule::new("has(oldSelf.spec.taskId) || !has(self.spec.taskId) || (has(oldSelf.status) && has(oldSelf.status.taskId) && self.spec.taskId == oldSelf.status.taskId)").message("spec.taskId may only be set later to status.taskId (the task the operator created)").field_path(".spec.taskId"),
    validation = kube::core::Rule::new("!(has(oldSelf.spec.taskId) || (has(oldSelf.status) && has(oldSelf.status.taskId))) || (has(self.spec.subUserId) ? (has(oldSelf.spec.subUserId) && self.spec.subUserId == oldSelf.spec.subUserId) : !has(oldSelf.spec.subUserId))").message("spec.subUserId is immutable once the task is known (spec.taskId or status.taskId): the task lives in one sub-account").field_path(".spec.subUserId"),
    namespaced,
    status = "OutboundTaskStatus",
    shortname = "otask",
    category = "outbound",
    printcolumn(name = "TASK", type_ = "string", json_path = ".status.taskId"),
    printcolumn(name = "REMOTE", type_ = "string", json_path = ".status.remoteState"),
    printcolumn(
        name = "READY",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "SYNCED",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Synced\")].status"
    ),
    printcolumn(
        name = "REASON",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(name = "AGE", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("!has(oldSelf.taskId) || has(self.taskId)").message("spec.taskId cannot be removed once set").field_path(".taskId"))]
pub struct OutboundTaskSpec {
    /// The OutboundAccount (same namespace) through which the task is reached. Immutable.
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("spec.accountRef is immutable"))]
    pub account_ref: AccountRef,

    /// Remote task id (UUID), the `{task_id}` path parameter: the task to adopt. Unset: the
    /// operator creates the task and reports its id in `status.taskId`. Immutable once set (a
    /// different task is a different OutboundTask); it may be set later only to `status.taskId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = super::patterns::UUID))]
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("spec.taskId is immutable"))]
    pub task_id: Option<String>,

    /// Sub-account (UUID) that owns the task. API field: sub_user_id (query on GET, body on PUT).
    /// Immutable once the task is known (`spec.taskId` or `status.taskId`): another sub-account
    /// would address another task, and a campaign the operator holds paused could not be reached
    /// to resume it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = super::patterns::UUID))]
    pub sub_user_id: Option<String>,

    /// Run state the task must have after every update. Unset: keep the state the task had.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_state: Option<RunState>,

    /// Stop reconciling this task entirely (no reads, no writes) until set back to false.
    #[serde(default)]
    pub suspend: bool,

    /// `Enforce` corrects differences; `Observe` only reads and reports them as drift.
    #[serde(default)]
    pub mode: Mode,

    /// How often the remote task is read to detect drift (a duration, at least `30s`); jittered.
    #[serde(default = "default_resync")]
    #[schemars(regex(pattern = super::patterns::DURATION))]
    #[x_kube(validation = kube::core::Rule::new("duration(self) >= duration('30s')").message("spec.resyncInterval must be at least 30s"))]
    pub resync_interval: String,

    /// What deleting this object does to the remote task: `Orphan` leaves it alone; `Pause`
    /// pauses it first; `Delete` pauses it, then deletes it (both through a finalizer). In
    /// `mode: Observe` or with `suspend: true`, deletion makes no platform write whatever this
    /// says. In every mode, a campaign the operator paused for an unfinished update is resumed
    /// before the object goes, unless `runState` is `Paused`. If the account or its token Secret
    /// is gone, deletion gives up after 30s with a `DeletionIncomplete` Warning.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// The remote task's settings (API: the body of the task update call).
    pub task: TaskSettings,
}

/// Reference to an OutboundAccount in the same namespace.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
pub struct AccountRef {
    /// Name of the OutboundAccount.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// Desired run state of the remote task.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// Dialing (or waiting for its schedule): resumed after every update.
    Running,
    /// Paused: left paused after every update, and paused if found running.
    Paused,
}

/// Whether the operator writes.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// Correct every difference (pause, update, resume).
    #[default]
    Enforce,
    /// Read and report differences as drift; never write to the platform.
    Observe,
}

/// What happens to the remote task when the OutboundTask is deleted.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DeletionPolicy {
    /// Leave the remote task as it is; no call to the platform.
    #[default]
    Orphan,
    /// Pause the remote task before the object goes away.
    Pause,
    /// Pause the remote task, then delete it (`endpoints.delete`, a path the platform documents
    /// for v1 tasks only), before the object goes away.
    Delete,
}

fn default_resync() -> String {
    "5m".into()
}

impl OutboundTask {
    /// The id of the remote task in use: `spec.taskId` (adopted), else `status.taskId` (created
    /// by the operator). `None`: the task is still to be created.
    pub fn remote_id(&self) -> Option<&str> {
        self.spec
            .task_id
            .as_deref()
            .or_else(|| self.status.as_ref().and_then(|s| s.task_id.as_deref()))
    }
}

impl OutboundTaskSpec {
    /// The resync period; the schema guarantees the format, so a parse failure falls back to the
    /// default rather than stopping reconciliation.
    pub fn resync_period(&self) -> std::time::Duration {
        humantime::parse_duration(&self.resync_interval)
            .unwrap_or(std::time::Duration::from_secs(300))
            .max(std::time::Duration::from_secs(30))
    }
}
