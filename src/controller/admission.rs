//! The operator's own admission of reconciles. kube-runtime starts every due reconcile (its
//! concurrency limit is off: under load it serves parked work in hash order and starves the rest,
//! see `outbound_core::queue`); each then waits here for one of `workers` places, granted by
//! [`Priority`] and arrival. The ordering is the pure [`Backlog`]; this file only hands places over.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::oneshot;

use super::metrics::ControllerMetrics;
use outbound_api::OutboundTask;
use outbound_core::queue::{Backlog, Priority};

pub struct Admission {
    state: Mutex<State>,
    metrics: Arc<ControllerMetrics>,
}

struct State {
    workers: usize,
    running: usize,
    backlog: Backlog<String>,
    /// Where to send the place (and the class it was granted at) of each waiting key.
    waiters: HashMap<String, oneshot::Sender<Priority>>,
    /// Tasks this process has admitted at least once (for [`Priority::FirstSight`]).
    seen: HashSet<String>,
    closed: bool,
}

/// One place among the workers, held for the length of a reconcile.
pub struct Permit<'a> {
    admission: &'a Admission,
    pub priority: Priority,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.admission.release();
    }
}

impl Admission {
    pub fn new(workers: usize, metrics: Arc<ControllerMetrics>) -> Self {
        Self {
            state: Mutex::new(State {
                workers: workers.max(1),
                running: 0,
                backlog: Backlog::default(),
                waiters: HashMap::new(),
                seen: HashSet::new(),
                closed: false,
            }),
            metrics,
        }
    }

    /// Waits for a place to reconcile `task` (namespace/name `key`). `None` once the controller
    /// shuts down: work not yet started is dropped then, and only reconciles holding a place finish.
    pub async fn admit(&self, key: &str, task: &OutboundTask) -> Option<Permit<'_>> {
        let started = Instant::now();
        let receiver = {
            let mut state = self.lock();
            if state.closed {
                return None;
            }
            let seen_before = !state.seen.insert(key.to_string());
            let priority = Priority::of(task, seen_before);
            if state.running < state.workers && state.backlog.is_empty() {
                state.running += 1;
                drop(state);
                self.metrics.admitted(priority, started.elapsed());
                return Some(Permit {
                    admission: self,
                    priority,
                });
            }
            let (sender, receiver) = oneshot::channel();
            state.backlog.push(key.to_string(), priority);
            state.waiters.insert(key.to_string(), sender);
            self.metrics.waiting(state.backlog.counts());
            receiver
        };
        let mut waiting = Waiting {
            admission: self,
            key,
            receiver,
            answered: false,
        };
        let granted = (&mut waiting.receiver).await.ok();
        waiting.answered = true;
        let priority = granted?;
        self.metrics.admitted(priority, started.elapsed());
        Some(Permit {
            admission: self,
            priority,
        })
    }

    /// Moves a waiting reconcile of `key` up to `priority` (a spec change seen while it waited
    /// as a resync).
    pub fn promote(&self, key: &str, priority: Priority) {
        let mut state = self.lock();
        if state.backlog.promote(&key.to_string(), priority) {
            self.metrics.waiting(state.backlog.counts());
        }
    }

    /// Stops admitting: every waiter gets `None`.
    pub fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.waiters.clear();
        state.backlog = Backlog::default();
        self.metrics.waiting(state.backlog.counts());
    }

    /// Hands a freed place to the most urgent waiter, or frees it.
    fn release(&self) {
        let mut state = self.lock();
        while let Some((key, priority)) = state.backlog.pop() {
            if let Some(waiter) = state.waiters.remove(&key)
                && waiter.send(priority).is_ok()
            {
                self.metrics.waiting(state.backlog.counts());
                return;
            }
        }
        state.running -= 1;
        self.metrics.waiting(state.backlog.counts());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("admission lock")
    }
}

