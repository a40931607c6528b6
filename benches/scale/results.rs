//! Results: what the bench writes to `target/bench/results.json`, and what report.rs renders as
//! tables. Each run's result type lives with the run that produces it; this file only gathers
//! them, so only main.rs and report.rs use it (a run that used it would close an import cycle
//! through the other runs' types).

use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use crate::args::Args;
use crate::budget::BudgetResult;
use crate::chaos::ChaosResult;
use crate::head_of_line::HeadOfLineResult;
use crate::machine::Machine;
use crate::memory::MemoryResult;
use crate::pause_budget::PauseBudgetResult;
use crate::phases::RunResult;

#[derive(Debug, Serialize)]
pub struct Results {
    pub started_at: String,
    pub finished_at: String,
    pub command: String,
    pub args: Args,
    pub machine: Machine,
    pub runs: Vec<RunResult>,
    pub budget: Vec<BudgetResult>,
    pub pause_budget: Vec<PauseBudgetResult>,
    pub chaos: Vec<ChaosResult>,
    pub memory: Vec<MemoryResult>,
    pub head_of_line: Vec<HeadOfLineResult>,
}

pub fn write_results(path: &Path, results: &mut Results) -> anyhow::Result<()> {
    results.finished_at = format!("{:.0}", jiff::Timestamp::now());
    let text = serde_json::to_string_pretty(results)?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
