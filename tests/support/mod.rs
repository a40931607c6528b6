//! Helpers for integration tests against a real kube-apiserver (the local control plane of
//! `scripts/envtest.sh`: etcd + kube-apiserver, no controller-manager). Include with `mod support;`.
//!
//! ```ignore
//! mod support;
//!
//! #[tokio::test]
//! async fn something() {
//!     let Some(client) = support::cluster().await else { return };
//!     support::ensure_crds(&client).await;
//!     let ns = support::test_namespace(&client, "something").await;
//!     // ...
//! }
//! ```
//!
//! `KUBECONFIG` must name the plane's kubeconfig (`make test` does it all; by hand:
//! `eval "$(scripts/envtest.sh up)"`). Without it the tests fail loudly, unless
//! `OUTBOUND_SKIP_CLUSTER_TESTS=1`, which makes them return early (for a quick unit-only run).
//!
//! What the plane cannot do: namespaces never finish deleting (so every test gets a fresh one and
//! nobody waits for deletion), there is no garbage collection and Pods never run.
#![allow(dead_code)]

pub mod apiproxy;

use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Api, DynamicObject, ObjectMeta, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::ApiResource;
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, Config, Resource, ResourceExt};
use outbound_api::{AccountRef, OutboundAccount, OutboundAccountSpec, OutboundTask, OutboundTaskSpec, TaskSettings};
use serde::Deserialize as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

pub mod extra_apiserver;
pub mod private_plane;

/// Field manager of everything the tests write.
pub const FIELD_MANAGER: &str = "outbound-operator-tests";
/// Main account id of the platform's documentation (and of the examples).
pub const USER_ID: &str = "5832d184-dd53-42a0-8ace-0bf8d660f4cc";
/// Line id of the platform's documentation (and of the examples).
pub const LINE_ID: &str = "d47c3599-f166-4cd0-999c-f60e46814d26";
/// Environment variable that makes cluster tests return early instead of failing.
pub const SKIP_ENV: &str = "OUTBOUND_SKIP_CLUSTER_TESTS";
/// Environment variable naming a CRD YAML file to apply instead of `crds/*.yaml` (to try a CRD
/// change before regenerating `crds/`).
pub const CRDS_ENV: &str = "OUTBOUND_TEST_CRDS";

const HOW_TO_START: &str = "KUBECONFIG is not set: integration tests need the local control plane.\n\
     Run everything with `make test`, or start it by hand:\n    \
     eval \"$(scripts/envtest.sh up)\"      # prints export KUBECONFIG=<repo>/.envtest/kubeconfig\n    \
     cargo test ...\n    \
     scripts/envtest.sh down\n\
     To skip the cluster tests on purpose: OUTBOUND_SKIP_CLUSTER_TESTS=1.";

/// The repository root (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether `OUTBOUND_SKIP_CLUSTER_TESTS=1` asks the cluster tests to return early.
pub fn skip_requested() -> bool {
    std::env::var(SKIP_ENV).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// A client for the test control plane, or `None` when `OUTBOUND_SKIP_CLUSTER_TESTS=1` (the test
/// should then return). Panics with instructions when KUBECONFIG is missing.
///
/// `let Some(client) = support::cluster().await else { return };`
pub async fn cluster() -> Option<Client> {
    if skip_requested() {
        eprintln!("{SKIP_ENV}=1: skipping a test that needs the control plane");
        return None;
    }
    Some(client().await)
}

/// A client built from the kubeconfig named by KUBECONFIG (only that file: never
/// ~/.kube/config or an in-cluster config, so tests cannot touch a real cluster by accident).
/// Panics with instructions when KUBECONFIG is absent.
pub async fn client() -> Client {
    client_of(&kubeconfig_path()).await
}

/// The path in KUBECONFIG (panics with instructions when it is absent).
pub fn kubeconfig_path() -> PathBuf {
    match std::env::var_os("KUBECONFIG") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => panic!("{HOW_TO_START}"),
    }
}

