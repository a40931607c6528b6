//! What triggers a reconcile: a task's spec (generation), its `reconcile.fluxcd.io/requestedAt`
//! annotation or deletion — never our own status writes; a change of the account it uses; a
//! change of that account's token Secret. Each trigger is offered to the queue, which starts
//! the reconcile when a place is free; the objects of a list are offered at its end (`triggers`).
//! Objects are kept in memory without managedFields and the last-applied annotation, which are
//! large and never read.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use futures::{Stream, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PartialObjectMeta};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};

use super::health::WatchHealth;
use super::queue::WorkQueue;
use super::triggers::{Deleted, Listed, Named, changes};
use super::waiting::Waiting;
use crate::controller::accounts::tokens::TokenCache;
use crate::controller::shard::{self, ShardSelector};
use outbound_api::{OutboundAccount, OutboundTask};

pub use outbound_api::REQUESTED_AT;
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The objects a watch names, boxed.
type Triggers<K> = std::pin::Pin<Box<dyn Stream<Item = Named<K>> + Send>>;

pub struct Watched {
    pub tasks: Store<OutboundTask>,
    pub accounts: Store<OutboundAccount>,
    pub triggers: TriggerStreams,
}

/// The watches; polling them (see [`TriggerStreams::offer_all`]) also fills the caches.
pub struct TriggerStreams {
    tasks: Triggers<OutboundTask>,
    accounts: Triggers<OutboundAccount>,
    secrets: Triggers<PartialObjectMeta<Secret>>,
}

impl Watched {
    /// With a `shard` selector only the tasks it matches are watched (a task relabelled out of
    /// it leaves the cache as if deleted); accounts and Secrets are watched whole, because a task
    /// of any shard may use any account. Tasks are listed `list_page_size` at a time. Every
    /// version of a Secret seen is told to `tokens` (which keeps only those it was asked for), and
    /// every account change lets it forget the Secrets no account uses any more. Every item of
    /// every watch is shown to `health` (failures are warned about and make the pod unready).
    pub fn start(
        client: &Client,
        namespace: Option<&str>,
        shard: Option<&ShardSelector>,
        list_page_size: u32,
        tokens: Arc<TokenCache>,
        health: Arc<WatchHealth>,
    ) -> Self {
        let (task_health, account_health, secret_health) = (health.clone(), health.clone(), health);
        let (tasks, task_writer) = reflector::store();
        // A deletion names a task no longer in the cache: it triggers only the tasks that wait
        // for it (`Waiting`).
        let mut task_changes = changes(Listed::Triggers, Deleted::Triggers, task_trigger);
        let task_triggers = watcher(
            api::<OutboundTask>(client, namespace),
            shard::only_shard(
                watcher::Config::default().any_semantic().page_size(list_page_size),
                shard,
            ),
        )
        .default_backoff()
        .inspect(move |item| task_health.observe("outboundtasks", item))
        .modify(slim)
        .reflect(task_writer)
        .filter_map(move |event| futures::future::ready(task_changes.on(event)))
        .boxed();

        // Only spec changes and deletions after the initial list: listing is not a change, and
        // status writes (generation unchanged) are not either.
        let (accounts, account_writer) = reflector::store();
        let cached_accounts = accounts.clone();
        let account_tokens = tokens.clone();
        let mut account_changes = changes(Listed::Recorded, Deleted::Triggers, |account: &OutboundAccount| {
            account
                .meta()
                .generation
                .map_or(u64::MAX, |generation| generation as u64)
        });
        let account_triggers = watcher(
            api::<OutboundAccount>(client, namespace),
            watcher::Config::default().any_semantic(),
        )
        .default_backoff()
        .inspect(move |item| account_health.observe("outboundaccounts", item))
        .modify(slim)
        .reflect(account_writer)
        // An account deleted or pointed at another Secret: the token cache forgets the Secrets
        // no account uses any more (accounts change rarely, so the scan is cheap).
        .inspect_ok(move |event| {
            if matches!(event, watcher::Event::Apply(_) | watcher::Event::Delete(_)) {
                let accounts = cached_accounts.state();
                account_tokens.forget_unused(|namespace, name| {
                    accounts.iter().any(|account| {
                        account.namespace().as_deref() == Some(namespace) && account.spec.token_secret_ref.name == name
                    })
                });
            }
        })
        .filter_map(move |event| futures::future::ready(account_changes.on(event)))
        .boxed();

        // Metadata only: we never keep Secret data in memory; the token is read when needed.
        let mut secret_changes = changes(
            Listed::Recorded,
            Deleted::Triggers,
            |secret: &PartialObjectMeta<Secret>| hash(&secret.resource_version()),
        );
        let secret_triggers = watcher(
            api::<PartialObjectMeta<Secret>>(client, namespace),
            watcher::Config::default().any_semantic(),
        )
        .default_backoff()
        .inspect(move |item| secret_health.observe("secrets", item))
        .inspect_ok(move |event| match event {
            watcher::Event::Apply(secret) | watcher::Event::InitApply(secret) => tokens.saw_version(
                secret.namespace().as_deref().unwrap_or_default(),
                &secret.name_any(),
                secret.resource_version(),
            ),
            watcher::Event::Delete(secret) => {
                tokens.saw_deleted(secret.namespace().as_deref().unwrap_or_default(), &secret.name_any())
            }
            watcher::Event::Init | watcher::Event::InitDone => {}
        })
        .filter_map(move |event| futures::future::ready(secret_changes.on(event)))
        .boxed();

        Self {
            tasks,
            accounts,
            triggers: TriggerStreams {
                tasks: task_triggers,
                accounts: account_triggers,
                secrets: secret_triggers,
            },
        }
    }
}

