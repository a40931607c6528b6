//! What a plan costs the fleet: the campaigns that will be paused, the calls each account must
//! make and how long they take at its budget, the creates, and (with a cluster to compare with)
//! the objects the files no longer hold.

use std::collections::BTreeMap;

use kube::ResourceExt;

use super::TaskPlan;
use crate::cli::manifests::Manifests;
use outbound_api::DeletionPolicy;

/// An OutboundTask in the cluster that the files no longer hold: applying them with pruning (or
/// a GitOps tool's prune) deletes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Removed {
    /// `namespace/name`.
    pub task: String,
    pub deletion_policy: DeletionPolicy,
}

/// One account's share of the plan.
#[derive(Debug, PartialEq)]
pub struct AccountLoad {
    /// `namespace/name`.
    pub account: String,
    /// Platform calls: one read per task read, plus every planned write.
    pub calls: usize,
    pub requests_per_second: u32,
    /// Campaigns the operator pauses, at most `max_paused` at once.
    pub paused: usize,
    pub max_paused: u32,
}

impl AccountLoad {
    /// The least time the calls take at the account's budget.
    pub fn seconds(&self) -> f64 {
        self.calls as f64 / f64::from(self.requests_per_second.max(1))
    }
}

#[derive(Debug, Default, PartialEq)]
pub struct Fleet {
    /// Tasks the operator would pause (to update them).
    pub paused: Vec<String>,
    pub creates: Vec<String>,
    pub removed: Vec<Removed>,
    pub accounts: Vec<AccountLoad>,
}

impl Fleet {
    /// `plans` are those of `manifests.tasks`, in the same order.
    pub fn new(manifests: &Manifests, plans: &[TaskPlan], removed: Vec<Removed>) -> Self {
        let mut accounts: BTreeMap<String, AccountLoad> = BTreeMap::new();
        let mut fleet = Fleet {
            removed,
            ..Fleet::default()
        };
        for (task, plan) in manifests.tasks.iter().zip(plans) {
            let pauses = plan.actions.contains(&"pause");
            if pauses {
                fleet.paused.push(plan.task.clone());
            }
            if plan.actions.contains(&"create") {
                fleet.creates.push(plan.task.clone());
            }
            let Ok(account) = manifests.account_of(task) else {
                continue;
            };
            let key = format!("{}/{}", account.namespace().unwrap_or_default(), account.name_any());
            let load = accounts.entry(key.clone()).or_insert_with(|| AccountLoad {
                account: key,
                calls: 0,
                requests_per_second: account.spec.rate_limit.requests_per_second,
                paused: 0,
                max_paused: account.spec.max_paused(),
            });
            load.calls += usize::from(plan.remote_state.is_some()) + plan.actions.len();
            load.paused += usize::from(pauses);
        }
        fleet.accounts = accounts.into_values().collect();
        fleet
    }

    /// One line per fact, for people.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "{} campaign(s) paused to be updated, {} created, {} removed from the files",
            self.paused.len(),
            self.creates.len(),
            self.removed.len()
        )];
        for load in &self.accounts {
            lines.push(format!(
                "account {}: {} call(s), at least {:.1}s at {} requests/s; {} paused, at most {} at once",
                load.account,
                load.calls,
                load.seconds(),
                load.requests_per_second,
                load.paused,
                load.max_paused
            ));
        }
        for removed in &self.removed {
            let effect = match removed.deletion_policy {
                DeletionPolicy::Orphan => "the campaign is left as it is (deletionPolicy Orphan)",
                DeletionPolicy::Pause => "the campaign is paused (deletionPolicy Pause)",
                DeletionPolicy::Delete => "the campaign is paused, then DELETED (deletionPolicy Delete)",
            };
            lines.push(format!(
                "{} is in the cluster, not in the files: pruned, {effect}",
                removed.task
            ));
        }
        lines
    }
}
