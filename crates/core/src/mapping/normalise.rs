//! Canonical forms shared by the desired and the observed side, so both are folded the same way:
//! date and time spellings, unset values, and the order of lists whose order the platform does
//! not care about.

use serde_json::{Map, Value, json};

/// `YYYY-MM-DD HH:MM:SS`. Accepts `/` as date separator, unpadded numbers and a missing seconds
/// part (read as `:00`); anything unparsable is kept as written (trimmed), so it shows as drift.
pub fn date_time(s: &str) -> String {
    parse_date_time(s)
        .map(|(d, t)| format!("{d} {}", time_with_seconds(&t)))
        .unwrap_or_else(|| s.trim().to_string())
}

/// `YYYY-MM-DD HH:MM` (holiday bounds). A `:00` seconds part is dropped; other seconds are kept.
pub fn date_minute(s: &str) -> String {
    parse_date_time(s)
        .map(|(d, t)| format!("{d} {}", time_minutes(&t)))
        .unwrap_or_else(|| s.trim().to_string())
}

/// `HH:MM` (time of day). A `:00` seconds part is dropped; other seconds are kept.
pub fn time_of_day(s: &str) -> String {
    parse_time(s.trim())
        .map(|t| time_minutes(&t))
        .unwrap_or_else(|| s.trim().to_string())
}

/// `HH:MM:SS` (time of day with seconds; missing seconds read as `:00`).
pub fn time_of_day_seconds(s: &str) -> String {
    parse_time(s.trim())
        .map(|t| time_with_seconds(&t))
        .unwrap_or_else(|| s.trim().to_string())
}

