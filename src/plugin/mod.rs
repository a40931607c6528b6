//! `kubectl outbound`: import the campaigns a team already runs, and operate them from kubectl
//! (status, reconcile, suspend/resume, plan). Flags follow kubectl's (`--kubeconfig`,
//! `--context`, `-n`, `-A`); exit codes are in [`EXIT_CODES`] and docs/reference/plugin.md.

pub mod cluster;
pub mod import;
pub mod plan;
pub mod reconcile;
pub mod status;
pub mod suspend;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use cluster::ClusterArgs;

/// The exit codes, for `--help` (docs/reference/plugin.md has the same table).
pub const EXIT_CODES: &str = "\
Exit status:
  0  done (import: every task imported; reconcile --wait: Ready; plan: nothing would change)
  1  an error: a usage error, the cluster or the platform unreachable, an object not found,
     reconcile --wait: the object Stalled, failed or the timeout passed
  2  plan: the operator would change something
  3  import: some tasks could not be imported (listed on stderr); the others were written";

#[derive(Parser, Debug)]
#[command(
    name = "kubectl-outbound",
    bin_name = "kubectl outbound",
    version,
    about = "Import and operate outbound-calling campaigns (OutboundTasks) from kubectl",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write one OutboundTask per remote task of an account, exactly as it runs now.
    Import(import::ImportArgs),
    /// One line per OutboundTask and a summary per account.
    Status(status::StatusArgs),
    /// Ask the operator to reconcile a task now, and optionally wait for the outcome.
    Reconcile(reconcile::ReconcileArgs),
    /// Stop reconciling tasks (spec.suspend: true).
    Suspend(suspend::SuspendArgs),
    /// Reconcile suspended tasks again (spec.suspend: false).
    Resume(suspend::SuspendArgs),
    /// What the operator would change for the given manifests (with --cluster: as the cluster
    /// stands), without writing; exit 0 nothing, 2 changes, 1 errors.
    Plan(plan::PlanCommandArgs),
}

/// Parses the command line, runs the command, and returns its exit code.
pub fn main() -> ExitCode {
    let cli = match crate::cli::parse_args::<Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    // Warnings only, on stderr: stdout holds what the command prints (YAML, JSON, tables).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_env_filter(filter)
        .try_init();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let code = runtime.block_on(run(cli));
    ExitCode::from(code)
}

async fn run(cli: Cli) -> u8 {
    outbound_platform::install_crypto_provider();
    let result = match cli.command {
        Command::Import(args) => import::run(&cli.cluster, args).await,
        Command::Status(args) => status::run(&cli.cluster, args).await,
        Command::Reconcile(args) => reconcile::run(&cli.cluster, args).await,
        Command::Suspend(args) => suspend::run(&cli.cluster, args, true).await,
        Command::Resume(args) => suspend::run(&cli.cluster, args, false).await,
        Command::Plan(args) => plan::run(&cli.cluster, args).await,
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            1
        }
    }
}
