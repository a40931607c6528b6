//! Admission against a real kube-apiserver (scripts/envtest.sh): the CRDs in crds/ accept every
//! example and reject every manifest that breaks a rule of the API contract
//! (shared/design/api.md), with an error message that names the offending field.
//!
//! Invalid objects are sent as raw JSON (never through the Rust types, which would drop or fix
//! them) with a server-side dry-run create, so nothing is stored. Each test collects every
//! mismatch of its table before failing, so one broken rule does not hide the others.

#![recursion_limit = "256"]

mod support;

use std::path::PathBuf;

use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use outbound_api::{OutboundAccount, OutboundTask};
use serde_json::{Value, json};

/// Base task: valid, with every optional block present so that edits can break any field.
fn base_task() -> Value {
    json!({
        "apiVersion": "outbound.dev/v1alpha1",
        "kind": "OutboundTask",
        "metadata": {"name": "base"},
        "spec": {
            "accountRef": {"name": "main"},
            "taskId": "f232d184-dd54-42a0-8ace-0bf8d660f4cc",
            "subUserId": "5b55bcca-d653-4a58-8f9a-437fb0601f8e",
            "runState": "Running",
            "suspend": false,
            "mode": "Enforce",
            "resyncInterval": "5m",
            "deletionPolicy": "Orphan",
            "task": {
                "name": "base-task",
                "remark": "admission test",
                "taskType": 7,
                "groupType": "group",
                "scriptGroupId": 123,
                "scriptSelection": "Unified",
                "maxConcurrency": 2,
                "dialTimeGroupId": 123,
                "backgroundSoundId": 123,
                "bridgeGroupId": 1,
                "redialRuleId": 1,
                "elasticSeats": false,
                "endAction": "None",
                "llmIntentionId": 123,
                "scoreSchemeId": 123,
                "schedule": {
                    "startTime": "2024-12-23 19:00:00",
                    "stopTime": "2025-12-25 23:59:59",
                    "holidays": [{"begin": "2025-01-28 00:00", "end": "2025-02-04 23:59"}],
                    "workWeek": [1, 2, 3, 4, 5],
                    "workHours": [{"begin": "09:00", "end": "12:00"}],
                    "callIntervalSeconds": 0
                },
                "lines": [{"id": support::LINE_ID, "limit": 2}],
                "numberOrder": "Sequential",
                "scriptsByTime": [{"begin": "09:00", "end": "12:00", "scriptGroupId": 123}],
                "scriptsByVariable": [
                    {"match": "EqualsAny", "values": ["男", "男的"], "scriptGroupId": 11, "priority": 1}
                ],
                "multiScript": {"order": "RoundRobin", "scripts": [{"scriptGroupId": 13601, "sort": 1}]},
                "redial": {
                    "enabled": false,
                    "freshNumbersFirst": false,
                    "intervalMinutes": 3,
                    "maxAttempts": 3,
                    "onOutcomes": ["CarrierBlocked", "Rejected", "NoAnswer"]
                },
                "legacy": {
                    "groupSwitchRules": [
                        {"start": "09:00", "end": "12:00", "scriptGroupId": 13037, "defaultScriptGroupId": 123}
                    ],
                    "callRules": [{"recallTime": "10:00:00", "intervalMinutes": 60, "ruleId": 15486}]
                }
            }
        }
    })
}

fn base_account() -> Value {
    json!({
        "apiVersion": "outbound.dev/v1alpha1",
        "kind": "OutboundAccount",
        "metadata": {"name": "main"},
        "spec": {
            "baseUrl": "https://ai.api.longlonglong.cn",
            "userId": support::USER_ID,
            "tokenSecretRef": {"name": "platform-token", "key": "token"},
            "rateLimit": {"requestsPerSecond": 10, "burst": 20},
            "timeZone": "Asia/Shanghai"
        }
    })
}

/// One edit of the base object: set a JSON pointer (parents created as objects) or remove it.
#[derive(Clone)]
enum Edit {
    Set(&'static str, Value),
    Remove(&'static str),
}
use Edit::{Remove, Set};

fn apply_edits(mut v: Value, edits: &[Edit]) -> Value {
    for e in edits {
        match e {
            Set(ptr, new) => set_pointer(&mut v, ptr, new.clone()),
            Remove(ptr) => {
                let (parent, key) = ptr.rsplit_once('/').expect("pointer");
                let parent = v.pointer_mut(parent).unwrap_or_else(|| panic!("no parent for {ptr}"));
                match parent {
                    Value::Object(m) => {
                        m.remove(key).unwrap_or_else(|| panic!("nothing to remove at {ptr}"));
                    }
                    Value::Array(a) => {
                        a.remove(key.parse::<usize>().expect("index"));
                    }
                    _ => panic!("cannot remove {ptr}"),
                }
            }
        }
    }
    v
}

fn set_pointer(v: &mut Value, ptr: &str, new: Value) {
    let mut cur = v;
    let parts: Vec<&str> = ptr.trim_start_matches('/').split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i == parts.len() - 1;
        cur = match cur {
            Value::Object(m) => {
                if last {
                    m.insert(part.to_string(), new);
                    return;
                }
                m.entry(part.to_string()).or_insert_with(|| json!({}))
            }
            Value::Array(a) => {
                let idx: usize = part.parse().unwrap_or_else(|_| panic!("{ptr}: {part} is not an index"));
                if last {
                    if idx == a.len() {
                        a.push(new);
                    } else {
                        a[idx] = new;
                    }
                    return;
                }
                &mut a[idx]
            }
            _ => panic!("{ptr}: {part} is under a scalar"),
        };
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Task,
    Account,
}

/// A manifest that must be rejected, and the strings its error message must contain (the field
/// path, and for CEL rules their message).
struct Reject {
    what: &'static str,
    kind: Kind,
    edits: Vec<Edit>,
    needles: Vec<&'static str>,
}

fn task(what: &'static str, edits: Vec<Edit>, needles: &[&'static str]) -> Reject {
    Reject {
        what,
        kind: Kind::Task,
        edits,
        needles: needles.to_vec(),
    }
}

fn account(what: &'static str, edits: Vec<Edit>, needles: &[&'static str]) -> Reject {
    Reject {
        what,
        kind: Kind::Account,
        edits,
        needles: needles.to_vec(),
    }
}

