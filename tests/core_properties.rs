//! Properties of the functional core against a small model of the platform.
//!
//! The reconciles here run the real planner, the real step machine (`planner::Steps`, the
//! executor's decisions) and the real report; only the effects are performed by the test, on a
//! model of the platform's state and a copy of the object's persisted status, with a fault
//! injected at any effect (see `Fault`).
//!
//! The model stores a task's settings as the update body it last accepted (replace or merge
//! semantics, chosen per case) and a run state; pause -> paused, update -> replaces settings only
//! when paused (else 6007), resume -> running (or waiting). Every read renders the settings with
//! the platform's quirks, chosen per case and re-rolled per read: ids as strings, `null`/`0`/absent
//! for unset ids, holiday `start` keys, 0/1 or string flags, shuffled sets, settings split between
//! `task_extras` and `new_task_extra`, bare line ids, per-weekday work hours, `/` dates, missing
//! `status` (flag table), unreported `task_type`.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use outbound_api::{Mode, Operation, OperationPhase, OutboundTaskSpec, OutboundTaskStatus, RunState, TaskSettings};
use outbound_core::diff::diff;
use outbound_core::mapping::{create_body, desired_fields, observed_fields};
use outbound_core::planner::{
    Action, ActionKind, CallError, Effect, Failure, MAX_STARTED_RETRY_INTERVAL, Observed, Outcome, Plan, PlanInput,
    PlanOptions, ReportInput, StepLimits, Steps, Verdict, needs_remote_read, plan, report,
};
use outbound_core::wire::{TaskDetail, UpdateBody};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

// ---------------------------------------------------------------------------------------------
// Specs
// ---------------------------------------------------------------------------------------------

const LINE_IDS: [&str; 5] = [
    "d47c3599-f166-4cd0-999c-f60e46814d26",
    "ece66f74-149e-455a-ba9e-2d71fa0cab84",
    "29c39ec4-b292-4af9-a88b-922d61866aaa",
    "5b55bcca-d653-4a58-8f9a-437fb0601f8e",
    "f232d184-dd54-42a0-8ace-0bf8d660f4cc",
];

fn hhmm() -> impl Strategy<Value = String> {
    (0u32..24, 0u32..60).prop_map(|(h, m)| format!("{h:02}:{m:02}"))
}

fn date() -> impl Strategy<Value = String> {
    (2024u32..2027, 1u32..13, 1u32..29).prop_map(|(y, m, d)| format!("{y}-{m:02}-{d:02}"))
}

fn window() -> impl Strategy<Value = Value> {
    (hhmm(), hhmm()).prop_map(|(b, e)| json!({"begin": b, "end": e}))
}

fn enum_of(names: &'static [&'static str]) -> impl Strategy<Value = Value> {
    proptest::sample::select(names).prop_map(Value::from)
}

fn opt_id() -> impl Strategy<Value = Option<i64>> {
    proptest::option::of(1i64..1000)
}

