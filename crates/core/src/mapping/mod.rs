//! From the Kubernetes object to the platform and back, without I/O.
//!
//! * [`update_body`]: `OutboundTaskSpec` -> the body of the task update call, exactly as the API
//!   design (api.md, `spec.task` table) maps it: required fields always present, `line`/`holiday`
//!   always sent (the platform requires them), enums as numbers, 0/1 flags where the platform
//!   wants them, unset optional fields omitted. Unset `taskType` and `numberOrder` are not ours:
//!   the update sends back what the platform reported ([`Carried`]), since the platform requires
//!   `pop_mode` for new 2.0 tasks and reads the body by `task_type`.
//! * [`create_body`]: the same for a task the operator creates (nothing to carry over).
//! * [`desired_fields`] / [`observed_fields`]: both sides in one comparable form, a [`FieldSet`]
//!   keyed by CRD field path, with the platform's quirks folded (see [`comparable`]).
//! * [`remote_state`]: the run state of a task as read (see [`state`]).
//! * [`import::draft`]: the other way, a task as read -> the `spec.task` that declares it.

pub mod codes;
pub mod comparable;
pub mod field_set;
pub mod import;
pub mod normalise;
pub mod state;

#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
#[cfg(test)]
mod tests;

pub use comparable::{desired_fields, observed_fields};
pub use field_set::{Field, FieldSet};
pub use state::{describe_state, remote_state};

use crate::wire::{
    CallRuleBody, GroupSwitchRuleBody, LineBody, MultiConfigBody, MultiScriptBody, PeriodBody, RedialConditionsBody,
    ScriptByTimeBody, ScriptByVariableBody, TaskDetail, TaskExtrasBody, UpdateBody,
};
use outbound_api::{OutboundTaskSpec, TaskSettings};

/// Task type of old 2.0 tasks: lines are sent as bare id strings.
pub const TASK_TYPE_OLD_2_0: i32 = 6;
/// Task type of new 2.0 tasks, the generation the operator creates.
pub const TASK_TYPE_NEW_2_0: i32 = 7;

/// Values of the task as the platform reported them that an update sends back when the spec
/// leaves them unset: the spec does not own them, but the update call needs them (`pop_mode` is
/// required for new 2.0 tasks; `task_type` says how the platform reads the body). Sending back
/// what was read changes nothing; a value the platform did not report is not sent at all (never
/// a default of ours).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Carried {
    pub task_type: Option<i32>,
    pub pop_mode: Option<i32>,
}

impl Carried {
    /// The values as read in `d` (`task_extras` first, then `new_task_extra`).
    pub fn from_detail(d: &TaskDetail) -> Self {
        let extras = [d.task_extras.as_ref(), d.new_task_extra.as_ref()];
        let pop_mode = extras.into_iter().flatten().find_map(|e| e.pop_mode);
        Carried {
            task_type: d.task_type.and_then(|v| i32::try_from(v).ok()),
            pop_mode: pop_mode.and_then(|v| i32::try_from(v).ok()),
        }
    }

    /// For a task the operator creates: nothing exists to carry over, so the generation the
    /// operator's endpoints are for (new 2.0) and the platform's documented default order
    /// (Random, `pop_mode` 0), which new 2.0 requires.
    pub fn for_create() -> Self {
        Carried {
            task_type: Some(TASK_TYPE_NEW_2_0),
            pop_mode: Some(codes::number_order(outbound_api::NumberOrder::Random)),
        }
    }
}

/// The body of `PUT /agent-api/new/user/{user_id}/task/{task_id}` for this spec, with the
/// values of [`Carried`] for the fields the spec leaves unset.
///
/// Fields the spec leaves unset are omitted (never sent as `null`): `bridge_group_id` in
/// particular must not be sent at all when unset. `sub_user_id` comes from `spec.subUserId`.
pub fn update_body(spec: &OutboundTaskSpec, carried: &Carried) -> UpdateBody {
    let mut body = settings_body(&spec.task, carried);
    body.sub_user_id = spec.sub_user_id.clone();
    body
}

/// The body of the create call for this spec (the update body's fields, see
/// [`Carried::for_create`]).
pub fn create_body(spec: &OutboundTaskSpec) -> UpdateBody {
    update_body(spec, &Carried::for_create())
}

