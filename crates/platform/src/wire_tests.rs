//! Decode tests of every response variant documented in remote-api.md (§1.4–§1.6, §2.2, §2.5,
//! §4 item 10 and 12), and of what we send.

use serde_json::{Value, json};

use super::classify::{RawResponse, classify};
use super::error::{Endpoint, ErrorKind};
use outbound_core::wire::*;

fn detail(data: Value) -> TaskDetail {
    serde_json::from_value(data).expect("detail decodes")
}

/// The edit response example of remote-api.md §2.5, as published (abridged by the doc).
const EDIT_EXAMPLE: &str = r#"{
  "code": 200, "status": "success", "message": "返回任务信息成功",
  "data": {
    "name": "demo", "remark": null, "maximumcall": 1, "recycle_limit": 0,
    "destination_extension": "480", "destination_extension_name": "测试222",
    "random_assignment_number": 0, "_originate_timeout": 60,
    "caller_line_id": null, "caller_line_name": null, "bridge_group_id": null,
    "dial_time_id": 223, "auto_recycle_rule_id": 94, "end_action": 1, "llm_intention_id": 0,
    "background_id": null, "status": 3, "status_str": "等待执行", "call_status": true,
    "elasticity_task": false,
    "new_task_extra": {
      "name": "demo", "enable": true, "call_status": true,
      "line": ["ece66f74-149e-455a-ba9e-2d71fa0cab84"],
      "limit": 1, "cps": 1, "start_time": "2024-11-01 13:25:26", "stop_time": "2025-11-01 13:25:26",
      "holiday": [{ "start": "2024-11-01 13:25", "end": "2024-11-03 13:25" }],
      "work_week": [1,2,3,4,5,6,0], "work_hour": [{ "wday": "-1", "begin": "02:30", "end": "07:00" }],
      "destination_extension": "480", "blacklist": "", "number_count": 0, "call_info": []
    },
    "task_extras": { "line": ["ece66f74-149e-455a-ba9e-2d71fa0cab84"], "stop_time": "2025-11-01 13:25:26" }
  }
}"#;

#[test]
fn edit_example_decodes_through_the_envelope() {
    let data = classify(
        Endpoint::Detail,
        RawResponse {
            status: 200,
            retry_after: None,
            body: EDIT_EXAMPLE.as_bytes(),
        },
        "t",
    )
    .unwrap();
    let d = detail(data);
    assert_eq!(d.name.as_deref(), Some("demo"));
    assert_eq!(d.remark, None);
    // destination_extension arrives as the string "480".
    assert_eq!(d.destination_extension, Some(480));
    assert_eq!(
        (d.maximumcall, d.dial_time_id, d.auto_recycle_rule_id),
        (Some(1), Some(223), Some(94))
    );
    assert_eq!(
        (d.status, d.call_status, d.elasticity_task),
        (Some(3), Some(true), Some(false))
    );
    // Unset ids: null → None, 0 stays 0 (the diff treats 0 as unset, not the decoder).
    assert_eq!(
        (d.background_id, d.bridge_group_id, d.llm_intention_id),
        (None, None, Some(0))
    );
    let engine = d.new_task_extra.unwrap();
    assert_eq!(
        (engine.enable, engine.call_status, engine.limit),
        (Some(true), Some(true), Some(1))
    );
    assert_eq!(
        engine.line.unwrap(),
        vec![LineRead {
            id: "ece66f74-149e-455a-ba9e-2d71fa0cab84".into(),
            limit: None
        }]
    );
    // Holiday with `start` (not `begin`).
    assert_eq!(engine.holiday.unwrap()[0].begin.as_deref(), Some("2024-11-01 13:25"));
    assert_eq!(engine.work_week, Some(vec![1, 2, 3, 4, 5, 6, 0]));
    let hours = engine.work_hour.unwrap();
    assert_eq!(
        (hours[0].begin.as_deref(), hours[0].end.as_deref()),
        (Some("02:30"), Some("07:00"))
    );
    let local = d.task_extras.unwrap();
    assert_eq!(local.stop_time.as_deref(), Some("2025-11-01 13:25:26"));
    assert_eq!(local.holiday, None);
}

#[test]
fn lines_as_strings_or_id_limit_objects() {
    let d = detail(json!({"task_extras": {"line": [
        "a-1",
        {"id": "b-2", "limit": 2},
        {"id": "c-3", "limit": "4"},
        {"line_id": 77}
    ]}}));
    let lines = d.task_extras.unwrap().line.unwrap();
    assert_eq!(
        lines,
        vec![
            LineRead {
                id: "a-1".into(),
                limit: None
            },
            LineRead {
                id: "b-2".into(),
                limit: Some(2)
            },
            LineRead {
                id: "c-3".into(),
                limit: Some(4)
            },
            LineRead {
                id: "77".into(),
                limit: None
            },
        ]
    );
}

