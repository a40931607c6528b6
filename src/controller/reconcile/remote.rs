//! A reconcile's connection to the platform for one task ([`Remote`]: the account's client, the
//! token, the account), how it is made (`connect`), and the one read every path starts from.

use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;

use super::error::Error;
use crate::controller::accounts::tokens::TokenError;
use crate::controller::context::Context;
use outbound_api::{OutboundAccountSpec, OutboundTask};
use outbound_core::planner::{Failure, Observed};
use outbound_platform::{AccountKey, ClientPool, PlatformClient, RemoteError, Token};

/// Everything needed to talk to the platform for one task.
pub struct Remote {
    pub client: Arc<PlatformClient>,
    pub token: Token,
    pub key: AccountKey,
    pub secret_name: String,
    /// The platform user the account reaches (`planner::platform_user`).
    pub platform: String,
}

/// Finds the account, reads the token, picks the account's platform client.
pub async fn connect(ctx: &Context, task: &OutboundTask, namespace: &str) -> Result<Result<Remote, Failure>, Error> {
    let account_name = &task.spec.account_ref.name;
    // The account cache fills as the controller runs; never call an account missing merely
    // because it has not been listed yet.
    ctx.accounts_listed().await;
    let Some(account) = ctx.accounts.get(&ObjectRef::new(account_name).within(namespace)) else {
        return Ok(Err(Failure::AccountNotFound));
    };
    let token = match ctx
        .tokens
        .token(&ctx.client, namespace, &account.spec.token_secret_ref)
        .await
    {
        Ok(token) => token,
        Err(TokenError::Kube { source, .. }) => return Err(Error::Kube(source)),
        Err(error) => {
            tracing::debug!(task = %task.name_any(), %error, "token unavailable");
            return Ok(Err(Failure::SecretNotFound));
        }
    };
    let remote = remote_for(
        &ctx.pool,
        AccountKey::new(namespace, account_name),
        &account.spec,
        token,
    );
    Ok(remote.map(|remote| Remote {
        // Writes for this task stop once it leaves this process's watch (another shard's).
        client: Arc::new(remote.client.for_task({
            let (tasks, object) = (ctx.tasks.clone(), ObjectRef::from_obj(task));
            move || tasks.get(&object).is_some()
        })),
        ..remote
    }))
}

/// The account's platform client with `token`, from the pool: the part of [`connect`] that needs
/// no Kubernetes object, shared with `plan`.
pub fn remote_for(
    pool: &ClientPool,
    key: AccountKey,
    account: &OutboundAccountSpec,
    token: Token,
) -> Result<Remote, Failure> {
    match pool.client_for(&key, account) {
        Ok(client) => Ok(Remote {
            client,
            token,
            secret_name: account.token_secret_ref.name.clone(),
            platform: outbound_core::planner::platform_user(&account.base_url, &account.user_id),
            key,
        }),
        Err(error) => Err(Failure::InvalidAccount(format!(
            "OutboundAccount {}: {error}",
            key.name
        ))),
    }
}

/// The remote task of `task`, read and mapped.
pub async fn read(remote: &Remote, task: &OutboundTask) -> Result<Observed, RemoteError> {
    let detail = remote
        .client
        .detail(
            &remote.token,
            task.remote_id().unwrap_or_default(),
            task.spec.sub_user_id.as_deref(),
        )
        .await?;
    Ok(Observed::from_detail(&detail))
}

/// After the platform refused the token, read the Secret again next time even if its watch
/// reported no change (the watch may lag behind a rotation).
pub fn forget_refused_token(ctx: &Context, remote: &Remote, namespace: &str, failure: &Failure) {
    if *failure == Failure::Unauthorized {
        ctx.tokens.invalidate(namespace, &remote.secret_name);
        ctx.pool.remove(&remote.key);
    }
}
