//! The executor's decisions as a pure step machine (no I/O, no clock): given the plan and the
//! outcome of the last effect, [`Steps::next`] returns the next effect to perform. The controller's
//! driver only performs effects (writes the journal, calls the platform, publishes events, sleeps)
//! and reports how each one went, so every decision can be driven by tests step by step.
//!
//! The protocol:
//! 1. Before the first platform call, the journal (`resumeAfter`) is written to status when the
//!    plan has one. If that write fails, nothing at all is called on the platform in this
//!    reconcile: without the journal a crash could strand a paused task, and a "recovery" call
//!    would act on a task this reconcile never touched.
//! 2. The plan's events tied to no action (`EnforcingChanges`) are published next, before the
//!    first platform call; then the actions run in order; the events of an action are published
//!    once it succeeded.
//! 3. After the pause, the update waits until the pause is as old as the account's pauses take
//!    to take effect, as learned ([`Effect::AwaitPause`]: the learned time is read again on
//!    every wake-up, since another operation's refusal may have raised it meanwhile); an update
//!    answered 6007 is retried as [`on_update_started`] says (wait, re-pause, retry), and the
//!    retry too waits for the learned time;
//!    once the retries are used up, the failure is [`Failure::StillStarted`], or
//!    [`Failure::NotPausable`] when the plan says this is the Nth consecutive reconcile so refused.
//! 4. Once the operation has changed something on the platform (a call succeeded), a throttled
//!    call (429) is waited out (its `Retry-After`, or [`StepLimits::throttled_wait`]) and sent
//!    again, within [`StepLimits::max_throttled_retries`] and [`StepLimits::max_throttled_wait`]:
//!    the campaign is paused meanwhile, and a requeue would leave it paused for a whole backoff.
//! 5. After any other failure, the recovery of [`on_failure`] (resume a task that must run).
//! 6. Before every call the driver looks at the latest object: a call answered
//!    [`Outcome::Superseded`] was not made, and the operation goes on only as far as the
//!    person's latest intent allows ([`super::changed_intent`]).

use std::collections::VecDeque;
use std::time::Duration;

use super::intent::NewIntent;
use super::recovery::{MAX_STARTED_RETRY_INTERVAL, Recovery, StartedBehaviour, on_failure, on_update_started};
use super::{Action, ActionKind, EventType, Execution, Failure, Plan, PlannedEvent, reasons};
use outbound_api::Operation;

/// What the driver must do next.
#[allow(clippy::large_enum_variant)] // one effect at a time
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Write this journal to status (the in-progress status); answer
    /// [`Outcome::JournalWritten`] or [`Outcome::JournalNotWritten`].
    WriteJournal(Operation),
    /// Make this platform call; answer [`Outcome::Succeeded`] or [`Outcome::Failed`], or
    /// [`Outcome::Superseded`] without making it when the person's intent changed.
    Call(Action),
    /// Publish this event (best effort); answer [`Outcome::Performed`].
    Publish(PlannedEvent),
    /// Sleep this long; answer [`Outcome::Performed`].
    Wait(Duration),
    /// Before an update that follows a pause: sleep this long, then answer
    /// [`Outcome::PauseAge`] (the update is sent once the pause is as old as the account's
    /// pauses take to take effect, as learned at that moment).
    AwaitPause(Duration),
    /// The execution is over: report this record.
    Done(Execution),
}

/// How a platform call failed, as the driver classified it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallError {
    /// The planner's classification of the error.
    pub failure: Failure,
    /// The platform answered code 6007 (task started).
    pub task_started: bool,
    /// The server's `Retry-After`, when it sent one.
    pub retry_after: Option<Duration>,
}

/// How the last effect went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing happened yet: the first call of [`Steps::next`].
    Begin,
    JournalWritten,
    /// The status write failed (its error message).
    JournalNotWritten(String),
    /// The platform call succeeded.
    Succeeded,
    Failed(CallError),
    /// The call was not made: the latest object asks for something else now
    /// ([`super::changed_intent`]). Reported once per change: a call the step machine still
    /// asks for under the same intent is made.
    Superseded(NewIntent),
    /// A [`Effect::Publish`] or [`Effect::Wait`] is done.
    Performed,
    /// A [`Effect::AwaitPause`] is done: the time since this execution's first pause succeeded,
    /// and the account's learned time for a pause to take effect, as they are now.
    PauseAge {
        since_pause: Duration,
        settle: Duration,
    },
}

