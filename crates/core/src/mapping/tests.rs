use serde_json::{Value, json};

use super::fixtures::{detail, echo, echo_json, spec};
use super::*;
use crate::diff::diff;
use outbound_api::RunState;

fn body_json(spec: &OutboundTaskSpec) -> Value {
    serde_json::to_value(update_body(spec, &Carried::default())).unwrap()
}

#[test]
fn required_fields_and_always_sent_arrays_are_present() {
    let v = body_json(&spec());
    for key in [
        "name",
        "destination_extension",
        "is_group_switch",
        "maximumcall",
        "dial_time_id",
    ] {
        assert!(v.get(key).is_some(), "{key}");
    }
    assert_eq!(
        v["task_extras"]["line"],
        json!([{"id": "d47c3599-f166-4cd0-999c-f60e46814d26", "limit": 2}])
    );
    assert_eq!(v["task_extras"]["holiday"], json!([]));
    assert_eq!(v["task_extras"]["pop_mode"], json!(1));
    assert_eq!(v["is_group_switch"], json!(2));
    assert!(v.get("task_type").is_none(), "the fixture leaves taskType unset");
}

#[test]
fn unset_optional_fields_are_omitted_not_null() {
    let v = body_json(&spec());
    for key in [
        "bridge_group_id",
        "remark",
        "group_type",
        "auto_recycle_rule_id",
        "elasticity_type",
        "end_action",
        "sub_user_id",
        "group_switch_rule",
        "new_call_rules",
    ] {
        assert!(v.get(key).is_none(), "{key} must be omitted: {v}");
    }
    for key in [
        "work_hour",
        "work_week",
        "interval_time",
        "destination_extension_list",
        "destination_extension_multi_config",
        "redial_new_number_policy",
    ] {
        assert!(v["task_extras"].get(key).is_none(), "task_extras.{key} must be omitted");
    }
}

#[test]
fn bridge_group_id_and_sub_user_id_are_sent_when_set() {
    let mut s = spec();
    s.task.bridge_group_id = Some(9);
    s.sub_user_id = Some("5b55bcca-d653-4a58-8f9a-437fb0601f8e".into());
    let v = body_json(&s);
    assert_eq!(v["bridge_group_id"], json!(9));
    assert_eq!(v["sub_user_id"], json!("5b55bcca-d653-4a58-8f9a-437fb0601f8e"));
}

#[test]
fn flags_are_sent_as_0_1_where_the_platform_wants_them() {
    let mut s = spec();
    let redial = s.task.redial.as_mut().unwrap();
    redial.enabled = Some(true);
    redial.fresh_numbers_first = Some(false);
    s.task.elastic_seats = Some(true);
    let v = body_json(&s);
    assert_eq!(v["task_extras"]["redial_enabled"], json!(1));
    assert_eq!(v["task_extras"]["redial_new_number_policy"], json!(0));
    assert_eq!(
        v["elasticity_type"],
        json!(true),
        "elasticity_type is documented as bool"
    );
    assert_eq!(
        v["task_extras"]["redial_conditions"],
        json!({"da_status": [2, 3, 4, 6, 8, 9, 12]})
    );
}

#[test]
fn old_2_0_tasks_send_line_ids_as_strings() {
    let mut s = spec();
    s.task.task_type = Some(TASK_TYPE_OLD_2_0);
    let v = body_json(&s);
    assert_eq!(
        v["task_extras"]["line"],
        json!(["d47c3599-f166-4cd0-999c-f60e46814d26"])
    );
}

#[test]
fn multi_script_ids_are_sent_as_strings() {
    let mut s = spec();
    s.task.multi_script =
        serde_json::from_value(json!({"order": "Random", "scripts": [{"scriptGroupId": 13601, "sort": 1}]})).unwrap();
    let v = body_json(&s);
    assert_eq!(
        v["task_extras"]["destination_extension_multi_config"],
        json!({"dial_mode": 1, "list": [{"destination_extension": "13601", "sort": 1}]})
    );
}

