//! Leader election on a coordination.k8s.io Lease, with a renew deadline, so that of several
//! replicas only one writes to the platform, and a replica cut off from the API server stops
//! writing before another can take over.
//!
//! The protocol is client-go's (what controller-runtime uses):
//! - A follower reads the Lease every `RETRY_PERIOD`. It takes the Lease when it has no holder, or
//!   when the record has not changed for the Lease's duration *as measured by the follower's own
//!   clock* since it first saw that record (so no clock has to agree with the holder's
//!   `renewTime`). Taking and renewing are writes with the resourceVersion that was read, so of
//!   two replicas writing the same record one gets a conflict.
//! - The leader renews every `RETRY_PERIOD`. Each successful renewal opens the `Fence` until
//!   the instant the renewal was *sent* plus `LEASE_DURATION - GRACE` (the renew deadline). A
//!   follower can take over only `LEASE_DURATION` after it saw that write, which is after the
//!   write was sent: the leader's fence closes at least `GRACE` before any takeover. Every
//!   platform write asks the fence right before it is sent (`PlatformClient`), and the process
//!   exits when the fence closes (`Leadership::lost`), whatever the renewals are doing (a frozen
//!   API server makes them hang, not fail).
//!
//! kube-lease-manager 0.13 was replaced by this because its `watch()` never reports a loss while
//! renewals fail, and it does not expose when a renewal last succeeded.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, ObjectMeta, PostParams};
use kube::{Client, ResourceExt};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::shard::LEASE_SHARE_ANNOTATION;
use outbound_platform::Fence;

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
    /// Tells the renewer to release the Lease and stop (see [`Leadership::release`]).
    release: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Leadership {
    fn drop(&mut self) {
        self.renewer.abort();
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
    let mut elector = Elector {
        api: Api::namespaced(client, namespace),
        name: lease.to_owned(),
        share: share.to_owned(),
        identity: identity.to_owned(),
        held: false,
        written: None,
        seen: None,
    };
    tracing::info!(%lease, %namespace, %identity, "waiting for leadership");
    loop {
        elector.bounded_round(&fence).await?;
        if elector.held {
            break;
        }
        tokio::time::sleep(RETRY_PERIOD).await;
    }
    tracing::info!(%lease, %identity, "acquired leadership");
    let (release, released) = tokio::sync::oneshot::channel();
    let renewer = tokio::spawn(keep(elector, fence.clone(), released));
    Ok(Leadership {
        fence,
        renewer,
        release: Some(release),
    })
}

impl Leadership {
    /// Resolves when this process may no longer write: no renewal succeeded within the renew
    /// deadline, or another replica holds the Lease. The caller exits; the fence already refuses
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

/// What a replica does with the Lease it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Create,
    Take,
    Renew,
    Wait,
    /// We held it; now someone else does.
    Lost,
}

/// The decision, from the record read, whether this process holds it, and for how long (by the
/// local clock) the record has been seen unchanged.
fn decide(lease: Option<&Lease>, identity: &str, held: bool, unchanged_for: Duration) -> Step {
    let Some(lease) = lease else {
        return Step::Create;
    };
    let spec = lease.spec.clone().unwrap_or_default();
    let holder = spec.holder_identity.filter(|h| !h.is_empty());
    let duration = spec
        .lease_duration_seconds
        .filter(|s| *s > 0)
        .map_or(LEASE_DURATION, |s| Duration::from_secs(s as u64));
    match holder {
        Some(holder) if holder == identity && held => Step::Renew,
        _ if held => Step::Lost,
        None => Step::Take,
        // A holder with our name that is not this process (a restart under the same name) is
        // waited out like any other.
        Some(_) if unchanged_for >= duration => Step::Take,
        Some(_) => Step::Wait,
    }
}

struct Elector {
    api: Api<Lease>,
    name: String,
    /// Written into the Lease (`LEASE_SHARE_ANNOTATION`) and checked in every record read.
    share: String,
    identity: String,
    held: bool,
    /// The record this process last wrote, while it holds the Lease (renewals need no read).
    written: Option<Lease>,
    /// The record last read, and when (local clock) it was first seen.
    seen: Option<(String, Instant)>,
}

impl Elector {
    /// Errors only for a Lease of another shard; API-server errors and timeouts are retried.
    async fn bounded_round(&mut self, fence: &Fence) -> anyhow::Result<()> {
        match tokio::time::timeout(ROUND_TIMEOUT, self.round(fence)).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(other_share))) => return Err(other_share),
            Ok(Err(error)) => tracing::warn!(%error, held = self.held, "leader Lease round failed"),
            Err(_) => tracing::warn!(held = self.held, "leader Lease round timed out"),
        }
        Ok(())
    }

    async fn round(&mut self, fence: &Fence) -> Result<anyhow::Result<()>, kube::Error> {
        let lease = match self.written.take() {
            Some(lease) => Some(lease),
            None => self.api.get_opt(&self.name).await?,
        };
        if let Some(other) = lease.as_ref().and_then(|l| other_share(l, &self.share)) {
            return Ok(Err(anyhow::anyhow!(
                "the Lease {:?} belongs to the shard {other:?}, this replica reconciles {:?}: give each \
                 shard its own --leader-election-id (or leave it out: each --watch-label-selector \
                 then gets a Lease of its own)",
                self.name,
                self.share
            )));
        }
        let unchanged_for = self.observe(lease.as_ref());
        let step = decide(lease.as_ref(), &self.identity, self.held, unchanged_for);
        let sent = Instant::now();
        let params = PostParams::default();
        let result = match step {
            Step::Wait => return Ok(Ok(())),
            Step::Lost => {
                self.held = false;
                fence.close();
                return Ok(Ok(()));
            }
            Step::Create => self.api.create(&params, &self.record(None, step)).await,
            Step::Take | Step::Renew => {
                let record = self.record(lease.as_ref(), step);
                self.api.replace(&self.name, &params, &record).await
            }
        };
        match result {
            Ok(written) => {
                fence.hold_until(sent + RENEW_DEADLINE);
                self.held = true;
                self.observe(Some(&written));
                self.written = Some(written);
                Ok(Ok(()))
            }
            // Someone else wrote first (or created it): read it again next round.
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(Ok(())),
            Err(error) => Err(error),
        }
    }

    /// Clears the holder of the Lease this process holds (client-go's release: no holder, a
    /// duration of 1 s). A record someone else wrote since (a conflict) is left alone. Whether it
    /// was released.
    async fn release(&mut self) -> Result<bool, kube::Error> {
        let Some(mut record) = self.written.take().filter(|_| self.held) else {
            return Ok(false);
        };
        self.held = false;
        let spec = record.spec.get_or_insert_with(LeaseSpec::default);
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(jiff::Timestamp::now()));
        match self.api.replace(&self.name, &PostParams::default(), &record).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// How long the record has been seen unchanged (zero when it just changed).
    fn observe(&mut self, lease: Option<&Lease>) -> Duration {
        let version = lease.and_then(|l| l.resource_version()).unwrap_or_default();
        match &self.seen {
            Some((seen, since)) if *seen == version => since.elapsed(),
            _ => {
                self.seen = Some((version, Instant::now()));
                Duration::ZERO
            }
        }
    }

    /// The record to write for `step`, from the one read (`None`: create).
    fn record(&self, read: Option<&Lease>, step: Step) -> Lease {
        let now = MicroTime(jiff::Timestamp::now());
        let old = read.and_then(|l| l.spec.clone()).unwrap_or_default();
        let transitions = old.lease_transitions.unwrap_or(0);
        Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                resource_version: read.and_then(|l| l.resource_version()),
                annotations: Some([(LEASE_SHARE_ANNOTATION.to_owned(), self.share.clone())].into()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(self.identity.clone()),
                lease_duration_seconds: Some(LEASE_DURATION.as_secs() as i32),
                acquire_time: if step == Step::Renew {
                    old.acquire_time
                } else {
                    Some(now.clone())
                },
                renew_time: Some(now),
                lease_transitions: Some(if step == Step::Take {
                    transitions + 1
                } else {
                    transitions
                }),
                ..LeaseSpec::default()
            }),
        }
    }
}

