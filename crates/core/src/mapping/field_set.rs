//! The fields of `spec.task` the operator compares, and the [`FieldSet`] that holds their
//! normalised values.

use std::collections::BTreeMap;

use serde_json::Value;

/// A field of `spec.task` the operator compares, in the CRD's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    Name,
    Remark,
    TaskType,
    GroupType,
    ScriptGroupId,
    ScriptSelection,
    MaxConcurrency,
    DialTimeGroupId,
    BackgroundSoundId,
    BridgeGroupId,
    RedialRuleId,
    ElasticSeats,
    EndAction,
    LlmIntentionId,
    ScoreSchemeId,
    StartTime,
    StopTime,
    Holidays,
    WorkWeek,
    WorkHours,
    CallIntervalSeconds,
    Lines,
    NumberOrder,
    ScriptsByTime,
    ScriptsByVariable,
    MultiScript,
    RedialEnabled,
    RedialFreshNumbersFirst,
    RedialIntervalMinutes,
    RedialMaxAttempts,
    RedialOnOutcomes,
    LegacyGroupSwitchRules,
    LegacyCallRules,
}

impl Field {
    /// Every field, in order.
    pub const ALL: [Field; 33] = [
        Field::Name,
        Field::Remark,
        Field::TaskType,
        Field::GroupType,
        Field::ScriptGroupId,
        Field::ScriptSelection,
        Field::MaxConcurrency,
        Field::DialTimeGroupId,
        Field::BackgroundSoundId,
        Field::BridgeGroupId,
        Field::RedialRuleId,
        Field::ElasticSeats,
        Field::EndAction,
        Field::LlmIntentionId,
        Field::ScoreSchemeId,
        Field::StartTime,
        Field::StopTime,
        Field::Holidays,
        Field::WorkWeek,
        Field::WorkHours,
        Field::CallIntervalSeconds,
        Field::Lines,
        Field::NumberOrder,
        Field::ScriptsByTime,
        Field::ScriptsByVariable,
        Field::MultiScript,
        Field::RedialEnabled,
        Field::RedialFreshNumbersFirst,
        Field::RedialIntervalMinutes,
        Field::RedialMaxAttempts,
        Field::RedialOnOutcomes,
        Field::LegacyGroupSwitchRules,
        Field::LegacyCallRules,
    ];

