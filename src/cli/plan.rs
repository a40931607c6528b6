//! `outbound-operator plan -f FILE...`: what the operator would do to each task, without writing
//! and without a cluster. Exit code 0: nothing would change; 2: something would; 1: errors (like
//! `terraform plan -detailed-exitcode`), so a pipeline can gate a merge on it.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use kube::ResourceExt;
use serde::Serialize;

use super::manifests::Manifests;
use crate::controller::reconcile::remote;
use outbound_api::{OutboundAccount, OutboundTask};
use outbound_core::planner::{self, PlanInput, PlanOptions, Verdict};
use outbound_platform::{AccountKey, ClientPool, RemoteMetrics, Token};

#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    /// Manifest files or directories (multi-document YAML or JSON) holding OutboundTasks and the
    /// OutboundAccounts they name.
    #[arg(short = 'f', long = "filename", required = true)]
    pub files: Vec<PathBuf>,
    /// File holding the platform token (else OUTBOUND_TOKEN).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// The token itself (`Token`, so that `Debug` prints `***`).
    #[arg(long, env = "OUTBOUND_TOKEN", hide_env_values = true, hide = true, value_parser = parse_token)]
    pub token: Option<Token>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Text,
    Json,
}

/// One task's plan, as `--output json` prints it.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct TaskPlan {
    pub task: String,
    /// The remote task's id; `None`: it would be created.
    pub task_id: Option<String>,
    pub remote_state: Option<String>,
    pub changes: bool,
    pub differences: Vec<outbound_api::DriftEntry>,
    pub actions: Vec<&'static str>,
    pub verdict: String,
    pub error: Option<String>,
}

pub async fn run(args: PlanArgs) -> u8 {
    match plan_all(&args).await {
        Ok(plans) => {
            match args.output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&plans).expect("plans serialise")),
                Output::Text => print_text(&plans),
            }
            if plans.iter().any(|p| p.error.is_some()) {
                1
            } else if plans.iter().any(|p| p.changes) {
                2
            } else {
                0
            }
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            1
        }
    }
}

async fn plan_all(args: &PlanArgs) -> anyhow::Result<Vec<TaskPlan>> {
    let manifests = Manifests::read(&args.files)?;
    anyhow::ensure!(!manifests.tasks.is_empty(), "no OutboundTask in the given manifests");
    let token = read_token(args)?;
    outbound_platform::install_crypto_provider();
    let pool = ClientPool::new(Arc::new(RemoteMetrics::new())).context("building the HTTP client")?;
    let mut plans = Vec::new();
    for task in &manifests.tasks {
        let account = manifests.account_of(task)?;
        plans.push(plan_one(&pool, account, task, &token).await);
    }
    Ok(plans)
}

fn read_token(args: &PlanArgs) -> anyhow::Result<Token> {
    let text = match (&args.token_file, &args.token) {
        (Some(path), _) => {
            std::fs::read_to_string(path).with_context(|| format!("reading --token-file {}", path.display()))?
        }
        (None, Some(token)) => token.expose().to_owned(),
        (None, None) => anyhow::bail!("no token: pass --token-file FILE or set OUTBOUND_TOKEN"),
    };
    let text = text.trim();
    anyhow::ensure!(!text.is_empty(), "the token is empty");
    Ok(Token::new(text.to_string()))
}

fn parse_token(text: &str) -> Result<Token, std::convert::Infallible> {
    Ok(Token::new(text))
}

async fn plan_one(pool: &ClientPool, account: &OutboundAccount, task: &OutboundTask, token: &Token) -> TaskPlan {
    let name = format!("{}/{}", task.namespace().unwrap_or_default(), task.name_any());
    let mut out = TaskPlan {
        task: name,
        task_id: task.remote_id().map(str::to_owned),
        remote_state: None,
        changes: false,
        differences: Vec::new(),
        actions: Vec::new(),
        verdict: String::new(),
        error: None,
    };
    let status = task.status.clone().unwrap_or_default();
    if task.remote_id().is_none() {
        // Never created from here: `plan` only reads.
        return planned_create(out, task);
    }
    let observed = if planner::needs_remote_read(&task.spec, &status) {
        let key = AccountKey::new(account.namespace().unwrap_or_default(), account.name_any());
        let read = match remote::remote_for(pool, key, &account.spec, token.clone()) {
            Ok(remote) => remote::read(&remote, task).await.map_err(|error| error.to_string()),
            Err(failure) => Err(failure.to_string()),
        };
        match read {
            Ok(observed) => Some(observed),
            Err(error) => {
                out.error = Some(error);
                return out;
            }
        }
    } else {
        None
    };
    let input = PlanInput {
        spec: &task.spec,
        generation: task.metadata.generation.unwrap_or(1),
        observed,
        status: &status,
        requested_at: None,
        options: PlanOptions::new(jiff::Timestamp::now()),
    };
    let plan = planner::plan(&input);
    out.remote_state = plan.remote_state.map(|s| format!("{s:?}"));
    out.differences = plan.differences.iter().map(|d| d.to_drift_entry()).collect();
    out.differences.extend(plan.run_state_drift(plan.remote_state));
    out.actions = plan.actions.iter().map(|a| a.kind().name()).collect();
    out.changes = !out.differences.is_empty() || !out.actions.is_empty();
    out.verdict = match &plan.verdict {
        Verdict::Blocked(failure) => format!("blocked: {failure}"),
        other => format!("{other:?}"),
    };
    out
}

/// The plan of a task without an id: create it (or nothing, when suspended or observed).
fn planned_create(mut out: TaskPlan, task: &OutboundTask) -> TaskPlan {
    if task.spec.suspend {
        out.verdict = "Suspended".into();
    } else if task.spec.mode == outbound_api::Mode::Observe {
        out.verdict = format!("blocked: {}", planner::Failure::NoTaskToObserve);
    } else {
        out.actions = vec!["create"];
        out.changes = true;
        out.verdict = format!(
            "Create (a new remote task named {:?}; spec.taskId is unset)",
            task.spec.task.name
        );
    }
    out
}

fn print_text(plans: &[TaskPlan]) {
    for plan in plans {
        let id = plan.task_id.as_deref().unwrap_or("to be created");
        println!("OutboundTask {} (task {id})", plan.task);
        if let Some(error) = &plan.error {
            println!("  error: {error}\n");
            continue;
        }
        println!("  remote state: {}", plan.remote_state.as_deref().unwrap_or("not read"));
        for d in &plan.differences {
            println!("  ~ {}: {} -> {}", d.field, d.observed, d.desired);
        }
        let actions = if plan.actions.is_empty() {
            "none".to_string()
        } else {
            plan.actions.join(", ")
        };
        println!("  actions: {actions}");
        println!("  verdict: {}\n", plan.verdict);
    }
    let changing = plans.iter().filter(|p| p.changes).count();
    let failed = plans.iter().filter(|p| p.error.is_some()).count();
    println!("{} task(s): {changing} to change, {failed} with errors", plans.len());
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        plan: PlanArgs,
    }

    #[test]
    fn debug_output_of_the_arguments_never_shows_the_token() {
        let cli = Cli::try_parse_from(["plan", "-f", "x.yaml", "--token", "tok-plan-secret-1"]).unwrap();
        assert!(!format!("{cli:?}").contains("tok-plan-secret"), "{cli:?}");
        assert_eq!(read_token(&cli.plan).unwrap().expose(), "tok-plan-secret-1");
    }
}
