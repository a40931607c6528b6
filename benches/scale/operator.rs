//! The operator process and its resources: start, readiness, memory, stop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};

use crate::Env;
use crate::procs::{proc_cpu_s, proc_status_kib};

pub struct Operator {
    child: Option<Child>,
    pub pid: u32,
    pub metrics_url: String,
    ready_url: String,
    log: PathBuf,
    pid_file: PathBuf,
    peak_rss_kib: Arc<AtomicU64>,
    sampler: tokio::task::JoinHandle<()>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub rss_kib: u64,
    pub hwm_kib: u64,
    pub cpu_s: f64,
}

impl Operator {
    pub fn start(env: &Env, ns: &str, concurrency: u16, label: &str) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let log = env.out_dir.join("logs").join(format!("operator-{label}.log"));
        let file = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let child = Command::new(&env.args.operator)
            .args(["run", "--namespace", ns, "--log-format", "json"])
            .args(["--concurrency", &concurrency.to_string()])
            .args(["--metrics-addr", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", &env.args.operator_log)
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("starting {}", env.args.operator.display()))?;
        let pid = child.id();
        let pid_file = pids_dir().join(format!("operator-{label}.pid"));
        std::fs::write(&pid_file, pid.to_string())?;
        let peak_rss_kib = Arc::new(AtomicU64::new(0));
        let peak = peak_rss_kib.clone();
        let sampler = tokio::spawn(async move {
            loop {
                if let Some(rss) = proc_status_kib(pid, "VmRSS") {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        eprintln!("operator pid {pid}, --concurrency {concurrency}, log {}", log.display());
        Ok(Operator {
            child: Some(child),
            pid,
            metrics_url: format!("http://127.0.0.1:{port}/metrics"),
            ready_url: format!("http://127.0.0.1:{port}/readyz"),
            log,
            pid_file,
            peak_rss_kib,
            sampler,
        })
    }

    pub async fn wait_ready(&mut self, http: &reqwest::Client) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!(
                    "the operator exited ({status}) at start; log {}:\n{}",
                    self.log.display(),
                    tail(&self.log, 30)
                );
            }
            if let Ok(response) = http.get(&self.ready_url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            ensure!(Instant::now() < deadline, "the operator was not ready after 60s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn usage(&self) -> Usage {
        Usage {
            rss_kib: proc_status_kib(self.pid, "VmRSS").unwrap_or_default(),
            hwm_kib: proc_status_kib(self.pid, "VmHWM").unwrap_or_default(),
            cpu_s: proc_cpu_s(self.pid).unwrap_or_default(),
        }
    }

    /// Peak resident memory: VmHWM, or the sampled VmRSS if higher.
    pub fn peak_rss_kib(&self) -> u64 {
        self.usage().hwm_kib.max(self.peak_rss_kib.load(Ordering::Relaxed))
    }

    /// Peak of the sampled VmRSS since the last call (and resets it).
    pub fn take_sampled_peak_kib(&self) -> u64 {
        let current = proc_status_kib(self.pid, "VmRSS").unwrap_or_default();
        self.peak_rss_kib.swap(current, Ordering::Relaxed).max(current)
    }

    /// SIGTERM (graceful shutdown), SIGKILL after 10 s.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_file(&self.pid_file);
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.sampler.abort();
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            eprintln!("scale: operator {} killed; log {}", self.pid, self.log.display());
        }
        let _ = std::fs::remove_file(&self.pid_file);
    }
}

/// Where the operators' pids are recorded while they run, whatever `--out` says: scripts/bench.sh
/// kills what is left there if the bench itself is killed.
pub fn pids_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench/pids")
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
