//! What we send: the body of `PUT /agent-api/new/user/{user_id}/task/{task_id}`, strict and typed.

use serde::{Deserialize, Serialize};

/// Body of the task update call, field names exactly as the platform documents them.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct UpdateBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_user_id: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// Omitted when the spec leaves it unset and the platform did not report it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_type: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_type: Option<String>,
    pub destination_extension: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_group_switch: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_switch_rule: Option<Vec<GroupSwitchRuleBody>>,
    pub maximumcall: i32,
    pub dial_time_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_id: Option<i64>,
    /// Omitted when unset: the platform reads a present key as "must be a valid id".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge_group_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_recycle_rule_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elasticity_type: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_action: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm_intention_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_scheme_id: Option<i64>,
    pub task_extras: TaskExtrasBody,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_call_rules: Option<Vec<CallRuleBody>>,
}

/// `task_extras` of the update body. `line` and `holiday` are always sent (the platform requires
/// them); `pop_mode` whenever known (see `mapping::Carried`).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct TaskExtrasBody {
    pub start_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_time: Option<String>,
    pub line: Vec<LineBody>,
    pub holiday: Vec<PeriodBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_hour: Option<Vec<PeriodBody>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_week: Option<Vec<u8>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_time: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pop_mode: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_extension_list: Option<Vec<ScriptByTimeBody>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_extension_with_variable_list: Option<Vec<ScriptByVariableBody>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_extension_multi_config: Option<MultiConfigBody>,
    /// Sent as 0/1, as the platform's examples do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redial_enabled: Option<u8>,
    /// Sent as 0/1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redial_new_number_policy: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redial_interval: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redial_max_times: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redial_conditions: Option<RedialConditionsBody>,
}

/// A line: `{id, limit}` for new 2.0 tasks, a bare id string for old 2.0 tasks.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(untagged)]
pub enum LineBody {
    WithLimit { id: String, limit: i32 },
    Id(String),
}

/// `{begin, end}`: holidays (`YYYY-MM-DD HH:MM`) and work hours (`HH:MM`).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct PeriodBody {
    pub begin: String,
    pub end: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ScriptByTimeBody {
    pub begin: String,
    pub end: String,
    pub destination_extension: i64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ScriptByVariableBody {
    pub mode: i32,
    pub values: Vec<String>,
    pub destination_extension: i64,
    pub sort: i32,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct MultiConfigBody {
    pub dial_mode: i32,
    pub list: Vec<MultiScriptBody>,
}

/// The platform wants this script id as a string.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct MultiScriptBody {
    pub destination_extension: String,
    pub sort: i32,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct RedialConditionsBody {
    pub da_status: Vec<i64>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct GroupSwitchRuleBody {
    pub switch_start: String,
    pub switch_end: String,
    pub group_id: i64,
    pub default_group_id: i64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct CallRuleBody {
    pub re_call_time: String,
    pub call_interval: i32,
    pub rule_id: i64,
}
