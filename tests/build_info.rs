//! `outbound-operator --version` and `version -o json` name the build: the workspace version, the
//! commit checked out when it was built (cargo reruns the build script when HEAD moves, so a
//! commit without a source change still shows) and the profile. `make image` tags and labels the
//! image from these values.

use std::process::Command;

/// The profile the tests (and so the binary under test) were built with; `make image` checks
/// "release" in the image.
const PROFILE: &str = if cfg!(debug_assertions) { "debug" } else { "release" };

fn operator(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_outbound-operator"))
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// The commit of this checkout, as `git` sees it now.
fn head() -> String {
    let output = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("git is needed to check the revision the binary reports");
    assert!(output.status.success(), "git rev-parse HEAD: {output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

#[test]
fn version_json_names_the_workspace_version_the_commit_and_the_profile() {
    let json: serde_json::Value = serde_json::from_str(&operator(&["version", "-o", "json"])).unwrap();
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"), "{json}");
    assert_eq!(json["gitRevision"], head(), "{json}");
    assert_eq!(json["buildProfile"], PROFILE, "{json}");
    assert_eq!(json.as_object().unwrap().len(), 3, "{json}");
}

#[test]
fn dash_dash_version_is_one_line_with_the_same_values() {
    let line = operator(&["--version"]);
    let expected = format!(
        "outbound-operator {} (git {}, {PROFILE})\n",
        env!("CARGO_PKG_VERSION"),
        head()
    );
    assert_eq!(line, expected);
    let text = operator(&["version"]);
    assert!(
        text.starts_with(&format!("outbound-operator {}\n", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(text.contains(&format!("git revision: {}\n", head())), "{text}");
}
