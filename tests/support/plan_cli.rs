//! Helpers of the `plan` tests (tests/plan_cli.rs, tests/plan_input.rs): the binary run as a
//! pipeline runs it, and the examples pointed at a test's simulator.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use outbound_sim::{Fixtures, SimConfig, SimHandle, Simulator};

use super::support;

/// The examples `keep` selects by file name, with the account pointing at this test's simulator.
pub fn write_examples(dir: &Path, base_url: &str, keep: impl Fn(&str) -> bool) {
    let examples = support::repo_root().join("manifests/examples");
    let simulator = std::fs::read_dir(examples.join("simulator")).unwrap();
    for entry in std::fs::read_dir(&examples).unwrap().chain(simulator) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            continue;
        }
        if !keep(&path.file_name().unwrap().to_string_lossy()) {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("http://127.0.0.1:18080", base_url);
        std::fs::write(dir.join(path.file_name().unwrap()), text).unwrap();
    }
}

pub fn plan(dir: &Path, token: &str, json: bool) -> (i32, String) {
    let mut args = vec!["plan".to_string(), "-f".into(), dir.display().to_string()];
    if json {
        args.extend(["--output".into(), "json".into()]);
    }
    let (code, stdout, stderr) = run(&args, Some(token), None);
    // JSON on stdout only; messages (errors, what was skipped) go to stderr.
    (code, if json { stdout } else { stdout + &stderr })
}

/// Runs the binary with `args` (and `stdin`), OUTBOUND_TOKEN set to `token`: its exit code, stdout
/// and stderr.
pub fn run(args: &[String], token: Option<&str>, stdin: Option<&str>) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_outbound-operator"));
    command.args(args).env_remove("OUTBOUND_TOKEN");
    if let Some(token) = token {
        command.env("OUTBOUND_TOKEN", token);
    }
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("plan runs");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default().as_bytes()).unwrap();
    drop(input);
    let output = child.wait_with_output().unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).to_string();
    (
        output.status.code().unwrap_or(-1),
        text(&output.stdout),
        text(&output.stderr),
    )
}

pub fn args(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// An example manifest's text, pointed at `base_url`, with each `(from, to)` replaced once.
pub fn example(file: &str, base_url: &str, edits: &[(&str, &str)]) -> String {
    let examples = support::repo_root().join("manifests/examples");
    // The simulator's Secret and account live apart from the task examples.
    let path = match examples.join(file) {
        path if path.exists() => path,
        _ => examples.join("simulator").join(file),
    };
    let mut text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("http://127.0.0.1:18080", base_url);
    for (from, to) in edits {
        assert!(text.contains(from), "{from:?} in {file}");
        text = text.replacen(from, to, 1);
    }
    text
}

pub async fn demo_simulator() -> SimHandle {
    let fixtures = Fixtures::load(&support::repo_root().join("scripts/demo/fixtures.yaml")).unwrap();
    Simulator::start(SimConfig::new("demo-token", fixtures)).await.unwrap()
}
