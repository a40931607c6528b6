//! The operator's Prometheus metrics, parsed, and counter deltas between two scrapes.

use std::collections::BTreeMap;

/// A Prometheus text scrape: `name{labels}` -> value.
#[derive(Debug, Default, Clone)]
pub struct Scrape(BTreeMap<String, f64>);

impl Scrape {
    pub fn parse(text: &str) -> Self {
        Scrape(
            text.lines()
                .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
                .filter_map(|line| {
                    let (key, value) = line.rsplit_once(' ')?;
                    Some((key.to_string(), value.trim().parse().ok()?))
                })
                .collect(),
        )
    }

    /// `labels` -> (self - before) for the series of metric `name`.
    pub fn delta(&self, before: &Scrape, name: &str) -> BTreeMap<String, f64> {
        self.0
            .iter()
            .filter_map(|(key, value)| {
                let labels = key.strip_prefix(name)?;
                (labels.is_empty() || labels.starts_with('{'))
                    .then(|| (labels.to_string(), value - before.0.get(key).copied().unwrap_or(0.0)))
            })
            .collect()
    }
}

/// The value of `key` in `{a="x",b="y"}`.
pub fn label(labels: &str, key: &str) -> String {
    let pattern = format!("{key}=\"");
    labels
        .find(&pattern)
        .map(|start| {
            let rest = &labels[start + pattern.len()..];
            rest[..rest.find('"').unwrap_or(rest.len())].to_string()
        })
        .unwrap_or_default()
}
