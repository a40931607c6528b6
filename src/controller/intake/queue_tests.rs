use super::*;

fn task(name: &str, status: serde_json::Value) -> OutboundTask {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "outbound.dev/v1alpha1", "kind": "OutboundTask",
        "metadata": {"name": name, "namespace": "ns", "generation": 2},
        "spec": {"accountRef": {"name": "a"}, "taskId": "f232d184-dd54-42a0-8ace-0bf8d660f4cc",
                 "task": {"name": "n", "scriptGroupId": 1, "maxConcurrency": 1, "dialTimeGroupId": 1,
                          "schedule": {"startTime": "2024-12-23 19:00:00"}}},
        "status": status,
    }))
    .unwrap()
}

/// A changed task of another account than "a".
fn changed_of(name: &str, account: &str) -> OutboundTask {
    let mut task = changed(name);
    task.spec.account_ref.name = account.into();
    task
}

fn in_sync(name: &str) -> OutboundTask {
    task(name, serde_json::json!({"observedGeneration": 2}))
}

fn changed(name: &str) -> OutboundTask {
    task(name, serde_json::json!({"observedGeneration": 1}))
}

fn paused_by_us(name: &str) -> OutboundTask {
    task(
        name,
        serde_json::json!({"observedGeneration": 2, "operation": {
            "phase": "Updating", "resumeAfter": true, "startedAt": "2026-01-01T00:00:00Z", "generation": 2}}),
    )
}

fn queue(workers: usize) -> (WorkQueue, Starts) {
    WorkQueue::new(workers, Arc::new(ControllerMetrics::default()))
}

/// The names kube-runtime has been asked to start since the last call.
fn started(starts: &mut Starts) -> Vec<String> {
    std::iter::from_fn(|| starts.try_recv().ok().map(|r| r.name)).collect()
}

#[test]
fn places_go_to_the_most_urgent_waiter_and_never_exceed_the_workers() {
    let (queue, mut starts) = queue(1);
    // A resync finds the only place free and takes it.
    let busy = queue.enter(&in_sync("busy")).expect("a free place");
    queue.offer(&in_sync("new-1"));
    queue.offer(&changed("changed"));
    queue.offer(&paused_by_us("journal"));
    queue.offer(&in_sync("new-2"));
    assert!(started(&mut starts).is_empty(), "one worker: nobody else starts yet");
    // A requeue due meanwhile is not run: it joins the line, last.
    assert!(queue.enter(&in_sync("busy-again")).is_none());
    drop(busy);

    let mut order = Vec::new();
    loop {
        let next = started(&mut starts);
        assert!(next.len() <= 1, "at most one place: {next:?}");
        let Some(name) = next.into_iter().next() else { break };
        let entered = queue.enter(&in_sync(&name)).expect("its place was reserved");
        order.push(name);
        drop(entered);
    }
    assert_eq!(order, ["journal", "changed", "new-1", "new-2", "busy-again"]);
}

#[test]
fn a_spec_change_moves_a_waiting_resync_up_and_it_waits_only_once() {
    let (queue, mut starts) = queue(1);
    // Reconciled once while nothing waited: their next reconciles are resyncs.
    for name in ["a", "b"] {
        drop(queue.enter(&in_sync(name)).unwrap());
    }
    let busy = queue.enter(&in_sync("busy")).unwrap();
    for name in ["a", "b"] {
        assert!(queue.enter(&in_sync(name)).is_none());
    }
    queue.offer(&in_sync("first"));
    queue.offer(&in_sync("b"));
    queue.offer(&changed("b"));
    drop(busy);
    let mut order = Vec::new();
    while let Some(name) = started(&mut starts).pop() {
        drop(queue.enter(&in_sync(&name)).unwrap());
        order.push(name);
    }
    assert_eq!(order, ["b", "first", "a"]);
}

