//! The journal of platform calls and the per-endpoint counters, and the redaction that keeps
//! tokens out of both.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Placeholder written wherever a token would have been recorded.
pub const REDACTED: &str = "[REDACTED]";

/// Name used in the journal and counters for calls that match no platform route.
pub const UNKNOWN_ENDPOINT: &str = "unknown";

/// Counter row that sums all endpoints.
pub const TOTAL_ROW: &str = "total";

/// Counter key holding the number of calls in a row.
pub const CALLS_KEY: &str = "calls";

/// Shortest secret redacted by substring search: replacing every occurrence of a one-letter
/// test token would garble paths without protecting anything real.
const MIN_REDACTED_SECRET_LEN: usize = 6;

/// Keys (query parameters or JSON object keys) whose values are always redacted.
const SENSITIVE_KEYS: [&str; 4] = ["token", "access_token", "authorization", "api_token"];

/// One platform call as recorded. The Authorization header is never recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Increases by one per call for the life of the simulator (clearing does not restart it).
    pub seq: u64,
    /// When the call arrived, RFC 3339 UTC with milliseconds.
    pub at: String,
    /// `detail`, `update`, `pause`, `resume`, `token`, `create`, `list`, `delete` or `unknown`.
    pub endpoint: String,
    pub method: String,
    pub path: String,
    /// Raw query string, `None` when the URL had none.
    pub query: Option<String>,
    /// Request body: its JSON, a JSON string holding the raw text when it was not JSON, or
    /// `None` when empty.
    pub body: Option<Value>,
    /// HTTP status answered; `None` for a hang (recorded when the hang starts).
    pub http_status: Option<u16>,
    /// Envelope `code` answered; `None` when the body was not an envelope.
    pub code: Option<i64>,
    /// Injected fault that shaped the answer: `rate_limited`, `throttled`, `error`,
    /// `malformed`, `hang`, `echo_headers`; `None` for a normal answer (latency is not listed).
    pub fault: Option<String>,
    /// Task id from the path, for task endpoints.
    pub task_id: Option<String>,
    /// The `User-Agent` header (the operator names its replica there), redacted like the path.
    #[serde(default)]
    pub user_agent: Option<String>,
}

impl JournalEntry {
    /// The counter key of this call: the envelope code when one was answered, else the fault
    /// label (`malformed`, `hang`, ...), else `http_<status>`.
    pub fn outcome(&self) -> String {
        match (self.code, &self.fault, self.http_status) {
            (Some(code), _, _) => code.to_string(),
            (None, Some(fault), _) => fault.clone(),
            (None, None, Some(status)) => format!("http_{status}"),
            (None, None, None) => "none".to_owned(),
        }
    }
}

/// Ring buffer of journal entries.
#[derive(Debug)]
pub(crate) struct Journal {
    entries: VecDeque<JournalEntry>,
    limit: usize,
    next_seq: u64,
}

impl Journal {
    pub fn new(limit: usize) -> Self {
        Journal {
            entries: VecDeque::new(),
            limit: limit.max(1),
            next_seq: 1,
        }
    }

