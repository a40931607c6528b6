//! Which watch events trigger a reconcile, and when: an object whose trigger value differs from
//! the one last seen, and deletions where asked.
//!
//! The objects of a list (the first one, or a relist after the watch fell too far behind and the
//! API server answered 410 Gone) are passed on only once the list is complete. kube-runtime's
//! store keeps serving the objects it had until the whole list is in and swaps them in at
//! `InitDone`, and a reconcile reads its object from that store when it begins: a task triggered
//! by the relist's first page, before the store was swapped, was reconciled as it was before the
//! watch gap (InSync, nothing written), and its spec change was not acted on until the next
//! resync, an hour later (2,320 of 10,000 changed tasks in a scale run, docs/performance.md). So
//! the keys of a list wait until its end and are named then, by which time the store holds the
//! listed objects.
//!
//! Keeps one value per object, by namespace/name (kube-runtime's `predicate_filter` keeps name,
//! namespace and uid as three strings each, and never forgets a deleted object); an object that a
//! relist no longer contains was deleted during the gap and is forgotten too.

use std::collections::HashMap;

use kube::Resource;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;

/// Whether the objects of a list trigger when new or changed. `Recorded`: only those of a relist
/// (the first list only records what it saw).
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Listed {
    Triggers,
    Recorded,
}

/// Whether a deletion triggers.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Deleted {
    Triggers,
    /// Unused by the watches since the task watch's deletions wake the tasks waiting for the
    /// deleted one (`waiting`); kept for the filter's tests.
    #[cfg_attr(not(test), allow(dead_code))]
    Ignored,
}

type WatchEvent<K> = Result<watcher::Event<K>, watcher::Error>;

/// The objects named by watch events, to be looked up in the (then current) store.
pub type Named<K> = Result<Vec<ObjectRef<K>>, watcher::Error>;

/// What one object was last seen as: its trigger value, and in which list (or the watch after it).
struct Seen {
    value: u64,
    list: u32,
}

/// The filter of one watch: feed it every event in order.
pub struct Changes<K: Resource<DynamicType = ()>, F> {
    listed: Listed,
    deleted: Deleted,
    trigger: F,
    last: HashMap<String, Seen>,
    /// Lists begun so far; objects not seen in the current one by its end were deleted.
    list: u32,
    /// Lists that reached their end.
    lists_done: u32,
    /// The objects of the list under way that trigger at its end (kept when a list starts over
    /// half way: the values it recorded are not new to the next attempt).
    pending: Vec<ObjectRef<K>>,
}

pub fn changes<K, F>(listed: Listed, deleted: Deleted, trigger: F) -> Changes<K, F>
where
    K: Resource<DynamicType = ()>,
    F: Fn(&K) -> u64,
{
    Changes {
        listed,
        deleted,
        trigger,
        last: HashMap::new(),
        list: 0,
        lists_done: 0,
        pending: Vec::new(),
    }
}

impl<K, F> Changes<K, F>
where
    K: Resource<DynamicType = ()>,
    F: Fn(&K) -> u64,
{
    /// The objects `event` triggers now (`None`: none).
    pub fn on(&mut self, event: WatchEvent<K>) -> Option<Named<K>> {
        let named = match event {
            Err(error) => return Some(Err(error)),
            Ok(watcher::Event::Init) => {
                self.list += 1;
                if self.lists_done > 0 {
                    // Rare and worth seeing: the watch fell too far behind (410 Gone).
                    tracing::info!(kind = %K::kind(&()), "watch fell behind: listing again");
                }
                Vec::new()
            }
            Ok(watcher::Event::InitApply(object)) => {
                let first_list = self.lists_done == 0;
                if self.saw(&object) && (self.listed == Listed::Triggers || !first_list) {
                    self.pending.push(object_ref(&object));
                }
                Vec::new()
            }
            Ok(watcher::Event::InitDone) => {
                self.lists_done += 1;
                let list = self.list;
                let mut named = std::mem::take(&mut self.pending);
                let deleted = self.deleted;
                self.last.retain(|key, seen| {
                    let kept = seen.list == list;
                    if !kept && deleted == Deleted::Triggers {
                        named.push(ref_of_key(key));
                    }
                    kept
                });
                if self.lists_done > 1 {
                    tracing::info!(kind = %K::kind(&()), named = named.len(), "listed again; what changed meanwhile is reconciled now");
                }
                named
            }
            Ok(watcher::Event::Apply(object)) => match self.saw(&object) {
                true => vec![object_ref(&object)],
                false => Vec::new(),
            },
            Ok(watcher::Event::Delete(object)) => {
                self.last.remove(&key(&object));
                match self.deleted {
                    Deleted::Triggers => vec![object_ref(&object)],
                    Deleted::Ignored => Vec::new(),
                }
            }
        };
        (!named.is_empty()).then_some(Ok(named))
    }

    /// Records `object` as seen in the current list; whether it is new or its value changed.
    fn saw(&mut self, object: &K) -> bool {
        let value = (self.trigger)(object);
        let seen = Seen { value, list: self.list };
        self.last
            .insert(key(object), seen)
            .is_none_or(|before| before.value != value)
    }
}

fn key<K: Resource>(object: &K) -> String {
    let meta = object.meta();
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default()
    )
}

/// By namespace and name only (`ObjectRef::from_obj` would also keep the uid and
/// resourceVersion): the store is looked up by those.
fn object_ref<K: Resource<DynamicType = ()>>(object: &K) -> ObjectRef<K> {
    ref_of_key(&key(object))
}

fn ref_of_key<K: Resource<DynamicType = ()>>(key: &str) -> ObjectRef<K> {
    let (namespace, name) = key.split_once('/').unwrap_or(("", key));
    match namespace {
        "" => ObjectRef::new(name),
        namespace => ObjectRef::new(name).within(namespace),
    }
}

#[cfg(test)]
#[path = "triggers_tests.rs"]
mod tests;
