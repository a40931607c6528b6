//! `kubectl outbound import`: one `OutboundTask` per remote task of an account, exactly as each
//! runs now, so that applying the output makes the operator adopt every campaign with reads only.
//! Every task is listed (all pages) and read once, within the account's rate budget (the
//! operator's own client and limiter).

mod manifest;
mod names;
mod progress;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use futures::StreamExt as _;
use kube::ResourceExt;

use super::cluster::ClusterArgs;
use crate::cli::manifests::schema::Schema;
use manifest::{Imported, Manifest, Target};
use outbound_api::{Mode, OutboundAccountSpec, OutboundTask};
use outbound_platform::{AccountKey, ClientPool, PlatformClient, RemoteMetrics, Token};

/// Exit code when some tasks could not be imported (the others were written).
pub const SOME_NOT_IMPORTED: u8 = 3;

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The OutboundAccount (in -n's namespace) whose tasks to import; with --base-url, the name
    /// the manifests' accountRef gets.
    #[arg(long, default_value = "main")]
    pub account: String,
    /// Import the tasks of this sub-account (spec.subUserId is set to it).
    #[arg(long, value_name = "ID")]
    pub sub_user_id: Option<String>,
    /// Only tasks whose name contains TEXT.
    #[arg(long, value_name = "TEXT")]
    pub name_filter: Option<String>,
    /// Write one file per task and a kustomization.yaml here, instead of YAML on stdout.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// spec.mode of the manifests: Enforce (the operator corrects drift from then on) or Observe.
    #[arg(long, value_enum, default_value_t = ImportMode::Enforce)]
    pub mode: ImportMode,
    /// Without a cluster: the platform's base URL (then --user-id and --token-file too).
    #[arg(long, requires_all = ["user_id", "token_file"])]
    pub base_url: Option<String>,
    /// Without a cluster: the main account's id.
    #[arg(long, requires = "base_url")]
    pub user_id: Option<String>,
    /// Without a cluster: a file holding the platform token.
    #[arg(long, requires = "base_url")]
    pub token_file: Option<PathBuf>,
    /// Without a cluster: the account's budget, requests per second.
    #[arg(long, default_value_t = 10, requires = "base_url")]
    pub requests_per_second: u32,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportMode {
    Enforce,
    Observe,
}

/// Where the tasks are read from.
struct Source {
    client: Arc<PlatformClient>,
    token: Token,
    namespace: Option<String>,
    rate: u32,
}

pub async fn run(cluster: &ClusterArgs, args: ImportArgs) -> anyhow::Result<u8> {
    let source = source(cluster, &args).await?;
    let target = Target {
        namespace: source.namespace.clone(),
        account: args.account.clone(),
        sub_user_id: args.sub_user_id.clone(),
        mode: match args.mode {
            ImportMode::Enforce => Mode::Enforce,
            ImportMode::Observe => Mode::Observe,
        },
    };
    let sub = args.sub_user_id.as_deref();
    let progress = progress::Progress::new();
    let listing = progress.listing();
    let listed = source
        .client
        .list_all(&source.token, args.name_filter.as_deref(), sub, |n| {
            listing.set_position(n as u64)
        })
        .await
        .context("listing the account's tasks")?;
    listing.finish_and_clear();
    let mut failures: Vec<(String, String)> = Vec::new();
    let mut tasks: Vec<(String, String)> = Vec::new();
    for item in listed {
        let name = item.name.unwrap_or_default();
        let keep = args.name_filter.as_deref().is_none_or(|f| name.contains(f));
        match item.uuid {
            None => failures.push((format!("{name:?}"), "listed without an id".into())),
            // A task that moved between two pages while they were read is listed twice.
            Some(id) if keep && !tasks.iter().any(|(seen, _)| *seen == id) => tasks.push((id, name)),
            Some(_) => {}
        }
    }
    tasks.sort();
    let reading = progress.reading(tasks.len());
    let schema = Schema::of::<OutboundTask>()?;
    let concurrency = source.rate.clamp(1, 16) as usize;
    let reads = futures::stream::iter(tasks.iter().map(|(id, _)| {
        let (client, token) = (&source.client, &source.token);
        async move { (id, client.detail(token, id, sub).await) }
    }))
    .buffered(concurrency)
    .inspect(|_| reading.inc(1))
    .collect::<Vec<_>>()
    .await;
    reading.finish_and_clear();
    // Names over every listed task, imported or not: a task fixed later keeps the name it would
    // have had, and so do the others.
    let pairs: Vec<(&str, &str)> = tasks.iter().map(|(id, name)| (id.as_str(), name.as_str())).collect();
    let names = names::object_names(&pairs);
    let namespace = target.namespace.as_deref();
    let mut documents: Vec<(String, String)> = Vec::new();
    for (((id, name), object_name), (_, read)) in tasks.iter().zip(&names).zip(reads) {
        let outcome = read
            .map_err(|e| format!("reading it: {e}"))
            .and_then(|detail| manifest::import(&schema, &target, id, &detail));
        match outcome {
            Ok(Imported { spec, dropped, notes }) => {
                for line in dropped.iter().chain(&notes) {
                    eprintln!("{object_name} ({id}): {line}");
                }
                documents.push((object_name.clone(), Manifest::new(object_name, namespace, &spec).yaml()));
            }
            Err(reason) => failures.push((format!("{id} ({name:?})"), reason)),
        }
    }
    documents.sort();
    write(&args, &documents)?;
    eprintln!(
        "imported {} of {} task(s){}",
        documents.len(),
        documents.len() + failures.len(),
        args.output_dir
            .as_ref()
            .map(|d| format!(" into {}", d.display()))
            .unwrap_or_default()
    );
    if failures.is_empty() {
        return Ok(0);
    }
    eprintln!("not imported:");
    for (task, reason) in &failures {
        eprintln!("  {task}: {reason}");
    }
    Ok(SOME_NOT_IMPORTED)
}

/// The account and token: from the flags when --base-url is given, else from the cluster.
async fn source(cluster: &ClusterArgs, args: &ImportArgs) -> anyhow::Result<Source> {
    let (key, spec, token, namespace) = match (&args.base_url, &args.user_id, &args.token_file) {
        (Some(base_url), Some(user_id), Some(token_file)) => {
            let spec: OutboundAccountSpec = serde_json::from_value(serde_json::json!({
                "baseUrl": base_url,
                "userId": user_id,
                "tokenSecretRef": {"name": "unused"},
                "rateLimit": {"requestsPerSecond": args.requests_per_second},
            }))
            .context("--base-url, --user-id, --requests-per-second")?;
            let text = std::fs::read_to_string(token_file)
                .with_context(|| format!("reading --token-file {}", token_file.display()))?;
            anyhow::ensure!(
                !text.trim().is_empty(),
                "--token-file {} is empty",
                token_file.display()
            );
            let key = AccountKey::new(cluster.namespace.clone().unwrap_or_default(), &args.account);
            (
                key,
                spec,
                Token::new(text.trim().to_string()),
                cluster.namespace.clone(),
            )
        }
        _ => {
            let cluster = cluster.connect().await?;
            let (account, token) = cluster.account_and_token(&cluster.namespace, &args.account).await?;
            let key = AccountKey::new(cluster.namespace.clone(), account.name_any());
            (key, account.spec, token, Some(cluster.namespace.clone()))
        }
    };
    let pool = ClientPool::new(Arc::new(RemoteMetrics::new())).context("building the HTTP client")?;
    let client = pool
        .client_for(&key, &spec)
        .with_context(|| format!("OutboundAccount {}", key.name))?;
    Ok(Source {
        client,
        token,
        namespace,
        rate: spec.rate_limit.requests_per_second,
    })
}

/// The documents on stdout (multi-document YAML), or one file each plus a kustomization.yaml.
fn write(args: &ImportArgs, documents: &[(String, String)]) -> anyhow::Result<()> {
    let Some(dir) = &args.output_dir else {
        let joined: Vec<&str> = documents.iter().map(|(_, text)| text.as_str()).collect();
        print!("{}", joined.join("---\n"));
        return Ok(());
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating --output-dir {}", dir.display()))?;
    let mut resources = Vec::new();
    for (name, text) in documents {
        let file = format!("{name}.yaml");
        std::fs::write(dir.join(&file), text).with_context(|| format!("writing {}", dir.join(&file).display()))?;
        resources.push(file);
    }
    let kustomization = serde_yaml::to_string(&serde_json::json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    }))?;
    std::fs::write(dir.join("kustomization.yaml"), kustomization).context("writing kustomization.yaml")?;
    Ok(())
}
