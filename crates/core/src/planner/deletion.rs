//! What the operator owes a remote task when its object is deleted ([`owed_at_deletion`]), and
//! how long it keeps trying when it cannot reach the platform at all ([`gives_up`]).
//!
//! # Guarantees
//!
//! - Observe and suspend never write at deletion, whatever `deletionPolicy` says (Crossplane's
//!   Observe-only policy orphans; Flux collects no garbage while suspended).
//! - The one exception, in every mode: a campaign the operator itself paused and still holds
//!   paused (a journal with `resumeAfter`) is resumed before the object goes, unless the latest
//!   spec says `runState: Paused`. A running campaign is never left paused by us, and a person's
//!   "stop" is never undone.

use std::time::Duration;

use outbound_api::{DeletionPolicy, Mode, OutboundTaskSpec, OutboundTaskStatus};

use super::{Failure, has_resume_debt};

/// What deletion must do to the remote task before the finalizer goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owed {
    /// Nothing: the finalizer goes without a platform call.
    Nothing,
    /// Pause it if started (`deletionPolicy: Pause`).
    Pause,
    /// Pause it if started, then delete it (`deletionPolicy: Delete`).
    PauseAndDelete,
    /// Resume it: the operator paused it for an operation that did not finish.
    Resume,
}

impl Owed {
    /// The verb of a Warning that says it could not be done.
    pub fn verb(self) -> &'static str {
        match self {
            Owed::Nothing => "leave",
            Owed::Pause => "pause",
            Owed::PauseAndDelete => "pause and delete",
            Owed::Resume => "resume",
        }
    }
}

/// What deleting an object with `spec` and `status` owes its remote task (see the guarantees).
pub fn owed_at_deletion(spec: &OutboundTaskSpec, status: &OutboundTaskStatus) -> Owed {
    let writes = spec.mode != Mode::Observe && !spec.suspend;
    match spec.deletion_policy {
        DeletionPolicy::Pause if writes => Owed::Pause,
        DeletionPolicy::Delete if writes => Owed::PauseAndDelete,
        _ if has_resume_debt(spec, status.operation.as_ref()) => Owed::Resume,
        _ => Owed::Nothing,
    }
}

/// Whether the finalizer must be on the object before anything else is done: deletion may owe
/// the remote task something.
pub fn finalizer_wanted(spec: &OutboundTaskSpec, status: &OutboundTaskStatus) -> bool {
    owed_at_deletion(spec, status) != Owed::Nothing
}

/// How long deletion keeps trying when the platform cannot be reached for want of the account or
/// its token (both gone, as in a namespace deletion), before the finalizer gives up.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(30);

/// Whether deletion, failing with `failure` after `since_deletion`, lets the object go with what it
/// owed undone: only when nothing but a person can bring the account or token back, and that has
/// not happened within [`GIVE_UP_AFTER`]. A platform error keeps the finalizer (and retries).
pub fn gives_up(failure: &Failure, since_deletion: Duration) -> bool {
    matches!(
        failure,
        Failure::AccountNotFound | Failure::SecretNotFound | Failure::InvalidAccount(_)
    ) && since_deletion >= GIVE_UP_AFTER
}

#[cfg(test)]
mod tests {
    use outbound_api::{Operation, OperationPhase, RunState};

    use super::*;

    fn spec(policy: DeletionPolicy, mode: Mode, suspend: bool, run_state: Option<RunState>) -> OutboundTaskSpec {
        let mut spec = crate::mapping::fixtures::spec();
        spec.deletion_policy = policy;
        spec.mode = mode;
        spec.suspend = suspend;
        spec.run_state = run_state;
        spec
    }

    fn journal(resume_after: bool) -> OutboundTaskStatus {
        OutboundTaskStatus {
            operation: Some(Operation {
                phase: OperationPhase::Updating,
                resume_after,
                started_at: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::UNIX_EPOCH),
                generation: 1,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn observe_and_suspend_owe_nothing_whatever_the_policy() {
        let none = OutboundTaskStatus::default();
        for policy in [DeletionPolicy::Orphan, DeletionPolicy::Pause, DeletionPolicy::Delete] {
            assert_eq!(
                owed_at_deletion(&spec(policy, Mode::Observe, false, None), &none),
                Owed::Nothing
            );
            assert_eq!(
                owed_at_deletion(&spec(policy, Mode::Enforce, true, None), &none),
                Owed::Nothing
            );
            assert!(!finalizer_wanted(&spec(policy, Mode::Observe, false, None), &none));
        }
        assert_eq!(
            owed_at_deletion(&spec(DeletionPolicy::Pause, Mode::Enforce, false, None), &none),
            Owed::Pause
        );
        assert_eq!(
            owed_at_deletion(&spec(DeletionPolicy::Delete, Mode::Enforce, false, None), &none),
            Owed::PauseAndDelete
        );
        assert_eq!(
            owed_at_deletion(&spec(DeletionPolicy::Orphan, Mode::Enforce, false, None), &none),
            Owed::Nothing
        );
    }

    #[test]
    fn an_operator_made_pause_is_resumed_unless_the_latest_spec_says_paused() {
        for (mode, suspend) in [(Mode::Enforce, false), (Mode::Observe, false), (Mode::Enforce, true)] {
            let orphan = spec(DeletionPolicy::Orphan, mode, suspend, None);
            assert_eq!(
                owed_at_deletion(&orphan, &journal(true)),
                Owed::Resume,
                "{mode:?} {suspend}"
            );
            assert_eq!(owed_at_deletion(&orphan, &journal(false)), Owed::Nothing);
            let stop = spec(DeletionPolicy::Orphan, mode, suspend, Some(RunState::Paused));
            assert_eq!(
                owed_at_deletion(&stop, &journal(true)),
                Owed::Nothing,
                "{mode:?} {suspend}"
            );
            assert!(!finalizer_wanted(&stop, &journal(true)));
        }
        let observe_delete = spec(DeletionPolicy::Delete, Mode::Observe, false, None);
        assert_eq!(owed_at_deletion(&observe_delete, &journal(true)), Owed::Resume);
    }

    #[test]
    fn only_a_missing_account_or_token_gives_up_and_only_after_the_grace() {
        let later = GIVE_UP_AFTER;
        let sooner = GIVE_UP_AFTER - Duration::from_secs(1);
        for failure in [
            Failure::AccountNotFound,
            Failure::SecretNotFound,
            Failure::InvalidAccount("x".into()),
        ] {
            assert!(gives_up(&failure, later), "{failure:?}");
            assert!(!gives_up(&failure, sooner), "{failure:?}");
        }
        for failure in [
            Failure::Unauthorized,
            Failure::Throttled,
            Failure::Transient("5xx".into()),
        ] {
            assert!(!gives_up(&failure, Duration::from_secs(3600)), "{failure:?}");
        }
    }
}
