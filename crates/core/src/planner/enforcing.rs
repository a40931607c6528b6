//! The announcement of the first writes to a task that was only observed until now.
//!
//! A task adopted in `mode: Observe` reports its differences in `status.drift` and writes
//! nothing. When the mode is switched to Enforce, the next reconcile pauses, updates and resumes
//! a live campaign: the `EnforcingChanges` event says exactly what will change (observed ->
//! desired), before the first platform call, so the change is on record even if the operation is
//! interrupted half-way.

use super::{EventType, Plan, PlannedEvent, reasons};
use crate::diff::shorten;
use outbound_api::{OutboundTaskStatus, condition};

/// Ready's reason after an Observe reconcile that found differences (see `report`).
const OBSERVED_DRIFT: &str = "Drifted";

/// Adds the `EnforcingChanges` event to an Enforce plan that writes to a task whose last
/// reconcile observed differences without correcting them.
pub(super) fn announce(p: &mut Plan, previous: &OutboundTaskStatus) {
    let observed_drift = previous
        .conditions
        .iter()
        .any(|c| c.type_ == condition::READY && c.reason == OBSERVED_DRIFT);
    if !observed_drift || !p.writes() {
        return;
    }
    let mut changes: Vec<String> = p.run_state_drift(p.remote_state).map_or_else(Vec::new, |d| {
        vec![format!("{}: {} -> {}", d.field, d.observed, d.desired)]
    });
    changes.extend(p.differences.iter().map(ToString::to_string));
    let steps: Vec<&str> = p.actions.iter().map(|a| a.kind().name()).collect();
    let note = format!(
        "enforcing spec on a task observed until now: will {}; changes (observed -> desired): {}",
        steps.join(", then "),
        changes.join("; ")
    );
    p.events.insert(
        0,
        PlannedEvent {
            type_: EventType::Normal,
            reason: reasons::ENFORCING_CHANGES,
            note: shorten(&note, 1024),
            after_action: None,
        },
    );
}
