//! `spec.task`: the remote task's settings. Every field maps to one field of the platform's task
//! update call (named in each description as "API field"); enums are names, not numbers.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use super::patterns;

/// The remote task's settings (API: body of `PUT /agent-api/new/user/{user_id}/task/{task_id}`).
/// Fields left unset are neither sent nor compared, so edits made in the platform's console to
/// fields this object does not set are left alone.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = kube::core::Rule::new("!has(self.lines) || size(self.lines) == 0 || self.maxConcurrency % size(self.lines) == 0").message("spec.task.maxConcurrency must be divisible by the number of spec.task.lines").field_path(".maxConcurrency"),
    validation = kube::core::Rule::new("!has(self.scriptSelection) || self.scriptSelection != 'ByTime' || (has(self.scriptsByTime) && size(self.scriptsByTime) > 0)").message("spec.task.scriptsByTime is required when spec.task.scriptSelection is ByTime").field_path(".scriptsByTime"),
    validation = kube::core::Rule::new("!has(self.scriptSelection) || self.scriptSelection != 'ByVariable' || (has(self.scriptsByVariable) && size(self.scriptsByVariable) > 0)").message("spec.task.scriptsByVariable is required when spec.task.scriptSelection is ByVariable").field_path(".scriptsByVariable"),
    validation = kube::core::Rule::new("!has(self.scriptSelection) || self.scriptSelection != 'MultiScript' || (has(self.multiScript) && size(self.multiScript.scripts) > 0)").message("spec.task.multiScript is required when spec.task.scriptSelection is MultiScript").field_path(".multiScript"),
    validation = kube::core::Rule::new("!(has(self.endAction) && self.endAction == 'PauseAndRelease' && has(self.elasticSeats) && self.elasticSeats)").message("spec.task.endAction PauseAndRelease cannot be combined with spec.task.elasticSeats: true").field_path(".endAction")
)]
pub struct TaskSettings {
    /// Task name, 1-100 characters. API field: name.
    #[schemars(length(min = 1, max = 100))]
    pub name: String,

    /// Free-text description. API field: remark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1000))]
    pub remark: Option<String>,

    /// Task generation: 7 = new 2.0, 6 = old 2.0 (lines are sent as id strings). Unset: not
    /// owned and not compared; an update sends back the value the platform reported (it decides
    /// how the platform reads the body), or none; a task the operator creates is created as 7.
    /// Set 6 for an old 2.0 task. API field: task_type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = [6, 7]))]
    pub task_type: Option<i32>,

    /// Passed through unchanged (the platform's example uses `group`). API field: group_type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub group_type: Option<String>,

    /// Script group id used to talk to callees. API field: destination_extension.
    #[schemars(range(min = 1))]
    pub script_group_id: i64,

    /// How the script is chosen per call (described on [`ScriptSelection`]: the CRD takes an
    /// optional enum field's description from the enum).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_selection: Option<ScriptSelection>,

    /// Total concurrency across the selected lines; must be divisible by the number of lines,
    /// and each line's share must fit its remaining concurrency. API field: maximumcall.
    #[schemars(range(min = 1, max = 100000))]
    pub max_concurrency: i32,

    /// Dial-time group id. API field: dial_time_id.
    #[schemars(range(min = 1))]
    pub dial_time_group_id: i64,

    /// Background sound id. API field: background_id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub background_sound_id: Option<i64>,

    /// Transfer group id; when unset the key is not sent at all (the platform's "none").
    /// API field: bridge_group_id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub bridge_group_id: Option<i64>,

    /// Redial rule id (older redial mechanism). API field: auto_recycle_rule_id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub redial_rule_id: Option<i64>,

    /// Dynamic ("elastic") seats. API field: elasticity_type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elastic_seats: Option<bool>,

    /// What happens when the task ends (described on [`EndAction`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_action: Option<EndAction>,

    /// LLM quality-check configuration id. API field: llm_intention_id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub llm_intention_id: Option<i64>,

    /// Scoring scheme id. API field: score_scheme_id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub score_scheme_id: Option<i64>,

    /// When the task may dial. API fields: task_extras.start_time, stop_time, holiday,
    /// work_week, work_hour, interval_time.
    pub schedule: Schedule,

    /// Lines (caller numbers) the task dials from, each with its concurrency. Always sent, `[]`
    /// when empty. API field: task_extras.line.
    #[serde(default)]
    #[schemars(length(max = 100))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["id"]))]
    pub lines: Vec<Line>,

    /// Order in which numbers are dialed (described on [`NumberOrder`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_order: Option<NumberOrder>,

    /// Scripts by time window (scriptSelection ByTime). API field:
    /// task_extras.destination_extension_list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 48))]
    pub scripts_by_time: Option<Vec<ScriptByTime>>,

    /// Scripts by a number's variable (scriptSelection ByVariable), at most 100 rules. API field:
    /// task_extras.destination_extension_with_variable_list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub scripts_by_variable: Option<Vec<ScriptByVariable>>,

    /// Several scripts in turn or at random (scriptSelection MultiScript). API field:
    /// task_extras.destination_extension_multi_config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_script: Option<MultiScript>,

