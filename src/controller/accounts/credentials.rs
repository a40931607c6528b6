//! `OutboundAccount.status`: Ready when its token Secret exists and the platform accepted the
//! token on the last call made with it, and BudgetShared while other accounts reach the same
//! platform user. Written only when it changes (tasks of one account report the same thing, so
//! the account cache is compared first and most reconciles write nothing).

use std::collections::HashMap;
use std::sync::Mutex;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::reflector::{ObjectRef, Store};
use serde_json::json;

use outbound_api::{OutboundAccount, condition};
use outbound_core::planner::Failure;
use outbound_platform::{AccountKey, SharedBudget};

/// The field manager of the BudgetShared condition: apart from Ready's, so that each apply of
/// one leaves the other in place.
const BUDGET_FIELD_MANAGER: &str = "outbound-operator-budget";

/// An account (namespace, name) at a generation.
type ReportKey = (String, String, Option<i64>);

/// Writes the accounts' status, remembering what it last wrote to each (its own memo, so that
/// the tasks of one account do not all write the same status while the cache lags behind).
pub struct AccountReporter {
    client: Client,
    accounts: Store<OutboundAccount>,
    written: Mutex<HashMap<ReportKey, Credentials>>,
    /// The BudgetShared message last written to each account at a generation.
    budget_written: Mutex<HashMap<ReportKey, String>>,
}

/// What a reconcile learned about an account's credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// The platform answered a call made with the token (any answer but "unauthorized").
    Accepted,
    SecretNotFound,
    Unauthorized,
}

impl Credentials {
    /// What the outcome of a reconcile says about the credentials, if anything.
    pub fn from_outcome(reached_platform: bool, failure: Option<&Failure>) -> Option<Self> {
        match failure {
            Some(Failure::SecretNotFound) => Some(Self::SecretNotFound),
            Some(Failure::Unauthorized) => Some(Self::Unauthorized),
            _ if reached_platform => Some(Self::Accepted),
            _ => None,
        }
    }

    fn condition(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Accepted => (
                "True",
                "TokenAccepted",
                "the platform accepted the token on the last call",
            ),
            Self::SecretNotFound => ("False", "SecretNotFound", "the token Secret or its key does not exist"),
            Self::Unauthorized => ("False", "Unauthorized", "the platform refused the token"),
        }
    }
}

impl AccountReporter {
    pub fn new(client: Client, accounts: Store<OutboundAccount>) -> Self {
        AccountReporter {
            client,
            accounts,
            written: Mutex::new(HashMap::new()),
            budget_written: Mutex::new(HashMap::new()),
        }
    }

    /// Writes what a reconcile learned about `namespace/name`'s credentials, unless the status
    /// (or this process's last write at that generation) already says so.
    pub async fn report(&self, namespace: &str, name: &str, credentials: Credentials) {
        let Some(account) = self.accounts.get(&ObjectRef::new(name).within(namespace)) else {
            return;
        };
        let (status, reason, message) = credentials.condition();
        let current = account
            .status
            .as_ref()
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == condition::READY));
        if current.is_some_and(|c| c.status == status && c.reason == reason) {
            return;
        }
        // The cache shows our own write only once its watch event arrives; the tasks of one account
        // reconciling meanwhile must not all write the same status.
        let key = (namespace.to_string(), name.to_string(), account.metadata.generation);
        if self
            .written
            .lock()
            .expect("account report lock")
            .insert(key, credentials)
            == Some(credentials)
        {
            return;
        }
        let generation = account.metadata.generation;
        let ready = Condition {
            type_: condition::READY.into(),
            status: status.into(),
            reason: reason.into(),
            message: message.into(),
            observed_generation: generation,
            last_transition_time: Time(Timestamp::now()),
        };
        let patch = json!({
            "apiVersion": "outbound.dev/v1alpha1",
            "kind": "OutboundAccount",
            "status": {"observedGeneration": generation, "conditions": [ready]},
        });
        let api: Api<OutboundAccount> = Api::namespaced(self.client.clone(), namespace);
        let params = PatchParams::apply(crate::controller::writes::task_status::FIELD_MANAGER).force();
        if let Err(error) = api.patch_status(name, &params, &Patch::Apply(&patch)).await {
            // Forget it, so that the next reconcile tries again.
            self.written.lock().expect("account report lock").remove(&(
                namespace.to_string(),
                name.to_string(),
                generation,
            ));
            tracing::warn!(account = %format!("{namespace}/{name}"), %error, "could not write account status");
        }
    }

    /// Says on `account`'s status whether it shares its platform user's budget with other
    /// accounts, and which settings apply: True while it does, False once it no longer does
    /// (nothing is written to an account that never shared).
    pub async fn report_budget(&self, account: &AccountKey, budget: &SharedBudget) {
        let (namespace, name) = (&account.namespace, &account.name);
        let Some(cached) = self.accounts.get(&ObjectRef::new(name).within(namespace)) else {
            return;
        };
        let current = cached
            .status
            .as_ref()
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == condition::BUDGET_SHARED));
        let (status, reason, message) = match budget.is_shared() {
            true => ("True", "SharedWithOtherAccounts", budget.describe(account)),
            false if current.is_none() => return,
            false => (
                "False",
                "OwnBudget",
                "no other account reaches this platform user".to_string(),
            ),
        };
        if current.is_some_and(|c| c.status == status && c.message == message) {
            return;
        }
        let generation = cached.metadata.generation;
        let key = (namespace.clone(), name.clone(), generation);
        if self
            .budget_written
            .lock()
            .expect("budget report lock")
            .insert(key.clone(), message.clone())
            == Some(message.clone())
        {
            return;
        }
        let shared = Condition {
            type_: condition::BUDGET_SHARED.into(),
            status: status.into(),
            reason: reason.into(),
            message,
            observed_generation: generation,
            last_transition_time: Time(Timestamp::now()),
        };
        let patch = json!({
            "apiVersion": "outbound.dev/v1alpha1",
            "kind": "OutboundAccount",
            "status": {"conditions": [shared]},
        });
        let api: Api<OutboundAccount> = Api::namespaced(self.client.clone(), namespace);
        let params = PatchParams::apply(BUDGET_FIELD_MANAGER).force();
        if let Err(error) = api.patch_status(name, &params, &Patch::Apply(&patch)).await {
            self.budget_written.lock().expect("budget report lock").remove(&key);
            tracing::warn!(%account, %error, "could not write the account's BudgetShared condition");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_follow_the_outcome() {
        assert_eq!(Credentials::from_outcome(true, None), Some(Credentials::Accepted));
        assert_eq!(
            Credentials::from_outcome(true, Some(&Failure::TaskNotFound)),
            Some(Credentials::Accepted)
        );
        assert_eq!(
            Credentials::from_outcome(true, Some(&Failure::Unauthorized)),
            Some(Credentials::Unauthorized)
        );
        assert_eq!(
            Credentials::from_outcome(false, Some(&Failure::SecretNotFound)),
            Some(Credentials::SecretNotFound)
        );
        assert_eq!(Credentials::from_outcome(false, Some(&Failure::AccountNotFound)), None);
    }
}
