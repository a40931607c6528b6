//! The in-memory API server's own tests.

use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::reflector::ObjectRef;
use outbound_api::{OutboundTask, OutboundTaskSpec};

use super::*;

fn task(name: &str) -> OutboundTask {
    let spec: OutboundTaskSpec = serde_json::from_value(json!({
        "accountRef": {"name": "main"}, "taskId": "t-1",
        "task": {"name": "n", "scriptGroupId": 1, "maxConcurrency": 2, "dialTimeGroupId": 1,
                 "schedule": {"startTime": "2024-12-23 19:00:00", "stopTime": "2025-12-25 23:59:59"},
                 "lines": [{"id": "l", "limit": 2}]},
    }))
    .expect("a valid spec");
    OutboundTask::new(name, spec)
}

#[tokio::test]
async fn status_writes_test_the_uid_and_only_spec_changes_move_the_generation() {
    let fake = FakeKube::default();
    let api: Api<OutboundTask> = Api::namespaced(fake.client(), "ns");
    let created = api.create(&PostParams::default(), &task("a")).await.unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    let uid = created.metadata.uid.clone().unwrap();
    let status = |uid: &str| {
        let ops = json!([{"op": "test", "path": "/metadata/uid", "value": uid},
                         {"op": "add", "path": "/status", "value": {"observedGeneration": 1}}]);
        Patch::Json::<()>(serde_json::from_value(ops).unwrap())
    };
    let written = api
        .patch_status("a", &PatchParams::default(), &status(&uid))
        .await
        .unwrap();
    assert_eq!(written.status.unwrap().observed_generation, Some(1));
    assert_eq!(
        written.metadata.generation,
        Some(1),
        "a status write is not a new generation"
    );
    let refused = api.patch_status("a", &PatchParams::default(), &status("another")).await;
    assert!(
        matches!(&refused, Err(kube::Error::Api(s)) if s.code == 422),
        "{refused:?}"
    );
    let edit = Patch::Merge(json!({"spec": {"suspend": true}, "status": {"observedGeneration": 9}}));
    let edited = api.patch("a", &PatchParams::default(), &edit).await.unwrap();
    assert_eq!(edited.metadata.generation, Some(2));
    assert_eq!(
        edited.status.unwrap().observed_generation,
        Some(1),
        "the object's write keeps status"
    );
}

#[tokio::test]
async fn finalizers_hold_a_deletion_and_the_cache_follows() {
    let fake = FakeKube::default();
    let (tasks, _) = fake.caches();
    let api: Api<OutboundTask> = Api::namespaced(fake.client(), "ns");
    let mut theirs = task("a");
    theirs.metadata.finalizers = Some(vec!["example.com/x".into()]);
    api.create(&PostParams::default(), &theirs).await.unwrap();
    let apply = json!({"apiVersion": "outbound.dev/v1alpha1", "kind": "OutboundTask",
                       "metadata": {"name": "a", "finalizers": ["ours"]}});
    for _ in 0..2 {
        api.patch("a", &PatchParams::apply("m"), &Patch::Apply(&apply))
            .await
            .unwrap();
    }
    let key = ObjectRef::new("a").within("ns");
    assert_eq!(
        tasks.get(&key).unwrap().metadata.finalizers,
        Some(vec!["example.com/x".into(), "ours".into()])
    );
    api.delete("a", &DeleteParams::default()).await.unwrap();
    assert!(
        tasks.get(&key).unwrap().metadata.deletion_timestamp.is_some(),
        "held by its finalizers"
    );
    let remove = json!([{"op": "test", "path": "/metadata/finalizers/1", "value": "ours"},
                        {"op": "remove", "path": "/metadata/finalizers/1"},
                        {"op": "remove", "path": "/metadata/finalizers/0"}]);
    let remove = Patch::Json::<()>(serde_json::from_value(remove).unwrap());
    api.patch("a", &PatchParams::default(), &remove).await.unwrap();
    assert!(tasks.get(&key).is_none(), "gone once the finalizers are");
    assert!(fake.get("outboundtasks", "ns", "a").is_none());
}

#[tokio::test]
async fn the_gate_fails_writes_before_or_after_their_effect() {
    let fake = FakeKube::default();
    let api: Api<OutboundTask> = Api::namespaced(fake.client(), "ns");
    api.create(&PostParams::default(), &task("a")).await.unwrap();
    let edit = |n: i64| Patch::Merge(json!({"spec": {"task": {"maxConcurrency": n}}}));
    fake.set_gate(|seen| {
        if seen.is_write() {
            Verdict::FailBefore(503)
        } else {
            Verdict::Proceed
        }
    });
    assert!(api.patch("a", &PatchParams::default(), &edit(4)).await.is_err());
    assert_eq!(api.get("a").await.unwrap().spec.task.max_concurrency, 2, "no effect");
    fake.set_gate(|seen| {
        if seen.is_write() {
            Verdict::FailAfter(500)
        } else {
            Verdict::Proceed
        }
    });
    assert!(api.patch("a", &PatchParams::default(), &edit(4)).await.is_err());
    fake.clear_gate();
    assert_eq!(
        api.get("a").await.unwrap().spec.task.max_concurrency,
        4,
        "took effect, answer lost"
    );
}