    /// Redial settings of new 2.0 tasks. API fields: task_extras.redial_*.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redial: Option<Redial>,

    /// Settings of old 2.0 tasks (taskType 6). API fields: group_switch_rule, new_call_rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy: Option<Legacy>,
}

/// When the task may dial.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("!has(self.stopTime) || self.stopTime > self.startTime").message("spec.task.schedule.stopTime must be after spec.task.schedule.startTime").field_path(".stopTime"))]
pub struct Schedule {
    /// Start, `YYYY-MM-DD HH:MM:SS` in the account's time zone. API field: task_extras.start_time.
    #[schemars(regex(pattern = patterns::DATE_TIME), length(max = 19))]
    pub start_time: String,

    /// End, same format, after startTime. API field: task_extras.stop_time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = patterns::DATE_TIME), length(max = 19))]
    pub stop_time: Option<String>,

    /// Rest periods during which the task does not dial. Always sent, `[]` when empty.
    /// API field: task_extras.holiday.
    #[serde(default)]
    #[schemars(length(max = 100))]
    pub holidays: Vec<Holiday>,

    /// Days of the week the task dials, 0 = Sunday … 6 = Saturday. API field: task_extras.work_week.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 7), inner(range(min = 0, max = 6)), extend("x-kubernetes-list-type" = "set"))]
    pub work_week: Option<Vec<Weekday>>,

    /// Hours of the day the task dials. API field: task_extras.work_hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 24))]
    pub work_hours: Option<Vec<TimeWindow>>,

    /// Seconds between two calls. API field: task_extras.interval_time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 86400))]
    pub call_interval_seconds: Option<i32>,
}

/// A day of the week, 0 = Sunday … 6 = Saturday.
pub type Weekday = u8;

/// A rest period.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(validation = kube::core::Rule::new("self.end > self.begin").message("spec.task.schedule.holidays[].end must be after begin").field_path(".end"))]
pub struct Holiday {
    /// Start, `YYYY-MM-DD HH:MM`. API field: holiday[].begin (read back as start).
    #[schemars(regex(pattern = patterns::DATE_MINUTE), length(max = 16))]
    pub begin: String,
    /// End, `YYYY-MM-DD HH:MM`. API field: holiday[].end.
    #[schemars(regex(pattern = patterns::DATE_MINUTE), length(max = 16))]
    pub end: String,
}

/// A window of the day, `HH:MM` to `HH:MM`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TimeWindow {
    /// Start, `HH:MM`. API field: begin.
    #[schemars(regex(pattern = patterns::TIME_OF_DAY))]
    pub begin: String,
    /// End, `HH:MM`. API field: end.
    #[schemars(regex(pattern = patterns::TIME_OF_DAY))]
    pub end: String,
}

/// A line the task dials from.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Line {
    /// Line id (UUID). API field: task_extras.line[].id.
    #[schemars(regex(pattern = patterns::UUID))]
    pub id: String,
    /// Concurrency on this line. API field: task_extras.line[].limit.
    #[schemars(range(min = 1, max = 100000))]
    pub limit: i32,
}

/// How the script is chosen per call. Unset: not owned, not compared and not sent (the platform
/// keeps or defaults it). API field: is_group_switch (Unified=0, ByTime=1, ByVariable=2,
/// MultiScript=3).
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ScriptSelection {
    /// One script for every call (scriptGroupId). API value 0.
    #[default]
    Unified,
    /// By time window (scriptsByTime). API value 1.
    ByTime,
    /// By a variable of the number (scriptsByVariable). API value 2.
    ByVariable,
    /// Several scripts in turn or at random (multiScript). API value 3.
    MultiScript,
}

/// What happens when the task's schedule ends. API field: end_action (None=0,
/// PauseAndRelease=1).
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndAction {
    /// Nothing. API value 0.
    None,
    /// Pause the task and release its concurrency. API value 1.
    PauseAndRelease,
}

/// Order in which numbers are dialed. Unset: not owned and not compared; since the platform
/// requires the key for new 2.0 tasks, an update sends back the value the platform reported (none
/// when it reported none), and a create sends the platform's documented default, Random. API
/// field: task_extras.pop_mode (Random=0, Sequential=1, Reverse=2).
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum NumberOrder {
    /// API value 0.
    #[default]
    Random,
    /// API value 1.
    Sequential,
    /// API value 2.
    Reverse,
}

/// A script for a window of the day.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ScriptByTime {
    /// Start, `HH:MM`. API field: begin.
    #[schemars(regex(pattern = patterns::TIME_OF_DAY))]
    pub begin: String,
    /// End, `HH:MM`. API field: end.
    #[schemars(regex(pattern = patterns::TIME_OF_DAY))]
    pub end: String,
    /// Script group id for this window. API field: destination_extension.
    #[schemars(range(min = 1))]
    pub script_group_id: i64,
}