/// A reconcile waiting for its place; dropped before it is granted (the reconcile future was
/// cancelled), it leaves the line, and a place granted in that moment is handed on.
struct Waiting<'a> {
    admission: &'a Admission,
    key: &'a str,
    receiver: oneshot::Receiver<Priority>,
    /// The answer arrived (a place, or the close): nothing to undo.
    answered: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.answered {
            return;
        }
        let mut state = self.admission.lock();
        if state.backlog.remove(&self.key.to_string()).is_some() {
            state.waiters.remove(self.key);
            self.admission.metrics.waiting(state.backlog.counts());
            return;
        }
        drop(state);
        if self.receiver.try_recv().is_ok() {
            self.admission.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(name: &str, observed: i64) -> OutboundTask {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "outbound.dev/v1alpha1", "kind": "OutboundTask",
            "metadata": {"name": name, "namespace": "ns", "generation": 2},
            "spec": {"accountRef": {"name": "a"}, "taskId": "f232d184-dd54-42a0-8ace-0bf8d660f4cc",
                     "task": {"name": "n", "scriptGroupId": 1, "maxConcurrency": 1, "dialTimeGroupId": 1,
                              "schedule": {"startTime": "2024-12-23 19:00:00"}}},
            "status": {"observedGeneration": observed},
        }))
        .unwrap()
    }

    fn admission(workers: usize) -> Arc<Admission> {
        Arc::new(Admission::new(workers, Arc::new(ControllerMetrics::default())))
    }

    /// Starts a reconcile of `name` that records when it got its place and holds it until told.
    fn spawn(
        admission: &Arc<Admission>,
        task: OutboundTask,
        order: &Arc<Mutex<Vec<String>>>,
    ) -> (tokio::task::JoinHandle<()>, oneshot::Sender<()>) {
        let (done, finish) = oneshot::channel::<()>();
        let (admission, order) = (admission.clone(), order.clone());
        let handle = tokio::spawn(async move {
            let name = task.metadata.name.clone().unwrap();
            let Some(_permit) = admission.admit(&format!("ns/{name}"), &task).await else {
                return;
            };
            order.lock().unwrap().push(name);
            let _ = finish.await;
        });
        (handle, done)
    }

    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn places_go_to_the_most_urgent_waiter_and_never_exceed_the_workers() {
        let admission = admission(1);
        let order = Arc::new(Mutex::new(Vec::new()));
        // The first resync of `busy` takes the only place; the rest wait.
        let (first, release_first) = spawn(&admission, task("busy", 2), &order);
        settle().await;
        let mut waiting = Vec::new();
        for (name, observed) in [("resync", 2), ("changed", 1), ("new", 2)] {
            waiting.push(spawn(&admission, task(name, observed), &order));
            settle().await;
        }
        assert_eq!(*order.lock().unwrap(), ["busy"], "one worker: nobody else runs yet");
        // Each waiter finishes as soon as it gets its place.
        let handles: Vec<_> = waiting
            .into_iter()
            .map(|(handle, release)| {
                release.send(()).unwrap();
                handle
            })
            .collect();
        release_first.send(()).unwrap();
        first.await.unwrap();
        for handle in handles {
            handle.await.unwrap();
        }
        // "resync" and "new" are both first sights of this process: arrival order between them.
        assert_eq!(*order.lock().unwrap(), ["busy", "changed", "resync", "new"]);
    }

    #[tokio::test]
    async fn a_cancelled_waiter_gives_up_its_place_in_line_and_close_wakes_everyone() {
        let admission = admission(1);
        let order = Arc::new(Mutex::new(Vec::new()));
        let (_first, release_first) = spawn(&admission, task("busy", 2), &order);
        settle().await;
        let (cancelled, _keep) = spawn(&admission, task("cancelled", 1), &order);
        let (later, _release_later) = spawn(&admission, task("later", 2), &order);
        settle().await;
        cancelled.abort();
        settle().await;
        release_first.send(()).unwrap();
        settle().await;
        assert_eq!(*order.lock().unwrap(), ["busy", "later"]);
        admission.close();
        assert!(admission.admit("ns/x", &task("x", 2)).await.is_none());
        drop(later);
    }
}
