//! Leader election on a coordination.k8s.io Lease, with a renew deadline, so that of several
//! replicas only one writes to the platform, and a replica cut off from the API server stops
//! writing before another can take over.
//!
//! The protocol is client-go's (what controller-runtime uses), made safe against people's edits:
//! - A follower reads the Lease every `RETRY_PERIOD`. It takes the Lease when the record (or its
//!   absence) has not changed for `LEASE_DURATION`, or the record's own duration when that is
//!   longer, *as measured by the follower's own clock* since it first saw that record (so no
//!   clock has to agree with the holder's `renewTime`). A missing Lease, an empty holder and a
//!   short `leaseDurationSeconds` are waited out the same way (review D9: they may be a person's
//!   `kubectl delete` or edit while a leader still writes); only a leader's release, which closed
//!   its fence first and says so (`elector::RELEASED_ANNOTATION`), is taken at once. Taking and
//!   renewing are writes with the resourceVersion that was read, so of two replicas writing the
//!   same record one gets a conflict.
//! - The leader renews every `RETRY_PERIOD`. Each successful renewal opens the `Fence` until
//!   the instant the renewal was *sent* plus `LEASE_DURATION - GRACE` (the renew deadline). A
//!   follower can take over only `LEASE_DURATION` after it saw that write, which is after the
//!   write was sent: the leader's fence closes at least `GRACE` before any takeover. Every
//!   platform write asks the fence right before it is sent (`PlatformClient`), and the process
//!   exits when the fence closes (`Leadership::lost`), whatever the renewals are doing (a frozen
//!   API server makes them hang, not fail).
//! - The leader also watches its Lease (`watch::guard`): deleted, or naming another holder or
//!   none, the fence closes at once rather than at the next renewal's conflict.
//!
//! kube-lease-manager 0.13 was replaced by this because its `watch()` never reports a loss while
//! renewals fail, and it does not expose when a renewal last succeeded.

use std::time::Duration;

use kube::Client;
use kube::api::Api;
use tokio::task::JoinHandle;

use outbound_platform::Fence;

mod elector;
mod watch;

use elector::Elector;

/// How long a Lease stays valid without renewal, as the other replicas count it: a crashed or
/// cut-off leader is replaced after about this (plus up to one `RETRY_PERIOD`).
const LEASE_DURATION: Duration = Duration::from_secs(15);
/// How long before its Lease could be taken over the leader stops writing: room for a write
/// already on its way and for clocks that run at slightly different rates.
const GRACE: Duration = Duration::from_secs(5);
/// The renew deadline: writes are allowed this long after the last successful renewal was sent.
const RENEW_DEADLINE: Duration = LEASE_DURATION.saturating_sub(GRACE);
/// How often the leader renews and a follower reads the Lease.
const RETRY_PERIOD: Duration = Duration::from_secs(2);
/// Longest one read-and-write round may take (a frozen API server never answers).
const ROUND_TIMEOUT: Duration = Duration::from_secs(5);

/// Held while this process is the leader. Dropping it stops the renewals.
pub struct Leadership {
    fence: Fence,
    renewer: JoinHandle<()>,
    /// The watch on the Lease (`watch::guard`).
    guard: JoinHandle<()>,
    /// Tells the renewer to release the Lease and stop (see [`Leadership::release`]).
    release: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Leadership {
    fn drop(&mut self) {
        self.renewer.abort();
        self.guard.abort();
    }
}

/// Waits until this process holds the Lease; `fence` is then open and kept open by renewals.
/// `share` is the canonical `--watch-label-selector` (empty: every task); a Lease that records
/// another share is an error: two shards on one Lease would leave one of them without a leader.
pub async fn acquire(
    client: Client,
    namespace: &str,
    lease: &str,
    share: &str,
    identity: &str,
    fence: Fence,
) -> anyhow::Result<Leadership> {
    let mut elector = Elector::new(Api::namespaced(client, namespace), lease, share, identity);
    tracing::info!(%lease, %namespace, %identity, "waiting for leadership");
    loop {
        elector.bounded_round(&fence).await?;
        if elector.held {
            break;
        }
        tokio::time::sleep(RETRY_PERIOD).await;
    }
    tracing::info!(%lease, %identity, "acquired leadership");
    let guard = tokio::spawn(watch::guard(
        elector.api.clone(),
        lease.to_owned(),
        identity.to_owned(),
        fence.clone(),
    ));
    let (release, released) = tokio::sync::oneshot::channel();
    let renewer = tokio::spawn(keep(elector, fence.clone(), released));
    Ok(Leadership {
        fence,
        renewer,
        guard,
        release: Some(release),
    })
}

impl Leadership {
    /// Resolves when this process may no longer write: no renewal succeeded within the renew
    /// deadline, or the Lease was deleted or names another holder or none. The caller exits; the fence already refuses
    /// every platform write.
    pub async fn lost(&mut self) -> anyhow::Error {
        self.fence.expired().await;
        tracing::error!(
            renew_deadline = ?RENEW_DEADLINE,
            "lost leadership: no platform write from now on; exiting so that only the new leader acts"
        );
        anyhow::anyhow!("lost leadership")
    }

    /// After a graceful shutdown: closes the fence (no platform write from here on), then clears
    /// the holder of the Lease, so that a follower takes it at its next read instead of waiting
    /// out the Lease's duration. Bounded by one round's timeout; on any failure the Lease simply
    /// expires as after a crash.
    pub async fn release(mut self) {
        self.fence.close();
        // Our own release empties the holder: not a loss to report.
        self.guard.abort();
        if let Some(release) = self.release.take()
            && release.send(()).is_ok()
        {
            let renewer = &mut self.renewer;
            let _ = tokio::time::timeout(ROUND_TIMEOUT + RETRY_PERIOD, renewer).await;
        }
    }
}

/// Renews until the fence closes (the deadline passed, or the Lease went to someone else), or
/// until told to release the Lease.
async fn keep(mut elector: Elector, fence: Fence, mut released: tokio::sync::oneshot::Receiver<()>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(RETRY_PERIOD) => {}
            _ = &mut released => {
                fence.close();
                match tokio::time::timeout(ROUND_TIMEOUT, elector.release()).await {
                    Ok(Ok(true)) => tracing::info!(lease = %elector.name, "released the leader Lease"),
                    Ok(Ok(false)) => {}
                    Ok(Err(error)) => tracing::warn!(%error, "could not release the leader Lease: it expires instead"),
                    Err(_) => tracing::warn!("releasing the leader Lease timed out: it expires instead"),
                }
                return;
            }
        }
        if !fence.allows_write() || !elector.held {
            fence.close();
            return;
        }
        if let Err(error) = elector.bounded_round(&fence).await {
            tracing::error!(%error, "leader Lease taken by another shard");
            fence.close();
            return;
        }
    }
}

pub fn default_identity() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "outbound-operator".into());
    format!("{host}-{}", std::process::id())
}
