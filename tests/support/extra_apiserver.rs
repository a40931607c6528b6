//! A second kube-apiserver of the test plane: same etcd, same PKI, another port
//! (`scripts/envtest.sh extra-apiserver`). A process given its kubeconfig sees the same cluster;
//! freezing it (SIGSTOP) cuts that process off the API server, as a network partition would,
//! while everything else (the other apiserver, the platform simulator) works on. A frozen
//! apiserver accepts connections and never answers, which is how a partition looks to a client.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use outbound_api::OutboundTask;

/// How long a fresh apiserver may take to serve the CRDs (a loaded machine is slow).
const START_TIMEOUT: Duration = Duration::from_secs(120);

pub struct ExtraApiserver {
    child: Child,
    /// The kubeconfig that points at this apiserver.
    pub kubeconfig: PathBuf,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl ExtraApiserver {
    /// Starts it and waits until it serves OutboundTasks (call `ensure_crds` first).
    pub async fn start() -> Self {
        let plane = super::kubeconfig_path();
        let envtest_dir = plane.parent().expect("KUBECONFIG is a file of the plane's state dir");
        let dir = tempfile::tempdir().expect("temp dir");
        let kubeconfig = dir.path().join("kubeconfig");
        let log = dir.path().join("kube-apiserver.log");
        let file = std::fs::File::create(&log).expect("log file");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(super::repo_root().join("scripts/envtest.sh"))
            .arg("extra-apiserver")
            .arg(port.to_string())
            .arg(&kubeconfig)
            .env("ENVTEST_DIR", envtest_dir)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("scripts/envtest.sh extra-apiserver starts");
        let extra = ExtraApiserver {
            child,
            kubeconfig,
            log,
            _dir: dir,
        };
        extra.wait_until_serving().await;
        extra
    }

    async fn wait_until_serving(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(client) = self.try_client().await {
                let tasks: Api<OutboundTask> = Api::all(client);
                if tasks.list(&ListParams::default().limit(1)).await.is_ok() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the extra apiserver did not serve OutboundTasks within {START_TIMEOUT:?}; log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    async fn try_client(&self) -> Option<Client> {
        let kubeconfig = Kubeconfig::read_from(&self.kubeconfig).ok()?;
        let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .ok()?;
        Client::try_from(config).ok()
    }

    /// SIGSTOP: it keeps its sockets and answers nothing.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} failed");
    }
}

impl Drop for ExtraApiserver {
    fn drop(&mut self) {
        // SIGKILL ends a stopped process too.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
