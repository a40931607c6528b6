//! The detail ("edit" read) response, rendered from the stored config with the platform's
//! documented quirks: `destination_extension` as a string, `elasticity_task` instead of
//! `elasticity_type`, holiday `start` instead of `begin`, 0/1 flags returned as booleans, unset
//! ids as `null` or `0`, and the engine view `new_task_extra` with line ids as strings.

use serde_json::{Map, Value, json};

use super::run_state::{STATUS_PAUSED, STATUS_RUNNING, STATUS_WAITING};
use super::state::TaskRecord;

/// The `data` of a detail response.
pub(crate) fn render_detail(task: &TaskRecord) -> Value {
    let config = task.config.as_object().cloned().unwrap_or_default();
    let field = |key: &str| config.get(key).cloned().unwrap_or(Value::Null);
    let field_or = |key: &str, default: Value| match config.get(key) {
        None | Some(Value::Null) => default,
        Some(value) => value.clone(),
    };
    let extras = config
        .get("task_extras")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let destination_extension = id_as_string(&field("destination_extension"));

    json!({
        "name": field("name"),
        "remark": field("remark"),
        "maximumcall": field("maximumcall"),
        "destination_extension": destination_extension,
        "dial_time_id": field("dial_time_id"),
        "background_id": field("background_id"),
        "bridge_group_id": field("bridge_group_id"),
        "auto_recycle_rule_id": field("auto_recycle_rule_id"),
        "end_action": field_or("end_action", json!(0)),
        "llm_intention_id": field_or("llm_intention_id", json!(0)),
        "score_scheme_id": field("score_scheme_id"),
        "elasticity_task": truthy(&field("elasticity_type")),
        "is_group_switch": field_or("is_group_switch", json!(0)),
        "group_type": field("group_type"),
        "task_type": field_or("task_type", json!(7)),
        "group_switch_rule": field_or("group_switch_rule", json!([])),
        "new_call_rules": field_or("new_call_rules", json!([])),
        "status": task.status,
        "status_str": status_text(task.status),
        "call_status": task.status == STATUS_RUNNING,
        "recycle_limit": 0,
        "_originate_timeout": 60,
        "caller_line_id": null,
        "task_extras": platform_task_extras(&extras),
        "new_task_extra": engine_view(task, &field("name"), &field("maximumcall"), destination_extension, &extras),
    })
}

pub(crate) fn status_text(status: u8) -> &'static str {
    match status {
        STATUS_PAUSED => "暂停中",
        STATUS_RUNNING => "执行中",
        STATUS_WAITING => "等待执行",
        _ => "未知",
    }
}

/// The stored `task_extras` as the platform echoes them.
fn platform_task_extras(extras: &Map<String, Value>) -> Value {
    let mut echoed = extras.clone();
    if let Some(holidays) = extras.get("holiday") {
        echoed.insert("holiday".into(), holidays_with_start_key(holidays));
    }
    for key in ["redial_enabled", "redial_new_number_policy"] {
        if let Some(flag) = extras.get(key).filter(|value| !value.is_null()) {
            echoed.insert(key.into(), Value::Bool(truthy(flag)));
        }
    }
    if let Some(Value::Array(list)) = echoed
        .get_mut("destination_extension_multi_config")
        .and_then(|config| config.get_mut("list"))
    {
        for item in list {
            if let Some(id) = item.get_mut("destination_extension") {
                *id = id_as_string(id);
            }
        }
    }
    Value::Object(echoed)
}

