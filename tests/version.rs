//! One version everywhere (`make version VERSION=x.y.z`, scripts/version.sh): the crates and
//! Cargo.lock, the chart's `version` and `appVersion` (the image tag it pulls), every reference to
//! the image, and a CHANGELOG.md section. The script is the one list of where the version is
//! written; these tests run it on this checkout and on a copy they change.

use std::path::Path;
use std::process::Command;

/// The image, without a tag (with one, scripts/version.sh would count this file as a reference).
const IMAGE: &str = "ghcr.io/outbound-operator/outbound-operator";

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs scripts/version.sh with `args` on the checkout at `root`: (success, stderr).
fn version_script(root: &Path, args: &[&str]) -> (bool, String) {
    let output = Command::new(repo_root().join("scripts/version.sh"))
        .args(args)
        .env("VERSION_ROOT", root)
        .output()
        .expect("scripts/version.sh runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A copy of the tracked files (as they are in the working tree), itself a git repository.
fn copy_of_checkout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let listed = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(repo_root())
        .output()
        .expect("git ls-files");
    assert!(listed.status.success(), "git ls-files failed");
    for file in listed.stdout.split(|b| *b == 0).filter(|name| !name.is_empty()) {
        let relative = Path::new(std::str::from_utf8(file).expect("UTF-8 path"));
        let (from, to) = (repo_root().join(relative), dir.path().join(relative));
        if !from.is_file() {
            continue; // deleted in the working tree
        }
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    }
    for args in [&["init", "-q"][..], &["add", "-A"]] {
        let status = Command::new("git").args(args).current_dir(dir.path()).status().unwrap();
        assert!(status.success(), "git {args:?} in the copy");
    }
    dir
}

fn read(root: &Path, file: &str) -> String {
    std::fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn replace_in(root: &Path, file: &str, from: &str, to: &str) {
    let text = read(root, file);
    assert!(text.contains(from), "{file} has no '{from}'");
    std::fs::write(root.join(file), text.replacen(from, to, 1)).unwrap();
}

#[test]
fn this_checkout_has_one_version_everywhere() {
    let (ok, stderr) = version_script(repo_root(), &["check"]);
    assert!(ok, "versions differ (run `make version VERSION=<x.y.z>`):\n{stderr}");
}

#[test]
fn make_version_writes_every_place_and_check_names_the_one_that_differs() {
    let copy = copy_of_checkout();
    let root = copy.path();
    let (ok, stderr) = version_script(root, &["set", "9.8.7"]);
    assert!(ok, "set 9.8.7:\n{stderr}");
    assert!(read(root, "Cargo.toml").contains("\nversion = \"9.8.7\"\n"));
    assert!(read(root, "Cargo.lock").contains("name = \"outbound-sim\"\nversion = \"9.8.7\""));
    let chart = read(root, "charts/outbound-operator/Chart.yaml");
    assert!(
        chart.contains("\nversion: 9.8.7\n") && chart.contains("\nappVersion: \"9.8.7\"\n"),
        "{chart}"
    );
    assert!(read(root, "manifests/deployment.yaml").contains(&format!("image: {IMAGE}:9.8.7\n")));
    assert!(read(root, "CHANGELOG.md").contains("\n## [9.8.7] - Unreleased\n"));

    // Each place on its own: changed alone, the check fails and names it.
    let cases = [
        (
            "charts/outbound-operator/Chart.yaml",
            "appVersion: \"9.8.7\"",
            "appVersion: \"9.8.6\"",
            "appVersion is '9.8.6'",
        ),
        (
            "charts/outbound-operator/Chart.yaml",
            "version: 9.8.7",
            "version: 9.9.0",
            "version is '9.9.0'",
        ),
        (
            "manifests/deployment.yaml",
            "outbound-operator:9.8.7",
            "outbound-operator:latest",
            "deployment.yaml:",
        ),
        (
            "charts/outbound-operator/values.yaml",
            "tag: \"\"",
            "tag: \"9.8.6\"",
            "image.tag is '9.8.6'",
        ),
        (
            "crates/sim/Cargo.toml",
            "version.workspace = true",
            "version = \"1.0.0\"",
            "Cargo.lock stale",
        ),
        (
            "CHANGELOG.md",
            "## [9.8.7] - Unreleased",
            "## [Unreleased]",
            "no section '## [9.8.7]'",
        ),
    ];
    for (file, from, to, named) in cases {
        let before = read(root, file);
        replace_in(root, file, from, to);
        let (ok, stderr) = version_script(root, &["check"]);
        assert!(!ok, "check passed with {file} changed to '{to}'");
        assert!(
            stderr.contains(named),
            "check with {file} changed to '{to}' does not say '{named}':\n{stderr}"
        );
        std::fs::write(root.join(file), before).unwrap();
    }
    let (ok, stderr) = version_script(root, &["check"]);
    assert!(ok, "check after restoring every file:\n{stderr}");

    let (ok, stderr) = version_script(root, &["set", "v1.2"]);
    assert!(!ok && stderr.contains("not a semantic version"), "{stderr}");
}