/// `spec.task` as JSON (the CRD's shape), parsed into `TaskSettings`.
fn settings() -> BoxedStrategy<TaskSettings> {
    let head = (
        "[a-z]{1,10}",
        proptest::option::of("[a-z ]{0,6}"),
        prop_oneof![4 => Just(Some(7)), 1 => Just(Some(6)), 2 => Just(None)],
        proptest::option::of(Just("group")),
        1i64..500,
        proptest::option::of(enum_of(&["Unified", "ByTime", "ByVariable", "MultiScript"])),
        1i32..12,
        1i64..500,
        (opt_id(), opt_id(), opt_id(), opt_id(), opt_id()),
        proptest::option::of(any::<bool>()),
        proptest::option::of(enum_of(&["None", "PauseAndRelease"])),
    );
    let schedule = (
        (date(), hhmm(), 0u32..60),
        proptest::option::of((date(), hhmm())),
        proptest::collection::vec((date(), hhmm(), date(), hhmm()), 0..3),
        proptest::option::of(proptest::collection::vec(0u8..7, 0..7)),
        proptest::option::of(proptest::collection::vec(window(), 0..3)),
        proptest::option::of(0i32..120),
    );
    let lines = proptest::collection::btree_map(0usize..LINE_IDS.len(), 1i32..6, 0..4);
    let scripts = (
        proptest::option::of(enum_of(&["Random", "Sequential", "Reverse"])),
        proptest::option::of(proptest::collection::vec((hhmm(), hhmm(), 1i64..50), 0..3)),
        proptest::option::of(proptest::collection::vec(
            (
                enum_of(&["ContainsAny", "EqualsAny"]),
                proptest::collection::vec("[a-c]", 1..3),
                1i64..50,
                0i32..3,
            ),
            0..4,
        )),
        proptest::option::of((
            enum_of(&["RoundRobin", "Random"]),
            proptest::collection::vec((1i64..50, 0i32..3), 1..3),
        )),
    );
    let redial = proptest::option::of((
        proptest::option::of(any::<bool>()),
        proptest::option::of(any::<bool>()),
        proptest::option::of(1i32..61),
        proptest::option::of(1i32..4),
        proptest::option::of(proptest::collection::vec(2i64..13, 0..5)),
    ));
    let legacy = proptest::option::of((
        proptest::option::of(proptest::collection::vec((hhmm(), hhmm(), 1i64..50, 1i64..50), 0..3)),
        proptest::option::of(proptest::collection::vec((hhmm(), 0i32..120, 1i64..50), 0..3)),
    ));
    (head.boxed(), schedule.boxed(), lines.boxed(), scripts.boxed(), redial.boxed(), legacy.boxed()).prop_map(|(head, schedule, lines, scripts, redial, legacy)| {
        let (name, remark, task_type, group_type, script, selection, max, dial, ids, elastic, end_action) = head;
        let (bg, bridge, rule, llm, score) = ids;
        let ((sd, st, ss), stop, holidays, week, hours, interval) = schedule;
        let (order, by_time, by_variable, multi) = scripts;
        let mut t = json!({
            "name": name, "scriptGroupId": script,
            "maxConcurrency": max, "dialTimeGroupId": dial,
            "schedule": {
                "startTime": format!("{sd} {st}:{ss:02}"),
                "holidays": holidays.into_iter().map(|(bd, bt, ed, et)| json!({"begin": format!("{bd} {bt}"), "end": format!("{ed} {et}")})).collect::<Vec<_>>(),
            },
            "lines": lines.into_iter().map(|(i, limit)| json!({"id": LINE_IDS[i], "limit": limit})).collect::<Vec<_>>(),
        });
        let o = t.as_object_mut().unwrap();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                o.insert(k.into(), v);
            }
        };
        put("taskType", task_type.map(Value::from));
        put("scriptSelection", selection);
        put("numberOrder", order);
        put("remark", remark.map(Value::from));
        put("groupType", group_type.map(Value::from));
        put("backgroundSoundId", bg.map(Value::from));
        put("bridgeGroupId", bridge.map(Value::from));
        put("redialRuleId", rule.map(Value::from));
        put("llmIntentionId", llm.map(Value::from));
        put("scoreSchemeId", score.map(Value::from));
        put("elasticSeats", elastic.map(Value::from));
        put("endAction", end_action);
        put("scriptsByTime", by_time.map(|l| l.into_iter().map(|(b, e, id)| json!({"begin": b, "end": e, "scriptGroupId": id})).collect()));
        put(
            "scriptsByVariable",
            by_variable.map(|l| {
                l.into_iter()
                    .map(|(m, values, id, prio)| json!({"match": m, "values": values, "scriptGroupId": id, "priority": prio}))
                    .collect()
            }),
        );
        put(
            "multiScript",
            multi.map(|(order, s)| {
                json!({"order": order, "scripts": s.into_iter().map(|(id, sort)| json!({"scriptGroupId": id, "sort": sort})).collect::<Vec<_>>()})
            }),
        );
        put(
            "redial",
            redial.map(|(enabled, fresh, interval, max, outcomes)| {
                let names: Option<Vec<Value>> = outcomes.map(|codes| {
                    codes.into_iter().map(|c| serde_json::to_value(outbound_api::CallOutcome::from_code(c).unwrap()).unwrap()).collect()
                });
                json!({"enabled": enabled, "freshNumbersFirst": fresh, "intervalMinutes": interval, "maxAttempts": max, "onOutcomes": names})
            }),
        );
        put(
            "legacy",
            legacy.map(|(switch, calls)| {
                json!({
                    "groupSwitchRules": switch.map(|l| l.into_iter().map(|(s, e, id, d)| json!({"start": s, "end": e, "scriptGroupId": id, "defaultScriptGroupId": d})).collect::<Vec<_>>()),
                    "callRules": calls.map(|l| l.into_iter().map(|(t, i, r)| json!({"recallTime": format!("{t}:00"), "intervalMinutes": i, "ruleId": r})).collect::<Vec<_>>()),
                })
            }),
        );
        let s = &mut t["schedule"];
        if let Some((d, tm)) = stop {
            s["stopTime"] = format!("{d} {tm}:00").into();
        }
        if let Some(week) = week {
            s["workWeek"] = week.into();
        }
        if let Some(hours) = hours {
            s["workHours"] = hours.into();
        }
        if let Some(i) = interval {
            s["callIntervalSeconds"] = i.into();
        }
        strip_nulls(&mut t);
        serde_json::from_value(t).expect("generated settings parse")
    })
    .boxed()
}

fn strip_nulls(v: &mut Value) {
    if let Value::Object(m) = v {
        m.retain(|_, v| !v.is_null());
        m.values_mut().for_each(strip_nulls);
    }
}

fn spec_with(task: TaskSettings, run_state: Option<RunState>, mode: Mode, suspend: bool) -> OutboundTaskSpec {
    OutboundTaskSpec {
        account_ref: outbound_api::AccountRef { name: "main".into() },
        task_id: Some(LINE_IDS[4].into()),
        sub_user_id: None,
        run_state,
        suspend,
        mode,
        resync_interval: "5m".into(),
        deletion_policy: Default::default(),
        task,
    }
}

fn run_state() -> impl Strategy<Value = Option<RunState>> {
    prop_oneof![Just(None), Just(Some(RunState::Running)), Just(Some(RunState::Paused))]
}

// ---------------------------------------------------------------------------------------------
// The platform model
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Quirks {
    seed: u64,
    ids_as_strings: bool,
    unset_style: u8,
    holiday_start_key: bool,
    flags_style: u8,
    split: u8,
    bare_lines_in_task_extras: bool,
    report_task_type: bool,
    report_status: bool,
    waiting_when_resumed: bool,
    expand_work_hours: bool,
    slash_dates: bool,
    sort_variable_rules: bool,
    merge_updates: bool,
}

fn quirks() -> impl Strategy<Value = Quirks> {
    (any::<u64>(), any::<[bool; 11]>(), 0u8..3, 0u8..3, 0u8..3).prop_map(
        |(seed, b, unset_style, flags_style, split)| Quirks {
            seed,
            ids_as_strings: b[0],
            unset_style,
            holiday_start_key: b[1],
            flags_style,
            split,
            bare_lines_in_task_extras: b[2],
            report_task_type: b[3],
            report_status: b[4] || b[5],
            waiting_when_resumed: b[6],
            expand_work_hours: b[7],
            slash_dates: b[8],
            sort_variable_rules: b[9],
            merge_updates: b[10],
        },
    )
}

