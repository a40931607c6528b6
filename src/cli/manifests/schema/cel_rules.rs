//! The CRD's CEL rules (`x-kubernetes-validations`), evaluated as the API server does: each rule
//! with `self` bound to the value of the field it is declared on (each element, for a rule on a
//! list's items), after defaulting. A rule that is false is reported with its `message`, at that
//! field's path.
//!
//! Transition rules (those reading `oldSelf`: immutability of `spec.taskId` and
//! `spec.accountRef`, ...) compare an update with the stored object; `plan` has no stored object,
//! so they are skipped. The CLI documentation says so.

use std::collections::HashMap;
use std::sync::Arc;

use cel::objects::{Key, Map as CelMap};
use cel::{Context, Program};
use serde_json::Value;

use super::{Violation, properties};

/// The rules of one schema node and of the nodes under it (only the branches that hold rules).
#[derive(Default)]
pub struct Rules {
    here: Vec<Rule>,
    fields: Vec<(String, Rules)>,
    items: Option<Box<Rules>>,
}

struct Rule {
    source: String,
    message: String,
    program: Program,
}

impl Rules {
    /// Compiles every rule under `schema`; a rule that does not compile is an error (of this
    /// binary: the rules come from its own types).
    pub fn compile(schema: &Value) -> anyhow::Result<Self> {
        let mut rules = Rules::default();
        for rule in schema
            .get("x-kubernetes-validations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let source = rule["rule"].as_str().unwrap_or_default().to_string();
            let program =
                Program::compile(&source).map_err(|e| anyhow::anyhow!("compiling the CEL rule {source:?}: {e}"))?;
            if program.references().has_variable("oldSelf") {
                continue; // a transition rule: needs the stored object
            }
            let message = match rule.get("message").and_then(Value::as_str) {
                Some(message) => message.to_string(),
                None => format!("failed rule: {source}"),
            };
            rules.here.push(Rule {
                source,
                message,
                program,
            });
        }
        for (name, property) in properties(schema).into_iter().flatten() {
            let child = Rules::compile(property)?;
            if !child.is_empty() {
                rules.fields.push((name.clone(), child));
            }
        }
        if let Some(items) = schema.get("items") {
            let child = Rules::compile(items)?;
            if !child.is_empty() {
                rules.items = Some(Box::new(child));
            }
        }
        Ok(rules)
    }

    fn is_empty(&self) -> bool {
        self.here.is_empty() && self.fields.is_empty() && self.items.is_none()
    }

    /// The rules `value` breaks.
    pub fn check(&self, value: &Value) -> Vec<Violation> {
        let mut violations = Vec::new();
        self.check_at("", value, &mut violations);
        violations
    }

    fn check_at(&self, path: &str, value: &Value, violations: &mut Vec<Violation>) {
        if !self.here.is_empty() {
            let mut context = Context::default();
            context.add_variable_from_value("self", to_cel(value));
            for rule in &self.here {
                let message = match rule.program.execute(&context) {
                    Ok(cel::Value::Bool(true)) => continue,
                    Ok(cel::Value::Bool(false)) => rule.message.clone(),
                    Ok(other) => format!("the rule {:?} gave {other:?}, not a boolean", rule.source),
                    Err(error) => format!("the rule {:?} could not be evaluated: {error}", rule.source),
                };
                violations.push(Violation {
                    path: path.to_string(),
                    message,
                });
            }
        }
        for (name, rules) in &self.fields {
            if let Some(field) = value.get(name) {
                let path = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                rules.check_at(&path, field, violations);
            }
        }
        if let (Some(rules), Some(items)) = (&self.items, value.as_array()) {
            for (index, item) in items.iter().enumerate() {
                rules.check_at(&format!("{path}[{index}]"), item, violations);
            }
        }
    }
}

