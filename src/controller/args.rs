//! The flags of `outbound-operator run` ([`RunArgs`]), and the [`Settings`] of the reconcile loop
//! taken from them.

use std::net::SocketAddr;
use std::time::Duration;

use super::shard;
use crate::telemetry::LogFormat;

/// Flags of `outbound-operator run`.
#[derive(clap::Args, Clone, Debug)]
pub struct RunArgs {
    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "WATCH_NAMESPACE")]
    pub namespace: Option<String>,
    /// Reconciles running at once (workers). When more are due, they wait and run by priority:
    /// resuming campaigns the operator paused, then spec changes and requested reconciles, then
    /// tasks not yet reconciled by this process, then drift resyncs. An operation that holds a
    /// campaign paused gives its worker back once its journal is written (the account's
    /// `maxPaused` bounds those instead).
    #[arg(long, default_value_t = 8)]
    pub concurrency: u16,
    /// Address of `/metrics`, `/healthz` and `/readyz`.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,
    /// Take a Lease before acting, so that of several replicas only one writes.
    #[arg(long)]
    pub leader_elect: bool,
    /// Namespace of the leader-election Lease (default: POD_NAMESPACE, else `default`).
    #[arg(long, env = "POD_NAMESPACE")]
    pub leader_election_namespace: Option<String>,
    /// Name of the leader-election Lease (default: derived from the watch scope, whatever installed
    /// the operator: `outbound-operator-leader` for every task of the cluster, else a name derived
    /// from `--namespace` and `--watch-label-selector`, so that each scope has its own).
    #[arg(long)]
    pub leader_election_id: Option<String>,
    /// Reconcile only the OutboundTasks whose labels match this selector: one shard of several
    /// Deployments, as Flux does, e.g. `sharding.fluxcd.io/key=shard1`, and
    /// `!sharding.fluxcd.io/key` for the tasks without the label. Accounts and Secrets are watched
    /// whole (a task of any shard may use any account).
    #[arg(long, value_parser = shard::ShardSelector::parse)]
    pub watch_label_selector: Option<shard::ShardSelector>,
    /// OutboundTasks per page when the operator lists them (at start, and again when its watch
    /// fell too far behind). The API server may serve the whole list at once regardless (it does
    /// when it answers from its watch cache).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    pub list_page_size: u32,
    /// Identity in the Lease (default: POD_NAME, else host name and process id).
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Longest wait before retrying a task whose reconcile failed.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub max_backoff: Duration,
    /// Successful updates that leave the same difference behind before the task is Stalled.
    /// At least 1: with 0, every task with a difference would stall without a single update.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub convergence_attempts: u32,
    /// Consecutive reconciles whose update the platform still refuses as "task started" (code
    /// 6007) after every retry before the task is Stalled (reason NotPausable).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub started_stall_after: u32,
    /// When a resync finds nothing new, status is not written unless `lastSyncTime` is older than
    /// this: an in-sync task then costs one remote read and no API-server write per resync.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub sync_time_refresh: Duration,
}

/// Settings of the reconcile loop, from the command line.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Successful updates leaving the same difference before the task is Stalled.
    pub convergence_attempts: u32,
    /// Consecutive reconciles refused as "task started" after every retry before the task is Stalled.
    pub started_stall_after: u32,
    /// Longest retry delay after failures.
    pub max_backoff: Duration,
    /// How old `status.lastSyncTime` may grow before an otherwise unchanged status is written.
    pub sync_time_refresh: Duration,
}

impl From<&RunArgs> for Settings {
    fn from(args: &RunArgs) -> Self {
        Settings {
            convergence_attempts: args.convergence_attempts,
            started_stall_after: args.started_stall_after,
            max_backoff: args.max_backoff,
            sync_time_refresh: args.sync_time_refresh,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    #[derive(Parser)]
    struct Run {
        #[command(flatten)]
        args: super::RunArgs,
    }

    #[test]
    fn convergence_attempts_zero_is_refused_naming_the_flag() {
        let error = Run::try_parse_from(["run", "--convergence-attempts", "0"])
            .err()
            .expect("0 refused: every task with a difference would stall without one update");
        let text = error.to_string();
        assert!(
            text.contains("--convergence-attempts") && text.contains("0 is not in 1.."),
            "{text}"
        );
        let one = Run::try_parse_from(["run", "--convergence-attempts", "1"]).expect("1 accepted");
        assert_eq!(one.args.convergence_attempts, 1);
    }
}
