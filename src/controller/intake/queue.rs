//! The work queue of reconciles: which task gets one of `workers` places next, by
//! [`Priority`] and arrival (the ordering is the pure [`Backlog`]; this file hands places over).
//!
//! Work waits here as a key, not as a started reconcile: every trigger (a watch event, a change
//! of the account or Secret a task uses) is [`WorkQueue::offer`]ed, and kube-runtime is asked to
//! run a task (the [`Starts`] stream, `Controller::reconcile_on`) only once a place is reserved
//! for it. kube-runtime's own concurrency limit stays off: at its limit it serves parked work in
//! hash order and starves the rest (see `outbound_core::queue`); here it never has more than `workers`
//! starts plus its own requeues (resyncs, retries) to run, and a requeue that finds no free place
//! joins the backlog with [`WorkQueue::enter`] and ends at once. So 10,000 tasks listed at start
//! cost 10,000 keys, not 10,000 reconcile futures.
//!
//! Many teams share the workers: within a class the accounts take turns (the [`Backlog`]'s
//! groups), and a reconcile that would wait for its account's rate budget gives its worker back
//! and holds one of the account's [`BudgetWait`] places instead ([`Permit::wait_for_budget`]).
//! An account holding as many budget places as there are workers is passed over until one is
//! given back: the futures waiting for a budget stay bounded (at most `workers` per account), and
//! the workers stay free for the accounts whose budget can serve them now.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::channel::mpsc;
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;

use crate::controller::metrics::controller::ControllerMetrics;
use outbound_api::OutboundTask;
use outbound_core::queue::{Backlog, Priority};

/// namespace/name, shared by the backlog's indexes.
type Key = Arc<str>;

/// The account a task's reconciles draw on (its namespace and `accountRef`): the unit that takes
/// turns in the backlog and whose budget waits are counted.
type Account = Arc<str>;

/// The tasks kube-runtime is asked to reconcile, each with a place reserved (or, for a task whose
/// reconcile is still running, a reconcile to follow it: kube-runtime holds that until the
/// running one ends).
pub type Starts = mpsc::UnboundedReceiver<ObjectRef<OutboundTask>>;

pub struct WorkQueue {
    state: Mutex<State>,
    starts: mpsc::UnboundedSender<ObjectRef<OutboundTask>>,
    metrics: Arc<ControllerMetrics>,
}

struct State {
    workers: usize,
    /// Places taken: by reconciles running and by starts sent and not yet begun.
    taken: usize,
    backlog: Backlog<Key, Account>,
    /// Reconciles waiting for their account's rate budget without a worker, per account.
    budget_waits: HashMap<Account, usize>,
    /// When each key in the backlog started waiting.
    since: HashMap<Key, Instant>,
    /// Starts sent, with their place reserved: the class they were granted at and since when
    /// they waited.
    granted: HashMap<Key, (Priority, Instant)>,
    /// Tasks whose admitted reconcile has not ended.
    running: HashSet<Key>,
    /// Tasks this process has offered or entered at least once (for [`Priority::FirstSight`]).
    seen: HashSet<Key>,
    closed: bool,
}

/// One place among the workers; an operation that holds a campaign paused gives it back early,
/// and so does a reconcile waiting for its account's budget ([`Permit::wait_for_budget`]).
pub struct Permit<'a> {
    queue: &'a WorkQueue,
    account: Account,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut state = self.queue.lock();
        state.taken -= 1;
        self.queue.dispatch(&mut state);
    }
}

impl<'a> Permit<'a> {
    /// Gives the worker back for the time the reconcile waits for its account's rate budget: it
    /// holds one of the account's budget places instead, so that other accounts' work runs
    /// meanwhile. Drop the returned place once the budget has served the call.
    pub fn wait_for_budget(self) -> BudgetWait<'a> {
        let queue = self.queue;
        let account = self.account.clone();
        *queue.lock().budget_waits.entry(account.clone()).or_default() += 1;
        drop(self); // gives the worker back and hands it to the next in line
        BudgetWait { queue, account }
    }
}

/// A reconcile waiting for its account's rate budget without a worker (see
/// [`Permit::wait_for_budget`]).
pub struct BudgetWait<'a> {
    queue: &'a WorkQueue,
    account: Account,
}

impl Drop for BudgetWait<'_> {
    fn drop(&mut self) {
        let mut state = self.queue.lock();
        if let Some(waits) = state.budget_waits.get_mut(&self.account) {
            *waits -= 1;
            if *waits == 0 {
                state.budget_waits.remove(&self.account);
            }
        }
        self.queue.dispatch(&mut state);
    }
}

/// Held for the whole admitted reconcile: while it lives, a new trigger of the same task asks
/// kube-runtime for a reconcile to follow it instead of reserving a second place.
pub struct Running<'a> {
    queue: &'a WorkQueue,
    key: Key,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.queue.lock().running.remove(&self.key);
    }
}

impl WorkQueue {
    pub fn new(workers: usize, metrics: Arc<ControllerMetrics>) -> (Self, Starts) {
        let (starts, receiver) = mpsc::unbounded();
        let state = State {
            workers: workers.max(1),
            taken: 0,
            backlog: Backlog::default(),
            budget_waits: HashMap::new(),
            since: HashMap::new(),
            granted: HashMap::new(),
            running: HashSet::new(),
            seen: HashSet::new(),
            closed: false,
        };
        let queue = Self {
            state: Mutex::new(state),
            starts,
            metrics,
        };
        (queue, receiver)
    }

