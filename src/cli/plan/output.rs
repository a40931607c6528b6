//! What `plan` prints: per task, the planner's own rendering (`Plan::render`, the same plan the
//! operator acts on, with whole values), or as JSON; then a summary line.

use serde::Serialize;
use serde_json::Value;

use super::Fleet;

/// One task's plan, as `--output json` prints it.
#[derive(Serialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct TaskPlan {
    pub task: String,
    /// The remote task's id; `None`: it would be created.
    pub task_id: Option<String>,
    pub remote_state: Option<String>,
    /// The operator would call the platform (pause, update, resume or create).
    pub changes: bool,
    /// The task differs from its spec, but the operator would write nothing (`mode: Observe`).
    pub drifted: bool,
    /// Every difference, values whole (JSON values, as compared).
    pub differences: Vec<Difference>,
    pub actions: Vec<&'static str>,
    pub verdict: String,
    /// The task could not be planned, or the operator could not act on it (a blocked verdict).
    pub error: Option<String>,
    /// The planner's rendering (text output).
    #[serde(skip)]
    pub rendered: String,
}

/// One field that differs: what the platform has, what the spec wants.
#[derive(Serialize, Debug)]
pub struct Difference {
    pub field: String,
    pub observed: Value,
    pub desired: Value,
}

pub fn print_text(plans: &[TaskPlan], fleet: &Fleet) {
    for plan in plans {
        let id = plan.task_id.as_deref().unwrap_or("to be created");
        println!("OutboundTask {} (task {id})", plan.task);
        for line in plan.rendered.lines() {
            println!("  {line}");
        }
        if let Some(error) = &plan.error {
            println!("  error: {error}");
        }
        println!();
    }
    println!("{}", summary(plans));
    for line in fleet.lines() {
        println!("{line}");
    }
}

/// A table a reviewer reads in a minute (one row per task), the fleet summary, and each task's
/// differences folded away.
pub fn print_markdown(plans: &[TaskPlan], fleet: &Fleet) {
    print!("{}", markdown(plans, fleet));
}

pub fn markdown(plans: &[TaskPlan], fleet: &Fleet) -> String {
    let cell = |text: &str| text.replace('|', "\\|").replace('\n', " ");
    let mut out = format!("### outbound plan: {}\n\n", summary(plans));
    out.push_str("| Task | Task id | Remote | Changes | Actions | Verdict |\n|---|---|---|---|---|---|\n");
    for plan in plans {
        let actions = if plan.actions.is_empty() {
            "none".to_string()
        } else {
            plan.actions.join(", ")
        };
        let verdict = plan
            .error
            .as_deref()
            .map_or(plan.verdict.clone(), |e| format!("**error**: {e}"));
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            plan.task,
            plan.task_id
                .as_deref()
                .map_or("to be created".into(), |id| format!("`{id}`")),
            plan.remote_state.as_deref().unwrap_or("-"),
            plan.differences.len(),
            actions,
            cell(&verdict)
        ));
    }
    out.push_str("\n**Fleet**\n\n");
    for line in fleet.lines() {
        out.push_str(&format!("- {line}\n"));
    }
    let changed: Vec<&TaskPlan> = plans.iter().filter(|p| !p.differences.is_empty()).collect();
    if !changed.is_empty() {
        out.push_str("\n<details><summary>Differences (observed -> desired)</summary>\n\n");
        for plan in changed {
            out.push_str(&format!("`{}`\n\n```diff\n", plan.task));
            for d in &plan.differences {
                out.push_str(&format!("~ {}: {} -> {}\n", d.field, d.observed, d.desired));
            }
            out.push_str("```\n\n");
        }
        out.push_str("</details>\n");
    }
    out
}

pub fn print_json(plans: &[TaskPlan]) {
    println!("{}", serde_json::to_string_pretty(plans).expect("plans serialise"));
}

/// `5 task(s): 2 to change, 1 drifted (Observe), 1 with errors`.
pub fn summary(plans: &[TaskPlan]) -> String {
    let count = |f: fn(&TaskPlan) -> bool| plans.iter().filter(|p| f(p)).count();
    format!(
        "{} task(s): {} to change, {} drifted (Observe), {} with errors",
        plans.len(),
        count(|p| p.changes),
        count(|p| p.drifted),
        count(|p| p.error.is_some())
    )
}
