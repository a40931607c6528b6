//! Sharding in the style of Flux (`sharding.fluxcd.io/key`): each Deployment of the operator
//! watches only the OutboundTasks that match its `--watch-label-selector` (e.g.
//! `sharding.fluxcd.io/key=shard1`, and `!sharding.fluxcd.io/key` for the unlabelled remainder),
//! and elects its leader on a Lease of its own.
//!
//! The selector is parsed here (the Kubernetes label-selector grammar), so that a bad one stops
//! the process at start naming the flag, instead of every list and watch failing at run time. It
//! is kept in a canonical form (expressions sorted, duplicates dropped), so that two spellings of
//! the same share (`key=a` and `key==a`) mean the same Lease.

use std::fmt;

use kube::core::{Expression, Selector};
use kube::runtime::watcher;

/// The Lease of the operator when it is not sharded.
pub const DEFAULT_LEASE: &str = "outbound-operator-leader";
/// Lease annotation naming the share its holders reconcile: a replica of another share that finds
/// it (two shards given the same `--leader-election-id`) refuses to run instead of leaving one
/// share without a leader.
pub const LEASE_SHARE_ANNOTATION: &str = "outbound.dev/watch-label-selector";

/// A parsed `--watch-label-selector`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardSelector(Selector);

impl ShardSelector {
    /// Parses a label selector (`k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`,
    /// comma-separated: all must hold).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut expressions = split_requirements(text)?
            .into_iter()
            .map(requirement)
            .collect::<Result<Vec<_>, _>>()?;
        if expressions.is_empty() {
            return Err("empty selector: omit the flag to reconcile every OutboundTask".into());
        }
        expressions.sort();
        expressions.dedup();
        Ok(Self(expressions.into_iter().collect()))
    }

    pub fn selector(&self) -> &Selector {
        &self.0
    }
}

impl fmt::Display for ShardSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The watch of the OutboundTasks: only those of `shard`, when there is one.
pub fn only_shard(config: watcher::Config, shard: Option<&ShardSelector>) -> watcher::Config {
    match shard {
        Some(selector) => config.labels_from(selector.selector()),
        None => config,
    }
}

/// What the Lease annotation says for this share (empty: every task).
pub fn share_of(selector: Option<&ShardSelector>) -> String {
    selector.map(ToString::to_string).unwrap_or_default()
}

/// The Lease when `--leader-election-id` is not given: one name per watch scope (`--namespace`
/// and `--watch-label-selector`), whatever installed the operator (kustomize, Helm and its release
/// name, the sharding overlay), so that two installs of one scope in one namespace meet on one
/// Lease and never lead at once. The whole cluster, unsharded: [`DEFAULT_LEASE`]; otherwise a
/// readable name with a hash of the whole scope, so that two scopes never share a Lease. The
/// names of the cluster-wide shards are those every earlier version derived.
pub fn default_lease_name(namespace: Option<&str>, selector: Option<&ShardSelector>) -> String {
    let selector = selector.map(ToString::to_string);
    // The part of a selector after the last `/` carries the key's name and the values.
    let tail = |s: &String| s.rsplit('/').next().unwrap_or_default().to_owned();
    let (readable, canonical) = match (namespace, &selector) {
        (None, None) => return DEFAULT_LEASE.into(),
        (None, Some(selector)) => (tail(selector), selector.clone()),
        (Some(ns), None) => (ns.to_owned(), format!("namespace={ns}")),
        // The share first: the part cut off by the length limit is the namespace's.
        (Some(ns), Some(selector)) => (format!("{}-{ns}", tail(selector)), format!("namespace={ns};{selector}")),
    };
    let mut slug = String::new();
    for c in readable.to_ascii_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.truncate(24);
    let slug = slug.trim_end_matches('-');
    let hash = fnv1a(canonical.as_bytes()) as u32;
    if slug.is_empty() {
        format!("{DEFAULT_LEASE}-{hash:08x}")
    } else {
        format!("{DEFAULT_LEASE}-{slug}-{hash:08x}")
    }
}

