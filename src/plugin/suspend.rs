//! `kubectl outbound suspend|resume NAME|--all`: sets or clears `spec.suspend` with a merge
//! patch. An object a GitOps tool manages (its field managers name Argo CD or Flux) gets the
//! change too, with a warning: the next sync from Git undoes it unless Git says the same.

use anyhow::Context as _;
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;

use super::cluster::ClusterArgs;
use super::reconcile::FIELD_MANAGER;
use outbound_api::OutboundTask;

/// Field managers of GitOps tools, and the tool's name.
const GITOPS_MANAGERS: [(&str, &str); 4] = [
    ("argocd-controller", "Argo CD"),
    ("argocd-application-controller", "Argo CD"),
    ("kustomize-controller", "Flux"),
    ("helm-controller", "Flux"),
];

#[derive(clap::Args, Debug)]
pub struct SuspendArgs {
    /// The OutboundTask.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub name: Option<String>,
    /// Every OutboundTask of the namespace (or of every namespace with -A).
    #[arg(long)]
    pub all: bool,
}

pub async fn run(cluster: &ClusterArgs, args: SuspendArgs, suspend: bool) -> anyhow::Result<u8> {
    let cluster = cluster.connect().await?;
    let tasks: Vec<OutboundTask> = match &args.name {
        Some(name) => {
            let api: Api<OutboundTask> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
            vec![
                api.get_opt(name)
                    .await?
                    .with_context(|| format!("OutboundTask {}/{name} not found", cluster.namespace))?,
            ]
        }
        None => cluster.api().list(&ListParams::default()).await?.items,
    };
    let verb = if suspend { "suspended" } else { "resumed" };
    for task in &tasks {
        let namespace = task.namespace().unwrap_or_default();
        let api: Api<OutboundTask> = Api::namespaced(cluster.client.clone(), &namespace);
        let patch = json!({"spec": {"suspend": suspend}});
        api.patch(
            &task.name_any(),
            &PatchParams::apply(FIELD_MANAGER),
            &Patch::Merge(&patch),
        )
        .await
        .with_context(|| format!("patching OutboundTask {namespace}/{}", task.name_any()))?;
        println!("{namespace}/{} {verb}", task.name_any());
        if let Some(tool) = gitops_tool(task) {
            eprintln!(
                "warning: {namespace}/{} is managed by {tool}: its next sync from Git sets spec.suspend back \
                 to what Git says; change it in Git (or pause the sync) for it to last",
                task.name_any()
            );
        }
    }
    Ok(0)
}

/// The GitOps tool among the object's field managers, if any.
pub fn gitops_tool(task: &OutboundTask) -> Option<&'static str> {
    task.managed_fields().iter().find_map(|entry| {
        let manager = entry.manager.as_deref()?;
        GITOPS_MANAGERS
            .iter()
            .find(|(name, _)| *name == manager)
            .map(|(_, tool)| *tool)
    })
}
