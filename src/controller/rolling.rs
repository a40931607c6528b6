//! Rolling changes: at most `maxPaused` campaigns of an account held paused by the operator at
//! once (`OutboundAccountSpec::max_paused`).
//!
//! How a place is counted is `pause_slots`.
//!
//! An operation in flight holds its place instead of a reconcile worker: while the pause takes
//! effect, the worker reads other tasks. So the workers bound the reads, the places the paused
//! campaigns, and the rate budget the rest.

use super::admission::Permit;
use super::context::Context;
use super::pause_slots::PauseSlot;
use super::session::{Remote, read};
use outbound_api::OutboundTask;
use outbound_core::planner::{Action, Observed, Plan};
use outbound_platform::RemoteError;

/// Whether carrying out `plan` holds a running campaign paused: it pauses a task that must run
/// again afterwards.
pub fn holds_paused(plan: &Plan) -> bool {
    plan.resume_after && plan.actions.first() == Some(&Action::Pause)
}

/// Reads the task and plans. A plan that holds a campaign paused gives its reconcile worker back
/// and takes a place among the account's `maxPaused`; when none is free it waits for one, then
/// reads the task again (the state read before the wait may be stale) and plans anew.
pub async fn read_and_plan<'c>(
    ctx: &'c Context,
    remote: &Remote,
    task: &OutboundTask,
    key: &str,
    worker: &mut Option<Permit<'_>>,
    plan_for: impl Fn(Observed) -> Plan,
) -> Result<(Plan, Option<PauseSlot<'c>>), RemoteError> {
    let plan = plan_for(read(remote, task).await?);
    if !holds_paused(&plan) {
        return Ok((plan, None));
    }
    drop(worker.take());
    let limit = ctx
        .accounts
        .get(&kube::runtime::reflector::ObjectRef::new(&remote.key.name).within(&remote.key.namespace))
        .map_or(u32::MAX, |account| account.spec.max_paused());
    if let Some(slot) = ctx.pauses.try_take(&remote.key, key, limit, &ctx.tasks) {
        return Ok((plan, Some(slot)));
    }
    let slot = ctx.pauses.take(&remote.key, key, limit, &ctx.tasks).await;
    let plan = plan_for(read(remote, task).await?);
    let slot = holds_paused(&plan).then_some(slot);
    Ok((plan, slot))
}