/// [`update_body`] without the routing field `sub_user_id`.
pub fn settings_body(t: &TaskSettings, carried: &Carried) -> UpdateBody {
    let legacy = t.legacy.as_ref();
    let task_type = t.task_type.or(carried.task_type);
    UpdateBody {
        sub_user_id: None,
        name: t.name.clone(),
        remark: t.remark.clone(),
        task_type,
        group_type: t.group_type.clone(),
        destination_extension: t.script_group_id,
        is_group_switch: t.script_selection.map(codes::script_selection),
        group_switch_rule: legacy.and_then(|l| l.group_switch_rules.as_ref()).map(|rules| {
            rules
                .iter()
                .map(|r| GroupSwitchRuleBody {
                    switch_start: r.start.clone(),
                    switch_end: r.end.clone(),
                    group_id: r.script_group_id,
                    default_group_id: r.default_script_group_id,
                })
                .collect()
        }),
        maximumcall: t.max_concurrency,
        dial_time_id: t.dial_time_group_id,
        background_id: t.background_sound_id,
        bridge_group_id: t.bridge_group_id,
        auto_recycle_rule_id: t.redial_rule_id,
        elasticity_type: t.elastic_seats,
        end_action: t.end_action.map(codes::end_action),
        llm_intention_id: t.llm_intention_id,
        score_scheme_id: t.score_scheme_id,
        task_extras: extras_body(t, task_type, carried),
        new_call_rules: legacy.and_then(|l| l.call_rules.as_ref()).map(|rules| {
            rules
                .iter()
                .map(|r| CallRuleBody {
                    re_call_time: r.recall_time.clone(),
                    call_interval: r.interval_minutes,
                    rule_id: r.rule_id,
                })
                .collect()
        }),
    }
}

fn extras_body(t: &TaskSettings, task_type: Option<i32>, carried: &Carried) -> TaskExtrasBody {
    let s = &t.schedule;
    let redial = t.redial.as_ref();
    let old_lines = task_type == Some(TASK_TYPE_OLD_2_0);
    TaskExtrasBody {
        start_time: s.start_time.clone(),
        stop_time: s.stop_time.clone(),
        line: t
            .lines
            .iter()
            .map(|l| match old_lines {
                true => LineBody::Id(l.id.clone()),
                false => LineBody::WithLimit {
                    id: l.id.clone(),
                    limit: l.limit,
                },
            })
            .collect(),
        holiday: s
            .holidays
            .iter()
            .map(|h| PeriodBody {
                begin: h.begin.clone(),
                end: h.end.clone(),
            })
            .collect(),
        work_hour: s.work_hours.as_ref().map(|hours| {
            hours
                .iter()
                .map(|w| PeriodBody {
                    begin: w.begin.clone(),
                    end: w.end.clone(),
                })
                .collect()
        }),
        work_week: s.work_week.clone(),
        interval_time: s.call_interval_seconds,
        pop_mode: t.number_order.map(codes::number_order).or(carried.pop_mode),
        destination_extension_list: t.scripts_by_time.as_ref().map(|list| {
            list.iter()
                .map(|x| ScriptByTimeBody {
                    begin: x.begin.clone(),
                    end: x.end.clone(),
                    destination_extension: x.script_group_id,
                })
                .collect()
        }),
        destination_extension_with_variable_list: t.scripts_by_variable.as_ref().map(|list| {
            list.iter()
                .map(|x| ScriptByVariableBody {
                    mode: codes::variable_match(x.match_),
                    values: x.values.clone(),
                    destination_extension: x.script_group_id,
                    sort: x.priority,
                })
                .collect()
        }),
        destination_extension_multi_config: t.multi_script.as_ref().map(|m| MultiConfigBody {
            dial_mode: codes::multi_script_order(m.order),
            list: m
                .scripts
                .iter()
                .map(|x| MultiScriptBody {
                    destination_extension: x.script_group_id.to_string(),
                    sort: x.sort,
                })
                .collect(),
        }),
        redial_enabled: redial.and_then(|r| r.enabled).map(u8::from),
        redial_new_number_policy: redial.and_then(|r| r.fresh_numbers_first).map(u8::from),
        redial_interval: redial.and_then(|r| r.interval_minutes),
        redial_max_times: redial.and_then(|r| r.max_attempts),
        redial_conditions: redial
            .and_then(|r| r.on_outcomes.as_ref())
            .map(|outcomes| RedialConditionsBody {
                da_status: outcomes.iter().map(|o| o.code()).collect(),
            }),
    }
}
