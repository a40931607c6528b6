//! The operator's finalizer on an OutboundTask: added and removed in ways that keep the finalizers
//! of others. When it is wanted, and what deletion owes, is `reconcile::deletion`'s.

use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde_json::json;

use outbound_api::OutboundTask;

pub const FINALIZER: &str = "outbound.dev/finalizer";
/// The name 0.1.0 used (for `deletionPolicy: Pause` only); still recognised as ours.
const LEGACY_FINALIZER: &str = "outbound.dev/pause-on-delete";

pub fn has(task: &OutboundTask) -> bool {
    task.finalizers().iter().any(|f| is_ours(f))
}

fn is_ours(finalizer: &str) -> bool {
    finalizer == FINALIZER || finalizer == LEGACY_FINALIZER
}

/// The field manager of the finalizer's server-side apply: apart from the status's, so that the
/// finalizer is the only thing it owns on the object.
const FINALIZER_MANAGER: &str = "outbound-operator-finalizer";

/// Adds the finalizer with a server-side apply of `metadata.finalizers` (a set): the API server
/// adds it to the list as it is *now*, so another controller's finalizer, even one added after
/// our cache read, is kept, and a second add is a no-op instead of a second copy.
pub async fn add(api: &Api<OutboundTask>, task: &OutboundTask) -> kube::Result<()> {
    let patch = json!({
        "apiVersion": "outbound.dev/v1alpha1",
        "kind": "OutboundTask",
        "metadata": {"name": task.name_any(), "finalizers": [FINALIZER]},
    });
    let _place = super::permit().await;
    api.patch(
        &task.name_any(),
        &PatchParams::apply(FINALIZER_MANAGER),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(())
}

/// `task` as it is once [`add`] succeeded, so that the rest of the reconcile does not add it again.
pub fn with_finalizer(task: &OutboundTask) -> OutboundTask {
    let mut task = task.clone();
    task.meta_mut()
        .finalizers
        .get_or_insert_with(Vec::new)
        .push(FINALIZER.into());
    task
}

/// Removes every copy of the finalizer (an older version could add it twice); the `test` ops
/// make the patch fail rather than remove another finalizer if the list changed since we read it.
pub async fn remove(api: &Api<OutboundTask>, task: &OutboundTask) -> kube::Result<()> {
    remove_from(api, &task.name_any(), task.finalizers()).await
}

/// [`remove`] for an object whose finalizers on the server are `on_server` (the ones read, plus
/// ours when this reconcile added it since).
pub async fn remove_from(api: &Api<OutboundTask>, name: &str, on_server: &[String]) -> kube::Result<()> {
    let ours: Vec<usize> = on_server
        .iter()
        .enumerate()
        .filter(|(_, f)| is_ours(f))
        .map(|(index, _)| index)
        .collect();
    if ours.is_empty() {
        return Ok(());
    }
    // From the last, so that each index still points at the same entry when it is removed.
    let ops: Vec<serde_json::Value> = ours
        .iter()
        .rev()
        .flat_map(|index| {
            let path = format!("/metadata/finalizers/{index}");
            [
                json!({"op": "test", "path": path, "value": on_server[*index]}),
                json!({"op": "remove", "path": path}),
            ]
        })
        .collect();
    let patch: json_patch::Patch = serde_json::from_value(serde_json::Value::Array(ops)).expect("valid JSON patch");
    let _place = super::permit().await;
    api.patch(name, &PatchParams::default(), &Patch::Json::<()>(patch))
        .await?;
    Ok(())
}
