//! The task update's rules, checked on the body of `PUT .../task/{task_id}`. Each failure is a
//! message that names the offending API field, answered as code 422.
//!
//! The documented rules (seed page): required fields, `line`/`holiday` always present, the
//! maximumcall/line arithmetic, redial limits, `end_action` vs `elasticity_type`,
//! `bridge_group_id` "if sent, must be valid", `pop_mode` required for new 2.0. Type checks
//! (integers must be JSON integers, etc.) are the simulator's own strictness, meant to catch
//! wire-format mistakes in clients.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// Old 2.0 task type: lines are id strings.
const TASK_TYPE_OLD_2_0: i64 = 6;
/// New 2.0 task type (the default when absent): lines are `{id, limit}` objects.
const TASK_TYPE_NEW_2_0: i64 = 7;

const NAME_MAX_CHARS: usize = 100;
const REDIAL_INTERVAL_MINUTES: std::ops::RangeInclusive<i64> = 1..=60;
const REDIAL_MAX_TIMES: std::ops::RangeInclusive<i64> = 1..=3;
const VARIABLE_LIST_MAX_ENTRIES: usize = 100;
const VARIABLE_VALUES_PER_ENTRY: std::ops::RangeInclusive<usize> = 1..=10;
const DATE_TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

type Rule = Result<(), String>;

/// Checks an update body against the rules; `lines` maps line id -> remaining concurrency.
pub(crate) fn validate_update(body: &Value, lines: &BTreeMap<String, u32>) -> Rule {
    let body = body.as_object().ok_or("the request body must be a JSON object")?;

    let name = required(body, "name", "name")?
        .as_str()
        .ok_or("name must be a string")?;
    let name_chars = name.chars().count();
    if !(1..=NAME_MAX_CHARS).contains(&name_chars) {
        return Err(format!("name length {name_chars} is not within 1..={NAME_MAX_CHARS}"));
    }
    if let Some(remark) = body.get("remark")
        && !(remark.is_string() || remark.is_null())
    {
        return Err("remark must be a string".into());
    }

    let task_type = optional_int(body, "task_type", "task_type")?.unwrap_or(TASK_TYPE_NEW_2_0);
    if task_type != TASK_TYPE_OLD_2_0 && task_type != TASK_TYPE_NEW_2_0 {
        return Err(format!("task_type {task_type} is not supported (6 or 7)"));
    }
    positive_int(
        required(body, "destination_extension", "destination_extension")?,
        "destination_extension",
    )?;
    let maximumcall = positive_int(required(body, "maximumcall", "maximumcall")?, "maximumcall")?;
    positive_int(required(body, "dial_time_id", "dial_time_id")?, "dial_time_id")?;
    if let Some(bridge_group_id) = body.get("bridge_group_id") {
        // "Omit the key for none; if the key is sent it must hold a valid id."
        positive_int(bridge_group_id, "bridge_group_id")?;
    }
    for key in [
        "background_id",
        "auto_recycle_rule_id",
        "llm_intention_id",
        "score_scheme_id",
    ] {
        optional_int(body, key, key)?;
    }
    for key in ["group_switch_rule", "new_call_rules"] {
        if let Some(value) = body.get(key)
            && !value.is_array()
        {
            return Err(format!("{key} must be an array"));
        }
    }

    let end_action = optional_int(body, "end_action", "end_action")?.unwrap_or(0);
    if !(0..=1).contains(&end_action) {
        return Err(format!("end_action {end_action} is not 0 or 1"));
    }
    let elastic = optional_flag(body, "elasticity_type", "elasticity_type")?.unwrap_or(false);
    if end_action == 1 && elastic {
        return Err("end_action 1 cannot be combined with elasticity_type true".into());
    }

    let extras = required(body, "task_extras", "task_extras")?
        .as_object()
        .ok_or("task_extras must be an object")?;
    check_schedule(extras)?;
    check_lines(extras, task_type, maximumcall, lines)?;
    if task_type == TASK_TYPE_NEW_2_0 {
        required(extras, "pop_mode", "task_extras.pop_mode (required for task_type 7)")?;
    }
    if let Some(pop_mode) = optional_int(extras, "pop_mode", "task_extras.pop_mode")?
        && !(0..=2).contains(&pop_mode)
    {
        return Err(format!("task_extras.pop_mode {pop_mode} is not 0, 1 or 2"));
    }
    optional_int(extras, "interval_time", "task_extras.interval_time")?;
    check_redial(extras)?;

    let group_switch = optional_int(body, "is_group_switch", "is_group_switch")?.unwrap_or(0);
    check_group_switch(group_switch, extras)
}