async fn dry_run_create(client: &Client, ns: &str, kind: Kind, obj: Value) -> Result<(), kube::Error> {
    match kind {
        Kind::Task => support::create_json::<OutboundTask>(client, ns, obj, true)
            .await
            .map(drop),
        Kind::Account => support::create_json::<OutboundAccount>(client, ns, obj, true)
            .await
            .map(drop),
    }
}

fn base_of(kind: Kind) -> Value {
    match kind {
        Kind::Task => base_task(),
        Kind::Account => base_account(),
    }
}

/// Run a table of rejections; panic listing every case that was accepted or rejected with a
/// message missing a needle.
async fn check_rejections(test: &str, cases: Vec<Reject>) {
    let Some(client) = support::cluster().await else {
        return;
    };
    support::ensure_crds(&client).await;
    let ns = support::test_namespace(&client, test).await;

    // Control: the unedited bases are accepted, so a rejection below is the edit's doing.
    for kind in [Kind::Task, Kind::Account] {
        if let Err(e) = dry_run_create(&client, &ns, kind, base_of(kind)).await {
            panic!("the base {kind:?} itself is rejected: {}", support::error_message(&e));
        }
    }

    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let mut obj = apply_edits(base_of(case.kind), &case.edits);
        obj["metadata"]["name"] = json!(format!("case-{i}"));
        match dry_run_create(&client, &ns, case.kind, obj).await {
            Ok(()) => failures.push(format!(
                "ACCEPTED  {} (expected a rejection naming {:?})",
                case.what, case.needles
            )),
            Err(e) => {
                let msg = support::error_message(&e);
                let missing: Vec<_> = case.needles.iter().filter(|n| !msg.contains(**n)).collect();
                if !missing.is_empty() {
                    failures.push(format!(
                        "REJECTED  {} but the message lacks {missing:?}:\n          {msg}",
                        case.what
                    ));
                } else {
                    eprintln!("ok: {}: {msg}", case.what);
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases of {test} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Run a table of edits that must be accepted (boundary values).
async fn check_accepted(test: &str, cases: Vec<(&'static str, Kind, Vec<Edit>)>) {
    let Some(client) = support::cluster().await else {
        return;
    };
    support::ensure_crds(&client).await;
    let ns = support::test_namespace(&client, test).await;
    let mut failures = Vec::new();
    for (i, (what, kind, edits)) in cases.iter().enumerate() {
        let mut obj = apply_edits(base_of(*kind), edits);
        obj["metadata"]["name"] = json!(format!("case-{i}"));
        if let Err(e) = dry_run_create(&client, &ns, *kind, obj).await {
            failures.push(format!("REJECTED  {what}: {}", support::error_message(&e)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} valid cases were rejected:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn uuid_like_but_not() -> Value {
    json!("f232d184-dd54-42a0-8ace-0bf8d660f4c") // one hex digit short
}

#[tokio::test]
async fn formats_are_enforced() {
    check_rejections(
        "formats",
        vec![
            task(
                "taskId not a UUID",
                vec![Set("/spec/taskId", json!("task-1"))],
                &["spec.taskId"],
            ),
            task(
                "taskId one digit short",
                vec![Set("/spec/taskId", uuid_like_but_not())],
                &["spec.taskId"],
            ),
            task(
                "subUserId not a UUID",
                vec![Set("/spec/subUserId", json!("sub-1"))],
                &["spec.subUserId"],
            ),
            task(
                "line id not a UUID",
                vec![Set("/spec/task/lines/0/id", json!("line-1"))],
                &["spec.task.lines[0].id"],
            ),
            task(
                "startTime with slashes",
                vec![Set("/spec/task/schedule/startTime", json!("2024/12/23 19:00:00"))],
                &["spec.task.schedule.startTime"],
            ),
            task(
                "startTime without seconds",
                vec![Set("/spec/task/schedule/startTime", json!("2024-12-23 19:00"))],
                &["spec.task.schedule.startTime"],
            ),
            task(
                "startTime ISO 8601 with T",
                vec![Set("/spec/task/schedule/startTime", json!("2024-12-23T19:00:00"))],
                &["spec.task.schedule.startTime"],
            ),
            task(
                "stopTime month 13",
                vec![Set("/spec/task/schedule/stopTime", json!("2025-13-25 23:59:59"))],
                &["spec.task.schedule.stopTime"],
            ),
            task(
                "holiday begin without time",
                vec![Set("/spec/task/schedule/holidays/0/begin", json!("2025-01-28"))],
                &["spec.task.schedule.holidays[0].begin"],
            ),
            task(
                "holiday end hour 25",
                vec![Set("/spec/task/schedule/holidays/0/end", json!("2025-02-04 25:00"))],
                &["spec.task.schedule.holidays[0].end"],
            ),
            task(
                "workHours begin H:MM",
                vec![Set("/spec/task/schedule/workHours/0/begin", json!("9:00"))],
                &["spec.task.schedule.workHours[0].begin"],
            ),
            task(
                "workHours end 24:00",
                vec![Set("/spec/task/schedule/workHours/0/end", json!("24:00"))],
                &["spec.task.schedule.workHours[0].end"],
            ),
            task(
                "scriptsByTime begin with seconds",
                vec![Set("/spec/task/scriptsByTime/0/begin", json!("09:00:00"))],
                &["spec.task.scriptsByTime[0].begin"],
            ),
            task(
                "scriptsByTime end 12:60",
                vec![Set("/spec/task/scriptsByTime/0/end", json!("12:60"))],
                &["spec.task.scriptsByTime[0].end"],
            ),
            task(
                "legacy groupSwitchRules start 9am",
                vec![Set("/spec/task/legacy/groupSwitchRules/0/start", json!("9am"))],
                &["spec.task.legacy.groupSwitchRules[0].start"],
            ),
            task(
                "legacy callRules recallTime without seconds",
                vec![Set("/spec/task/legacy/callRules/0/recallTime", json!("10:00"))],
                &["spec.task.legacy.callRules[0].recallTime"],
            ),
            task(
                "resyncInterval not a duration",
                vec![Set("/spec/resyncInterval", json!("5 minutes"))],
                &["spec.resyncInterval"],
            ),
            task(
                "resyncInterval below 30s",
                vec![Set("/spec/resyncInterval", json!("10s"))],
                &["spec.resyncInterval", "at least 30s"],
            ),
            task(
                "scriptGroupId a string",
                vec![Set("/spec/task/scriptGroupId", json!("123"))],
                &["spec.task.scriptGroupId"],
            ),
            account(
                "userId not a UUID",
                vec![Set("/spec/userId", json!("main-account"))],
                &["spec.userId"],
            ),
            account(
                "baseUrl ftp://",
                vec![Set("/spec/baseUrl", json!("ftp://ai.api.longlonglong.cn"))],
                &["spec.baseUrl"],
            ),
            account(
                "baseUrl without scheme",
                vec![Set("/spec/baseUrl", json!("127.0.0.1:18080"))],
                &["spec.baseUrl"],
            ),
            account(
                "baseUrl https:// only",
                vec![Set("/spec/baseUrl", json!("https://"))],
                &["spec.baseUrl"],
            ),
            account(
                "requestTimeout not a duration",
                vec![Set("/spec/requestTimeout", json!("ten"))],
                &["spec.requestTimeout"],
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn ranges_and_lists_are_enforced() {
    let hundred_and_one: String = "任".repeat(101);
    let eleven: Vec<String> = (0..11).map(|i| format!("v{i}")).collect();
    let rule = json!({"match": "ContainsAny", "values": ["x"], "scriptGroupId": 11, "priority": 1});
    let too_many_rules: Vec<Value> = (0..101).map(|_| rule.clone()).collect();
    check_rejections(
        "ranges",
        vec![
            task(
                "name empty",
                vec![Set("/spec/task/name", json!(""))],
                &["spec.task.name"],
            ),
            task(
                "name 101 characters",
                vec![Set("/spec/task/name", json!(hundred_and_one))],
                &["spec.task.name"],
            ),
            task(
                "maxConcurrency 0",
                vec![
                    Set("/spec/task/maxConcurrency", json!(0)),
                    Set("/spec/task/lines", json!([])),
                ],
                &["spec.task.maxConcurrency"],
            ),
            task(
                "redial.intervalMinutes 0",
                vec![Set("/spec/task/redial/intervalMinutes", json!(0))],
                &["spec.task.redial.intervalMinutes"],
            ),
            task(
                "redial.intervalMinutes 61",
                vec![Set("/spec/task/redial/intervalMinutes", json!(61))],
                &["spec.task.redial.intervalMinutes"],
            ),
            task(
                "redial.maxAttempts 0",
                vec![Set("/spec/task/redial/maxAttempts", json!(0))],
                &["spec.task.redial.maxAttempts"],
            ),
            task(
                "redial.maxAttempts 4",
                vec![Set("/spec/task/redial/maxAttempts", json!(4))],
                &["spec.task.redial.maxAttempts"],
            ),
            task(
                "redial.onOutcomes duplicate",
                vec![Set("/spec/task/redial/onOutcomes", json!(["Busy", "Busy"]))],
                &["spec.task.redial.onOutcomes[1]", "Duplicate value"],
            ),
            task(
                "scriptsByVariable values empty",
                vec![Set("/spec/task/scriptsByVariable/0/values", json!([]))],
                &["spec.task.scriptsByVariable[0].values"],
            ),
            task(
                "scriptsByVariable 11 values",
                vec![Set("/spec/task/scriptsByVariable/0/values", json!(eleven))],
                &["spec.task.scriptsByVariable[0].values"],
            ),
            task(
                "scriptsByVariable values duplicate",
                vec![Set("/spec/task/scriptsByVariable/0/values", json!(["男", "男"]))],
                &["spec.task.scriptsByVariable[0].values[1]", "Duplicate value"],
            ),
            task(
                "scriptsByVariable 101 rules",
                vec![Set("/spec/task/scriptsByVariable", json!(too_many_rules))],
                &["spec.task.scriptsByVariable"],
            ),
            task(
                "workWeek 7",
                vec![Set("/spec/task/schedule/workWeek", json!([1, 7]))],
                &["spec.task.schedule.workWeek[1]"],
            ),
            task(
                "workWeek -1",
                vec![Set("/spec/task/schedule/workWeek", json!([-1]))],
                &["spec.task.schedule.workWeek[0]"],
            ),
            task(
                "workWeek duplicate",
                vec![Set("/spec/task/schedule/workWeek", json!([1, 1]))],
                &["spec.task.schedule.workWeek[1]", "Duplicate value"],
            ),
            task(
                "lines with the same id twice",
                vec![Set(
                    "/spec/task/lines",
                    json!([{"id": support::LINE_ID, "limit": 1}, {"id": support::LINE_ID, "limit": 1}]),
                )],
                &["spec.task.lines[1]", "Duplicate value"],
            ),
            task(
                "line limit 0",
                vec![Set("/spec/task/lines/0/limit", json!(0))],
                &["spec.task.lines[0].limit"],
            ),
            task(
                "multiScript with no scripts",
                vec![Set("/spec/task/multiScript/scripts", json!([]))],
                &["spec.task.multiScript.scripts"],
            ),
            task(
                "callIntervalSeconds negative",
                vec![Set("/spec/task/schedule/callIntervalSeconds", json!(-1))],
                &["spec.task.schedule.callIntervalSeconds"],
            ),
            task(
                "scriptGroupId 0",
                vec![Set("/spec/task/scriptGroupId", json!(0))],
                &["spec.task.scriptGroupId"],
            ),
            task(
                "dialTimeGroupId 0",
                vec![Set("/spec/task/dialTimeGroupId", json!(0))],
                &["spec.task.dialTimeGroupId"],
            ),
            account(
                "rateLimit.requestsPerSecond 0",
                vec![Set("/spec/rateLimit/requestsPerSecond", json!(0))],
                &["spec.rateLimit.requestsPerSecond"],
            ),
            account(
                "rateLimit.burst 0",
                vec![Set("/spec/rateLimit/burst", json!(0))],
                &["spec.rateLimit.burst"],
            ),
            account(
                "timeZone empty",
                vec![Set("/spec/timeZone", json!(""))],
                &["spec.timeZone"],
            ),
            account(
                "tokenSecretRef.name empty",
                vec![Set("/spec/tokenSecretRef/name", json!(""))],
                &["spec.tokenSecretRef.name"],
            ),
            account(
                "startedRetries 11",
                vec![Set("/spec/platform/startedRetries", json!(11))],
                &["spec.platform.startedRetries"],
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn enums_are_names() {
    check_rejections(
        "enums",
        vec![
            task(
                "scriptSelection unknown",
                vec![Set("/spec/task/scriptSelection", json!("ByDay"))],
                &["spec.task.scriptSelection"],
            ),
            task(
                "scriptSelection as the API number",
                vec![Set("/spec/task/scriptSelection", json!(2))],
                &["spec.task.scriptSelection"],
            ),
            task(
                "numberOrder unknown",
                vec![Set("/spec/task/numberOrder", json!("Ordered"))],
                &["spec.task.numberOrder"],
            ),
            task(
                "numberOrder as the API number",
                vec![Set("/spec/task/numberOrder", json!(1))],
                &["spec.task.numberOrder"],
            ),
            task(
                "endAction unknown",
                vec![Set("/spec/task/endAction", json!("Stop"))],
                &["spec.task.endAction"],
            ),
            task(
                "scriptsByVariable match unknown",
                vec![Set("/spec/task/scriptsByVariable/0/match", json!("Regex"))],
                &["spec.task.scriptsByVariable[0].match"],
            ),
            task(
                "multiScript order unknown",
                vec![Set("/spec/task/multiScript/order", json!("Weighted"))],
                &["spec.task.multiScript.order"],
            ),
            task(
                "redial.onOutcomes unknown",
                vec![Set("/spec/task/redial/onOutcomes", json!(["Hangup"]))],
                &["spec.task.redial.onOutcomes[0]"],
            ),
            task(
                "redial.onOutcomes as codes",
                vec![Set("/spec/task/redial/onOutcomes", json!([2, 3]))],
                &["spec.task.redial.onOutcomes[0]"],
            ),
            task(
                "runState unknown",
                vec![Set("/spec/runState", json!("Stopped"))],
                &["spec.runState"],
            ),
            task("mode unknown", vec![Set("/spec/mode", json!("DryRun"))], &["spec.mode"]),
            task(
                "deletionPolicy unknown",
                vec![Set("/spec/deletionPolicy", json!("Destroy"))],
                &["spec.deletionPolicy"],
            ),
            task(
                "taskType 5",
                vec![Set("/spec/task/taskType", json!(5))],
                &["spec.task.taskType"],
            ),
            task(
                "taskType 8",
                vec![Set("/spec/task/taskType", json!(8))],
                &["spec.task.taskType"],
            ),
            account(
                "subUserIdOnWrite unknown",
                vec![Set("/spec/platform/subUserIdOnWrite", json!("Header"))],
                &["spec.platform.subUserIdOnWrite"],
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn cel_rules_are_enforced() {
    check_rejections(
        "cel",
        vec![
            task(
                "maxConcurrency 3 over 2 lines",
                vec![
                    Set("/spec/task/maxConcurrency", json!(3)),
                    Set(
                        "/spec/task/lines/1",
                        json!({"id": "29c39ec4-b292-4af9-a88b-922d61866a0b", "limit": 2}),
                    ),
                ],
                &["spec.task.maxConcurrency", "divisible by the number of spec.task.lines"],
            ),
            task(
                "ByTime without scriptsByTime",
                vec![
                    Set("/spec/task/scriptSelection", json!("ByTime")),
                    Remove("/spec/task/scriptsByTime"),
                ],
                &[
                    "spec.task.scriptsByTime",
                    "required when spec.task.scriptSelection is ByTime",
                ],
            ),
            task(
                "ByTime with an empty scriptsByTime",
                vec![
                    Set("/spec/task/scriptSelection", json!("ByTime")),
                    Set("/spec/task/scriptsByTime", json!([])),
                ],
                &[
                    "spec.task.scriptsByTime",
                    "required when spec.task.scriptSelection is ByTime",
                ],
            ),
            task(
                "ByVariable without scriptsByVariable",
                vec![
                    Set("/spec/task/scriptSelection", json!("ByVariable")),
                    Remove("/spec/task/scriptsByVariable"),
                ],
                &[
                    "spec.task.scriptsByVariable",
                    "required when spec.task.scriptSelection is ByVariable",
                ],
            ),
            task(
                "MultiScript without multiScript",
                vec![
                    Set("/spec/task/scriptSelection", json!("MultiScript")),
                    Remove("/spec/task/multiScript"),
                ],
                &[
                    "spec.task.multiScript",
                    "required when spec.task.scriptSelection is MultiScript",
                ],
            ),
            task(
                "PauseAndRelease with elasticSeats",
                vec![
                    Set("/spec/task/endAction", json!("PauseAndRelease")),
                    Set("/spec/task/elasticSeats", json!(true)),
                ],
                &["spec.task.endAction", "elasticSeats"],
            ),
            task(
                "stopTime before startTime",
                vec![Set("/spec/task/schedule/stopTime", json!("2024-12-22 19:00:00"))],
                &[
                    "spec.task.schedule.stopTime",
                    "must be after spec.task.schedule.startTime",
                ],
            ),
            task(
                "stopTime equal to startTime",
                vec![Set("/spec/task/schedule/stopTime", json!("2024-12-23 19:00:00"))],
                &[
                    "spec.task.schedule.stopTime",
                    "must be after spec.task.schedule.startTime",
                ],
            ),
            task(
                "holiday end before begin",
                vec![Set("/spec/task/schedule/holidays/0/end", json!("2025-01-27 23:59"))],
                &["spec.task.schedule.holidays[0].end", "must be after begin"],
            ),
            account(
                "startedRetryInterval 16s",
                vec![Set("/spec/platform/startedRetryInterval", json!("16s"))],
                &["spec.platform.startedRetryInterval must be at most 15s"],
            ),
            account(
                "startedRetryInterval 1m",
                vec![Set("/spec/platform/startedRetryInterval", json!("1m"))],
                &["spec.platform.startedRetryInterval must be at most 15s"],
            ),
            account(
                "requestTimeout 61s",
                vec![Set("/spec/requestTimeout", json!("61s"))],
                &["spec.requestTimeout must be at most 60s"],
            ),
            account(
                "createClockSkew 31m",
                vec![Set("/spec/platform/createClockSkew", json!("31m"))],
                &["spec.platform.createClockSkew must be at most 30m"],
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn required_fields_are_required() {
    check_rejections(
        "required",
        vec![
            task(
                "no accountRef",
                vec![Remove("/spec/accountRef")],
                &["spec.accountRef", "Required value"],
            ),
            task(
                "no accountRef.name",
                vec![Remove("/spec/accountRef/name")],
                &["spec.accountRef.name", "Required value"],
            ),
            task("no task", vec![Remove("/spec/task")], &["spec.task", "Required value"]),
            task(
                "no task.name",
                vec![Remove("/spec/task/name")],
                &["spec.task.name", "Required value"],
            ),
            task(
                "no scriptGroupId",
                vec![Remove("/spec/task/scriptGroupId")],
                &["spec.task.scriptGroupId", "Required value"],
            ),
            task(
                "no maxConcurrency",
                vec![Remove("/spec/task/maxConcurrency")],
                &["spec.task.maxConcurrency", "Required value"],
            ),
            task(
                "no dialTimeGroupId",
                vec![Remove("/spec/task/dialTimeGroupId")],
                &["spec.task.dialTimeGroupId", "Required value"],
            ),
            task(
                "no schedule",
                vec![Remove("/spec/task/schedule")],
                &["spec.task.schedule", "Required value"],
            ),
            task(
                "no startTime",
                vec![Remove("/spec/task/schedule/startTime")],
                &["spec.task.schedule.startTime", "Required value"],
            ),
            task(
                "line without limit",
                vec![Remove("/spec/task/lines/0/limit")],
                &["spec.task.lines[0].limit", "Required value"],
            ),
            account(
                "no baseUrl",
                vec![Remove("/spec/baseUrl")],
                &["spec.baseUrl", "Required value"],
            ),
            account(
                "no userId",
                vec![Remove("/spec/userId")],
                &["spec.userId", "Required value"],
            ),
            account(
                "no tokenSecretRef",
                vec![Remove("/spec/tokenSecretRef")],
                &["spec.tokenSecretRef", "Required value"],
            ),
        ],
    )
    .await;
}

/// The edges of every range are inside it, and the optional blocks may be left out.
#[tokio::test]
async fn boundary_values_are_accepted() {
    let hundred: String = "任".repeat(100);
    let ten: Vec<String> = (0..10).map(|i| format!("v{i}")).collect();
    let rule = json!({"match": "ContainsAny", "values": ["x"], "scriptGroupId": 11, "priority": 1});
    let hundred_rules: Vec<Value> = (0..100).map(|_| rule.clone()).collect();
    check_accepted(
        "boundaries",
        vec![
            (
                "name of 1 character",
                Kind::Task,
                vec![Set("/spec/task/name", json!("a"))],
            ),
            (
                "name of 100 characters",
                Kind::Task,
                vec![Set("/spec/task/name", json!(hundred))],
            ),
            (
                "redial 1 minute, 1 attempt",
                Kind::Task,
                vec![
                    Set("/spec/task/redial/intervalMinutes", json!(1)),
                    Set("/spec/task/redial/maxAttempts", json!(1)),
                ],
            ),
            (
                "redial 60 minutes",
                Kind::Task,
                vec![Set("/spec/task/redial/intervalMinutes", json!(60))],
            ),
            (
                "every redial outcome",
                Kind::Task,
                vec![Set(
                    "/spec/task/redial/onOutcomes",
                    json!([
                        "CarrierBlocked",
                        "Rejected",
                        "NoAnswer",
                        "NumberNotExist",
                        "PoweredOff",
                        "OutOfService",
                        "Busy",
                        "CallsRestricted",
                        "Arrears",
                        "Blacklisted",
                        "BlockedByUser"
                    ]),
                )],
            ),
            (
                "workWeek 0 to 6",
                Kind::Task,
                vec![Set("/spec/task/schedule/workWeek", json!([0, 1, 2, 3, 4, 5, 6]))],
            ),
            (
                "10 variable values",
                Kind::Task,
                vec![Set("/spec/task/scriptsByVariable/0/values", json!(ten))],
            ),
            (
                "100 variable rules",
                Kind::Task,
                vec![Set("/spec/task/scriptsByVariable", json!(hundred_rules))],
            ),
            (
                "resyncInterval 30s",
                Kind::Task,
                vec![Set("/spec/resyncInterval", json!("30s"))],
            ),
            (
                "resyncInterval 1h30m",
                Kind::Task,
                vec![Set("/spec/resyncInterval", json!("1h30m"))],
            ),
            ("taskType 6", Kind::Task, vec![Set("/spec/task/taskType", json!(6))]),
            (
                "maxConcurrency 4 over 2 lines",
                Kind::Task,
                vec![
                    Set("/spec/task/maxConcurrency", json!(4)),
                    Set(
                        "/spec/task/lines/1",
                        json!({"id": "29c39ec4-b292-4af9-a88b-922d61866a0b", "limit": 2}),
                    ),
                ],
            ),
            (
                "maxConcurrency 3 with no lines",
                Kind::Task,
                vec![
                    Set("/spec/task/maxConcurrency", json!(3)),
                    Set("/spec/task/lines", json!([])),
                ],
            ),
            (
                "PauseAndRelease without elastic seats",
                Kind::Task,
                vec![
                    Set("/spec/task/endAction", json!("PauseAndRelease")),
                    Set("/spec/task/elasticSeats", json!(false)),
                ],
            ),
            (
                "elastic seats with endAction None",
                Kind::Task,
                vec![Set("/spec/task/elasticSeats", json!(true))],
            ),
            (
                "ByTime with scriptsByTime",
                Kind::Task,
                vec![Set("/spec/task/scriptSelection", json!("ByTime"))],
            ),
            (
                "ByVariable with scriptsByVariable",
                Kind::Task,
                vec![Set("/spec/task/scriptSelection", json!("ByVariable"))],
            ),
            (
                "MultiScript with multiScript",
                Kind::Task,
                vec![Set("/spec/task/scriptSelection", json!("MultiScript"))],
            ),
            ("no stopTime", Kind::Task, vec![Remove("/spec/task/schedule/stopTime")]),
            (
                "holiday of one minute",
                Kind::Task,
                vec![Set(
                    "/spec/task/schedule/holidays/0",
                    json!({"begin": "2025-01-28 00:00", "end": "2025-01-28 00:01"}),
                )],
            ),
            (
                "minimal spec (only required fields)",
                Kind::Task,
                vec![Set(
                    "/spec",
                    support::task_spec_json("main", "f232d184-dd54-42a0-8ace-0bf8d660f4cc"),
                )],
            ),
            (
                "uppercase UUIDs",
                Kind::Task,
                vec![Set("/spec/taskId", json!("F232D184-DD54-42A0-8ACE-0BF8D660F4CC"))],
            ),
            (
                "http:// baseUrl with a port and path",
                Kind::Account,
                vec![Set("/spec/baseUrl", json!("http://127.0.0.1:18080/x"))],
            ),
            (
                "minimal account",
                Kind::Account,
                vec![Remove("/spec/rateLimit"), Remove("/spec/timeZone")],
            ),
            (
                "startedRetries 10 every 15s (the longest 6007 wait allowed)",
                Kind::Account,
                vec![
                    Set("/spec/platform/startedRetries", json!(10)),
                    Set("/spec/platform/startedRetryInterval", json!("15s")),
                ],
            ),
            (
                "startedRetryInterval 14s500ms",
                Kind::Account,
                vec![Set("/spec/platform/startedRetryInterval", json!("14s500ms"))],
            ),
        ],
    )
    .await;
}

/// taskId and accountRef cannot change once created; other fields can.
#[tokio::test]
async fn task_id_and_account_ref_are_immutable() {
    let Some(client) = support::cluster().await else {
        return;
    };
    support::ensure_crds(&client).await;
    let ns = support::test_namespace(&client, "immutable").await;
    let created = support::create_task_json(
        &client,
        &ns,
        support::task_json("t1", "main", "f232d184-dd54-42a0-8ace-0bf8d660f4cc"),
    )
    .await
    .expect("create the task");
    assert_eq!(
        created.spec.task_id.as_deref(),
        Some("f232d184-dd54-42a0-8ace-0bf8d660f4cc")
    );
    let api = Api::<OutboundTask>::namespaced(client.clone(), &ns);

    // A merge patch, as `kubectl patch --type merge` or `kubectl edit` would send.
    let err = api
        .patch(
            "t1",
            &pp_merge(),
            &Patch::Merge(json!({"spec": {"taskId": "f232d184-dd54-42a0-8ace-0bf8d660f4a1"}})),
        )
        .await
        .expect_err("changing taskId must be rejected");
    let msg = support::error_message(&err);
    assert!(msg.contains("spec.taskId is immutable"), "unexpected message: {msg}");

    let err = api
        .patch(
            "t1",
            &pp_merge(),
            &Patch::Merge(json!({"spec": {"accountRef": {"name": "other"}}})),
        )
        .await
        .expect_err("changing accountRef must be rejected");
    let msg = support::error_message(&err);
    assert!(
        msg.contains("spec.accountRef is immutable"),
        "unexpected message: {msg}"
    );

    // A full replace (PUT) with a new taskId, as `kubectl replace` sends.
    let mut replaced = api.get("t1").await.expect("get");
    replaced.spec.task_id = Some("f232d184-dd54-42a0-8ace-0bf8d660f4b2".into());
    let err = api
        .replace("t1", &Default::default(), &replaced)
        .await
        .expect_err("replace with a new taskId must be rejected");
    assert!(
        support::error_message(&err).contains("spec.taskId is immutable"),
        "{}",
        support::error_message(&err)
    );

    // Review A1: the sub-account a known task lives in cannot be set, changed or removed.
    let sub_user = "f232d184-dd54-42a0-8ace-0bf8d660f4c9";
    let err = api
        .patch(
            "t1",
            &pp_merge(),
            &Patch::Merge(json!({"spec": {"subUserId": sub_user}})),
        )
        .await
        .expect_err("setting subUserId on a known task must be rejected");
    let msg = support::error_message(&err);
    assert!(msg.contains("spec.subUserId is immutable"), "unexpected message: {msg}");
    let mut in_sub_account = support::task_json("t2", "main", "f232d184-dd54-42a0-8ace-0bf8d660f4c8");
    in_sub_account["spec"]["subUserId"] = json!(sub_user);
    support::create_task_json(&client, &ns, in_sub_account)
        .await
        .expect("create t2");
    let err = api
        .patch("t2", &pp_merge(), &Patch::Merge(json!({"spec": {"subUserId": null}})))
        .await
        .expect_err("removing subUserId from a known task must be rejected");
    let msg = support::error_message(&err);
    assert!(msg.contains("spec.subUserId is immutable"), "unexpected message: {msg}");

    // Mutable fields still change, and an unchanged taskId/accountRef passes the rules.
    let patched = api
        .patch(
            "t1",
            &pp_merge(),
            &Patch::Merge(json!({"spec": {"task": {"maxConcurrency": 4}, "runState": "Paused"}})),
        )
        .await
        .expect("other fields are mutable");
    assert_eq!(patched.spec.task.max_concurrency, 4);
}

/// Without taskId the operator creates the task and reports its id in status.taskId: spec.taskId
/// may then be set, only to that id; neither id changes or goes away once set.
#[tokio::test]
async fn task_id_is_set_later_only_to_the_created_id() {
    let Some(client) = support::cluster().await else {
        return;
    };
    support::ensure_crds(&client).await;
    let ns = support::test_namespace(&client, "created-id").await;
    let mut object = support::task_json("t1", "main", "f232d184-dd54-42a0-8ace-0bf8d660f4cc");
    object["spec"].as_object_mut().unwrap().remove("taskId");
    let created = support::create_task_json(&client, &ns, object)
        .await
        .expect("a task without taskId is accepted");
    assert_eq!(created.spec.task_id, None);
    let api = Api::<OutboundTask>::namespaced(client.clone(), &ns);
    let (ours, other) = (
        "f232d184-dd54-42a0-8ace-0bf8d660f4a1",
        "f232d184-dd54-42a0-8ace-0bf8d660f4b2",
    );
    let set_spec = |id: Value| Patch::Merge(json!({"spec": {"taskId": id}}));
    let set_status = |id: Value| Patch::Merge(json!({"status": {"taskId": id}}));
    let rejected = |result: Result<OutboundTask, kube::Error>, expected: &str| {
        let message = support::error_message(&result.expect_err(expected));
        assert!(message.contains(expected), "unexpected message: {message}");
    };

    let later = "spec.taskId may only be set later to status.taskId";
    rejected(api.patch("t1", &pp_merge(), &set_spec(json!(ours))).await, later);
    api.patch_status("t1", &pp_merge(), &set_status(json!(ours)))
        .await
        .expect("the operator reports the created id");
    rejected(api.patch("t1", &pp_merge(), &set_spec(json!(other))).await, later);
    let adopted = api
        .patch("t1", &pp_merge(), &set_spec(json!(ours)))
        .await
        .expect("spec.taskId set to status.taskId");
    assert_eq!(adopted.spec.task_id.as_deref(), Some(ours));
    rejected(
        api.patch("t1", &pp_merge(), &set_spec(Value::Null)).await,
        "spec.taskId cannot be removed once set",
    );
    rejected(
        api.patch_status("t1", &pp_merge(), &set_status(json!(other))).await,
        "status.taskId is immutable",
    );
    rejected(
        api.patch_status("t1", &pp_merge(), &set_status(Value::Null)).await,
        "status.taskId cannot be removed once set",
    );
}

fn pp_merge() -> PatchParams {
    PatchParams {
        field_manager: Some(support::FIELD_MANAGER.into()),
        ..Default::default()
    }
}

fn example_files() -> Vec<PathBuf> {
    let examples = support::repo_root().join("manifests/examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&examples)
        .expect("manifests/examples exists")
        .chain(std::fs::read_dir(examples.join("simulator")).expect("manifests/examples/simulator exists"))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    files
}

/// Every OutboundAccount and OutboundTask in manifests/examples is accepted with strict field
/// validation (an unknown or duplicated field is an error), is stored, and reads back with every
/// field it set (nothing pruned).
#[tokio::test]
async fn examples_are_accepted() {
    let Some(client) = support::cluster().await else {
        return;
    };
    support::ensure_crds(&client).await;
    let ns = support::test_namespace(&client, "examples").await;
    let mut seen = 0;
    let mut failures = Vec::new();
    for file in example_files() {
        for doc in support::yaml_documents(&file) {
            let kind = doc["kind"].as_str().unwrap_or_default().to_string();
            let name = doc["metadata"]["name"].as_str().unwrap_or_default().to_string();
            let label = format!("{} ({kind} {name})", file.file_name().unwrap().to_string_lossy());
            let result = match kind.as_str() {
                "OutboundTask" => support::apply_json_strict::<OutboundTask>(&client, &ns, &doc, false).await,
                "OutboundAccount" => support::apply_json_strict::<OutboundAccount>(&client, &ns, &doc, false).await,
                _ => continue, // the Secret and anything else that is not ours
            };
            seen += 1;
            match result {
                Err(e) => failures.push(format!("{label}: rejected: {}", support::error_message(&e))),
                Ok(stored) => {
                    let stored = serde_json::to_value(&stored).expect("json");
                    if let Some(diff) = first_missing(&doc["spec"], &stored["spec"], "spec") {
                        failures.push(format!("{label}: the apiserver dropped or changed {diff}"));
                    }
                }
            }
        }
    }
    assert!(
        seen >= 6,
        "expected at least an account and five tasks in manifests/examples, found {seen}"
    );
    assert!(failures.is_empty(), "examples failed:\n{}", failures.join("\n"));
}

/// The first path of `want` absent from or different in `got` (numbers compared as f64).
fn first_missing(want: &Value, got: &Value, path: &str) -> Option<String> {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => w.iter().find_map(|(k, v)| match g.get(k) {
            None => Some(format!("{path}.{k} (absent)")),
            Some(gv) => first_missing(v, gv, &format!("{path}.{k}")),
        }),
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => w
            .iter()
            .zip(g)
            .enumerate()
            .find_map(|(i, (a, b))| first_missing(a, b, &format!("{path}[{i}]"))),
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => None,
        (a, b) if a == b => None,
        (a, b) => Some(format!("{path}: {a} became {b}")),
    }
}

/// The shared helpers of tests/support work against the real apiserver (other integration tests
/// build on them): Secret, account and task creation from the Rust types, status with conditions,
/// and wait_for_condition both when the condition comes and when it times out.
#[tokio::test]
async fn support_helpers_work() {
    let Some(client) = support::cluster().await else {
        return;
    };
    support::ensure_crds(&client).await;
    let ns = support::test_namespace(&client, "helpers").await;

    let secret = support::create_token_secret(&client, &ns, "platform-token", "demo-token").await;
    assert_eq!(secret.metadata.namespace.as_deref(), Some(ns.as_str()));
    let account = support::create_account(&client, &ns, "main", "http://127.0.0.1:18080", "platform-token").await;
    assert_eq!(account.spec.time_zone, "Asia/Shanghai", "defaults filled");
    let task = support::create_task(
        &client,
        &ns,
        &support::task("t1", "main", "f232d184-dd54-42a0-8ace-0bf8d660f4cc"),
    )
    .await;
    assert_eq!(task.spec.resync_interval, "5m");

    let api = Api::<OutboundTask>::namespaced(client.clone(), &ns);
    let status = json!({"status": {"observedGeneration": 1, "conditions": [{
        "type": "Ready", "status": "True", "reason": "InSync", "message": "in sync",
        "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1
    }]}});
    api.patch_status("t1", &pp_merge(), &Patch::Merge(&status))
        .await
        .expect("status subresource");
    let got = support::wait_for_condition(&api, "t1", "Ready", "True", std::time::Duration::from_secs(5)).await;
    assert_eq!(
        support::condition(&got, "Ready").map(|c| c.reason.as_str()),
        Some("InSync")
    );

    // On timeout it panics with the last status.
    let api2 = api.clone();
    let err = tokio::spawn(async move {
        support::wait_for_condition(&api2, "t1", "Ready", "False", std::time::Duration::from_millis(500)).await
    })
    .await
    .expect_err("must time out");
    let panic = err.into_panic();
    let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.contains("Ready=False") && msg.contains("InSync"),
        "timeout message: {msg}"
    );
}
