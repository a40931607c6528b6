use super::*;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::reflector::{self, store::Writer};
use kube::runtime::watcher;
use outbound_api::{AccountRef, Operation, OperationPhase, OutboundTaskStatus};

fn task(name: &str, account: &str, journal: Option<bool>) -> OutboundTask {
    let mut spec = outbound_core::mapping::fixtures::spec();
    spec.account_ref = AccountRef { name: account.into() };
    let mut task = OutboundTask::new(name, spec);
    task.metadata.namespace = Some("ns".into());
    task.status = Some(OutboundTaskStatus {
        operation: journal.map(|resume_after| Operation {
            phase: OperationPhase::Updating,
            resume_after,
            started_at: Time(jiff::Timestamp::UNIX_EPOCH),
            generation: 1,
        }),
        ..Default::default()
    });
    task
}

fn cache(tasks: &[OutboundTask]) -> (Store<OutboundTask>, Writer<OutboundTask>) {
    let (store, mut writer) = reflector::store();
    for task in tasks {
        writer.apply_watcher_event(&watcher::Event::Apply(task.clone()));
    }
    (store, writer)
}

/// The budget of account ns/`name` alone, with `max_paused` places.
fn alone(name: &str, max_paused: u32) -> SharedBudget {
    SharedBudget {
        user: PlatformUser {
            base_url: "http://platform".into(),
            user_id: name.into(),
        },
        accounts: [AccountKey::new("ns", name)].into(),
        rate: Default::default(),
        max_paused,
    }
}

fn main(max_paused: u32) -> SharedBudget {
    alone("main", max_paused)
}

#[test]
fn never_more_places_than_the_limit_and_a_released_place_is_taken_again() {
    let (store, _writer) = cache(&[]);
    let slots = PauseSlots::default();
    let a = slots.try_take(&main(2), "ns/a", &store).expect("first");
    let _b = slots.try_take(&main(2), "ns/b", &store).expect("second");
    assert!(slots.try_take(&main(2), "ns/c", &store).is_none(), "a third place");
    assert!(
        slots.try_take(&alone("other", 2), "ns/c", &store).is_some(),
        "the limit is per account"
    );
    assert_eq!(slots.count(&main(2), &store), 2);
    drop(a);
    assert!(slots.try_take(&main(2), "ns/c", &store).is_some());
}

/// After a restart, nothing is held in memory: the journals in status still count, until they
/// clear. Journals of other accounts, and journals of tasks that stay paused, do not.
#[test]
fn journals_left_by_a_previous_process_count_until_they_clear() {
    let (store, mut writer) = cache(&[
        task("j1", "main", Some(true)),
        task("j2", "main", Some(true)),
        task("stays-paused", "main", Some(false)),
        task("elsewhere", "other", Some(true)),
        task("idle", "main", None),
    ]);
    let slots = PauseSlots::default();
    assert_eq!(slots.count(&main(2), &store), 2);
    assert!(slots.try_take(&main(2), "ns/new", &store).is_none());
    // A journaled task continuing its own operation already holds its place.
    assert!(slots.try_take(&main(2), "ns/j1", &store).is_some());

    writer.apply_watcher_event(&watcher::Event::Apply(task("j2", "main", None)));
    assert!(slots.try_take(&main(2), "ns/new", &store).is_some());
}

#[tokio::test]
async fn a_waiting_task_gets_the_place_once_it_is_released() {
    let (store, _writer) = cache(&[]);
    let slots = std::sync::Arc::new(PauseSlots::default());
    let held = slots.try_take(&main(1), "ns/a", &store).unwrap();
    let waiting = {
        let (slots, store) = (slots.clone(), store.clone());
        tokio::spawn(async move {
            let slot = slots.take(&main(1), "ns/b", &store, || true).await;
            assert!(slot.is_some());
        })
    };
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished());
    drop(held);
    tokio::time::timeout(Duration::from_millis(500), waiting)
        .await
        .expect("woken by the release, not the 1 s recheck")
        .unwrap();
}

#[tokio::test]
async fn a_wait_that_is_no_longer_wanted_ends_without_a_place() {
    let (store, _writer) = cache(&[]);
    let slots = PauseSlots::default();
    let _held = slots.try_take(&main(1), "ns/a", &store).unwrap();
    let wanted = std::sync::atomic::AtomicBool::new(true);
    let account = main(1);
    let waiting = slots.take(&account, "ns/b", &store, || {
        wanted.load(std::sync::atomic::Ordering::Relaxed)
    });
    tokio::pin!(waiting);
    assert!(
        tokio::time::timeout(Duration::from_millis(100), waiting.as_mut())
            .await
            .is_err(),
        "waits while wanted"
    );
    wanted.store(false, std::sync::atomic::Ordering::Relaxed);
    let ended = tokio::time::timeout(Duration::from_secs(3), waiting)
        .await
        .expect("ends at the next recheck");
    assert!(ended.is_none(), "no place taken");
    assert_eq!(slots.count(&main(1), &store), 1, "only the held place");
}