/// A client built from the kubeconfig at `path`, checked to answer.
pub async fn client_of(path: &Path) -> Client {
    // kube uses rustls with ring; install it as the process default once (idempotent).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kubeconfig = Kubeconfig::read_from(path)
        .unwrap_or_else(|e| panic!("cannot read KUBECONFIG={}: {e}\n{HOW_TO_START}", path.display()));
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("bad kubeconfig {}: {e}", path.display()));
    let client = Client::try_from(config).expect("kube client");
    // Fail here, with a clear message, if the plane is down (KUBECONFIG left over from a plane
    // that was stopped).
    if let Err(e) = client.apiserver_version().await {
        panic!(
            "the apiserver of KUBECONFIG={} does not answer: {e}\n\
             Is the plane up? `scripts/envtest.sh status`, or start it: `eval \"$(scripts/envtest.sh up)\"`",
            path.display()
        );
    }
    client
}

/// A short random lowercase suffix for names.
pub fn suffix() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..6)
        .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)]))
        .collect()
}

/// Create a fresh namespace `<prefix>-<random>` (labelled `outbound.dev/test=true`) and return
/// its name. Never deleted: without a controller-manager, deletion never completes.
pub async fn test_namespace(client: &Client, prefix: &str) -> String {
    let prefix: String = prefix
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(40)
        .collect();
    let name = format!("t-{}-{}", prefix.trim_matches('-'), suffix());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            labels: Some([("outbound.dev/test".to_string(), "true".to_string())].into()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap_or_else(|e| panic!("create namespace {name}: {e}"));
    name
}

static CRDS: OnceCell<()> = OnceCell::const_new();

/// The CRD documents to install: `$OUTBOUND_TEST_CRDS` if set, else every CustomResourceDefinition
/// in `crds/*.yaml` (other kinds, like crds/kustomization.yaml, are skipped).
pub fn crd_documents() -> Vec<CustomResourceDefinition> {
    let files: Vec<PathBuf> = match std::env::var_os(CRDS_ENV) {
        Some(f) if !f.is_empty() => vec![PathBuf::from(f)],
        _ => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join("crds"))
                .expect("crds/ exists")
                .map(|e| e.expect("dir entry").path())
                .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            files.sort();
            files
        }
    };
    let crds: Vec<CustomResourceDefinition> = files.iter().flat_map(|file| crds_in(file)).collect();
    assert!(!crds.is_empty(), "no CustomResourceDefinition found in crds/");
    crds
}

/// The CustomResourceDefinitions of one YAML file (its other kinds skipped).
pub fn crds_in(file: &Path) -> Vec<CustomResourceDefinition> {
    yaml_documents(file)
        .into_iter()
        .filter(|doc| doc.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition"))
        .map(|doc| {
            serde_json::from_value(doc)
                .unwrap_or_else(|e| panic!("{}: not a CustomResourceDefinition: {e}", file.display()))
        })
        .collect()
}

/// Every non-empty YAML document of a file, as JSON values.
pub fn yaml_documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{}: invalid YAML: {e}", path.display())))
        .filter(|v| !v.is_null())
        .collect()
}

/// Install the CRDs with server-side apply and wait until they are Established. Done once per
/// test binary; concurrent callers wait for the first. Panics with the apiserver's message if a
/// CRD is rejected (e.g. a CEL rule over its cost budget).
pub async fn ensure_crds(client: &Client) {
    CRDS.get_or_init(|| install_crds(client, crd_documents())).await;
}

/// Applies `crds` (server-side apply, replacing whatever version is installed) and waits until
/// they are Established and both kinds are served. Panics with the apiserver's message if one is
/// rejected.
pub async fn install_crds(client: &Client, crds: Vec<CustomResourceDefinition>) {
    let api = Api::<CustomResourceDefinition>::all(client.clone());
    let pp = PatchParams::apply(FIELD_MANAGER).force();
    for crd in crds {
        let name = crd.name_any();
        api.patch(&name, &pp, &Patch::Apply(&crd))
            .await
            .unwrap_or_else(|e| panic!("the apiserver rejected CRD {name}: {}", error_message(&e)));
        tokio::time::timeout(
            Duration::from_secs(30),
            await_condition(api.clone(), &name, conditions::is_crd_established()),
        )
        .await
        .unwrap_or_else(|_| panic!("CRD {name} not Established after 30s"))
        .unwrap_or_else(|e| panic!("watching CRD {name}: {e}"));
    }
    // Discovery of the new group can lag Established by a moment: wait until both kinds list.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let tasks = Api::<OutboundTask>::all(client.clone()).list(&Default::default()).await;
        let accounts = Api::<OutboundAccount>::all(client.clone())
            .list(&Default::default())
            .await;
        if tasks.is_ok() && accounts.is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "CRDs established but not served: {tasks:?} {accounts:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Create an Opaque Secret `name` with key `token`.
pub async fn create_token_secret(client: &Client, ns: &str, name: &str, token: &str) -> Secret {
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(ns.into()),
            ..Default::default()
        },
        string_data: Some([("token".to_string(), token.to_string())].into()),
        type_: Some("Opaque".into()),
        ..Default::default()
    };
    Api::<Secret>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &secret)
        .await
        .unwrap_or_else(|e| panic!("create Secret {ns}/{name}: {e}"))
}

