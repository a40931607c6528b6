//! Test fixtures shared by the unit tests of the functional core and (feature `fixtures`) of the
//! operator.

use serde_json::{Value, json};

use super::{Carried, update_body};
use crate::wire::TaskDetail;
use outbound_api::OutboundTaskSpec;

/// The example of docs/design/api.md, without `runState`.
pub fn spec() -> OutboundTaskSpec {
    serde_yaml::from_str(
        r#"
accountRef: {name: main}
taskId: f232d184-dd54-42a0-8ace-0bf8d660f4cc
task:
  name: spring-campaign
  scriptGroupId: 123
  scriptSelection: ByVariable
  maxConcurrency: 2
  dialTimeGroupId: 123
  backgroundSoundId: 123
  llmIntentionId: 123
  scoreSchemeId: 123
  schedule: {startTime: "2024-12-23 19:00:00", stopTime: "2025-12-25 23:59:59"}
  lines: [{id: d47c3599-f166-4cd0-999c-f60e46814d26, limit: 2}]
  numberOrder: Sequential
  scriptsByVariable:
    - {match: EqualsAny, values: ["男", "男的"], scriptGroupId: 11, priority: 1}
    - {match: ContainsAny, values: ["女", "女性"], scriptGroupId: 12, priority: 0}
  redial: {enabled: false, intervalMinutes: 3, maxAttempts: 3,
           onOutcomes: [CarrierBlocked, Rejected, NoAnswer, PoweredOff, Busy, CallsRestricted, BlockedByUser]}
"#,
    )
    .expect("fixture spec parses")
}

/// The detail response of a platform that stored exactly what `spec` sends (nothing carried
/// over), in `status`.
pub fn echo_json(spec: &OutboundTaskSpec, status: i64) -> Value {
    let mut v = serde_json::to_value(update_body(spec, &Carried::default())).expect("body serialises");
    let obj = v.as_object_mut().expect("object");
    obj.remove("sub_user_id");
    obj.insert("status".into(), json!(status));
    v
}

pub fn echo(spec: &OutboundTaskSpec, status: i64) -> TaskDetail {
    detail(echo_json(spec, status))
}

pub fn detail(v: Value) -> TaskDetail {
    serde_json::from_value(v).expect("detail decodes")
}