fn required<'a>(object: &'a Map<String, Value>, key: &str, field: &str) -> Result<&'a Value, String> {
    match object.get(key) {
        None | Some(Value::Null) => Err(format!("{field} is required")),
        Some(value) => Ok(value),
    }
}

fn optional_int(object: &Map<String, Value>, key: &str, field: &str) -> Result<Option<i64>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("{field} must be an integer, got {value}")),
    }
}

fn positive_int(value: &Value, field: &str) -> Result<i64, String> {
    match value.as_i64() {
        Some(number) if number >= 1 => Ok(number),
        _ => Err(format!("{field} must be a positive integer, got {value}")),
    }
}

/// A boolean the docs type as bool but whose examples send 0/1: accept both.
fn optional_flag(object: &Map<String, Value>, key: &str, field: &str) -> Result<Option<bool>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(*flag)),
        Some(value) => match value.as_i64() {
            Some(0) => Ok(Some(false)),
            Some(1) => Ok(Some(true)),
            _ => Err(format!("{field} must be true/false or 0/1, got {value}")),
        },
    }
}

fn array<'a>(object: &'a Map<String, Value>, key: &str, field: &str) -> Result<Option<&'a Vec<Value>>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items)),
        Some(_) => Err(format!("{field} must be an array")),
    }
}

fn check_schedule(extras: &Map<String, Value>) -> Rule {
    let start = date_time(
        required(extras, "start_time", "task_extras.start_time")?,
        "task_extras.start_time",
    )?;
    if let Some(stop) = extras.get("stop_time").filter(|value| !value.is_null()) {
        let stop = date_time(stop, "task_extras.stop_time")?;
        if stop <= start {
            return Err("task_extras.stop_time must be after task_extras.start_time".into());
        }
    }
    let holidays = array(extras, "holiday", "task_extras.holiday")?
        .ok_or("task_extras.holiday is required (send [] when empty)")?;
    for (index, holiday) in holidays.iter().enumerate() {
        let field = format!("task_extras.holiday[{index}]");
        let has_begin = ["begin", "start"]
            .iter()
            .any(|key| holiday.get(key).is_some_and(Value::is_string));
        if !has_begin || !holiday.get("end").is_some_and(Value::is_string) {
            return Err(format!(
                "{field} must be an object with string begin (or start) and end"
            ));
        }
    }
    for key in ["work_hour", "work_week"] {
        array(extras, key, &format!("task_extras.{key}"))?;
    }
    Ok(())
}

fn date_time(value: &Value, field: &str) -> Result<jiff::civil::DateTime, String> {
    value
        .as_str()
        .and_then(|text| jiff::civil::DateTime::strptime(DATE_TIME_FORMAT, text).ok())
        .ok_or_else(|| format!("{field} {value} is not a date-time YYYY-MM-DD HH:MM:SS"))
}

fn check_lines(
    extras: &Map<String, Value>,
    task_type: i64,
    maximumcall: i64,
    residues: &BTreeMap<String, u32>,
) -> Rule {
    let lines =
        array(extras, "line", "task_extras.line")?.ok_or("task_extras.line is required (send [] when empty)")?;
    let mut ids = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        let field = format!("task_extras.line[{index}]");
        let id = if task_type == TASK_TYPE_NEW_2_0 {
            let id = line.get("id").and_then(Value::as_str);
            let limit = line.get("limit").and_then(Value::as_i64);
            match (id, limit) {
                (Some(id), Some(limit)) if limit >= 1 => id,
                _ => {
                    return Err(format!(
                        "{field} must be an {{id, limit}} object with a positive limit for task_type 7, got {line}"
                    ));
                }
            }
        } else {
            line.as_str()
                .ok_or_else(|| format!("{field} must be a line id string for task_type 6, got {line}"))?
        };
        ids.push(id);
    }
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    if unique.len() != ids.len() {
        return Err("task_extras.line lists the same line more than once".into());
    }
    if ids.is_empty() {
        return Ok(());
    }
    let line_count = ids.len() as i64;
    if maximumcall % line_count != 0 {
        return Err(format!(
            "maximumcall {maximumcall} is not divisible by the {line_count} selected lines"
        ));
    }
    let per_line = maximumcall / line_count;
    for id in ids {
        let residue = residues
            .get(id)
            .ok_or_else(|| format!("task_extras.line: line {id} does not exist or is not available to this account"))?;
        if per_line > i64::from(*residue) {
            return Err(format!(
                "maximumcall {maximumcall} gives {per_line} per line, above the remaining concurrency {residue} of line {id}"
            ));
        }
    }
    Ok(())
}