#[derive(Clone, Debug)]
struct Model {
    /// 1 paused, 2 running, 3 waiting.
    status: u8,
    /// The settings as the last accepted update body (snake_case JSON).
    config: Map<String, Value>,
    quirks: Quirks,
    /// The state fields contradict each other (status 1 while the engine says enabled).
    contradictory: bool,
    /// Someone restarts the task right after this many of our pauses.
    restarts_after_pause: u32,
    reads: u64,
    refused_updates: u32,
}

impl Model {
    fn new(config: &UpdateBody, status: u8, quirks: Quirks) -> Self {
        let Value::Object(mut config) = serde_json::to_value(config).unwrap() else {
            unreachable!()
        };
        config.remove("sub_user_id");
        Model {
            status,
            config,
            quirks,
            contradictory: false,
            restarts_after_pause: 0,
            reads: 0,
            refused_updates: 0,
        }
    }

    fn started(&self) -> bool {
        self.status != 1
    }

    fn pause(&mut self) {
        self.status = 1;
        self.contradictory = false;
        if self.restarts_after_pause > 0 {
            self.restarts_after_pause -= 1;
            self.status = 2;
        }
    }

    fn resume(&mut self) {
        self.status = if self.quirks.waiting_when_resumed { 3 } else { 2 };
        self.contradictory = false;
    }

    fn update(&mut self, body: &UpdateBody) -> Result<(), u32> {
        if self.started() {
            self.refused_updates += 1;
            return Err(6007);
        }
        let Value::Object(mut new) = serde_json::to_value(body).unwrap() else {
            unreachable!()
        };
        new.remove("sub_user_id");
        if self.quirks.merge_updates {
            let extras = new.remove("task_extras").unwrap();
            let target = self.config.entry("task_extras").or_insert_with(|| json!({}));
            for (k, v) in extras.as_object().unwrap() {
                target[k] = v.clone();
            }
            self.config.extend(new);
        } else {
            self.config = new;
        }
        Ok(())
    }

    fn rng(&mut self) -> Rng {
        self.reads += 1;
        Rng(self.quirks.seed ^ self.reads.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The detail response, with this case's quirks.
    fn read(&mut self) -> TaskDetail {
        let mut rng = self.rng();
        let q = self.quirks.clone();
        let mut top = Map::new();
        let id = |rng: &mut Rng, v: &Value| -> Value {
            if q.ids_as_strings && rng.bool() {
                Value::from(v.to_string())
            } else {
                v.clone()
            }
        };
        for (k, v) in &self.config {
            match k.as_str() {
                "task_extras" => {}
                "task_type" if !q.report_task_type => {}
                "elasticity_type" => {
                    top.insert("elasticity_task".into(), flag(&mut rng, q.flags_style, v));
                }
                "destination_extension"
                | "maximumcall"
                | "dial_time_id"
                | "background_id"
                | "bridge_group_id"
                | "auto_recycle_rule_id"
                | "llm_intention_id"
                | "score_scheme_id"
                | "is_group_switch"
                | "end_action" => {
                    top.insert(k.clone(), id(&mut rng, v));
                }
                "group_switch_rule" => {
                    let mut items = v.as_array().unwrap().clone();
                    rng.shuffle(&mut items);
                    for item in &mut items {
                        item["group_id"] = id(&mut rng, &item["group_id"]);
                    }
                    top.insert(k.clone(), items.into());
                }
                "new_call_rules" => {
                    let mut items = v.as_array().unwrap().clone();
                    rng.shuffle(&mut items);
                    for item in &mut items {
                        let t = item["re_call_time"].as_str().unwrap().to_string();
                        if let Some(short) = t.strip_suffix(":00").filter(|_| rng.bool()) {
                            item["re_call_time"] = short.to_string().into();
                        }
                    }
                    top.insert(k.clone(), items.into());
                }
                _ => {
                    top.insert(k.clone(), v.clone());
                }
            }
        }
        for key in [
            "background_id",
            "bridge_group_id",
            "auto_recycle_rule_id",
            "llm_intention_id",
            "score_scheme_id",
            "end_action",
            "remark",
            "elasticity_task",
        ] {
            if !top.contains_key(key) {
                match q.unset_style {
                    0 => {
                        top.insert(key.into(), Value::Null);
                    }
                    1 if key != "remark" => {
                        top.insert(key.into(), 0.into());
                    }
                    _ => {}
                }
            }
        }
        let (mut te, mut nte) = (Map::new(), Map::new());
        let extras = self.config.get("task_extras").cloned().unwrap_or(json!({}));
        for (k, v) in extras.as_object().unwrap() {
            let v = render_extra(&mut rng, &q, k, v);
            let target = match q.split {
                0 => 0,
                1 => 1,
                _ => rng.below(3),
            };
            if k == "line" && q.bare_lines_in_task_extras {
                let bare: Vec<Value> = v
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l.get("id").cloned().unwrap_or_else(|| l.clone()))
                    .collect();
                te.insert(k.clone(), bare.into());
                nte.insert(k.clone(), v);
                continue;
            }
            if target != 1 {
                te.insert(k.clone(), v.clone());
            }
            if target != 0 {
                nte.insert(k.clone(), v);
            }
        }
        // State: `status` plus the engine's flags.
        let enabled = self.status != 1 || self.contradictory;
        let calling = self.status == 2 || (self.status == 3 && rng.bool());
        nte.insert("enable".into(), flag(&mut rng, q.flags_style, &json!(enabled)));
        nte.insert(
            "call_status".into(),
            flag(&mut rng, q.flags_style, &json!(calling && !self.contradictory)),
        );
        if q.report_status || self.contradictory {
            top.insert("status".into(), id(&mut rng, &json!(self.status)));
        }
        top.insert("task_extras".into(), te.into());
        top.insert("new_task_extra".into(), nte.into());
        serde_json::from_value(Value::Object(top)).expect("the model's detail decodes")
    }
}

fn flag(rng: &mut Rng, style: u8, v: &Value) -> Value {
    let b = match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_i64() != Some(0),
        _ => return v.clone(),
    };
    match (style, rng.bool()) {
        (0, _) => b.into(),
        (1, _) => i64::from(b).into(),
        (_, true) => Value::from(if b { "1" } else { "0" }),
        (_, false) => b.into(),
    }
}

