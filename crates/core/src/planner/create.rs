//! Creating the remote task of an OutboundTask without `spec.taskId`, as a pure step machine (no
//! I/O, no clock): [`CreateSteps::next`] takes how the last effect went and returns the next
//! one; the controller's driver performs them. The guarantee: never two remote tasks for one
//! object.
//!
//! The protocol:
//! 1. With no create intent in status: write one (time, generation, the remote name and
//!    sub-account created with: lookups use these, so a rename meanwhile makes no second task)
//!    BEFORE the create call. If
//!    that write fails, nothing is called: a create the status does not know of could not be
//!    found again after a crash.
//! 2. Create (sent once, never retried by the client). An id in the answer ends it. A success
//!    without an id (`data: ""`) means the task exists: it is looked up, and never created again
//!    (`acknowledged`). An answer that says nothing was made (a rejection, 401, 429, a refused
//!    write) drops the intent. Any other failure (a timeout, a 5xx, a cut body) is an unknown
//!    outcome: look the task up.
//! 3. With an intent in status (a crash, a lost answer, a timeout before): look the task up
//!    before creating again. Candidates are the listed tasks with exactly the spec's name created
//!    no earlier than the intent minus the clock-skew margin (older ones are not ours). One: it
//!    is ours. More than one: do not guess ([`Failure::AmbiguousName`], Stalled). None: the list
//!    may lag behind the create, so keep looking (requeue) until the grace period has passed
//!    since the outcome became unknown (the failed answer came back, or the intent was found
//!    unanswered), not since the intent: queueing for the rate budget and waiting for the answer
//!    do not use it up. Only then create again, with a new intent. A namesake whose
//!    `create_datetime` is missing or unreadable may be older than the intent: it is never
//!    adopted, the lookup is ambiguous (fail closed).
//! 4. A create the platform rejected is held for this generation ([`Failure::CreateRejected`],
//!    Stalled) until the spec changes or a reconcile is requested.

use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::Failure;
use crate::mapping;
use crate::wire::{ListedTask, UpdateBody};
use outbound_api::{CreateIntent, Mode, OutboundTaskSpec, OutboundTaskStatus};

/// Prefix of the Stalled message of a rejected create (the message is read back from it).
pub(super) const CREATE_REJECTED: &str = "the platform rejected the create: ";

/// Everything the create steps look at.
#[derive(Clone, Debug)]
pub struct CreateInput<'a> {
    pub spec: &'a OutboundTaskSpec,
    /// `metadata.generation`.
    pub generation: i64,
    pub status: &'a OutboundTaskStatus,
    /// The `reconcile.fluxcd.io/requestedAt` annotation, if any.
    pub requested_at: Option<&'a str>,
    pub now: Timestamp,
    /// How long after an intent a task not (yet) listed is looked for before creating again.
    pub grace: Duration,
    /// Clock skew allowed between us and the platform's `create_datetime`.
    pub skew: Duration,
}

/// A listed task, its creation time read in the account's zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    pub name: String,
    /// `None` when the platform gave no readable `create_datetime` (it may be ours or older:
    /// ambiguous).
    pub created_at: Option<Timestamp>,
}

impl Candidate {
    /// A list item with an id; its naive `create_datetime` read in `zone`.
    pub fn from_listed(item: &ListedTask, zone: &TimeZone) -> Option<Candidate> {
        let id = item.uuid.clone().filter(|id| !id.trim().is_empty())?;
        let created_at = item
            .create_datetime
            .as_deref()
            .and_then(|text| text.trim().parse::<DateTime>().ok())
            .and_then(|naive| naive.to_zoned(zone.clone()).ok())
            .map(|zoned| zoned.timestamp());
        Some(Candidate {
            id,
            name: item.name.clone().unwrap_or_default(),
            created_at,
        })
    }
}

/// What the driver must do next.
#[allow(clippy::large_enum_variant)] // one effect at a time
#[derive(Clone, Debug, PartialEq)]
pub enum CreateEffect {
    /// Write this intent to status; answer `IntentWritten` or `IntentNotWritten`.
    WriteIntent(CreateIntent),
    /// `POST endpoints.create` with this body under this sub-account; answer `Created` or
    /// `CreateFailed`.
    Create {
        body: UpdateBody,
        sub_user_id: Option<String>,
    },
    /// List the tasks by this name in this sub-account; answer `Listed` or `ListFailed`.
    List { name: String, sub_user_id: Option<String> },
    /// Over: report this.
    Done(CreateResult),
}