fn check_redial(extras: &Map<String, Value>) -> Rule {
    for key in ["redial_enabled", "redial_new_number_policy"] {
        optional_flag(extras, key, &format!("task_extras.{key}"))?;
    }
    for (key, range) in [
        ("redial_interval", REDIAL_INTERVAL_MINUTES),
        ("redial_max_times", REDIAL_MAX_TIMES),
    ] {
        let field = format!("task_extras.{key}");
        if let Some(value) = optional_int(extras, key, &field)?
            && !range.contains(&value)
        {
            return Err(format!(
                "{field} {value} is not within {}..={}",
                range.start(),
                range.end()
            ));
        }
    }
    if let Some(conditions) = extras.get("redial_conditions").filter(|value| !value.is_null()) {
        let conditions = conditions
            .as_object()
            .ok_or("task_extras.redial_conditions must be an object {da_status: [...]}")?;
        if let Some(codes) = array(conditions, "da_status", "task_extras.redial_conditions.da_status")?
            && !codes.iter().all(|code| code.as_i64().is_some())
        {
            return Err("task_extras.redial_conditions.da_status must hold integers".into());
        }
    }
    Ok(())
}

fn check_group_switch(mode: i64, extras: &Map<String, Value>) -> Rule {
    let non_empty = |key: &str| -> Result<Vec<Value>, String> {
        let field = format!("task_extras.{key}");
        match array(extras, key, &field)? {
            Some(items) if !items.is_empty() => Ok(items.clone()),
            _ => Err(format!("{field} must not be empty when is_group_switch is {mode}")),
        }
    };
    match mode {
        0 => Ok(()),
        1 => non_empty("destination_extension_list").map(drop),
        2 => check_variable_list(&non_empty("destination_extension_with_variable_list")?),
        3 => {
            let field = "task_extras.destination_extension_multi_config.list";
            let list = extras
                .get("destination_extension_multi_config")
                .and_then(|config| config.get("list"))
                .and_then(Value::as_array);
            match list {
                Some(list) if !list.is_empty() => Ok(()),
                _ => Err(format!("{field} must not be empty when is_group_switch is 3")),
            }
        }
        other => Err(format!("is_group_switch {other} is not 0, 1, 2 or 3")),
    }
}

fn check_variable_list(entries: &[Value]) -> Rule {
    let field = "task_extras.destination_extension_with_variable_list";
    if entries.len() > VARIABLE_LIST_MAX_ENTRIES {
        return Err(format!(
            "{field} has {} entries, at most {VARIABLE_LIST_MAX_ENTRIES} allowed",
            entries.len()
        ));
    }
    for (index, entry) in entries.iter().enumerate() {
        let values = entry
            .get("values")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{field}[{index}].values must be an array"))?;
        if !VARIABLE_VALUES_PER_ENTRY.contains(&values.len()) {
            return Err(format!(
                "{field}[{index}].values has {} values, expected {}..={}",
                values.len(),
                VARIABLE_VALUES_PER_ENTRY.start(),
                VARIABLE_VALUES_PER_ENTRY.end()
            ));
        }
        let unique: BTreeSet<String> = values.iter().map(Value::to_string).collect();
        if unique.len() != values.len() {
            return Err(format!("{field}[{index}].values must not repeat a value"));
        }
    }
    Ok(())
}
