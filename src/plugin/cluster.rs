//! The cluster of KUBECONFIG, as kubectl finds it (`--kubeconfig`, `--context`, `-n`, `-A`), and
//! what the plugin reads there: accounts and their tokens (through the operator's own
//! [`TokenCache`], so the plugin reads a Secret exactly as the operator does).

use std::path::PathBuf;

use anyhow::Context as _;
use kube::api::Api;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::controller::TokenCache;
use outbound_api::OutboundAccount;
use outbound_platform::Token;

/// kubectl's flags for finding the cluster and the namespace.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ClusterArgs {
    /// Path to the kubeconfig file (default: KUBECONFIG, then ~/.kube/config).
    #[arg(long, global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// Namespace (default: the context's namespace, else `default`).
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
    /// Every namespace (status, suspend/resume --all).
    #[arg(short = 'A', long, global = true, conflicts_with = "namespace")]
    pub all_namespaces: bool,
}

/// A client of the cluster and the namespace the command works in.
pub struct Cluster {
    pub client: Client,
    /// The namespace of `-n`, else the context's; unused with `-A`.
    pub namespace: String,
    pub all_namespaces: bool,
}

impl ClusterArgs {
    /// Connects as kubectl would with these flags.
    pub async fn connect(&self) -> anyhow::Result<Cluster> {
        let options = KubeConfigOptions {
            context: self.context.clone(),
            ..KubeConfigOptions::default()
        };
        let config = match &self.kubeconfig {
            Some(path) => {
                let kubeconfig =
                    Kubeconfig::read_from(path).with_context(|| format!("reading --kubeconfig {}", path.display()))?;
                Config::from_custom_kubeconfig(kubeconfig, &options).await
            }
            None => Config::from_kubeconfig(&options).await,
        }
        .context("loading the kubeconfig (set KUBECONFIG or pass --kubeconfig)")?;
        let namespace = self
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        let client = Client::try_from(config).context("building the Kubernetes client")?;
        Ok(Cluster {
            client,
            namespace,
            all_namespaces: self.all_namespaces,
        })
    }
}

impl Cluster {
    /// The API of `K` in the command's namespace, or in every namespace with `-A`.
    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = kube::core::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        if self.all_namespaces {
            Api::all(self.client.clone())
        } else {
            Api::namespaced(self.client.clone(), &self.namespace)
        }
    }

    /// The account `name` of `namespace`, with its token read from its Secret.
    pub async fn account_and_token(&self, namespace: &str, name: &str) -> anyhow::Result<(OutboundAccount, Token)> {
        let accounts: Api<OutboundAccount> = Api::namespaced(self.client.clone(), namespace);
        let account = accounts
            .get_opt(name)
            .await
            .with_context(|| format!("reading OutboundAccount {namespace}/{name}"))?
            .with_context(|| format!("OutboundAccount {namespace}/{name} not found"))?;
        let token = TokenCache::default()
            .token(&self.client, namespace, &account.spec.token_secret_ref)
            .await
            .with_context(|| format!("the token of OutboundAccount {namespace}/{name}"))?;
        Ok((account, token))
    }
}