#[test]
fn desired_fields_hold_only_what_the_spec_sets() {
    let f = desired_fields(&spec().task);
    for field in [
        Field::Name,
        Field::ScriptSelection,
        Field::Lines,
        Field::Holidays,
        Field::NumberOrder,
        Field::StartTime,
        Field::RedialOnOutcomes,
    ] {
        assert!(f.contains(field), "{field}");
    }
    for field in [
        Field::TaskType,
        Field::Remark,
        Field::BridgeGroupId,
        Field::WorkWeek,
        Field::MultiScript,
        Field::RedialFreshNumbersFirst,
        Field::LegacyCallRules,
    ] {
        assert!(!f.contains(field), "{field}");
    }
    assert_eq!(f.get(Field::NumberOrder), Some(&json!("Sequential")));
}

#[test]
fn an_echo_of_the_body_has_no_difference() {
    let s = spec();
    assert!(diff(&desired_fields(&s.task), &observed_fields(&echo(&s, 1))).is_empty());
}

#[test]
fn platform_quirks_do_not_count_as_drift() {
    let mut s = spec();
    s.task.schedule.holidays =
        serde_json::from_value(json!([{"begin": "2024-11-01 13:25", "end": "2024-11-03 13:25"}])).unwrap();
    s.task.schedule.work_week = Some(vec![1, 2, 3, 4, 5, 6, 0]);
    s.task.schedule.work_hours = serde_json::from_value(json!([{"begin": "09:00", "end": "12:00"}])).unwrap();
    s.task.elastic_seats = Some(false);
    s.task.end_action = None;
    s.task.redial.as_mut().unwrap().enabled = Some(true);
    let observed = detail(json!({
        "name": "spring-campaign",
        "remark": null,
        "destination_extension": "123",
        "is_group_switch": "2",
        "maximumcall": "2",
        "dial_time_id": 123,
        "background_id": "123",
        "bridge_group_id": null,
        "auto_recycle_rule_id": 0,
        "llm_intention_id": 123,
        "score_scheme_id": 123,
        "elasticity_task": 0,
        "status": 2,
        "task_extras": {
            "start_time": "2024/12/23 19:00",
            "line": ["d47c3599-f166-4cd0-999c-f60e46814d26"],
            "holiday": [{"start": "2024-11-01 13:25:00", "end": "2024-11-03 13:25"}],
            "work_hour": [{"wday": 1, "begin": "09:00", "end": "12:00"}, {"wday": 2, "begin": "09:00", "end": "12:00"}],
            "work_week": ["0", 6, 5, 4, 3, 2, 1],
            "pop_mode": 1,
            "destination_extension_with_variable_list": [
                {"mode": 0, "values": ["女性", "女"], "destination_extension": "12", "sort": 0},
                {"mode": "1", "values": ["男的", "男"], "destination_extension": 11, "sort": 1}
            ],
            "redial_enabled": "1",
            "redial_interval": 3,
            "redial_max_times": "3",
            "redial_conditions": [12, 9, 8, 6, 4, 3, 2]
        },
        "new_task_extra": {
            "stop_time": "2025-12-25 23:59:59",
            "line": [{"id": "d47c3599-f166-4cd0-999c-f60e46814d26", "limit": 2}]
        }
    }));
    let diffs = diff(&desired_fields(&s.task), &observed_fields(&observed));
    assert!(diffs.is_empty(), "{}", crate::diff::render(&diffs));
}

#[test]
fn bare_line_ids_carry_no_limit_and_limits_are_then_not_compared() {
    let s = spec();
    let mut v = echo_json(&s, 1);
    v["task_extras"]["line"] = json!(["d47c3599-f166-4cd0-999c-f60e46814d26"]);
    assert!(diff(&desired_fields(&s.task), &observed_fields(&detail(v.clone()))).is_empty());
    v["task_extras"]["line"] = json!(["another-line"]);
    let diffs = diff(&desired_fields(&s.task), &observed_fields(&detail(v)));
    assert_eq!(diffs.len(), 1);
    assert_eq!(diffs[0].field, Field::Lines);
}

