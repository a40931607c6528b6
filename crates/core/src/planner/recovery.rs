//! Pure recovery decisions for failures during the execution of a plan.
//!
//! * An update answered 6007 ("task started; stop it first") right after our pause means the
//!   pause has not taken effect yet, or someone restarted the task: wait and retry, first after
//!   `first_retry`, then twice as long each time up to `retry_interval` (the campaign stands
//!   paused while we wait, so the first retry comes soon; later ones back off to spare the
//!   budget); from attempt `repause_from_attempt` on, pause again before retrying (the pause
//!   may have been undone); after `retries` retries
//!   give up ([`Failure::StillStarted`]) and let [`on_failure`] resume the task if it must run.
//! * After any failure following the pause, resume the task if it must run (`resume_after` in the
//!   journal): a running campaign is never left paused. When the failure shows that no call can
//!   succeed now (bad token, missing account/Secret/task, throttled), no call is made: the journal
//!   stays in status and the next reconcile finishes the job.

use std::time::Duration;

use super::{Action, ActionKind, Failure};
use outbound_api::Operation;

/// How to handle an update answered "task started" (code 6007).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartedBehaviour {
    /// Longest wait between attempts (`startedRetryInterval`, default 2 s).
    pub retry_interval: Duration,
    /// Wait before the first retry (250 ms), doubling up to `retry_interval`.
    pub first_retry: Duration,
    /// Retries after the first 6007 answer before giving up (`startedRetries`, default 5).
    pub retries: u32,
    /// From this attempt on, pause again before retrying (default 2: the second 6007 answer).
    pub repause_from_attempt: u32,
}

/// Bounds of `startedRetries` and `startedRetryInterval` (the CRD enforces the same): the 6007
/// retries of one reconcile wait at most 10 x 15 s with the campaign paused.
pub const MAX_STARTED_RETRIES: u32 = 10;
pub const MAX_STARTED_RETRY_INTERVAL: Duration = Duration::from_secs(15);

impl StartedBehaviour {
    /// The account's settings, held to the bounds (an account stored before the CRD had them may
    /// exceed them).
    pub fn bounded(retry_interval: Duration, retries: u32) -> Self {
        StartedBehaviour {
            retry_interval: retry_interval.min(MAX_STARTED_RETRY_INTERVAL),
            retries: retries.min(MAX_STARTED_RETRIES),
            ..StartedBehaviour::default()
        }
    }
}

impl Default for StartedBehaviour {
    fn default() -> Self {
        StartedBehaviour {
            retry_interval: Duration::from_secs(2),
            first_retry: Duration::from_millis(250),
            retries: 5,
            repause_from_attempt: 2,
        }
    }
}

/// What to do after an update answered 6007.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// Wait, pause again first if `pause_first`, then send the update again.
    Retry { after: Duration, pause_first: bool },
    /// Stop trying: report [`Failure::StillStarted`] (the step machine's) and run [`on_failure`]
    /// for the update.
    GiveUp,
}

/// `attempt` is the number of 6007 answers received so far for this update (1 after the first).
pub fn on_update_started(attempt: u32, behaviour: &StartedBehaviour) -> Recovery {
    if attempt > behaviour.retries {
        return Recovery::GiveUp;
    }
    let doubled = behaviour.first_retry.saturating_mul(1 << (attempt.max(1) - 1).min(16));
    let after = doubled.min(behaviour.retry_interval);
    Recovery::Retry {
        after,
        pause_first: attempt >= behaviour.repause_from_attempt,
    }
}

/// The calls to make after `failed` failed with `failure`, given the journal written before it.
pub fn on_failure(failed: ActionKind, failure: &Failure, journal: Option<&Operation>) -> Vec<Action> {
    let resume_after = journal.is_some_and(|j| j.resume_after);
    let futile = matches!(
        failure,
        Failure::Unauthorized
            | Failure::AccountNotFound
            | Failure::SecretNotFound
            | Failure::TaskNotFound
            | Failure::Throttled
    );
    match failed {
        // The pause's effect is unknown; the journal (written before it) makes the next reconcile
        // read the state and resume the task if it was paused after all.
        ActionKind::Pause => Vec::new(),
        ActionKind::Update if resume_after && !futile => vec![Action::Resume],
        ActionKind::Update => Vec::new(),
        // The journal (phase Resuming) stays; the next reconcile resumes the task.
        ActionKind::Resume => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use outbound_api::OperationPhase;

    fn journal(resume_after: bool) -> Operation {
        Operation {
            phase: OperationPhase::Updating,
            resume_after,
            started_at: Time(jiff::Timestamp::UNIX_EPOCH),
            generation: 1,
        }
    }

    #[test]
    fn update_answered_started_is_retried_then_repaused() {
        let b = StartedBehaviour::default();
        let retry = |ms, pause_first| Recovery::Retry {
            after: Duration::from_millis(ms),
            pause_first,
        };
        let answers: Vec<Recovery> = (1..=6).map(|attempt| on_update_started(attempt, &b)).collect();
        assert_eq!(
            answers,
            [
                retry(250, false),
                retry(500, true),
                retry(1000, true),
                retry(2000, true),
                retry(2000, true),
                Recovery::GiveUp
            ]
        );
        let slow = StartedBehaviour {
            first_retry: Duration::from_secs(2),
            ..b
        };
        assert_eq!(on_update_started(1, &slow), retry(2000, false));
        assert_eq!(on_update_started(3, &slow), retry(2000, true));
    }

    #[test]
    fn update_answered_started_gives_up_after_the_retries_and_resumes() {
        let b = StartedBehaviour {
            retries: 2,
            ..StartedBehaviour::default()
        };
        assert_eq!(on_update_started(3, &b), Recovery::GiveUp);
        let failure = Failure::StillStarted(3);
        assert!(!failure.stalls(), "6007 is transient");
        assert_eq!(
            on_failure(ActionKind::Update, &failure, Some(&journal(true))),
            vec![Action::Resume]
        );
        assert!(on_failure(ActionKind::Update, &failure, Some(&journal(false))).is_empty());
    }

    #[test]
    fn failed_update_resumes_a_task_that_was_running() {
        let rejected = Failure::Rejected("maximumcall exceeds residue".into());
        assert_eq!(
            on_failure(ActionKind::Update, &rejected, Some(&journal(true))),
            vec![Action::Resume]
        );
        let transient = Failure::Transient("HTTP 503".into());
        assert_eq!(
            on_failure(ActionKind::Update, &transient, Some(&journal(true))),
            vec![Action::Resume]
        );
    }

    #[test]
    fn failed_update_leaves_a_paused_task_paused() {
        let rejected = Failure::Rejected("bad".into());
        assert!(on_failure(ActionKind::Update, &rejected, Some(&journal(false))).is_empty());
        assert!(on_failure(ActionKind::Update, &rejected, None).is_empty());
    }

    #[test]
    fn futile_failures_make_no_call_and_leave_the_journal_to_the_next_reconcile() {
        for f in [
            Failure::Unauthorized,
            Failure::Throttled,
            Failure::TaskNotFound,
            Failure::SecretNotFound,
        ] {
            assert!(
                on_failure(ActionKind::Update, &f, Some(&journal(true))).is_empty(),
                "{f:?}"
            );
        }
    }

    #[test]
    fn failed_pause_or_resume_makes_no_immediate_call() {
        let f = Failure::Transient("timeout".into());
        assert!(on_failure(ActionKind::Pause, &f, Some(&journal(true))).is_empty());
        assert!(on_failure(ActionKind::Resume, &f, Some(&journal(true))).is_empty());
    }
}
