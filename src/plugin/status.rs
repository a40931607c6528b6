//! `kubectl outbound status`: one line per OutboundTask (ready, synced, run state, reason, drift,
//! operation in flight, age of the last sync) and a summary per account (tasks, paused by the
//! operator now, and the share of the account's budget the resync reads take).

use crate::cli::Output;
use std::collections::BTreeMap;

use kube::ResourceExt;
use kube::api::{Api, ListParams};
use serde::Serialize;

use super::cluster::ClusterArgs;
use outbound_api::{OutboundAccount, OutboundTask, condition};

#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// One task only.
    pub name: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// One task's line.
#[derive(Serialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TaskLine {
    pub namespace: String,
    pub name: String,
    pub account: String,
    pub ready: String,
    pub synced: String,
    pub run_state: String,
    pub reason: String,
    /// Fields that differ now.
    pub drift: usize,
    /// The step of an update in flight (`Pausing`, `Updating`, `Resuming`), else `-`.
    pub operation: String,
    /// Seconds since the task was last read and found (or made) equal to its spec.
    pub last_sync_seconds: Option<i64>,
}

/// One account's summary.
#[derive(Serialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccountLine {
    pub namespace: String,
    pub name: String,
    pub tasks: usize,
    /// Tasks with an update in flight: paused by the operator now (at most `maxPaused`).
    pub paused_by_operator: usize,
    pub max_paused: Option<u32>,
    pub requests_per_second: Option<u32>,
    /// Calls per second the resync reads of these tasks take, on average.
    pub resync_reads_per_second: f64,
}

#[derive(Serialize, Debug)]
struct Report {
    tasks: Vec<TaskLine>,
    accounts: Vec<AccountLine>,
}

pub async fn run(cluster: &ClusterArgs, args: StatusArgs) -> anyhow::Result<u8> {
    let cluster = cluster.connect().await?;
    let tasks: Api<OutboundTask> = cluster.api();
    let mut listed = tasks.list(&ListParams::default()).await?.items;
    if let Some(name) = &args.name {
        listed.retain(|t| t.name_any() == *name);
        anyhow::ensure!(!listed.is_empty(), "OutboundTask {name} not found");
    }
    let accounts: Api<OutboundAccount> = cluster.api();
    let accounts = accounts.list(&ListParams::default()).await?.items;
    let now = jiff::Timestamp::now();
    let report = Report {
        tasks: listed.iter().map(|t| task_line(t, now)).collect(),
        accounts: account_lines(&listed, &accounts),
    };
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Text => print!("{}", render(&report)),
    }
    Ok(0)
}

pub fn task_line(task: &OutboundTask, now: jiff::Timestamp) -> TaskLine {
    let status = task.status.clone().unwrap_or_default();
    let find = |type_: &str| status.conditions.iter().find(|c| c.type_ == type_);
    let state = |type_: &str| find(type_).map_or("-".to_string(), |c| c.status.clone());
    TaskLine {
        namespace: task.namespace().unwrap_or_default(),
        name: task.name_any(),
        account: task.spec.account_ref.name.clone(),
        ready: state(condition::READY),
        synced: state(condition::SYNCED),
        run_state: status.remote_state.map_or("-".into(), |s| format!("{s:?}")),
        reason: find(condition::READY).map_or("-".to_string(), |c| c.reason.clone()),
        drift: status.drift.len(),
        operation: status.operation.map_or("-".into(), |o| format!("{:?}", o.phase)),
        last_sync_seconds: status
            .last_sync_time
            .map(|t| (now.as_second() - t.0.as_second()).max(0)),
    }
}

pub fn account_lines(tasks: &[OutboundTask], accounts: &[OutboundAccount]) -> Vec<AccountLine> {
    let mut lines: BTreeMap<(String, String), AccountLine> = BTreeMap::new();
    for task in tasks {
        let (namespace, name) = (task.namespace().unwrap_or_default(), task.spec.account_ref.name.clone());
        let account = accounts
            .iter()
            .find(|a| a.name_any() == name && a.namespace() == Some(namespace.clone()));
        let line = lines
            .entry((namespace.clone(), name.clone()))
            .or_insert_with(|| AccountLine {
                namespace,
                name,
                tasks: 0,
                paused_by_operator: 0,
                max_paused: account.map(|a| a.spec.max_paused()),
                requests_per_second: account.map(|a| a.spec.rate_limit.requests_per_second),
                resync_reads_per_second: 0.0,
            });
        line.tasks += 1;
        let status = task.status.as_ref();
        if status.is_some_and(|s| s.operation.is_some()) {
            line.paused_by_operator += 1;
        }
        if !task.spec.suspend {
            line.resync_reads_per_second += 1.0 / task.spec.resync_period().as_secs_f64();
        }
    }
    lines.into_values().collect()
}

fn render(report: &Report) -> String {
    let mut rows = vec![
        [
            "NAMESPACE",
            "NAME",
            "READY",
            "SYNCED",
            "RUN STATE",
            "REASON",
            "DRIFT",
            "OPERATION",
            "LAST SYNC",
        ]
        .map(String::from),
    ];
    for t in &report.tasks {
        rows.push([
            t.namespace.clone(),
            t.name.clone(),
            t.ready.clone(),
            t.synced.clone(),
            t.run_state.clone(),
            t.reason.clone(),
            t.drift.to_string(),
            t.operation.clone(),
            t.last_sync_seconds.map_or("-".into(), age),
        ]);
    }
    let mut out = table(&rows);
    out.push('\n');
    for a in &report.accounts {
        let show = |v: Option<u32>| v.map_or("?".to_string(), |v| v.to_string());
        out.push_str(&format!(
            "account {}/{}: {} task(s), {} paused by the operator now (max {}), resync reads {:.2}/s of {} requests/s\n",
            a.namespace,
            a.name,
            a.tasks,
            a.paused_by_operator,
            show(a.max_paused),
            a.resync_reads_per_second,
            show(a.requests_per_second),
        ));
    }
    out
}

/// `42s`, `5m`, `3h`, `2d`, as kubectl prints ages.
fn age(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// Columns padded to their widest cell, separated by three spaces.
fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let widths: Vec<usize> = (0..N)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
            format!("{}\n", cells.join("   ").trim_end())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(
            [5, 130, 7300, 200_000].map(age),
            ["5s", "2m", "2h", "2d"].map(String::from)
        );
    }
}
