//! Command-line features other than the controller: `plan` and `version`.

pub mod manifests;
pub mod plan;
pub mod version;

/// The `-o/--output` format of `plan` and `version`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Text,
    Json,
}
