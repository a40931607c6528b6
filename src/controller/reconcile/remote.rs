//! A reconcile's connection to the platform for one task ([`Remote`]: the account's client, the
//! token, the account), how it is made (`connect`), the one read every path starts from, and the
//! errors a reconcile returns. Shared by reconcile, executor, creator, finalizer and rolling, so
//! none of them needs another's module.

use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;

use crate::controller::accounts::tokens::TokenError;
use crate::controller::context::Context;
use outbound_api::{OutboundAccountSpec, OutboundTask, OutboundTaskStatus};
use outbound_core::planner::{Failure, Observed};
use outbound_platform::{AccountKey, ClientPool, ErrorKind, PlatformClient, RemoteError, Token};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("object has no namespace")]
    NoNamespace,
}

/// Everything needed to talk to the platform for one task.
pub struct Remote {
    pub client: Arc<PlatformClient>,
    pub token: Token,
    pub key: AccountKey,
    pub secret_name: String,
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

/// The planner's classification of a platform error.
pub fn failure_of(error: &RemoteError) -> Failure {
    match error.kind() {
        ErrorKind::Unauthorized => Failure::Unauthorized,
        ErrorKind::NotFound => Failure::TaskNotFound,
        ErrorKind::Throttled => Failure::Throttled,
        ErrorKind::Rejected => Failure::Rejected(error.message().to_string()),
        ErrorKind::TaskStarted | ErrorKind::Transient | ErrorKind::Fenced => Failure::Transient(error.to_string()),
    }
}

/// After the platform refused the token, read the Secret again next time even if its watch
/// reported no change (the watch may lag behind a rotation).
pub fn forget_refused_token(ctx: &Context, remote: &Remote, namespace: &str, failure: &Failure) {
    if *failure == Failure::Unauthorized {
        ctx.tokens.invalidate(namespace, &remote.secret_name);
        ctx.pool.remove(&remote.key);
    }
}

/// A Warning event when a failure appears or changes, not on every retry of the same one (the
/// Events are only published when something happened).
pub fn failure_is_new(previous: &OutboundTaskStatus, new: &OutboundTaskStatus) -> bool {
    let synced = |s: &OutboundTaskStatus| {
        s.conditions
            .iter()
            .find(|c| c.type_ == outbound_api::condition::SYNCED)
            .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
    };
    synced(previous) != synced(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_errors_map_to_their_reasons() {
        use outbound_platform::Endpoint;
        let error = |kind| RemoteError::new(kind, Endpoint::Detail, Some(200), Some(1), "msg", None);
        assert_eq!(failure_of(&error(ErrorKind::NotFound)), Failure::TaskNotFound);
        assert_eq!(failure_of(&error(ErrorKind::Unauthorized)), Failure::Unauthorized);
        assert_eq!(failure_of(&error(ErrorKind::Rejected)), Failure::Rejected("msg".into()));
        assert!(matches!(
            failure_of(&error(ErrorKind::Transient)),
            Failure::Transient(_)
        ));
    }
}