    /// `task` (as now in the cache) wants a reconcile: it waits in line, keeping its place if it
    /// already waits (moved up to the more urgent class, e.g. a spec change of a waiting resync).
    pub fn offer(&self, task: &OutboundTask) {
        let Some(key) = key_of(task) else { return };
        let account = account_of(task);
        let mut state = self.lock();
        if state.closed {
            return;
        }
        if state.granted.contains_key(&key) {
            // The start on the way may already have read an older object (kube-runtime reads it
            // when it turns the start into a reconcile, before it first runs): ask again.
            // kube-runtime merges this with a start not yet begun and holds it after one begun.
            self.start(&key);
            return;
        }
        let priority = state.priority(&key, task);
        if state.running.contains(&key) {
            self.start(&key); // the running reconcile may have read an older object
            return;
        }
        state.wait(key, account, priority);
        self.dispatch(&mut state);
    }

    /// Called by each reconcile kube-runtime begins: the place reserved for it, or a free place
    /// when nobody waits. Otherwise (a requeue while others wait) the task joins the line and
    /// `None` tells the reconcile to end; it is started again when its turn comes. `None` too
    /// once the controller shuts down: only reconciles holding a place finish.
    pub fn enter(&self, task: &OutboundTask) -> Option<(Running<'_>, Permit<'_>)> {
        let key = key_of(task)?;
        let account = account_of(task);
        let mut state = self.lock();
        if state.closed {
            return None;
        }
        let (priority, since) = match state.granted.remove(&key) {
            Some(granted) => granted,
            None => {
                let priority = state.priority(&key, task);
                if state.taken >= state.workers
                    || !state.backlog.is_empty()
                    || !may_start(&state.budget_waits, state.workers, &account)
                {
                    state.wait(key, account, priority);
                    self.dispatch(&mut state);
                    return None;
                }
                state.taken += 1;
                (priority, Instant::now())
            }
        };
        state.running.insert(key.clone());
        self.metrics.admitted(priority, since.elapsed());
        let running = Running { queue: self, key };
        Some((running, Permit { queue: self, account }))
    }

    /// kube-runtime found no object for a start (the task was deleted after its place was
    /// reserved): the place goes to the next in line.
    pub fn forget(&self, namespace: &str, name: &str) {
        let key: Key = format!("{namespace}/{name}").into();
        let mut state = self.lock();
        if state.granted.remove(&key).is_some() {
            state.taken -= 1;
            self.dispatch(&mut state);
        }
    }

    /// Whether work of another account than `task`'s waits for a worker: only then is a worker
    /// worth giving back while `task`'s reconcile waits for its account's budget. The same
    /// account's next reconcile would only wait too, and the worker held through the read and
    /// the journal write is what paces operations to the API server's writes.
    pub fn others_waiting(&self, task: &OutboundTask) -> bool {
        self.lock().backlog.waits_besides(&account_of(task))
    }

    /// Whether the controller is shutting down ([`WorkQueue::close`]).
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Stops admitting: nothing waiting starts any more.
    pub fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.backlog = Backlog::default();
        state.since.clear();
        state.granted.clear();
        self.metrics.waiting(state.backlog.counts());
    }

    /// Hands free places to the most urgent waiters: reserves each and asks kube-runtime to
    /// start it.
    fn dispatch(&self, state: &mut State) {
        while state.taken < state.workers
            && let Some((key, priority)) = {
                let (budget_waits, workers) = (&state.budget_waits, state.workers);
                state
                    .backlog
                    .pop_where(|account| may_start(budget_waits, workers, account))
            }
        {
            let since = state.since.remove(&key).unwrap_or_else(Instant::now);
            state.taken += 1;
            self.start(&key);
            state.granted.insert(key, (priority, since));
        }
        self.metrics.waiting(state.backlog.counts());
    }

    fn start(&self, key: &str) {
        let (namespace, name) = key.split_once('/').expect("keys are namespace/name");
        // Fails only once the controller (the receiver) is gone, when nothing is to start.
        let _ = self.starts.unbounded_send(ObjectRef::new(name).within(namespace));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("queue lock")
    }
}

impl State {
    fn priority(&mut self, key: &Key, task: &OutboundTask) -> Priority {
        let seen_before = !self.seen.insert(key.clone());
        Priority::of(task, seen_before)
    }

    fn wait(&mut self, key: Key, account: Account, priority: Priority) {
        self.since.entry(key.clone()).or_insert_with(Instant::now);
        self.backlog.push(key, account, priority);
    }
}

/// Whether a reconcile of `account` may take a worker: fewer of its reconciles wait for its
/// budget than there are workers (else it would only join them).
fn may_start(budget_waits: &HashMap<Account, usize>, workers: usize, account: &Account) -> bool {
    budget_waits.get(account).copied().unwrap_or(0) < workers
}

fn key_of(task: &OutboundTask) -> Option<Key> {
    Some(format!("{}/{}", task.namespace()?, task.name_any()).into())
}

fn account_of(task: &OutboundTask) -> Account {
    format!(
        "{}/{}",
        task.namespace().unwrap_or_default(),
        task.spec.account_ref.name
    )
    .into()
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