/// FNV-1a (64 bit): stable across builds and Rust versions, unlike `DefaultHasher`, so every
/// version of the operator derives the same Lease name.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Splits on the commas that are not inside `( )`.
fn split_requirements(text: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0u32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' if depth == 0 => depth = 1,
            '(' => return Err(format!("nested '(' in {text:?}")),
            ')' if depth == 1 => depth = 0,
            ')' => return Err(format!("')' without '(' in {text:?}")),
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("'(' without ')' in {text:?}"));
    }
    parts.push(&text[start..]);
    if parts.len() == 1 && parts[0].trim().is_empty() {
        return Ok(Vec::new());
    }
    Ok(parts)
}

fn requirement(text: &str) -> Result<Expression, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("an empty requirement (two commas, or a comma at an end)".into());
    }
    if let Some(key) = text.strip_prefix('!') {
        return Ok(Expression::DoesNotExist(label_key(key.trim())?));
    }
    if let Some((head, rest)) = text.split_once('(') {
        let values = rest
            .strip_suffix(')')
            .ok_or_else(|| format!("{text:?}: text after ')'"))?
            .split(',')
            .map(|value| label_value(value.trim()))
            .collect::<Result<_, _>>()?;
        let head = head.trim_end();
        return if let Some(key) = head.strip_suffix("notin").filter(|k| k.ends_with(char::is_whitespace)) {
            Ok(Expression::NotIn(label_key(key.trim())?, values))
        } else if let Some(key) = head.strip_suffix("in").filter(|k| k.ends_with(char::is_whitespace)) {
            Ok(Expression::In(label_key(key.trim())?, values))
        } else {
            Err(format!("{text:?}: expected `KEY in (...)` or `KEY notin (...)`"))
        };
    }
    if let Some((key, value)) = text.split_once("!=") {
        return Ok(Expression::NotEqual(label_key(key.trim())?, label_value(value.trim())?));
    }
    if let Some((key, value)) = text.split_once("==").or_else(|| text.split_once('=')) {
        return Ok(Expression::Equal(label_key(key.trim())?, label_value(value.trim())?));
    }
    if text.contains(['<', '>']) {
        return Err(format!("{text:?}: `<` and `>` do not apply to labels of OutboundTasks"));
    }
    Ok(Expression::Exists(label_key(text)?))
}

