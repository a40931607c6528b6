//! The simulator's state: tasks and lines (the "platform"), the journal and counters, the
//! faults, the accepted token; and the task operations behind the platform endpoints.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::watch;

use super::config::{Fixtures, SimConfig, TaskFixture};
use super::create_behaviour::FIXTURE_CREATE_DATETIME;
use super::faults::{FaultConfig, FaultState};
use super::journal::{Counters, Journal, JournalEntry};
use super::merge::merge_patch;
use super::rules;
use super::run_state::{STATUS_PAUSED, STATUS_RUNNING};

/// A task as the simulator holds it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TaskRecord {
    pub user_id: String,
    pub status: u8,
    pub config: Value,
    pub sub_user_id: Option<String>,
    /// Set by a slow pause: when the task actually becomes paused. Applied lazily on every
    /// access, so no timer task is needed per pause.
    pub pause_due: Option<Instant>,
    /// `create_datetime` as the list shows it (naive, UTC+8).
    pub create_datetime: String,
    /// A created task shows in the list from this instant (the list's lag); `None`: always.
    pub listed_from: Option<Instant>,
}

impl TaskRecord {
    fn from_fixture(fixture: TaskFixture) -> Self {
        TaskRecord {
            user_id: fixture.user_id,
            status: fixture.status,
            config: fixture.config,
            sub_user_id: fixture.sub_user_id,
            pause_due: None,
            create_datetime: FIXTURE_CREATE_DATETIME.to_owned(),
            listed_from: None,
        }
    }

    pub fn to_fixture(&self) -> TaskFixture {
        TaskFixture {
            user_id: self.user_id.clone(),
            status: self.status,
            config: self.config.clone(),
            sub_user_id: self.sub_user_id.clone(),
        }
    }

    pub(crate) fn settle(&mut self, now: Instant) {
        if let Some(due) = self.pause_due
            && now >= due
        {
            self.status = STATUS_PAUSED;
            self.pause_due = None;
        }
    }

    /// The platform finds a task only under its own main account and, for a sub-account's
    /// task, only when the request names that sub-account (and vice versa).
    pub(crate) fn visible_to(&self, user_id: &str, sub_user_id: Option<&str>) -> bool {
        self.user_id == user_id && self.sub_user_id.as_deref() == sub_user_id
    }
}

/// Which task a platform call addresses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TaskRef<'a> {
    pub user_id: &'a str,
    pub task_id: &'a str,
    pub sub_user_id: Option<&'a str>,
}

/// Why a task operation was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TaskError {
    /// 404 任务不存在: no such task for this account / sub-account.
    NotFound,
    /// 6007: update of a task that is not paused.
    NotPaused,
    /// 422: the update body broke a rule; the message names the field.
    Invalid(String),
}

#[derive(Debug, Default)]
pub(crate) struct Platform {
    pub tasks: HashMap<String, TaskRecord>,
    pub lines: BTreeMap<String, u32>,
}

impl Platform {
    fn from_fixtures(fixtures: &Fixtures) -> Self {
        Platform {
            tasks: fixtures
                .tasks
                .iter()
                .map(|(id, task)| (id.clone(), TaskRecord::from_fixture(task.clone())))
                .collect(),
            lines: fixtures.lines.clone(),
        }
    }

    fn visible_task(&mut self, task: TaskRef<'_>, now: Instant) -> Result<&mut TaskRecord, TaskError> {
        let record = self.tasks.get_mut(task.task_id).ok_or(TaskError::NotFound)?;
        if !record.visible_to(task.user_id, task.sub_user_id) {
            return Err(TaskError::NotFound);
        }
        record.settle(now);
        Ok(record)
    }
}

/// Journal and counters, kept under one lock so they always agree.
#[derive(Debug)]
pub(crate) struct Records {
    pub journal: Journal,
    pub counters: Counters,
}

/// All shared state of one simulator instance.
#[derive(Debug)]
pub(crate) struct SimState {
    platform: Mutex<Platform>,
    records: Mutex<Records>,
    faults: Mutex<FaultState>,
    token: Mutex<String>,
    initial_fixtures: Fixtures,
    initial_token: String,
    journal_limit: usize,
    /// Becomes `true` at shutdown so that hanging calls stop waiting.
    pub shutdown: watch::Receiver<bool>,
}

