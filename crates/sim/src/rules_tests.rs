//! Unit tests of the update rules: a valid body from the seed page, then one mutation per rule.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::merge::merge_patch;
use super::rules::validate_update;

const LINE_A: &str = "d47c3599-f166-4cd0-999c-f60e46814d26";
const LINE_B: &str = "ece66f74-149e-455a-ba9e-2d71fa0cab84";

fn lines() -> BTreeMap<String, u32> {
    BTreeMap::from([(LINE_A.to_owned(), 4), (LINE_B.to_owned(), 1)])
}

fn valid_body() -> Value {
    json!({
        "name": "测试api接口创建-222",
        "group_type": "group",
        "task_type": 7,
        "destination_extension": 123,
        "is_group_switch": 0,
        "maximumcall": 2,
        "dial_time_id": 123,
        "background_id": 123,
        "task_extras": {
            "start_time": "2024-12-23 19:00:00",
            "stop_time": "2025-12-25 23:59:59",
            "line": [{"id": LINE_A, "limit": 2}],
            "holiday": [{"begin": "2024-11-01 13:25", "end": "2024-11-03 13:25"}],
            "work_hour": [],
            "work_week": [],
            "pop_mode": 1,
            "redial_enabled": 0,
            "redial_new_number_policy": 0,
            "redial_interval": 3,
            "redial_max_times": 3,
            "redial_conditions": {"da_status": [2, 3, 4, 6, 8, 9, 12]}
        },
        "llm_intention_id": 123,
        "score_scheme_id": 123
    })
}

/// The error for the valid body with `patch` merged in (`null` deletes a key).
fn error_with(patch: Value) -> String {
    let mut body = valid_body();
    merge_patch(&mut body, patch);
    validate_update(&body, &lines()).expect_err("the patched body must be rejected")
}

#[test]
fn the_seed_example_is_valid() {
    assert_eq!(validate_update(&valid_body(), &lines()), Ok(()));
}

#[test]
fn required_fields_are_named() {
    for field in [
        "name",
        "destination_extension",
        "maximumcall",
        "dial_time_id",
        "task_extras",
    ] {
        let error = error_with(json!({ field: null }));
        assert_eq!(error, format!("{field} is required"));
    }
    let error = error_with(json!({"task_extras": {"start_time": null}}));
    assert_eq!(error, "task_extras.start_time is required");
    assert!(error_with(json!({"task_extras": {"line": null}})).starts_with("task_extras.line is required"));
    assert!(error_with(json!({"task_extras": {"holiday": null}})).starts_with("task_extras.holiday is required"));
    assert!(error_with(json!({"task_extras": {"pop_mode": null}})).starts_with("task_extras.pop_mode"));
}

#[test]
fn pop_mode_is_optional_for_old_2_0_and_defaults_to_required() {
    let old = json!({"task_type": 6, "task_extras": {"pop_mode": null, "line": [LINE_A]}});
    let mut body = valid_body();
    merge_patch(&mut body, old);
    assert_eq!(validate_update(&body, &lines()), Ok(()));
    assert!(error_with(json!({"task_type": null, "task_extras": {"pop_mode": null}})).contains("pop_mode"));
}

#[test]
fn line_arithmetic() {
    let two_lines = json!([{"id": LINE_A, "limit": 1}, {"id": LINE_B, "limit": 1}]);
    let error = error_with(json!({"maximumcall": 5, "task_extras": {"line": two_lines}}));
    assert_eq!(error, "maximumcall 5 is not divisible by the 2 selected lines");
    let error = error_with(json!({"maximumcall": 4, "task_extras": {"line": two_lines}}));
    assert!(error.contains("maximumcall 4") && error.contains(LINE_B), "{error}");
    let error = error_with(json!({"task_extras": {"line": [{"id": "nope", "limit": 2}]}}));
    assert!(
        error.starts_with("task_extras.line") && error.contains("nope"),
        "{error}"
    );
    let error = error_with(json!({"task_extras": {"line": [LINE_A]}}));
    assert!(error.starts_with("task_extras.line[0]"), "{error}");
    let error = error_with(json!({"task_type": 6, "task_extras": {"line": [{"id": LINE_A, "limit": 2}]}}));
    assert!(error.starts_with("task_extras.line[0]"), "{error}");
    let error = error_with(
        json!({"maximumcall": 2, "task_extras": {"line": [{"id": LINE_A, "limit": 1}, {"id": LINE_A, "limit": 1}]}}),
    );
    assert!(error.contains("more than once"), "{error}");
}

