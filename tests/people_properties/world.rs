//! The world of tests/people_properties.rs: the in-memory API server, the simulator behind a
//! proxy, the controller's Context, and the script that decides, at every request the reconcile
//! makes (to the API server or the platform), what a person does and what fails just then.
//!
//! A request is a *point*. A person's action due at point k is applied when request k arrives,
//! before it is handled: the check the driver made before sending request k could not see it, so
//! request k may ignore it; every later request must honour it. That is how the invariants judge
//! each platform write (see [`Script::platform_point`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::runtime::reflector::ObjectRef;
use outbound_api::{OutboundTask, RunState};
use outbound_operator::controller::{Context, Parts, Settings, TokenCache, WorkQueue};
use outbound_sim::{FaultConfig, SimHandle};
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::fake_kube::{FakeKube, Seen, Verdict};
use super::model::{At, Happening, Person, PlatformFault};

pub const NS: &str = "props";

/// One platform write, as the script saw it arrive.
#[derive(Clone, Debug)]
pub struct Write {
    pub endpoint: String,
    pub task_id: String,
}

/// What the script knows and decides; shared by the API server's and the proxy's gates.
pub struct Script {
    pub kube: FakeKube,
    pub sim: Arc<SimHandle>,
    /// The happenings of the reconcile in flight, by where they come.
    due: BTreeMap<At, Happening>,
    /// The requests and the platform writes of the reconcile in flight so far.
    requests: u8,
    platform_writes: u8,
    /// The object whose reconcile is in flight.
    reconciling: String,
    crashed: Arc<Notify>,
    pub writes: Vec<Write>,
    /// Writes to OutboundTasks (status, finalizers) that reached the API server's gate.
    pub task_writes: usize,
    /// Objects that wrote to each remote task.
    writers: BTreeMap<String, BTreeSet<String>>,
    pub violations: Vec<String>,
    /// Whether each object's campaign must run at the end (from its runState as people set it).
    pub must_run: BTreeMap<String, bool>,
    /// Objects people deleted.
    pub deleted: BTreeSet<String>,
    duplicates: usize,
}

impl Script {
    pub fn new(kube: FakeKube, sim: Arc<SimHandle>, crashed: Arc<Notify>) -> Self {
        Script {
            kube,
            sim,
            due: BTreeMap::new(),
            requests: 0,
            platform_writes: 0,
            reconciling: String::new(),
            crashed,
            writes: Vec::new(),
            task_writes: 0,
            writers: BTreeMap::new(),
            violations: Vec::new(),
            must_run: BTreeMap::new(),
            deleted: BTreeSet::new(),
            duplicates: 0,
        }
    }

    /// A reconcile of `object` begins, with `happenings` at its requests.
    pub fn begin(&mut self, object: &str, happenings: &[(At, Happening)]) {
        self.reconciling = object.to_owned();
        (self.requests, self.platform_writes) = (0, 0);
        self.due = happenings.iter().cloned().collect();
    }

    /// The next request's happening (the first due at its index, or at its index among the
    /// platform writes), with its person's action applied.
    fn next(&mut self, platform_write: bool) -> Happening {
        let at_write = platform_write
            .then(|| self.due.remove(&At::Write(self.platform_writes)))
            .flatten();
        let at_request = self.due.remove(&At::Request(self.requests));
        let happening = at_request.or(at_write).unwrap_or(Happening::Nothing);
        self.requests = self.requests.saturating_add(1);
        if platform_write {
            self.platform_writes = self.platform_writes.saturating_add(1);
        }
        if let Happening::Person(person) = &happening {
            self.act(person);
        }
        happening
    }

    pub fn api_point(&mut self, seen: &Seen) -> Verdict {
        if seen.is_write() && seen.target.starts_with("outboundtasks/") {
            self.task_writes += 1;
        }
        match self.next(false) {
            Happening::ApiWriteFails { after_effect } if seen.is_write() => match after_effect {
                true => Verdict::FailAfter(500),
                false => Verdict::FailBefore(503),
            },
            Happening::Crash { after_effect } => self.crash(after_effect),
            _ => Verdict::Proceed,
        }
    }

