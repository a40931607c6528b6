//! Status of both kinds: kstatus-compatible conditions, the drift list and the operation journal.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// Condition types.
pub mod condition {
    /// True when the remote task equals spec and is in the desired run state.
    pub const READY: &str = "Ready";
    /// Did the last reconcile succeed.
    pub const SYNCED: &str = "Synced";
    /// True while work is in progress (kstatus).
    pub const RECONCILING: &str = "Reconciling";
    /// True when progress needs a human (kstatus).
    pub const STALLED: &str = "Stalled";
    /// On an account: True while other accounts reach the same platform user (base URL and user
    /// id) and share its budget, at the tightest of their settings (the message says which).
    pub const BUDGET_SHARED: &str = "BudgetShared";
}

/// Observed state of an OutboundTask.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("!has(oldSelf.taskId) || has(self.taskId)").message("status.taskId cannot be removed once set").field_path(".taskId"))]
pub struct OutboundTaskStatus {
    /// The id of the remote task in use: `spec.taskId`, or the id of the task the operator
    /// created. Immutable once set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("status.taskId is immutable"))]
    pub task_id: Option<String>,

    /// Present while a create is in flight or its outcome is unknown: written before the create
    /// call, so that after a crash, a lost answer or a timeout the operator looks the task up
    /// (by name, among tasks created since) before it ever creates again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_intent: Option<CreateIntent>,

    /// Generation of the spec the controller last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Ready, Synced, Reconciling and Stalled (metav1.Condition).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// Run state of the remote task when last read (platform status 2/3/1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_state: Option<RemoteState>,

    /// Last time the remote task was read and found (or made) equal to spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<Time>,

    /// Current differences between spec and the remote task (at most 20; values shortened).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub drift: Vec<DriftEntry>,

    /// Present only while an update is in flight. Written before the pause, so a restarted
    /// controller finishes the job and never leaves a running task paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,

    /// With `operation`: the platform user it runs against (the account's `baseUrl` and
    /// `userId` when the journal was written). An account moved to another platform user cannot
    /// reach a campaign paused through this one: the task is then Stalled (`AccountMoved`)
    /// rather than read, or let go, elsewhere. Absent in journals of earlier versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_platform: Option<String>,

    /// Consecutive updates that left the same difference behind (the convergence guard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convergence: Option<Convergence>,

    /// Consecutive reconciles whose update the platform refused as "task started" (code 6007)
    /// after every retry; at `--started-stall-after` (default 3) the task is Stalled with reason
    /// NotPausable until the spec changes or a reconcile is requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub still_started: Option<StillStarted>,

    /// Consecutive reads that found the task's run state unknown; the re-read delay grows with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub unknown_reads: Option<i32>,

    /// Echo of the `reconcile.fluxcd.io/requestedAt` annotation once handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// Run state of the remote task.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RemoteState {
    /// Dialing (platform status 2).
    Running,
    /// Enabled, waiting for its schedule (platform status 3).
    Waiting,
    /// Paused or stopped (platform status 1).
    Paused,
    /// The platform's state fields were missing or contradicted each other.
    Unknown,
}

impl RemoteState {
    /// Started tasks (running or waiting) refuse updates with code 6007.
    pub fn is_started(self) -> bool {
        matches!(self, Self::Running | Self::Waiting)
    }
}

/// One difference between spec and the remote task.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct DriftEntry {
    /// CRD field path, e.g. `spec.task.maxConcurrency`.
    pub field: String,
    /// Desired value (shortened).
    pub desired: String,
    /// Value on the platform (shortened).
    pub observed: String,
}

/// Step of an update in flight.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperationPhase {
    /// The task is being paused.
    Pausing,
    /// The settings are being written.
    Updating,
    /// The task is being resumed.
    Resuming,
}

/// The journal of an update in flight.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// Step reached.
    pub phase: OperationPhase,
    /// Resume the task once updated (it was started before, or runState is Running).
    pub resume_after: bool,
    /// When the operation started.
    pub started_at: Time,
    /// Generation of the spec being applied.
    pub generation: i64,
}

/// A create call in flight, or one whose outcome is not known yet.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CreateIntent {
    /// When the create call was about to be sent: tasks of the same name listed as created
    /// (`create_datetime`) before this, minus the account's skew margin, are not ours.
    pub started_at: Time,
    /// Generation of the spec being created.
    pub generation: i64,
    /// The platform answered success without the new task's id: the task exists, so it is only
    /// ever looked up, never created again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub acknowledged: bool,
    /// The remote name the task was created with: the lookup searches this name, not the
    /// spec's, which may have been renamed since. Absent in intents of earlier versions (then
    /// the spec's name and `subUserId` are used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The sub-account the task was created under (with `name`; absent: the main account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_user_id: Option<String>,
    /// When the create's outcome became unknown (its answer lost or timed out, or found
    /// unanswered after a restart): the list grace is counted from here, not from `startedAt`, so
    /// time spent queueing for the rate budget or waiting for the answer does not use it up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_since: Option<Time>,
}

/// Convergence guard state.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Convergence {
    /// Fingerprint of the difference that remained after an update.
    pub fingerprint: String,
    /// Successful updates that left this same difference behind.
    pub attempts: i32,
}

/// Updates refused as "task started" after every retry, for one generation.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StillStarted {
    /// Generation of the spec whose update was refused.
    pub generation: i64,
    /// Consecutive reconciles so refused.
    pub reconciles: i32,
}

/// Observed state of an OutboundAccount.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct AccountStatus {
    /// Generation of the spec last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready: the token Secret exists and the platform accepted it on the last call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}
