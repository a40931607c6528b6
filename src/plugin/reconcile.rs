//! `kubectl outbound reconcile NAME [--wait]`: sets the request annotation Flux's CLI sets
//! (`reconcile.fluxcd.io/requestedAt`, which the operator honours), and with `--wait` waits
//! until the operator has handled that very request (`status.lastHandledReconcileAt`) and the
//! object is Ready (exit 0), Stalled or failed (exit 1, with the reason).

use std::time::Duration;

use anyhow::Context as _;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use super::cluster::ClusterArgs;
use outbound_api::{OutboundTask, REQUESTED_AT, condition};

/// Field manager of the plugin's writes.
pub const FIELD_MANAGER: &str = "kubectl-outbound";

#[derive(clap::Args, Debug)]
pub struct ReconcileArgs {
    /// The OutboundTask.
    pub name: String,
    /// Wait until the operator has handled the request: Ready (exit 0) or Stalled/failed (exit 1).
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits (e.g. `90s`, `5m`).
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// What the object says about a handled request.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Not handled yet, or still at work.
    Pending,
    Ready,
    /// Stalled or failed, with the reason and message.
    Failed(String),
}

pub async fn run(cluster: &ClusterArgs, args: ReconcileArgs) -> anyhow::Result<u8> {
    let cluster = cluster.connect().await?;
    let tasks: Api<OutboundTask> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let requested = jiff::Timestamp::now().to_string();
    let patch = json!({"metadata": {"annotations": {REQUESTED_AT: requested}}});
    tasks
        .patch(&args.name, &PatchParams::apply(FIELD_MANAGER), &Patch::Merge(&patch))
        .await
        .with_context(|| {
            format!(
                "requesting a reconcile of OutboundTask {}/{}",
                cluster.namespace, args.name
            )
        })?;
    eprintln!(
        "requested a reconcile of {}/{} at {requested}",
        cluster.namespace, args.name
    );
    if !args.wait {
        return Ok(0);
    }
    let deadline = tokio::time::Instant::now() + args.timeout;
    loop {
        let task = tasks.get(&args.name).await?;
        match outcome(&task, &requested) {
            Outcome::Ready => {
                eprintln!("{}: Ready", args.name);
                return Ok(0);
            }
            Outcome::Failed(why) => {
                eprintln!("{}: {why}", args.name);
                return Ok(1);
            }
            Outcome::Pending if tokio::time::Instant::now() >= deadline => {
                eprintln!(
                    "{}: not handled and settled within {} (see kubectl outbound status {})",
                    args.name,
                    humantime::format_duration(args.timeout),
                    args.name
                );
                return Ok(1);
            }
            Outcome::Pending => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// Whether `task` has handled the request `requested`, and how it ended.
pub fn outcome(task: &OutboundTask, requested: &str) -> Outcome {
    let Some(status) = &task.status else {
        return Outcome::Pending;
    };
    if status.last_handled_reconcile_at.as_deref() != Some(requested) {
        return Outcome::Pending;
    }
    let find = |type_: &str| status.conditions.iter().find(|c| c.type_ == type_);
    let is_true = |type_: &str| find(type_).is_some_and(|c| c.status == "True");
    if let Some(stalled) = find(condition::STALLED).filter(|c| c.status == "True") {
        return Outcome::Failed(format!("Stalled: {}: {}", stalled.reason, stalled.message));
    }
    if is_true(condition::READY) {
        return Outcome::Ready;
    }
    match find(condition::SYNCED) {
        Some(synced) if synced.status == "False" && !is_true(condition::RECONCILING) => {
            Outcome::Failed(format!("failed: {}: {}", synced.reason, synced.message))
        }
        _ => Outcome::Pending,
    }
}
