//! The chaos run's journal, analysed: pause windows per task (effective pause → effective
//! resume), which campaigns the killed instances left paused, and which tasks the last instance
//! reached.

use std::collections::HashMap;

use outbound_sim::JournalEntry;
use serde::Serialize;

use crate::calls::millis;

/// One campaign stood paused from `start` to `end` (ms since the epoch); `end` is `None` when
/// it was still paused at the end of the journal.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: i64,
    end: Option<i64>,
}

/// A call that took effect on the platform: answered 200 with the success code, or answered
/// 200 with a cut body (`malformed`: the effect happened, the answer was lost).
fn took_effect(entry: &JournalEntry) -> bool {
    entry.http_status == Some(200) && (entry.code == Some(200) || entry.fault.as_deref() == Some("malformed"))
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PauseWindows {
    /// Closed windows (paused, then resumed).
    pub count: usize,
    pub p50_s: f64,
    pub p95_s: f64,
    pub p99_s: f64,
    /// The longest window, closed or still open at the end (then counted up to the end).
    pub max_s: f64,
    /// Campaigns still paused when the run ended.
    pub open_at_end: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Restart {
    /// Campaigns paused by an earlier (killed) instance and not resumed when the last one started.
    pub left_paused: usize,
    /// From the last start until the last of those ran again; `None` if one never did.
    pub all_resumed_s: Option<f64>,
    /// Those still paused at the end.
    pub never_resumed: usize,
    /// From the last start until the last instance had called the platform for every task.
    pub all_touched_s: Option<f64>,
    /// Tasks the last instance never called the platform for (no read, no write).
    pub never_reconciled: usize,
}

/// Pause windows per task from the journal (entries of the run only, in arrival order).
fn windows(journal: &[JournalEntry], ids: &HashMap<String, usize>) -> anyhow::Result<Vec<Vec<Window>>> {
    let mut per_task: Vec<Vec<Window>> = vec![Vec::new(); ids.len()];
    for entry in journal.iter().filter(|e| took_effect(e)) {
        let Some(&i) = entry.task_id.as_ref().and_then(|id| ids.get(id)) else {
            continue;
        };
        let at = millis(&entry.at)?;
        let open = per_task[i].last().is_some_and(|w| w.end.is_none());
        match entry.endpoint.as_str() {
            "pause" if !open => per_task[i].push(Window { start: at, end: None }),
            "resume" if open => per_task[i].last_mut().expect("open window").end = Some(at),
            _ => {}
        }
    }
    Ok(per_task)
}

/// The pause-window distribution and what the last instance (started at `restart_ms`) did.
pub fn analyse(
    journal: &[JournalEntry],
    ids: &HashMap<String, usize>,
    restart_ms: i64,
    end_ms: i64,
) -> anyhow::Result<(PauseWindows, Restart)> {
    let per_task = windows(journal, ids)?;
    let mut closed: Vec<f64> = per_task
        .iter()
        .flatten()
        .filter_map(|w| w.end.map(|end| (end - w.start) as f64 / 1000.0))
        .collect();
    closed.sort_by(f64::total_cmp);
    let open: Vec<f64> = per_task
        .iter()
        .flatten()
        .filter(|w| w.end.is_none())
        .map(|w| (end_ms - w.start) as f64 / 1000.0)
        .collect();
    let pick = |q: f64| {
        closed
            .get(((closed.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    let pauses = PauseWindows {
        count: closed.len(),
        p50_s: pick(0.5),
        p95_s: pick(0.95),
        p99_s: pick(0.99),
        max_s: closed.iter().chain(&open).copied().fold(0.0, f64::max),
        open_at_end: open.len(),
    };

    // Left paused at the restart: a window opened before it and not closed before it.
    let left: Vec<Option<i64>> = per_task
        .iter()
        .flatten()
        .filter(|w| w.start < restart_ms && w.end.is_none_or(|end| end >= restart_ms))
        .map(|w| w.end)
        .collect();
    let never_resumed = left.iter().filter(|end| end.is_none()).count();
    let all_resumed_s = (never_resumed == 0).then(|| {
        left.iter()
            .flatten()
            .map(|end| (end - restart_ms) as f64 / 1000.0)
            .fold(0.0, f64::max)
    });

    let mut first_touch: Vec<Option<i64>> = vec![None; ids.len()];
    for entry in journal {
        let Some(&i) = entry.task_id.as_ref().and_then(|id| ids.get(id)) else {
            continue;
        };
        let at = millis(&entry.at)?;
        if at >= restart_ms && first_touch[i].is_none() {
            first_touch[i] = Some(at);
        }
    }
    let never_reconciled = first_touch.iter().filter(|t| t.is_none()).count();
    let all_touched_s = (never_reconciled == 0).then(|| {
        first_touch
            .iter()
            .flatten()
            .map(|at| (at - restart_ms) as f64 / 1000.0)
            .fold(0.0, f64::max)
    });
    let restart = Restart {
        left_paused: left.len(),
        all_resumed_s,
        never_resumed,
        all_touched_s,
        never_reconciled,
    };
    Ok((pauses, restart))
}
