//! Build information for `outbound-operator version` (src/cli/version.rs): the commit checked out
//! and the cargo profile.
//!
//! Written out rather than with vergen: vergen-gitcl 1.x watches `<git-dir>/<branch ref>`, a file
//! a git worktree does not have, so a commit left the reported revision stale (tests/version.rs).
//! `git rev-parse --git-path` names the files that move HEAD wherever they live.

use std::path::Path;
use std::process::Command;

/// A git command's trimmed output; None without git, outside a checkout, or on failure.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    output.status.success().then(|| text.trim().to_string())
}

fn main() {
    // A source tarball without .git builds as "unknown".
    let revision = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=OUTBOUND_GIT_REVISION={revision}");
    // What moves HEAD: HEAD itself (a checkout, a detached commit), the branch's ref (a commit),
    // packed-refs (the branch's ref after `git gc`).
    let mut moving = vec!["HEAD".to_string(), "packed-refs".to_string()];
    moving.extend(git(&["symbolic-ref", "-q", "HEAD"]));
    for name in moving {
        if let Some(path) = git(&["rev-parse", "--git-path", &name]).filter(|p| Path::new(p).exists()) {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
    // "release" or "debug": the profile a custom one (bench) inherits from.
    let profile = std::env::var("PROFILE").expect("cargo sets PROFILE for build scripts");
    println!("cargo:rustc-env=OUTBOUND_BUILD_PROFILE={profile}");
}
