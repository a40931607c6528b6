//! Publishing the planner's events as Kubernetes Events (events.k8s.io), through kube's
//! Recorder, which folds repeats of the same event into a series. Notes are the planner's own
//! text: never a token, never a response body.

use kube::Resource;
use kube::runtime::events::{Event, EventType};

use super::context::Context;
use crate::api::OutboundTask;
use crate::planner::{self, PlannedEvent};

pub async fn publish(ctx: &Context, task: &OutboundTask, planned: &PlannedEvent) {
    let event = Event {
        type_: match planned.type_ {
            planner::EventType::Normal => EventType::Normal,
            planner::EventType::Warning => EventType::Warning,
        },
        reason: planned.reason.to_string(),
        note: Some(planned.note.chars().take(1024).collect()),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(error) = ctx.recorder.publish(&event, &task.object_ref(&())).await {
        // Events are best effort: a failure to record one must not fail the reconcile.
        tracing::warn!(reason = planned.reason, %error, "could not publish event");
    }
}
