//! One budget per platform user (issue 23): the platform counts calls against a main account
//! (its base URL and user id), whatever token or OutboundAccount object they come from. Two
//! accounts that reach the same user (two namespaces of one team, a copy of the production
//! account) therefore draw on one rate limiter and one `maxPaused` count, at the tightest of
//! their settings.

use std::collections::BTreeSet;
use std::fmt;

use outbound_api::{OutboundAccountSpec, RateLimit};

use super::account::AccountKey;
use super::config::ClientConfig;

/// The main account on a platform that a call is counted against.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlatformUser {
    /// The base URL as the client uses it (trimmed, no trailing slash).
    pub base_url: String,
    pub user_id: String,
}

impl PlatformUser {
    pub fn of(config: &ClientConfig) -> Self {
        PlatformUser {
            base_url: config.base_url.clone(),
            user_id: config.user_id.clone(),
        }
    }
}

impl fmt::Display for PlatformUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "user {} at {}", self.user_id, self.base_url)
    }
}

/// What one account asks of its user's budget.
#[derive(Clone, Debug, PartialEq)]
pub struct Asked {
    pub user: PlatformUser,
    pub rate: RateLimit,
    pub max_paused: u32,
}

impl Asked {
    pub fn new(config: &ClientConfig, spec: &OutboundAccountSpec) -> Self {
        Asked {
            user: PlatformUser::of(config),
            rate: config.rate_limit.clone(),
            max_paused: spec.max_paused(),
        }
    }
}

/// The budget of one platform user as it applies to the accounts reaching it.
#[derive(Clone, Debug, PartialEq)]
pub struct SharedBudget {
    pub user: PlatformUser,
    /// Every account of this process reaching the user, this one included.
    pub accounts: BTreeSet<AccountKey>,
    /// The tightest of their rate limits (lowest rate, lowest burst).
    pub rate: RateLimit,
    /// The lowest of their `maxPaused`.
    pub max_paused: u32,
}

impl SharedBudget {
    /// The budget of `user` from what each account asks (`asks`: every account known).
    pub fn of<'a>(user: &PlatformUser, asks: impl IntoIterator<Item = (&'a AccountKey, &'a Asked)>) -> Option<Self> {
        let mut budget: Option<SharedBudget> = None;
        for (key, asked) in asks.into_iter().filter(|(_, asked)| asked.user == *user) {
            let budget = budget.get_or_insert_with(|| SharedBudget {
                user: user.clone(),
                accounts: BTreeSet::new(),
                rate: asked.rate.clone(),
                max_paused: asked.max_paused,
            });
            budget.accounts.insert(key.clone());
            budget.rate.requests_per_second = budget.rate.requests_per_second.min(asked.rate.requests_per_second);
            budget.rate.burst = budget.rate.burst.min(asked.rate.burst);
            budget.max_paused = budget.max_paused.min(asked.max_paused);
        }
        budget
    }

    /// Whether other accounts share it.
    pub fn is_shared(&self) -> bool {
        self.accounts.len() > 1
    }

    /// What an account's status says of it, e.g. "shares the budget of user … with ns/b:
    /// 5 requests/s, burst 1, maxPaused 25 (the tightest settings of the accounts)".
    pub fn describe(&self, account: &AccountKey) -> String {
        let others: Vec<String> = self
            .accounts
            .iter()
            .filter(|key| *key != account)
            .map(ToString::to_string)
            .collect();
        format!(
            "shares the budget of platform {} with {}: {} requests/s, burst {}, maxPaused {} (the tightest settings \
             of these accounts apply to all of them)",
            self.user,
            others.join(", "),
            self.rate.requests_per_second,
            self.rate.burst,
            self.max_paused
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(base_url: &str, rps: u32, burst: u32, max_paused: u32) -> Asked {
        Asked {
            user: PlatformUser {
                base_url: base_url.into(),
                user_id: "u".into(),
            },
            rate: RateLimit {
                requests_per_second: rps,
                burst,
            },
            max_paused,
        }
    }

    #[test]
    fn the_tightest_settings_of_the_accounts_of_one_user_apply() {
        let (a, b, c) = (
            AccountKey::new("team-a", "main"),
            AccountKey::new("team-b", "main"),
            AccountKey::new("team-c", "main"),
        );
        let asks = [
            (a.clone(), asked("http://p", 20, 1, 8)),
            (b.clone(), asked("http://p", 5, 3, 50)),
            (c.clone(), asked("http://other", 1, 1, 1)),
        ];
        let user = asks[0].1.user.clone();
        let budget = SharedBudget::of(&user, asks.iter().map(|(k, v)| (k, v))).unwrap();
        assert_eq!(budget.accounts, BTreeSet::from([a.clone(), b.clone()]));
        assert_eq!(
            (budget.rate.requests_per_second, budget.rate.burst, budget.max_paused),
            (5, 1, 8)
        );
        assert!(budget.is_shared());
        let said = budget.describe(&a);
        assert!(said.contains("team-b/main") && !said.contains("team-a/main"), "{said}");
        let alone = SharedBudget::of(&asks[2].1.user, asks.iter().map(|(k, v)| (k, v))).unwrap();
        assert!(!alone.is_shared());
    }
}
