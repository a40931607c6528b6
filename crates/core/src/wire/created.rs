//! What the create and list calls return, read leniently: the create answer is undocumented, the
//! list items carry the id as `uuid` and a naive `create_datetime`.

use serde::Deserialize;
use serde_json::Value;

use crate::lenient::opt_string;

/// One item of the task list, the fields the create lookup needs.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct ListedTask {
    /// The task id.
    #[serde(deserialize_with = "opt_string")]
    pub uuid: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub name: Option<String>,
    /// `YYYY-MM-DD HH:MM:SS`, naive, in the account's `timeZone`.
    #[serde(deserialize_with = "opt_string")]
    pub create_datetime: Option<String>,
}

/// The new task's id in a create answer's `data`, when it is there: a non-empty string, or an
/// object with `uuid`, `id` or `task_id` (a string or a number). `data: ""` (as the update
/// answers) and anything else: `None`, and the task is found through the list.
pub fn created_id(data: &Value) -> Option<String> {
    let text = |v: &Value| match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match data {
        Value::Object(map) => ["uuid", "id", "task_id"]
            .iter()
            .find_map(|key| map.get(*key).and_then(text)),
        Value::String(_) => text(data),
        _ => None,
    }
}

/// The items of a list answer's `data` (an array; anything else is an error). Items that do not
/// decode are skipped, not fatal: one odd item must not hide the others.
pub fn listed_tasks(data: Value) -> Result<Vec<ListedTask>, String> {
    let Value::Array(items) = data else {
        let shown: String = data.to_string().chars().take(80).collect();
        return Err(format!("task list is not an array: {shown}"));
    };
    Ok(items
        .into_iter()
        .filter_map(|item| serde_json::from_value(item).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_id_of_every_known_answer_shape() {
        assert_eq!(created_id(&json!("f232d184")).as_deref(), Some("f232d184"));
        assert_eq!(created_id(&json!({"uuid": "a"})).as_deref(), Some("a"));
        assert_eq!(created_id(&json!({"id": "b", "name": "x"})).as_deref(), Some("b"));
        assert_eq!(created_id(&json!({"task_id": 42})).as_deref(), Some("42"));
        assert_eq!(created_id(&json!("")), None);
        assert_eq!(created_id(&json!([])), None);
        assert_eq!(created_id(&json!({"name": "x"})), None);
        assert_eq!(created_id(&json!(null)), None);
    }

    #[test]
    fn list_items_are_read_leniently() {
        let items = listed_tasks(json!([
            {"uuid": "a", "name": "n", "create_datetime": "2025-01-02 03:04:05", "enable": true},
            {"uuid": 7, "name": "m"},
            "odd"
        ]))
        .unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].create_datetime.as_deref(), Some("2025-01-02 03:04:05"));
        assert_eq!(items[1].uuid.as_deref(), Some("7"));
        assert!(listed_tasks(json!("")).is_err());
    }
}