    /// A platform request arrives: judged against the object as it was before this point's
    /// happening, then given the simulator's fault of this point.
    pub fn platform_point(&mut self, endpoint: &str, task_id: Option<&str>) -> Verdict {
        if is_write(endpoint) {
            self.judge(endpoint, task_id.unwrap_or("(new)"));
        }
        let happening = self.next(is_write(endpoint));
        let mut faults = FaultConfig::default();
        if let Happening::Platform(fault) = &happening {
            fault.configure(&mut faults);
        }
        self.sim.set_faults(faults).expect("valid fault config");
        match happening {
            Happening::Crash { after_effect } => self.crash(after_effect),
            _ => Verdict::Proceed,
        }
    }

    fn crash(&self, after_effect: bool) -> Verdict {
        self.crashed.notify_one();
        Verdict::Hang { after_effect }
    }

    /// The invariants of one platform write by the object reconciling, as the object is now.
    fn judge(&mut self, endpoint: &str, task_id: &str) {
        let by = self.reconciling.clone();
        // The bound of docs/explanation/crash-safety.md: 3 + 2 x startedRetries (2) + 4.
        if self.platform_writes >= 11 {
            self.violations
                .push(format!("{by}: more than 11 platform writes in one reconcile"));
        }
        let object = self.kube.get("outboundtasks", NS, &by);
        let spec = object.as_ref().map(|o| o["spec"].clone()).unwrap_or(Value::Null);
        let paused = spec["runState"] == "Paused";
        let hands_off = spec["mode"] == "Observe" || spec["suspend"] == true;
        let holds_paused = object
            .as_ref()
            .is_some_and(|o| o["status"]["operation"]["resumeAfter"] == true);
        if endpoint == "resume" && paused {
            self.violations
                .push(format!("{by} resumed {task_id} after its spec said runState: Paused"));
        }
        if hands_off && !(endpoint == "resume" && holds_paused && !paused) {
            self.violations
                .push(format!("{by} in Observe/suspend wrote {endpoint} to {task_id}"));
        }
        let writers = self.writers.entry(task_id.to_owned()).or_default();
        for other in writers.iter().filter(|other| **other != by) {
            if self.kube.get("outboundtasks", NS, other).is_some() {
                self.violations.push(format!(
                    "{by} wrote {endpoint} to {task_id}, which {other} (still there) wrote to"
                ));
            }
        }
        writers.insert(by);
        self.writes.push(Write {
            endpoint: endpoint.to_owned(),
            task_id: task_id.to_owned(),
        });
    }

    /// A person's action on the API server.
    pub fn act(&mut self, person: &Person) {
        let spec_edit = |kube: &FakeKube, name: &str, edit: &dyn Fn(&mut Value)| {
            kube.edit("outboundtasks", NS, name, |o| edit(&mut o["spec"]))
        };
        match person {
            Person::Settings(o, v) => {
                spec_edit(&self.kube, &name(*o), &|s| {
                    s["task"]["maxConcurrency"] = json!(1 + v % 2);
                    if *v >= 2 {
                        let renamed = format!("{}-renamed", s["task"]["name"].as_str().unwrap_or_default());
                        s["task"]["name"] = json!(renamed);
                    }
                });
            }
            Person::RunState(o, paused) => {
                let state = if *paused { RunState::Paused } else { RunState::Running };
                if spec_edit(&self.kube, &name(*o), &|s| s["runState"] = json!(state)) {
                    self.must_run.insert(name(*o), !paused);
                }
            }
            Person::Observe(o, on) => {
                spec_edit(&self.kube, &name(*o), &|s| {
                    s["mode"] = json!(if *on { "Observe" } else { "Enforce" })
                });
            }
            Person::Suspend(o, on) => {
                spec_edit(&self.kube, &name(*o), &|s| s["suspend"] = json!(on));
            }
            Person::Delete(o) => {
                if self.kube.delete("outboundtasks", NS, &name(*o)) {
                    self.deleted.insert(name(*o));
                }
            }
            Person::Duplicate(o) => {
                let Some(original) = self.kube.get("outboundtasks", NS, &name(*o)) else {
                    return;
                };
                if original["spec"]["taskId"].is_null() {
                    return;
                }
                if self.duplicates == 2 {
                    return;
                }
                self.duplicates += 1;
                let copy = name(2 + self.duplicates as u8);
                let object = json!({
                    "apiVersion": "outbound.dev/v1alpha1", "kind": "OutboundTask",
                    "metadata": {"name": copy}, "spec": original["spec"],
                });
                self.kube.create("outboundtasks", NS, object);
                self.must_run
                    .insert(copy, self.must_run.get(&name(*o)).copied().unwrap_or(true));
            }
            Person::Console(o) => {
                let Some(object) = self.kube.get("outboundtasks", NS, &name(*o)) else {
                    return;
                };
                let id = object["spec"]["taskId"]
                    .as_str()
                    .or(object["status"]["taskId"].as_str());
                if let Some(id) = id
                    && self.sim.set_task_status(id, 2).is_ok()
                    && object["spec"]["runState"].is_null()
                {
                    // Whether it must run is now the race between the console and the operator.
                    self.must_run.remove(&name(*o));
                }
            }
            Person::MaxPaused(n) => {
                self.kube
                    .edit("outboundaccounts", NS, "main", |a| a["spec"]["maxPaused"] = json!(n));
            }
            Person::Rate(rps) => {
                self.kube.edit("outboundaccounts", NS, "main", |a| {
                    a["spec"]["rateLimit"]["requestsPerSecond"] = json!(rps)
                });
            }
        }
    }
}

