//! Unit tests of the planner, one per case; names say the case.

mod crash;
mod create_cases;
mod enforcing_cases;
mod in_progress_cases;
mod intent_cases;
mod pause_wait_cases;
mod plan_cases;
mod report_cases;
mod steps_cases;
mod steps_edge_cases;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::Value;

use super::*;
use crate::mapping::fixtures;
use outbound_api::{Convergence, Operation, OperationPhase, OutboundTaskSpec, OutboundTaskStatus, RemoteState};

pub(super) const GEN: i64 = 4;

pub(super) fn now() -> Timestamp {
    "2025-03-01T10:00:00Z".parse().unwrap()
}

pub(super) fn earlier() -> Timestamp {
    "2025-03-01T09:00:00Z".parse().unwrap()
}

pub(super) fn status_code(state: RemoteState) -> i64 {
    match state {
        RemoteState::Paused => 1,
        RemoteState::Running => 2,
        RemoteState::Waiting => 3,
        RemoteState::Unknown => 9,
    }
}

/// The platform holding exactly `spec`, in `state`.
pub(super) fn echo(spec: &OutboundTaskSpec, state: RemoteState) -> Observed {
    Observed::from_detail(&fixtures::echo(spec, status_code(state)))
}

/// The platform holding `spec` with maximumcall changed to 4 (drift), in `state`.
pub(super) fn drifted(spec: &OutboundTaskSpec, state: RemoteState) -> Observed {
    let mut v = fixtures::echo_json(spec, status_code(state));
    v["maximumcall"] = Value::from(4);
    Observed::from_detail(&fixtures::detail(v))
}

pub(super) fn journal(phase: OperationPhase, resume_after: bool) -> Operation {
    Operation {
        phase,
        resume_after,
        started_at: Time(earlier()),
        generation: GEN,
    }
}

pub(super) fn status_with(operation: Option<Operation>) -> OutboundTaskStatus {
    OutboundTaskStatus {
        observed_generation: Some(GEN),
        operation,
        ..Default::default()
    }
}

pub(super) fn input<'a>(
    spec: &'a OutboundTaskSpec,
    observed: Observed,
    status: &'a OutboundTaskStatus,
) -> PlanInput<'a> {
    PlanInput {
        spec,
        generation: GEN,
        observed: Some(observed),
        status,
        requested_at: None,
        options: PlanOptions::new(now()),
    }
}

pub(super) fn report_of(
    plan: Option<&Plan>,
    execution: &Execution,
    previous: &OutboundTaskStatus,
) -> OutboundTaskStatus {
    report(&ReportInput {
        plan,
        execution,
        previous,
        generation: GEN,
        now: now(),
        requested_at: None,
    })
}

pub(super) fn kinds(plan: &Plan) -> Vec<ActionKind> {
    plan.action_kinds()
}

pub(super) use ActionKind::{Pause, Resume, Update};
