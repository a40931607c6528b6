//! Integration tests of the platform simulator over HTTP: the in-process library form, and
//! one test of the `outbound-sim` binary.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use outbound_sim::{FaultConfig, Fixtures, JournalEntry, SimConfig, SimEndpoint, SimHandle, Simulator};
use serde_json::{Value, json};

const FIXTURES: &str = include_str!("fixtures/sim-basic.yaml");
const TOKEN: &str = "sim-test-token-0001";
const USER: &str = "5832d184-dd53-42a0-8ace-0bf8d660f4cc";
/// Running new-2.0 task.
const TASK: &str = "f232d184-dd54-42a0-8ace-0bf8d660f4cc";
/// Paused old-2.0 task.
const OLD_TASK: &str = "a0000000-0000-4000-8000-000000000006";
/// Waiting task of a sub-account.
const SUB_TASK: &str = "b0000000-0000-4000-8000-0000000000b0";
const SUB_USER: &str = "5b55bcca-d653-4a58-8f9a-437fb0601f8e";
const LINE_A: &str = "d47c3599-f166-4cd0-999c-f60e46814d26";
const LINE_B: &str = "ece66f74-149e-455a-ba9e-2d71fa0cab84";
const UNAUTHENTICATED: &str = r#"{"code":401,"status":"error","message":"Unauthenticated.","data":[]}"#;
const NOT_FOUND: &str = r#"{"code":404,"status":"error","message":"任务不存在","data":[]}"#;
const NOT_PAUSED: &str = r#"{"code":6007,"status":"error","message":"2.0任务启动中,请先停止任务","data":[]}"#;
const UPDATED: &str = r#"{"code":200,"status":"success","message":"修改成功","data":""}"#;

fn detail_path(task: &str) -> String {
    format!("/agent-api/new/user/{USER}/task/{task}/edit")
}
fn update_path(task: &str) -> String {
    format!("/agent-api/new/user/{USER}/task/{task}")
}
fn pause_path(task: &str) -> String {
    format!("/agent-api/new/user/{USER}/task_stop/{task}")
}
fn resume_path(task: &str) -> String {
    format!("/agent-api/new/user/{USER}/task_start/{task}")
}

/// A valid new-2.0 update body for `TASK`, from the seed page's example.
fn update_body() -> Value {
    json!({
        "name": "campaign-a",
        "task_type": 7,
        "destination_extension": 480,
        "is_group_switch": 0,
        "maximumcall": 4,
        "dial_time_id": 223,
        "remark": "edited by the operator",
        "task_extras": {
            "start_time": "2024-12-23 19:00:00",
            "stop_time": "2025-12-25 23:59:59",
            "line": [{"id": LINE_A, "limit": 4}],
            "holiday": [{"begin": "2024-11-01 13:25", "end": "2024-11-03 13:25"}],
            "work_hour": [],
            "work_week": [1, 2, 3, 4, 5, 6, 0],
            "pop_mode": 2,
            "redial_enabled": 1,
            "redial_new_number_policy": 1,
            "redial_interval": 60,
            "redial_max_times": 1,
            "redial_conditions": {"da_status": [2, 3]}
        }
    })
}

/// RFC 7386 merge, to derive invalid bodies from the valid one (`null` deletes a key).
fn merged(mut base: Value, patch: Value) -> Value {
    fn merge(target: &mut Value, patch: Value) {
        match patch {
            Value::Object(patch) => {
                if !target.is_object() {
                    *target = json!({});
                }
                let target = target.as_object_mut().unwrap();
                for (key, value) in patch {
                    if value.is_null() {
                        target.remove(&key);
                    } else {
                        merge(target.entry(key).or_insert(Value::Null), value);
                    }
                }
            }
            other => *target = other,
        }
    }
    merge(&mut base, patch);
    base
}

struct Reply {
    status: u16,
    retry_after: Option<String>,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text))
    }
}

/// A simulator started from the basic fixtures, and an HTTP client for it.
struct Harness {
    sim: SimHandle,
    http: reqwest::Client,
}

impl Harness {
    async fn start() -> Self {
        let fixtures = Fixtures::from_yaml_str(FIXTURES).expect("test fixtures parse");
        let sim = Simulator::start(SimConfig::new(TOKEN, fixtures))
            .await
            .expect("simulator starts");
        Harness {
            sim,
            http: client(Duration::from_secs(10)),
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<&Value>, token: Option<&str>) -> Reply {
        self.send(&self.http, method, path, body, token)
            .await
            .expect("simulator answers")
    }

    async fn send(
        &self,
        http: &reqwest::Client,
        method: &str,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> reqwest::Result<Reply> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = http.request(method, format!("{}{path}", self.sim.base_url()));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|value| value.to_str().unwrap().to_owned());
        let text = response.text().await?;
        Ok(Reply {
            status,
            retry_after,
            text,
        })
    }

