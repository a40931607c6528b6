//! Classified failures and the events the planner promises.

use crate::diff::shorten;

/// Why a reconcile did not reach the desired state. The controller classifies what it saw (a
/// missing object, an HTTP status, an error envelope); the planner produces the last two.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The OutboundAccount named by `spec.accountRef` does not exist.
    AccountNotFound,
    /// The token Secret (or its key) named by the account does not exist.
    SecretNotFound,
    /// The platform refused the token.
    Unauthorized,
    /// The platform does not know `spec.taskId` (for `spec.subUserId`).
    TaskNotFound,
    /// The platform answered 404 to a write (this endpoint: `pause`, `update`, `resume`) for a
    /// task it reads: most likely the account's path for that call is wrong (the platform's
    /// paths are partly inferred), or the task was deleted meanwhile.
    EndpointNotFound(&'static str),
    /// The platform refused the update; its message.
    Rejected(String),
    /// The OutboundAccount cannot be used as written (its base URL, its endpoints, ...): found
    /// here, before any call; what is wrong.
    InvalidAccount(String),
    /// The platform answered 429 on every attempt, or with a `Retry-After` longer than the client
    /// waits inline: retried later. (The account's own budget never fails a call: it waits.)
    Throttled,
    /// A transient failure of a platform call: network, 5xx, an unexpected body, a pause that did
    /// not take effect.
    Transient(String),
    /// A write to the Kubernetes API that had to come before any platform call (the operation
    /// journal, the create intent) failed: nothing was done on the platform; retried.
    KubeWrite(String),
    /// The task's state fields were missing or contradicted each other (the evidence); nothing
    /// was written.
    RemoteStateUnknown(String),
    /// The same difference survived N successful updates: the platform ignores these fields.
    NotConverged(Vec<String>),
    /// The update was still answered "task started" (code 6007) after every retry (the number of
    /// 6007 answers): transient, retried on a later reconcile.
    StillStarted(u32),
    /// [`Failure::StillStarted`] in this many consecutive reconciles: something keeps restarting
    /// the task, or its pause never takes effect. Held until the spec changes or a reconcile is
    /// requested, so the campaign is not interrupted again and again for nothing.
    NotPausable(u32),
    /// The platform refused to create the task; its message. Held for the generation.
    CreateRejected(String),
    /// More than one task of this name was created since the create intent: which is ours is
    /// not guessed; nothing more is created.
    AmbiguousName { name: String, ids: Vec<String> },
    /// `mode: Observe` and no task id: there is nothing to observe, and Observe never creates.
    NoTaskToObserve,
    /// Another OutboundTask (this `namespace/name`), the first claimant, manages the same remote
    /// task (`planner::holder`): this one makes no platform call until that one goes.
    TaskClaimed(String),
    /// A journal holds a campaign paused through the platform user `was` (`baseUrl`, `userId`),
    /// and the account now reaches `now`: the campaign cannot be resumed from there, so nothing is
    /// read or written until a person sets the account back or finishes by hand.
    AccountMoved { was: String, now: String },
}

