//! Fleet metrics: what the controller's caches hold, computed at scrape time from the reflector
//! stores (no bookkeeping in the reconcile path, so they cannot drift from the objects: a deleted
//! task, or one that moved to another shard, leaves the cache and with it every metric): tasks by
//! Ready reason and by remote run state, campaigns paused by the operator (an operation journal in
//! status) and the age of the oldest, tasks Stalled or not Synced and for how long, each
//! account's Ready condition and rate budget.
//! Also `outbound_leader`, set by `run()` and labelled with the Lease the replicas compete for, so
//! that an alert can tell each set of replicas (a release, a shard) apart: a release without a
//! leader is not masked by another release's leader.
//!
//! Only the replica that reconciles has caches: a follower exports `outbound_leader{..} 0` and the
//! fleet metrics without samples, so sums over replicas count every task once.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::ResourceExt;
use kube::runtime::reflector::Store;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use outbound_api::{OutboundAccount, OutboundTask, RemoteState, condition};
use outbound_platform::metrics::AccountLabels;

/// Reason exported for a task that has no Ready condition yet.
pub const NOT_YET_RECONCILED: &str = "NotYetReconciled";

/// Registers the fleet collector and the leader gauge; `observe` hands it the caches once they
/// exist (after leadership is acquired).
#[derive(Default)]
pub struct FleetMetrics {
    stores: Arc<OnceLock<Stores>>,
    leader: Family<LeaderLabels, Gauge>,
    lease: LeaderLabels,
}

#[derive(Clone, Debug, Default, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LeaderLabels {
    /// The leader Lease's name; empty without `--leader-elect` (one replica, always leading).
    pub lease: String,
}

struct Stores {
    tasks: Store<OutboundTask>,
    accounts: Store<OutboundAccount>,
}

impl FleetMetrics {
    /// `lease`: the leader Lease this replica competes for, if any.
    pub fn new(lease: Option<&str>) -> Self {
        let metrics = FleetMetrics {
            lease: LeaderLabels {
                lease: lease.unwrap_or_default().to_string(),
            },
            ..FleetMetrics::default()
        };
        metrics.set_leader(false);
        metrics
    }

    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "outbound_leader",
            "1 on the replica that reconciles (holds the leader Lease named by `lease`, or runs without leader election), 0 on a follower",
            self.leader.clone(),
        );
        registry.register_collector(Box::new(FleetCollector {
            stores: self.stores.clone(),
        }));
    }

    pub fn set_leader(&self, leading: bool) {
        self.leader.get_or_create(&self.lease).set(i64::from(leading));
    }

    /// Starts exporting what these caches hold. Later calls are ignored (one controller a process).
    pub fn observe(&self, tasks: Store<OutboundTask>, accounts: Store<OutboundAccount>) {
        let _ = self.stores.set(Stores { tasks, accounts });
    }
}

struct FleetCollector {
    stores: Arc<OnceLock<Stores>>,
}

impl fmt::Debug for FleetCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetCollector")
            .field("observing", &self.stores.get().is_some())
            .finish()
    }
}

