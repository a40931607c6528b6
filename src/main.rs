//! `outbound-operator`: the controller (`run`), the CRD generator (`crd`) and the pipeline gate
//! (`plan`).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "outbound-operator", version, about = "Keeps outbound-calling tasks in the state declared in Kubernetes")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the CustomResourceDefinitions as YAML (what `crds/` holds).
    Crd,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Crd => {
            print!("{}", outbound_operator::api::crds_yaml());
            ExitCode::SUCCESS
        }
    }
}
