//! Build information for `outbound-operator version` (src/cli/version.rs): the git commit checked
//! out, from vergen, which reruns this script when HEAD moves (a commit, a checkout), and the
//! cargo profile.

use vergen_gitcl::{Emitter, GitclBuilder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Without git or .git (a source tarball), vergen emits a placeholder and a warning instead.
    let git = GitclBuilder::default().sha(false).build()?;
    Emitter::default().add_instructions(&git)?.emit()?;
    // "release" or "debug": the profile a custom one (bench) inherits from.
    println!("cargo:rustc-env=OUTBOUND_BUILD_PROFILE={}", std::env::var("PROFILE")?);
    Ok(())
}
