//! Create, list and delete on the simulated platform (how they behave is `create_behaviour`).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::create_behaviour::CreateBehaviour;
use super::rules;
use super::run_state::STATUS_PAUSED;
use super::state::{Platform, TaskError, TaskRecord};

/// A list query: the name filter (a substring, as the platform's match type is unknown) and the
/// page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListQuery {
    pub name: Option<String>,
    pub page: usize,
    pub per_page: usize,
}

impl ListQuery {
    /// From the query string; `page` 1 and `per_page` 15 by default, `per_page` at most 100.
    pub fn parse(query: &std::collections::HashMap<String, String>) -> Self {
        let number = |key: &str, default: usize| query.get(key).and_then(|v| v.parse().ok()).unwrap_or(default);
        ListQuery {
            name: query.get("name").filter(|n| !n.is_empty()).cloned(),
            page: number("page", 1).max(1),
            per_page: number("per_page", 15).clamp(1, 100),
        }
    }
}

/// Now as the platform writes its naive date-times (UTC+8, the documented assumption).
pub(crate) fn platform_now() -> String {
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)));
    now.strftime("%Y-%m-%d %H:%M:%S").to_string()
}

/// A random task id, UUID-shaped (version 4 layout).
pub fn new_task_id() -> String {
    let hex: String = (0..32).map(|_| format!("{:x}", rand::random::<u8>() % 16)).collect();
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

impl Platform {
    /// Creates a task from an update-shaped body (the update rules apply); returns its id.
    pub(crate) fn create(
        &mut self,
        user_id: &str,
        sub_user_id: Option<&str>,
        config: Value,
        behaviour: &CreateBehaviour,
        now: Instant,
    ) -> Result<String, TaskError> {
        rules::validate_update(&config, &self.lines).map_err(TaskError::Invalid)?;
        let id = new_task_id();
        let lag = Duration::from_secs_f64(behaviour.list_lag_secs);
        let record = TaskRecord {
            user_id: user_id.to_owned(),
            status: behaviour.initial_status,
            config,
            sub_user_id: sub_user_id.map(str::to_owned),
            pause_due: None,
            create_datetime: platform_now(),
            listed_from: Some(now + lag),
        };
        self.tasks.insert(id.clone(), record);
        Ok(id)
    }

    /// One page of the tasks visible to the caller whose name contains the filter, newest first,
    /// and the pagination block (`(data, meta)`). Tasks created less than the list lag ago are
    /// not shown.
    pub(crate) fn list(
        &mut self,
        user_id: &str,
        sub_user_id: Option<&str>,
        query: &ListQuery,
        now: Instant,
    ) -> (Value, Value) {
        let mut found: Vec<(&String, &mut TaskRecord)> = self
            .tasks
            .iter_mut()
            .filter(|(_, record)| record.visible_to(user_id, sub_user_id))
            .filter(|(_, record)| record.listed_from.is_none_or(|from| now >= from))
            .filter(|(_, record)| {
                let name = record.config.get("name").and_then(Value::as_str).unwrap_or_default();
                query.name.as_deref().is_none_or(|filter| name.contains(filter))
            })
            .collect();
        found.sort_by(|a, b| b.1.create_datetime.cmp(&a.1.create_datetime).then(a.0.cmp(b.0)));
        let total = found.len();
        let items: Vec<Value> = found
            .into_iter()
            .skip((query.page - 1) * query.per_page)
            .take(query.per_page)
            .map(|(id, record)| {
                record.settle(now);
                list_item(id, record)
            })
            .collect();
        let last_page = total.div_ceil(query.per_page).max(1);
        let meta = json!({
            "has_pages": last_page > 1,
            "total": total,
            "last_page": last_page,
            "current_page": query.page,
            "per_page": query.per_page.to_string(),
        });
        (Value::Array(items), meta)
    }

    /// Deletes a paused task (assumed: a started one is refused like an update, code 6007).
    pub(crate) fn delete(
        &mut self,
        user_id: &str,
        task_id: &str,
        sub_user_id: Option<&str>,
        now: Instant,
    ) -> Result<(), TaskError> {
        let record = self.tasks.get_mut(task_id).ok_or(TaskError::NotFound)?;
        if !record.visible_to(user_id, sub_user_id) {
            return Err(TaskError::NotFound);
        }
        record.settle(now);
        if record.status != STATUS_PAUSED {
            return Err(TaskError::NotPaused);
        }
        self.tasks.remove(task_id);
        Ok(())
    }
}

/// A list item: the documented fields the simulator can fill.
fn list_item(id: &str, record: &TaskRecord) -> Value {
    let config = &record.config;
    let text = |key: &str| config.get(key).cloned().unwrap_or(Value::Null);
    json!({
        "uuid": id,
        "name": text("name"),
        "create_datetime": record.create_datetime,
        "alter_datetime": record.create_datetime,
        "start": 0,
        "enable": record.status != STATUS_PAUSED,
        "maximumcall": text("maximumcall"),
        "destination_extension": config.get("destination_extension").map(|v| Value::String(v.to_string())),
        "remark": text("remark"),
        "user_id": record.user_id,
        "new_task_extra": {"enable": record.status != STATUS_PAUSED, "call_status": record.status == 2},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::create_behaviour::CreateAnswer;

    #[test]
    fn create_answers_take_every_shape() {
        let mut behaviour = CreateBehaviour::default();
        assert_eq!(behaviour.answer_data("t", "n"), json!("t"));
        behaviour.answer = CreateAnswer::Empty;
        assert_eq!(behaviour.answer_data("t", "n"), json!(""));
        behaviour.answer = CreateAnswer::Object;
        assert_eq!(behaviour.answer_data("t", "n"), json!({"uuid": "t", "name": "n"}));
        behaviour.initial_status = 4;
        assert!(behaviour.validate().is_err());
    }

    #[test]
    fn list_query_defaults_and_bounds() {
        let query = ListQuery::parse(&[("per_page".to_string(), "1000".to_string())].into());
        assert_eq!((query.page, query.per_page, query.name), (1, 100, None));
    }
}
