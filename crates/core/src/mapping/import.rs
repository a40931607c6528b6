//! From a task as read to the `spec.task` that declares it exactly (`kubectl outbound import`).
//!
//! The observed side of the comparison ([`observed_fields`]) is already in CRD terms: CRD keys,
//! enum names, normalised date-times. So the draft of `spec.task` is that [`FieldSet`] placed at
//! each field's path, and the operator compares what it will read with exactly what the draft
//! declares: one mapping from the wire to the CRD, not a second one that could disagree.
//!
//! What the draft leaves out: unset values (`null`: an unset id, an empty remark), and empty
//! lists of optional list fields (they would only add `[]` noise; an unset list is not owned).
//! Whatever it cannot say (an unknown enum code, a value out of the CRD's range) is for the caller
//! to find by decoding the draft and to drop with [`remove_field`], reporting it.

use serde_json::{Map, Value};

use super::{Field, FieldSet, TASK_TYPE_OLD_2_0, observed_fields};
use crate::wire::TaskDetail;

/// Optional list fields: empty as read, they are left out of the draft.
const OPTIONAL_LISTS: [Field; 7] = [
    Field::WorkWeek,
    Field::WorkHours,
    Field::ScriptsByTime,
    Field::ScriptsByVariable,
    Field::RedialOnOutcomes,
    Field::LegacyGroupSwitchRules,
    Field::LegacyCallRules,
];

/// Fields a spec always owns (`spec.task` requires them, or, for `lines` and `holidays`, always
/// sends them): a task without a usable value for one cannot be imported.
pub const ALWAYS_OWNED: [Field; 7] = [
    Field::Name,
    Field::ScriptGroupId,
    Field::MaxConcurrency,
    Field::DialTimeGroupId,
    Field::StartTime,
    Field::Holidays,
    Field::Lines,
];

/// The `spec.task` object a task as read maps to, and what the draft chose where the platform
/// gave no value.
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    /// `spec.task`, as JSON in CRD terms.
    pub task: Value,
    /// Values the draft had to choose (one line each, naming the field).
    pub notes: Vec<String>,
}

/// The draft of `spec.task` for the task `d` as read.
pub fn draft(d: &TaskDetail) -> Draft {
    draft_of(&observed_fields(d))
}

/// [`draft`] from the observed fields.
pub fn draft_of(observed: &FieldSet) -> Draft {
    let mut task = Value::Object(Map::new());
    let mut notes = Vec::new();
    for (field, value) in observed.iter() {
        let empty_list = value.as_array().is_some_and(Vec::is_empty);
        if value.is_null() || (empty_list && OPTIONAL_LISTS.contains(&field)) {
            continue;
        }
        let value = match field {
            Field::Lines => lines_with_limits(value, observed, &mut notes),
            _ => value.clone(),
        };
        *slot(&mut task, field) = value;
    }
    Draft { task, notes }
}

/// Removes `field` from a draft's `spec.task`, returning its value (`None`: it was not there).
/// A parent object left empty (`redial: {}`) says nothing and goes too.
pub fn remove_field(task: &mut Value, field: Field) -> Option<Value> {
    let keys: Vec<&str> = relative_path(field).split('.').collect();
    let (last, parents) = keys.split_last()?;
    let mut object = &mut *task;
    for key in parents {
        object = object.get_mut(*key)?;
    }
    let removed = object.as_object_mut()?.remove(*last);
    if let Some(parent) = parents.first()
        && task[*parent].as_object().is_some_and(Map::is_empty)
        && let Some(fields) = task.as_object_mut()
    {
        fields.remove(*parent);
    }
    removed
}

/// The field whose path is `path` or holds it (`spec.task.lines[0].limit` is in `lines`).
pub fn field_of_path(path: &str) -> Option<Field> {
    Field::ALL
        .into_iter()
        .filter(|f| {
            let own = f.path();
            path == own || path.strip_prefix(own).is_some_and(|rest| rest.starts_with(['.', '[']))
        })
        .max_by_key(|f| f.path().len())
}

/// Lines read as bare ids (old 2.0 tasks) have no limit, which the CRD requires: each gets
/// `maxConcurrency / lines`. Limits of such lines are neither compared nor, for old 2.0 tasks,
/// sent, so the choice changes nothing on the platform; it is noted all the same.
fn lines_with_limits(lines: &Value, observed: &FieldSet, notes: &mut Vec<String>) -> Value {
    let Some(items) = lines.as_array() else {
        return lines.clone();
    };
    if items.iter().all(|line| line.get("limit").is_some()) {
        return lines.clone();
    }
    let total = observed.get(Field::MaxConcurrency).and_then(Value::as_i64).unwrap_or(0);
    let share = (total / items.len() as i64).max(1);
    let old = observed.get(Field::TaskType).and_then(Value::as_i64) == Some(i64::from(TASK_TYPE_OLD_2_0));
    let why = if old {
        "an old 2.0 task: its limits are neither sent nor compared"
    } else {
        "their limits are not compared"
    };
    notes.push(format!(
        "{}: the platform reports no per-line limit; each is set to maxConcurrency / lines = {share} ({why})",
        Field::Lines.path()
    ));
    items
        .iter()
        .map(|line| {
            let mut line = line.clone();
            if let Some(object) = line.as_object_mut() {
                object.entry("limit").or_insert(share.into());
            }
            line
        })
        .collect()
}

