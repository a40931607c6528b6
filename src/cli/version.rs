//! `outbound-operator version` and `--version`: what was built, from which commit, with which
//! profile. The values come from the build script (build.rs), so a binary always reports the
//! build it is; `make image` reads the image's tag and labels from here too.

use std::sync::OnceLock;

use serde::Serialize;

use super::Output;

/// One line for `--version`, after the binary's name: `0.2.0 (git 0123abc..., release)`.
pub fn version_line() -> &'static str {
    static LINE: OnceLock<String> = OnceLock::new();
    LINE.get_or_init(|| {
        let info = BuildInfo::current();
        format!("{} (git {}, {})", info.version, info.git_revision, info.build_profile)
    })
}

#[derive(clap::Args, Debug)]
pub struct VersionArgs {
    /// Output format (json: one object with version, gitRevision and buildProfile).
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// What this binary is.
#[derive(Serialize, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    /// The workspace version (Cargo.toml), as in the image tag and the chart's appVersion.
    pub version: &'static str,
    /// The full commit id checked out at build time, or "unknown" when built outside git.
    pub git_revision: &'static str,
    /// The cargo profile: "release" for `make image`, "debug" for a `cargo build`.
    pub build_profile: &'static str,
}

impl BuildInfo {
    pub fn current() -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION"),
            git_revision: env!("OUTBOUND_GIT_REVISION"),
            build_profile: env!("OUTBOUND_BUILD_PROFILE"),
        }
    }
}

pub fn run(args: &VersionArgs) {
    let info = BuildInfo::current();
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&info).expect("BuildInfo serializes")),
        Output::Text => println!(
            "outbound-operator {}\ngit revision: {}\nbuild profile: {}",
            info.version, info.git_revision, info.build_profile
        ),
    }
}