/// A JSON value as CEL sees it in Kubernetes: integers are `int`, objects are maps.
fn to_cel(value: &Value) -> cel::Value {
    match value {
        Value::Null => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => cel::Value::Int(i),
            (None, Some(u)) => cel::Value::UInt(u),
            _ => cel::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => cel::Value::String(Arc::new(s.clone())),
        Value::Array(items) => cel::Value::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(fields) => {
            let map: HashMap<Key, cel::Value> = fields
                .iter()
                .map(|(k, v)| (Key::String(Arc::new(k.clone())), to_cel(v)))
                .collect();
            cel::Value::Map(CelMap { map: Arc::new(map) })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(schema: Value) -> Rules {
        Rules::compile(&schema).unwrap()
    }

    fn on_self(rule: &str) -> Rules {
        rules(json!({"x-kubernetes-validations": [{"rule": rule, "message": "broken"}]}))
    }

    /// What the CRD's rules use, as this interpreter evaluates it.
    #[test]
    fn the_functions_the_crd_uses_behave_as_in_kubernetes() {
        let object = json!({"a": 4, "lines": [1, 2], "s": "2024-01-02 00:00:00", "t": "2024-01-01 10:00:00",
                            "d": "1m30s", "short": "500ms"});
        for (rule, holds) in [
            ("has(self.a) && !has(self.b)", true),
            ("size(self.lines) == 2", true),
            ("self.a % size(self.lines) == 0", true),
            ("self.a % 3 == 0", false),
            ("self.s > self.t", true),
            ("self.t > self.s", false),
            ("duration(self.d) >= duration('30s')", true),
            ("duration(self.short) >= duration('5s')", false),
            ("!has(self.c) || self.c != 'ByTime'", true),
        ] {
            let broken = !on_self(rule).check(&object).is_empty();
            assert_eq!(broken, !holds, "{rule}");
        }
    }

    #[test]
    fn rules_on_list_items_and_fields_report_their_path() {
        let schema = json!({"properties": {"spec": {"properties": {"holidays": {"items": {
            "x-kubernetes-validations": [{"rule": "self.end > self.begin", "message": "end must be after begin"}]
        }}}}}});
        let value = json!({"spec": {"holidays": [{"begin": "a", "end": "b"}, {"begin": "b", "end": "a"}]}});
        let violations = rules(schema).check(&value);
        assert_eq!(
            violations,
            vec![Violation {
                path: "spec.holidays[1]".into(),
                message: "end must be after begin".into()
            }]
        );
    }

    /// Every rule of the generated CRDs is checked, or is a transition rule: a rule declared where
    /// the walk does not go (under `additionalProperties`, say) would otherwise be dropped
    /// silently.
    #[test]
    fn every_rule_of_the_crds_is_checked_or_is_a_transition_rule() {
        use kube::CustomResourceExt;
        fn count(rules: &Rules) -> usize {
            rules.here.len()
                + rules.fields.iter().map(|(_, r)| count(r)).sum::<usize>()
                + rules.items.as_ref().map_or(0, |r| count(r))
        }
        fn declared(value: &Value, transition: bool) -> usize {
            let here = value
                .get("x-kubernetes-validations")
                .and_then(Value::as_array)
                .map_or(0, |rules| {
                    rules
                        .iter()
                        .filter(|r| r["rule"].as_str().unwrap().contains("oldSelf") == transition)
                        .count()
                });
            let below: usize = match value {
                Value::Object(fields) => fields.values().map(|v| declared(v, transition)).sum(),
                Value::Array(items) => items.iter().map(|v| declared(v, transition)).sum(),
                _ => 0,
            };
            here + below
        }
        let mut checked = 0;
        for crd in [outbound_api::OutboundAccount::crd(), outbound_api::OutboundTask::crd()] {
            let crd = serde_json::to_value(crd).unwrap();
            let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
            let rules = Rules::compile(schema).unwrap();
            assert_eq!(count(&rules), declared(schema, false), "{}", crd["metadata"]["name"]);
            checked += count(&rules);
        }
        assert!(checked >= 10, "the CRDs' rules: {checked}");
    }

    #[test]
    fn transition_rules_are_skipped() {
        let rules = on_self("self == oldSelf");
        assert!(rules.is_empty());
        assert!(rules.check(&json!("x")).is_empty());
    }

    #[test]
    fn an_evaluation_error_is_a_violation() {
        let violations = on_self("self.a > 1").check(&json!("not an object"));
        assert_eq!(violations.len(), 1);
        assert!(
            violations[0].message.contains("could not be evaluated"),
            "{violations:?}"
        );
    }
}
