//! Publishing the planner's events as Kubernetes Events (events.k8s.io/v1). Events are published
//! only when something happened (an operation, a failure that is new or changed), so they need no
//! client-side cache: kube's Recorder keeps every event for minutes to fold repeats into series,
//! which at ten thousand tasks cost more memory than everything else the operator holds. Notes are
//! the planner's own text: never a token, never a response body.

use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use kube::{Client, Resource, ResourceExt};

use outbound_api::OutboundTask;
use outbound_core::planner::{self, PlannedEvent};

/// `<object>.<hex nanoseconds><hex random>`, as client-go names events (a trailing-dot
/// generateName is rejected by the API server's name validation).
fn event_name(object: &str) -> String {
    let nanos = jiff::Timestamp::now().as_nanosecond();
    let prefix: String = object.chars().take(200).collect();
    format!("{prefix}.{nanos:x}{:04x}", rand::random::<u16>())
}

/// `reportingController` of our Events.
pub const REPORTING_CONTROLLER: &str = "outbound.dev/outbound-operator";

/// Publishes Events as this process (`reportingInstance`).
pub struct EventRecorder {
    client: Client,
    instance: String,
}

impl EventRecorder {
    pub fn new(client: Client, instance: String) -> Self {
        EventRecorder { client, instance }
    }

    pub async fn publish(&self, task: &OutboundTask, planned: &PlannedEvent) {
        publish(&self.client, &self.instance, task, planned).await;
    }
}

async fn publish(client: &Client, instance: &str, task: &OutboundTask, planned: &PlannedEvent) {
    let namespace = task.namespace().unwrap_or_default();
    let event = Event {
        metadata: ObjectMeta {
            name: Some(event_name(&task.name_any())),
            namespace: Some(namespace.clone()),
            ..Default::default()
        },
        type_: Some(match planned.type_ {
            planner::EventType::Normal => "Normal".into(),
            planner::EventType::Warning => "Warning".into(),
        }),
        reason: Some(planned.reason.to_string()),
        note: Some(planned.note.chars().take(1024).collect()),
        action: Some("Reconcile".into()),
        regarding: Some(task.object_ref(&())),
        reporting_controller: Some(REPORTING_CONTROLLER.into()),
        reporting_instance: Some(instance.chars().take(128).collect()),
        event_time: Some(MicroTime(jiff::Timestamp::now())),
        ..Default::default()
    };
    let api: Api<Event> = Api::namespaced(client.clone(), &namespace);
    let place = super::permit().await;
    let created = api.create(&PostParams::default(), &event).await;
    drop(place);
    if let Err(error) = created {
        // Events are best effort: a failure to record one must not fail the reconcile.
        tracing::warn!(reason = planned.reason, %error, "could not publish event");
    }
}
