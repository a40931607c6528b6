//! The bench's OutboundTasks, their remote counterparts and the simulator holding them.

use std::collections::HashMap;

use outbound_api::{OutboundTask, OutboundTaskSpec};
use outbound_core::mapping;
use outbound_sim::{FaultConfig, Fixtures, STATUS_RUNNING, SimConfig, SimHandle, Simulator, TaskFixture};
use serde_json::{Value, json};

pub const USER_ID: &str = "5832d184-dd53-42a0-8ace-0bf8d660f4cc";
const LINE_ID: &str = "d47c3599-f166-4cd0-999c-f60e46814d26";

/// The OutboundTask `i` of a run: its name, its remote task id and its spec.
pub fn task(i: usize, run: u32, resync: &str) -> OutboundTask {
    let task_id = format!("{run:08x}-0000-4000-a000-{i:012x}");
    let spec: OutboundTaskSpec = serde_json::from_value(json!({
        "accountRef": {"name": "main"},
        "taskId": task_id,
        "resyncInterval": resync,
        "task": {
            "name": format!("bench-{i}"),
            "scriptGroupId": 123,
            "maxConcurrency": 2,
            "dialTimeGroupId": 123,
            "schedule": {"startTime": "2024-12-23 19:00:00", "stopTime": "2025-12-25 23:59:59"},
            "lines": [{"id": LINE_ID, "limit": 2}],
        },
    }))
    .expect("valid task spec");
    OutboundTask::new(&format!("task-{i:05}"), spec)
}

/// The remote task holding what `spec` maps to, in run state `status` (2 running).
pub fn remote_task(spec: &OutboundTaskSpec, status: u8) -> TaskFixture {
    TaskFixture {
        user_id: USER_ID.into(),
        status,
        config: remote_config(spec),
        sub_user_id: None,
    }
}

/// What the simulator holds for `spec`: the update body without `sub_user_id`.
pub fn remote_config(spec: &OutboundTaskSpec) -> Value {
    serde_json::to_value(mapping::settings_body(&spec.task, &mapping::Carried::for_create())).expect("update body")
}

pub async fn simulator(token: &str, faults: FaultConfig) -> anyhow::Result<SimHandle> {
    let fixtures = Fixtures::from_yaml_str(&format!("lines: {{\"{LINE_ID}\": 50}}\ntasks: {{}}"))?;
    let mut config = SimConfig::new(token, fixtures);
    config.faults = faults;
    Simulator::start(config).await
}

/// N OutboundTasks of a run and their remote tasks on `sim`, running and holding what the specs
/// say; with the index of each remote task id.
pub fn in_sync_fleet(
    sim: &SimHandle,
    n: usize,
    run: u32,
    resync: &str,
) -> anyhow::Result<(Vec<OutboundTask>, HashMap<String, usize>)> {
    let tasks: Vec<OutboundTask> = (0..n).map(|i| task(i, run, resync)).collect();
    for t in &tasks {
        sim.put_task(t.spec.task_id.as_deref().unwrap(), remote_task(&t.spec, STATUS_RUNNING))?;
    }
    let ids = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.spec.task_id.clone().unwrap(), i))
        .collect();
    Ok((tasks, ids))
}
