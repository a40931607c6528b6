//! The status after the create steps, as a pure function of how they ended.
//!
//! | result | Ready | Synced | Reconciling | Stalled |
//! |---|---|---|---|---|
//! | id known | False Creating | True ReconcileSuccess | True Creating | False Creating |
//! | not listed yet | False Creating | True ReconcileSuccess | True Creating | False Creating |
//! | transient failure | False Creating/Error | False `<reason>` | True | False |
//! | rejected, ambiguous, nothing to observe | False | False `<reason>` | True Creating while an intent is kept, else False | True `<reason>` |
//!
//! The id known, the next reconcile reads the task like an adopted one: settings, then runState.

use std::time::Duration;

use jiff::Timestamp;

use super::create::CreateResult;
use super::report::{condition, failure_conditions, foreign_conditions};
use super::{EventType, PlannedEvent};
use outbound_api::{OutboundTaskStatus, condition};

/// Inputs of [`create_report`].
#[derive(Clone, Debug)]
pub struct CreateReportInput<'a> {
    pub result: &'a CreateResult,
    pub previous: &'a OutboundTaskStatus,
    pub generation: i64,
    pub now: Timestamp,
    pub requested_at: Option<&'a str>,
}

/// The complete new status.
pub fn create_report(input: &CreateReportInput<'_>) -> OutboundTaskStatus {
    let previous = input.previous;
    let mut status = OutboundTaskStatus {
        observed_generation: Some(input.generation),
        operation_platform: None,
        last_handled_reconcile_at: input
            .requested_at
            .map(str::to_string)
            .or_else(|| previous.last_handled_reconcile_at.clone()),
        ..previous.clone()
    };
    let set = |type_: &str, ok: bool, reason: &str, message: String| {
        condition(
            &previous.conditions,
            type_,
            ok,
            reason,
            message,
            input.generation,
            input.now,
        )
    };
    let creating = |message: String| {
        vec![
            set(condition::READY, false, "Creating", message.clone()),
            set(
                condition::SYNCED,
                true,
                "ReconcileSuccess",
                "last reconcile succeeded".into(),
            ),
            set(condition::RECONCILING, true, "Creating", message),
            set(condition::STALLED, false, "Creating", String::new()),
        ]
    };
    let mut conditions = match input.result {
        CreateResult::Suspended => {
            let message = "reconciliation is suspended (spec.suspend): no task is created".to_string();
            vec![
                set(condition::READY, false, "Suspended", message),
                set(condition::RECONCILING, false, "Suspended", String::new()),
                set(condition::STALLED, false, "Suspended", String::new()),
            ]
        }
        CreateResult::Known { id, .. } => {
            status.task_id = Some(id.clone());
            status.create_intent = None;
            creating(format!("the remote task {id} exists; reading it next"))
        }
        CreateResult::Pending { intent, .. } => {
            status.create_intent = Some(intent.clone());
            creating("created or being created; looking the task up by name (the list may lag)".into())
        }
        CreateResult::Failed { failure, intent } => {
            status.create_intent = intent.clone();
            let in_flight = intent.is_some().then_some("Creating");
            failure_conditions(&previous.conditions, failure, in_flight, input.generation, input.now)
        }
    };
    conditions.extend(foreign_conditions(&previous.conditions));
    status.conditions = conditions;
    status
}

/// When to reconcile again after the create steps, `None` for the failure backoff of the
/// controller (or, for a stall, its resync).
pub fn create_requeue(result: &CreateResult) -> Option<Duration> {
    match result {
        CreateResult::Known { .. } => Some(Duration::ZERO),
        CreateResult::Pending { retry_after, .. } => Some(*retry_after),
        CreateResult::Suspended | CreateResult::Failed { .. } => None,
    }
}

/// The Normal event of a create whose task is known.
pub fn create_event(result: &CreateResult) -> Option<PlannedEvent> {
    let CreateResult::Known { id, listed } = result else {
        return None;
    };
    let note = if *listed {
        format!("created the remote task {id} (found by name in the list)")
    } else {
        format!("created the remote task {id}")
    };
    Some(PlannedEvent {
        type_: EventType::Normal,
        reason: super::reasons::CREATED,
        note,
        after_action: None,
    })
}