fn render_extra(rng: &mut Rng, q: &Quirks, key: &str, v: &Value) -> Value {
    let mut v = v.clone();
    match key {
        "start_time" | "stop_time" if q.slash_dates => {
            let s = v.as_str().unwrap().replacen('-', "/", 2);
            v = s.into();
        }
        "holiday" => {
            let items = v.as_array_mut().unwrap();
            rng.shuffle(items);
            for item in items.iter_mut() {
                if rng.bool() {
                    item["end"] = format!("{}:00", item["end"].as_str().unwrap()).into();
                }
                if q.holiday_start_key {
                    let begin = item.as_object_mut().unwrap().remove("begin").unwrap();
                    item["start"] = begin;
                }
            }
        }
        "work_week" | "line" | "destination_extension_list" => rng.shuffle(v.as_array_mut().unwrap()),
        "work_hour" if q.expand_work_hours => {
            let items = v.as_array().unwrap().clone();
            v = (1..=5)
                .flat_map(|wday| {
                    items
                        .iter()
                        .map(move |i| json!({"wday": wday, "begin": i["begin"], "end": i["end"]}))
                })
                .collect();
        }
        "redial_enabled" | "redial_new_number_policy" => v = flag(rng, q.flags_style, &v),
        "redial_conditions" => {
            let mut codes = v["da_status"].as_array().unwrap().clone();
            rng.shuffle(&mut codes);
            v = if rng.bool() {
                codes.into()
            } else {
                json!({"da_status": codes})
            };
        }
        "destination_extension_with_variable_list" => {
            let items = v.as_array_mut().unwrap();
            if q.sort_variable_rules {
                items.sort_by_key(|r| r["sort"].as_i64());
            }
            for item in items.iter_mut() {
                rng.shuffle(item["values"].as_array_mut().unwrap());
            }
        }
        "destination_extension_multi_config" => rng.shuffle(v["list"].as_array_mut().unwrap()),
        _ => {}
    }
    v
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bool(&mut self) -> bool {
        self.next() & 1 == 1
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reconciles: the real planner, step machine and report, with faults injected at every effect
// ---------------------------------------------------------------------------------------------

const GEN: i64 = 3;

fn now() -> Timestamp {
    "2025-03-01T10:00:00Z".parse().unwrap()
}

fn plan_for(spec: &OutboundTaskSpec, model: &mut Model, status: &OutboundTaskStatus) -> Plan {
    let observed = needs_remote_read(spec, status).then(|| Observed::from_detail(&model.read()));
    plan(&PlanInput {
        spec,
        generation: GEN,
        observed,
        status,
        requested_at: None,
        options: PlanOptions::new(now()),
    })
}

/// What happens to one effect of the step machine.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    /// It happens and its answer arrives.
    None,
    /// It fails without effect: the platform answers an error, or the API server fails the
    /// status write.
    Error,
    /// The platform answers 429 with this `Retry-After` (seconds); no effect.
    Throttled(u64),
    /// It happens, but the answer is lost (a timeout after the platform or API server acted).
    LostResponse,
    /// The process dies before it.
    CrashBefore,
    /// The process dies right after it.
    CrashAfter,
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        4 => Just(Fault::None),
        1 => Just(Fault::Error),
        1 => (1u64..30).prop_map(Fault::Throttled),
        1 => Just(Fault::LostResponse),
        1 => Just(Fault::CrashBefore),
        1 => Just(Fault::CrashAfter),
    ]
}

/// The world the controller acts on: the platform (the model) and the object's status as the API
/// server stores it. The faults are drawn in order, one per effect; once they run out, nothing
/// fails.
struct World {
    model: Model,
    persisted: OutboundTaskStatus,
    faults: std::collections::VecDeque<Fault>,
    platform_calls: Vec<ActionKind>,
}

impl World {
    /// The platform holding `other` (or the spec's settings) in state `status0`, someone who
    /// restarts the task after `restarts` of our pauses, and the object's status with `journal`;
    /// with whether the task must run once the work is done.
    fn new(
        spec: &OutboundTaskSpec,
        other: Option<(TaskSettings, u16)>,
        status0: u8,
        quirks: Quirks,
        journal: Option<Operation>,
        restarts: u32,
        faults: Vec<Fault>,
    ) -> (World, bool) {
        let initial = initial_settings(&spec.task, other);
        let mut model = Model::new(
            &create_body(&spec_with(initial, None, Mode::Enforce, false)),
            status0,
            quirks,
        );
        model.restarts_after_pause = restarts;
        let must_run = match spec.run_state {
            Some(RunState::Running) => true,
            Some(RunState::Paused) => false,
            None => model.started() || journal.as_ref().is_some_and(|j| j.resume_after),
        };
        let persisted = OutboundTaskStatus {
            observed_generation: Some(GEN),
            operation: journal,
            ..Default::default()
        };
        let world = World {
            model,
            persisted,
            faults: faults.into(),
            platform_calls: Vec::new(),
        };
        (world, must_run)
    }

    fn next_fault(&mut self) -> Fault {
        self.faults.pop_front().unwrap_or(Fault::None)
    }

    /// The platform performs `action`; `Err` is its refusal (6007).
    fn perform(&mut self, action: &Action) -> Result<(), CallError> {
        self.platform_calls.push(action.kind());
        match action {
            Action::Pause => self.model.pause(),
            Action::Resume => self.model.resume(),
            Action::Update(body) => self.model.update(body).map_err(|_| CallError {
                failure: Failure::Transient("code 6007".into()),
                task_started: true,
                retry_after: None,
            })?,
        }
        Ok(())
    }
}

