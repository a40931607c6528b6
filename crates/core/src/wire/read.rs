//! What we read: `data` of `GET /agent-api/new/user/{user_id}/task/{task_id}/edit`, decoded
//! leniently.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::lenient::{self, opt_bool, opt_i64, opt_string};

/// A task as the detail call returns it, decoded leniently. Top-level fields hold the task's
/// settings; `task_extras` is the platform's copy of the 2.0 settings and `new_task_extra` the
/// dialing engine's view (fewer fields, lines as bare ids).
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct TaskDetail {
    #[serde(deserialize_with = "opt_string")]
    pub name: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub remark: Option<String>,
    #[serde(deserialize_with = "opt_i64")]
    pub task_type: Option<i64>,
    #[serde(deserialize_with = "opt_string")]
    pub group_type: Option<String>,
    #[serde(deserialize_with = "opt_i64")]
    pub destination_extension: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    pub is_group_switch: Option<i64>,
    #[serde(deserialize_with = "lenient::list")]
    pub group_switch_rule: Vec<GroupSwitchRuleRead>,
    #[serde(deserialize_with = "opt_i64")]
    pub maximumcall: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    pub dial_time_id: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    pub background_id: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    pub bridge_group_id: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    pub auto_recycle_rule_id: Option<i64>,
    /// The detail call names it `elasticity_task`; the update call `elasticity_type`.
    #[serde(deserialize_with = "opt_bool", alias = "elasticity_type")]
    pub elasticity_task: Option<bool>,
    #[serde(deserialize_with = "opt_i64")]
    pub end_action: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    pub llm_intention_id: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    pub score_scheme_id: Option<i64>,
    #[serde(deserialize_with = "lenient::list")]
    pub new_call_rules: Vec<CallRuleRead>,
    /// Run state: 1 paused/stopped, 2 running, 3 waiting.
    #[serde(deserialize_with = "opt_i64")]
    pub status: Option<i64>,
    #[serde(deserialize_with = "opt_bool")]
    pub call_status: Option<bool>,
    #[serde(deserialize_with = "opt_bool")]
    pub enable: Option<bool>,
    pub task_extras: Option<ExtrasRead>,
    pub new_task_extra: Option<ExtrasRead>,
}

/// `task_extras` or `new_task_extra` as read.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct ExtrasRead {
    #[serde(deserialize_with = "opt_string")]
    pub start_time: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub stop_time: Option<String>,
    pub line: Option<Vec<LineRead>>,
    pub holiday: Option<Vec<PeriodRead>>,
    pub work_hour: Option<Vec<PeriodRead>>,
    #[serde(deserialize_with = "opt_i64_list")]
    pub work_week: Option<Vec<i64>>,
    #[serde(deserialize_with = "opt_i64")]
    pub interval_time: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    pub pop_mode: Option<i64>,
    pub destination_extension_list: Option<Vec<ScriptByTimeRead>>,
    pub destination_extension_with_variable_list: Option<Vec<ScriptByVariableRead>>,
    pub destination_extension_multi_config: Option<MultiConfigRead>,
    #[serde(deserialize_with = "opt_bool")]
    pub redial_enabled: Option<bool>,
    #[serde(deserialize_with = "opt_bool")]
    pub redial_new_number_policy: Option<bool>,
    #[serde(deserialize_with = "opt_i64")]
    pub redial_interval: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    pub redial_max_times: Option<i64>,
    #[serde(deserialize_with = "redial_conditions")]
    pub redial_conditions: Option<Vec<i64>>,
    #[serde(deserialize_with = "opt_bool")]
    pub enable: Option<bool>,
    #[serde(deserialize_with = "opt_bool")]
    pub call_status: Option<bool>,
    #[serde(deserialize_with = "opt_i64")]
    pub limit: Option<i64>,
}

/// A line as read: a bare id (old 2.0, engine view) or `{id, limit}`.
#[derive(Debug, Clone, PartialEq)]
pub struct LineRead {
    pub id: String,
    pub limit: Option<i64>,
}

