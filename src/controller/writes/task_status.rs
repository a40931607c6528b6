//! Writing status: server-side apply on the status subresource only, so fields the operator no
//! longer reports disappear and nobody else's fields are touched.

use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use outbound_api::{OutboundTask, OutboundTaskStatus};

pub const FIELD_MANAGER: &str = "outbound-operator";

pub async fn apply(api: &Api<OutboundTask>, name: &str, status: &OutboundTaskStatus) -> kube::Result<()> {
    let patch = json!({
        "apiVersion": "outbound.dev/v1alpha1",
        "kind": "OutboundTask",
        "status": status,
    });
    let _place = super::permit().await;
    api.patch_status(name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&patch))
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
pub async fn apply_with_retries(api: &Api<OutboundTask>, name: &str, status: &OutboundTaskStatus) -> kube::Result<()> {
    let mut delays = RETRY_DELAYS.iter();
    loop {
        match apply(api, name, status).await {
            Ok(()) => return Ok(()),
            Err(error) => match delays.next().filter(|_| may_pass(&error)) {
                Some(delay) => {
                    tracing::debug!(task = %name, %error, retry_in = ?delay, "status write failed; retrying");
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