/// Bounds of the retries made inside one execution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepLimits {
    pub started: StartedBehaviour,
    /// Throttled calls sent again within the operation (default 3).
    pub max_throttled_retries: u32,
    /// Total time waited for throttling within the operation (default 60 s); a `Retry-After`
    /// that does not fit ends the operation (the reconcile is retried later).
    pub max_throttled_wait: Duration,
    /// Wait after a 429 that gave no `Retry-After` (default 5 s).
    pub throttled_wait: Duration,
}

impl StepLimits {
    pub fn new(started: StartedBehaviour) -> Self {
        StepLimits {
            started,
            max_throttled_retries: 3,
            max_throttled_wait: Duration::from_secs(60),
            throttled_wait: Duration::from_secs(5),
        }
    }
}

impl Default for StepLimits {
    fn default() -> Self {
        StepLimits::new(StartedBehaviour::default())
    }
}

/// What the pending call is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    /// The plan's action with this index.
    Planned(usize),
    /// Pausing again before retrying the plan's update with this index (6007).
    Repause(usize),
    /// Resuming the task after a failure.
    Recovery,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Awaiting {
    Begin,
    Journal,
    Call(Purpose),
    /// After the wait, make this call.
    Wait(Purpose),
    /// After the wait, make this update once the pause is old enough.
    PauseAge(Purpose),
    Finished,
}

/// One execution of one plan.
#[derive(Debug)]
pub struct Steps<'a> {
    plan: &'a Plan,
    limits: StepLimits,
    awaiting: Awaiting,
    done: Vec<ActionKind>,
    /// The plan action that failed and why, once recovering.
    failed: Option<(ActionKind, Failure)>,
    started_answers: u32,
    throttled_retries: u32,
    throttled_waited: Duration,
    /// Events to publish before `held` is handed out.
    events: VecDeque<PlannedEvent>,
    held: Option<Effect>,
    result: Option<Execution>,
    /// The person's change that stopped the plan, once one did, and the call it stopped.
    superseded: Option<(NewIntent, ActionKind)>,
}

impl<'a> Steps<'a> {
    pub fn new(plan: &'a Plan, limits: StepLimits) -> Self {
        Steps {
            plan,
            limits,
            awaiting: Awaiting::Begin,
            done: Vec::new(),
            failed: None,
            started_answers: 0,
            throttled_retries: 0,
            throttled_waited: Duration::ZERO,
            events: VecDeque::new(),
            held: None,
            result: None,
            superseded: None,
        }
    }

    /// The next effect, given how the last one went.
    pub fn next(&mut self, outcome: Outcome) -> Effect {
        let effect = match self.held.take() {
            // The outcome of a Publish: events are best effort, whatever happened.
            Some(effect) => effect,
            None => self.decide(outcome),
        };
        if let Some(event) = self.events.pop_front() {
            self.held = Some(effect);
            return Effect::Publish(event);
        }
        effect
    }

    fn decide(&mut self, outcome: Outcome) -> Effect {
        match (self.awaiting, outcome) {
            (Awaiting::Begin, _) => self.begin(),
            (Awaiting::Journal, Outcome::JournalWritten) => self.first_call(),
            (Awaiting::Journal, Outcome::JournalNotWritten(error)) => {
                let failure = Failure::KubeWrite(format!("could not write the operation journal: {error}"));
                self.finish(Execution::failed_before_actions(failure))
            }
            (Awaiting::Call(purpose), Outcome::Succeeded) => self.succeeded(purpose),
            (Awaiting::Call(purpose), Outcome::Failed(error)) => self.failed(purpose, error),
            (Awaiting::Call(purpose), Outcome::Superseded(by)) => self.superseded(purpose, by),
            (Awaiting::Wait(purpose), Outcome::Performed) => self.call(purpose),
            (Awaiting::PauseAge(purpose), Outcome::PauseAge { since_pause, settle }) => {
                // Bounded like the learned time itself, whatever the driver reports.
                match settle.min(MAX_STARTED_RETRY_INTERVAL).checked_sub(since_pause) {
                    Some(left) if !left.is_zero() => self.await_pause(left, purpose),
                    _ => self.call(purpose),
                }
            }
            (Awaiting::Finished, _) => Effect::Done(self.result.clone().unwrap_or_default()),
            (awaiting, outcome) => panic!("step machine: {outcome:?} does not answer {awaiting:?}"),
        }
    }

