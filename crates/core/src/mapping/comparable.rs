//! The comparable form of a task: a [`FieldSet`], an ordered map from CRD field ([`Field`], in
//! the CRD's declaration order) to a normalised JSON value in CRD terms (enum names, CRD keys).
//!
//! Normalisation rules (both sides go through the same functions of [`super::normalise`]):
//! * ids read as strings or numbers are numbers; `null`, `0` and absent optional ids are unset
//!   (`null`), so a `0` is never drift for an unset id (remote-api §4.10); `""` text is unset;
//! * flags read as `0`/`1`/`"1"`/bools are bools; unset flags read as `false`, unset
//!   `end_action`/`is_group_switch`/`pop_mode`/`interval_time` read as the platform's default 0,
//!   unset lists as `[]`;
//! * date-times are `YYYY-MM-DD HH:MM:SS`, holiday bounds `YYYY-MM-DD HH:MM`, times of day `HH:MM`
//!   (holiday `begin` or `start` keys both read);
//! * order-insensitive lists are sets: work week, work hours, holidays, redial outcomes, lines (by
//!   id), scripts by time, multi-script scripts (by `sort`), legacy rules; scripts by variable are
//!   stable-sorted by priority (ties keep their order: it is the platform's only tie-breaker);
//! * `task_extras` settings are read from `task_extras`, key by key falling back to
//!   `new_task_extra`; a line read as a bare id takes its limit from the other copy when that one
//!   has it, otherwise it carries no limit and limits are not compared;
//! * `task_type` and `group_type` are not in the platform's documented detail response: when the
//!   platform does not report them they are left out of the observed set and not compared.

use serde_json::Value;

use super::codes;
use super::field_set::{Field, FieldSet};
use super::normalise::{self as n, VariableRule};
use crate::wire::{ExtrasRead, LineRead, TaskDetail};
use outbound_api::TaskSettings;

/// What the spec owns, normalised: required fields, the always-sent lists (`lines`, `holidays`:
/// the platform requires them) and every optional field the spec sets. `taskType`,
/// `scriptSelection` and `numberOrder` are optional like the others: unset, they are not owned.
pub fn desired_fields(t: &TaskSettings) -> FieldSet {
    let mut f = FieldSet::new();
    let s = &t.schedule;
    f.insert(Field::Name, t.name.clone().into());
    if let Some(remark) = &t.remark {
        f.insert(Field::Remark, n::opt_text(Some(remark)));
    }
    if let Some(task_type) = t.task_type {
        f.insert(Field::TaskType, task_type.into());
    }
    if let Some(group_type) = &t.group_type {
        f.insert(Field::GroupType, n::opt_text(Some(group_type)));
    }
    f.insert(Field::ScriptGroupId, t.script_group_id.into());
    if let Some(selection) = t.script_selection {
        f.insert(Field::ScriptSelection, codes::name(selection));
    }
    f.insert(Field::MaxConcurrency, t.max_concurrency.into());
    f.insert(Field::DialTimeGroupId, t.dial_time_group_id.into());
    let ids = [
        (Field::BackgroundSoundId, t.background_sound_id),
        (Field::BridgeGroupId, t.bridge_group_id),
        (Field::RedialRuleId, t.redial_rule_id),
        (Field::LlmIntentionId, t.llm_intention_id),
        (Field::ScoreSchemeId, t.score_scheme_id),
    ];
    for (field, id) in ids {
        if id.is_some() {
            f.insert(field, n::opt_id(id));
        }
    }
    if let Some(elastic) = t.elastic_seats {
        f.insert(Field::ElasticSeats, elastic.into());
    }
    if let Some(end_action) = t.end_action {
        f.insert(Field::EndAction, codes::name(end_action));
    }
    f.insert(Field::StartTime, n::date_time(&s.start_time).into());
    if let Some(stop) = &s.stop_time {
        f.insert(Field::StopTime, n::date_time(stop).into());
    }
    f.insert(
        Field::Holidays,
        n::periods(
            s.holidays
                .iter()
                .map(|h| (n::date_minute(&h.begin), n::date_minute(&h.end))),
        ),
    );
    if let Some(week) = &s.work_week {
        f.insert(Field::WorkWeek, n::int_set(week.iter().map(|d| i64::from(*d))));
    }
    if let Some(hours) = &s.work_hours {
        f.insert(
            Field::WorkHours,
            n::periods(hours.iter().map(|w| (n::time_of_day(&w.begin), n::time_of_day(&w.end)))),
        );
    }
    if let Some(interval) = s.call_interval_seconds {
        f.insert(Field::CallIntervalSeconds, interval.into());
    }
    // Old 2.0 tasks send bare ids: their limits are not the platform's to keep, so not compared.
    // Unset taskType: lines read back as bare ids carry no limit and are compared by id only.
    let with_limits = t.task_type != Some(super::TASK_TYPE_OLD_2_0);
    f.insert(
        Field::Lines,
        n::lines(
            t.lines
                .iter()
                .map(|l| (l.id.clone(), with_limits.then_some(i64::from(l.limit)))),
        ),
    );
    if let Some(order) = t.number_order {
        f.insert(Field::NumberOrder, codes::name(order));
    }
    if let Some(list) = &t.scripts_by_time {
        f.insert(
            Field::ScriptsByTime,
            n::scripts_by_time(list.iter().map(|x| {
                (
                    n::time_of_day(&x.begin),
                    n::time_of_day(&x.end),
                    x.script_group_id.into(),
                )
            })),
        );
    }
    if let Some(list) = &t.scripts_by_variable {
        f.insert(
            Field::ScriptsByVariable,
            n::scripts_by_variable(list.iter().map(|x| VariableRule {
                match_: codes::name(x.match_),
                values: x.values.clone(),
                script_group_id: x.script_group_id.into(),
                priority: Some(x.priority.into()),
            })),
        );
    }
    if let Some(m) = &t.multi_script {
        f.insert(
            Field::MultiScript,
            n::multi_script(
                codes::name(m.order),
                m.scripts
                    .iter()
                    .map(|x| (x.script_group_id.into(), Some(i64::from(x.sort)))),
            ),
        );
    }
    if let Some(r) = &t.redial {
        if let Some(v) = r.enabled {
            f.insert(Field::RedialEnabled, v.into());
        }
        if let Some(v) = r.fresh_numbers_first {
            f.insert(Field::RedialFreshNumbersFirst, v.into());
        }
        if let Some(v) = r.interval_minutes {
            f.insert(Field::RedialIntervalMinutes, v.into());
        }
        if let Some(v) = r.max_attempts {
            f.insert(Field::RedialMaxAttempts, v.into());
        }
        if let Some(v) = &r.on_outcomes {
            f.insert(Field::RedialOnOutcomes, n::outcomes(v.iter().map(|o| o.code())));
        }
    }
    if let Some(l) = &t.legacy {
        if let Some(rules) = &l.group_switch_rules {
            f.insert(
                Field::LegacyGroupSwitchRules,
                n::group_switch_rules(rules.iter().map(|r| {
                    [
                        n::time_of_day(&r.start).into(),
                        n::time_of_day(&r.end).into(),
                        r.script_group_id.into(),
                        r.default_script_group_id.into(),
                    ]
                })),
            );
        }
        if let Some(rules) = &l.call_rules {
            f.insert(
                Field::LegacyCallRules,
                n::call_rules(rules.iter().map(|r| {
                    [
                        n::time_of_day_seconds(&r.recall_time).into(),
                        r.interval_minutes.into(),
                        r.rule_id.into(),
                    ]
                })),
            );
        }
    }
    f
}

