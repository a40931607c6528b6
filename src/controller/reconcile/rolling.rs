//! Rolling changes: at most `maxPaused` campaigns of an account held paused by the operator at
//! once (`OutboundAccountSpec::max_paused`).
//!
//! How a place is counted is `pause_slots`.
//!
//! An operation in flight holds its place instead of a reconcile worker once its journal is
//! written: while the pause takes effect, the worker reads other tasks. So the workers bound the
//! reads and the journal writes, the places the paused campaigns, and the rate budget the rest.
//!
//! A read that would wait for the account's rate budget gives the worker back first and holds
//! one of the account's budget places instead (`intake::queue`): a budget wait holds no worker, so
//! one account's backlog at a low rate leaves the workers to the other accounts.
//!
//! Otherwise the worker is kept through the journal write (the executor gives it back after it) so that
//! operations are started no faster than the API server takes their journals: given back right
//! after the read, a change to 10,000 tasks on a busy API server had 3,400 operations waiting for
//! their journal write at once, each holding its plan, its read and its future (RSS 213 MiB).

use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;

use super::remote::{Remote, read};
use crate::controller::accounts::pause_slots::PauseSlot;
use crate::controller::context::Context;
use crate::controller::intake::queue::Permit;
use crate::controller::intake::watches::REQUESTED_AT;
use outbound_api::OutboundTask;
use outbound_core::planner::{Action, Observed, Plan};
use outbound_platform::RemoteError;

/// Whether carrying out `plan` holds a running campaign paused: it pauses a task that must run
/// again afterwards.
pub fn holds_paused(plan: &Plan) -> bool {
    plan.resume_after && plan.actions.first() == Some(&Action::Pause)
}

/// What [`read_and_plan`] came to. (Returned once per reconcile and never stored: the size of a
/// plan beside an empty variant costs nothing worth a box.)
#[allow(clippy::large_enum_variant)]
pub enum Planned<'c> {
    /// The plan, and the place among `maxPaused` it holds (when it holds a campaign paused).
    Ready(Plan, Option<PauseSlot<'c>>),
    /// The object changed (a new spec, a requested reconcile, a deletion) or left this process's
    /// watch while the reconcile waited for a place: nothing was done, and the reconcile must
    /// start again from the latest object.
    Superseded,
}

/// Reads the task and plans. A plan that holds a campaign paused takes a place among the
/// account's `maxPaused` (the executor gives the worker back once the journal is written); when
/// none is free it gives its worker back to wait for one, then reads the task again (the state
/// read before the wait may be stale) and plans anew. The wait ends early, with
/// [`Planned::Superseded`], when a person changes the object meanwhile: a plan made before a
/// `runState: Paused` must not resume the campaign after it. It ends so too when the controller
/// shuts down (the queue is closed): only the operations already holding a place finish.
pub async fn read_and_plan<'c>(
    ctx: &'c Context,
    remote: &Remote,
    task: &OutboundTask,
    key: &str,
    worker: &mut Option<Permit<'_>>,
    plan_for: impl Fn(Observed) -> Plan,
) -> Result<Planned<'c>, RemoteError> {
    // Waiting for the account's rate budget must not hold a worker either while another
    // account's work waits for one: it runs meanwhile (see `intake::queue`).
    let budget_wait = match remote.client.limiter().is_busy() && ctx.queue.others_waiting(task) {
        true => worker.take().map(Permit::wait_for_budget),
        false => None,
    };
    let plan = plan_for(read(remote, task).await?);
    drop(budget_wait);
    if !holds_paused(&plan) {
        return Ok(Planned::Ready(plan, None));
    }
    // The places are the platform user's, shared with every account reaching it (`connect` made
    // the account known to the pool).
    let Some(budget) = ctx.pool.budget_of(&remote.key) else {
        return Ok(Planned::Ready(plan, None));
    };
    if let Some(slot) = ctx.pauses.try_take(&budget, key, &ctx.tasks) {
        return Ok(Planned::Ready(plan, Some(slot)));
    }
    // Waiting for a place must not hold a worker: the reads of other tasks go on meanwhile.
    drop(worker.take());
    // A shutdown ends the wait too: the operations in flight finish, but no new pause starts
    // that the next leader would have to resume (or the kubelet's SIGKILL cut short).
    let unchanged = || {
        ctx.tasks
            .get(&ObjectRef::from_obj(task))
            .is_some_and(|latest| same_intent(&latest, task))
    };
    let wanted = || !ctx.queue.is_closed() && unchanged();
    let Some(slot) = ctx.pauses.take(&budget, key, &ctx.tasks, wanted).await else {
        if ctx.queue.is_closed() {
            tracing::info!(task = %key, "shutting down: no new pause for a task waiting for a maxPaused place");
        } else {
            tracing::info!(task = %key, "the object changed while it waited for a maxPaused place: planning again from it");
        }
        return Ok(Planned::Superseded);
    };
    let plan = plan_for(read(remote, task).await?);
    let slot = holds_paused(&plan).then_some(slot);
    Ok(Planned::Ready(plan, slot))
}

/// Whether `latest` asks for what `planned` asked for: the same spec (generation), the same
/// requested reconcile, not being deleted. (Status changes are the operator's own.)
fn same_intent(latest: &OutboundTask, planned: &OutboundTask) -> bool {
    let requested = |t: &OutboundTask| t.annotations().get(REQUESTED_AT).cloned();
    latest.metadata.generation == planned.metadata.generation
        && latest.metadata.deletion_timestamp == planned.metadata.deletion_timestamp
        && requested(latest) == requested(planned)
}
