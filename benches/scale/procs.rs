//! Process CPU and memory from /proc: the operator, kube-apiserver, etcd, this process, the machine.

use std::process::Command;

use serde::Serialize;

pub const MIB: f64 = 1024.0 * 1024.0;

#[derive(Debug, Clone, Serialize, Default)]
pub struct CpuSeconds {
    pub operator: f64,
    pub apiserver: Option<f64>,
    pub etcd: Option<f64>,
    /// This process: simulator, watcher, clients.
    pub bench: f64,
    /// The whole machine (all processes); `machine - the others above` is load that is not the
    /// bench's (it should be near 0 for figures to be trusted).
    pub machine: f64,
}

/// CPU seconds of a process that may not have been found (`apiserver`, `etcd`): "-" when absent.
/// Here, with `CpuSeconds`, for the progress lines of the runs and the report's tables alike.
pub fn opt(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{v:.2}"))
}

/// A `Vm*` line of /proc/PID/status, in KiB.
pub fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// utime + stime of /proc/PID/stat, in seconds.
pub fn proc_cpu_s(pid: u32) -> Option<f64> {
    stat_cpu_s(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn stat_cpu_s(stat: &str) -> Option<f64> {
    // Fields after the command name (which may hold spaces) start at field 3 (state).
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// The processes whose CPU a phase reports.
pub struct Procs {
    operator: u32,
    apiserver: Option<u32>,
    etcd: Option<u32>,
}

impl Procs {
    pub fn new(operator: u32) -> Self {
        let pid = |name: &str| std::env::var(name).ok().and_then(|p| p.trim().parse().ok());
        Procs {
            operator,
            apiserver: pid("BENCH_APISERVER_PID"),
            etcd: pid("BENCH_ETCD_PID"),
        }
    }

    pub fn sample(&self) -> CpuSeconds {
        CpuSeconds {
            operator: proc_cpu_s(self.operator).unwrap_or_default(),
            apiserver: self.apiserver.and_then(proc_cpu_s),
            etcd: self.etcd.and_then(proc_cpu_s),
            bench: std::fs::read_to_string("/proc/self/stat")
                .ok()
                .and_then(|s| stat_cpu_s(&s))
                .unwrap_or_default(),
            machine: machine_cpu_s(),
        }
    }
}

impl CpuSeconds {
    pub fn minus(&self, before: &CpuSeconds) -> CpuSeconds {
        let diff = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a - b);
        CpuSeconds {
            operator: self.operator - before.operator,
            apiserver: diff(self.apiserver, before.apiserver),
            etcd: diff(self.etcd, before.etcd),
            bench: self.bench - before.bench,
            machine: self.machine - before.machine,
        }
    }

    /// CPU seconds of every other process on the machine (a build, another test) in the span.
    pub fn others(&self) -> f64 {
        (self.machine - self.operator - self.apiserver.unwrap_or(0.0) - self.etcd.unwrap_or(0.0) - self.bench).max(0.0)
    }
}

/// Busy CPU seconds of the whole machine since boot (/proc/stat: all but idle and iowait).
fn machine_cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return 0.0;
    };
    let fields: Vec<f64> = line.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest time is included in user).
    let busy: f64 = fields
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| v)
        .sum();
    busy / clock_ticks()
}