fn timeout() -> CallError {
    CallError {
        failure: Failure::Transient("timeout".into()),
        task_started: false,
        retry_after: None,
    }
}

/// The calls one execution may make: its plan's three, every 6007 retry with its re-pause, the
/// throttled retries and one recovery resume.
fn call_bound(limits: &StepLimits) -> usize {
    3 + 2 * limits.started.retries as usize + limits.max_throttled_retries as usize + 1
}

/// How one reconcile ended.
#[derive(Debug, PartialEq)]
enum Ended {
    /// It ran to the end and wrote its status.
    Finished,
    /// It ran to the end, but the API server failed its final status write.
    StatusNotWritten,
    /// The process died; the next reconcile starts from the persisted status.
    Crashed,
}

/// One reconcile as the controller runs it: read, plan, then the REAL step machine, each effect
/// performed on the world with the next fault, then the report written. Checks on the way that
/// no platform call follows a failed journal write, that no update and no pause of a task that
/// must run is made without the journal persisted, and that the calls and waits are bounded.
fn reconcile(spec: &OutboundTaskSpec, world: &mut World, limits: &StepLimits) -> Result<(Plan, Ended), TestCaseError> {
    let previous = world.persisted.clone();
    let plan = plan_for(spec, &mut world.model, &previous);
    let mut steps = Steps::new(&plan, limits.clone());
    let (mut outcome, mut journal_failed, mut calls, mut waited) = (Outcome::Begin, false, 0, Duration::ZERO);
    loop {
        let effect = steps.next(outcome);
        let fault = world.next_fault();
        if fault == Fault::CrashBefore {
            return Ok((plan, Ended::Crashed));
        }
        outcome = match &effect {
            Effect::WriteJournal(journal) => {
                let in_progress = OutboundTaskStatus {
                    operation: Some(journal.clone()),
                    ..previous.clone()
                };
                match fault {
                    Fault::Error | Fault::Throttled(_) => {
                        journal_failed = true;
                        Outcome::JournalNotWritten("the API server failed the write".into())
                    }
                    Fault::LostResponse => {
                        world.persisted = in_progress;
                        journal_failed = true;
                        Outcome::JournalNotWritten("timeout".into())
                    }
                    _ => {
                        world.persisted = in_progress;
                        Outcome::JournalWritten
                    }
                }
            }
            Effect::Call(action) => {
                prop_assert!(
                    !journal_failed,
                    "a platform call after a failed journal write: {:?}",
                    action.kind()
                );
                let journal = world.persisted.operation.as_ref();
                match action.kind() {
                    ActionKind::Update if plan.resume_after => prop_assert!(
                        journal.is_some_and(|j| j.resume_after),
                        "an update of a task that must run without a persisted journal"
                    ),
                    ActionKind::Pause if plan.resume_after => prop_assert!(
                        journal.is_some_and(|j| j.resume_after),
                        "a task that must run paused without a persisted journal saying so"
                    ),
                    _ => {}
                }
                calls += 1;
                prop_assert!(calls <= call_bound(limits), "{} calls in one execution", calls);
                match fault {
                    Fault::Error => Outcome::Failed(CallError {
                        failure: Failure::Transient("HTTP 503".into()),
                        ..timeout()
                    }),
                    Fault::Throttled(secs) => Outcome::Failed(CallError {
                        failure: Failure::Throttled,
                        retry_after: Some(Duration::from_secs(secs)),
                        ..timeout()
                    }),
                    Fault::LostResponse => {
                        let _ = world.perform(action);
                        Outcome::Failed(timeout())
                    }
                    _ => match world.perform(action) {
                        Ok(()) => Outcome::Succeeded,
                        Err(refused) => Outcome::Failed(refused),
                    },
                }
            }
            Effect::Wait(duration) | Effect::AwaitPause(duration) => {
                waited += *duration;
                // Waiting for the pause adds at most the longest learned time to the retries.
                let most = MAX_STARTED_RETRY_INTERVAL
                    + limits.started.retry_interval * limits.started.retries
                    + limits.max_throttled_wait;
                prop_assert!(waited <= most, "waited {:?} in one execution", waited);
                match effect {
                    // As if the pause was made when the execution began, on an account that
                    // learned 1.1 s (the model's pause takes effect at once).
                    Effect::AwaitPause(_) => Outcome::PauseAge {
                        since_pause: waited,
                        settle: Duration::from_millis(1100),
                    },
                    _ => Outcome::Performed,
                }
            }
            Effect::Publish(_) => Outcome::Performed,
            Effect::Done(execution) => {
                let new = report(&ReportInput {
                    plan: Some(&plan),
                    execution,
                    previous: &previous,
                    generation: GEN,
                    now: now(),
                    requested_at: None,
                });
                let ended = match fault {
                    Fault::Error | Fault::Throttled(_) => Ended::StatusNotWritten,
                    Fault::CrashAfter => Ended::Crashed,
                    _ => Ended::Finished,
                };
                if ended != Ended::StatusNotWritten {
                    world.persisted = new;
                }
                return Ok((plan, ended));
            }
        };
        if fault == Fault::CrashAfter {
            return Ok((plan, Ended::Crashed));
        }
    }
}

