//! Which account a client, a metric or a limiter belongs to (apart from the pool, so that metrics
//! and the pool can both name it without needing each other).

use std::fmt;

/// Identity of an OutboundAccount.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountKey {
    pub namespace: String,
    pub name: String,
}

impl AccountKey {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        AccountKey {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}