fn parse_date_time(s: &str) -> Option<(String, [u32; 3])> {
    let mut parts = s.split_whitespace();
    let (date, time) = (parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let nums: Vec<u32> = date.split(['-', '/']).map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [y, m, d] = nums[..] else { return None };
    Some((format!("{y:04}-{m:02}-{d:02}"), parse_time(time)?))
}

fn parse_time(s: &str) -> Option<[u32; 3]> {
    let nums: Vec<u32> = s.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    match nums[..] {
        [h, m] => Some([h, m, 0]),
        [h, m, sec] => Some([h, m, sec]),
        _ => None,
    }
}

fn time_with_seconds([h, m, s]: &[u32; 3]) -> String {
    format!("{h:02}:{m:02}:{s:02}")
}

fn time_minutes([h, m, s]: &[u32; 3]) -> String {
    match s {
        0 => format!("{h:02}:{m:02}"),
        s => format!("{h:02}:{m:02}:{s:02}"),
    }
}

/// An optional id: `None`, `0` (and, on the read side, `null`/absent) all mean unset (remote-api
/// §4.10: the detail call shows never-set ids as `null` or `0`).
pub fn opt_id(v: Option<i64>) -> Value {
    match v {
        Some(id) if id != 0 => id.into(),
        _ => Value::Null,
    }
}

/// An optional string: `None` and `""` both mean unset.
pub fn opt_text(v: Option<&str>) -> Value {
    match v {
        Some(s) if !s.is_empty() => s.into(),
        _ => Value::Null,
    }
}

/// An optional value.
pub fn opt<T: Into<Value>>(v: Option<T>) -> Value {
    v.map_or(Value::Null, Into::into)
}

/// `{begin, end}` periods as a set: sorted, duplicates removed. Holidays and work hours are sets
/// (the platform may store work hours once per weekday, which folds to one entry here).
pub fn periods(items: impl IntoIterator<Item = (String, String)>) -> Value {
    let mut items: Vec<(String, String)> = items.into_iter().collect();
    items.sort();
    items.dedup();
    items
        .into_iter()
        .map(|(begin, end)| json!({"begin": begin, "end": end}))
        .collect()
}

/// Weekdays as a set of ints.
pub fn int_set(items: impl IntoIterator<Item = i64>) -> Value {
    let mut items: Vec<i64> = items.into_iter().collect();
    items.sort_unstable();
    items.dedup();
    items.into()
}

/// Lines keyed by id (sorted by id). A line read as a bare id has no limit: its `limit` key is
/// left out, and the diff then compares ids only (see `diff::equivalent`).
pub fn lines(items: impl IntoIterator<Item = (String, Option<i64>)>) -> Value {
    let mut items: Vec<(String, Option<i64>)> = items.into_iter().collect();
    items.sort();
    items
        .into_iter()
        .map(|(id, limit)| {
            let mut m = Map::new();
            m.insert("id".into(), id.into());
            if let Some(limit) = limit {
                m.insert("limit".into(), limit.into());
            }
            Value::Object(m)
        })
        .collect()
}

/// Scripts by time window: a set of windows (sorted).
pub fn scripts_by_time(items: impl IntoIterator<Item = (String, String, Value)>) -> Value {
    let mut items: Vec<(String, String, Value)> = items.into_iter().collect();
    items.sort_by_key(|a| (a.0.clone(), a.1.clone(), a.2.to_string()));
    items
        .into_iter()
        .map(|(begin, end, id)| json!({"begin": begin, "end": end, "scriptGroupId": id}))
        .collect()
}

/// One by-variable rule as read or desired.
pub struct VariableRule {
    pub match_: Value,
    pub values: Vec<String>,
    pub script_group_id: Value,
    pub priority: Option<i64>,
}

/// Scripts by variable. Each rule's `values` are a set (matched "any of"). The rules are
/// stable-sorted by priority (the platform's `sort`): a platform that returns them ordered by
/// `sort` compares equal, while rules of equal priority keep their listed order, because that
/// order is the only tie-breaker the platform has.
pub fn scripts_by_variable(items: impl IntoIterator<Item = VariableRule>) -> Value {
    let mut items: Vec<VariableRule> = items.into_iter().collect();
    items.sort_by_key(|r| r.priority.unwrap_or(i64::MAX));
    items
        .into_iter()
        .map(|mut r| {
            r.values.sort();
            r.values.dedup();
            json!({"match": r.match_, "values": r.values, "scriptGroupId": r.script_group_id, "priority": r.priority})
        })
        .collect()
}

/// Multi-script config: `order` plus the scripts as a set ordered by `(sort, id)`; the round-robin
/// order is given by `sort`, not by the list's order.
pub fn multi_script(order: Value, scripts: impl IntoIterator<Item = (Value, Option<i64>)>) -> Value {
    let mut scripts: Vec<(Value, Option<i64>)> = scripts.into_iter().collect();
    scripts.sort_by_key(|a| (a.1, a.0.to_string()));
    let scripts: Vec<Value> = scripts
        .into_iter()
        .map(|(id, sort)| json!({"scriptGroupId": id, "sort": sort}))
        .collect();
    json!({"order": order, "scripts": scripts})
}

/// Redial outcomes as a set ordered by code; known codes by name, unknown ones as numbers.
pub fn outcomes(codes: impl IntoIterator<Item = i64>) -> Value {
    let mut codes: Vec<i64> = codes.into_iter().collect();
    codes.sort_unstable();
    codes.dedup();
    codes
        .into_iter()
        .map(|c| outbound_api::CallOutcome::from_code(c).map_or_else(|| c.into(), super::codes::name))
        .collect()
}

/// Legacy switch rules, sorted (a set of windows).
pub fn group_switch_rules(items: impl IntoIterator<Item = [Value; 4]>) -> Value {
    let mut items: Vec<[Value; 4]> = items.into_iter().collect();
    items.sort_by_key(|r| r.iter().map(Value::to_string).collect::<Vec<_>>());
    items
        .into_iter()
        .map(|[start, end, id, default]| {
            json!({"start": start, "end": end, "scriptGroupId": id, "defaultScriptGroupId": default})
        })
        .collect()
}

/// Legacy call rules, sorted by time (a set of redial slots).
pub fn call_rules(items: impl IntoIterator<Item = [Value; 3]>) -> Value {
    let mut items: Vec<[Value; 3]> = items.into_iter().collect();
    items.sort_by_key(|r| r.iter().map(Value::to_string).collect::<Vec<_>>());
    items
        .into_iter()
        .map(|[time, interval, rule]| json!({"recallTime": time, "intervalMinutes": interval, "ruleId": rule}))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times_fold_separators_padding_and_seconds() {
        assert_eq!(date_time("2024-12-23 19:00:00"), "2024-12-23 19:00:00");
        assert_eq!(date_time("2024/11/1 13:25"), "2024-11-01 13:25:00");
        assert_eq!(date_time(" 2024-11-01  9:05:07 "), "2024-11-01 09:05:07");
        assert_eq!(date_time("soon"), "soon");
        assert_eq!(date_minute("2024-11-01 13:25:00"), "2024-11-01 13:25");
        assert_eq!(date_minute("2024-11-01 13:25:30"), "2024-11-01 13:25:30");
        assert_eq!(time_of_day("9:00"), "09:00");
        assert_eq!(time_of_day("09:00:00"), "09:00");
        assert_eq!(time_of_day_seconds("10:00"), "10:00:00");
    }

    #[test]
    fn zero_null_and_absent_ids_are_unset() {
        assert_eq!(opt_id(Some(0)), Value::Null);
        assert_eq!(opt_id(None), Value::Null);
        assert_eq!(opt_id(Some(7)), json!(7));
        assert_eq!(opt_text(Some("")), Value::Null);
    }

    #[test]
    fn sets_ignore_order_and_duplicates() {
        assert_eq!(int_set([0, 6, 1, 1]), json!([0, 1, 6]));
        assert_eq!(outcomes([12, 2, 99, 2]), json!(["CarrierBlocked", "BlockedByUser", 99]));
        assert_eq!(
            periods([
                ("b".into(), "c".into()),
                ("a".into(), "b".into()),
                ("b".into(), "c".into())
            ]),
            json!([{"begin": "a", "end": "b"}, {"begin": "b", "end": "c"}])
        );
        assert_eq!(
            lines([("z".into(), None), ("a".into(), Some(2))]),
            json!([{"id": "a", "limit": 2}, {"id": "z"}])
        );
    }

    #[test]
    fn scripts_by_variable_sort_by_priority_and_keep_ties_in_order() {
        let rule = |id: i64, prio: i64| VariableRule {
            match_: json!("EqualsAny"),
            values: vec!["b".into(), "a".into()],
            script_group_id: id.into(),
            priority: Some(prio),
        };
        let v = scripts_by_variable([rule(1, 5), rule(2, 0), rule(3, 5)]);
        let ids: Vec<i64> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["scriptGroupId"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, [2, 1, 3]);
        assert_eq!(v[0]["values"], json!(["a", "b"]));
        let v = scripts_by_variable([rule(3, 5), rule(2, 0), rule(1, 5)]);
        let ids: Vec<i64> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["scriptGroupId"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, [2, 3, 1], "ties keep their listed order");
    }
}
