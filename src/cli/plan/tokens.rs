//! The platform token of each account `plan` reads: `--account-token-file [NAMESPACE/]NAME=PATH`
//! for one account, else `--token-file PATH`, else `OUTBOUND_TOKEN`. A repository often holds
//! several accounts (several main accounts, or the same one in several namespaces), each with its
//! own token. An account without a usable token is an error for its tasks only.

use std::collections::HashMap;
use std::path::PathBuf;

use kube::ResourceExt;

use outbound_api::OutboundAccount;
use outbound_platform::Token;

/// `--account-token-file [NAMESPACE/]NAME=PATH`.
#[derive(Clone, Debug)]
pub struct AccountTokenFile {
    /// `None`: the account of that name in any namespace.
    pub namespace: Option<String>,
    pub name: String,
    pub path: PathBuf,
}

impl std::str::FromStr for AccountTokenFile {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (account, path) = text
            .split_once('=')
            .ok_or_else(|| format!("{text:?} is not [NAMESPACE/]NAME=PATH"))?;
        let (namespace, name) = match account.split_once('/') {
            Some((namespace, name)) => (Some(namespace.to_string()), name),
            None => (None, account),
        };
        if name.is_empty() || path.is_empty() || namespace.as_deref() == Some("") {
            return Err(format!("{text:?} is not [NAMESPACE/]NAME=PATH"));
        }
        Ok(AccountTokenFile {
            namespace,
            name: name.to_string(),
            path: PathBuf::from(path),
        })
    }
}

impl AccountTokenFile {
    fn matches(&self, account: &OutboundAccount) -> bool {
        self.name == account.name_any()
            && self
                .namespace
                .as_ref()
                .is_none_or(|ns| Some(ns.as_str()) == account.namespace().as_deref())
    }

    fn flag(&self) -> String {
        let account = match &self.namespace {
            Some(namespace) => format!("{namespace}/{}", self.name),
            None => self.name.clone(),
        };
        format!("--account-token-file {account}={}", self.path.display())
    }
}

/// Where tokens come from, and the ones already read (each file is read once).
pub struct Tokens {
    per_account: Vec<AccountTokenFile>,
    /// Tokens read elsewhere (`kubectl outbound plan --cluster`: the accounts' Secrets), by
    /// `namespace/name`: after --account-token-file, before --token-file and OUTBOUND_TOKEN.
    known: HashMap<String, Token>,
    file: Option<PathBuf>,
    env: Option<Token>,
    read: HashMap<String, Result<Token, String>>,
}

impl Tokens {
    pub fn new(per_account: Vec<AccountTokenFile>, file: Option<PathBuf>, env: Option<Token>) -> Self {
        Tokens {
            per_account,
            known: HashMap::new(),
            file,
            env,
            read: HashMap::new(),
        }
    }

    /// Uses `token` for the account `namespace/name` unless --account-token-file names it.
    pub fn know(&mut self, namespace: &str, name: &str, token: Token) {
        self.known.insert(format!("{namespace}/{name}"), token);
    }

    /// The token of `account`, or why there is none (never the token itself).
    pub fn for_account(&mut self, account: &OutboundAccount) -> Result<Token, String> {
        let key = format!("{}/{}", account.namespace().unwrap_or_default(), account.name_any());
        if let Some(known) = self.read.get(&key) {
            return known.clone();
        }
        let token = self.resolve(account).map_err(|e| format!("OutboundAccount {key}: {e}"));
        self.read.insert(key, token.clone());
        token
    }

    fn resolve(&self, account: &OutboundAccount) -> Result<Token, String> {
        if let Some(own) = self.per_account.iter().rev().find(|f| f.matches(account)) {
            return read_file(&own.path).map_err(|e| format!("reading {}: {e}", own.flag()));
        }
        let key = format!("{}/{}", account.namespace().unwrap_or_default(), account.name_any());
        if let Some(token) = self.known.get(&key) {
            return Ok(token.clone());
        }
        if let Some(path) = &self.file {
            return read_file(path).map_err(|e| format!("reading --token-file {}: {e}", path.display()));
        }
        match &self.env {
            Some(token) if !token.expose().trim().is_empty() => Ok(Token::new(token.expose().trim().to_string())),
            Some(_) => Err("OUTBOUND_TOKEN is empty".into()),
            None => Err(format!(
                "no token: pass --account-token-file {}/{}=FILE, --token-file FILE or set OUTBOUND_TOKEN",
                account.namespace().unwrap_or_default(),
                account.name_any()
            )),
        }
    }
}

fn read_file(path: &std::path::Path) -> Result<Token, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let text = text.trim();
    if text.is_empty() {
        return Err("the file is empty".into());
    }
    Ok(Token::new(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(namespace: &str, name: &str) -> OutboundAccount {
        let text = include_str!("../../../manifests/examples/simulator/account.yaml");
        let mut account: OutboundAccount = serde_yaml::from_str(text).unwrap();
        account.metadata.namespace = Some(namespace.into());
        account.metadata.name = Some(name.into());
        account
    }

    #[test]
    fn each_account_gets_its_own_token_then_the_shared_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "tok-a\n").unwrap();
        std::fs::write(dir.path().join("b"), "tok-b").unwrap();
        let own: AccountTokenFile = format!("team-b/main={}", dir.path().join("b").display())
            .parse()
            .unwrap();
        let mut tokens = Tokens::new(vec![own], Some(dir.path().join("a")), None);
        assert_eq!(
            tokens.for_account(&account("team-a", "main")).unwrap().expose(),
            "tok-a"
        );
        assert_eq!(
            tokens.for_account(&account("team-b", "main")).unwrap().expose(),
            "tok-b"
        );
    }

    #[test]
    fn a_missing_token_names_the_account_and_the_flags() {
        let mut tokens = Tokens::new(Vec::new(), None, None);
        let error = tokens.for_account(&account("default", "other")).unwrap_err();
        assert!(
            error.starts_with("OutboundAccount default/other: no token: pass --account-token-file default/other=FILE"),
            "{error}"
        );
        let mut bad = Tokens::new(Vec::new(), Some("/nonexistent/token".into()), None);
        let error = bad.for_account(&account("default", "main")).unwrap_err();
        assert!(error.contains("reading --token-file /nonexistent/token"), "{error}");
    }

    #[test]
    fn the_flag_value_is_parsed_strictly() {
        for bad in ["main", "=x", "main=", "/main=x"] {
            assert!(bad.parse::<AccountTokenFile>().is_err(), "{bad}");
        }
        let any: AccountTokenFile = "main=/t".parse().unwrap();
        assert_eq!((any.namespace, any.name.as_str()), (None, "main"));
    }
}