    fn begin(&mut self) -> Effect {
        if self.plan.actions.is_empty() {
            return self.finish(Execution::completed(self.plan));
        }
        match self.plan.journal_for(0) {
            Some(journal) => {
                self.awaiting = Awaiting::Journal;
                Effect::WriteJournal(journal)
            }
            None => self.first_call(),
        }
    }

    /// The first action, after the events that announce the plan.
    fn first_call(&mut self) -> Effect {
        let announcements = self.plan.events.iter().filter(|e| e.after_action.is_none());
        self.events.extend(announcements.cloned());
        self.call(Purpose::Planned(0))
    }

    fn call(&mut self, purpose: Purpose) -> Effect {
        self.awaiting = Awaiting::Call(purpose);
        Effect::Call(match purpose {
            Purpose::Planned(step) => self.plan.actions[step].clone(),
            Purpose::Repause(_) => Action::Pause,
            Purpose::Recovery => Action::Resume,
        })
    }

    fn wait_then_call(&mut self, wait: Duration, purpose: Purpose) -> Effect {
        self.awaiting = Awaiting::Wait(purpose);
        Effect::Wait(wait)
    }

    /// Sleeps `wait`, then sends the update of `purpose` once the pause is old enough.
    fn await_pause(&mut self, wait: Duration, purpose: Purpose) -> Effect {
        self.awaiting = Awaiting::PauseAge(purpose);
        Effect::AwaitPause(wait)
    }

    fn finish(&mut self, execution: Execution) -> Effect {
        self.awaiting = Awaiting::Finished;
        self.result = Some(execution.clone());
        Effect::Done(execution)
    }

    fn succeeded(&mut self, purpose: Purpose) -> Effect {
        match purpose {
            Purpose::Planned(step) => {
                self.done.push(self.plan.actions[step].kind());
                let events = self.plan.events.iter().filter(|e| e.after_action == Some(step));
                self.events.extend(events.cloned());
                let next = self.plan.actions.get(step + 1);
                if self.plan.actions[step] == Action::Pause && matches!(next, Some(Action::Update(_))) {
                    self.await_pause(Duration::ZERO, Purpose::Planned(step + 1))
                } else if next.is_some() {
                    self.call(Purpose::Planned(step + 1))
                } else {
                    self.finish(Execution::completed(self.plan))
                }
            }
            Purpose::Repause(step) => self.await_pause(Duration::ZERO, Purpose::Planned(step)),
            Purpose::Recovery if self.superseded.is_some() => {
                self.done.push(ActionKind::Resume);
                self.stop()
            }
            Purpose::Recovery => {
                self.done.push(ActionKind::Resume);
                let (failed, failure) = self.failed.clone().expect("recovering after a failure");
                self.events.push_back(PlannedEvent {
                    type_: EventType::Normal,
                    reason: reasons::RESUMED,
                    note: format!("resumed the task after the failed {}: {failure}", failed.name()),
                    after_action: None,
                });
                self.finish(Execution::failed_at(self.done.clone(), failed, failure))
            }
        }
    }

    fn failed(&mut self, purpose: Purpose, error: CallError) -> Effect {
        if let Some(wait) = self.throttled_wait(&error) {
            self.throttled_retries += 1;
            self.throttled_waited += wait;
            return self.wait_then_call(wait, purpose);
        }
        match purpose {
            Purpose::Planned(step) if error.task_started && matches!(self.plan.actions[step], Action::Update(_)) => {
                self.started_answers += 1;
                match on_update_started(self.started_answers, &self.limits.started) {
                    Recovery::Retry {
                        after,
                        pause_first: true,
                    } => self.wait_then_call(after, Purpose::Repause(step)),
                    Recovery::Retry {
                        after,
                        pause_first: false,
                    } => self.await_pause(after, Purpose::Planned(step)),
                    Recovery::GiveUp => {
                        let failure = self.still_started_failure();
                        self.recover(ActionKind::Update, failure)
                    }
                }
            }
            Purpose::Planned(step) => self.recover(self.plan.actions[step].kind(), error.failure),
            // The update could not be retried: it failed.
            Purpose::Repause(_) => self.recover(ActionKind::Update, error.failure),
            // The journal stays in status: the next reconcile resumes the task (after a backoff,
            // like every failure).
            Purpose::Recovery if self.failed.is_none() => self.finish(Execution::failed_at(
                self.done.clone(),
                ActionKind::Resume,
                error.failure,
            )),
            Purpose::Recovery => {
                let (failed, failure) = self.failed.clone().expect("recovering after a failure");
                self.finish(Execution::failed_at(self.done.clone(), failed, failure))
            }
        }
    }

