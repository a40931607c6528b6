//! Start-up configuration of the simulator and the fixture file format.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::faults::FaultConfig;
use super::run_state::{STATUS_PAUSED, STATUS_WAITING};

/// Default capacity of the journal ring buffer (entries kept before the oldest are dropped).
pub const DEFAULT_JOURNAL_LIMIT: usize = 1_000_000;

/// Everything the simulator needs to start.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The bearer token platform calls must carry.
    pub token: String,
    /// Lines and tasks present at start and after `POST /_sim/reset`.
    pub fixtures: Fixtures,
    /// Faults active at start. `POST /_sim/reset` clears them (back to `FaultConfig::default()`).
    pub faults: FaultConfig,
    /// How many journal entries to keep; the oldest are dropped beyond it.
    pub journal_limit: usize,
}

impl SimConfig {
    /// A config listening on a free loopback port with no faults.
    pub fn new(token: impl Into<String>, fixtures: Fixtures) -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: token.into(),
            fixtures,
            faults: FaultConfig::default(),
            journal_limit: DEFAULT_JOURNAL_LIMIT,
        }
    }
}

/// The fixture file: the platform's lines and tasks. YAML or JSON (JSON is valid YAML).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixtures {
    /// Line id (uuid) -> remaining concurrency ("residue") of that line.
    #[serde(default)]
    pub lines: BTreeMap<String, u32>,
    /// Task id (uuid) -> task.
    #[serde(default)]
    pub tasks: BTreeMap<String, TaskFixture>,
}

/// One task as written in a fixture file, and as read and written through `/_sim/tasks/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskFixture {
    /// Main account the task belongs to (the `{user_id}` path parameter).
    pub user_id: String,
    /// 1 paused, 2 running, 3 waiting.
    pub status: u8,
    /// The task's settings in the update call's body format (snake_case JSON object).
    pub config: Value,
    /// When set, the task is only found by requests carrying this `sub_user_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_user_id: Option<String>,
}

impl TaskFixture {
    /// Checks what serde cannot: a known status and an object config.
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(STATUS_PAUSED..=STATUS_WAITING).contains(&self.status) {
            bail!("status {} is not 1 (paused), 2 (running) or 3 (waiting)", self.status);
        }
        if !self.config.is_object() {
            bail!("config must be a JSON object");
        }
        if self.user_id.is_empty() {
            bail!("user_id must not be empty");
        }
        Ok(())
    }
}

impl Fixtures {
    /// Parses fixtures from YAML or JSON text and validates every task.
    pub fn from_yaml_str(text: &str) -> anyhow::Result<Self> {
        // An empty file is a valid (empty) fixture set; serde_yaml reads it as null.
        if text.trim().is_empty() {
            return Ok(Fixtures::default());
        }
        let fixtures: Fixtures = serde_yaml::from_str(text).context("invalid fixture document")?;
        fixtures.validate()?;
        Ok(fixtures)
    }

    /// Reads and parses a fixture file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read fixture file {}", path.display()))?;
        Self::from_yaml_str(&text).with_context(|| format!("in fixture file {}", path.display()))
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        for (task_id, task) in &self.tasks {
            task.validate().with_context(|| format!("task {task_id}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_yaml_fixtures() {
        let fixtures = Fixtures::from_yaml_str(
            r#"
lines:
  d47c3599-f166-4cd0-999c-f60e46814d26: 4
tasks:
  t1:
    user_id: u1
    status: 1
    sub_user_id: s1
    config: {name: a, maximumcall: 2}
"#,
        )
        .unwrap();
        assert_eq!(fixtures.lines["d47c3599-f166-4cd0-999c-f60e46814d26"], 4);
        let task = &fixtures.tasks["t1"];
        assert_eq!(task.sub_user_id.as_deref(), Some("s1"));
        assert_eq!(task.config["maximumcall"], 2);
    }

    #[test]
    fn rejects_bad_status_non_object_config_and_unknown_keys() {
        let bad_status = "tasks: {t: {user_id: u, status: 4, config: {}}}";
        assert!(Fixtures::from_yaml_str(bad_status).is_err());
        let bad_config = "tasks: {t: {user_id: u, status: 1, config: [1]}}";
        assert!(Fixtures::from_yaml_str(bad_config).is_err());
        let typo = "tasks: {t: {user_id: u, status: 1, config: {}, sub_user: x}}";
        assert!(Fixtures::from_yaml_str(typo).is_err());
        assert_eq!(Fixtures::from_yaml_str("").unwrap(), Fixtures::default());
    }
}