    async fn get(&self, path: &str) -> Reply {
        self.call("GET", path, None, Some(TOKEN)).await
    }

    async fn put(&self, path: &str, body: Option<&Value>) -> Reply {
        self.call("PUT", path, body, Some(TOKEN)).await
    }

    async fn admin(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        self.call(method, &format!("/_sim{path}"), body, None).await
    }

    async fn detail(&self, task: &str) -> Value {
        let reply = self.get(&detail_path(task)).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.json()["data"].clone()
    }

    async fn set_faults(&self, faults: Value) {
        let reply = self.admin("PUT", "/faults", Some(&faults)).await;
        assert_eq!(reply.status, 204, "{}", reply.text);
    }
}

fn client(timeout: Duration) -> reqwest::Client {
    // reqwest is built without a bundled crypto provider; plain-HTTP tests still need one set.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .expect("HTTP client builds")
}

#[tokio::test]
async fn calls_without_the_token_get_401() {
    let harness = Harness::start().await;
    for token in [None, Some("wrong-token")] {
        let reply = harness.call("GET", &detail_path(TASK), None, token).await;
        assert_eq!((reply.status, reply.text.as_str()), (401, UNAUTHENTICATED));
    }
    let reply = harness.get("/agent-api/token").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!({"code": 200, "status": "success", "message": "ok", "data": {"valid": true, "expire_at": "2099-12-31 23:59:59"}})
    );

    // Rotation: the old token stops working at once.
    let reply = harness
        .admin("PUT", "/token", Some(&json!({"token": "rotated-token-0002"})))
        .await;
    assert_eq!(reply.status, 204);
    assert_eq!(harness.get("/agent-api/token").await.status, 401);
    let reply = harness
        .call("GET", "/agent-api/token", None, Some("rotated-token-0002"))
        .await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn detail_has_the_documented_shape_and_quirks() {
    let harness = Harness::start().await;
    let reply = harness.get(&detail_path(TASK)).await;
    let envelope = reply.json();
    assert_eq!(envelope["code"], 200);
    assert_eq!(envelope["status"], "success");
    let data = &envelope["data"];
    assert_eq!(data["name"], "测试api接口创建-222");
    assert_eq!(data["destination_extension"], "123", "returned as a string");
    assert_eq!(data["maximumcall"], 2);
    assert_eq!(data["remark"], Value::Null);
    assert_eq!(data["bridge_group_id"], Value::Null);
    assert_eq!(data["auto_recycle_rule_id"], Value::Null);
    assert_eq!(data["end_action"], 0);
    assert_eq!(data["elasticity_task"], false);
    assert!(data.get("elasticity_type").is_none());
    assert_eq!(data["group_switch_rule"], json!([]));
    assert_eq!(
        (data["status"].clone(), data["status_str"].clone()),
        (json!(2), json!("执行中"))
    );
    assert_eq!(data["call_status"], true);
    assert_eq!(data["_originate_timeout"], 60);
    assert_eq!(data["caller_line_id"], Value::Null);
    let extras = &data["task_extras"];
    assert_eq!(
        extras["holiday"],
        json!([{"start": "2024-11-01 13:25", "end": "2024-11-03 13:25"}])
    );
    assert_eq!(extras["redial_enabled"], true);
    assert_eq!(extras["redial_new_number_policy"], false);
    assert_eq!(extras["line"], json!([{"id": LINE_A, "limit": 2}]));
    let engine = &data["new_task_extra"];
    assert_eq!(engine["enable"], true);
    assert_eq!(engine["call_status"], true);
    assert_eq!(engine["line"], json!([LINE_A]));
    assert_eq!(engine["limit"], 2);
    assert_eq!(engine["cps"], 1);
    assert_eq!(
        engine["work_hour"],
        json!([{"wday": "-1", "begin": "09:00", "end": "18:00"}])
    );
    assert_eq!(engine["destination_extension"], "123");
    assert_eq!(engine["number_count"], 0);
    assert_eq!(engine["pop_mode"], 1);

    let waiting = harness
        .get(&format!("{}?sub_user_id={SUB_USER}", detail_path(SUB_TASK)))
        .await
        .json();
    assert_eq!(waiting["data"]["status_str"], "等待执行");
    assert_eq!(waiting["data"]["new_task_extra"]["enable"], true);
    assert_eq!(waiting["data"]["new_task_extra"]["call_status"], false);
    let old = harness.detail(OLD_TASK).await;
    assert_eq!(old["status_str"], "暂停中");
    assert_eq!(old["new_task_extra"]["line"], json!([LINE_B]));
}

#[tokio::test]
async fn update_of_a_running_task_is_refused_with_6007() {
    let harness = Harness::start().await;
    let before = harness.sim.task(TASK).unwrap().config;
    let reply = harness.put(&update_path(TASK), Some(&update_body())).await;
    assert_eq!((reply.status, reply.text.as_str()), (200, NOT_PAUSED));
    assert_eq!(harness.sim.task(TASK).unwrap().config, before);
}

