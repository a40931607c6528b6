//! Running the operator binary as a process (so tests can SIGKILL it, or run two for leader
//! election) next to an in-process platform simulator. Include with `mod harness;` after
//! `mod support;`.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kube::api::Api;
use outbound_api::{OutboundAccount, OutboundTask};
use outbound_core::mapping;
use outbound_sim::{FaultConfig, Fixtures, JournalEntry, SimConfig, SimEndpoint, SimHandle, Simulator, TaskFixture};
use serde_json::Value;

/// A token unlikely to appear anywhere by chance, so a leak check can search for it.
pub fn unique_token(label: &str) -> String {
    format!("tok-{label}-{}", uuid_like())
}

/// A random UUID-shaped id for remote tasks.
pub fn uuid_like() -> String {
    outbound_sim::new_task_id()
}

/// One test's world: a fresh namespace on the plane, a simulator whose token is in the Secret
/// `platform-token`, and the OutboundAccount `main` pointing at it.
pub struct Setup {
    pub client: kube::Client,
    pub ns: String,
    pub token: String,
    pub sim: SimHandle,
    pub tasks: Api<OutboundTask>,
}

/// [`Setup`] named after `prefix`; `None` when cluster tests are skipped on purpose.
pub async fn setup(prefix: &str) -> Option<Setup> {
    setup_with(prefix, |_| {}).await
}

/// The same, with the account changed by `edit` before it is created.
pub async fn setup_with(prefix: &str, edit: impl FnOnce(&mut OutboundAccount)) -> Option<Setup> {
    let client = super::support::cluster().await?;
    super::support::ensure_crds(&client).await;
    Some(setup_on(client, prefix, edit).await)
}

/// The same on the API server of `client`, whose CRDs are installed already.
pub async fn setup_on(client: kube::Client, prefix: &str, edit: impl FnOnce(&mut OutboundAccount)) -> Setup {
    let ns = super::support::test_namespace(&client, prefix).await;
    let token = unique_token(prefix);
    let sim = simulator(&token).await;
    super::support::create_token_secret(&client, &ns, "platform-token", &token).await;
    let mut account = super::support::account("main", &sim.base_url(), "platform-token");
    edit(&mut account);
    super::support::create(&client, &ns, &account).await;
    let tasks = Api::namespaced(client.clone(), &ns);
    Setup {
        client,
        ns,
        token,
        sim,
        tasks,
    }
}

pub async fn simulator(token: &str) -> SimHandle {
    let fixtures = Fixtures::from_yaml_str(&format!("lines: {{\"{}\": 50}}\ntasks: {{}}", super::support::LINE_ID))
        .expect("fixtures");
    Simulator::start(SimConfig::new(token, fixtures))
        .await
        .expect("simulator starts")
}

/// Puts a remote task that holds `task`'s spec with `edit` applied (deep-merged into the update
/// body), in run state `status` (1 paused, 2 running, 3 waiting).
pub fn put_remote_task(sim: &SimHandle, task: &OutboundTask, status: u8, edit: Value) {
    // A task as the platform holds it: every field present, as after a create.
    let mut config = serde_json::to_value(mapping::create_body(&task.spec)).unwrap();
    merge(&mut config, edit);
    if let Some(object) = config.as_object_mut() {
        object.remove("sub_user_id");
    }
    let fixture = TaskFixture {
        user_id: super::support::USER_ID.into(),
        status,
        config,
        sub_user_id: task.spec.sub_user_id.clone(),
    };
    sim.put_task(task.spec.task_id.as_deref().unwrap(), fixture)
        .expect("put remote task");
}

/// True when the remote task's stored settings are exactly what the spec maps to (the fields it
/// leaves unset as a create sends them: what `put_remote_task` stored and an update sends back).
pub fn remote_equals_spec(sim: &SimHandle, task: &OutboundTask) -> bool {
    let mut expected = serde_json::to_value(mapping::create_body(&task.spec)).unwrap();
    if let Some(object) = expected.as_object_mut() {
        object.remove("sub_user_id");
    }
    sim.task(task.spec.task_id.as_deref().unwrap())
        .is_some_and(|remote| remote.config == expected)
}

pub fn remote_status(sim: &SimHandle, task_id: &str) -> u8 {
    sim.task(task_id).expect("remote task exists").status
}

/// Ids of the remote tasks named `name`.
pub fn remote_tasks_named(sim: &SimHandle, name: &str) -> Vec<String> {
    sim.task_ids()
        .into_iter()
        .filter(|id| sim.task(id).is_some_and(|t| t.config["name"] == name))
        .collect()
}