#[test]
fn task_extras_lacking_a_key_falls_back_to_new_task_extra() {
    let s = spec();
    let mut v = echo_json(&s, 1);
    let pop_mode = v["task_extras"].as_object_mut().unwrap().remove("pop_mode").unwrap();
    v["new_task_extra"] = json!({"pop_mode": pop_mode, "start_time": "1999-01-01 00:00:00"});
    let observed = observed_fields(&detail(v));
    assert_eq!(
        observed.get(Field::NumberOrder),
        Some(&json!("Sequential")),
        "from new_task_extra"
    );
    assert_eq!(
        observed.get(Field::StartTime),
        Some(&json!("2024-12-23 19:00:00")),
        "task_extras wins"
    );
}

#[test]
fn zero_for_an_unset_id_is_not_drift_but_is_for_a_set_one() {
    let mut s = spec();
    let mut v = echo_json(&s, 1);
    v["llm_intention_id"] = json!(0);
    v["bridge_group_id"] = json!(0);
    s.task.llm_intention_id = None;
    assert!(diff(&desired_fields(&s.task), &observed_fields(&detail(v.clone()))).is_empty());
    s.task.llm_intention_id = Some(123);
    let diffs = diff(&desired_fields(&s.task), &observed_fields(&detail(v)));
    assert_eq!(
        diffs.iter().map(|d| d.field).collect::<Vec<_>>(),
        [Field::LlmIntentionId]
    );
    assert_eq!(diffs[0].observed, Value::Null);
}

#[test]
fn unknown_enum_codes_are_kept_as_numbers_and_differ() {
    let s = spec();
    let mut v = echo_json(&s, 1);
    v["task_extras"]["pop_mode"] = json!(9);
    let diffs = diff(&desired_fields(&s.task), &observed_fields(&detail(v)));
    assert_eq!(diffs.len(), 1);
    assert_eq!(diffs[0].observed, json!(9));
}

#[test]
fn task_type_and_group_type_are_compared_only_when_reported() {
    let mut s = spec();
    s.task.group_type = Some("group".into());
    s.task.task_type = Some(7);
    let mut v = echo_json(&s, 1);
    v.as_object_mut().unwrap().remove("task_type");
    v.as_object_mut().unwrap().remove("group_type");
    assert!(diff(&desired_fields(&s.task), &observed_fields(&detail(v.clone()))).is_empty());
    v["task_type"] = json!(6);
    assert_eq!(diff(&desired_fields(&s.task), &observed_fields(&detail(v))).len(), 1);
}

#[test]
fn scripts_by_variable_order_matters_only_among_equal_priorities() {
    let s = spec();
    let mut v = echo_json(&s, 1);
    let list = v["task_extras"]["destination_extension_with_variable_list"]
        .as_array_mut()
        .unwrap();
    list.reverse();
    assert!(diff(&desired_fields(&s.task), &observed_fields(&detail(v.clone()))).is_empty());
    for rule in v["task_extras"]["destination_extension_with_variable_list"]
        .as_array_mut()
        .unwrap()
    {
        rule["sort"] = json!(0);
    }
    let mut tied = s.clone();
    for rule in tied.task.scripts_by_variable.as_mut().unwrap() {
        rule.priority = 0;
    }
    let diffs = diff(&desired_fields(&tied.task), &observed_fields(&detail(v)));
    assert_eq!(
        diffs.iter().map(|d| d.field).collect::<Vec<_>>(),
        [Field::ScriptsByVariable]
    );
}

#[test]
fn run_state_is_not_a_setting() {
    let mut s = spec();
    s.run_state = Some(RunState::Running);
    let none = Carried::default();
    assert_eq!(update_body(&s, &none), update_body(&spec(), &none));
}

/// The fixture without `taskType`, `scriptSelection` and `numberOrder` (and the ByVariable
/// lists that go with a script selection).
fn spec_without_defaulted_fields() -> OutboundTaskSpec {
    let mut v = serde_json::to_value(spec()).unwrap();
    let task = v["task"].as_object_mut().unwrap();
    for key in ["taskType", "scriptSelection", "numberOrder", "scriptsByVariable"] {
        task.remove(key);
    }
    serde_json::from_value(v).unwrap()
}

