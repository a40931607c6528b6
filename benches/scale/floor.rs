//! Phase 2, floor: the same apiserver's time for N status patches alone.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::{StreamExt, TryStreamExt, stream};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use outbound_api::{OutboundTask, OutboundTaskStatus};
use serde::Serialize;
use serde_json::json;

use crate::Env;
use crate::cluster::{create_all, create_namespace};
use crate::procs::{CpuSeconds, Procs};

/// Patches in flight for the "what the cluster can do" floor.
pub const FLOOR_PARALLELISM: usize = 64;

/// Phase 2's figures, kept with the phase (a run's `floor` in `results.json`).
#[derive(Debug, Serialize)]
pub struct FloorResult {
    pub patches: usize,
    /// First status write of the N objects, FLOOR_PARALLELISM in flight (not used as the floor).
    pub first_write_s: f64,
    /// N patches with the operator's --concurrency in flight.
    pub same_parallelism_s: f64,
    /// N patches with FLOOR_PARALLELISM in flight.
    pub parallel_s: f64,
    /// The lower of the two: what the cluster can do.
    pub best_s: f64,
    /// N creates of the floor objects, CLIENT_PARALLELISM in flight.
    pub create_s: f64,
    /// CPU seconds during the timed pass of `best_s` (the operator idles meanwhile).
    pub cpu: CpuSeconds,
    /// For comparison, not the floor: the same N writes as JSON merge patches (no server-side
    /// apply), FLOOR_PARALLELISM in flight, and their CPU seconds.
    pub merge_patch_s: f64,
    pub merge_patch_cpu: CpuSeconds,
}

pub async fn floor(
    env: &Env,
    ns: &str,
    tasks: &[OutboundTask],
    template: &OutboundTaskStatus,
    concurrency: usize,
    procs: &Procs,
) -> anyhow::Result<FloorResult> {
    create_namespace(&env.client, ns).await?;
    let api: Api<OutboundTask> = Api::namespaced(env.client.clone(), ns);
    let started = Instant::now();
    create_all(&api, tasks.to_vec()).await?;
    let create_s = started.elapsed().as_secs_f64();
    let names: Vec<String> = tasks.iter().map(|t| t.name_any()).collect();
    let first_write_s = status_patches(&api, &names, template, 1, FLOOR_PARALLELISM, true)
        .await?
        .as_secs_f64();
    let before = procs.sample();
    let same_parallelism_s = status_patches(&api, &names, template, 2, concurrency, true)
        .await?
        .as_secs_f64();
    let mut cpu = procs.sample().minus(&before);
    let mut parallel_s = same_parallelism_s;
    if concurrency != FLOOR_PARALLELISM {
        let before = procs.sample();
        parallel_s = status_patches(&api, &names, template, 3, FLOOR_PARALLELISM, true)
            .await?
            .as_secs_f64();
        if parallel_s < same_parallelism_s {
            cpu = procs.sample().minus(&before);
        }
    }
    let before = procs.sample();
    let merge_patch_s = status_patches(&api, &names, template, 4, FLOOR_PARALLELISM, false)
        .await?
        .as_secs_f64();
    let merge_patch_cpu = procs.sample().minus(&before);
    Ok(FloorResult {
        merge_patch_s,
        merge_patch_cpu,
        patches: tasks.len(),
        first_write_s,
        same_parallelism_s,
        parallel_s,
        best_s: same_parallelism_s.min(parallel_s),
        create_s,
        cpu,
    })
}

/// N server-side applies of a Ready status (the operator's own, with a message that differs per
/// pass and object so that each is a real write), `parallelism` in flight.
async fn status_patches(
    api: &Api<OutboundTask>,
    names: &[String],
    template: &OutboundTaskStatus,
    pass: usize,
    parallelism: usize,
    apply: bool,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    stream::iter(names.iter().enumerate())
        .map(|(i, name)| {
            let mut status = template.clone();
            status.observed_generation = Some(1);
            for condition in &mut status.conditions {
                condition.observed_generation = Some(1);
                if condition.type_ == "Synced" {
                    condition.message = format!("floor pass {pass} object {i}");
                }
            }
            let patch = json!({"apiVersion": "outbound.dev/v1alpha1", "kind": "OutboundTask", "status": status});
            async move {
                if apply {
                    let params = PatchParams::apply("outbound-bench-floor").force();
                    api.patch_status(name, &params, &Patch::Apply(&patch)).await
                } else {
                    let params = PatchParams::default();
                    api.patch_status(name, &params, &Patch::Merge(&patch)).await
                }
            }
        })
        .buffer_unordered(parallelism)
        .try_for_each(|_| futures::future::ready(Ok(())))
        .await
        .context("floor status patch")?;
    Ok(started.elapsed())
}
