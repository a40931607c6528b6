//! `outbound-operator plan -f FILE...`: what the operator would do to each task, without writing
//! and without a cluster, as a gate for pipelines (see [`EXIT_CODES`]). `plan` only gathers the
//! inputs (manifests checked as the API server checks them, the remote task as read); the planner
//! of `outbound_core` decides, as it does for the operator, so `plan` and a reconcile (Enforce or
//! Observe) agree.

mod fleet;
mod output;
mod tokens;

use std::path::PathBuf;
use std::sync::Arc;

use kube::ResourceExt;

use super::manifests::Manifests;
use crate::controller::reconcile::remote;
pub use fleet::{Fleet, Removed};
use outbound_api::{OutboundAccount, OutboundTask};
use outbound_core::planner::{self, PlanInput, PlanOptions, Verdict};
use outbound_platform::{AccountKey, ClientPool, RemoteMetrics, Token};
pub use output::TaskPlan;
use output::{Difference, print_json, print_markdown, print_text};
pub use tokens::{AccountTokenFile, Tokens};

/// The exit codes, for `plan --help` (docs/reference/flags.md has the same table).
pub const EXIT_CODES: &str = "\
Exit status:
  0  nothing would change (drift of `mode: Observe` tasks is reported, not counted)
  2  the operator would change something (pause, update, resume or create)
  1  anything went wrong: a usage error, unreadable input, a manifest the API server would
     reject, a missing account or token, a platform error, a task the operator could not act on";

#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    /// Manifest files or directories (read recursively; multi-document YAML or JSON, `kind: List`
    /// included) holding OutboundTasks and the OutboundAccounts they name; `-` reads standard
    /// input.
    #[arg(short = 'f', long = "filename", required = true)]
    pub files: Vec<PathBuf>,
    /// File holding the platform token of every account without its own --account-token-file
    /// (else OUTBOUND_TOKEN).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// File holding the token of one account, as [NAMESPACE/]NAME=PATH (repeatable).
    #[arg(long, value_name = "[NAMESPACE/]NAME=PATH")]
    pub account_token_file: Vec<AccountTokenFile>,
    /// The token itself (`Token`, so that `Debug` prints `***`).
    #[arg(long, env = "OUTBOUND_TOKEN", hide_env_values = true, hide = true, value_parser = parse_token)]
    pub token: Option<Token>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
/// The `-o/--output` format of `plan` (`version`'s has no markdown: [`crate::cli::Output`]).
pub enum Output {
    Text,
    Json,
    /// A table and a fleet summary for a pull-request comment.
    Markdown,
}

/// Plans every task, prints the plans, and returns the exit code ([`EXIT_CODES`]).
pub async fn run(args: PlanArgs) -> u8 {
    let Some(manifests) = read(&args.files, "default") else {
        return 1;
    };
    let tokens = Tokens::new(
        args.account_token_file.clone(),
        args.token_file.clone(),
        args.token.clone(),
    );
    plan_and_print(args.output, &manifests, tokens, Vec::new()).await
}

/// The manifests of `files` (objects without a namespace in `namespace`), their errors printed;
/// `None` when nothing can be planned.
pub fn read(files: &[PathBuf], namespace: &str) -> Option<Manifests> {
    let manifests = match Manifests::read_in(files, namespace) {
        Ok(manifests) => manifests,
        Err(error) => {
            eprintln!("error: {error:#}");
            return None;
        }
    };
    for error in &manifests.errors {
        eprintln!("error: {error}");
    }
    if let Some(skipped) = manifests.skipped.summary() {
        eprintln!("{skipped}");
    }
    if manifests.tasks.is_empty() && manifests.errors.is_empty() {
        eprintln!("error: no OutboundTask in the given manifests");
        return None;
    }
    Some(manifests)
}

/// Plans every task of `manifests`, prints the plans and the fleet summary (with the objects the
/// files no longer hold, `removed`), and returns the exit code.
pub async fn plan_and_print(output: Output, manifests: &Manifests, tokens: Tokens, removed: Vec<Removed>) -> u8 {
    let plans = match plan_all(manifests, tokens).await {
        Ok(plans) => plans,
        Err(error) => {
            eprintln!("error: {error:#}");
            return 1;
        }
    };
    let fleet = Fleet::new(manifests, &plans, removed);
    match output {
        Output::Json => print_json(&plans),
        Output::Text => print_text(&plans, &fleet),
        Output::Markdown => print_markdown(&plans, &fleet),
    }
    exit_code(!manifests.errors.is_empty(), &plans)
}

fn exit_code(input_errors: bool, plans: &[TaskPlan]) -> u8 {
    if input_errors || plans.iter().any(|p| p.error.is_some()) {
        1
    } else if plans.iter().any(|p| p.changes) {
        2
    } else {
        0
    }
}

