//! What triggers a reconcile: a task's spec (generation), its `reconcile.fluxcd.io/requestedAt`
//! annotation or deletion — never our own status writes; a change of the account it uses; a
//! change of that account's token Secret. Each trigger is offered to the admission, which starts
//! the reconcile when a place is free. Objects are kept in memory without managedFields and the
//! last-applied annotation, which are large and never read.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use futures::{Stream, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PartialObjectMeta};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};

use super::admission::Admission;
use super::shard::{self, ShardSelector};
use super::token_cache::TokenCache;
use outbound_api::{OutboundAccount, OutboundTask};

pub use outbound_api::REQUESTED_AT;
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

type WatchEvent<K> = Result<watcher::Event<K>, watcher::Error>;
type Triggers<K> = std::pin::Pin<Box<dyn Stream<Item = Result<K, watcher::Error>> + Send>>;

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
    /// of any shard may use any account.
    pub fn start(client: &Client, namespace: Option<&str>, shard: Option<&ShardSelector>) -> Self {
        let (tasks, task_writer) = reflector::store();
        let task_triggers = watcher(
            api::<OutboundTask>(client, namespace),
            shard::only_shard(watcher::Config::default().any_semantic(), shard),
        )
        .default_backoff()
        .modify(slim)
        .reflect(task_writer)
        .filter_map(changes(Listed::Triggers, Deleted::Ignored, task_trigger))
        .boxed();

        // Only spec changes and deletions after the initial list: listing is not a change, and
        // status writes (generation unchanged) are not either.
        let (accounts, account_writer) = reflector::store();
        let account_triggers = watcher(
            api::<OutboundAccount>(client, namespace),
            watcher::Config::default().any_semantic(),
        )
        .default_backoff()
        .modify(slim)
        .reflect(account_writer)
        .filter_map(changes(
            Listed::Recorded,
            Deleted::Triggers,
            |account: &OutboundAccount| {
                account
                    .meta()
                    .generation
                    .map_or(u64::MAX, |generation| generation as u64)
            },
        ))
        .boxed();

        // Metadata only: we never keep Secret data in memory; the token is read when needed.
        let secret_triggers = watcher(
            api::<PartialObjectMeta<Secret>>(client, namespace),
            watcher::Config::default().any_semantic(),
        )
        .default_backoff()
        .filter_map(|event| {
            futures::future::ready(match event {
                Ok(watcher::Event::Apply(secret) | watcher::Event::Delete(secret)) => Some(Ok(secret)),
                Ok(_) => None,
                Err(error) => Some(Err(error)),
            })
        })
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
    /// Offers every task a trigger names to `admission` (a watch error is retried with backoff
    /// by the watcher itself), as long as the watches run.
    pub async fn offer_all(
        self,
        tasks: Store<OutboundTask>,
        accounts: Store<OutboundAccount>,
        tokens: Arc<TokenCache>,
        admission: Arc<Admission>,
    ) {
        let of_account = tasks_of_account(tasks.clone());
        let of_secret = tasks_of_secret(tasks, accounts, tokens);
        let named = futures::stream::select_all([
            self.tasks.map_ok(|task| vec![Arc::new(task)]).boxed(),
            self.accounts.map_ok(of_account).boxed(),
            self.secrets.map_ok(of_secret).boxed(),
        ]);
        named
            .for_each(|named| {
                match named {
                    Ok(named) => named.iter().for_each(|task| admission.offer(task)),
                    Err(error) => tracing::debug!(%error, "watch failed; retrying"),
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

fn slim<K: Resource>(object: &mut K) {
    object.meta_mut().managed_fields = None;
    if let Some(annotations) = object.meta_mut().annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
}

/// A task is reconciled when its spec (generation), its requestedAt annotation or its deletion
/// state changes; status writes change none of these.
fn task_trigger(task: &OutboundTask) -> u64 {
    let mut hasher = DefaultHasher::new();
    task.meta().generation.hash(&mut hasher);
    task.annotations().get(REQUESTED_AT).hash(&mut hasher);
    task.meta().deletion_timestamp.is_some().hash(&mut hasher);
    hasher.finish()
}

/// Whether the objects of a list (the first, or a relist) trigger when new or changed.
#[derive(Clone, Copy, PartialEq)]
enum Listed {
    Triggers,
    Recorded,
}

/// Whether a deletion triggers.
#[derive(Clone, Copy, PartialEq)]
enum Deleted {
    Triggers,
    Ignored,
}

/// The watch events that trigger reconciles: an object whose `trigger` value differs from the one
/// last seen (or that was not seen), and deletions as `deleted` says. Keeps one value per object,
/// by namespace/name (kube-runtime's `predicate_filter` keeps name, namespace and uid as three
/// strings each, and never forgets a deleted object).
fn changes<K: Resource>(
    listed: Listed,
    deleted: Deleted,
    trigger: impl Fn(&K) -> u64,
) -> impl FnMut(WatchEvent<K>) -> futures::future::Ready<Option<Result<K, watcher::Error>>> {
    let mut last: HashMap<String, u64> = HashMap::new();
    move |event| {
        let key = |object: &K| {
            let meta = object.meta();
            format!(
                "{}/{}",
                meta.namespace.as_deref().unwrap_or_default(),
                meta.name.as_deref().unwrap_or_default()
            )
        };
        let passed = match event {
            Ok(watcher::Event::InitApply(object)) => {
                let value = trigger(&object);
                let changed = last.insert(key(&object), value) != Some(value);
                (changed && listed == Listed::Triggers).then_some(Ok(object))
            }
            Ok(watcher::Event::Apply(object)) => {
                let value = trigger(&object);
                (last.insert(key(&object), value) != Some(value)).then_some(Ok(object))
            }
            Ok(watcher::Event::Delete(object)) => {
                last.remove(&key(&object));
                (deleted == Deleted::Triggers).then_some(Ok(object))
            }
            Ok(watcher::Event::Init | watcher::Event::InitDone) => None,
            Err(error) => Some(Err(error)),
        };
        futures::future::ready(passed)
    }
}

/// Maps an account event to the tasks that use it.
fn tasks_of_account(
    tasks: Store<OutboundTask>,
) -> impl Fn(OutboundAccount) -> Vec<Arc<OutboundTask>> + Send + Sync + 'static {
    move |account| {
        let namespace = account.namespace();
        let name = account.name_any();
        tasks
            .state()
            .into_iter()
            .filter(|task| task.namespace() == namespace && task.spec.account_ref.name == name)
            .collect()
    }
}

/// Maps a Secret event to the tasks whose account reads its token from it, and tells the token
/// cache that the Secret changed.
fn tasks_of_secret(
    tasks: Store<OutboundTask>,
    accounts: Store<OutboundAccount>,
    tokens: Arc<TokenCache>,
) -> impl Fn(PartialObjectMeta<Secret>) -> Vec<Arc<OutboundTask>> + Send + Sync + 'static {
    move |secret| {
        let namespace = secret.namespace();
        let name = secret.name_any();
        tokens.saw_version(
            namespace.as_deref().unwrap_or_default(),
            &name,
            secret.resource_version(),
        );
        let account_names: Vec<String> = accounts
            .state()
            .iter()
            .filter(|account| account.namespace() == namespace && account.spec.token_secret_ref.name == name)
            .map(|account| account.name_any())
            .collect();
        if account_names.is_empty() {
            return Vec::new();
        }
        tasks
            .state()
            .into_iter()
            .filter(|task| task.namespace() == namespace && account_names.contains(&task.spec.account_ref.name))
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

    /// What `changes` passes on, for each event in turn.
    fn passed(listed: Listed, deleted: Deleted, events: Vec<watcher::Event<OutboundTask>>) -> Vec<Option<i64>> {
        let mut filter = changes(listed, deleted, task_trigger);
        events
            .into_iter()
            .filter_map(|event| futures::executor::block_on(filter(Ok(event))))
            .map(|task| task.unwrap().metadata.generation)
            .collect()
    }

    #[test]
    fn only_new_or_changed_objects_pass_and_a_deleted_one_is_forgotten() {
        use watcher::Event::{Apply, Delete, Init, InitApply, InitDone};
        let mut with_status = task(1, None);
        with_status.status = Some(Default::default());
        let events = || {
            vec![
                Init,
                InitApply(task(1, None)),
                InitDone,
                Apply(with_status.clone()),
                Apply(task(2, None)),
                Init,
                InitApply(task(2, None)),
                InitDone,
                Delete(task(2, None)),
                Apply(task(2, None)),
            ]
        };
        assert_eq!(
            passed(Listed::Triggers, Deleted::Ignored, events()),
            [Some(1), Some(2), Some(2)],
            "tasks: the first list, the spec change and the object back after its deletion"
        );
        assert_eq!(
            passed(Listed::Recorded, Deleted::Triggers, events()),
            [Some(2), Some(2), Some(2)],
            "accounts: the spec change, the deletion, the object back after it"
        );
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