/// How the last effect went.
#[derive(Clone, Debug, PartialEq)]
pub enum CreateOutcome {
    Begin,
    IntentWritten,
    IntentNotWritten(String),
    /// The create succeeded; the id, when the answer carried one.
    Created(Option<String>),
    /// The create failed; `maybe_created`: the outcome is unknown (a timeout, a 5xx, a cut
    /// body), as opposed to an answer saying nothing was made.
    CreateFailed {
        failure: Failure,
        maybe_created: bool,
        /// When the failure came back (the grace of an unknown outcome counts from here).
        at: Timestamp,
    },
    Listed(Vec<Candidate>),
    ListFailed(Failure),
}

/// How the create steps ended.
#[derive(Clone, Debug, PartialEq)]
pub enum CreateResult {
    /// `spec.suspend`: nothing created.
    Suspended,
    /// The remote task is known: `status.taskId`. `listed`: found in the list rather than read
    /// from the answer.
    Known { id: String, listed: bool },
    /// Not found yet: keep `intent`, look again after `retry_after`.
    Pending {
        intent: CreateIntent,
        retry_after: Duration,
    },
    /// Nothing more this time; `intent` stays in status (`None`: nothing was made).
    Failed {
        failure: Failure,
        intent: Option<CreateIntent>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Awaiting {
    Begin,
    Intent,
    Create,
    List,
    Finished,
}

/// One execution of the create steps.
#[derive(Debug)]
pub struct CreateSteps<'a> {
    input: &'a CreateInput<'a>,
    awaiting: Awaiting,
    /// The intent in force (in status, or being written).
    intent: Option<CreateIntent>,
    /// A create was sent in this execution (at most one is).
    sent: bool,
    result: Option<CreateResult>,
}

/// Wait between lookups of a task the list does not show yet.
pub const LOOKUP_INTERVAL: Duration = Duration::from_secs(2);

impl<'a> CreateSteps<'a> {
    pub fn new(input: &'a CreateInput<'a>) -> Self {
        CreateSteps {
            input,
            awaiting: Awaiting::Begin,
            intent: input.status.create_intent.clone(),
            sent: false,
            result: None,
        }
    }

    /// The name and sub-account the task is looked up by: those the intent in force recorded
    /// when it was created (the spec may have been renamed or moved since); the spec's for an
    /// intent of an earlier version, which recorded neither.
    fn created_as(&self) -> (String, Option<String>) {
        match &self.intent {
            Some(CreateIntent {
                name: Some(name),
                sub_user_id,
                ..
            }) => (name.clone(), sub_user_id.clone()),
            _ => (
                mapping::create_body(self.input.spec).name,
                self.input.spec.sub_user_id.clone(),
            ),
        }
    }

    pub fn next(&mut self, outcome: CreateOutcome) -> CreateEffect {
        match (self.awaiting, outcome) {
            (Awaiting::Begin, _) => self.begin(),
            (Awaiting::Intent, CreateOutcome::IntentWritten) => {
                self.awaiting = Awaiting::Create;
                self.sent = true;
                let (_, sub_user_id) = self.created_as();
                CreateEffect::Create {
                    body: mapping::create_body(self.input.spec),
                    sub_user_id,
                }
            }
            (Awaiting::Intent, CreateOutcome::IntentNotWritten(error)) => {
                let failure = Failure::KubeWrite(format!("could not write the create intent: {error}"));
                let intent = self.input.status.create_intent.clone();
                self.finish(CreateResult::Failed { failure, intent })
            }
            (Awaiting::Create, CreateOutcome::Created(Some(id))) => {
                // The status written next records the id itself (with retries), in one write
                // that also drops the intent.
                if let Some(intent) = &mut self.intent {
                    intent.acknowledged = true;
                }
                self.finish(CreateResult::Known { id, listed: false })
            }
            (Awaiting::Create, CreateOutcome::Created(None)) => {
                if let Some(intent) = &mut self.intent {
                    intent.acknowledged = true;
                }
                self.list()
            }
            (
                Awaiting::Create,
                CreateOutcome::CreateFailed {
                    failure,
                    maybe_created,
                    at,
                },
            ) => {
                if maybe_created {
                    // The grace of the list counts from the failure, not from the intent: the
                    // wait for the rate budget and for the answer must not use it up (D1).
                    if let Some(intent) = &mut self.intent {
                        intent.unknown_since = Some(Time(at));
                    }
                    return self.list();
                }
                let failure = match failure {
                    Failure::Rejected(message) => Failure::CreateRejected(message),
                    other => other,
                };
                self.finish(CreateResult::Failed { failure, intent: None })
            }
            (Awaiting::List, CreateOutcome::Listed(candidates)) => self.resolve(candidates),
            (Awaiting::List, CreateOutcome::ListFailed(failure)) => {
                let intent = self.intent.clone();
                self.finish(CreateResult::Failed { failure, intent })
            }
            (Awaiting::Finished, _) => CreateEffect::Done(self.result.clone().expect("finished")),
            (awaiting, outcome) => panic!("create steps: {outcome:?} does not answer {awaiting:?}"),
        }
    }