    /// Appends an entry, numbering it, and drops the oldest beyond the limit.
    pub fn push(&mut self, mut entry: JournalEntry) -> u64 {
        entry.seq = self.next_seq;
        self.next_seq += 1;
        if self.entries.len() == self.limit {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
        self.next_seq - 1
    }

    pub fn entries(&self) -> Vec<JournalEntry> {
        self.entries.iter().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

/// Call counts: `{ "<endpoint>": {"calls": n, "<outcome>": n}, "total": {...} }`, where the
/// outcome is [`JournalEntry::outcome`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Counters(pub BTreeMap<String, BTreeMap<String, u64>>);

impl Counters {
    pub(crate) fn record(&mut self, endpoint: &str, outcome: &str) {
        for row in [endpoint, TOTAL_ROW] {
            let counts = self.0.entry(row.to_owned()).or_default();
            *counts.entry(CALLS_KEY.to_owned()).or_default() += 1;
            *counts.entry(outcome.to_owned()).or_default() += 1;
        }
    }

    /// Calls to `endpoint` (or `"total"`) with this outcome (or `"calls"` for all).
    pub fn get(&self, endpoint: &str, outcome: &str) -> u64 {
        self.0
            .get(endpoint)
            .and_then(|counts| counts.get(outcome))
            .copied()
            .unwrap_or(0)
    }

    /// All calls to `endpoint` (or `"total"`).
    pub fn calls(&self, endpoint: &str) -> u64 {
        self.get(endpoint, CALLS_KEY)
    }
}

/// Removes secrets from text recorded in the journal.
#[derive(Debug, Clone)]
pub(crate) struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// `secrets` are the accepted token and the bearer string the call presented.
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let secrets = secrets
            .into_iter()
            .filter(|secret| secret.len() >= MIN_REDACTED_SECRET_LEN)
            .map(str::to_owned)
            .collect();
        Redactor { secrets }
    }

    pub fn text(&self, text: &str) -> String {
        self.secrets
            .iter()
            .fold(text.to_owned(), |text, secret| text.replace(secret, REDACTED))
    }

    /// Redacts a query string: sensitive parameters lose their value, secrets are replaced.
    pub fn query(&self, query: &str) -> String {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if is_sensitive_key(key) => format!("{key}={REDACTED}"),
                _ => pair.to_owned(),
            })
            .collect();
        self.text(&pairs.join("&"))
    }

    pub fn value(&self, value: Value) -> Value {
        match value {
            Value::String(text) => Value::String(self.text(&text)),
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.value(v)).collect()),
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(key, value)| {
                        let value = if is_sensitive_key(&key) {
                            Value::String(REDACTED.to_owned())
                        } else {
                            self.value(value)
                        };
                        (self.text(&key), value)
                    })
                    .collect(),
            ),
            scalar => scalar,
        }
    }
}

fn is_sensitive_key(key: &str) -> bool {
    SENSITIVE_KEYS
        .iter()
        .any(|sensitive| key.eq_ignore_ascii_case(sensitive))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(code: Option<i64>, fault: Option<&str>, http_status: Option<u16>) -> JournalEntry {
        JournalEntry {
            seq: 0,
            at: String::new(),
            endpoint: "detail".into(),
            method: "GET".into(),
            path: "/".into(),
            query: None,
            body: None,
            http_status,
            code,
            fault: fault.map(str::to_owned),
            task_id: None,
            user_agent: None,
        }
    }

    #[test]
    fn ring_buffer_keeps_the_newest_and_numbers_monotonically() {
        let mut journal = Journal::new(3);
        for _ in 0..5 {
            journal.push(entry(Some(200), None, Some(200)));
        }
        let seqs: Vec<u64> = journal.entries().iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![3, 4, 5]);
        journal.clear();
        assert_eq!(journal.push(entry(None, None, None)), 6);
    }

    #[test]
    fn holds_a_hundred_thousand_entries() {
        let mut journal = Journal::new(crate::config::DEFAULT_JOURNAL_LIMIT);
        for _ in 0..100_000 {
            journal.push(entry(Some(200), None, Some(200)));
        }
        assert_eq!(journal.len(), 100_000);
        assert_eq!(journal.entries().last().map(|e| e.seq), Some(100_000));
    }

    #[test]
    fn outcome_prefers_code_then_fault_then_status() {
        assert_eq!(entry(Some(6007), None, Some(200)).outcome(), "6007");
        assert_eq!(entry(None, Some("hang"), None).outcome(), "hang");
        assert_eq!(entry(None, None, Some(503)).outcome(), "http_503");
    }

    #[test]
    fn counters_keep_a_total_row() {
        let mut counters = Counters::default();
        counters.record("detail", "200");
        counters.record("update", "6007");
        counters.record("update", "200");
        assert_eq!(counters.calls("update"), 2);
        assert_eq!(counters.get("update", "6007"), 1);
        assert_eq!(counters.calls(TOTAL_ROW), 3);
        assert_eq!(counters.get(TOTAL_ROW, "200"), 2);
    }

    #[test]
    fn redactor_removes_tokens_everywhere() {
        let redactor = Redactor::new(["secret-token", "x"]);
        assert_eq!(
            redactor.query("a=1&token=abc&b=secret-token"),
            format!("a=1&token={REDACTED}&b={REDACTED}")
        );
        let body = redactor.value(json!({"note": "has secret-token inside", "Authorization": "y", "x": 1}));
        assert_eq!(
            body,
            json!({"note": format!("has {REDACTED} inside"), "Authorization": REDACTED, "x": 1})
        );
        // Too-short secrets are not substituted.
        assert_eq!(redactor.text("x marks"), "x marks");
    }
}