#[test]
fn redial_ranges() {
    for (field, value) in [
        ("redial_interval", 0),
        ("redial_interval", 61),
        ("redial_max_times", 0),
        ("redial_max_times", 4),
    ] {
        let error = error_with(json!({"task_extras": { field: value }}));
        assert!(error.starts_with(&format!("task_extras.{field} {value}")), "{error}");
    }
    // The bounds themselves are valid: the only error left is the removed name.
    assert_eq!(
        error_with(json!({"name": null, "task_extras": {"redial_interval": 60, "redial_max_times": 1}})),
        "name is required"
    );
}

#[test]
fn group_switch_modes_need_their_lists() {
    let error = error_with(json!({"is_group_switch": 1}));
    assert!(error.starts_with("task_extras.destination_extension_list"), "{error}");
    let error =
        error_with(json!({"is_group_switch": 2, "task_extras": {"destination_extension_with_variable_list": []}}));
    assert!(
        error.starts_with("task_extras.destination_extension_with_variable_list"),
        "{error}"
    );
    let eleven: Vec<String> = (0..11).map(|i| i.to_string()).collect();
    let too_many_values = json!([{"mode": 1, "values": eleven, "destination_extension": 11, "sort": 1}]);
    let error = error_with(
        json!({"is_group_switch": 2, "task_extras": {"destination_extension_with_variable_list": too_many_values}}),
    );
    assert!(error.contains("[0].values has 11"), "{error}");
    let repeated = json!([{"mode": 1, "values": ["男", "男"], "destination_extension": 11, "sort": 1}]);
    let error = error_with(
        json!({"is_group_switch": 2, "task_extras": {"destination_extension_with_variable_list": repeated}}),
    );
    assert!(error.contains("[0].values must not repeat"), "{error}");
    let entry = json!({"mode": 1, "values": ["x"], "destination_extension": 11, "sort": 1});
    let error = error_with(
        json!({"is_group_switch": 2, "task_extras": {"destination_extension_with_variable_list": vec![entry; 101]}}),
    );
    assert!(error.contains("101 entries"), "{error}");
    let error = error_with(
        json!({"is_group_switch": 3, "task_extras": {"destination_extension_multi_config": {"dial_mode": 0, "list": []}}}),
    );
    assert!(
        error.starts_with("task_extras.destination_extension_multi_config.list"),
        "{error}"
    );
    let ok = json!({"is_group_switch": 3, "task_extras": {"destination_extension_multi_config": {"dial_mode": 0, "list": [{"destination_extension": "13601", "sort": 1}]}}});
    let mut body = valid_body();
    merge_patch(&mut body, ok);
    assert_eq!(validate_update(&body, &lines()), Ok(()));
}

#[test]
fn scalar_rules() {
    let error = error_with(json!({"end_action": 1, "elasticity_type": true}));
    assert!(
        error.contains("end_action") && error.contains("elasticity_type"),
        "{error}"
    );
    assert!(error_with(json!({"bridge_group_id": 0})).starts_with("bridge_group_id"));
    assert!(error_with(json!({"bridge_group_id": "1"})).starts_with("bridge_group_id"));
    assert!(error_with(json!({"name": ""})).starts_with("name length 0"));
    assert!(error_with(json!({"name": "n".repeat(101)})).starts_with("name length 101"));
    assert!(error_with(json!({"maximumcall": "2"})).starts_with("maximumcall must be a positive integer"));
    assert!(error_with(json!({"task_extras": {"start_time": "2024/11/01"}})).starts_with("task_extras.start_time"));
    assert!(
        error_with(json!({"task_extras": {"stop_time": "2020-01-01 00:00:00"}})).starts_with("task_extras.stop_time")
    );
    assert!(error_with(json!({"task_type": 5})).starts_with("task_type 5"));
}