    fn begin(&mut self) -> CreateEffect {
        let input = self.input;
        if input.spec.suspend {
            return self.finish(CreateResult::Suspended);
        }
        if input.spec.mode == Mode::Observe {
            let intent = self.intent.clone();
            return self.finish(CreateResult::Failed {
                failure: Failure::NoTaskToObserve,
                intent,
            });
        }
        if let Some(intent) = &mut self.intent {
            // Found unanswered (a crash mid-create, a lost status write, or an intent of an
            // earlier version): the outcome is unknown from now on at the latest.
            if intent.unknown_since.is_none() && !intent.acknowledged {
                intent.unknown_since = Some(Time(input.now));
            }
            return self.list();
        }
        if let Some(message) = held_rejection(input) {
            return self.finish(CreateResult::Failed {
                failure: Failure::CreateRejected(message),
                intent: None,
            });
        }
        self.write_intent()
    }

    fn write_intent(&mut self) -> CreateEffect {
        let intent = CreateIntent {
            started_at: Time(self.input.now),
            generation: self.input.generation,
            acknowledged: false,
            name: Some(mapping::create_body(self.input.spec).name),
            sub_user_id: self.input.spec.sub_user_id.clone(),
            unknown_since: None,
        };
        self.intent = Some(intent.clone());
        self.awaiting = Awaiting::Intent;
        CreateEffect::WriteIntent(intent)
    }

    fn list(&mut self) -> CreateEffect {
        self.awaiting = Awaiting::List;
        let (name, sub_user_id) = self.created_as();
        CreateEffect::List { name, sub_user_id }
    }

    fn resolve(&mut self, candidates: Vec<Candidate>) -> CreateEffect {
        let intent = self.intent.clone().expect("a lookup has an intent");
        let (name, _) = self.created_as();
        let since = intent.started_at.0 - self.input.skew;
        // A namesake whose creation time could not be read may be older than the intent: it is
        // a candidate that is never adopted, so it makes the lookup ambiguous (fail closed, D21).
        let mut undated = false;
        let mut ours: Vec<String> = candidates
            .into_iter()
            .filter(|c| c.name == name)
            .filter(|c| match c.created_at {
                Some(at) => at >= since,
                None => {
                    undated = true;
                    true
                }
            })
            .map(|c| c.id)
            .collect();
        ours.sort();
        ours.dedup();
        match ours.len() {
            1 if !undated => {
                let id = ours.remove(0);
                self.finish(CreateResult::Known { id, listed: true })
            }
            0 => {
                let since = intent.unknown_since.as_ref().map_or(self.input.now, |t| t.0);
                let deadline = since + self.input.grace;
                if intent.acknowledged || self.sent || self.input.now < deadline {
                    let left = deadline.duration_since(self.input.now).unsigned_abs();
                    let retry_after = if left.is_zero() {
                        LOOKUP_INTERVAL
                    } else {
                        left.min(LOOKUP_INTERVAL)
                    };
                    self.finish(CreateResult::Pending { intent, retry_after })
                } else {
                    // The grace period is over and the task never showed: it was not made.
                    self.write_intent()
                }
            }
            _ => self.finish(CreateResult::Failed {
                failure: Failure::AmbiguousName { name, ids: ours },
                intent: Some(intent),
            }),
        }
    }

    fn finish(&mut self, result: CreateResult) -> CreateEffect {
        self.awaiting = Awaiting::Finished;
        self.result = Some(result.clone());
        CreateEffect::Done(result)
    }
}

/// The platform's message when a create of this generation was rejected (a Stalled condition
/// with reason CreateRejected written for it), unless a reconcile was requested since.
fn held_rejection(input: &CreateInput<'_>) -> Option<String> {
    let status = input.status;
    let manual = input
        .requested_at
        .is_some_and(|r| status.last_handled_reconcile_at.as_deref() != Some(r));
    if manual {
        return None;
    }
    super::stalled_message(status, "CreateRejected", input.generation).map(|message| {
        let message = message.strip_prefix(CREATE_REJECTED).unwrap_or(message);
        message.strip_suffix(REJECTED_HINT).unwrap_or(message).to_string()
    })
}

/// Suffix of the Stalled message of a rejected create.
pub(super) const REJECTED_HINT: &str = "; change spec or request a reconcile";