impl TriggerStreams {
    /// Offers every task a trigger names to `queue` (a watch error is retried with backoff
    /// by the watcher itself, and logged by `WatchHealth`), as long as the watches run. Named tasks are looked up in the
    /// cache, which by then holds what the watch saw (see `triggers`). A task's event also
    /// triggers the tasks `waiting` for it to give up their remote task.
    pub async fn offer_all(
        self,
        tasks: Store<OutboundTask>,
        accounts: Store<OutboundAccount>,
        queue: Arc<WorkQueue>,
        waiting: Arc<Waiting>,
    ) {
        let cached = tasks.clone();
        let of_task = move |named: Vec<ObjectRef<OutboundTask>>| -> Vec<Arc<OutboundTask>> {
            let keys: Vec<String> = named.iter().map(key_of_ref).collect();
            let waiters = waiting.waiters_of(&keys).into_iter().map(|key| ref_of_key(&key));
            named
                .into_iter()
                .chain(waiters)
                .filter_map(|task| cached.get(&task))
                .collect()
        };
        let of_account = tasks_of_account(tasks.clone());
        let of_secret = tasks_of_secret(tasks, accounts);
        let named = futures::stream::select_all([
            self.tasks.map_ok(of_task).boxed(),
            self.accounts.map_ok(of_account).boxed(),
            self.secrets.map_ok(of_secret).boxed(),
        ]);
        named
            .for_each(|named| {
                if let Ok(named) = named {
                    named.iter().for_each(|task| queue.offer(task));
                }
                futures::future::ready(())
            })
            .await;
    }
}

fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    <K as Resource>::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

fn key_of_ref(task: &ObjectRef<OutboundTask>) -> String {
    format!("{}/{}", task.namespace.as_deref().unwrap_or_default(), task.name)
}

fn ref_of_key(key: &str) -> ObjectRef<OutboundTask> {
    let (namespace, name) = key.split_once('/').unwrap_or(("", key));
    ObjectRef::new(name).within(namespace)
}

fn slim<K: Resource>(object: &mut K) {
    object.meta_mut().managed_fields = None;
    if let Some(annotations) = object.meta_mut().annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
}

fn hash(value: &impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// A task is reconciled when its spec (generation), its requestedAt annotation or its deletion
/// state changes; status writes change none of these.
fn task_trigger(task: &OutboundTask) -> u64 {
    hash(&(
        task.meta().generation,
        task.annotations().get(REQUESTED_AT),
        task.meta().deletion_timestamp.is_some(),
    ))
}

/// The tasks that use the named accounts.
fn tasks_of_account(
    tasks: Store<OutboundTask>,
) -> impl Fn(Vec<ObjectRef<OutboundAccount>>) -> Vec<Arc<OutboundTask>> + Send + Sync + 'static {
    move |named| {
        tasks
            .state()
            .into_iter()
            .filter(|task| {
                named
                    .iter()
                    .any(|account| task.namespace() == account.namespace && task.spec.account_ref.name == account.name)
            })
            .collect()
    }
}

/// The tasks whose account reads its token from one of the named Secrets.
fn tasks_of_secret(
    tasks: Store<OutboundTask>,
    accounts: Store<OutboundAccount>,
) -> impl Fn(Vec<ObjectRef<PartialObjectMeta<Secret>>>) -> Vec<Arc<OutboundTask>> + Send + Sync + 'static {
    move |named| {
        let users: Vec<(Option<String>, String)> = accounts
            .state()
            .iter()
            .filter(|account| {
                named.iter().any(|secret| {
                    account.namespace() == secret.namespace && account.spec.token_secret_ref.name == secret.name
                })
            })
            .map(|account| (account.namespace(), account.name_any()))
            .collect();
        if users.is_empty() {
            return Vec::new();
        }
        tasks
            .state()
            .into_iter()
            .filter(|task| {
                users
                    .iter()
                    .any(|(namespace, name)| task.namespace() == *namespace && task.spec.account_ref.name == *name)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(generation: i64, requested_at: Option<&str>) -> OutboundTask {
        let mut task: OutboundTask = serde_json::from_value(serde_json::json!({
            "apiVersion": "outbound.dev/v1alpha1", "kind": "OutboundTask",
            "metadata": {"name": "t", "namespace": "ns", "generation": generation},
            "spec": {"accountRef": {"name": "a"}, "taskId": "f232d184-dd54-42a0-8ace-0bf8d660f4cc",
                     "task": {"name": "n", "scriptGroupId": 1, "maxConcurrency": 1, "dialTimeGroupId": 1,
                              "schedule": {"startTime": "2024-12-23 19:00:00"}}}
        }))
        .unwrap();
        if let Some(at) = requested_at {
            task.annotations_mut().insert(REQUESTED_AT.into(), at.into());
        }
        task
    }

    #[test]
    fn status_writes_do_not_trigger_but_spec_and_requested_at_do() {
        let base = task(1, None);
        let mut with_status = base.clone();
        with_status.status = Some(Default::default());
        assert_eq!(task_trigger(&base), task_trigger(&with_status));
        assert_ne!(task_trigger(&base), task_trigger(&task(2, None)));
        assert_ne!(
            task_trigger(&base),
            task_trigger(&task(1, Some("2026-11-23T10:00:00Z")))
        );
    }
}
