//! One campaign, one owner: before a reconcile connects, it asks the planner
//! (`outbound_core::planner::holder`) whether another OutboundTask of this process's cache, one
//! created earlier, names the same remote task; if so it makes no platform call and ends Stalled
//! `TaskClaimed` naming that one (`ending::stand_aside`), and waits for it (`intake::waiting`).
//!
//! # Guarantees
//!
//! - Decided from the task and account caches alone: no state is stored, so the answer survives
//!   restarts and leader changes. Only the tasks this process watches are compared: with shards,
//!   tasks naming the same remote task must be in the same shard (docs/explanation/claims.md).
//! - No lost wake-up: the wait is recorded before the holder is looked up once more; a holder
//!   gone by then is decided again at once, and one that goes later is removed from the cache
//!   before its watch event looks up who waits for it.

use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};

use crate::controller::context::Context;
use outbound_api::OutboundTask;
use outbound_core::planner::{self, Claimant, RemoteTask};

/// Holders looked up before the answer is taken as it is (each round, the previous holder was
/// deleted meanwhile; the resync decides again).
const ROUNDS: usize = 8;

/// The `namespace/name` of the task that holds `task`'s remote task, if not `task` itself.
pub async fn holder(ctx: &Context, task: &OutboundTask, key: &str) -> Option<String> {
    // The holder's account may not be listed yet: never claim for want of it.
    ctx.accounts_listed().await;
    let mut held_by = None;
    for _ in 0..ROUNDS {
        let Some(holder) = decide(ctx, task) else {
            ctx.waiting.done(key);
            return None;
        };
        let holder_key = holder.key();
        ctx.waiting.wait(key, &holder_key);
        let still_there = ctx
            .tasks
            .get(&ObjectRef::new(&holder.name).within(&holder.namespace))
            .is_some();
        held_by = Some(holder_key);
        if still_there {
            break;
        }
    }
    held_by
}

/// The planner's answer from the current caches.
fn decide(ctx: &Context, task: &OutboundTask) -> Option<Claimant> {
    let mine = remote_task(ctx, task)?;
    let rivals: Vec<Claimant> = ctx
        .tasks
        .state()
        .iter()
        // The id first: the account is looked up only for the few that name this one.
        .filter(|other| other.remote_id().is_some_and(|id| mine.has_id(id)))
        .filter(|other| remote_task(ctx, other).as_ref() == Some(&mine))
        .map(|other| claimant(other))
        .collect();
    planner::holder(&claimant(task), &rivals).cloned()
}

/// The remote task `task` names, as the platform knows it; `None` without an id or without its
/// account (then it can make no call either).
fn remote_task(ctx: &Context, task: &OutboundTask) -> Option<RemoteTask> {
    let id = task.remote_id()?;
    let account = ctx
        .accounts
        .get(&ObjectRef::new(&task.spec.account_ref.name).within(&task.namespace()?))?;
    Some(RemoteTask::new(&account.spec.base_url, &account.spec.user_id, id))
}

fn claimant(task: &OutboundTask) -> Claimant {
    Claimant {
        created: task.meta().creation_timestamp.as_ref().map(|at| at.0),
        namespace: task.namespace().unwrap_or_default(),
        name: task.name_any(),
    }
}