/// An OutboundAccount as the examples write it (defaults filled by serde), not yet created.
pub fn account(name: &str, base_url: &str, secret_name: &str) -> OutboundAccount {
    let spec: OutboundAccountSpec = serde_json::from_value(json!({
        "baseUrl": base_url,
        "userId": USER_ID,
        "tokenSecretRef": {"name": secret_name, "key": "token"},
    }))
    .expect("valid account spec");
    OutboundAccount::new(name, spec)
}

/// Create an OutboundAccount `name` pointing at `base_url` with the token in Secret `secret_name`.
pub async fn create_account(
    client: &Client,
    ns: &str,
    name: &str,
    base_url: &str,
    secret_name: &str,
) -> OutboundAccount {
    create(client, ns, &account(name, base_url, secret_name)).await
}

/// A minimal valid `spec.task` (Unified script, one line, maxConcurrency 2).
pub fn task_settings_json(name: &str) -> Value {
    json!({
        "name": name,
        "scriptGroupId": 123,
        "maxConcurrency": 2,
        "dialTimeGroupId": 123,
        "schedule": {"startTime": "2024-12-23 19:00:00", "stopTime": "2025-12-25 23:59:59"},
        "lines": [{"id": LINE_ID, "limit": 2}],
    })
}

/// A minimal valid OutboundTask spec as JSON (for tests that send raw, possibly invalid, JSON).
pub fn task_spec_json(account: &str, task_id: &str) -> Value {
    json!({
        "accountRef": {"name": account},
        "taskId": task_id,
        "task": task_settings_json("test-task"),
    })
}

/// A whole OutboundTask object as JSON.
pub fn task_json(name: &str, account: &str, task_id: &str) -> Value {
    json!({
        "apiVersion": "outbound.dev/v1alpha1",
        "kind": "OutboundTask",
        "metadata": {"name": name},
        "spec": task_spec_json(account, task_id),
    })
}

/// A minimal valid OutboundTask (Rust types, serde defaults filled in), not yet created.
pub fn task(name: &str, account: &str, task_id: &str) -> OutboundTask {
    let spec: OutboundTaskSpec = serde_json::from_value(task_spec_json(account, task_id)).expect("valid task spec");
    OutboundTask::new(name, spec)
}

/// The same with the given settings.
pub fn task_with(name: &str, account: &str, task_id: &str, settings: TaskSettings) -> OutboundTask {
    let mut t = task(name, account, task_id);
    t.spec.account_ref = AccountRef { name: account.into() };
    t.spec.task = settings;
    t
}

/// Create an OutboundTask from the Rust type.
pub async fn create_task(client: &Client, ns: &str, task: &OutboundTask) -> OutboundTask {
    create(client, ns, task).await
}

/// Create an OutboundTask from raw JSON (a whole object: apiVersion, kind, metadata, spec).
/// Unknown fields are sent as they are (the apiserver prunes or rejects them).
pub async fn create_task_json(client: &Client, ns: &str, value: Value) -> Result<OutboundTask, kube::Error> {
    let obj = create_json::<OutboundTask>(client, ns, value, false).await?;
    Ok(serde_json::from_value(serde_json::to_value(obj).expect("serialise")).expect("an OutboundTask"))
}

/// Create an object of kind `K` from raw JSON, optionally as a server-side dry run. The JSON goes
/// to the apiserver untouched (no round trip through the Rust types, which would drop unknown
/// fields and fill defaults), so admission sees exactly what a user's YAML would send.
pub async fn create_json<K>(
    client: &Client,
    ns: &str,
    value: Value,
    dry_run: bool,
) -> Result<DynamicObject, kube::Error>
where
    K: Resource<DynamicType = ()>,
{
    let ar = ApiResource::erase::<K>(&());
    let api = Api::<DynamicObject>::namespaced_with(client.clone(), ns, &ar);
    let obj: DynamicObject = serde_json::from_value(value).expect("an object with apiVersion, kind, metadata");
    let pp = PostParams {
        dry_run,
        field_manager: Some(FIELD_MANAGER.into()),
    };
    api.create(&pp, &obj).await
}