impl<'de> Deserialize<'de> for LineRead {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(id) => Ok(LineRead { id, limit: None }),
            Value::Object(map) => {
                let id = map
                    .get("id")
                    .or_else(|| map.get("line_id"))
                    .and_then(|v| match v {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .ok_or_else(|| serde::de::Error::custom("line without an id"))?;
                let limit = map.get("limit").and_then(lenient::value_to_i64);
                Ok(LineRead { id, limit })
            }
            other => Err(serde::de::Error::custom(format!("unexpected line shape: {other}"))),
        }
    }
}

/// `{begin|start, end}`; work-hour items also carry `wday` (`"-1"` = every day), ignored here.
/// When both `begin` and `start` are present, `begin` wins (a derived `alias` would reject the
/// item as a duplicate field).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PeriodRead {
    pub begin: Option<String>,
    pub end: Option<String>,
}

impl<'de> Deserialize<'de> for PeriodRead {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        match Value::deserialize(d)? {
            Value::Object(map) => Ok(PeriodRead {
                begin: map
                    .get("begin")
                    .and_then(text)
                    .or_else(|| map.get("start").and_then(text)),
                end: map.get("end").and_then(text),
            }),
            // PHP's empty associative array.
            Value::Array(items) if items.is_empty() => Ok(PeriodRead::default()),
            other => Err(serde::de::Error::custom(format!("unexpected period shape: {other}"))),
        }
    }
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct ScriptByTimeRead {
    #[serde(deserialize_with = "opt_string")]
    pub begin: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub end: Option<String>,
    #[serde(deserialize_with = "opt_i64")]
    pub destination_extension: Option<i64>,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct ScriptByVariableRead {
    #[serde(deserialize_with = "opt_i64")]
    pub mode: Option<i64>,
    #[serde(deserialize_with = "string_list")]
    pub values: Vec<String>,
    #[serde(deserialize_with = "opt_i64")]
    pub destination_extension: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    pub sort: Option<i64>,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct MultiConfigRead {
    #[serde(deserialize_with = "opt_i64")]
    pub dial_mode: Option<i64>,
    #[serde(deserialize_with = "lenient::list")]
    pub list: Vec<MultiScriptRead>,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct MultiScriptRead {
    #[serde(deserialize_with = "opt_i64")]
    pub destination_extension: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    pub sort: Option<i64>,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct GroupSwitchRuleRead {
    #[serde(deserialize_with = "opt_string")]
    pub switch_start: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub switch_end: Option<String>,
    #[serde(deserialize_with = "opt_i64")]
    pub group_id: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    pub default_group_id: Option<i64>,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct CallRuleRead {
    #[serde(deserialize_with = "opt_string")]
    pub re_call_time: Option<String>,
    #[serde(deserialize_with = "opt_i64")]
    pub call_interval: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    pub rule_id: Option<i64>,
}

/// `work_week` as a list of ints or numeric strings; absent or `null` stays `None`.
fn opt_i64_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<i64>>, D::Error> {
    let values = Option::<Vec<Value>>::deserialize(d)?;
    Ok(values.map(|v| v.iter().filter_map(lenient::value_to_i64).collect()))
}

/// Values of a by-variable rule: strings, or numbers the platform may have typed for us.
fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let values = Option::<Vec<Value>>::deserialize(d)?.unwrap_or_default();
    Ok(values
        .into_iter()
        .filter_map(|v| match v {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect())
}

/// `redial_conditions` documented as `{da_status: [..]}`, seen as a bare array in one example.
fn redial_conditions<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<i64>>, D::Error> {
    let codes = |v: &Value| {
        v.as_array()
            .map(|a| a.iter().filter_map(lenient::value_to_i64).collect())
    };
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Object(map)) => map.get("da_status").and_then(codes),
        Some(array @ Value::Array(_)) => codes(&array),
        _ => None,
    })
}
