//! `kubectl outbound plan -f FILE... [--cluster]`: the plan of `outbound-operator plan` (the same
//! code), and with `--cluster` what only the cluster knows: the accounts the files do not hold,
//! every account's token (from its Secret), the `status.taskId` of objects the operator created
//! (so a manifest without `taskId` plans no false create), and the objects the files no longer
//! hold (pruned by an apply with pruning).

use std::collections::BTreeSet;

use kube::ResourceExt;
use kube::api::{Api, ListParams};

use super::cluster::ClusterArgs;
use crate::cli::plan::{self, PlanArgs, Removed, Tokens};
use outbound_api::{OutboundTask, OutboundTaskStatus};

#[derive(clap::Args, Debug)]
pub struct PlanCommandArgs {
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Read accounts, tokens and the ids of tasks the operator created from the cluster.
    #[arg(long)]
    pub cluster: bool,
}

pub async fn run(cluster: &ClusterArgs, args: PlanCommandArgs) -> anyhow::Result<u8> {
    let args_plan = args.plan;
    if !args.cluster {
        return Ok(plan::run(args_plan).await);
    }
    let cluster = cluster.connect().await?;
    let Some(mut manifests) = plan::read(&args_plan.files, &cluster.namespace) else {
        return Ok(1);
    };
    let mut tokens = Tokens::new(
        args_plan.account_token_file.clone(),
        args_plan.token_file.clone(),
        args_plan.token.clone(),
    );
    let accounts: BTreeSet<(String, String)> = manifests
        .tasks
        .iter()
        .map(|t| (t.namespace().unwrap_or_default(), t.spec.account_ref.name.clone()))
        .collect();
    for (namespace, name) in &accounts {
        let in_files = manifests
            .accounts
            .iter()
            .any(|a| a.namespace().as_deref() == Some(namespace) && a.name_any() == *name);
        match cluster.account_and_token(namespace, name).await {
            Ok((account, token)) => {
                tokens.know(namespace, name, token);
                if !in_files {
                    manifests.accounts.push(account);
                }
            }
            // Its token may come from the flags; without one, its tasks say so.
            Err(error) => eprintln!("warning: {error:#}"),
        }
    }
    let mut namespaces = BTreeSet::new();
    for task in &mut manifests.tasks {
        let namespace = task.namespace().unwrap_or_default();
        namespaces.insert(namespace.clone());
        if task.spec.task_id.is_some() {
            continue;
        }
        let api: Api<OutboundTask> = Api::namespaced(cluster.client.clone(), &namespace);
        let created = api.get_opt(&task.name_any()).await?;
        if let Some(task_id) = created.and_then(|c| c.status).and_then(|s| s.task_id) {
            task.status = Some(OutboundTaskStatus {
                task_id: Some(task_id),
                ..OutboundTaskStatus::default()
            });
        }
    }
    let mut removed = Vec::new();
    for namespace in &namespaces {
        let api: Api<OutboundTask> = Api::namespaced(cluster.client.clone(), namespace);
        for object in api.list(&ListParams::default()).await?.items {
            let in_files = manifests
                .tasks
                .iter()
                .any(|t| t.namespace() == object.namespace() && t.name_any() == object.name_any());
            if !in_files {
                removed.push(Removed {
                    task: format!("{namespace}/{}", object.name_any()),
                    deletion_policy: object.spec.deletion_policy,
                });
            }
        }
    }
    Ok(plan::plan_and_print(args_plan.output, &manifests, tokens, removed).await)
}