/// Reconciles (restarting after every crash, from the persisted status) until one finishes with
/// nothing left to do; at most `max` of them. Checks after each one that a task that must run and
/// is paused has that debt persisted in its journal (unless spec.runState says Running anyway).
fn reconcile_until_settled(
    spec: &OutboundTaskSpec,
    world: &mut World,
    limits: &StepLimits,
    must_run: bool,
    max: usize,
) -> Result<Plan, TestCaseError> {
    for _ in 0..max {
        let (plan, ended) = reconcile(spec, world, limits)?;
        if must_run && spec.run_state.is_none() && !world.model.started() {
            prop_assert!(
                world.persisted.operation.as_ref().is_some_and(|j| j.resume_after),
                "a paused task that must run, and no journal saying so: {:?}",
                world.persisted.operation
            );
        }
        if ended == Ended::Finished && plan.actions.is_empty() && plan.verdict == Verdict::InSync {
            return Ok(plan);
        }
    }
    Err(TestCaseError::fail(format!("not settled after {max} reconciles")))
}

fn journal() -> impl Strategy<Value = Option<Operation>> {
    proptest::option::of(
        (
            prop_oneof![
                Just(OperationPhase::Pausing),
                Just(OperationPhase::Updating),
                Just(OperationPhase::Resuming)
            ],
            any::<bool>(),
            GEN - 1..=GEN,
        )
            .prop_map(|(phase, resume_after, generation)| Operation {
                phase,
                resume_after,
                started_at: Time("2025-03-01T09:00:00Z".parse().unwrap()),
                generation,
            }),
    )
}

fn in_sync(spec: &OutboundTaskSpec, model: &mut Model) -> bool {
    let detail = model.read();
    diff(&desired_fields(&spec.task), &observed_fields(&detail)).is_empty()
}

/// The task's settings on the platform: the spec's own, or another spec's, or the spec's with a
/// few fields taken from another (`mask` picks them).
fn initial_settings(spec: &TaskSettings, other: Option<(TaskSettings, u16)>) -> TaskSettings {
    let Some((other, mask)) = other else {
        return spec.clone();
    };
    if mask == 0 {
        return other;
    }
    let mut t = spec.clone();
    let take = |bit: u16| mask & (1 << bit) != 0;
    if take(0) {
        t.max_concurrency = other.max_concurrency;
    }
    if take(1) {
        t.lines = other.lines.clone();
    }
    if take(2) {
        t.redial = other.redial.clone();
    }
    if take(3) {
        t.schedule.holidays = other.schedule.holidays.clone();
    }
    if take(4) {
        t.schedule.work_week = other.schedule.work_week.clone();
    }
    if take(5) {
        t.scripts_by_variable = other.scripts_by_variable.clone();
    }
    if take(6) {
        t.background_sound_id = other.background_sound_id;
        t.bridge_group_id = other.bridge_group_id;
    }
    if take(7) {
        t.remark = other.remark.clone();
        t.name = other.name.clone();
    }
    if take(8) {
        t.multi_script = other.multi_script.clone();
        t.number_order = other.number_order;
    }
    if take(9) {
        t.task_type = other.task_type;
    }
    if take(10) {
        t.legacy = other.legacy.clone();
    }
    t
}

type Case = (
    TaskSettings,
    Option<(TaskSettings, u16)>,
    u8,
    Quirks,
    Option<RunState>,
    Option<Operation>,
);

