//! Properties of the functional core against a small model of the platform.
//!
//! The real planner and the real report, against a model of the platform's state: pure
//! properties only. How the controller's driver performs the plans, with faults, people's actions
//! and crashes, is tests/people_properties.rs (the real driver against an in-memory API server and
//! the simulator).
//!
//! The model stores a task's settings as the update body it last accepted (replace or merge
//! semantics, chosen per case) and a run state; pause -> paused, update -> replaces settings only
//! when paused (else 6007), resume -> running (or waiting). Every read renders the settings with
//! the platform's quirks, chosen per case and re-rolled per read: ids as strings, `null`/`0`/absent
//! for unset ids, holiday `start` keys, 0/1 or string flags, shuffled sets, settings split between
//! `task_extras` and `new_task_extra`, bare line ids, per-weekday work hours, `/` dates, missing
//! `status` (flag table), unreported `task_type`.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use outbound_api::{Mode, Operation, OperationPhase, OutboundTaskSpec, OutboundTaskStatus, RunState, TaskSettings};
use outbound_core::diff::diff;
use outbound_core::mapping::{create_body, desired_fields, observed_fields};
use outbound_core::planner::{
    Action, ActionKind, Execution, Observed, Plan, PlanInput, PlanOptions, ReportInput, Verdict, needs_remote_read,
    plan, report,
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
    reads: u64,
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
            reads: 0,
        }
    }

    fn started(&self) -> bool {
        self.status != 1
    }

    fn pause(&mut self) {
        self.status = 1;
        self.contradictory = false;
    }

    fn resume(&mut self) {
        self.status = if self.quirks.waiting_when_resumed { 3 } else { 2 };
        self.contradictory = false;
    }

    fn update(&mut self, body: &UpdateBody) -> Result<(), u32> {
        if self.started() {
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

/// The platform holding `other` (or the spec's settings) in state `status0`, with whether the
/// task must run once the work is done (its journal says so, or it runs and runState is unset).
fn model_for(
    spec: &OutboundTaskSpec,
    other: Option<(TaskSettings, u16)>,
    status0: u8,
    quirks: Quirks,
    journal: &Option<Operation>,
) -> (Model, bool) {
    let initial = initial_settings(&spec.task, other);
    let model = Model::new(
        &create_body(&spec_with(initial, None, Mode::Enforce, false)),
        status0,
        quirks,
    );
    let must_run = match spec.run_state {
        Some(RunState::Running) => true,
        Some(RunState::Paused) => false,
        None => model.started() || journal.as_ref().is_some_and(|j| j.resume_after),
    };
    (model, must_run)
}

/// The model performs a planned call; `Err` is its refusal (6007).
fn perform(model: &mut Model, action: &Action) -> Result<(), u32> {
    match action {
        Action::Pause => model.pause(),
        Action::Resume => model.resume(),
        Action::Update(body) => model.update(body)?,
    }
    Ok(())
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

    /// A plan carried out (its calls on the model, in order, each accepted) reaches the spec in
    /// the desired run state, its report reads as kstatus Current, and the next plan does
    /// nothing. (How the controller performs a plan, with faults, people and crashes, is
    /// tests/people_properties.rs, on the real driver.)
    #[test]
    fn one_reconcile_reaches_spec_and_the_next_plan_is_empty(
        (task, other, status0, quirks, run_state, journal) in case(),
    ) {
        let spec = spec_with(task, run_state, Mode::Enforce, false);
        let (mut model, must_run) = model_for(&spec, other, status0, quirks, &journal);
        let previous = OutboundTaskStatus { observed_generation: Some(GEN), operation: journal, ..Default::default() };

        let first = plan_for(&spec, &mut model, &previous);
        for action in &first.actions {
            prop_assert!(perform(&mut model, action).is_ok(), "the plan pauses a started task before updating it");
        }
        prop_assert!(in_sync(&spec, &mut model), "settings equal spec after the reconcile");
        prop_assert_eq!(model.started(), must_run, "run state");
        let status = report(&ReportInput {
            plan: Some(&first),
            execution: &Execution::completed(&first),
            previous: &previous,
            generation: GEN,
            now: now(),
            requested_at: None,
        });
        prop_assert_eq!(status.operation.clone(), None, "journal cleared");
        prop_assert!(matches!(first.verdict, Verdict::InSync | Verdict::Converging));
        let cond = |t: &str| status.conditions.iter().find(|c| c.type_ == t).map_or("-", |c| c.status.as_str());
        prop_assert_eq!(cond("Ready"), "True");
        prop_assert_eq!(cond("Reconciling"), "False");
        prop_assert_eq!(cond("Stalled"), "False");
        prop_assert_eq!(status.observed_generation, Some(GEN));

        let again = plan_for(&spec, &mut model, &status);
        prop_assert!(again.actions.is_empty(), "next plan: {}", again.render());
        prop_assert_eq!(again.verdict, Verdict::InSync);
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
}
