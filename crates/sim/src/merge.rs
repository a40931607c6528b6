//! RFC 7386 JSON merge patch, for out-of-band edits of a task's stored config.

use serde_json::Value;

/// RFC 7386 JSON merge patch.
pub(crate) fn merge_patch(target: &mut Value, patch: Value) {
    let Value::Object(patch) = patch else {
        *target = patch;
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    let Value::Object(target) = target else {
        unreachable!("target was just made an object");
    };
    for (key, value) in patch {
        if value.is_null() {
            target.remove(&key);
        } else {
            merge_patch(target.entry(key).or_insert(Value::Null), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_is_deep_and_null_deletes() {
        let mut config = json!({"maximumcall": 2, "remark": "r", "task_extras": {"pop_mode": 1, "line": []}});
        merge_patch(
            &mut config,
            json!({"maximumcall": 4, "remark": null, "task_extras": {"pop_mode": 0}}),
        );
        assert_eq!(
            config,
            json!({"maximumcall": 4, "task_extras": {"pop_mode": 0, "line": []}})
        );
    }
}
