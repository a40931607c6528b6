//! Field-level differences between what the spec owns and what the platform holds.
//!
//! Only the fields present in the desired [`FieldSet`] are compared (fields the spec leaves unset
//! are not, so console edits of unmanaged fields are not fought), and only when the platform
//! reports them. Values are the normalised CRD-shaped values of [`crate::mapping::comparable`].

use serde_json::Value;

use crate::mapping::{Field, FieldSet};
use outbound_api::DriftEntry;

/// At most this many entries go to `status.drift`.
pub const MAX_DRIFT_ENTRIES: usize = 20;
/// Displayed values are cut to this many characters (ellipsis included).
pub const MAX_VALUE_CHARS: usize = 60;

/// One field whose observed value differs from the desired one.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    pub field: Field,
    /// Normalised desired value.
    pub desired: Value,
    /// Normalised observed value (`null` = unset on the platform).
    pub observed: Value,
}

impl Difference {
    /// CRD path of the field, e.g. `spec.task.maxConcurrency`.
    pub fn path(&self) -> &'static str {
        self.field.path()
    }

    /// The entry for `status.drift`, values shortened.
    pub fn to_drift_entry(&self) -> DriftEntry {
        DriftEntry {
            field: self.path().into(),
            desired: display(&self.desired),
            observed: display(&self.observed),
        }
    }
}

impl std::fmt::Display for Difference {
    /// `spec.task.maxConcurrency: 4 -> 2` (observed -> desired).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} -> {}",
            self.path(),
            display(&self.observed),
            display(&self.desired)
        )
    }
}

/// The differences, in field order.
pub fn diff(desired: &FieldSet, observed: &FieldSet) -> Vec<Difference> {
    desired
        .iter()
        .filter_map(|(field, want)| {
            let have = observed.get(field)?; // not reported by the platform: not compared
            (!equivalent(field, want, have)).then(|| Difference {
                field,
                desired: want.clone(),
                observed: have.clone(),
            })
        })
        .collect()
}

/// Whether two normalised values of `field` mean the same. Plain equality, except for lines: a
/// line read (or sent) as a bare id carries no limit, so its limit is not compared.
pub fn equivalent(field: Field, desired: &Value, observed: &Value) -> bool {
    match (field, desired, observed) {
        (Field::Lines, Value::Array(want), Value::Array(have)) => {
            want.len() == have.len()
                && want.iter().zip(have).all(|(w, h)| {
                    w.get("id") == h.get("id")
                        && match (w.get("limit"), h.get("limit")) {
                            (Some(a), Some(b)) => a == b,
                            _ => true,
                        }
                })
        }
        _ => desired == observed,
    }
}

/// `status.drift`: the first [`MAX_DRIFT_ENTRIES`] differences, values shortened.
pub fn drift_entries(diffs: &[Difference]) -> Vec<DriftEntry> {
    diffs
        .iter()
        .take(MAX_DRIFT_ENTRIES)
        .map(Difference::to_drift_entry)
        .collect()
}