#[test]
fn a_trigger_of_a_running_task_follows_it_instead_of_taking_a_second_place() {
    let (queue, mut starts) = queue(2);
    let (running, worker) = queue.enter(&in_sync("t")).unwrap();
    // The worker is given back early (an operation holding a campaign paused) and the spec
    // changes while the reconcile still runs.
    drop(worker);
    queue.offer(&changed("t"));
    assert_eq!(started(&mut starts), ["t"], "a follow-up start, held by kube-runtime");
    queue.offer(&in_sync("other"));
    queue.offer(&in_sync("third"));
    assert_eq!(
        started(&mut starts),
        ["other", "third"],
        "no place was reserved for the follow-up"
    );
    drop(running);
    // The follow-up begins once the running reconcile ended; both places are reserved.
    assert!(queue.enter(&changed("t")).is_none(), "it waits in line");
    drop(queue.enter(&in_sync("other")).unwrap());
    assert_eq!(started(&mut starts), ["t"]);
}

#[test]
fn a_start_of_a_deleted_task_hands_its_place_on_and_close_stops_everything() {
    let (queue, mut starts) = queue(1);
    let busy = queue.enter(&in_sync("busy")).unwrap();
    queue.offer(&in_sync("deleted"));
    queue.offer(&in_sync("later"));
    drop(busy);
    assert_eq!(started(&mut starts), ["deleted"]);
    // Offered again while its start is on the way: asked again, with no second place.
    queue.offer(&changed("deleted"));
    assert_eq!(started(&mut starts), ["deleted"]);
    queue.forget("ns", "deleted");
    assert_eq!(started(&mut starts), ["later"]);
    queue.forget("ns", "later-never-granted");
    queue.offer(&in_sync("waiting"));
    assert!(!queue.is_closed());
    queue.close();
    assert!(queue.is_closed(), "what waits for a maxPaused place sees the shutdown");
    assert!(queue.enter(&in_sync("later")).is_none());
    queue.offer(&changed("x"));
    assert!(started(&mut starts).is_empty());
}

/// Review D8: kube-runtime reads the object of a start when it turns it into a reconcile, which
/// may be before a newer object reaches the store and is offered; that reconcile then runs on
/// the older object. A trigger of a task whose start is on the way asks for a start again
/// (kube-runtime merges it with one not yet begun, and runs it after one already begun), so the
/// newer object is always reconciled.
#[test]
fn a_trigger_while_a_start_is_on_the_way_is_not_lost() {
    let (queue, mut starts) = queue(2);
    queue.offer(&in_sync("t"));
    assert_eq!(started(&mut starts), ["t"], "granted at once");
    // kube-runtime took `t` as it was; then its spec changed and was offered.
    queue.offer(&changed("t"));
    let running = queue.enter(&in_sync("t")).expect("the reserved place");
    assert_eq!(started(&mut starts), ["t"], "a start to follow the one on the way");
    drop(running);
}

/// Issue 23: one account's backlog must not be every account's queue. A reconcile waiting for
/// its account's budget holds no worker: the worker goes to other work, and an account with as
/// many budget waits as workers is passed over (its work waits as keys) until one ends.
#[test]
fn a_budget_wait_frees_the_worker_for_another_account() {
    let (queue, mut starts) = queue(1);
    let (_bulk_running, bulk_worker) = queue.enter(&changed_of("bulk-0", "bulk")).unwrap();
    for i in 1..=3 {
        queue.offer(&changed_of(&format!("bulk-{i}"), "bulk"));
    }
    queue.offer(&changed_of("small-0", "small"));
    assert!(started(&mut starts).is_empty(), "the one worker is busy");

    let bulk_waits = bulk_worker.wait_for_budget();
    assert_eq!(
        started(&mut starts),
        ["small-0"],
        "bulk waits for its budget as often as there are workers: small's turn, though it came later"
    );
    let (_running, small) = queue.enter(&changed_of("small-0", "small")).unwrap();
    assert!(
        queue.enter(&changed_of("bulk-4", "bulk")).is_none(),
        "a requeue of bulk joins the line"
    );
    drop(small);
    assert!(started(&mut starts).is_empty(), "bulk is passed over while it waits");
    drop(bulk_waits);
    assert_eq!(
        started(&mut starts),
        ["bulk-1"],
        "bulk's budget served: its work goes on"
    );
}