    /// The CRD field path, e.g. `spec.task.maxConcurrency`.
    pub fn path(self) -> &'static str {
        match self {
            Field::Name => "spec.task.name",
            Field::Remark => "spec.task.remark",
            Field::TaskType => "spec.task.taskType",
            Field::GroupType => "spec.task.groupType",
            Field::ScriptGroupId => "spec.task.scriptGroupId",
            Field::ScriptSelection => "spec.task.scriptSelection",
            Field::MaxConcurrency => "spec.task.maxConcurrency",
            Field::DialTimeGroupId => "spec.task.dialTimeGroupId",
            Field::BackgroundSoundId => "spec.task.backgroundSoundId",
            Field::BridgeGroupId => "spec.task.bridgeGroupId",
            Field::RedialRuleId => "spec.task.redialRuleId",
            Field::ElasticSeats => "spec.task.elasticSeats",
            Field::EndAction => "spec.task.endAction",
            Field::LlmIntentionId => "spec.task.llmIntentionId",
            Field::ScoreSchemeId => "spec.task.scoreSchemeId",
            Field::StartTime => "spec.task.schedule.startTime",
            Field::StopTime => "spec.task.schedule.stopTime",
            Field::Holidays => "spec.task.schedule.holidays",
            Field::WorkWeek => "spec.task.schedule.workWeek",
            Field::WorkHours => "spec.task.schedule.workHours",
            Field::CallIntervalSeconds => "spec.task.schedule.callIntervalSeconds",
            Field::Lines => "spec.task.lines",
            Field::NumberOrder => "spec.task.numberOrder",
            Field::ScriptsByTime => "spec.task.scriptsByTime",
            Field::ScriptsByVariable => "spec.task.scriptsByVariable",
            Field::MultiScript => "spec.task.multiScript",
            Field::RedialEnabled => "spec.task.redial.enabled",
            Field::RedialFreshNumbersFirst => "spec.task.redial.freshNumbersFirst",
            Field::RedialIntervalMinutes => "spec.task.redial.intervalMinutes",
            Field::RedialMaxAttempts => "spec.task.redial.maxAttempts",
            Field::RedialOnOutcomes => "spec.task.redial.onOutcomes",
            Field::LegacyGroupSwitchRules => "spec.task.legacy.groupSwitchRules",
            Field::LegacyCallRules => "spec.task.legacy.callRules",
        }
    }

    /// The platform's field, e.g. `maximumcall` or `task_extras.line`.
    pub fn remote(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Remark => "remark",
            Field::TaskType => "task_type",
            Field::GroupType => "group_type",
            Field::ScriptGroupId => "destination_extension",
            Field::ScriptSelection => "is_group_switch",
            Field::MaxConcurrency => "maximumcall",
            Field::DialTimeGroupId => "dial_time_id",
            Field::BackgroundSoundId => "background_id",
            Field::BridgeGroupId => "bridge_group_id",
            Field::RedialRuleId => "auto_recycle_rule_id",
            Field::ElasticSeats => "elasticity_type",
            Field::EndAction => "end_action",
            Field::LlmIntentionId => "llm_intention_id",
            Field::ScoreSchemeId => "score_scheme_id",
            Field::StartTime => "task_extras.start_time",
            Field::StopTime => "task_extras.stop_time",
            Field::Holidays => "task_extras.holiday",
            Field::WorkWeek => "task_extras.work_week",
            Field::WorkHours => "task_extras.work_hour",
            Field::CallIntervalSeconds => "task_extras.interval_time",
            Field::Lines => "task_extras.line",
            Field::NumberOrder => "task_extras.pop_mode",
            Field::ScriptsByTime => "task_extras.destination_extension_list",
            Field::ScriptsByVariable => "task_extras.destination_extension_with_variable_list",
            Field::MultiScript => "task_extras.destination_extension_multi_config",
            Field::RedialEnabled => "task_extras.redial_enabled",
            Field::RedialFreshNumbersFirst => "task_extras.redial_new_number_policy",
            Field::RedialIntervalMinutes => "task_extras.redial_interval",
            Field::RedialMaxAttempts => "task_extras.redial_max_times",
            Field::RedialOnOutcomes => "task_extras.redial_conditions.da_status",
            Field::LegacyGroupSwitchRules => "group_switch_rule",
            Field::LegacyCallRules => "new_call_rules",
        }
    }

    /// The field with this CRD path.
    pub fn from_path(path: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.path() == path)
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.path())
    }
}

/// Normalised values by field, in field order. On the desired side it holds only what the spec
/// owns; on the observed side a missing key means "not reported by the platform" (not compared)
/// and `null` means "unset".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FieldSet(BTreeMap<Field, Value>);

impl FieldSet {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn insert(&mut self, field: Field, value: Value) {
        self.0.insert(field, value);
    }
    pub fn get(&self, field: Field) -> Option<&Value> {
        self.0.get(&field)
    }
    pub fn remove(&mut self, field: Field) -> Option<Value> {
        self.0.remove(&field)
    }
    pub fn contains(&self, field: Field) -> bool {
        self.0.contains_key(&field)
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = (Field, &Value)> {
        self.0.iter().map(|(f, v)| (*f, v))
    }
    pub fn fields(&self) -> impl Iterator<Item = Field> + '_ {
        self.0.keys().copied()
    }
}

impl FromIterator<(Field, Value)> for FieldSet {
    fn from_iter<I: IntoIterator<Item = (Field, Value)>>(iter: I) -> Self {
        FieldSet(iter.into_iter().collect())
    }
}
