//! The operator's finalizer on an OutboundTask: added and removed with JSON patches that keep the
//! finalizers of others. When it is wanted, and what deletion owes, is `reconcile::deletion`'s.

use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde_json::json;

use outbound_api::OutboundTask;

pub const FINALIZER: &str = "outbound.dev/finalizer";
/// The name 0.1.0 used (for `deletionPolicy: Pause` only); still recognised as ours.
const LEGACY_FINALIZER: &str = "outbound.dev/pause-on-delete";

pub fn has(task: &OutboundTask) -> bool {
    position(task).is_some()
}

fn position(task: &OutboundTask) -> Option<usize> {
    task.finalizers()
        .iter()
        .position(|f| f == FINALIZER || f == LEGACY_FINALIZER)
}

/// Adds the finalizer (JSON patch, so finalizers of others are kept).
pub async fn add(api: &Api<OutboundTask>, task: &OutboundTask) -> kube::Result<()> {
    let patch = if task.meta().finalizers.is_none() {
        json!([{"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]}])
    } else {
        json!([{"op": "add", "path": "/metadata/finalizers/-", "value": FINALIZER}])
    };
    let patch: json_patch::Patch = serde_json::from_value(patch).expect("valid JSON patch");
    let _place = super::permit().await;
    api.patch(&task.name_any(), &PatchParams::default(), &Patch::Json::<()>(patch))
        .await?;
    Ok(())
}

/// Removes the finalizer; the `test` op makes the patch fail rather than remove another
/// finalizer if the list changed since we read it.
pub async fn remove(api: &Api<OutboundTask>, task: &OutboundTask) -> kube::Result<()> {
    remove_from(api, &task.name_any(), task.finalizers()).await
}

/// [`remove`] for an object whose finalizers on the server are `on_server` (the ones read, plus
/// ours when this reconcile added it since).
pub async fn remove_from(api: &Api<OutboundTask>, name: &str, on_server: &[String]) -> kube::Result<()> {
    let Some(index) = on_server.iter().position(|f| f == FINALIZER || f == LEGACY_FINALIZER) else {
        return Ok(());
    };
    let path = format!("/metadata/finalizers/{index}");
    let patch = json!([
        {"op": "test", "path": path, "value": on_server[index]},
        {"op": "remove", "path": path},
    ]);
    let patch: json_patch::Patch = serde_json::from_value(patch).expect("valid JSON patch");
    let _place = super::permit().await;
    api.patch(name, &PatchParams::default(), &Patch::Json::<()>(patch))
        .await?;
    Ok(())
}