async fn plan_all(manifests: &Manifests, mut tokens: Tokens) -> anyhow::Result<Vec<TaskPlan>> {
    outbound_platform::install_crypto_provider();
    let pool = ClientPool::new(Arc::new(RemoteMetrics::new()))
        .map_err(|e| anyhow::anyhow!("building the HTTP client: {e}"))?;
    let mut plans = Vec::new();
    for task in &manifests.tasks {
        let mut out = TaskPlan {
            task: format!("{}/{}", task.namespace().unwrap_or_default(), task.name_any()),
            task_id: task.remote_id().map(str::to_owned),
            ..TaskPlan::default()
        };
        // A missing account or token is this task's error; the other tasks are still planned.
        let plan = match manifests.account_of(task) {
            Err(error) => {
                out.error = Some(format!("{error:#}"));
                out
            }
            Ok(account) => plan_one(&pool, account, task, &mut tokens, out).await,
        };
        plans.push(plan);
    }
    Ok(plans)
}

fn parse_token(text: &str) -> Result<Token, std::convert::Infallible> {
    Ok(Token::new(text))
}

async fn plan_one(
    pool: &ClientPool,
    account: &OutboundAccount,
    task: &OutboundTask,
    tokens: &mut Tokens,
    mut out: TaskPlan,
) -> TaskPlan {
    let status = task.status.clone().unwrap_or_default();
    if task.remote_id().is_none() {
        // Never created from here: `plan` only reads.
        return planned_create(out, task);
    }
    let observed = if planner::needs_remote_read(&task.spec, &status) {
        let read = match tokens.for_account(account) {
            Err(error) => Err(error),
            Ok(token) => {
                let key = AccountKey::new(account.namespace().unwrap_or_default(), account.name_any());
                match remote::remote_for(pool, key, &account.spec, token) {
                    Ok(remote) => remote::read(&remote, task).await.map_err(|error| error.to_string()),
                    Err(failure) => Err(failure.to_string()),
                }
            }
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
    out.rendered = plan.render();
    out.remote_state = plan.remote_state.map(|s| format!("{s:?}"));
    out.differences = plan
        .run_state_drift(plan.remote_state)
        .into_iter()
        .map(|d| Difference {
            field: d.field,
            observed: d.observed.into(),
            desired: d.desired.into(),
        })
        .chain(plan.differences.iter().map(|d| Difference {
            field: d.path().to_string(),
            observed: d.observed.clone(),
            desired: d.desired.clone(),
        }))
        .collect();
    out.actions = plan.actions.iter().map(|a| a.kind().name()).collect();
    out.changes = plan.writes();
    out.drifted = plan.verdict == Verdict::Drifted;
    out.verdict = match &plan.verdict {
        Verdict::Blocked(failure) => {
            out.error = Some(format!("the operator would not act on this task: {failure}"));
            format!("blocked: {failure}")
        }
        other => format!("{other:?}"),
    };
    out
}

/// The plan of a task without an id: create it (or nothing, when suspended or observed).
fn planned_create(mut out: TaskPlan, task: &OutboundTask) -> TaskPlan {
    if task.spec.suspend {
        out.verdict = "Suspended".into();
    } else if task.spec.mode == outbound_api::Mode::Observe {
        let failure = planner::Failure::NoTaskToObserve;
        out.verdict = format!("blocked: {failure}");
        out.error = Some(format!("the operator would not act on this task: {failure}"));
    } else {
        out.actions = vec!["create"];
        out.changes = true;
        out.verdict = format!(
            "Create (a new remote task named {:?}; spec.taskId is unset)",
            task.spec.task.name
        );
    }
    let actions = if out.actions.is_empty() {
        "none".to_string()
    } else {
        out.actions.join(", ")
    };
    out.rendered = format!("actions: {actions}\nverdict: {}\n", out.verdict);
    out
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
        let mut tokens = Tokens::new(Vec::new(), None, cli.plan.token.clone());
        let account: OutboundAccount =
            serde_yaml::from_str(include_str!("../../../manifests/examples/simulator/account.yaml")).unwrap();
        assert_eq!(tokens.for_account(&account).unwrap().expose(), "tok-plan-secret-1");
    }

    #[test]
    fn exit_codes_errors_first_then_changes() {
        let plan = |changes, drifted, error: Option<&str>| TaskPlan {
            changes,
            drifted,
            error: error.map(str::to_owned),
            ..TaskPlan::default()
        };
        assert_eq!(exit_code(false, &[plan(false, true, None)]), 0, "drift alone");
        assert_eq!(exit_code(false, &[plan(true, false, None), plan(false, true, None)]), 2);
        assert_eq!(
            exit_code(false, &[plan(true, false, None), plan(false, false, Some("x"))]),
            1
        );
        assert_eq!(exit_code(true, &[plan(true, false, None)]), 1, "input errors");
    }
}
