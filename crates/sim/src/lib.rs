//! Simulator of the calling platform's task API, for tests, demos and benchmarks.
//!
//! It serves the platform's paths (`detail`, `update`, `pause`, `resume`, `token`, `create`,
//! `list`, `delete`) on a loopback port with the documented rules and response quirks, records
//! every call in a journal, injects faults on demand, and offers admin endpoints under `/_sim/`. It is an
//! independent implementation: it shares no wire types with the operator's client, so a
//! misunderstanding of the API in one is not silently mirrored in the other.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use outbound_sim::{Fixtures, SimConfig, Simulator};
//! let fixtures = Fixtures::from_yaml_str("lines: {}\ntasks: {}")?;
//! let sim = Simulator::start(SimConfig::new("secret-token", fixtures)).await?;
//! println!("platform at {}", sim.base_url());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! User documentation: `docs/simulator.md`.

mod admin;
mod answer;
mod config;
mod create;
mod create_behaviour;
mod detail;
mod endpoint;
mod faults;
mod journal;
mod merge;
mod rules;
#[cfg(test)]
mod rules_tests;
mod run_state;
mod server;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use answer::{CODE_NOT_PAUSED, MESSAGE_NOT_PAUSED, MESSAGE_TASK_NOT_FOUND, MESSAGE_UNAUTHENTICATED};
pub use config::{DEFAULT_JOURNAL_LIMIT, Fixtures, SimConfig, TaskFixture};
pub use create::new_task_id;
pub use create_behaviour::{CreateAnswer, CreateBehaviour, FIXTURE_CREATE_DATETIME};
pub use endpoint::SimEndpoint;
pub use faults::{DEFAULT_HANG_SECS, EndpointFaults, FaultConfig, parse_endpoint_value};
pub use journal::{Counters, JournalEntry, REDACTED, TOTAL_ROW, UNKNOWN_ENDPOINT};
pub use run_state::{STATUS_PAUSED, STATUS_RUNNING, STATUS_WAITING};

use state::SimState;

/// Entry point: starts simulator instances.
pub struct Simulator;

impl Simulator {
    /// Binds `config.listen` and serves in the background of the current tokio runtime.
    pub async fn start(config: SimConfig) -> anyhow::Result<SimHandle> {
        config.fixtures.validate().context("invalid fixtures")?;
        config
            .faults
            .validate()
            .map_err(|message| anyhow::anyhow!("invalid fault config: {message}"))?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr().context("listener has no address")?;
        let (shutdown, shutdown_signal) = watch::channel(false);
        let state = Arc::new(SimState::new(&config, shutdown_signal.clone()));
        let app = Router::new()
            .nest("/_sim", admin::router())
            .fallback(server::platform_call)
            .with_state(Arc::clone(&state));
        let mut stop = shutdown_signal;
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    // An error means the handle is gone: stop as well.
                    let _ = stop.wait_for(|stopping| *stopping).await;
                })
                .await
        });
        Ok(SimHandle {
            state,
            addr,
            shutdown,
            server: Some(server),
        })
    }
}

/// A running simulator. Dropping it stops the server (in the background); `shutdown` waits
/// for the stop.
#[derive(Debug)]
pub struct SimHandle {
    state: Arc<SimState>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The token platform calls must currently carry.
    pub fn token(&self) -> String {
        self.state.token()
    }

    /// Rotates the accepted token (the old one stops working at once).
    pub fn set_token(&self, token: impl Into<String>) {
        self.state.set_token(token.into());
    }

    /// Every recorded platform call, oldest first.
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.state.journal()
    }

    /// Number of journal entries, without copying them.
    pub fn journal_len(&self) -> usize {
        self.state.journal_len()
    }

    pub fn clear_journal(&self) {
        self.state.clear_journal();
    }

    pub fn counters(&self) -> Counters {
        self.state.counters()
    }

    /// The task as stored (status settled after a slow pause).
    pub fn task(&self, task_id: &str) -> Option<TaskFixture> {
        self.state.task(task_id)
    }

    pub fn task_ids(&self) -> Vec<String> {
        self.state.task_ids()
    }

    /// Creates or replaces a task.
    pub fn put_task(&self, task_id: &str, task: TaskFixture) -> anyhow::Result<()> {
        task.validate()?;
        self.state.put_task(task_id, task);
        Ok(())
    }

    /// Out-of-band edit (someone changed the task in the console): RFC 7386 merge of `patch`
    /// into the stored config. Returns the new config, `None` for an unknown task.
    pub fn patch_task_config(&self, task_id: &str, patch: Value) -> Option<Value> {
        self.state.patch_config(task_id, patch)
    }

    /// Sets a task's run state directly (1 paused, 2 running, 3 waiting).
    pub fn set_task_status(&self, task_id: &str, status: u8) -> anyhow::Result<()> {
        anyhow::ensure!(
            (STATUS_PAUSED..=STATUS_WAITING).contains(&status),
            "status {status} is not 1, 2 or 3"
        );
        anyhow::ensure!(self.state.set_status(task_id, status), "no task {task_id}");
        Ok(())
    }

    /// Sets the `create_datetime` a task is listed with (naive `YYYY-MM-DD HH:MM:SS`, UTC+8);
    /// tasks from fixtures or `put_task` are listed as created at [`FIXTURE_CREATE_DATETIME`].
    pub fn set_task_create_datetime(&self, task_id: &str, create_datetime: &str) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.state.set_create_datetime(task_id, create_datetime),
            "no task {task_id}"
        );
        Ok(())
    }

    /// Now as the platform writes its naive date-times (UTC+8).
    pub fn platform_now(&self) -> String {
        create::platform_now()
    }

    /// Sets a line's remaining concurrency (adds the line if new).
    pub fn set_line_remaining(&self, line_id: &str, remaining: u32) {
        self.state.set_line(line_id, remaining);
    }

    pub fn faults(&self) -> FaultConfig {
        self.state.faults()
    }

    pub fn set_faults(&self, faults: FaultConfig) -> anyhow::Result<()> {
        faults
            .validate()
            .map_err(|message| anyhow::anyhow!("invalid fault config: {message}"))?;
        self.state.set_faults(faults);
        Ok(())
    }

    /// Restores fixtures and the start token; clears journal, counters and faults.
    pub fn reset(&self) {
        self.state.reset();
    }

    /// Stops accepting calls, ends hanging calls, and waits for the server to finish.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(server) = self.server.take() {
            match server.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::warn!(%error, "simulator server failed"),
                Err(error) => tracing::warn!(%error, "simulator server task failed"),
            }
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        // Graceful: in-flight calls finish, hanging calls end early.
        let _ = self.shutdown.send(true);
    }
}