fn case() -> BoxedStrategy<Case> {
    let other = proptest::option::of((settings(), prop_oneof![Just(0u16), 1u16..2048])).boxed();
    (
        settings(),
        other,
        1u8..4,
        quirks().boxed(),
        run_state(),
        journal().boxed(),
    )
        .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Without faults one reconcile reaches the spec in the desired run state with the plan's
    /// calls only, its status reads as kstatus Current, and the next plan does nothing.
    #[test]
    fn one_reconcile_reaches_spec_and_the_next_plan_is_empty(
        (task, other, status0, quirks, run_state, journal) in case(),
    ) {
        let spec = spec_with(task, run_state, Mode::Enforce, false);
        let (mut world, must_run) = World::new(&spec, other, status0, quirks, journal, 0, Vec::new());
        let limits = StepLimits::default();

        let (first, ended) = reconcile(&spec, &mut world, &limits)?;
        prop_assert_eq!(ended, Ended::Finished);
        prop_assert_eq!(&world.platform_calls, &first.action_kinds(), "exactly the plan's calls");
        prop_assert_eq!(world.model.refused_updates, 0, "the plan always pauses a started task before updating it");
        prop_assert!(in_sync(&spec, &mut world.model), "settings equal spec after the reconcile");
        prop_assert_eq!(world.model.started(), must_run, "run state");
        let status = world.persisted.clone();
        prop_assert_eq!(status.operation.clone(), None, "journal cleared");
        prop_assert!(matches!(first.verdict, Verdict::InSync | Verdict::Converging));
        let cond = |t: &str| status.conditions.iter().find(|c| c.type_ == t).map_or("-", |c| c.status.as_str());
        prop_assert_eq!(cond("Ready"), "True");
        prop_assert_eq!(cond("Reconciling"), "False");
        prop_assert_eq!(cond("Stalled"), "False");
        prop_assert_eq!(status.observed_generation, Some(GEN));

        let again = plan_for(&spec, &mut world.model, &status);
        prop_assert!(again.actions.is_empty(), "next plan: {}", again.render());
        prop_assert_eq!(again.verdict, Verdict::InSync);
    }

    /// At every effect of the real step machine, any outcome: success, a platform error, a 429,
    /// a lost response (the effect happened, the answer did not arrive), an API-server write
    /// failure, a crash before or after it followed by a restart from the last persisted status;
    /// and someone restarting the task after our pauses. Never a call after a failed journal
    /// write, never an update or a pause of a task that must run without a persisted journal,
    /// never a paused task that must run without its journal, calls and waits per execution
    /// bounded; once the faults stop, the reconciles settle: settings equal spec (no update
    /// lost), the task in its run state (one that must run is running), no journal left,
    /// kstatus Current.
    #[test]
    fn any_fault_at_any_step_never_strands_a_campaign_and_loses_no_update(
        (task, other, status0, quirks, run_state, journal) in case(),
        faults in proptest::collection::vec(fault(), 0..16),
        restarts in 0u32..10,
    ) {
        let spec = spec_with(task, run_state, Mode::Enforce, false);
        // Each fault spoils at most one reconcile, and so does each restart of a task that
        // runState: Paused keeps paused.
        let max = faults.len() + restarts as usize + 4;
        let (mut world, must_run) = World::new(&spec, other, status0, quirks, journal, restarts, faults);
        let limits = StepLimits::default();

        reconcile_until_settled(&spec, &mut world, &limits, must_run, max)?;
        prop_assert!(in_sync(&spec, &mut world.model), "an update was lost");
        prop_assert_eq!(world.model.started(), must_run, "run state after the reconciles");
        let status = &world.persisted;
        prop_assert_eq!(status.operation.clone(), None, "journal cleared");
        let cond = |t: &str| status.conditions.iter().find(|c| c.type_ == t).map_or("-", |c| c.status.as_str());
        prop_assert_eq!((cond("Ready"), cond("Reconciling"), cond("Stalled")), ("True", "False", "False"));
    }

    /// A task whose state fields contradict each other is never written; the journal is kept.
    #[test]
    fn unknown_state_is_never_written((task, other, _status, quirks, run_state, journal) in case()) {
        let spec = spec_with(task, run_state, Mode::Enforce, false);
        let mut model = Model::new(&create_body(&spec_with(initial_settings(&spec.task, other), None, Mode::Enforce, false)), 1, quirks);
        model.contradictory = true;
        let previous = OutboundTaskStatus { operation: journal.clone(), ..Default::default() };
        let p = plan_for(&spec, &mut model, &previous);
        prop_assert!(p.actions.is_empty());
        prop_assert_eq!(p.journal, journal);
        prop_assert!(p.requeue_after.is_some());
    }

    /// Observe mode and suspend never write settings; the only call they make resumes a task the
    /// operator itself paused (journal resume_after) unless runState is Paused.
    #[test]
    fn observe_and_suspend_never_write_settings(
        (task, other, status0, quirks, run_state, journal) in case(),
        suspend in any::<bool>(),
    ) {
        let mode = if suspend { Mode::Enforce } else { Mode::Observe };
        let spec = spec_with(task, run_state, mode, suspend);
        let mut model = Model::new(&create_body(&spec_with(initial_settings(&spec.task, other), None, Mode::Enforce, false)), status0, quirks);
        let paused = !model.started();
        let owed = journal.as_ref().is_some_and(|j| j.resume_after) && run_state != Some(RunState::Paused);
        let previous = OutboundTaskStatus { operation: journal, ..Default::default() };
        if suspend && !owed {
            prop_assert!(!needs_remote_read(&spec, &previous), "no remote call at all");
        }
        let p = plan_for(&spec, &mut model, &previous);
        let expected: Vec<ActionKind> = if owed && paused { vec![ActionKind::Resume] } else { vec![] };
        prop_assert_eq!(p.action_kinds(), expected);
    }

    /// Someone restarting the task after each of our pauses: the update is retried (re-pausing);
    /// when the retries run out the task is resumed if it must run, never left paused.
    #[test]
    fn restarted_task_is_retried_and_never_left_paused(
        (task, other, status0, quirks, run_state, journal) in case(),
        restarts in 0u32..10,
    ) {
        let spec = spec_with(task, run_state, Mode::Enforce, false);
        let (mut world, must_run) = World::new(&spec, other, status0, quirks, journal, restarts, Vec::new());
        let limits = StepLimits::default();
        let (_, ended) = reconcile(&spec, &mut world, &limits)?;
        prop_assert_eq!(ended, Ended::Finished);
        if must_run {
            prop_assert!(world.model.started(), "a task that must run is never left paused");
        }
        if restarts <= limits.started.retries / 2 {
            prop_assert!(in_sync(&spec, &mut world.model), "few restarts: the retries win");
        }
        prop_assert_eq!(world.persisted.operation.clone(), None, "nothing owed: the task runs or may stay paused");
    }
}

// ---------------------------------------------------------------------------------------------
// Creating a task: the real create steps (`planner::CreateSteps`) and their report, with a fault
// at any effect, a list that lags behind creates, and an older task of the same name.
// ---------------------------------------------------------------------------------------------

mod create {
    use std::collections::VecDeque;
    use std::time::Duration;

    use jiff::{SignedDuration, Timestamp};
    use outbound_api::{OutboundTaskSpec, OutboundTaskStatus};
    use outbound_core::planner::{
        Candidate, CreateEffect, CreateInput, CreateOutcome, CreateReportInput, CreateSteps, Failure, create_report,
    };
    use proptest::prelude::*;

    use super::{Fault, GEN, fault, settings, spec_with};

    /// The grace period and clock-skew margin of the account (the defaults).
    const GRACE: Duration = Duration::from_secs(30);
    const SKEW: Duration = Duration::from_secs(300);
    /// Time between two reconciles (the lookup requeue, or a restart after a crash).
    const STEP: SignedDuration = SignedDuration::from_secs(2);

    struct RemoteTask {
        id: String,
        name: String,
        created_at: Timestamp,
        listed_from: Timestamp,
    }

    /// The platform's task list and the object's persisted status.
    struct World {
        tasks: Vec<RemoteTask>,
        /// Tasks this object's creates made.
        made: Vec<String>,
        persisted: OutboundTaskStatus,
        faults: VecDeque<Fault>,
        clock: Timestamp,
        lag: SignedDuration,
        /// The create answer carries the id.
        answers_id: bool,
    }

    impl World {
        fn make(&mut self, name: &str) -> String {
            let id = format!("task-{}", self.tasks.len());
            self.tasks.push(RemoteTask {
                id: id.clone(),
                name: name.into(),
                created_at: self.clock,
                listed_from: self.clock + self.lag,
            });
            self.made.push(id.clone());
            id
        }

