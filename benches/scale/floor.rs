//! Phase 2, floor: the same apiserver's time for N status patches alone.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::{StreamExt, TryStreamExt, stream};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use outbound_api::{OutboundTask, OutboundTaskStatus};
use serde_json::json;

use crate::Env;
use crate::cluster::{create_all, create_namespace};
use crate::procs::Procs;
use crate::results::FloorResult;

/// Patches in flight for the "what the cluster can do" floor.
pub const FLOOR_PARALLELISM: usize = 64;

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