    /// The call of `purpose` was not made: the latest intent is `by` (the `intent` module's
    /// guarantees). The one call still made is a resume of a campaign this operator holds paused
    /// for a task that must run (never once the latest spec says Paused), or after a failure.
    fn superseded(&mut self, purpose: Purpose, by: NewIntent) -> Effect {
        let skipped = match purpose {
            Purpose::Planned(step) => self.plan.actions[step].kind(),
            Purpose::Repause(_) => ActionKind::Pause,
            Purpose::Recovery => ActionKind::Resume,
        };
        self.superseded = Some((by, skipped));
        let holds_paused = (self.plan.resume_after && self.done.contains(&ActionKind::Pause)) || self.plan.resume_debt;
        let resuming = match purpose {
            Purpose::Planned(step) => self.plan.actions[step] == Action::Resume,
            Purpose::Repause(_) => false,
            Purpose::Recovery => true,
        };
        let resume_still_owed = match by {
            NewIntent::Paused => false,
            NewIntent::HandsOff => holds_paused,
            NewIntent::NewSpec => purpose == Purpose::Recovery,
        };
        match (resume_still_owed, resuming) {
            (true, true) => self.call(purpose),
            (true, false) => self.call(Purpose::Recovery),
            (false, _) => self.stop(),
        }
    }

    /// Ends a superseded operation before the call of `purpose`; the next reconcile plans from
    /// the latest object (the journal in status keeps what is owed).
    fn stop(&mut self) -> Effect {
        let (by, skipped) = self.superseded.expect("stopped by a person's change");
        if !self.done.is_empty() {
            let next = match by {
                NewIntent::Paused => "the campaign stays paused and the next reconcile applies the latest spec",
                NewIntent::HandsOff => "nothing more is sent to the platform",
                NewIntent::NewSpec => "the next reconcile sends the latest spec",
            };
            let done: Vec<_> = self.done.iter().map(|kind| kind.name()).collect();
            self.events.push_back(PlannedEvent {
                type_: EventType::Normal,
                reason: reasons::SUPERSEDED,
                note: format!(
                    "stopped the operation before the {} (done: {}): {}; {next}",
                    skipped.name(),
                    done.join(", "),
                    by.describe()
                ),
                after_action: None,
            });
        }
        self.finish(Execution::superseded(self.done.clone(), by))
    }

    /// How long to wait before sending a throttled call again within the operation, if at all:
    /// only once the operation changed something (before that, nothing is lost by retrying on
    /// a later reconcile) and within the limits.
    fn throttled_wait(&self, error: &CallError) -> Option<Duration> {
        if error.failure != Failure::Throttled || self.done.is_empty() {
            return None;
        }
        let wait = error.retry_after.unwrap_or(self.limits.throttled_wait);
        let fits = self.throttled_retries < self.limits.max_throttled_retries
            && self.throttled_waited + wait <= self.limits.max_throttled_wait;
        fits.then_some(wait)
    }

    fn still_started_failure(&self) -> Failure {
        match &self.plan.if_still_started {
            Some(outcome) if outcome.stalls => Failure::NotPausable(outcome.record.reconciles.max(0) as u32),
            _ => Failure::StillStarted(self.started_answers),
        }
    }

    fn recover(&mut self, failed: ActionKind, failure: Failure) -> Effect {
        let recovery = on_failure(failed, &failure, self.plan.journal.as_ref());
        self.failed = Some((failed, failure.clone()));
        if recovery.contains(&Action::Resume) {
            self.call(Purpose::Recovery)
        } else {
            self.finish(Execution::failed_at(self.done.clone(), failed, failure))
        }
    }
}
