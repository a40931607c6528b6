//! Command-line features other than the controller: `plan` and `version`.

pub mod manifests;
pub mod plan;
pub mod version;

/// The `-o/--output` format of `version` and `kubectl outbound status` (`plan` has its own, with markdown).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Text,
    Json,
}

/// Parses the command line as `C`. A usage error exits 1, not clap's 2: 2 means "changes" to a
/// pipeline gating on `plan`, and a broken invocation must fail. Help and `--version` exit 0.
pub fn parse_args<C: clap::Parser>() -> Result<C, std::process::ExitCode> {
    C::try_parse().map_err(|error| {
        let _ = error.print();
        match error.use_stderr() {
            true => std::process::ExitCode::FAILURE,
            false => std::process::ExitCode::SUCCESS,
        }
    })
}