/// The share a Lease records, when it is not `share`. A Lease without the annotation (written by
/// a version before sharding) is taken to be anyone's.
fn other_share(lease: &Lease, share: &str) -> Option<String> {
    lease
        .annotations()
        .get(LEASE_SHARE_ANNOTATION)
        .filter(|recorded| *recorded != share)
        .cloned()
}

pub fn default_identity() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "outbound-operator".into());
    format!("{host}-{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held_by(holder: Option<&str>, seconds: i32) -> Lease {
        Lease {
            metadata: ObjectMeta {
                resource_version: Some("1".into()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: holder.map(str::to_owned),
                lease_duration_seconds: Some(seconds),
                ..LeaseSpec::default()
            }),
        }
    }

    #[test]
    fn followers_take_only_a_free_or_long_unchanged_lease() {
        let other = held_by(Some("other"), 15);
        let fresh = Duration::from_secs(14);
        assert_eq!(decide(None, "me", false, Duration::ZERO), Step::Create);
        assert_eq!(
            decide(Some(&held_by(None, 15)), "me", false, Duration::ZERO),
            Step::Take
        );
        assert_eq!(
            decide(Some(&held_by(Some(""), 15)), "me", false, Duration::ZERO),
            Step::Take
        );
        assert_eq!(decide(Some(&other), "me", false, fresh), Step::Wait);
        assert_eq!(decide(Some(&other), "me", false, Duration::from_secs(15)), Step::Take);
        // The record's own duration counts, not ours.
        assert_eq!(
            decide(Some(&held_by(Some("other"), 60)), "me", false, fresh * 2),
            Step::Wait
        );
        // Our name, but not this process: waited out like anyone else.
        assert_eq!(decide(Some(&held_by(Some("me"), 15)), "me", false, fresh), Step::Wait);
    }

    #[test]
    fn the_leader_renews_its_own_and_notices_a_new_holder() {
        assert_eq!(
            decide(Some(&held_by(Some("me"), 15)), "me", true, Duration::ZERO),
            Step::Renew
        );
        assert_eq!(
            decide(Some(&held_by(Some("other"), 15)), "me", true, Duration::ZERO),
            Step::Lost
        );
        assert_eq!(decide(Some(&held_by(None, 15)), "me", true, Duration::ZERO), Step::Lost);
    }

    #[test]
    fn a_lease_recording_another_share_is_refused() {
        let mut lease = held_by(Some("other"), 15);
        assert_eq!(other_share(&lease, "k=a"), None, "a Lease from before sharding");
        lease.metadata.annotations = Some([(LEASE_SHARE_ANNOTATION.to_owned(), "k=a".to_owned())].into());
        assert_eq!(other_share(&lease, "k=a"), None);
        assert_eq!(other_share(&lease, "k=b").as_deref(), Some("k=a"));
        assert_eq!(other_share(&lease, "").as_deref(), Some("k=a"));
    }

    #[test]
    fn the_renew_deadline_leaves_the_grace_before_a_takeover() {
        assert!(RENEW_DEADLINE + GRACE <= LEASE_DURATION);
        assert!(
            RETRY_PERIOD * 3 < RENEW_DEADLINE,
            "several renewals fit in the deadline"
        );
    }
}