/// A label key: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters.
fn label_key(key: &str) -> Result<String, String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        let subdomain = !prefix.is_empty()
            && prefix.len() <= 253
            && prefix
                .split('.')
                .all(|label| is_name(label, |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        if !subdomain {
            return Err(format!(
                "label key {key:?}: the prefix must be a DNS subdomain (like sharding.fluxcd.io)"
            ));
        }
    }
    if name.is_empty() || name.len() > 63 || !is_name(name, name_char) {
        return Err(format!(
            "label key {key:?}: the name must be 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        ));
    }
    Ok(key.into())
}

/// A label value: empty, or like a key's name.
fn label_value(value: &str) -> Result<String, String> {
    if value.is_empty() || (value.len() <= 63 && is_name(value, name_char)) {
        Ok(value.into())
    } else {
        Err(format!(
            "label value {value:?}: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        ))
    }
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// Non-empty, only `allowed` characters, alphanumeric at both ends.
fn is_name(text: &str, allowed: impl Fn(char) -> bool) -> bool {
    let ends = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    ends(text.chars().next()) && ends(text.chars().last()) && text.chars().all(allowed)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use kube::core::SelectorExt;

    use super::*;

    const KEY: &str = "sharding.fluxcd.io/key";

    fn parse(text: &str) -> ShardSelector {
        ShardSelector::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn flux_style_shards_and_the_remainder_split_the_tasks() {
        let shard1 = parse("sharding.fluxcd.io/key=shard1");
        let rest = parse("!sharding.fluxcd.io/key");
        let in_shard1 = labels(&[(KEY, "shard1"), ("app", "x")]);
        let in_shard2 = labels(&[(KEY, "shard2")]);
        let unlabelled = labels(&[("app", "x")]);
        assert!(shard1.selector().matches(&in_shard1));
        assert!(!shard1.selector().matches(&in_shard2) && !shard1.selector().matches(&unlabelled));
        assert!(rest.selector().matches(&unlabelled));
        assert!(!rest.selector().matches(&in_shard1) && !rest.selector().matches(&in_shard2));
    }

    #[test]
    fn every_operator_of_the_grammar_parses_to_its_canonical_form() {
        let cases = [
            ("k=v", "k=v"),
            (" k == v ", "k=v"),
            ("k!=v", "k!=v"),
            ("k in (b, a)", "k in (a,b)"),
            ("k notin (a)", "k notin (a)"),
            ("k", "k"),
            ("! k", "!k"),
            ("k=", "k="),
            ("b=1,a=2,b=1", "a=2,b=1"),
            ("env in (a,b),!x.io/y", "env in (a,b),!x.io/y"),
        ];
        for (text, canonical) in cases {
            assert_eq!(parse(text).to_string(), canonical, "{text:?}");
        }
    }

    #[test]
    fn bad_selectors_are_refused_with_what_is_wrong() {
        for bad in [
            "",
            " ",
            "k=v,",
            "k in a",
            "k in (a",
            "k in (a))",
            "k within (a)",
            "Bad_Prefix/k=v",
            "k=v v",
            "-k",
            "k>1",
            "k=(a)",
        ] {
            assert!(ShardSelector::parse(bad).is_err(), "{bad:?} was accepted");
        }
        let error = ShardSelector::parse("k=has space").unwrap_err();
        assert!(error.contains("\"has space\""), "{error}");
    }

    #[test]
    fn each_share_gets_its_own_lease_and_spellings_of_one_share_the_same() {
        assert_eq!(default_lease_name(None, None), DEFAULT_LEASE);
        let names: Vec<String> = [
            "sharding.fluxcd.io/key=shard1",
            "sharding.fluxcd.io/key=shard2",
            "sharding.fluxcd.io/key",
            "!sharding.fluxcd.io/key",
            "sharding.fluxcd.io/key in (shard1,shard2)",
        ]
        .iter()
        .map(|text| default_lease_name(None, Some(&parse(text))))
        .collect();
        let mut distinct = names.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), names.len(), "{names:?}");
        assert!(
            names[0].starts_with("outbound-operator-leader-key-shard1-"),
            "{}",
            names[0]
        );
        assert_eq!(
            default_lease_name(None, Some(&parse("sharding.fluxcd.io/key == shard1"))),
            names[0]
        );
        // The names are part of the contract: every version must derive the same.
        assert_eq!(names[0], "outbound-operator-leader-key-shard1-de21ff17");
        assert_eq!(names[3], "outbound-operator-leader-key-e434acc0");
        for name in &names {
            assert!(name.len() <= 63 && is_name(name, |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        }
        let long = parse(&format!(
            "{KEY} in ({})",
            (0..20).map(|i| format!("shard{i}")).collect::<Vec<_>>().join(",")
        ));
        assert!(default_lease_name(None, Some(&long)).len() <= 63);
    }

    /// One rule for every install method: the scope names the Lease, not a release name.
    #[test]
    fn a_namespaced_scope_gets_a_lease_of_its_own() {
        let team_a = default_lease_name(Some("team-a"), None);
        assert_eq!(team_a, "outbound-operator-leader-team-a-d4ec4a20");
        assert_ne!(team_a, default_lease_name(Some("team-b"), None));
        assert_ne!(team_a, default_lease_name(None, None));
        let sharded = default_lease_name(Some("team-a"), Some(&parse("sharding.fluxcd.io/key=shard1")));
        assert!(
            sharded.starts_with("outbound-operator-leader-key-shard1-team-a-"),
            "{sharded}"
        );
        assert_ne!(
            sharded,
            default_lease_name(None, Some(&parse("sharding.fluxcd.io/key=shard1")))
        );
        let long = default_lease_name(Some(&"n".repeat(63)), Some(&parse("sharding.fluxcd.io/key=shard1")));
        assert!(long.len() <= 63, "{long}");
    }
}