/// `new_task_extra`: the task as the 2.0 dialing engine sees it.
fn engine_view(
    task: &TaskRecord,
    name: &Value,
    maximumcall: &Value,
    destination_extension: Value,
    extras: &Map<String, Value>,
) -> Value {
    let extra = |key: &str| extras.get(key).cloned().unwrap_or(Value::Null);
    let line_ids: Vec<Value> = extras
        .get("line")
        .and_then(Value::as_array)
        .map(|lines| {
            lines
                .iter()
                .filter_map(|line| line.get("id").unwrap_or(line).as_str())
                .map(|id| Value::String(id.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let work_hours: Vec<Value> = extras
        .get("work_hour")
        .and_then(Value::as_array)
        .map(|hours| {
            hours
                .iter()
                .map(|hour| {
                    // The engine reports the weekday as a string; "-1" = every day.
                    let wday = match hour.get("wday") {
                        Some(Value::String(day)) => day.clone(),
                        Some(Value::Number(day)) => day.to_string(),
                        _ => "-1".to_owned(),
                    };
                    json!({"wday": wday, "begin": hour.get("begin"), "end": hour.get("end")})
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "name": name,
        "enable": task.status != STATUS_PAUSED,
        "call_status": task.status == STATUS_RUNNING,
        "line": line_ids,
        "limit": maximumcall,
        "cps": 1,
        "start_time": extra("start_time"),
        "stop_time": extra("stop_time"),
        "holiday": holidays_with_start_key(&extras.get("holiday").cloned().unwrap_or(json!([]))),
        "work_week": extras.get("work_week").cloned().unwrap_or(json!([])),
        "work_hour": work_hours,
        "destination_extension": destination_extension,
        "blacklist": "",
        "number_count": 0,
        "call_info": [],
        "pop_mode": extra("pop_mode"),
    })
}

/// Holiday items are sent with `begin`/`end` and returned with `start`/`end`.
fn holidays_with_start_key(holidays: &Value) -> Value {
    let Some(items) = holidays.as_array() else {
        return holidays.clone();
    };
    let renamed = items
        .iter()
        .map(|item| match item.as_object() {
            Some(object) => {
                let mut object = object.clone();
                if let Some(begin) = object.remove("begin") {
                    object.entry("start").or_insert(begin);
                }
                Value::Object(object)
            }
            None => item.clone(),
        })
        .collect();
    Value::Array(renamed)
}

/// Integer ids come back as strings ("480").
fn id_as_string(id: &Value) -> Value {
    match id {
        Value::Number(number) => Value::String(number.to_string()),
        other => other.clone(),
    }
}

/// Booleans the update sends as 0/1 (or true/false).
fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
        Value::String(text) => !matches!(text.as_str(), "" | "0" | "false"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(status: u8, config: Value) -> TaskRecord {
        TaskRecord {
            user_id: "u".into(),
            status,
            config,
            sub_user_id: None,
            pause_due: None,
            create_datetime: String::new(),
            listed_from: None,
        }
    }

    #[test]
    fn renders_quirks() {
        let detail = render_detail(&task(
            STATUS_RUNNING,
            json!({
                "name": "n", "maximumcall": 2, "destination_extension": 480, "dial_time_id": 5,
                "elasticity_type": 0,
                "task_extras": {
                    "start_time": "2024-11-01 13:25:26",
                    "line": [{"id": "L1", "limit": 2}],
                    "holiday": [{"begin": "2024-11-01 13:25", "end": "2024-11-03 13:25"}],
                    "work_hour": [{"begin": "02:30", "end": "07:00"}],
                    "redial_enabled": 1,
                    "redial_new_number_policy": 0,
                    "destination_extension_multi_config": {"dial_mode": 0, "list": [{"destination_extension": 13601, "sort": 1}]}
                }
            }),
        ));
        assert_eq!(detail["destination_extension"], "480");
        assert_eq!(detail["remark"], Value::Null);
        assert_eq!(detail["end_action"], 0);
        assert_eq!(detail["elasticity_task"], false);
        assert_eq!(detail["status_str"], "执行中");
        assert_eq!(detail["call_status"], true);
        let extras = &detail["task_extras"];
        assert_eq!(extras["holiday"][0]["start"], "2024-11-01 13:25");
        assert!(extras["holiday"][0].get("begin").is_none());
        assert_eq!(extras["redial_enabled"], true);
        assert_eq!(extras["redial_new_number_policy"], false);
        assert_eq!(extras["line"][0]["limit"], 2);
        assert_eq!(
            extras["destination_extension_multi_config"]["list"][0]["destination_extension"],
            "13601"
        );
        let engine = &detail["new_task_extra"];
        assert_eq!(engine["line"], json!(["L1"]));
        assert_eq!(engine["limit"], 2);
        assert_eq!(engine["enable"], true);
        assert_eq!(engine["work_hour"][0]["wday"], "-1");
        assert_eq!(engine["destination_extension"], "480");
    }

    #[test]
    fn paused_and_waiting_flags() {
        let paused = render_detail(&task(STATUS_PAUSED, json!({})));
        assert_eq!(
            (
                paused["new_task_extra"]["enable"].clone(),
                paused["call_status"].clone()
            ),
            (json!(false), json!(false))
        );
        assert_eq!(paused["group_switch_rule"], json!([]));
        let waiting = render_detail(&task(STATUS_WAITING, json!({"task_extras": {"line": ["L2"]}})));
        assert_eq!(waiting["status_str"], "等待执行");
        assert_eq!(waiting["new_task_extra"]["enable"], true);
        assert_eq!(waiting["new_task_extra"]["call_status"], false);
        assert_eq!(waiting["new_task_extra"]["line"], json!(["L2"]));
    }
}