#[tokio::test]
async fn pause_update_resume_cycle() {
    let harness = Harness::start().await;
    // Pause with an empty object, then again with no body: idempotent.
    let reply = harness.put(&pause_path(TASK), Some(&json!({}))).await;
    assert_eq!((reply.status, reply.json()["code"].clone()), (200, json!(200)));
    let reply = harness.put(&pause_path(TASK), None).await;
    assert_eq!(reply.json()["status"], "success");
    assert_eq!(harness.detail(TASK).await["status"], 1);

    let reply = harness.put(&update_path(TASK), Some(&update_body())).await;
    assert_eq!((reply.status, reply.text.as_str()), (200, UPDATED));
    assert_eq!(
        harness.sim.task(TASK).unwrap().config,
        update_body(),
        "config replaced, not merged"
    );
    let detail = harness.detail(TASK).await;
    assert_eq!(detail["status"], 1, "an update leaves the task paused");
    assert_eq!(detail["maximumcall"], 4);
    assert_eq!(detail["destination_extension"], "480");
    assert_eq!(detail["remark"], "edited by the operator");
    assert_eq!(detail["background_id"], Value::Null, "dropped by the replacing update");
    assert_eq!(detail["task_extras"]["pop_mode"], 2);
    assert_eq!(detail["task_extras"]["redial_new_number_policy"], true);
    assert_eq!(detail["new_task_extra"]["limit"], 4);
    assert_eq!(detail["new_task_extra"]["work_week"], json!([1, 2, 3, 4, 5, 6, 0]));

    for _ in 0..2 {
        let reply = harness.put(&resume_path(TASK), Some(&json!({}))).await;
        assert_eq!(reply.json()["status"], "success");
    }
    let detail = harness.detail(TASK).await;
    assert_eq!(
        (
            detail["status"].clone(),
            detail["new_task_extra"]["call_status"].clone()
        ),
        (json!(2), json!(true))
    );
}

