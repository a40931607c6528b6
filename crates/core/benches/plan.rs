//! Micro-benchmark of the pure core for one task: map (spec -> update body and desired fields;
//! detail -> observed fields), diff and plan. This is the CPU a reconcile spends outside I/O.
//!
//!     cargo bench --bench plan                  # all
//!     cargo bench --bench plan -- plan/         # a filter
//!
//! Under `cargo test --all-targets` (no `--bench` argument) criterion runs every routine once, as a
//! smoke test.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::Timestamp;
use outbound_api::{OutboundTaskSpec, OutboundTaskStatus};
use outbound_core::diff;
use outbound_core::mapping;
use outbound_core::planner::{self, Observed, PlanInput, PlanOptions};
use outbound_core::wire::TaskDetail;
use serde_json::{Value, json};

/// A task using most of the mapping (scripts by variable, redial, number order, one line): the
/// api.md example, as shipped in manifests/examples/.
fn spec() -> OutboundTaskSpec {
    let task: outbound_api::OutboundTask =
        serde_yaml::from_str(include_str!("../../../manifests/examples/task-by-variable.yaml"))
            .expect("example parses");
    task.spec
}

/// The detail `data` of a platform holding exactly what `spec` sends, with run state `status`.
fn echo_json(spec: &OutboundTaskSpec, status: i64) -> Value {
    let mut value = serde_json::to_value(mapping::create_body(spec)).expect("body serialises");
    let object = value.as_object_mut().expect("an object");
    object.remove("sub_user_id");
    object.insert("status".into(), json!(status));
    value
}

fn detail(value: Value) -> TaskDetail {
    serde_json::from_value(value).expect("detail decodes")
}

fn plan_once(spec: &OutboundTaskSpec, status: &OutboundTaskStatus, observed: Observed) -> planner::Plan {
    planner::plan(&PlanInput {
        spec,
        generation: 2,
        observed: Some(observed),
        status,
        requested_at: None,
        options: PlanOptions::new(Timestamp::UNIX_EPOCH),
    })
}

fn benchmarks(c: &mut Criterion) {
    let spec = spec();
    let status = OutboundTaskStatus::default();
    let in_sync_json = echo_json(&spec, 2);
    let in_sync_bytes = serde_json::to_vec(&in_sync_json).unwrap();
    let in_sync = detail(in_sync_json);
    // The platform holds the previous version: another maxConcurrency (a one-field change).
    let mut previous = spec.clone();
    previous.task.max_concurrency = 1;
    previous.task.lines[0].limit = 1;
    let changed = detail(echo_json(&previous, 2));

    // Sanity: the routines do what their names say.
    assert!(
        plan_once(&spec, &status, Observed::from_detail(&in_sync))
            .actions
            .is_empty()
    );
    assert_eq!(
        plan_once(&spec, &status, Observed::from_detail(&changed)).actions.len(),
        3,
        "pause, update, resume"
    );

    c.bench_function("map/decode_detail_json", |b| {
        b.iter(|| serde_json::from_slice::<TaskDetail>(black_box(&in_sync_bytes)).unwrap())
    });
    c.bench_function("map/update_body", |b| {
        b.iter(|| mapping::update_body(black_box(&spec), &mapping::Carried::default()))
    });
    c.bench_function("map/desired_fields", |b| {
        b.iter(|| mapping::desired_fields(black_box(&spec.task)))
    });
    c.bench_function("map/observed_from_detail", |b| {
        b.iter(|| Observed::from_detail(black_box(&changed)))
    });

    let desired = mapping::desired_fields(&spec.task);
    let observed_same = mapping::observed_fields(&in_sync);
    let observed_changed = mapping::observed_fields(&changed);
    c.bench_function("diff/in_sync", |b| {
        b.iter(|| diff::diff(black_box(&desired), black_box(&observed_same)))
    });
    c.bench_function("diff/one_field_changed", |b| {
        b.iter(|| diff::diff(black_box(&desired), black_box(&observed_changed)))
    });

    let observed = Observed::from_detail(&in_sync);
    c.bench_function("plan/in_sync", |b| {
        b.iter(|| plan_once(black_box(&spec), &status, observed.clone()))
    });
    let observed = Observed::from_detail(&changed);
    c.bench_function("plan/changed_running", |b| {
        b.iter(|| plan_once(black_box(&spec), &status, observed.clone()))
    });

    // What one reconcile of a changed running task computes: decode the read, normalise it, plan
    // (desired fields, diff, update body, journal, events).
    let changed_bytes = serde_json::to_vec(&echo_json(&previous, 2)).unwrap();
    c.bench_function("total/decode_map_diff_plan_changed", |b| {
        b.iter(|| {
            let read: TaskDetail = serde_json::from_slice(black_box(&changed_bytes)).unwrap();
            plan_once(black_box(&spec), &status, Observed::from_detail(&read))
        })
    });
}

criterion_group!(benches, benchmarks);
criterion_main!(benches);