/// Server-side apply of raw JSON with `fieldValidation=Strict` (unknown or duplicate fields are
/// errors, not warnings), optionally as a dry run.
pub async fn apply_json_strict<K>(
    client: &Client,
    ns: &str,
    value: &Value,
    dry_run: bool,
) -> Result<DynamicObject, kube::Error>
where
    K: Resource<DynamicType = ()>,
{
    let ar = ApiResource::erase::<K>(&());
    let api = Api::<DynamicObject>::namespaced_with(client.clone(), ns, &ar);
    let name = value["metadata"]["name"].as_str().expect("metadata.name");
    let mut pp = PatchParams::apply(FIELD_MANAGER).force().validation_strict();
    if dry_run {
        pp = pp.dry_run();
    }
    api.patch(name, &pp, &Patch::Apply(value)).await
}

/// Create any namespaced typed object.
pub async fn create<K>(client: &Client, ns: &str, obj: &K) -> K
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + Debug
        + Serialize
        + DeserializeOwned,
{
    Api::<K>::namespaced(client.clone(), ns)
        .create(
            &PostParams {
                dry_run: false,
                field_manager: Some(FIELD_MANAGER.into()),
            },
            obj,
        )
        .await
        .unwrap_or_else(|e| panic!("create {} {ns}/{}: {e}", K::kind(&()), obj.name_any()))
}

/// The message of an API error (the apiserver's Status message), or the error's text.
pub fn error_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => status.message.clone(),
        other => other.to_string(),
    }
}

/// Objects whose status carries metav1 Conditions.
pub trait HasConditions {
    fn conditions(&self) -> &[Condition];
    fn status_json(&self) -> Value;
}

impl HasConditions for OutboundTask {
    fn conditions(&self) -> &[Condition] {
        self.status
            .as_ref()
            .map(|s| s.conditions.as_slice())
            .unwrap_or_default()
    }
    fn status_json(&self) -> Value {
        serde_json::to_value(&self.status).unwrap_or(Value::Null)
    }
}

impl HasConditions for OutboundAccount {
    fn conditions(&self) -> &[Condition] {
        self.status
            .as_ref()
            .map(|s| s.conditions.as_slice())
            .unwrap_or_default()
    }
    fn status_json(&self) -> Value {
        serde_json::to_value(&self.status).unwrap_or(Value::Null)
    }
}

/// The condition `type_` of an object, if present.
pub fn condition<'a, K: HasConditions>(obj: &'a K, type_: &str) -> Option<&'a Condition> {
    obj.conditions().iter().find(|c| c.type_ == type_)
}

/// Poll (every 200 ms) until condition `type_` of object `name` has status `status` ("True",
/// "False", "Unknown"); return the object. On timeout, panic with the object's last status.
pub async fn wait_for_condition<K>(api: &Api<K>, name: &str, type_: &str, status: &str, timeout: Duration) -> K
where
    K: HasConditions + Resource + Clone + Debug + DeserializeOwned,
{
    wait_for(api, name, timeout, &format!("condition {type_}={status}"), |obj| {
        condition(obj, type_).is_some_and(|c| c.status == status)
    })
    .await
}

/// Poll (every 200 ms) until `pred` holds for object `name`; return it. On timeout, panic with
/// `what` and the object's last status (or the last error: e.g. NotFound).
pub async fn wait_for<K>(api: &Api<K>, name: &str, timeout: Duration, what: &str, pred: impl Fn(&K) -> bool) -> K
where
    K: HasConditions + Resource + Clone + Debug + DeserializeOwned,
{
    let deadline = Instant::now() + timeout;
    loop {
        let last: Result<K, String> = match api.get(name).await {
            Ok(obj) if pred(&obj) => return obj,
            Ok(obj) => Ok(obj),
            Err(e) => Err(e.to_string()),
        };
        if Instant::now() >= deadline {
            let last = match last {
                Ok(obj) => serde_json::to_string_pretty(&obj.status_json()).unwrap_or_default(),
                Err(e) => format!("(get failed: {e})"),
            };
            panic!("timed out after {timeout:?} waiting for {what} on {name}; last status:\n{last}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
