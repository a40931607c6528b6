//! Cluster set-up: the kube client, the CRDs, namespaces with an account, creates and patches.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, ResourceExt};
use outbound_api::{OutboundAccount, OutboundTask};
use serde_json::{Value, json};

use crate::fixtures::USER_ID;

const FIELD_MANAGER: &str = "outbound-bench";
/// Creates and patches the bench itself keeps in flight.
const CLIENT_PARALLELISM: usize = 64;

pub async fn kube_client() -> anyhow::Result<Client> {
    let path = PathBuf::from(std::env::var_os("KUBECONFIG").context("KUBECONFIG")?);
    let kubeconfig = Kubeconfig::read_from(&path).with_context(|| format!("reading {}", path.display()))?;
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    let client = Client::try_from(config)?;
    client
        .apiserver_version()
        .await
        .with_context(|| format!("the apiserver of KUBECONFIG={} does not answer", path.display()))?;
    Ok(client)
}

pub async fn ensure_crds(client: &Client) -> anyhow::Result<()> {
    let text = outbound_api::crds_yaml();
    let api = Api::<CustomResourceDefinition>::all(client.clone());
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let value: Value = serde::Deserialize::deserialize(doc)?;
        if value.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition") {
            continue;
        }
        let crd: CustomResourceDefinition = serde_json::from_value(value)?;
        let name = crd.name_any();
        api.patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&crd))
            .await
            .with_context(|| format!("applying CRD {name}"))?;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let tasks = Api::<OutboundTask>::all(client.clone()).list(&Default::default()).await;
        let accounts = Api::<OutboundAccount>::all(client.clone())
            .list(&Default::default())
            .await;
        if tasks.is_ok() && accounts.is_ok() {
            return Ok(());
        }
        ensure!(Instant::now() < deadline, "CRDs not served after 60s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn create_namespace(client: &Client, name: &str) -> anyhow::Result<()> {
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some([("outbound.dev/bench".to_string(), "true".to_string())].into()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .with_context(|| format!("creating namespace {name}"))?;
    Ok(())
}

/// Namespace, token Secret and account `main` (rate limit `rps`, `burst`).
pub async fn setup_namespace(
    client: &Client,
    ns: &str,
    token: &str,
    base_url: &str,
    rps: u32,
    burst: u32,
) -> anyhow::Result<()> {
    create_namespace(client, ns).await?;
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some("platform-token".into()),
            ..Default::default()
        },
        string_data: Some([("token".to_string(), token.to_string())].into()),
        type_: Some("Opaque".into()),
        ..Default::default()
    };
    Api::<Secret>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &secret)
        .await
        .context("creating the token Secret")?;
    create_account(client, ns, "main", base_url, rps, burst).await
}

/// The OutboundAccount `name` in `ns`, on the Secret `platform-token` that `setup_namespace` makes.
pub async fn create_account(
    client: &Client,
    ns: &str,
    name: &str,
    base_url: &str,
    rps: u32,
    burst: u32,
) -> anyhow::Result<()> {
    let account: OutboundAccount = serde_json::from_value(json!({
        "apiVersion": "outbound.dev/v1alpha1",
        "kind": "OutboundAccount",
        "metadata": {"name": name},
        "spec": {
            "baseUrl": base_url,
            "userId": USER_ID,
            "tokenSecretRef": {"name": "platform-token", "key": "token"},
            "rateLimit": {"requestsPerSecond": rps, "burst": burst},
        },
    }))?;
    Api::<OutboundAccount>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &account)
        .await
        .with_context(|| format!("creating the OutboundAccount {name}"))?;
    Ok(())
}

pub async fn create_all(api: &Api<OutboundTask>, tasks: Vec<OutboundTask>) -> anyhow::Result<Duration> {
    let started = Instant::now();
    stream::iter(tasks)
        .map(|task| async move { api.create(&PostParams::default(), &task).await.map(drop) })
        .buffer_unordered(CLIENT_PARALLELISM)
        .try_collect::<Vec<()>>()
        .await
        .context("creating OutboundTasks")?;
    Ok(started.elapsed())
}

/// The change the benchmark makes: one field (the name) of every task's spec, so each needs
/// read, pause, update, resume.
pub async fn rename_every_task(api: &Api<OutboundTask>, tasks: &[OutboundTask]) -> anyhow::Result<Duration> {
    patch_all(
        api,
        tasks,
        |t| serde_json::json!({"spec": {"task": {"name": format!("{}-v2", t.spec.task.name)}}}),
    )
    .await
}

pub async fn patch_all(
    api: &Api<OutboundTask>,
    tasks: &[OutboundTask],
    patch: impl Fn(&OutboundTask) -> Value,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    stream::iter(tasks)
        .map(|task| {
            let body = patch(task);
            async move {
                api.patch(&task.name_any(), &PatchParams::default(), &Patch::Merge(&body))
                    .await
                    .map(drop)
            }
        })
        .buffer_unordered(CLIENT_PARALLELISM)
        .try_collect::<Vec<()>>()
        .await
        .context("patching OutboundTasks")?;
    Ok(started.elapsed())
}
