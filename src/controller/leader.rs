//! Leader election on a coordination.k8s.io Lease (kube-lease-manager), so that of several
//! replicas only one reconciles.

use kube::Client;
use kube_lease_manager::{LeaseManager, LeaseManagerBuilder};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::RunArgs;

/// Seconds a Lease stays valid without renewal; a crashed leader is replaced after at most this.
const LEASE_SECONDS: u64 = 15;
/// Seconds before expiry at which the holder renews.
const GRACE_SECONDS: u64 = 5;

pub struct Leadership {
    state: watch::Receiver<bool>,
    _renewer: JoinHandle<kube_lease_manager::Result<LeaseManager>>,
}

/// Waits until this process holds the Lease.
pub async fn acquire(client: Client, args: &RunArgs) -> anyhow::Result<Leadership> {
    let namespace = args
        .leader_election_namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let identity = args.identity.clone().unwrap_or_else(default_identity);
    let manager = LeaseManagerBuilder::new(client, &args.leader_election_id)
        .with_namespace(&namespace)
        .with_identity(&identity)
        .with_duration(LEASE_SECONDS)
        .with_grace(GRACE_SECONDS)
        .build()
        .await?;
    let (mut state, renewer) = manager.watch().await;
    tracing::info!(lease = %args.leader_election_id, %namespace, %identity, "waiting for leadership");
    while !*state.borrow_and_update() {
        state.changed().await?;
    }
    tracing::info!(%identity, "acquired leadership");
    Ok(Leadership {
        state,
        _renewer: renewer,
    })
}

impl Leadership {
    /// Resolves when the Lease is lost (or its renewal stopped).
    pub async fn lost(&mut self) -> anyhow::Error {
        loop {
            if self.state.changed().await.is_err() {
                return anyhow::anyhow!("leader election stopped");
            }
            if !*self.state.borrow_and_update() {
                return anyhow::anyhow!("lost leadership: exiting so that only the new leader acts");
            }
        }
    }
}

pub fn default_identity() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "outbound-operator".into());
    format!("{host}-{}", std::process::id())
}