/// The object of index `o`: 0 and 1 adopted, 2 created, 3 and 4 the copies people made.
pub fn name(o: u8) -> String {
    format!("t{o}")
}

fn is_write(endpoint: &str) -> bool {
    matches!(endpoint, "pause" | "resume" | "update" | "create" | "delete")
}

impl PlatformFault {
    /// The simulator's faults for the one request this fault is drawn for.
    fn configure(&self, faults: &mut FaultConfig) {
        const ALL: [outbound_sim::SimEndpoint; 8] = outbound_sim::SimEndpoint::ALL;
        match self {
            PlatformFault::ServerError => ALL.iter().for_each(|e| faults.endpoint_mut(*e).error_rate = 1.0),
            PlatformFault::LostAnswer => ALL.iter().for_each(|e| faults.endpoint_mut(*e).malformed_rate = 1.0),
            PlatformFault::Hang => ALL.iter().for_each(|e| faults.endpoint_mut(*e).hang = true),
            PlatformFault::Throttled => faults.throttle_next = 1,
            PlatformFault::SlowPause => faults.slow_pause_secs = 0.05,
            PlatformFault::ListLag => faults.create.list_lag_secs = 0.05,
        }
    }
}

/// A controller process: its Context over fresh caches of what the API server holds now.
pub fn process(kube: &FakeKube) -> (Arc<Context>, tokio::sync::watch::Sender<bool>) {
    let (tasks, accounts) = kube.caches();
    let metrics = Arc::new(Default::default());
    let (queue, _starts) = WorkQueue::new(4, Arc::clone(&metrics));
    let (listed, accounts_listed) = tokio::sync::watch::channel(true);
    let remote_metrics = Arc::new(outbound_platform::RemoteMetrics::new());
    let parts = Parts {
        client: kube.client(),
        metrics,
        pool: outbound_platform::ClientPool::new(remote_metrics).expect("platform client pool"),
        tokens: Arc::new(TokenCache::default()),
        accounts,
        accounts_listed,
        tasks,
        queue: Arc::new(queue),
    };
    let settings = Settings {
        convergence_attempts: 3,
        // Slow pauses in a row must not stall a task for good within one case.
        started_stall_after: 100,
        max_backoff: Duration::from_secs(1),
        sync_time_refresh: Duration::from_secs(3600),
    };
    (Arc::new(Context::new(parts, settings, Some("props".into()))), listed)
}

/// The object as the process's cache holds it (what kube-runtime hands a reconcile).
pub fn cached(ctx: &Context, name: &str) -> Option<Arc<OutboundTask>> {
    ctx.tasks.get(&ObjectRef::new(name).within(NS))
}

/// A lock on the script (a poisoned one is a failed case already).
pub fn lock(script: &Mutex<Script>) -> std::sync::MutexGuard<'_, Script> {
    script.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