/// A script chosen by a number's variable.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ScriptByVariable {
    /// How values are matched. API field: mode (ContainsAny=0, EqualsAny=1).
    #[serde(rename = "match")]
    pub match_: VariableMatch,
    /// Values to match, 1-10, unique. API field: values.
    #[schemars(length(min = 1, max = 10), extend("x-kubernetes-list-type" = "set"))]
    pub values: Vec<String>,
    /// Script group id for matching numbers. API field: destination_extension.
    #[schemars(range(min = 1))]
    pub script_group_id: i64,
    /// Priority; larger means lower priority. API field: sort.
    #[schemars(range(min = 0, max = 10000))]
    pub priority: i32,
}

/// How a variable's values are matched.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum VariableMatch {
    /// The variable contains any of the values. API value 0.
    ContainsAny,
    /// The variable equals any of the values. API value 1.
    EqualsAny,
}

/// Several scripts used in turn or at random.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct MultiScript {
    /// How the scripts alternate. API field: dial_mode (RoundRobin=0, Random=1).
    #[serde(default)]
    pub order: MultiScriptOrder,
    /// The scripts. API field: list.
    #[schemars(length(min = 1, max = 100))]
    pub scripts: Vec<MultiScriptEntry>,
}

/// How multiple scripts alternate.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MultiScriptOrder {
    /// API value 0.
    #[default]
    RoundRobin,
    /// API value 1.
    Random,
}

/// One script of a multi-script task.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MultiScriptEntry {
    /// Script group id (sent as a string, as the platform wants). API field: destination_extension.
    #[schemars(range(min = 1))]
    pub script_group_id: i64,
    /// Position in the round-robin order. API field: sort.
    #[schemars(range(min = 0, max = 10000))]
    pub sort: i32,
}

/// Redial settings (new 2.0).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Redial {
    /// Redial on or off. API field: task_extras.redial_enabled (sent as 0/1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Dial fresh numbers before redials. API field: task_extras.redial_new_number_policy (0/1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fresh_numbers_first: Option<bool>,
    /// Minutes between redials, 1-60. API field: task_extras.redial_interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 60))]
    pub interval_minutes: Option<i32>,
    /// Redials per number, 1-3. API field: task_extras.redial_max_times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 3))]
    pub max_attempts: Option<i32>,
    /// Call outcomes that trigger a redial, unique. API field:
    /// task_extras.redial_conditions.da_status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 11), extend("x-kubernetes-list-type" = "set"))]
    pub on_outcomes: Option<Vec<CallOutcome>>,
}

/// A call outcome (the platform's `da_status` codes).
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CallOutcome {
    /// Code 2.
    CarrierBlocked,
    /// Code 3.
    Rejected,
    /// Code 4.
    NoAnswer,
    /// Code 5.
    NumberNotExist,
    /// Code 6.
    PoweredOff,
    /// Code 7.
    OutOfService,
    /// Code 8.
    Busy,
    /// Code 9.
    CallsRestricted,
    /// Code 10.
    Arrears,
    /// Code 11.
    Blacklisted,
    /// Code 12.
    BlockedByUser,
}

impl CallOutcome {
    pub const ALL: [CallOutcome; 11] = [
        Self::CarrierBlocked,
        Self::Rejected,
        Self::NoAnswer,
        Self::NumberNotExist,
        Self::PoweredOff,
        Self::OutOfService,
        Self::Busy,
        Self::CallsRestricted,
        Self::Arrears,
        Self::Blacklisted,
        Self::BlockedByUser,
    ];

    /// The platform's `da_status` code.
    pub fn code(self) -> i64 {
        Self::ALL.iter().position(|o| *o == self).expect("listed") as i64 + 2
    }

    pub fn from_code(code: i64) -> Option<Self> {
        usize::try_from(code - 2).ok().and_then(|i| Self::ALL.get(i).copied())
    }
}

/// Settings of old 2.0 tasks.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Legacy {
    /// Script switching by time window. API field: group_switch_rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 48))]
    pub group_switch_rules: Option<Vec<GroupSwitchRule>>,
    /// Redial rules. API field: new_call_rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 48))]
    pub call_rules: Option<Vec<CallRule>>,
}

/// Old 2.0 script switching rule.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GroupSwitchRule {
    /// Start, `HH:MM`. API field: switch_start.
    #[schemars(regex(pattern = patterns::TIME_OF_DAY))]
    pub start: String,
    /// End, `HH:MM`. API field: switch_end.
    #[schemars(regex(pattern = patterns::TIME_OF_DAY))]
    pub end: String,
    /// Script group id inside the window. API field: group_id.
    #[schemars(range(min = 1))]
    pub script_group_id: i64,
    /// Script group id outside it. API field: default_group_id.
    #[schemars(range(min = 1))]
    pub default_script_group_id: i64,
}

/// Old 2.0 redial rule.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CallRule {
    /// When the redial runs, `HH:MM:SS` (the platform allows 10-11 and 13-22). API field:
    /// re_call_time.
    #[schemars(regex(pattern = patterns::TIME_OF_DAY_SECONDS))]
    pub recall_time: String,
    /// Minutes between calls. API field: call_interval.
    #[schemars(range(min = 0, max = 10080))]
    pub interval_minutes: i32,
    /// Redial rule id. API field: rule_id.
    #[schemars(range(min = 1))]
    pub rule_id: i64,
}