#[test]
fn unset_task_type_script_selection_and_number_order_are_not_sent() {
    let v = body_json(&spec_without_defaulted_fields());
    assert!(v.get("task_type").is_none(), "task_type sent though unset: {v}");
    assert!(
        v.get("is_group_switch").is_none(),
        "is_group_switch sent though unset: {v}"
    );
    assert!(
        v["task_extras"].get("pop_mode").is_none(),
        "pop_mode sent though unset: {v}"
    );
}

#[test]
fn unset_task_type_script_selection_and_number_order_are_not_compared() {
    let s = spec_without_defaulted_fields();
    let desired = desired_fields(&s.task);
    for field in [Field::TaskType, Field::ScriptSelection, Field::NumberOrder] {
        assert!(!desired.contains(field), "{field} owned though unset");
    }
    // A console task with other values for all three: no difference.
    let mut v = echo_json(&s, 1);
    v["task_type"] = json!(6);
    v["is_group_switch"] = json!(1);
    v["task_extras"]["pop_mode"] = json!(2);
    assert_eq!(diff(&desired, &observed_fields(&detail(v))), vec![]);
}

#[test]
fn an_update_sends_back_the_reported_task_type_and_pop_mode_of_an_unset_field() {
    let s = spec_without_defaulted_fields();
    let mut v = echo_json(&s, 1);
    v["task_type"] = json!(6);
    v["task_extras"]["pop_mode"] = json!(2);
    let carried = Carried::from_detail(&detail(v));
    let body = serde_json::to_value(update_body(&s, &carried)).unwrap();
    assert_eq!(body["task_type"], json!(6));
    assert_eq!(body["task_extras"]["pop_mode"], json!(2));
    assert_eq!(
        body["task_extras"]["line"],
        json!(["d47c3599-f166-4cd0-999c-f60e46814d26"]),
        "an old 2.0 task's lines go as bare ids"
    );
    assert!(body.get("is_group_switch").is_none(), "not required: never sent unset");
    // A value the spec sets wins over the one read.
    let mut set = s.clone();
    set.task.number_order = Some(outbound_api::NumberOrder::Reverse);
    let body = serde_json::to_value(update_body(
        &set,
        &Carried {
            pop_mode: Some(0),
            task_type: None,
        },
    ))
    .unwrap();
    assert_eq!(body["task_extras"]["pop_mode"], json!(2));
}

#[test]
fn a_create_sends_new_2_0_and_random_order_when_unset() {
    let v = serde_json::to_value(create_body(&spec_without_defaulted_fields())).unwrap();
    assert_eq!(v["task_type"], json!(7));
    assert_eq!(v["task_extras"]["pop_mode"], json!(0));
    assert!(v.get("is_group_switch").is_none());
}

#[test]
fn stored_objects_with_the_old_defaults_still_own_them() {
    // The old CRD defaulted these three into every stored object: they stay owned.
    let mut v = serde_json::to_value(spec_without_defaulted_fields()).unwrap();
    v["task"]["taskType"] = json!(7);
    v["task"]["scriptSelection"] = json!("Unified");
    v["task"]["numberOrder"] = json!("Random");
    let s: OutboundTaskSpec = serde_json::from_value(v).unwrap();
    let body = body_json(&s);
    assert_eq!(
        (body["task_type"].clone(), body["is_group_switch"].clone()),
        (json!(7), json!(0))
    );
    assert_eq!(body["task_extras"]["pop_mode"], json!(0));
    let mut read = echo_json(&s, 1);
    read["task_extras"]["pop_mode"] = json!(1);
    let diffs = diff(&desired_fields(&s.task), &observed_fields(&detail(read)));
    assert_eq!(diffs.iter().map(|d| d.field).collect::<Vec<_>>(), [Field::NumberOrder]);
}