/// A stable fingerprint of a set of differences (fields and full values): FNV-1a 64 over a
/// canonical text, as 16 hex digits. Same differences, same fingerprint, across runs and builds.
pub fn fingerprint(diffs: &[Difference]) -> String {
    let mut parts: Vec<String> = diffs
        .iter()
        .map(|d| format!("{}\u{1f}{}\u{1f}{}", d.path(), d.desired, d.observed))
        .collect();
    parts.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in parts.join("\u{1e}").bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The human rendering used by `outbound-operator plan`: one line per difference,
/// `  ~ spec.task.maxConcurrency: 4 -> 2` (`+` when the platform has the field unset). Values are
/// whole: a reviewer must see what will be sent, and in a list the differing element is often
/// past any cut (`status.drift`, bounded in size, is where values are shortened).
pub fn render(diffs: &[Difference]) -> String {
    diffs
        .iter()
        .map(|d| {
            let sign = if d.observed.is_null() { '+' } else { '~' };
            format!(
                "  {sign} {}: {} -> {}\n",
                d.path(),
                display_whole(&d.observed),
                display_whole(&d.desired)
            )
        })
        .collect()
}

/// A value for people, whole: `(unset)` for null, compact JSON otherwise.
pub fn display_whole(v: &Value) -> String {
    match v {
        Value::Null => "(unset)".into(),
        v => v.to_string(),
    }
}

/// The paths of the differing fields, comma-separated (for messages and events).
pub fn field_list(diffs: &[Difference]) -> String {
    diffs.iter().map(Difference::path).collect::<Vec<_>>().join(", ")
}

/// A value for people: `(unset)` for null, compact JSON otherwise, at most [`MAX_VALUE_CHARS`]
/// characters with an ellipsis.
pub fn display(v: &Value) -> String {
    match v {
        Value::Null => "(unset)".into(),
        v => shorten(&v.to_string(), MAX_VALUE_CHARS),
    }
}

/// `s` cut to `max` characters, the last one an ellipsis when cut.
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(items: &[(Field, Value)]) -> FieldSet {
        items.iter().cloned().collect()
    }

    #[test]
    fn fields_the_spec_leaves_unset_are_not_compared() {
        let desired = set(&[(Field::MaxConcurrency, json!(2))]);
        let observed = set(&[
            (Field::MaxConcurrency, json!(2)),
            (Field::Remark, json!("console edit")),
        ]);
        assert!(diff(&desired, &observed).is_empty());
    }

    #[test]
    fn fields_the_platform_does_not_report_are_not_compared() {
        let desired = set(&[(Field::TaskType, json!(7))]);
        assert!(diff(&desired, &FieldSet::new()).is_empty());
    }

    #[test]
    fn unset_on_the_platform_is_a_difference_for_a_set_field() {
        let desired = set(&[(Field::BackgroundSoundId, json!(5))]);
        let observed = set(&[(Field::BackgroundSoundId, Value::Null)]);
        let d = diff(&desired, &observed);
        assert_eq!(d.len(), 1);
        assert_eq!(render(&d), "  + spec.task.backgroundSoundId: (unset) -> 5\n");
    }

    #[test]
    fn rendering_shows_observed_then_desired() {
        let d = diff(
            &set(&[(Field::MaxConcurrency, json!(2))]),
            &set(&[(Field::MaxConcurrency, json!(4))]),
        );
        assert_eq!(render(&d), "  ~ spec.task.maxConcurrency: 4 -> 2\n");
        assert_eq!(
            d[0].to_drift_entry(),
            DriftEntry {
                field: "spec.task.maxConcurrency".into(),
                desired: "2".into(),
                observed: "4".into()
            }
        );
    }

    #[test]
    fn line_limits_are_compared_only_when_both_sides_carry_them() {
        let want = json!([{"id": "a", "limit": 2}]);
        assert!(equivalent(Field::Lines, &want, &json!([{"id": "a"}])));
        assert!(!equivalent(Field::Lines, &want, &json!([{"id": "a", "limit": 3}])));
        assert!(!equivalent(Field::Lines, &want, &json!([{"id": "b"}])));
        assert!(!equivalent(Field::Lines, &want, &json!([])));
    }

    #[test]
    fn the_plan_rendering_never_shortens_values() {
        let long: Vec<Value> = (0..10)
            .map(|i| json!({"id": format!("line-{i}"), "limit": i}))
            .collect();
        let d = Difference {
            field: Field::Lines,
            desired: Value::Array(long.clone()),
            observed: Value::Null,
        };
        let text = render(std::slice::from_ref(&d));
        assert_eq!(
            text,
            format!("  + spec.task.lines: (unset) -> {}\n", Value::Array(long))
        );
        assert!(d.to_drift_entry().desired.ends_with('…'), "status.drift stays bounded");
    }

    #[test]
    fn values_are_shortened_to_60_chars_with_an_ellipsis() {
        let long = json!("x".repeat(200));
        let shown = display(&long);
        assert_eq!(shown.chars().count(), MAX_VALUE_CHARS);
        assert!(shown.ends_with('…'));
        assert_eq!(shorten("中文字符", 3), "中文…");
    }

    #[test]
    fn drift_is_capped_at_20_entries() {
        let diffs: Vec<Difference> = (0..30)
            .map(|i| Difference {
                field: Field::Name,
                desired: json!(i),
                observed: Value::Null,
            })
            .collect();
        assert_eq!(drift_entries(&diffs).len(), MAX_DRIFT_ENTRIES);
    }

    #[test]
    fn fingerprint_is_stable_and_order_independent() {
        let a = Difference {
            field: Field::Name,
            desired: json!("a"),
            observed: json!("b"),
        };
        let b = Difference {
            field: Field::MaxConcurrency,
            desired: json!(2),
            observed: json!(4),
        };
        assert_eq!(
            fingerprint(&[a.clone(), b.clone()]),
            fingerprint(&[b.clone(), a.clone()])
        );
        assert_ne!(fingerprint(std::slice::from_ref(&a)), fingerprint(&[b]));
        assert_eq!(fingerprint(&[a]).len(), 16);
        // A fixed value: the fingerprint is persisted in status, so it must not change between builds.
        assert_eq!(fingerprint(&[]), "cbf29ce484222325");
    }
}