/// The journal entries of one remote task.
pub fn calls_for(sim: &SimHandle, task_id: &str) -> Vec<JournalEntry> {
    sim.journal().into_iter().filter(|e| e.path.contains(task_id)).collect()
}

/// True when the replica `identity` made the call: the operator's User-Agent is
/// `outbound-operator/<version> (<identity>)`.
pub fn made_by(entry: &JournalEntry, identity: &str) -> bool {
    entry
        .user_agent
        .as_deref()
        .is_some_and(|agent| agent.ends_with(&format!("({identity})")))
}

/// Whether the call changed something on the platform (the calls the leader fence guards).
pub fn is_write(entry: &JournalEntry) -> bool {
    matches!(
        entry.endpoint.as_str(),
        "update" | "pause" | "resume" | "create" | "delete"
    )
}

/// When the platform received each write (`is_write`) of the replica `identity`, in time order
/// (the journal lists calls as they are answered).
pub fn writes_by(sim: &SimHandle, identity: &str) -> Vec<jiff::Timestamp> {
    sim.journal()
        .iter()
        .filter(|e| made_by(e, identity) && is_write(e))
        .map(|e| e.at.parse().expect("journal time"))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// `endpoint` names of those calls, with `:<code>` for non-200 answers (e.g. `update:6007`).
pub fn call_names(sim: &SimHandle, task_id: &str) -> Vec<String> {
    calls_for(sim, task_id)
        .into_iter()
        .map(|e| match e.code {
            Some(200) | None => e.endpoint,
            Some(code) => format!("{}:{code}", e.endpoint),
        })
        .collect()
}

/// Deep-merges `patch` into `target` (objects key by key; anything else replaced).
pub fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(target.entry(key).or_insert(Value::Null), value);
            }
        }
        (target, patch) => *target = patch,
    }
}

/// The operator binary, running `run` in one namespace.
pub struct Operator {
    child: Child,
    pub log: PathBuf,
    pub metrics_port: u16,
    _dir: tempfile::TempDir,
}

impl Operator {
    pub fn start(namespace: &str, extra_args: &[&str]) -> Self {
        Self::start_with_kubeconfig(namespace, extra_args, None)
    }

    /// The same, talking to the API server of `kubeconfig` (default: KUBECONFIG's).
    pub fn start_with_kubeconfig(namespace: &str, extra_args: &[&str], kubeconfig: Option<&std::path::Path>) -> Self {
        let binary = std::path::Path::new(env!("CARGO_BIN_EXE_outbound-operator"));
        Self::start_binary(binary, namespace, extra_args, kubeconfig)
    }

    /// The same with another build of the operator (an earlier version, for upgrades).
    pub fn start_binary(
        binary: &std::path::Path,
        namespace: &str,
        extra_args: &[&str],
        kubeconfig: Option<&std::path::Path>,
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("operator.log");
        let metrics_port = free_port();
        let file = std::fs::File::create(&log).expect("log file");
        let mut command = Command::new(binary);
        if let Some(kubeconfig) = kubeconfig {
            command.env("KUBECONFIG", kubeconfig);
        }
        let child = command
            .args(["run", "--namespace", namespace, "--log-format", "json"])
            .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
            .args(extra_args)
            .env(
                "RUST_LOG",
                std::env::var("OPERATOR_LOG")
                    .unwrap_or_else(|_| "info,outbound_operator=debug,outbound_platform=debug".into()),
            )
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("operator starts");
        Operator {
            child,
            log,
            metrics_port,
            _dir: dir,
        }
    }

    /// SIGKILL: no shutdown path runs, as when a node dies.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, as the kubelet sends it, then waits up to `grace` for the exit (SIGKILL after).
    /// The exit status, if it exited in time.
    pub fn terminate(&mut self, grace: Duration) -> Option<std::process::ExitStatus> {
        // SAFETY: kill(2) on the pid of a child this harness spawned and has not reaped.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill();
        None
    }