/// The task as read, normalised into the same form as [`desired_fields`]. Every field is present
/// except `taskType` and `groupType` when the platform does not report them.
pub fn observed_fields(d: &TaskDetail) -> FieldSet {
    let mut f = FieldSet::new();
    let empty = ExtrasRead::default();
    let te = d.task_extras.as_ref().unwrap_or(&empty);
    let nte = d.new_task_extra.as_ref().unwrap_or(&empty);
    // A task_extras key, falling back to new_task_extra when task_extras lacks it.
    fn pick<'a, T>(te: &'a ExtrasRead, nte: &'a ExtrasRead, get: impl Fn(&'a ExtrasRead) -> Option<T>) -> Option<T> {
        get(te).or_else(|| get(nte))
    }
    let text = |s: Option<&String>| n::opt_text(s.map(String::as_str));

    f.insert(Field::Name, text(d.name.as_ref()));
    f.insert(Field::Remark, text(d.remark.as_ref()));
    if let Some(task_type) = d.task_type {
        f.insert(Field::TaskType, task_type.into());
    }
    if let Some(group_type) = &d.group_type {
        f.insert(Field::GroupType, n::opt_text(Some(group_type)));
    }
    f.insert(Field::ScriptGroupId, n::opt(d.destination_extension));
    f.insert(
        Field::ScriptSelection,
        code_name(d.is_group_switch.unwrap_or(0), codes::script_selection_from),
    );
    f.insert(Field::MaxConcurrency, n::opt(d.maximumcall));
    f.insert(Field::DialTimeGroupId, n::opt(d.dial_time_id));
    f.insert(Field::BackgroundSoundId, n::opt_id(d.background_id));
    f.insert(Field::BridgeGroupId, n::opt_id(d.bridge_group_id));
    f.insert(Field::RedialRuleId, n::opt_id(d.auto_recycle_rule_id));
    f.insert(Field::ElasticSeats, d.elasticity_task.unwrap_or(false).into());
    f.insert(
        Field::EndAction,
        code_name(d.end_action.unwrap_or(0), codes::end_action_from),
    );
    f.insert(Field::LlmIntentionId, n::opt_id(d.llm_intention_id));
    f.insert(Field::ScoreSchemeId, n::opt_id(d.score_scheme_id));

    f.insert(
        Field::StartTime,
        n::opt(pick(te, nte, |e| e.start_time.as_deref()).map(n::date_time)),
    );
    f.insert(
        Field::StopTime,
        n::opt(pick(te, nte, |e| e.stop_time.as_deref()).map(n::date_time)),
    );
    let periods = |list: Option<&Vec<crate::wire::PeriodRead>>, fold: fn(&str) -> String| {
        n::periods(list.into_iter().flatten().map(|p| {
            (
                p.begin.as_deref().map(fold).unwrap_or_default(),
                p.end.as_deref().map(fold).unwrap_or_default(),
            )
        }))
    };
    f.insert(
        Field::Holidays,
        periods(pick(te, nte, |e| e.holiday.as_ref()), n::date_minute),
    );
    f.insert(
        Field::WorkWeek,
        n::int_set(pick(te, nte, |e| e.work_week.as_ref()).into_iter().flatten().copied()),
    );
    f.insert(
        Field::WorkHours,
        periods(pick(te, nte, |e| e.work_hour.as_ref()), n::time_of_day),
    );
    f.insert(
        Field::CallIntervalSeconds,
        pick(te, nte, |e| e.interval_time).unwrap_or(0).into(),
    );
    f.insert(Field::Lines, n::lines(observed_lines(te, nte)));
    f.insert(
        Field::NumberOrder,
        code_name(pick(te, nte, |e| e.pop_mode).unwrap_or(0), codes::number_order_from),
    );
    f.insert(
        Field::ScriptsByTime,
        n::scripts_by_time(
            pick(te, nte, |e| e.destination_extension_list.as_ref())
                .into_iter()
                .flatten()
                .map(|x| {
                    (
                        x.begin.as_deref().map(n::time_of_day).unwrap_or_default(),
                        x.end.as_deref().map(n::time_of_day).unwrap_or_default(),
                        n::opt(x.destination_extension),
                    )
                }),
        ),
    );
    f.insert(
        Field::ScriptsByVariable,
        n::scripts_by_variable(
            pick(te, nte, |e| e.destination_extension_with_variable_list.as_ref())
                .into_iter()
                .flatten()
                .map(|x| VariableRule {
                    match_: x.mode.map_or(Value::Null, |m| code_name(m, codes::variable_match_from)),
                    values: x.values.clone(),
                    script_group_id: n::opt(x.destination_extension),
                    priority: x.sort,
                }),
        ),
    );
    f.insert(
        Field::MultiScript,
        pick(te, nte, |e| e.destination_extension_multi_config.as_ref()).map_or(Value::Null, |m| {
            n::multi_script(
                code_name(m.dial_mode.unwrap_or(0), codes::multi_script_order_from),
                m.list.iter().map(|x| (n::opt(x.destination_extension), x.sort)),
            )
        }),
    );
    f.insert(
        Field::RedialEnabled,
        pick(te, nte, |e| e.redial_enabled).unwrap_or(false).into(),
    );
    f.insert(
        Field::RedialFreshNumbersFirst,
        pick(te, nte, |e| e.redial_new_number_policy).unwrap_or(false).into(),
    );
    f.insert(
        Field::RedialIntervalMinutes,
        n::opt(pick(te, nte, |e| e.redial_interval)),
    );
    f.insert(Field::RedialMaxAttempts, n::opt(pick(te, nte, |e| e.redial_max_times)));
    f.insert(
        Field::RedialOnOutcomes,
        n::outcomes(
            pick(te, nte, |e| e.redial_conditions.as_ref())
                .into_iter()
                .flatten()
                .copied(),
        ),
    );
    f.insert(
        Field::LegacyGroupSwitchRules,
        n::group_switch_rules(d.group_switch_rule.iter().map(|r| {
            [
                n::opt(r.switch_start.as_deref().map(n::time_of_day)),
                n::opt(r.switch_end.as_deref().map(n::time_of_day)),
                n::opt(r.group_id),
                n::opt(r.default_group_id),
            ]
        })),
    );
    f.insert(
        Field::LegacyCallRules,
        n::call_rules(d.new_call_rules.iter().map(|r| {
            [
                n::opt(r.re_call_time.as_deref().map(n::time_of_day_seconds)),
                n::opt(r.call_interval),
                n::opt(r.rule_id),
            ]
        })),
    );
    f
}

/// A known code by its CRD name; an unknown one as the number itself (so it differs).
fn code_name<T: serde::Serialize>(code: i64, from: fn(i64) -> Option<T>) -> Value {
    from(code).map_or_else(|| code.into(), codes::name)
}

/// Lines from `task_extras` (or `new_task_extra` when task_extras has none). A line read as a bare
/// id takes its limit from the other copy's line with the same id, when that one carries one.
fn observed_lines(te: &ExtrasRead, nte: &ExtrasRead) -> Vec<(String, Option<i64>)> {
    let (primary, other) = match &te.line {
        Some(lines) => (lines.as_slice(), nte.line.as_deref().unwrap_or_default()),
        None => (nte.line.as_deref().unwrap_or_default(), &[][..]),
    };
    let limit_elsewhere = |id: &str| other.iter().find(|o: &&LineRead| o.id == id).and_then(|o| o.limit);
    primary
        .iter()
        .map(|l| (l.id.clone(), l.limit.or_else(|| limit_elsewhere(&l.id))))
        .collect()
}