#[test]
fn holiday_begin_or_start() {
    let d = detail(json!({"task_extras": {"holiday": [
        {"begin": "2024-11-01 13:25", "end": "2024-11-03 13:25"},
        {"start": "2024-12-01 00:00", "end": "2024-12-02 00:00"}
    ]}}));
    let holidays = d.task_extras.unwrap().holiday.unwrap();
    assert_eq!(holidays[0].begin.as_deref(), Some("2024-11-01 13:25"));
    assert_eq!(holidays[1].begin.as_deref(), Some("2024-12-01 00:00"));
    assert_eq!(holidays[1].end.as_deref(), Some("2024-12-02 00:00"));
}

#[test]
fn flags_as_zero_one_bool_or_strings() {
    for (raw, expected) in [
        (json!(1), Some(true)),
        (json!(0), Some(false)),
        (json!(true), Some(true)),
        (json!(false), Some(false)),
        (json!("1"), Some(true)),
        (json!("false"), Some(false)),
        (Value::Null, None),
    ] {
        let d = detail(json!({
            "call_status": raw, "elasticity_task": raw,
            "task_extras": {"redial_enabled": raw, "redial_new_number_policy": raw}
        }));
        assert_eq!(d.call_status, expected, "{raw}");
        assert_eq!(d.elasticity_task, expected);
        let extras = d.task_extras.unwrap();
        assert_eq!(
            (extras.redial_enabled, extras.redial_new_number_policy),
            (expected, expected)
        );
    }
    // The update call's name of the flag is accepted too.
    assert_eq!(detail(json!({"elasticity_type": 1})).elasticity_task, Some(true));
}

#[test]
fn unset_ids_null_zero_absent_or_empty_string() {
    let d =
        detail(json!({"background_id": null, "bridge_group_id": 0, "llm_intention_id": "", "score_scheme_id": "12"}));
    assert_eq!(d.background_id, None);
    assert_eq!(d.bridge_group_id, Some(0));
    assert_eq!(d.llm_intention_id, None);
    assert_eq!(d.score_scheme_id, Some(12));
    assert_eq!(d.auto_recycle_rule_id, None); // absent
}

#[test]
fn redial_conditions_object_or_array() {
    let object = detail(json!({"task_extras": {"redial_conditions": {"da_status": [2, 3, "4"], "hangup_cause": []}}}));
    assert_eq!(object.task_extras.unwrap().redial_conditions, Some(vec![2, 3, 4]));
    let array = detail(json!({"task_extras": {"redial_conditions": [2, 3, 4, 6, 8, 9, 12]}}));
    assert_eq!(
        array.task_extras.unwrap().redial_conditions,
        Some(vec![2, 3, 4, 6, 8, 9, 12])
    );
    let null = detail(json!({"task_extras": {"redial_conditions": null}}));
    assert_eq!(null.task_extras.unwrap().redial_conditions, None);
}

#[test]
fn php_empty_arrays_where_objects_are_expected() {
    // PHP encodes an empty associative array as `[]`.
    let d = detail(json!({
        "task_extras": [], "new_task_extra": null,
        "group_switch_rule": null, "new_call_rules": []
    }));
    assert_eq!(d.task_extras, Some(ExtrasRead::default()));
    assert_eq!(d.new_task_extra, None);
    assert!(d.group_switch_rule.is_empty() && d.new_call_rules.is_empty());
    let d = detail(json!({"task_extras": {"destination_extension_multi_config": [], "redial_conditions": {}}}));
    let extras = d.task_extras.unwrap();
    assert_eq!(
        extras.destination_extension_multi_config,
        Some(MultiConfigRead::default())
    );
    assert_eq!(extras.redial_conditions, None);
}

#[test]
fn new_two_zero_script_settings_read_back() {
    let d = detail(json!({"is_group_switch": "3", "task_extras": {
        "pop_mode": "1", "interval_time": 0, "work_week": ["1", 2],
        "destination_extension_list": [{"begin": "09:00", "end": "12:00", "destination_extension": "123"}],
        "destination_extension_with_variable_list": [{"mode": 1, "values": ["男", 1], "destination_extension": 11, "sort": 1}],
        "destination_extension_multi_config": {"dial_mode": 0, "list": [{"destination_extension": "5", "sort": 1}]}
    }}));
    assert_eq!(d.is_group_switch, Some(3));
    let x = d.task_extras.unwrap();
    assert_eq!(
        (x.pop_mode, x.interval_time, x.work_week),
        (Some(1), Some(0), Some(vec![1, 2]))
    );
    assert_eq!(
        x.destination_extension_list.unwrap()[0].destination_extension,
        Some(123)
    );
    assert_eq!(
        x.destination_extension_with_variable_list.unwrap()[0].values,
        vec!["男", "1"]
    );
    assert_eq!(
        x.destination_extension_multi_config.unwrap().list[0].destination_extension,
        Some(5)
    );
}