impl Collector for FleetCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let fleet = match self.stores.get() {
            Some(stores) => Fleet::of(&stores.tasks.state(), &stores.accounts.state(), Timestamp::now()),
            None => Fleet::default(),
        };
        fleet.encode(&mut encoder)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct ConditionLabels {
    pub status: String,
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct NamespaceLabels {
    /// Not `namespace`, which Prometheus sets to the scraped pod's.
    pub task_namespace: String,
}

/// A namespace and the reason of a condition (Stalled's, or Synced's).
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct ReasonLabels {
    pub task_namespace: String,
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct StateLabels {
    /// `Running`, `Waiting`, `Paused` or `Unknown` (status.remoteState).
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AccountConditionLabels {
    #[prometheus(flatten)]
    pub account: AccountLabels,
    #[prometheus(flatten)]
    pub ready: ConditionLabels,
}

/// Counts and ages, in seconds, at one instant. The functional core of this module.
#[derive(Debug, Default, PartialEq)]
pub struct Fleet {
    pub tasks_by_ready: BTreeMap<ConditionLabels, f64>,
    /// Tasks by status.remoteState; a task never read yet has none and is not counted.
    pub tasks_by_remote_state: BTreeMap<StateLabels, f64>,
    pub paused_by_operator: BTreeMap<NamespaceLabels, f64>,
    pub oldest_operation_age: BTreeMap<NamespaceLabels, f64>,
    pub stalled: BTreeMap<ReasonLabels, f64>,
    pub longest_stalled: BTreeMap<ReasonLabels, f64>,
    /// Synced=False by its reason (the failure: SecretNotFound, RemoteError, ...) and, for the
    /// longest, the time since Synced became False (it keeps that time while the reason changes).
    pub not_synced: BTreeMap<ReasonLabels, f64>,
    pub longest_not_synced: BTreeMap<ReasonLabels, f64>,
    /// One row per account: (labels with the Ready condition, requests per second, burst).
    pub accounts: Vec<(AccountConditionLabels, f64, f64)>,
}

impl Fleet {
    pub fn of(tasks: &[Arc<OutboundTask>], accounts: &[Arc<OutboundAccount>], now: Timestamp) -> Fleet {
        let mut fleet = Fleet::default();
        for task in tasks {
            let namespace = task.namespace().unwrap_or_default();
            let status = task.status.as_ref();
            let conditions = status.map(|s| s.conditions.as_slice()).unwrap_or_default();
            *fleet.tasks_by_ready.entry(ready_labels(conditions)).or_default() += 1.0;
            if let Some(state) = status.and_then(|s| s.remote_state) {
                let key = StateLabels {
                    state: state_label(state).into(),
                };
                *fleet.tasks_by_remote_state.entry(key).or_default() += 1.0;
            }
            if let Some(operation) = status.and_then(|s| s.operation.as_ref()) {
                let key = NamespaceLabels {
                    task_namespace: namespace.clone(),
                };
                *fleet.paused_by_operator.entry(key.clone()).or_default() += 1.0;
                let age = seconds_since(now, operation.started_at.0);
                let oldest = fleet.oldest_operation_age.entry(key).or_default();
                *oldest = oldest.max(age);
            }
            if let Some(stalled) = find(conditions, condition::STALLED).filter(|c| c.status == "True") {
                count_with_age(&mut fleet.stalled, &mut fleet.longest_stalled, &namespace, stalled, now);
            }
            if let Some(synced) = find(conditions, condition::SYNCED).filter(|c| c.status == "False") {
                count_with_age(
                    &mut fleet.not_synced,
                    &mut fleet.longest_not_synced,
                    &namespace,
                    synced,
                    now,
                );
            }
        }
        for account in accounts {
            let conditions = account
                .status
                .as_ref()
                .map(|s| s.conditions.as_slice())
                .unwrap_or_default();
            let labels = AccountConditionLabels {
                account: AccountLabels {
                    account_namespace: account.namespace().unwrap_or_default(),
                    account: account.name_any(),
                },
                ready: ready_labels(conditions),
            };
            let rate = &account.spec.rate_limit;
            fleet
                .accounts
                .push((labels, f64::from(rate.requests_per_second), f64::from(rate.burst)));
        }
        fleet
    }

    fn encode(&self, encoder: &mut DescriptorEncoder) -> fmt::Result {
        gauges(
            encoder,
            "outbound_tasks_by_ready_reason",
            "OutboundTasks by the status and reason of their Ready condition",
            None,
            self.tasks_by_ready.clone(),
        )?;
        gauges(
            encoder,
            "outbound_tasks_by_remote_state",
            "OutboundTasks by the run state of their remote task when last read (status.remoteState)",
            None,
            self.tasks_by_remote_state.clone(),
        )?;
        gauges(
            encoder,
            "outbound_tasks_paused_by_operator",
            "OutboundTasks with an update in flight (status.operation): their campaign is paused by the operator until it resumes it",
            None,
            self.paused_by_operator.clone(),
        )?;
        gauges(
            encoder,
            "outbound_operation_oldest_age",
            "Age of the oldest update in flight (status.operation.startedAt) in each namespace",
            Some(&Unit::Seconds),
            self.oldest_operation_age.clone(),
        )?;
        gauges(
            encoder,
            "outbound_tasks_stalled",
            "OutboundTasks whose Stalled condition is True, by reason (progress needs a human)",
            None,
            self.stalled.clone(),
        )?;
        gauges(
            encoder,
            "outbound_tasks_stalled_longest",
            "Time since the longest-Stalled task of each namespace and reason became Stalled",
            Some(&Unit::Seconds),
            self.longest_stalled.clone(),
        )?;
        gauges(
            encoder,
            "outbound_tasks_not_synced",
            "OutboundTasks whose Synced condition is False, by its reason (why the last reconcile failed)",
            None,
            self.not_synced.clone(),
        )?;
        gauges(
            encoder,
            "outbound_tasks_not_synced_longest",
            "Time since the longest-unsynced task of each namespace and (current) reason became Synced=False",
            Some(&Unit::Seconds),
            self.longest_not_synced.clone(),
        )?;
        gauges(
            encoder,
            "outbound_account_ready",
            "1 for each OutboundAccount, labelled with the status and reason of its Ready condition (reason Unauthorized: the platform refused the token)",
            None,
            self.accounts.iter().map(|(labels, _, _)| (labels.clone(), 1.0)),
        )?;
        gauges(
            encoder,
            "outbound_account_rate_limit_requests_per_second",
            "The account's sustained rate budget (spec.rateLimit.requestsPerSecond)",
            None,
            self.accounts
                .iter()
                .map(|(labels, rps, _)| (labels.account.clone(), *rps)),
        )?;
        gauges(
            encoder,
            "outbound_account_rate_limit_burst",
            "The account's burst budget (spec.rateLimit.burst)",
            None,
            self.accounts
                .iter()
                .map(|(labels, _, burst)| (labels.account.clone(), *burst)),
        )
    }
}

/// Encodes one gauge family with these samples (a family without samples still has its
/// HELP and TYPE lines).
fn gauges<L>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    samples: impl IntoIterator<Item = (L, f64)>,
) -> fmt::Result
where
    L: EncodeLabelSet + Clone + std::hash::Hash + Eq + fmt::Debug,
{
    let family = Family::<L, Gauge<f64, AtomicU64>>::default();
    for (labels, value) in samples {
        family.get_or_create(&labels).set(value);
    }
    let metric = encoder.encode_descriptor(name, help, unit, family.metric_type())?;
    family.encode(metric)
}

/// Counts a task under `condition`'s reason and keeps the longest time since its transition.
fn count_with_age(
    counts: &mut BTreeMap<ReasonLabels, f64>,
    longest: &mut BTreeMap<ReasonLabels, f64>,
    namespace: &str,
    condition: &Condition,
    now: Timestamp,
) {
    let key = ReasonLabels {
        task_namespace: namespace.to_string(),
        reason: condition.reason.clone(),
    };
    *counts.entry(key.clone()).or_default() += 1.0;
    let age = seconds_since(now, condition.last_transition_time.0);
    let longest = longest.entry(key).or_default();
    *longest = longest.max(age);
}

fn state_label(state: RemoteState) -> &'static str {
    match state {
        RemoteState::Running => "Running",
        RemoteState::Waiting => "Waiting",
        RemoteState::Paused => "Paused",
        RemoteState::Unknown => "Unknown",
    }
}

fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

fn ready_labels(conditions: &[Condition]) -> ConditionLabels {
    match find(conditions, condition::READY) {
        Some(ready) => ConditionLabels {
            status: ready.status.clone(),
            reason: ready.reason.clone(),
        },
        None => ConditionLabels {
            status: "Unknown".into(),
            reason: NOT_YET_RECONCILED.into(),
        },
    }
}

/// Whole seconds from `then` to `now`, never negative (clocks of the API server and the
/// operator may disagree a little).
fn seconds_since(now: Timestamp, then: Timestamp) -> f64 {
    (now.as_second() - then.as_second()).max(0) as f64
}

#[cfg(test)]
#[path = "fleet_tests.rs"]
mod tests;
