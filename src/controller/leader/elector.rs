//! One replica's reads and writes of the Lease record, and the decision each round takes from
//! what it read.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::ResourceExt;
use kube::api::{Api, ObjectMeta, PostParams};
use tokio::time::Instant;

use super::{LEASE_DURATION, RENEW_DEADLINE, ROUND_TIMEOUT};
use crate::controller::shard::LEASE_SHARE_ANNOTATION;
use outbound_platform::Fence;

/// Written (with the releasing replica's identity) by a leader that released the Lease on a
/// graceful shutdown, beside the empty holder client-go's release writes too. Only a record that
/// has both is taken at once: an empty holder without it is a person's edit, and the leader it
/// had may still be writing until its renew deadline. The next holder's record drops it.
pub(super) const RELEASED_ANNOTATION: &str = "outbound.dev/released-by";

/// What a replica does with the Lease it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Create,
    Take,
    Renew,
    Wait,
    /// We held it; now someone else does, or nobody (deleted or cleared).
    Lost,
}

/// The decision, from the record read, whether this process holds it, and for how long (by the
/// local clock) the record (or its absence) has been seen unchanged.
///
/// A follower waits at least this binary's `LEASE_DURATION` from when it first saw the record,
/// whatever the record says: a Lease deleted or emptied by a person (`kubectl delete lease`,
/// `holderIdentity: ""`) or given a short `leaseDurationSeconds` may still have a leader whose
/// fence is open until its renew deadline. Only a release (see [`RELEASED_ANNOTATION`]) is taken
/// at once: its leader closed its fence before writing it.
pub(super) fn decide(lease: Option<&Lease>, identity: &str, held: bool, unchanged_for: Duration) -> Step {
    let Some(lease) = lease else {
        return match () {
            () if held => Step::Lost,
            () if unchanged_for >= LEASE_DURATION => Step::Create,
            () => Step::Wait,
        };
    };
    let spec = lease.spec.clone().unwrap_or_default();
    let holder = spec.holder_identity.filter(|h| !h.is_empty());
    let duration = spec
        .lease_duration_seconds
        .filter(|s| *s > 0)
        .map_or(LEASE_DURATION, |s| Duration::from_secs(s as u64).max(LEASE_DURATION));
    match holder {
        Some(holder) if holder == identity && held => Step::Renew,
        _ if held => Step::Lost,
        None if released(lease) => Step::Take,
        // A holder with our name that is not this process (a restart under the same name) is
        // waited out like any other.
        _ if unchanged_for >= duration => Step::Take,
        _ => Step::Wait,
    }
}

/// Whether the record is a leader's release: no holder, and the release mark.
fn released(lease: &Lease) -> bool {
    lease.annotations().contains_key(RELEASED_ANNOTATION)
}

pub(super) struct Elector {
    pub(super) api: Api<Lease>,
    pub(super) name: String,
    /// Written into the Lease (`LEASE_SHARE_ANNOTATION`) and checked in every record read.
    pub(super) share: String,
    pub(super) identity: String,
    pub(super) held: bool,
    /// The record this process last wrote, while it holds the Lease (renewals need no read).
    pub(super) written: Option<Lease>,
    /// The record last read (its resourceVersion, empty for none), and when (local clock) it was
    /// first seen.
    pub(super) seen: Option<(String, Instant)>,
}

impl Elector {
    pub(super) fn new(api: Api<Lease>, name: &str, share: &str, identity: &str) -> Self {
        Elector {
            api,
            name: name.to_owned(),
            share: share.to_owned(),
            identity: identity.to_owned(),
            held: false,
            written: None,
            seen: None,
        }
    }

    /// Errors only for a Lease of another shard; API-server errors and timeouts are retried.
    pub(super) async fn bounded_round(&mut self, fence: &Fence) -> anyhow::Result<()> {
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
                self.lose(fence);
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
            // Deleted under the renewal: no longer ours.
            Err(kube::Error::Api(status)) if status.code == 404 && step == Step::Renew => {
                self.lose(fence);
                Ok(Ok(()))
            }
            Err(error) => Err(error),
        }
    }

    fn lose(&mut self, fence: &Fence) {
        self.held = false;
        fence.close();
        tracing::error!(lease = %self.name, "the leader Lease was deleted or names another holder");
    }

    /// Releases the Lease this process holds: no holder and a duration of 1 s (client-go's
    /// release), marked with [`RELEASED_ANNOTATION`] so that a follower takes it at once. A
    /// record someone else wrote since (a conflict) is left alone. Whether it was released.
    pub(super) async fn release(&mut self) -> Result<bool, kube::Error> {
        let Some(mut record) = self.written.take().filter(|_| self.held) else {
            return Ok(false);
        };
        self.held = false;
        record
            .annotations_mut()
            .insert(RELEASED_ANNOTATION.to_owned(), self.identity.clone());
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

    /// The record to write for `step`, from the one read (`None`: create). Its annotations are
    /// only the share: a release mark does not outlive the release.
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

#[cfg(test)]
#[path = "elector_tests.rs"]
mod tests;
