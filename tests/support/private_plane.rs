//! A local control plane of one test's own (`scripts/envtest.sh up` in a temporary state dir):
//! for a test that changes what every other test shares, such as installing an older version of
//! the CRDs. It takes a few seconds to start, so use the shared plane unless the test must change
//! cluster-wide objects.

use std::path::PathBuf;
use std::process::{Command, Stdio};

pub struct PrivatePlane {
    /// The kubeconfig of this plane's API server.
    pub kubeconfig: PathBuf,
    dir: tempfile::TempDir,
}

impl PrivatePlane {
    /// Starts etcd and kube-apiserver (the binaries the shared plane uses, built once and cached).
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let output = envtest(&dir, "up")
            .stderr(Stdio::inherit())
            .output()
            .expect("scripts/envtest.sh up runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "scripts/envtest.sh up failed: {stdout}");
        let kubeconfig = stdout
            .lines()
            .find_map(|line| line.strip_prefix("export KUBECONFIG="))
            .unwrap_or_else(|| panic!("scripts/envtest.sh up printed no KUBECONFIG: {stdout}"))
            .into();
        PrivatePlane { kubeconfig, dir }
    }
}

impl Drop for PrivatePlane {
    fn drop(&mut self) {
        let _ = envtest(&self.dir, "down")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn envtest(dir: &tempfile::TempDir, verb: &str) -> Command {
    let mut command = Command::new(super::repo_root().join("scripts/envtest.sh"));
    command.arg(verb).env("ENVTEST_DIR", dir.path()).stdin(Stdio::null());
    command
}
