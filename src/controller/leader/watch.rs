//! The leader's watch on its own Lease, beside the renewals: a person who deletes the Lease or
//! gives it to someone else (`kubectl delete lease`, `kubectl edit`) closes the fence within
//! the watch's latency, instead of at the next renewal's conflict and read (2–7 s later). A
//! deletion the renewals would not even see: an update of a missing Lease creates it again.

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};

use outbound_platform::Fence;

/// Watches the Lease `name` (a field selector on its name: only that object) until it is
/// deleted or names a holder other than `identity`, then closes `fence` and returns. Watch
/// failures are retried with kube-runtime's backoff; meanwhile the renew deadline still bounds
/// the fence.
pub(super) async fn guard(api: Api<Lease>, name: String, identity: String, fence: Fence) {
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut events = watcher(api, config).default_backoff().boxed();
    let mut listed = None;
    let mut failing = false;
    while let Some(event) = events.next().await {
        let gone = match event {
            Ok(watcher::Event::Init) => {
                listed = Some(false);
                None
            }
            Ok(watcher::Event::InitApply(lease)) => {
                listed = Some(true);
                not_ours(&lease, &identity)
            }
            Ok(watcher::Event::Apply(lease)) => not_ours(&lease, &identity),
            // A (re)list that did not find it: deleted, perhaps while the watch was down.
            Ok(watcher::Event::InitDone) => (listed == Some(false)).then(|| "was deleted".to_owned()),
            Ok(watcher::Event::Delete(_)) => Some("was deleted".to_owned()),
            Err(error) => {
                if !failing {
                    tracing::warn!(%error, lease = %name, "watching the leader Lease failed; retrying (the renew deadline still applies)");
                }
                failing = true;
                None
            }
        };
        if let Some(why) = gone {
            fence.close();
            tracing::error!(lease = %name, "the leader Lease {why}: no platform write from now on");
            return;
        }
    }
}

/// Why the record is no longer this process's, if it is not.
fn not_ours(lease: &Lease, identity: &str) -> Option<String> {
    let holder = lease
        .spec
        .as_ref()
        .and_then(|s| s.holder_identity.as_deref())
        .unwrap_or("");
    (holder != identity).then(|| match holder {
        "" => "has no holder any more".to_owned(),
        other => format!("names another holder ({other:?})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::coordination::v1::LeaseSpec;

    #[test]
    fn only_a_record_naming_this_process_is_ours() {
        let holding = |holder: Option<&str>| Lease {
            spec: Some(LeaseSpec {
                holder_identity: holder.map(str::to_owned),
                lease_duration_seconds: Some(1),
                ..LeaseSpec::default()
            }),
            ..Lease::default()
        };
        assert_eq!(
            not_ours(&holding(Some("me")), "me"),
            None,
            "a short duration is still ours"
        );
        assert!(not_ours(&holding(Some("")), "me").unwrap().contains("no holder"));
        assert!(not_ours(&holding(None), "me").unwrap().contains("no holder"));
        assert!(not_ours(&holding(Some("you")), "me").unwrap().contains("\"you\""));
        assert!(not_ours(&Lease::default(), "me").is_some());
    }
}