#[test]
fn envelope_variants() {
    let ok: Envelope =
        serde_json::from_str(r#"{"code":200,"status":"success","message":"修改成功","data":""}"#).unwrap();
    assert!(ok.is_success());
    assert_eq!(ok.data, json!(""));
    let err: Envelope =
        serde_json::from_str(r#"{"code": 6007,"status": "error","message": "2.0任务启动中,请先停止任务","data": []}"#)
            .unwrap();
    assert!(!err.is_success());
    assert_eq!((err.code, err.data), (Some(6007), json!([])));
    let list: Envelope = serde_json::from_str(
        r#"{"code":200,"status":"success","message":"ok","data":[{"uuid":"x"}],
            "meta":{"has_pages":true,"total":31,"last_page":31,"current_page":1,"per_page":"1"}}"#,
    )
    .unwrap();
    assert!(list.is_success());
    let meta = list.meta.unwrap();
    assert_eq!(
        (meta.per_page, meta.total, meta.current_page),
        (Some(1), Some(31), Some(1))
    );
    assert_eq!((meta.last_page, meta.has_pages), (Some(31), Some(true)));
    let numeric: Envelope = serde_json::from_str(r#"{"code":"200","data":null,"meta":{"per_page":15}}"#).unwrap();
    assert!(numeric.is_success());
    assert_eq!(numeric.meta.unwrap().per_page, Some(15));
}

#[test]
fn error_envelope_with_http_200_and_6007_classifies_as_task_started() {
    let body = r#"{"code": 6007,"status": "error","message": "2.0任务启动中,请先停止任务","data": []}"#;
    let e = classify(
        Endpoint::Update,
        RawResponse {
            status: 200,
            retry_after: None,
            body: body.as_bytes(),
        },
        "t",
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TaskStarted);
}

#[test]
fn update_body_matches_the_documented_example() {
    let body = UpdateBody {
        sub_user_id: None,
        name: "campaign-a".into(),
        remark: None,
        task_type: Some(7),
        group_type: None,
        destination_extension: 123,
        is_group_switch: Some(0),
        group_switch_rule: None,
        maximumcall: 2,
        dial_time_id: 123,
        background_id: Some(123),
        bridge_group_id: None,
        auto_recycle_rule_id: None,
        elasticity_type: None,
        end_action: None,
        llm_intention_id: Some(123),
        score_scheme_id: Some(123),
        task_extras: TaskExtrasBody {
            start_time: "2024-12-23 19:00:00".into(),
            stop_time: Some("2025-12-25 23:59:59".into()),
            line: vec![LineBody::WithLimit {
                id: "d47c3599-f166-4cd0-999c-f60e46814d26".into(),
                limit: 2,
            }],
            holiday: vec![],
            work_hour: Some(vec![]),
            work_week: Some(vec![]),
            interval_time: None,
            pop_mode: Some(1),
            destination_extension_list: None,
            destination_extension_with_variable_list: None,
            destination_extension_multi_config: None,
            redial_enabled: Some(0),
            redial_new_number_policy: Some(0),
            redial_interval: Some(3),
            redial_max_times: Some(3),
            redial_conditions: Some(RedialConditionsBody {
                da_status: vec![2, 3, 4, 6, 8, 9, 12],
            }),
        },
        new_call_rules: None,
    };
    // remote-api.md §2.2 "Example body (new 2.0)".
    let expected = json!({
      "name": "campaign-a", "task_type": 7, "destination_extension": 123, "is_group_switch": 0,
      "maximumcall": 2, "dial_time_id": 123, "background_id": 123, "llm_intention_id": 123,
      "score_scheme_id": 123,
      "task_extras": {
        "start_time": "2024-12-23 19:00:00", "stop_time": "2025-12-25 23:59:59",
        "line": [ { "id": "d47c3599-f166-4cd0-999c-f60e46814d26", "limit": 2 } ],
        "holiday": [], "work_hour": [], "work_week": [], "pop_mode": 1,
        "redial_enabled": 0, "redial_new_number_policy": 0, "redial_interval": 3, "redial_max_times": 3,
        "redial_conditions": { "da_status": [2, 3, 4, 6, 8, 9, 12] }
      }
    });
    assert_eq!(serde_json::to_value(&body).unwrap(), expected);
    // Old 2.0 lines are bare id strings.
    assert_eq!(serde_json::to_value(LineBody::Id("x".into())).unwrap(), json!("x"));
}

#[test]
fn both_spellings_present_do_not_fail_the_read() {
    // Known limit: `elasticity_task` and `elasticity_type` both present is still rejected (a
    // derived alias); neither the docs nor the simulator send both.
    let d: Result<TaskDetail, _> = serde_json::from_value(json!({
        "elasticity_task": false,
        "task_extras": {"holiday": [{"begin": "2024-11-01 13:25", "start": "2024-11-01 13:25", "end": "2024-11-03 13:25"}]}
    }));
    let d = d.expect("duplicate spellings decode");
    assert_eq!(d.elasticity_task, Some(false));
    assert_eq!(
        d.task_extras.unwrap().holiday.unwrap()[0].begin.as_deref(),
        Some("2024-11-01 13:25")
    );
}
