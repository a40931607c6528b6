//! The run state of a task as read (remote-api §3.1).
//!
//! * `status` is preferred when present: 1 -> Paused, 2 -> Running, 3 -> Waiting.
//! * Without `status`, the flag table: `enable` and `call_status` (engine view in
//!   `new_task_extra` first, then the top level): true/true -> Running, true/false (or call_status
//!   missing) -> Waiting, false/false (or missing) -> Paused, false/true -> Unknown ("stopping").
//! * Contradictions are Unknown (do not guess, re-read soon): `status` 1 while a flag says the task
//!   is enabled or calling (a pause still in progress), `status` 2/3 while `enable` is false, an
//!   unknown `status` code, or the two copies of a flag disagreeing when there is no `status`.
//!   Running vs Waiting is not a contradiction: the platform's own example shows `status` 3 with
//!   `call_status` true (the flags are sampled at another moment), so `status` wins there.

use crate::wire::TaskDetail;
use outbound_api::RemoteState;

/// Run state of the task as read; [`RemoteState::Unknown`] when the fields are missing or
/// contradict each other.
pub fn remote_state(d: &TaskDetail) -> RemoteState {
    let engine = d.new_task_extra.as_ref();
    let enables: Vec<bool> = [engine.and_then(|e| e.enable), d.enable]
        .into_iter()
        .flatten()
        .collect();
    let calls: Vec<bool> = [engine.and_then(|e| e.call_status), d.call_status]
        .into_iter()
        .flatten()
        .collect();
    match d.status {
        Some(1) if enables.contains(&true) || calls.contains(&true) => RemoteState::Unknown,
        Some(1) => RemoteState::Paused,
        Some(2 | 3) if enables.contains(&false) => RemoteState::Unknown,
        Some(2) => RemoteState::Running,
        Some(3) => RemoteState::Waiting,
        Some(_) => RemoteState::Unknown,
        None => {
            let agreed = |flags: &[bool]| match flags {
                [] => Ok(None),
                [first, rest @ ..] if rest.iter().all(|f| f == first) => Ok(Some(*first)),
                _ => Err(()),
            };
            match (agreed(&enables), agreed(&calls)) {
                (Ok(Some(true)), Ok(Some(true))) => RemoteState::Running,
                (Ok(Some(true)), Ok(Some(false) | None)) => RemoteState::Waiting,
                (Ok(Some(false)), Ok(Some(false) | None)) => RemoteState::Paused,
                _ => RemoteState::Unknown,
            }
        }
    }
}

/// The state fields as read, for messages: `status=3 enable=true call_status=true`.
pub fn describe_state(d: &TaskDetail) -> String {
    let engine = d.new_task_extra.as_ref();
    let show = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    format!(
        "status={} enable={} call_status={}",
        show(d.status.map(|s| s.to_string())),
        show(engine.and_then(|e| e.enable).or(d.enable).map(|b| b.to_string())),
        show(
            engine
                .and_then(|e| e.call_status)
                .or(d.call_status)
                .map(|b| b.to_string())
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn state(v: serde_json::Value) -> RemoteState {
        remote_state(&serde_json::from_value(v).unwrap())
    }

    #[test]
    fn status_is_preferred() {
        assert_eq!(state(json!({"status": 1})), RemoteState::Paused);
        assert_eq!(state(json!({"status": "2"})), RemoteState::Running);
        assert_eq!(state(json!({"status": 3})), RemoteState::Waiting);
    }

    #[test]
    fn platform_example_status_3_with_calling_flags_is_waiting() {
        let v = json!({"status": 3, "call_status": true, "new_task_extra": {"enable": true, "call_status": true}});
        assert_eq!(state(v), RemoteState::Waiting);
    }

    #[test]
    fn flag_table_without_status() {
        let flags = |e: bool, c: bool| json!({"new_task_extra": {"enable": e, "call_status": c}});
        assert_eq!(state(flags(true, true)), RemoteState::Running);
        assert_eq!(state(flags(true, false)), RemoteState::Waiting);
        assert_eq!(state(flags(false, false)), RemoteState::Paused);
        assert_eq!(state(flags(false, true)), RemoteState::Unknown);
        assert_eq!(state(json!({"enable": 0})), RemoteState::Paused);
    }

    #[test]
    fn contradictions_and_missing_fields_are_unknown() {
        assert_eq!(state(json!({})), RemoteState::Unknown);
        assert_eq!(state(json!({"status": 1, "enable": true})), RemoteState::Unknown);
        assert_eq!(state(json!({"status": 1, "call_status": true})), RemoteState::Unknown);
        assert_eq!(
            state(json!({"status": 2, "new_task_extra": {"enable": false}})),
            RemoteState::Unknown
        );
        assert_eq!(state(json!({"status": 7})), RemoteState::Unknown);
        assert_eq!(
            state(json!({"enable": true, "new_task_extra": {"enable": false}})),
            RemoteState::Unknown
        );
    }

    #[test]
    fn describe_names_the_fields() {
        let d: TaskDetail = serde_json::from_value(json!({"status": 1, "enable": true})).unwrap();
        assert_eq!(describe_state(&d), "status=1 enable=true call_status=-");
    }
}