#[tokio::test]
async fn every_update_rule_is_enforced_with_a_message_naming_the_field() {
    let harness = Harness::start().await;
    harness.put(&pause_path(TASK), None).await;
    let two_lines = json!([{"id": LINE_A, "limit": 2}, {"id": LINE_B, "limit": 2}]);
    let cases: Vec<(Value, &str)> = vec![
        (json!({"name": null}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": "x".repeat(101)}), "name"),
        (json!({"destination_extension": null}), "destination_extension"),
        (json!({"maximumcall": null}), "maximumcall"),
        (json!({"dial_time_id": null}), "dial_time_id"),
        (json!({"task_extras": null}), "task_extras"),
        (json!({"task_extras": {"start_time": null}}), "task_extras.start_time"),
        (json!({"task_extras": {"line": null}}), "task_extras.line"),
        (json!({"task_extras": {"holiday": null}}), "task_extras.holiday"),
        (json!({"task_extras": {"pop_mode": null}}), "task_extras.pop_mode"),
        (
            json!({"task_type": null, "task_extras": {"pop_mode": null}}),
            "task_extras.pop_mode",
        ),
        (
            json!({"maximumcall": 5, "task_extras": {"line": two_lines}}),
            "maximumcall 5 is not divisible by the 2 selected lines",
        ),
        (json!({"maximumcall": 4, "task_extras": {"line": two_lines}}), LINE_B),
        (
            json!({"maximumcall": 6, "task_extras": {"line": [{"id": LINE_A, "limit": 6}]}}),
            "maximumcall 6",
        ),
        (
            json!({"task_extras": {"line": [{"id": "ffffffff-0000-0000-0000-000000000000", "limit": 4}]}}),
            "ffffffff-0000-0000-0000-000000000000",
        ),
        (json!({"task_extras": {"line": [LINE_A]}}), "task_extras.line[0]"),
        (
            json!({"task_type": 6, "task_extras": {"line": [{"id": LINE_A, "limit": 4}]}}),
            "task_extras.line[0]",
        ),
        (
            json!({"task_extras": {"redial_interval": 0}}),
            "task_extras.redial_interval",
        ),
        (
            json!({"task_extras": {"redial_interval": 61}}),
            "task_extras.redial_interval",
        ),
        (
            json!({"task_extras": {"redial_max_times": 0}}),
            "task_extras.redial_max_times",
        ),
        (
            json!({"task_extras": {"redial_max_times": 4}}),
            "task_extras.redial_max_times",
        ),
        (json!({"is_group_switch": 1}), "task_extras.destination_extension_list"),
        (
            json!({"is_group_switch": 2}),
            "task_extras.destination_extension_with_variable_list",
        ),
        (
            json!({"is_group_switch": 2, "task_extras": {"destination_extension_with_variable_list": [{"mode": 1, "values": ["a", "a"], "destination_extension": 11, "sort": 1}]}}),
            "task_extras.destination_extension_with_variable_list[0].values",
        ),
        (
            json!({"is_group_switch": 3}),
            "task_extras.destination_extension_multi_config.list",
        ),
        (json!({"end_action": 1, "elasticity_type": true}), "elasticity_type"),
        (json!({"bridge_group_id": 0}), "bridge_group_id"),
    ];
    let before = harness.sim.task(TASK).unwrap().config;
    for (patch, field) in cases {
        let body = merged(update_body(), patch.clone());
        let reply = harness.put(&update_path(TASK), Some(&body)).await;
        let envelope = reply.json();
        assert_eq!(reply.status, 200, "{patch}");
        assert_eq!(
            (envelope["code"].clone(), envelope["status"].clone()),
            (json!(422), json!("error")),
            "{patch}"
        );
        assert_eq!(envelope["data"], json!([]));
        let message = envelope["message"].as_str().unwrap();
        assert!(
            message.contains(field),
            "message for {patch} should name {field}: {message}"
        );
    }
    assert_eq!(
        harness.sim.task(TASK).unwrap().config,
        before,
        "rejected updates change nothing"
    );
    let reply = harness.put(&update_path(TASK), Some(&update_body())).await;
    assert_eq!(reply.text, UPDATED, "the unmodified body is valid");
}

#[tokio::test]
async fn a_slow_pause_refuses_updates_until_the_window_ends() {
    let harness = Harness::start().await;
    harness.set_faults(json!({"slow_pause_secs": 1.5})).await;
    let reply = harness.put(&pause_path(TASK), None).await;
    assert_eq!(reply.json()["status"], "success");
    assert_eq!(
        harness.detail(TASK).await["status"],
        2,
        "still running inside the window"
    );
    let reply = harness.put(&update_path(TASK), Some(&update_body())).await;
    assert_eq!(reply.text, NOT_PAUSED);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(harness.detail(TASK).await["status"], 1);
    let reply = harness.put(&update_path(TASK), Some(&update_body())).await;
    assert_eq!(reply.text, UPDATED);
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after() {
    let harness = Harness::start().await;
    harness.set_faults(json!({"throttle_next": 2})).await;
    for expected in [429, 429, 200] {
        let reply = harness.get("/agent-api/token").await;
        assert_eq!(reply.status, expected);
        if expected == 429 {
            assert_eq!(reply.retry_after.as_deref(), Some("1"));
            assert_eq!(reply.json()["code"], 429);
            assert_eq!(reply.json()["status"], "error");
        }
    }

    harness.set_faults(json!({"rate_limit_rps": 3.0})).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(harness.get("/agent-api/token").await.status);
    }
    assert_eq!(&statuses[..3], &[200, 200, 200], "the burst fits the budget");
    assert!(statuses[3..].contains(&429), "{statuses:?}");
    let throttled = harness
        .sim
        .journal()
        .into_iter()
        .filter(|e| e.fault.as_deref() == Some("rate_limited"))
        .count();
    assert!(throttled >= 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(harness.get("/agent-api/token").await.status, 200, "the budget refills");
}

#[tokio::test]
async fn injected_errors_malformed_bodies_and_latency() {
    let harness = Harness::start().await;
    harness
        .set_faults(json!({"endpoints": {
            "pause": {"error_rate": 1.0},
            "detail": {"malformed_rate": 1.0},
            "token": {"latency_ms": 300}
        }}))
        .await;
    for _ in 0..5 {
        let reply = harness.put(&pause_path(TASK), None).await;
        assert!(matches!(reply.status, 500 | 503), "{}", reply.status);
        if let Ok(envelope) = serde_json::from_str::<Value>(&reply.text) {
            assert_eq!(envelope["status"], "error");
        }
    }
    assert_eq!(
        harness.sim.task(TASK).unwrap().status,
        2,
        "failed pauses have no effect"
    );

    let reply = harness.get(&detail_path(TASK)).await;
    assert_eq!(reply.status, 200);
    assert!(serde_json::from_str::<Value>(&reply.text).is_err(), "{}", reply.text);

    let started = Instant::now();
    assert_eq!(harness.get("/agent-api/token").await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    let counters = harness.sim.counters();
    assert_eq!(counters.calls("pause"), 5);
    assert_eq!(counters.get("detail", "malformed"), 1);
    assert_eq!(counters.get("token", "200"), 1);
    let reply = harness.admin("GET", "/counters", None).await;
    assert_eq!(reply.json()["pause"]["calls"], 5);
    assert_eq!(reply.json()["total"]["calls"], 7);
}

#[tokio::test]
async fn a_hanging_endpoint_outlasts_the_client_timeout() {
    let harness = Harness::start().await;
    harness
        .set_faults(json!({"endpoints": {"detail": {"hang": true}}}))
        .await;
    let impatient = client(Duration::from_millis(300));
    let error = harness
        .send(&impatient, "GET", &detail_path(TASK), None, Some(TOKEN))
        .await
        .err()
        .expect("the call must not complete");
    assert!(error.is_timeout(), "{error}");
    assert_eq!(
        harness.get("/agent-api/token").await.status,
        200,
        "other endpoints still answer"
    );
    let hung: Vec<JournalEntry> = harness
        .sim
        .journal()
        .into_iter()
        .filter(|e| e.fault.as_deref() == Some("hang"))
        .collect();
    assert_eq!(hung.len(), 1);
    assert_eq!(hung[0].http_status, None);

    // Shutdown ends the hang instead of waiting 120 s for it.
    let started = Instant::now();
    harness.sim.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn a_hang_rate_hangs_that_fraction_of_calls_and_each_hang_has_no_effect() {
    let harness = Harness::start().await;
    let impatient = client(Duration::from_millis(300));
    let mut outcomes = Vec::new();
    for rate in [0.0, 1.0, 0.5] {
        harness
            .set_faults(json!({"endpoints": {"pause": {"hang_rate": rate}}, "hang_secs": 1}))
            .await;
        harness.sim.clear_journal();
        let mut hung = 0;
        for _ in 0..20 {
            let result = harness
                .send(&impatient, "PUT", &pause_path(TASK), None, Some(TOKEN))
                .await;
            if result.as_ref().is_err_and(reqwest::Error::is_timeout) {
                hung += 1;
                assert_eq!(harness.sim.task(TASK).unwrap().status, 2, "a hung pause has no effect");
            } else {
                assert_eq!(result.expect("answered").status, 200);
                harness.sim.set_task_status(TASK, 2).unwrap();
            }
        }
        let journaled = harness
            .sim
            .journal()
            .iter()
            .filter(|e| e.fault.as_deref() == Some("hang"))
            .count();
        assert_eq!(journaled, hung, "every hang is journaled as one");
        outcomes.push(hung);
    }
    assert_eq!(outcomes[0], 0, "rate 0 never hangs");
    assert_eq!(outcomes[1], 20, "rate 1 always hangs");
    assert!(
        (1..20).contains(&outcomes[2]),
        "rate 0.5 hangs some calls, not all: {}",
        outcomes[2]
    );
    harness.sim.shutdown().await;
}

#[tokio::test]
async fn out_of_band_edits_and_status_changes_show_in_detail() {
    let harness = Harness::start().await;
    let patch = json!({"maximumcall": 4, "task_extras": {"pop_mode": 0}});
    let reply = harness
        .admin("PATCH", &format!("/tasks/{TASK}/config"), Some(&patch))
        .await;
    assert_eq!(reply.status, 200);
    let detail = harness.detail(TASK).await;
    assert_eq!(detail["maximumcall"], 4);
    assert_eq!(detail["task_extras"]["pop_mode"], 0);
    assert_eq!(
        detail["task_extras"]["line"],
        json!([{"id": LINE_A, "limit": 2}]),
        "deep merge keeps siblings"
    );

    let reply = harness
        .admin("PUT", &format!("/tasks/{TASK}/status"), Some(&json!({"status": 3})))
        .await;
    assert_eq!(reply.status, 204);
    assert_eq!(harness.detail(TASK).await["status_str"], "等待执行");
    let reply = harness
        .admin("PUT", &format!("/tasks/{TASK}/status"), Some(&json!({"status": 7})))
        .await;
    assert_eq!(reply.status, 400);

    let reply = harness.admin("GET", &format!("/tasks/{TASK}"), None).await.json();
    assert_eq!(reply["user_id"], USER);
    assert_eq!(reply["status"], 3);
    assert_eq!(reply["sub_user_id"], Value::Null);
    assert_eq!(reply["config"]["maximumcall"], 4);

    let new_task = json!({"user_id": USER, "status": 1, "config": {"name": "created"}});
    let reply = harness
        .admin("PUT", "/tasks/c0000000-0000-4000-8000-00000000000c", Some(&new_task))
        .await;
    assert_eq!(reply.status, 201);
    assert_eq!(
        harness.detail("c0000000-0000-4000-8000-00000000000c").await["name"],
        "created"
    );
    assert_eq!(harness.admin("GET", "/tasks/missing", None).await.status, 404);
}

#[tokio::test]
async fn the_journal_records_calls_but_never_the_token() {
    let harness = Harness::start().await;
    let body = merged(update_body(), json!({"remark": format!("pasted {TOKEN} by mistake")}));
    harness.put(&pause_path(TASK), Some(&json!({}))).await;
    harness.put(&update_path(TASK), Some(&body)).await;
    harness.get(&format!("{}?token={TOKEN}&x=1", detail_path(TASK))).await;
    harness.call("GET", "/agent-api/nope", None, Some(TOKEN)).await;

    let journal = harness.sim.journal();
    assert_eq!(journal.len(), 4);
    let update = &journal[1];
    assert_eq!((update.endpoint.as_str(), update.method.as_str()), ("update", "PUT"));
    assert_eq!(update.path, update_path(TASK));
    assert_eq!(update.task_id.as_deref(), Some(TASK));
    assert_eq!((update.http_status, update.code), (Some(200), Some(200)));
    assert_eq!(update.body.as_ref().unwrap()["maximumcall"], 4);
    assert_eq!(journal[0].body, Some(json!({})));
    assert_eq!(journal[2].query.as_deref(), Some("token=[REDACTED]&x=1"));
    assert_eq!(
        (journal[3].endpoint.as_str(), journal[3].http_status),
        ("unknown", Some(404))
    );
    assert!(journal.windows(2).all(|pair| pair[0].seq < pair[1].seq));
    assert!(jiff::Timestamp::from_str_ok(&journal[0].at), "{}", journal[0].at);

    let over_http = harness.admin("GET", "/journal", None).await;
    assert!(!over_http.text.contains(TOKEN), "{}", over_http.text);
    assert!(!over_http.text.to_lowercase().contains("bearer"));
    let parsed: Vec<JournalEntry> = serde_json::from_str(&over_http.text).unwrap();
    assert_eq!(parsed, journal);

    assert_eq!(harness.admin("DELETE", "/journal", None).await.status, 204);
    assert!(harness.sim.journal().is_empty());
    // Admin calls are not journaled.
    harness.admin("GET", "/counters", None).await;
    assert_eq!(harness.sim.journal_len(), 0);
}

/// The `echo_headers` fault (through the admin endpoint): error answers quote the request
/// headers, the bearer token included; success answers do not. The journal records the
/// User-Agent, never the token.
#[tokio::test]
async fn echo_headers_puts_the_authorization_header_into_error_bodies() {
    let harness = Harness::start().await;
    harness.set_faults(json!({"echo_headers": true})).await;
    let refused = harness
        .call("GET", &detail_path(TASK), None, Some("wrong-token-echo"))
        .await;
    assert_eq!(refused.status, 401);
    assert!(
        refused.text.contains("authorization: Bearer wrong-token-echo"),
        "{}",
        refused.text
    );
    let started = harness.put(&update_path(TASK), Some(&update_body())).await;
    assert_eq!(started.status, 200);
    let envelope = started.json();
    assert_eq!(envelope["code"], 6007);
    assert!(envelope.get("message").is_none());
    assert!(started.text.contains(&format!("Bearer {TOKEN}")), "{}", started.text);
    let ok = harness.get(&detail_path(TASK)).await;
    assert!(!ok.text.contains(TOKEN));

    let journal = harness.sim.journal();
    assert_eq!(journal[0].fault.as_deref(), Some("echo_headers"));
    harness
        .http
        .get(format!("{}{}", harness.sim.base_url(), detail_path(TASK)))
        .bearer_auth(TOKEN)
        .header("user-agent", "outbound-operator/0 (replica-a)")
        .send()
        .await
        .unwrap();
    let last = harness.sim.journal().pop().unwrap();
    assert_eq!(last.user_agent.as_deref(), Some("outbound-operator/0 (replica-a)"));
    let over_http = harness.admin("GET", "/journal", None).await;
    assert!(!over_http.text.contains(TOKEN) && !over_http.text.contains("wrong-token-echo"));
    assert_eq!(harness.admin("GET", "/faults", None).await.json()["echo_headers"], true);
}

/// Parses an RFC 3339 timestamp with exactly millisecond precision.
trait FromStrOk {
    fn from_str_ok(text: &str) -> bool;
}
impl FromStrOk for jiff::Timestamp {
    fn from_str_ok(text: &str) -> bool {
        let fraction = text.rsplit('.').next().unwrap_or_default();
        text.parse::<jiff::Timestamp>().is_ok() && fraction.len() == "123Z".len()
    }
}

#[tokio::test]
async fn reset_restores_fixtures_and_clears_everything() {
    let harness = Harness::start().await;
    harness.put(&pause_path(TASK), None).await;
    harness.put(&update_path(TASK), Some(&update_body())).await;
    harness.set_faults(json!({"throttle_next": 5})).await;
    harness
        .admin("PUT", "/token", Some(&json!({"token": "another-token-0003"})))
        .await;

    assert_eq!(harness.admin("POST", "/reset", None).await.status, 204);
    assert_eq!(harness.sim.faults(), FaultConfig::default());
    assert!(harness.sim.journal().is_empty());
    assert_eq!(harness.sim.counters().calls("total"), 0);
    let detail = harness.detail(TASK).await;
    assert_eq!(
        (detail["status"].clone(), detail["maximumcall"].clone()),
        (json!(2), json!(2))
    );
    assert_eq!(
        harness.admin("GET", "/healthz", None).await.json(),
        json!({"status": "ok"})
    );
}

#[tokio::test]
async fn tasks_are_scoped_by_account_and_sub_account() {
    let harness = Harness::start().await;
    let sub_query = format!("?sub_user_id={SUB_USER}");
    let reply = harness.get(&detail_path(SUB_TASK)).await;
    assert_eq!(
        (reply.status, reply.text.as_str()),
        (404, NOT_FOUND),
        "needs its sub_user_id"
    );
    let reply = harness.get(&format!("{}{sub_query}", detail_path(SUB_TASK))).await;
    assert_eq!(reply.status, 200);
    let reply = harness
        .get(&format!(
            "{}?sub_user_id=00000000-0000-0000-0000-000000000000",
            detail_path(SUB_TASK)
        ))
        .await;
    assert_eq!(reply.status, 404);
    let reply = harness.get(&format!("{}{sub_query}", detail_path(TASK))).await;
    assert_eq!(
        reply.status, 404,
        "a main-account task is not found under a sub-account"
    );
    let other_user = format!("/agent-api/new/user/00000000-0000-0000-0000-000000000000/task/{TASK}/edit");
    assert_eq!(harness.get(&other_user).await.text, NOT_FOUND);
    assert_eq!(harness.get(&detail_path("no-such-task")).await.text, NOT_FOUND);

    // PUT: sub_user_id in the body, or in the query.
    let reply = harness
        .put(&pause_path(SUB_TASK), Some(&json!({"sub_user_id": SUB_USER})))
        .await;
    assert_eq!(reply.json()["status"], "success");
    assert_eq!(harness.put(&pause_path(SUB_TASK), None).await.status, 404);
    let body = merged(update_body(), json!({"sub_user_id": SUB_USER}));
    let reply = harness.put(&update_path(SUB_TASK), Some(&body)).await;
    assert_eq!(reply.text, UPDATED);
    let stored = harness.sim.task(SUB_TASK).unwrap();
    assert_eq!(
        stored.config,
        update_body(),
        "sub_user_id is not part of the stored config"
    );
    assert_eq!(stored.sub_user_id.as_deref(), Some(SUB_USER));
    let reply = harness
        .put(&format!("{}{sub_query}", resume_path(SUB_TASK)), None)
        .await;
    assert_eq!(reply.json()["status"], "success");
    assert_eq!(harness.sim.task(SUB_TASK).unwrap().status, 2);
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods() {
    let harness = Harness::start().await;
    let reply = harness.call("GET", &pause_path(TASK), None, Some(TOKEN)).await;
    assert_eq!((reply.status, reply.json()["code"].clone()), (405, json!(405)));
    let reply = harness
        .call("GET", "/agent-api/new/user/u/subset_task", None, Some(TOKEN))
        .await;
    assert_eq!(reply.status, 404);
    assert_eq!(harness.sim.counters().calls("unknown"), 2);
    assert_eq!(harness.admin("GET", "/nothing-here", None).await.status, 404);
    assert_eq!(harness.sim.counters().calls("total"), 2, "admin calls are not counted");
}

#[tokio::test]
async fn the_library_handle_steers_the_simulator_directly() {
    let harness = Harness::start().await;
    let sim = &harness.sim;
    assert!(sim.base_url().ends_with(&format!(":{}", sim.port())));
    let mut faults = FaultConfig::default();
    faults.endpoint_mut(SimEndpoint::Token).error_rate = 2.0;
    assert!(sim.set_faults(faults).is_err(), "a rate above 1 is refused");
    assert!(sim.set_task_status(TASK, 9).is_err());
    sim.set_task_status(TASK, 1).unwrap();
    sim.set_line_remaining(LINE_A, 1);
    let reply = harness.put(&update_path(TASK), Some(&update_body())).await;
    let message = reply.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("remaining concurrency 1") && message.contains(LINE_A),
        "{message}"
    );
    sim.patch_task_config(TASK, json!({"name": "renamed"})).unwrap();
    assert_eq!(sim.task(TASK).unwrap().config["name"], "renamed");
    assert_eq!(sim.task_ids().len(), 3);
}

/// Kills the child process when the test ends, pass or fail.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_serves_a_fixture_file() {
    let dir = tempfile::tempdir().unwrap();
    let fixture_path = dir.path().join("fixtures.json");
    // JSON is accepted as well as YAML.
    let fixtures = json!({
        "lines": {LINE_A: 2},
        "tasks": {TASK: {"user_id": USER, "status": 1, "config": update_body()}}
    });
    std::fs::write(&fixture_path, fixtures.to_string()).unwrap();
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_outbound-sim"))
            .args(["--listen", "127.0.0.1:0", "--token", TOKEN, "--fixtures"])
            .arg(&fixture_path)
            .args(["--latency-ms", "token=1", "--log-format", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts"),
    );
    let stdout = child.0.stdout.take().unwrap();
    let first_line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await
    .unwrap()
    .unwrap();
    let port: u16 = first_line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first_line:?}"))
        .parse()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = client(Duration::from_secs(10));
    let detail: Value = http
        .get(format!("{base}{}", detail_path(TASK)))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["data"]["maximumcall"], 4);
    assert_eq!(detail["data"]["status"], 1);
    // maximumcall 4 on one line exceeds that line's remaining 2 in this fixture.
    let reply: Value = http
        .put(format!("{base}{}", update_path(TASK)))
        .bearer_auth(TOKEN)
        .json(&update_body())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply["code"], 422);
    let faults: Value = http
        .get(format!("{base}/_sim/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults["endpoints"]["token"]["latency_ms"], 1);
}

fn tasks_path() -> String {
    format!("/agent-api/new/user/{USER}/task")
}

/// Create answers the id in the configured shape, makes a task with the body as its config and
/// the configured initial state, and refuses a body that breaks an update rule; the list filters
/// by name substring, pages, carries `uuid` and a naive `create_datetime`, and shows a new task
/// only after the configured lag.
#[tokio::test]
async fn create_list_and_the_list_lag() {
    let harness = Harness::start().await;
    harness
        .set_faults(json!({"create": {"answer": "object", "list_lag_secs": 0.5, "initial_status": 3}}))
        .await;
    let body = merged(update_body(), json!({"name": "fresh-campaign"}));
    let reply = harness.call("POST", &tasks_path(), Some(&body), Some(TOKEN)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let id = reply.json()["data"]["uuid"].as_str().unwrap().to_owned();
    let made = harness.sim.task(&id).expect("the task exists");
    assert_eq!((made.status, made.config["name"].clone()), (3, json!("fresh-campaign")));

    let listed = |reply: Reply| reply.json()["data"].as_array().unwrap().clone();
    let query = format!("{}?name=fresh", tasks_path());
    assert!(
        listed(harness.get(&query).await).is_empty(),
        "not listed during the lag"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let items = listed(harness.get(&query).await);
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["uuid"], json!(id));
    let created = items[0]["create_datetime"].as_str().unwrap();
    assert!(
        jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", created).is_ok(),
        "{created}"
    );

    let page = harness.get(&format!("{}?per_page=1&page=2", tasks_path())).await.json();
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(page["meta"]["current_page"], json!(2));
    assert_eq!(
        page["meta"]["per_page"],
        json!("1"),
        "per_page is a string, as documented"
    );
    assert!(page["meta"]["total"].as_u64().unwrap() >= 3);

    let invalid = merged(update_body(), json!({"maximumcall": 5}));
    let reply = harness.call("POST", &tasks_path(), Some(&invalid), Some(TOKEN)).await;
    assert_eq!(reply.json()["code"], json!(422), "{}", reply.text);
    assert!(reply.json()["message"].as_str().unwrap().contains("maximumcall"));
    harness.set_faults(json!({"create": {"answer": "empty"}})).await;
    let reply = harness.call("POST", &tasks_path(), Some(&body), Some(TOKEN)).await;
    assert_eq!(reply.json()["data"], json!(""));
}

/// The create faults: a lost answer (the task is made, HTTP 502) and a held one (the task is
/// made and journaled at once, the answer comes later).
#[tokio::test]
async fn a_lost_or_held_create_answer_still_makes_the_task() {
    let harness = Harness::start().await;
    let before = harness.sim.task_ids().len();
    harness.set_faults(json!({"create": {"lose_response": true}})).await;
    let reply = harness
        .call("POST", &tasks_path(), Some(&update_body()), Some(TOKEN))
        .await;
    assert_eq!(reply.status, 502);
    assert_eq!(harness.sim.task_ids().len(), before + 1, "made all the same");

    harness.set_faults(json!({"create": {"hold_response_secs": 0.5}})).await;
    let started = Instant::now();
    let (path, body) = (tasks_path(), update_body());
    let held = harness.call("POST", &path, Some(&body), Some(TOKEN));
    let (reply, ()) = tokio::join!(held, async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let journal = harness.sim.journal();
        assert_eq!(
            journal.last().unwrap().fault.as_deref(),
            Some("held"),
            "journaled when made"
        );
    });
    assert!(started.elapsed() >= Duration::from_millis(500));
    assert_eq!(reply.status, 200);
    assert_eq!(harness.sim.task_ids().len(), before + 2);
    assert_eq!(
        harness.sim.counters().calls("create"),
        2,
        "a held create is counted once"
    );
}

/// Delete (the v1 path): a paused task goes, a started one is refused like an update.
#[tokio::test]
async fn delete_removes_paused_tasks_only() {
    let harness = Harness::start().await;
    let path = |task: &str| format!("/agent-api/user/{USER}/task/{task}");
    let reply = harness.call("DELETE", &path(TASK), None, Some(TOKEN)).await;
    assert_eq!(reply.text, NOT_PAUSED);
    let reply = harness.call("DELETE", &path(OLD_TASK), None, Some(TOKEN)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(harness.sim.task(OLD_TASK).is_none());
    let reply = harness.call("DELETE", &path(OLD_TASK), None, Some(TOKEN)).await;
    assert_eq!(reply.text, NOT_FOUND);
}
