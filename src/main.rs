//! `outbound-operator`: the controller (`run`), the CRD generator (`crd`), the pipeline gate
//! (`plan`) and what was built (`version`, `--version`).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use outbound_operator::{controller, malloc_tuning, telemetry};

#[derive(Parser)]
#[command(
    name = "outbound-operator",
    version = outbound_operator::cli::version::version_line(),
    about = "Keeps outbound-calling tasks in the state declared in Kubernetes"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the controller against the cluster in KUBECONFIG (or in-cluster).
    // A flag given twice takes its last value, so that the Helm chart's `extraArgs` can override a
    // flag the chart already sets (`--concurrency=8 ... --concurrency=16`) instead of crash-looping.
    #[command(args_override_self = true)]
    Run(controller::RunArgs),
    /// Print the CustomResourceDefinitions as YAML (what `crds/` holds).
    Crd {
        /// Print the API reference in Markdown instead (what docs/reference/api.md holds).
        #[arg(long)]
        reference: bool,
    },
    /// Show what the operator would change on the platform for the given manifests, without
    /// writing. Exit code 0: nothing to change; 2: changes; 1: errors.
    ///
    /// Each task costs one read, drawn on one budget per platform user (base URL and user id):
    /// the tightest `rateLimit` of the given accounts that reach it. That budget is this
    /// process's own: a plan run beside the operator with the same token adds its reads to the
    /// platform's load on top of the operator's.
    #[command(after_help = outbound_operator::cli::plan::EXIT_CODES)]
    Plan(outbound_operator::cli::plan::PlanArgs),
    /// Print the version, the git revision and the build profile of this binary.
    Version(outbound_operator::cli::version::VersionArgs),
}

fn main() -> ExitCode {
    let cli = match outbound_operator::cli::parse_args::<Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match cli.command {
        Command::Crd { reference } => {
            if reference {
                print!("{}", outbound_api::reference::markdown());
            } else {
                print!("{}", outbound_api::crds_yaml());
            }
            ExitCode::SUCCESS
        }
        Command::Run(args) => {
            // Before the runtime's threads exist: the controller runs for days, and its large
            // allocations (the watches' initial lists) are short-lived.
            let tuned = malloc_tuning::tune();
            telemetry::init(args.log_format);
            tracing::debug!(?tuned, "allocator settings");
            let build = outbound_operator::cli::version::BuildInfo::current();
            tracing::info!(
                version = build.version,
                git_revision = build.git_revision,
                build_profile = build.build_profile,
                "starting outbound-operator"
            );
            let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
            match runtime.block_on(controller::run(args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    tracing::error!(error = %format!("{error:#}"), "controller stopped");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Plan(args) => {
            telemetry::init(telemetry::LogFormat::Text);
            let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
            let code = runtime.block_on(outbound_operator::cli::plan::run(args));
            ExitCode::from(code)
        }
        Command::Version(args) => {
            outbound_operator::cli::version::run(&args);
            ExitCode::SUCCESS
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_flag_given_twice_takes_its_last_value() {
        let cli = Cli::try_parse_from([
            "outbound-operator",
            "run",
            "--concurrency=8",
            "--max-backoff=5m",
            "--concurrency=16",
            "--max-backoff=1m",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let Command::Run(args) = cli.command else {
            panic!("not run")
        };
        assert_eq!(args.concurrency, 16);
        assert_eq!(args.max_backoff, std::time::Duration::from_secs(60));
    }
}
