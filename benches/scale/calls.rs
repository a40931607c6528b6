//! The simulator's journal, analysed: calls per task and endpoint, sequences, calls per window.

use std::collections::{BTreeMap, HashMap};

use anyhow::Context as _;
use outbound_sim::JournalEntry;
use serde::Serialize;

/// What `summarise` makes of a journal. It lives here, with the code that fills it, so that the
/// runs that measure calls need only this module, and not the results file that holds every run.
#[derive(Debug, Clone, Serialize, Default)]
pub struct CallSummary {
    pub total: u64,
    /// Calls per task by endpoint (all answers).
    pub per_task: BTreeMap<String, f64>,
    /// Answers other than 200, by `endpoint:code`.
    pub not_ok: BTreeMap<String, u64>,
    /// The expected per-task sequence and how many tasks had exactly it.
    pub expected: String,
    pub tasks_exact: usize,
    /// Per-task call sequences seen (most frequent first, at most 8).
    pub sequences: Vec<(String, usize)>,
}

/// The largest number of instants (ms) within any half-open window of `width` ms, and its start.
pub fn max_in_window(mut times: Vec<i64>, width: i64) -> (usize, i64) {
    times.sort_unstable();
    let (mut best, mut start, mut lo) = (0, 0, 0);
    for hi in 0..times.len() {
        while times[hi] - times[lo] >= width {
            lo += 1;
        }
        if hi - lo + 1 > best {
            best = hi - lo + 1;
            start = times[lo];
        }
    }
    (best, start)
}

pub fn millis(at: &str) -> anyhow::Result<i64> {
    Ok(at
        .parse::<jiff::Timestamp>()
        .with_context(|| format!("journal time {at:?}"))?
        .as_millisecond())
}

/// Calls per task from a journal: by endpoint, non-200 answers, and per-task sequences.
pub fn summarise(journal: &[JournalEntry], ids: &HashMap<String, usize>, n: usize, expected: &[&str]) -> CallSummary {
    let mut per_endpoint: BTreeMap<String, u64> = BTreeMap::new();
    let mut not_ok: BTreeMap<String, u64> = BTreeMap::new();
    let mut sequences: Vec<Vec<String>> = vec![Vec::new(); n];
    for entry in journal {
        *per_endpoint.entry(entry.endpoint.clone()).or_default() += 1;
        let name = match entry.code {
            Some(200) | None if entry.http_status == Some(200) => entry.endpoint.clone(),
            Some(code) => format!("{}:{code}", entry.endpoint),
            None => format!("{}:http{}", entry.endpoint, entry.http_status.unwrap_or_default()),
        };
        if name != entry.endpoint {
            *not_ok.entry(name.clone()).or_default() += 1;
        }
        if let Some(&i) = entry.task_id.as_ref().and_then(|id| ids.get(id)) {
            sequences[i].push(name);
        }
    }
    let expected_text = expected.join(",");
    let mut counts: HashMap<String, usize> = HashMap::new();
    for sequence in &sequences {
        *counts.entry(sequence.join(",")).or_default() += 1;
    }
    let tasks_exact = counts.get(&expected_text).copied().unwrap_or_default();
    let mut sequences: Vec<(String, usize)> = counts.into_iter().collect();
    sequences.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    sequences.truncate(8);
    CallSummary {
        total: journal.len() as u64,
        per_task: per_endpoint
            .into_iter()
            .map(|(endpoint, count)| (endpoint, count as f64 / n as f64))
            .collect(),
        not_ok,
        expected: expected_text,
        tasks_exact,
        sequences,
    }
}