        /// The list: substring match on the name, created tasks only once the lag has passed.
        fn list(&self, name: &str) -> Vec<Candidate> {
            self.tasks
                .iter()
                .filter(|t| t.name.contains(name) && self.clock >= t.listed_from)
                .map(|t| Candidate {
                    id: t.id.clone(),
                    name: t.name.clone(),
                    created_at: Some(t.created_at),
                })
                .collect()
        }
    }

    fn transient() -> Failure {
        Failure::Transient("HTTP 502".into())
    }

    /// One reconcile of the create steps with the next faults; false when it crashed. Checks that
    /// no create is sent without a persisted intent.
    fn reconcile(spec: &OutboundTaskSpec, world: &mut World) -> Result<bool, TestCaseError> {
        let previous = world.persisted.clone();
        let input = CreateInput {
            spec,
            generation: GEN,
            status: &previous,
            requested_at: None,
            now: world.clock,
            grace: GRACE,
            skew: SKEW,
        };
        let mut steps = CreateSteps::new(&input);
        let mut outcome = CreateOutcome::Begin;
        loop {
            let effect = steps.next(outcome);
            let fault = world.faults.pop_front().unwrap_or(Fault::None);
            if fault == Fault::CrashBefore {
                return Ok(false);
            }
            outcome = match effect {
                CreateEffect::WriteIntent(intent) => match fault {
                    Fault::Error | Fault::Throttled(_) => CreateOutcome::IntentNotWritten("failed".into()),
                    Fault::LostResponse => {
                        world.persisted.create_intent = Some(intent);
                        CreateOutcome::IntentNotWritten("timeout".into())
                    }
                    _ => {
                        world.persisted.create_intent = Some(intent);
                        CreateOutcome::IntentWritten
                    }
                },
                CreateEffect::Create { body, .. } => {
                    prop_assert!(
                        world.persisted.create_intent.is_some(),
                        "a create without a persisted intent"
                    );
                    match fault {
                        // A 5xx without effect: the client cannot tell it from a lost answer.
                        Fault::Error => CreateOutcome::CreateFailed {
                            failure: transient(),
                            maybe_created: true,
                            at: world.clock,
                        },
                        Fault::Throttled(_) => CreateOutcome::CreateFailed {
                            failure: Failure::Throttled,
                            maybe_created: false,
                            at: world.clock,
                        },
                        Fault::LostResponse => {
                            world.make(&body.name);
                            CreateOutcome::CreateFailed {
                                failure: transient(),
                                maybe_created: true,
                                at: world.clock,
                            }
                        }
                        _ => {
                            let id = world.make(&body.name);
                            CreateOutcome::Created(world.answers_id.then_some(id))
                        }
                    }
                }
                CreateEffect::List { name, .. } => match fault {
                    Fault::Error | Fault::Throttled(_) | Fault::LostResponse => CreateOutcome::ListFailed(transient()),
                    _ => CreateOutcome::Listed(world.list(&name)),
                },
                CreateEffect::Done(result) => {
                    let new = create_report(&CreateReportInput {
                        result: &result,
                        previous: &previous,
                        generation: GEN,
                        now: world.clock,
                        requested_at: None,
                    });
                    match fault {
                        Fault::Error | Fault::Throttled(_) => {}
                        _ => world.persisted = new,
                    }
                    return Ok(!matches!(fault, Fault::CrashAfter));
                }
            };
            if fault == Fault::CrashAfter {
                return Ok(false);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        /// Any fault at any effect (an intent write that fails or whose answer is lost, a create
        /// whose answer is lost, a 5xx, a 429, a crash before or after any effect, a failed
        /// list), a list lagging behind creates by less than the grace period, an answer with or
        /// without the id, an older task of the same name: never two remote tasks for the object,
        /// and once the faults stop the reconciles settle on the one task made, never the older.
        #[test]
        fn never_two_remote_tasks_for_one_object(
            task in settings(),
            faults in proptest::collection::vec(fault(), 0..12),
            lag_secs in 0i64..25,
            answers_id in any::<bool>(),
            older_namesake in any::<bool>(),
        ) {
            let spec = OutboundTaskSpec { task_id: None, ..spec_with(task, None, Default::default(), false) };
            let name = outbound_core::mapping::create_body(&spec).name;
            let start: Timestamp = "2025-03-01T10:00:00Z".parse().unwrap();
            let mut world = World {
                tasks: Vec::new(),
                made: Vec::new(),
                persisted: OutboundTaskStatus::default(),
                faults: faults.into(),
                clock: start,
                lag: SignedDuration::from_secs(lag_secs),
                answers_id,
            };
            if older_namesake {
                world.tasks.push(RemoteTask {
                    id: "older".into(),
                    name: name.clone(),
                    created_at: start - SignedDuration::from_hours(24),
                    listed_from: start - SignedDuration::from_hours(24),
                });
            }
            let max = 16 * (world.faults.len() + 1) + 16;
            for _ in 0..max {
                reconcile(&spec, &mut world)?;
                prop_assert!(world.made.len() <= 1, "two remote tasks made: {:?}", world.made);
                if world.persisted.task_id.is_some() {
                    // The id is known: from here on the object is reconciled like an adopted one.
                    break;
                }
                world.clock += STEP;
            }
            prop_assert_eq!(world.made.len(), 1, "one task made");
            prop_assert_eq!(world.persisted.task_id.as_ref(), Some(&world.made[0]), "status.taskId is ours");
            prop_assert_eq!(world.persisted.create_intent.clone(), None, "intent cleared");
            let stalled = world.persisted.conditions.iter().any(|c| c.type_ == "Stalled" && c.status == "True");
            prop_assert!(!stalled, "not stalled: {:?}", world.persisted.conditions);
        }
    }
}
