//! The plan's vocabulary: actions, verdicts and the plan itself.

use std::time::Duration;

use super::{Failure, PlannedEvent};
use crate::diff::{self, Difference};
use crate::wire::UpdateBody;
use outbound_api::{
    Convergence, DriftEntry, Operation, OperationPhase, OutboundTaskSpec, RemoteState, RunState, StillStarted,
};

/// A call to the platform.
#[allow(clippy::large_enum_variant)] // at most three per plan
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// `PUT …/task_stop/{task_id}`.
    Pause,
    /// `PUT …/task/{task_id}` with this body.
    Update(UpdateBody),
    /// `PUT …/task_start/{task_id}`.
    Resume,
}

/// An [`Action`] without its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActionKind {
    Pause,
    Update,
    Resume,
}

impl Action {
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Pause => ActionKind::Pause,
            Action::Update(_) => ActionKind::Update,
            Action::Resume => ActionKind::Resume,
        }
    }
}

impl ActionKind {
    /// The journal phase written before this action.
    pub fn phase(self) -> OperationPhase {
        match self {
            ActionKind::Pause => OperationPhase::Pausing,
            ActionKind::Update => OperationPhase::Updating,
            ActionKind::Resume => OperationPhase::Resuming,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ActionKind::Pause => "pause",
            ActionKind::Update => "update",
            ActionKind::Resume => "resume",
        }
    }
}

/// What the planner concluded.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// `spec.suspend`: nothing read or written (beyond undoing an operator-made pause).
    Suspended,
    /// The task equals spec and is in the desired run state.
    InSync,
    /// Enforce: the actions bring the task to spec.
    Converging,
    /// Observe: the task differs from spec (settings or run state); nothing written.
    Drifted,
    /// No settings written because of this failure (unknown state, non-convergence, a rejected
    /// spec held until it changes). Run-state actions may still be planned.
    Blocked(Failure),
}

impl Verdict {
    /// The failure to report, if the verdict is one.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Verdict::Blocked(f) => Some(f),
            _ => None,
        }
    }
}

/// The record of an update refused as "task started" after every retry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfStillStarted {
    /// `status.stillStarted` to write.
    pub record: StillStarted,
    /// This refusal is the Nth in a row: report [`Failure::NotPausable`] (Stalled).
    pub stalls: bool,
}

/// The plan for one reconcile.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub verdict: Verdict,
    /// The calls, in order; empty = nothing to do.
    pub actions: Vec<Action>,
    /// The journal to write to status BEFORE the first action (its phase is the first action's);
    /// see [`Plan::journal_for`] for the following steps. `None`: no journal needed. When there
    /// are no actions, the journal to keep in status as is (state unknown, not read).
    pub journal: Option<Operation>,
    /// Differences of the settings (all of them).
    pub differences: Vec<Difference>,
    /// `status.drift` for the settings (at most 20 entries, values shortened).
    pub drift: Vec<DriftEntry>,
    /// The run state the task must end in: `spec.runState`, or Running when unset but the task
    /// must run again (it was started, or the operator paused it); `None`: whatever it is.
    pub desired_run_state: Option<RunState>,
    /// The run state read (`None` when not read).
    pub remote_state: Option<RemoteState>,
    /// Whether the task must run once the work is done.
    pub resume_after: bool,
    /// The status's journal says the operator paused the campaign for an operation that did not
    /// finish, and the spec does not say Paused: the campaign is held paused by us.
    pub resume_debt: bool,
    /// Convergence guard state to write if the planned update succeeds.
    pub convergence_on_success: Option<Convergence>,
    /// What to record if the planned update is still refused as "task started" after every
    /// retry (a count kept across reconciles, like `convergence_on_success`).
    pub if_still_started: Option<IfStillStarted>,
    /// Normal events, each published after its action succeeds.
    pub events: Vec<PlannedEvent>,
    /// Re-read after this delay instead of the resync interval.
    pub requeue_after: Option<Duration>,
}

impl Plan {
    pub(super) fn new(spec: &OutboundTaskSpec, verdict: Verdict) -> Self {
        Plan {
            verdict,
            actions: Vec::new(),
            journal: None,
            differences: Vec::new(),
            drift: Vec::new(),
            desired_run_state: spec.run_state,
            remote_state: None,
            resume_after: false,
            resume_debt: false,
            convergence_on_success: None,
            if_still_started: None,
            events: Vec::new(),
            requeue_after: None,
        }
    }

    /// The journal to write before action `step` (phase Pausing, Updating or Resuming).
    pub fn journal_for(&self, step: usize) -> Option<Operation> {
        let action = self.actions.get(step)?;
        self.journal.clone().map(|j| Operation {
            phase: action.kind().phase(),
            ..j
        })
    }

    /// Whether the plan writes to the platform.
    pub fn writes(&self) -> bool {
        !self.actions.is_empty()
    }

    pub fn action_kinds(&self) -> Vec<ActionKind> {
        self.actions.iter().map(Action::kind).collect()
    }

    /// The `spec.runState` entry of the drift, if the task (in `state`) is not in it.
    pub fn run_state_drift(&self, state: Option<RemoteState>) -> Option<DriftEntry> {
        run_state_drift(self.desired_run_state, state)
    }

    /// The text of `outbound-operator plan`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let state = self.remote_state.map_or("not read".to_string(), |s| format!("{s:?}"));
        out.push_str(&format!("remote state: {state}\n"));
        if let Some(entry) = self.run_state_drift(self.remote_state) {
            out.push_str(&format!("  ~ spec.runState: {} -> {}\n", entry.observed, entry.desired));
        }
        out.push_str(&diff::render(&self.differences));
        let actions: Vec<&str> = self.actions.iter().map(|a| a.kind().name()).collect();
        let actions = if actions.is_empty() {
            "none".to_string()
        } else {
            actions.join(", ")
        };
        out.push_str(&format!("actions: {actions}\n"));
        let verdict = match &self.verdict {
            Verdict::Blocked(f) => format!("blocked: {f}"),
            other => format!("{other:?}"),
        };
        out.push_str(&format!("verdict: {verdict}\n"));
        out
    }
}

pub(super) fn run_state_drift(desired: Option<RunState>, state: Option<RemoteState>) -> Option<DriftEntry> {
    let (desired, state) = (desired?, state?);
    let matches = match desired {
        RunState::Running => state.is_started(),
        RunState::Paused => state == RemoteState::Paused,
    };
    (!matches && state != RemoteState::Unknown).then(|| DriftEntry {
        field: "spec.runState".into(),
        desired: format!("{desired:?}"),
        observed: format!("{state:?}"),
    })
}
