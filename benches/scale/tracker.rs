//! Watching readiness: when each task was first seen Ready at each generation.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::ensure;
use futures::StreamExt;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use outbound_api::OutboundTask;

/// Watches the bench namespace and records when each task was first seen Ready at each
/// generation.
pub struct Tracker {
    state: Arc<Mutex<HashMap<String, BTreeMap<i64, Instant>>>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Ready {
    pub all_s: f64,
    pub p50_s: f64,
    pub p99_s: f64,
}

impl Tracker {
    pub fn start(api: Api<OutboundTask>) -> Self {
        let state: Arc<Mutex<HashMap<String, BTreeMap<i64, Instant>>>> = Arc::default();
        let shared = state.clone();
        let task = tokio::spawn(async move {
            let mut events = std::pin::pin!(watcher(api, watcher::Config::default()).default_backoff());
            while let Some(event) = events.next().await {
                let task = match event {
                    Ok(watcher::Event::Apply(task) | watcher::Event::InitApply(task)) => task,
                    Ok(_) => continue,
                    Err(error) => {
                        eprintln!("scale: watch error (retrying): {error}");
                        continue;
                    }
                };
                if let Some(generation) = ready_generation(&task) {
                    let now = Instant::now();
                    shared
                        .lock()
                        .expect("tracker lock")
                        .entry(task.name_any())
                        .or_default()
                        .entry(generation)
                        .or_insert(now);
                }
            }
        });
        Tracker { state, task }
    }

    /// Waits until `n` tasks have been Ready at `generation` (or later); times from `started`.
    pub async fn wait(&self, n: usize, generation: i64, started: Instant, timeout: Duration) -> anyhow::Result<Ready> {
        let deadline = started + timeout;
        loop {
            let times: Vec<Duration> = {
                let state = self.state.lock().expect("tracker lock");
                state
                    .values()
                    .filter_map(|seen| seen.range(generation..).map(|(_, at)| *at).min())
                    .map(|at| at.saturating_duration_since(started))
                    .collect()
            };
            if times.len() >= n {
                let mut secs: Vec<f64> = times.iter().map(Duration::as_secs_f64).collect();
                secs.sort_by(f64::total_cmp);
                let pick = |q: f64| secs[((secs.len() as f64 - 1.0) * q).round() as usize];
                return Ok(Ready {
                    all_s: *secs.last().expect("n > 0"),
                    p50_s: pick(0.5),
                    p99_s: pick(0.99),
                });
            }
            ensure!(
                Instant::now() < deadline,
                "only {} of {n} tasks Ready at generation {generation} after {timeout:?}",
                times.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The generation at which the task is Ready: Ready=True and observedGeneration (status and
/// condition) equal to metadata.generation, no operation in flight.
pub fn ready_generation(task: &OutboundTask) -> Option<i64> {
    let generation = task.metadata.generation?;
    let status = task.status.as_ref()?;
    if status.observed_generation != Some(generation) || status.operation.is_some() {
        return None;
    }
    let ready = status.conditions.iter().find(|c| c.type_ == "Ready")?;
    (ready.status == "True" && ready.observed_generation.is_none_or(|g| g == generation)).then_some(generation)
}