impl Failure {
    /// Reason of the `Synced=False` condition.
    pub fn synced_reason(&self) -> &'static str {
        match self {
            Failure::AccountNotFound => "AccountNotFound",
            Failure::SecretNotFound => "SecretNotFound",
            Failure::Unauthorized => "Unauthorized",
            Failure::TaskNotFound => "TaskNotFound",
            Failure::EndpointNotFound(_) => "EndpointNotFound",
            Failure::Rejected(_) | Failure::NotConverged(_) => "RemoteRejected",
            Failure::InvalidAccount(_) => "InvalidAccount",
            Failure::Throttled => "Throttled",
            Failure::Transient(_) | Failure::RemoteStateUnknown(_) | Failure::StillStarted(_) => "RemoteError",
            Failure::KubeWrite(_) => "KubernetesError",
            Failure::NotPausable(_) => "NotPausable",
            Failure::CreateRejected(_) => "CreateRejected",
            Failure::AmbiguousName { .. } => "AmbiguousName",
            Failure::NoTaskToObserve => "NoTaskToObserve",
            Failure::TaskClaimed(_) => "TaskClaimed",
            Failure::AccountMoved { .. } => "AccountMoved",
        }
    }

    /// Whether progress needs a human (`Stalled=True`): a spec the platform rejects, a token it
    /// refuses, a task it does not know, a field it ignores. Missing Account/Secret objects are
    /// not stalls: they are usually applied a moment later (GitOps ordering), and their watch
    /// brings the task back.
    pub fn stalls(&self) -> bool {
        matches!(
            self,
            Failure::Rejected(_)
                | Failure::InvalidAccount(_)
                | Failure::Unauthorized
                | Failure::TaskNotFound
                | Failure::EndpointNotFound(_)
                | Failure::NotConverged(_)
                | Failure::NotPausable(_)
                | Failure::CreateRejected(_)
                | Failure::AmbiguousName { .. }
                | Failure::NoTaskToObserve
                | Failure::TaskClaimed(_)
                | Failure::AccountMoved { .. }
        )
    }

    /// Reason of the `Stalled=True` condition (and of the Warning event).
    pub fn stalled_reason(&self) -> &'static str {
        match self {
            Failure::NotConverged(_) => "NotConverged",
            Failure::RemoteStateUnknown(_) => "RemoteStateUnknown",
            other => other.synced_reason(),
        }
    }

    /// A message for conditions and events: what happened and what to do. Never a secret.
    pub fn message(&self) -> String {
        let text = match self {
            Failure::AccountNotFound => "the OutboundAccount named by spec.accountRef does not exist".into(),
            Failure::SecretNotFound => {
                "the token Secret named by the OutboundAccount does not exist or lacks its key".into()
            }
            Failure::Unauthorized => "the platform refused the token; update the account's token Secret".into(),
            Failure::TaskNotFound => {
                "the platform has no task with spec.taskId (check spec.taskId and spec.subUserId)".into()
            }
            Failure::EndpointNotFound(call) => format!(
                "the platform answered 404 to the {call} call for a task it reads: check spec.endpoints.{call} of the \
                 OutboundAccount (the platform's paths are partly inferred), or whether the task was deleted"
            ),
            Failure::Rejected(message) => format!("the platform rejected the update: {message}"),
            Failure::InvalidAccount(message) => format!("{message}; fix the OutboundAccount"),
            Failure::Throttled => "throttled; retrying later".into(),
            Failure::Transient(message) => format!("platform call failed: {message}"),
            Failure::KubeWrite(message) => format!("{message}; nothing was done on the platform, retrying"),
            Failure::RemoteStateUnknown(evidence) => {
                format!("the task's run state is unknown ({evidence}); nothing written, re-reading soon")
            }
            Failure::NotConverged(fields) => format!(
                "the platform keeps a different value after repeated identical updates: {}; fix spec or the platform, \
                 then change spec or request a reconcile",
                fields.join(", ")
            ),
            Failure::StillStarted(attempts) => format!(
                "platform call failed: the platform still reports the task started (code 6007) after {attempts} \
                 update attempt(s); someone may be restarting it"
            ),
            Failure::NotPausable(reconciles) => format!(
                "the platform refused the update because the task is started (code 6007) after every retry of \
                 {reconciles} consecutive reconciles: something keeps restarting the task or its pause does not take \
                 effect; stop it, then change spec or request a reconcile"
            ),
            Failure::CreateRejected(message) => {
                format!(
                    "{}{message}{}",
                    super::create::CREATE_REJECTED,
                    super::create::REJECTED_HINT
                )
            }
            Failure::AmbiguousName { name, ids } => format!(
                "{} tasks named {name:?} were created since the create intent ({}): which one is ours is not \
                 guessed and nothing more is created; delete the extra ones on the platform, or set spec.taskId",
                ids.len(),
                ids.join(", ")
            ),
            Failure::NoTaskToObserve => {
                "mode: Observe and no spec.taskId: there is no task to observe (Observe never creates one)".into()
            }
            Failure::TaskClaimed(holder) => format!(
                "OutboundTask {holder}, created earlier, manages the same remote task (same platform account and \
                 taskId): this one makes no platform call while it does; delete one of the two, or point this one at \
                 another task"
            ),
            Failure::AccountMoved { was, now } => format!(
                "the operator paused this campaign for an update through {was}, and the OutboundAccount now reaches                  {now}, where it cannot resume it: set the account's baseUrl and userId back until status.operation                  is gone, or resume the campaign in the console and remove status.operation                  (kubectl patch --subresource=status)"
            ),
        };
        shorten(&text, 1024)
    }

    /// One failure of each kind, for checks that must cover every reason (the troubleshooting
    /// table lists each). A new kind fails to compile in `Failure::kind_index` until it is
    /// added there and here.
    pub fn one_of_each() -> Vec<Failure> {
        let text = || String::from("x");
        let all = vec![
            Failure::AccountNotFound,
            Failure::SecretNotFound,
            Failure::Unauthorized,
            Failure::TaskNotFound,
            Failure::Rejected(text()),
            Failure::InvalidAccount(text()),
            Failure::Throttled,
            Failure::Transient(text()),
            Failure::KubeWrite(text()),
            Failure::RemoteStateUnknown(text()),
            Failure::NotConverged(vec![text()]),
            Failure::StillStarted(1),
            Failure::NotPausable(1),
            Failure::CreateRejected(text()),
            Failure::AmbiguousName {
                name: text(),
                ids: vec![text()],
            },
            Failure::NoTaskToObserve,
            Failure::EndpointNotFound("resume"),
            Failure::TaskClaimed(text()),
            Failure::AccountMoved {
                was: text(),
                now: text(),
            },
        ];
        debug_assert!(all.iter().enumerate().all(|(i, f)| f.kind_index() == i));
        all
    }

    /// The position of this kind in [`Failure::one_of_each`] (an exhaustive match).
    fn kind_index(&self) -> usize {
        match self {
            Failure::AccountNotFound => 0,
            Failure::SecretNotFound => 1,
            Failure::Unauthorized => 2,
            Failure::TaskNotFound => 3,
            Failure::Rejected(_) => 4,
            Failure::InvalidAccount(_) => 5,
            Failure::Throttled => 6,
            Failure::Transient(_) => 7,
            Failure::KubeWrite(_) => 8,
            Failure::RemoteStateUnknown(_) => 9,
            Failure::NotConverged(_) => 10,
            Failure::StillStarted(_) => 11,
            Failure::NotPausable(_) => 12,
            Failure::CreateRejected(_) => 13,
            Failure::AmbiguousName { .. } => 14,
            Failure::NoTaskToObserve => 15,
            Failure::EndpointNotFound(_) => 16,
            Failure::TaskClaimed(_) => 17,
            Failure::AccountMoved { .. } => 18,
        }
    }

    /// The Warning event for this failure.
    pub fn event(&self) -> PlannedEvent {
        PlannedEvent {
            type_: EventType::Warning,
            reason: self.stalled_reason(),
            note: self.message(),
            after_action: None,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// Kubernetes event type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

/// An event to publish. Normal events of a plan carry the index of the action after whose
/// success they are published, or none: published before the plan's first platform call
/// (`EnforcingChanges`); Warning events come from failures ([`Failure::event`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedEvent {
    pub type_: EventType,
    /// `Paused`, `Updated`, `Resumed`, `DriftCorrected`, `EnforcingChanges`, or a failure reason.
    pub reason: &'static str,
    pub note: String,
    /// Publish once the action with this index has succeeded; in a plan, `None` means before
    /// its first platform call.
    pub after_action: Option<usize>,
}

/// Normal event reasons.
pub mod reasons {
    pub const PAUSED: &str = "Paused";
    pub const UPDATED: &str = "Updated";
    pub const RESUMED: &str = "Resumed";
    pub const DRIFT_CORRECTED: &str = "DriftCorrected";
    /// The mode was switched from Observe to Enforce: what will change, before the first call.
    pub const ENFORCING_CHANGES: &str = "EnforcingChanges";
    pub const CREATED: &str = "Created";
    pub const DELETED: &str = "Deleted";
    /// An operation stopped before a call because a person changed the object meanwhile.
    pub const SUPERSEDED: &str = "Superseded";
}