/// `schedule.startTime` for `spec.task.schedule.startTime`.
fn relative_path(field: Field) -> &'static str {
    field
        .path()
        .strip_prefix("spec.task.")
        .expect("every field is under spec.task")
}

/// The place of `field` in `task`, made on the way.
fn slot(task: &mut Value, field: Field) -> &mut Value {
    let mut place = task;
    for key in relative_path(field).split('.') {
        if !place.is_object() {
            *place = Value::Object(Map::new());
        }
        place = place
            .as_object_mut()
            .expect("made an object above")
            .entry(key)
            .or_insert(Value::Null);
    }
    place
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::diff::diff;
    use crate::mapping::desired_fields;
    use crate::mapping::fixtures::{detail, echo, spec};
    use outbound_api::TaskSettings;

    fn settings(draft: &Draft) -> TaskSettings {
        serde_json::from_value(draft.task.clone()).expect("the draft decodes as spec.task")
    }

    #[test]
    fn the_draft_of_a_task_declares_exactly_what_is_read() {
        let read = echo(&spec(), 2);
        let draft = draft(&read);
        let declared = settings(&draft);
        assert_eq!(diff(&desired_fields(&declared), &observed_fields(&read)), []);
        // Everything the platform reported is owned (only unset values and empty optional lists are
        // left out).
        let owned: Vec<Field> = desired_fields(&declared).fields().collect();
        let reported: Vec<Field> = observed_fields(&read)
            .iter()
            .filter(|(f, v)| {
                !v.is_null() && (v.as_array().is_none_or(|a| !a.is_empty()) || !OPTIONAL_LISTS.contains(f))
            })
            .map(|(f, _)| f)
            .collect();
        assert_eq!(owned, reported);
        // In the platform's order of priority (equal to the spec's rules, compared by priority).
        let priorities: Vec<i32> = declared
            .scripts_by_variable
            .iter()
            .flatten()
            .map(|r| r.priority)
            .collect();
        assert_eq!(priorities, [0, 1]);
        assert!(draft.notes.is_empty(), "{:?}", draft.notes);
    }

    #[test]
    fn bare_line_ids_of_an_old_task_get_the_even_share_and_a_note() {
        let read = detail(json!({
            "name": "old", "task_type": 6, "destination_extension": "5", "maximumcall": 4,
            "dial_time_id": 3, "status": 1,
            "task_extras": {"start_time": "2025-01-01 08:00:00", "line": ["a", "b"]},
        }));
        let draft = draft(&read);
        let declared = settings(&draft);
        assert_eq!(declared.lines.iter().map(|l| l.limit).collect::<Vec<_>>(), [2, 2]);
        assert_eq!(diff(&desired_fields(&declared), &observed_fields(&read)), []);
        assert!(draft.notes[0].starts_with("spec.task.lines: "), "{:?}", draft.notes);
    }

    #[test]
    fn unknown_codes_stay_in_the_draft_for_the_caller_to_find_and_remove() {
        let read = detail(json!({
            "name": "n", "destination_extension": 5, "maximumcall": 1, "dial_time_id": 3,
            "end_action": 9, "task_extras": {"start_time": "2025-01-01 08:00:00", "redial_enabled": 1},
        }));
        let mut draft = draft(&read);
        let error = serde_path_to_error::deserialize::<_, TaskSettings>(&draft.task).unwrap_err();
        assert_eq!(
            field_of_path(&format!("spec.task.{}", error.path())),
            Some(Field::EndAction)
        );
        assert_eq!(remove_field(&mut draft.task, Field::EndAction), Some(json!(9)));
        settings(&draft);
        assert_eq!(remove_field(&mut draft.task, Field::RedialEnabled), Some(json!(true)));
        assert_eq!(
            remove_field(&mut draft.task, Field::RedialFreshNumbersFirst),
            Some(json!(false))
        );
        assert_eq!(draft.task.get("redial"), None, "an emptied parent goes too");
    }

    #[test]
    fn paths_map_to_the_innermost_field() {
        assert_eq!(field_of_path("spec.task.lines[0].limit"), Some(Field::Lines));
        assert_eq!(
            field_of_path("spec.task.redial.onOutcomes"),
            Some(Field::RedialOnOutcomes)
        );
        assert_eq!(field_of_path("spec.task.namex"), None);
        assert_eq!(field_of_path("spec.taskId"), None);
    }
}