    /// Whether `/readyz` answers 200.
    pub async fn ready(&self) -> bool {
        let url = format!("http://127.0.0.1:{}/readyz", self.metrics_port);
        reqwest::get(&url).await.is_ok_and(|r| r.status().is_success())
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// When the operator first logged a line whose message contains `message` (JSON log lines).
    pub fn logged_at(&self, message: &str) -> Option<jiff::Timestamp> {
        self.logs().lines().find_map(|line| {
            let line: Value = serde_json::from_str(line).ok()?;
            line["message"].as_str()?.contains(message).then_some(())?;
            line["timestamp"].as_str()?.parse().ok()
        })
    }

    pub async fn metrics(&self) -> String {
        let url = format!("http://127.0.0.1:{}/metrics", self.metrics_port);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(response) = reqwest::get(&url).await
                && let Ok(text) = response.text().await
            {
                return text;
            }
            assert!(Instant::now() < deadline, "metrics endpoint never answered");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "--- operator log ({}) ---\n{}",
                self.log.display(),
                tail(&self.logs(), 60)
            );
        }
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `check` every 100 ms until it holds or `timeout` passes.
pub async fn eventually(timeout: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How kstatus (sigs.k8s.io/cli-utils, what Flux's health checks use) reads each object of the
/// list: name -> status (`Current`, `InProgress`, `Failed`, ...). `make test` builds the reader
/// (tools/kstatus) and exports KSTATUS_BIN; without it the test fails with how to get it.
pub fn kstatus(list: &impl serde::Serialize) -> std::collections::BTreeMap<String, String> {
    let bin = std::env::var("KSTATUS_BIN")
        .expect("KSTATUS_BIN is not set: run `make test`, or export KSTATUS_BIN=$(scripts/build-kstatus.sh)");
    let mut child = Command::new(bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("kstatus runs");
    serde_json::to_writer(child.stdin.take().unwrap(), list).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "kstatus failed");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| {
            line.split_once(' ')
                .map(|(name, rest)| (name.to_string(), rest.split(' ').next().unwrap_or("").to_string()))
        })
        .collect()
}

/// Creates `task` (a running campaign whose settings differ) under an operator, lets it pause the
/// campaign and hang in the update, and kills it there: the journal in status says the operator
/// paused the campaign, and nothing runs to resume it.
pub async fn kill_operator_mid_update(setup: &Setup, task: &OutboundTask) {
    let (name, id) = (
        task.metadata.name.as_deref().unwrap(),
        task.spec.task_id.as_deref().unwrap(),
    );
    let mut faults = FaultConfig {
        hang_secs: 30,
        ..Default::default()
    };
    faults.endpoint_mut(SimEndpoint::Update).hang = true;
    setup.sim.set_faults(faults).unwrap();
    let mut operator = Operator::start(&setup.ns, &[]);
    super::support::create_task(&setup.client, &setup.ns, task).await;
    let wait = Duration::from_secs(30);
    super::support::wait_for(&setup.tasks, name, wait, "the journal", |t| {
        t.status.as_ref().is_some_and(|s| s.operation.is_some())
    })
    .await;
    eventually(wait, "the pause", || remote_status(&setup.sim, id) == 1).await;
    operator.kill();
    setup.sim.set_faults(FaultConfig::default()).unwrap();
}

/// Waits until the object `name` is gone from the API server (its finalizer removed).
pub async fn wait_gone(tasks: &Api<OutboundTask>, name: &str, within: Duration) {
    let deadline = std::time::Instant::now() + within;
    while tasks.get_opt(name).await.unwrap().is_some() {
        assert!(std::time::Instant::now() < deadline, "{name} was never deleted");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Running campaigns whose settings differ from the spec of a new task each (one per name), and
/// every update answered only after `update_latency`: the first operation to take a `maxPaused`
/// place holds it that long while the others wait.
pub fn changed_tasks_behind_a_slow_update(
    setup: &Setup,
    names: &[&str],
    update_latency: Duration,
) -> Vec<OutboundTask> {
    let tasks: Vec<OutboundTask> = names
        .iter()
        .map(|name| super::support::task(name, "main", &uuid_like()))
        .collect();
    for task in &tasks {
        put_remote_task(&setup.sim, task, 2, serde_json::json!({"maximumcall": 1}));
    }
    let mut faults = FaultConfig::default();
    faults.endpoint_mut(SimEndpoint::Update).latency_ms = update_latency.as_millis() as u64;
    setup.sim.set_faults(faults).unwrap();
    tasks
}

/// The most calls the simulator received within any one second (by arrival time).
pub fn busiest_second(sim: &SimHandle) -> usize {
    let mut times: Vec<jiff::Timestamp> = sim
        .journal()
        .iter()
        .map(|e| e.at.parse().expect("RFC 3339 arrival time"))
        .collect();
    times.sort();
    (0..times.len())
        .map(|i| {
            let end = times[i] + jiff::SignedDuration::from_secs(1);
            times[i..].iter().take_while(|t| **t < end).count()
        })
        .max()
        .unwrap_or(0)
}
