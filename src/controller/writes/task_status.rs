//! Writing status: one JSON patch on the status subresource that replaces the whole status (so
//! fields the operator no longer reports disappear, and nothing outside status is touched),
//! guarded by a test of the object's uid: a status meant for an object that was deleted and
//! created again under the same name (a replace, Argo CD's `Replace=true`) fails instead of
//! landing on its successor, which would then take the old object's task id for its own. (A uid
//! in a server-side apply body is not checked on the status subresource: tried, the status
//! landed all the same.)

use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use outbound_api::{OutboundTask, OutboundTaskStatus};

/// The field manager of the operator's server-side applies (the accounts' status).
pub const FIELD_MANAGER: &str = "outbound-operator";

pub async fn apply(api: &Api<OutboundTask>, task: &OutboundTask, status: &OutboundTaskStatus) -> kube::Result<()> {
    let mut ops = Vec::with_capacity(2);
    if let Some(uid) = task.uid() {
        ops.push(json!({"op": "test", "path": "/metadata/uid", "value": uid}));
    }
    ops.push(json!({"op": "add", "path": "/status", "value": status}));
    let patch: json_patch::Patch = serde_json::from_value(serde_json::Value::Array(ops)).expect("valid JSON patch");
    let _place = super::permit().await;
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    };
    api.patch_status(&task.name_any(), &params, &Patch::Json::<()>(patch))
        .await?;
    Ok(())
}

/// Waits between the attempts of [`apply_with_retries`]: a few seconds in all, so a reconcile
/// is not held long, yet an API server that blips does not leave a stale journal behind.
const RETRY_DELAYS: [std::time::Duration; 3] = [
    std::time::Duration::from_millis(200),
    std::time::Duration::from_millis(800),
    std::time::Duration::from_millis(2000),
];

/// [`apply`], retried after failures that may pass (transport errors, timeouts, 409, 429, 5xx).
/// The write is an idempotent forced apply, so repeating it is always safe. Used for the status
/// that ends an operation: if it is lost, the journal stays, and the next reconcile would take a
/// pause made since (by a person, in the console) for the operator's own.
pub async fn apply_with_retries(
    api: &Api<OutboundTask>,
    task: &OutboundTask,
    status: &OutboundTaskStatus,
) -> kube::Result<()> {
    let mut delays = RETRY_DELAYS.iter();
    loop {
        match apply(api, task, status).await {
            Ok(()) => return Ok(()),
            Err(error) => match delays.next().filter(|_| may_pass(&error)) {
                Some(delay) => {
                    tracing::debug!(task = %task.name_any(), %error, retry_in = ?delay, "status write failed; retrying");
                    tokio::time::sleep(*delay).await;
                }
                None => return Err(error),
            },
        }
    }
}

/// Whether a failed write is worth repeating: not when the API server judged the request itself
/// (validation, permissions, a deleted object).
fn may_pass(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => matches!(status.code, 409 | 429 | 500..=599),
        _ => true,
    }
}

/// Whether `new` must be written over `previous`. A resync that finds the task still in sync only
/// moves `lastSyncTime`; writing that every period would cost one API-server write per task per
/// resync, so it is refreshed only once it is older than `refresh`.
pub fn worth_writing(previous: &OutboundTaskStatus, new: &OutboundTaskStatus, refresh: std::time::Duration) -> bool {
    if new == previous {
        return false;
    }
    let same_but_sync_time = OutboundTaskStatus {
        last_sync_time: previous.last_sync_time.clone(),
        ..new.clone()
    } == *previous;
    let (Some(before), Some(after)) = (&previous.last_sync_time, &new.last_sync_time) else {
        return true;
    };
    let age = after.0.duration_since(before.0).unsigned_abs();
    !same_but_sync_time || age >= refresh
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    use super::*;

    #[test]
    fn an_unchanged_resync_is_not_written_until_the_sync_time_is_old() {
        let at = |s: i64| Some(Time(Timestamp::from_second(s).unwrap()));
        let hour = std::time::Duration::from_secs(3600);
        let previous = OutboundTaskStatus {
            observed_generation: Some(1),
            last_sync_time: at(0),
            ..Default::default()
        };
        let resynced = OutboundTaskStatus {
            last_sync_time: at(300),
            ..previous.clone()
        };
        assert!(!worth_writing(&previous, &previous, hour));
        assert!(
            !worth_writing(&previous, &resynced, hour),
            "only lastSyncTime moved, 5 minutes"
        );
        let much_later = OutboundTaskStatus {
            last_sync_time: at(3600),
            ..previous.clone()
        };
        assert!(
            worth_writing(&previous, &much_later, hour),
            "refreshed once an hour old"
        );
        let changed = OutboundTaskStatus {
            observed_generation: Some(2),
            ..resynced.clone()
        };
        assert!(
            worth_writing(&previous, &changed, hour),
            "anything else changed: written"
        );
        let first = OutboundTaskStatus {
            last_sync_time: None,
            ..previous.clone()
        };
        assert!(worth_writing(&first, &previous, hour), "the first sync time is written");
    }
}