/// Locks a mutex, ignoring poisoning: every critical section leaves the data consistent, so a
/// panic elsewhere must not take the simulator down with it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SimState {
    pub fn new(config: &SimConfig, shutdown: watch::Receiver<bool>) -> Self {
        SimState {
            platform: Mutex::new(Platform::from_fixtures(&config.fixtures)),
            records: Mutex::new(Records {
                journal: Journal::new(config.journal_limit),
                counters: Counters::default(),
            }),
            faults: Mutex::new(FaultState::new(config.faults.clone())),
            token: Mutex::new(config.token.clone()),
            initial_fixtures: config.fixtures.clone(),
            initial_token: config.token.clone(),
            journal_limit: config.journal_limit,
            shutdown,
        }
    }

    // ---- platform operations -------------------------------------------------------------

    /// A settled copy of the task, for the detail call.
    pub fn detail(&self, task: TaskRef<'_>) -> Result<TaskRecord, TaskError> {
        let mut platform = lock(&self.platform);
        platform.visible_task(task, Instant::now()).map(|record| record.clone())
    }

    /// Pauses a task; idempotent. With a slow pause the status changes only after `slow_pause`.
    pub fn pause(&self, task: TaskRef<'_>) -> Result<(), TaskError> {
        let slow_pause = lock(&self.faults).config.slow_pause();
        let now = Instant::now();
        let mut platform = lock(&self.platform);
        let record = platform.visible_task(task, now)?;
        if record.status == STATUS_PAUSED {
            return Ok(());
        }
        if slow_pause.is_zero() {
            record.status = STATUS_PAUSED;
        } else if record.pause_due.is_none() {
            // A repeated pause during the window does not extend it.
            record.pause_due = Some(now + slow_pause);
        }
        Ok(())
    }

    /// Resumes a task (status 2); idempotent. Cancels a pending slow pause.
    pub fn resume(&self, task: TaskRef<'_>) -> Result<(), TaskError> {
        let mut platform = lock(&self.platform);
        let record = platform.visible_task(task, Instant::now())?;
        record.status = STATUS_RUNNING;
        record.pause_due = None;
        Ok(())
    }

    /// Replaces a paused task's config with `config` after checking the update rules.
    pub fn update(&self, task: TaskRef<'_>, config: Value) -> Result<(), TaskError> {
        let mut platform = lock(&self.platform);
        let Platform { tasks, lines } = &mut *platform;
        let record = tasks.get_mut(task.task_id).ok_or(TaskError::NotFound)?;
        if !record.visible_to(task.user_id, task.sub_user_id) {
            return Err(TaskError::NotFound);
        }
        record.settle(Instant::now());
        if record.status != STATUS_PAUSED {
            return Err(TaskError::NotPaused);
        }
        rules::validate_update(&config, lines).map_err(TaskError::Invalid)?;
        record.config = config;
        Ok(())
    }

    /// Runs `action` on the platform under its lock (create, list, delete: `sim::create`).
    pub fn with_platform<R>(&self, action: impl FnOnce(&mut Platform) -> R) -> R {
        action(&mut lock(&self.platform))
    }

    // ---- admin operations ------------------------------------------------------------------

    /// Sets the `create_datetime` a task is listed with (naive, UTC+8). False for an unknown
    /// task.
    pub fn set_create_datetime(&self, task_id: &str, create_datetime: &str) -> bool {
        let mut platform = lock(&self.platform);
        let Some(record) = platform.tasks.get_mut(task_id) else {
            return false;
        };
        record.create_datetime = create_datetime.to_owned();
        true
    }

    pub fn task(&self, task_id: &str) -> Option<TaskFixture> {
        let mut platform = lock(&self.platform);
        let record = platform.tasks.get_mut(task_id)?;
        record.settle(Instant::now());
        Some(record.to_fixture())
    }

    pub fn task_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = lock(&self.platform).tasks.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Creates or replaces a task. Returns true when it replaced an existing one.
    pub fn put_task(&self, task_id: &str, fixture: TaskFixture) -> bool {
        let record = TaskRecord::from_fixture(fixture);
        lock(&self.platform).tasks.insert(task_id.to_owned(), record).is_some()
    }

    /// Out-of-band edit: merges `patch` into the stored config (RFC 7386 merge patch: objects
    /// merge recursively, `null` deletes a key, anything else replaces). No rules are checked,
    /// as the console may store what the API would refuse. Returns the new config.
    pub fn patch_config(&self, task_id: &str, patch: Value) -> Option<Value> {
        let mut platform = lock(&self.platform);
        let record = platform.tasks.get_mut(task_id)?;
        merge_patch(&mut record.config, patch);
        Some(record.config.clone())
    }

    /// Sets the run state directly; cancels a pending slow pause.
    pub fn set_status(&self, task_id: &str, status: u8) -> bool {
        let mut platform = lock(&self.platform);
        let Some(record) = platform.tasks.get_mut(task_id) else {
            return false;
        };
        record.status = status;
        record.pause_due = None;
        true
    }

    pub fn lines(&self) -> BTreeMap<String, u32> {
        lock(&self.platform).lines.clone()
    }

    pub fn set_line(&self, line_id: &str, remaining: u32) {
        lock(&self.platform).lines.insert(line_id.to_owned(), remaining);
    }

    pub fn token(&self) -> String {
        lock(&self.token).clone()
    }

    pub fn set_token(&self, token: String) {
        *lock(&self.token) = token;
    }

    pub fn faults(&self) -> FaultConfig {
        lock(&self.faults).config.clone()
    }

    pub fn set_faults(&self, faults: FaultConfig) {
        lock(&self.faults).replace(faults);
    }

    pub fn with_faults<R>(&self, action: impl FnOnce(&mut FaultState) -> R) -> R {
        action(&mut lock(&self.faults))
    }

    /// Records a call in the journal and the counters; returns its sequence number.
    pub fn record(&self, entry: JournalEntry) -> u64 {
        let outcome = entry.outcome();
        let mut records = lock(&self.records);
        records.counters.record(&entry.endpoint, &outcome);
        records.journal.push(entry)
    }

    pub fn journal(&self) -> Vec<JournalEntry> {
        lock(&self.records).journal.entries()
    }

    pub fn journal_len(&self) -> usize {
        lock(&self.records).journal.len()
    }

    pub fn clear_journal(&self) {
        lock(&self.records).journal.clear();
    }

    pub fn counters(&self) -> Counters {
        lock(&self.records).counters.clone()
    }

    /// Back to the start: fixtures, token, empty journal and counters, no faults.
    pub fn reset(&self) {
        *lock(&self.platform) = Platform::from_fixtures(&self.initial_fixtures);
        *lock(&self.records) = Records {
            journal: Journal::new(self.journal_limit),
            counters: Counters::default(),
        };
        lock(&self.faults).replace(FaultConfig::default());
        self.set_token(self.initial_token.clone());
    }

    /// Waits `duration`, or less if the simulator shuts down meanwhile (so that a hanging call
    /// does not hold up shutdown).
    pub async fn sleep_unless_shutdown(&self, duration: Duration) {
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            _ = tokio::time::sleep(duration) => {}
            _ = shutdown.wait_for(|stopping| *stopping) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn state_with_running_task() -> SimState {
        let fixtures =
            Fixtures::from_yaml_str("tasks: {t: {user_id: u, status: 2, sub_user_id: s, config: {name: n}}}").unwrap();
        let (_sender, receiver) = watch::channel(false);
        SimState::new(&SimConfig::new("token", fixtures), receiver)
    }

    #[test]
    fn tasks_are_scoped_by_user_and_sub_user() {
        let state = state_with_running_task();
        let task = |user_id, sub_user_id| TaskRef {
            user_id,
            task_id: "t",
            sub_user_id,
        };
        assert!(state.detail(task("u", Some("s"))).is_ok());
        assert_eq!(state.detail(task("u", None)), Err(TaskError::NotFound));
        assert_eq!(state.detail(task("other", Some("s"))), Err(TaskError::NotFound));
        assert_eq!(state.detail(task("u", Some("x"))), Err(TaskError::NotFound));
    }

    #[test]
    fn slow_pause_takes_effect_after_the_window() {
        let state = state_with_running_task();
        state.set_faults(FaultConfig {
            slow_pause_secs: 0.05,
            ..FaultConfig::default()
        });
        let task = TaskRef {
            user_id: "u",
            task_id: "t",
            sub_user_id: Some("s"),
        };
        state.pause(task).unwrap();
        assert_eq!(state.task("t").unwrap().status, STATUS_RUNNING);
        assert_eq!(state.update(task, json!({})), Err(TaskError::NotPaused));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(state.task("t").unwrap().status, STATUS_PAUSED);
    }
}
