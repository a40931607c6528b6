//! Rolling changes: at most `maxPaused` campaigns of an account held paused by the operator at
//! once (`OutboundAccountSpec::max_paused`).
//!
//! How a place is counted is `pause_slots`.
//!
//! An operation in flight holds its place instead of a reconcile worker once its journal is
//! written: while the pause takes effect, the worker reads other tasks. So the workers bound the
//! reads and the journal writes, the places the paused campaigns, and the rate budget the rest.
//!
//! The worker is kept through the journal write (the executor gives it back after it) so that
//! operations are started no faster than the API server takes their journals: given back right
//! after the read, a change to 10,000 tasks on a busy API server had 3,400 operations waiting for
//! their journal write at once, each holding its plan, its read and its future (RSS 213 MiB).

use super::remote::{Remote, read};
use crate::controller::accounts::pause_slots::PauseSlot;
use crate::controller::context::Context;
use crate::controller::intake::queue::Permit;
use outbound_api::OutboundTask;
use outbound_core::planner::{Action, Observed, Plan};
use outbound_platform::RemoteError;

/// Whether carrying out `plan` holds a running campaign paused: it pauses a task that must run
/// again afterwards.
pub fn holds_paused(plan: &Plan) -> bool {
    plan.resume_after && plan.actions.first() == Some(&Action::Pause)
}

/// Reads the task and plans. A plan that holds a campaign paused takes a place among the
/// account's `maxPaused` (the executor gives the worker back once the journal is written); when
/// none is free it gives its worker back to wait for one, then reads the task again (the state
/// read before the wait may be stale) and plans anew.
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
    let limit = ctx
        .accounts
        .get(&kube::runtime::reflector::ObjectRef::new(&remote.key.name).within(&remote.key.namespace))
        .map_or(u32::MAX, |account| account.spec.max_paused());
    if let Some(slot) = ctx.pauses.try_take(&remote.key, key, limit, &ctx.tasks) {
        return Ok((plan, Some(slot)));
    }
    // Waiting for a place must not hold a worker: the reads of other tasks go on meanwhile.
    drop(worker.take());
    let slot = ctx.pauses.take(&remote.key, key, limit, &ctx.tasks).await;
    let plan = plan_for(read(remote, task).await?);
    let slot = holds_paused(&plan).then_some(slot);
    Ok((plan, slot))
}
