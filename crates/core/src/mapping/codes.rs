//! The platform's numeric codes of the CRD's enums, both ways. Unknown codes read back from the
//! platform have no name: the observed form keeps them as numbers, so they show up as drift.

use outbound_api::{EndAction, MultiScriptOrder, NumberOrder, ScriptSelection, VariableMatch};

/// `is_group_switch`: Unified=0, ByTime=1, ByVariable=2, MultiScript=3.
pub fn script_selection(v: ScriptSelection) -> i32 {
    match v {
        ScriptSelection::Unified => 0,
        ScriptSelection::ByTime => 1,
        ScriptSelection::ByVariable => 2,
        ScriptSelection::MultiScript => 3,
    }
}

pub fn script_selection_from(code: i64) -> Option<ScriptSelection> {
    [
        ScriptSelection::Unified,
        ScriptSelection::ByTime,
        ScriptSelection::ByVariable,
        ScriptSelection::MultiScript,
    ]
    .into_iter()
    .find(|v| i64::from(script_selection(*v)) == code)
}

/// `end_action`: None=0, PauseAndRelease=1.
pub fn end_action(v: EndAction) -> i32 {
    match v {
        EndAction::None => 0,
        EndAction::PauseAndRelease => 1,
    }
}

pub fn end_action_from(code: i64) -> Option<EndAction> {
    [EndAction::None, EndAction::PauseAndRelease]
        .into_iter()
        .find(|v| i64::from(end_action(*v)) == code)
}

/// `pop_mode`: Random=0, Sequential=1, Reverse=2.
pub fn number_order(v: NumberOrder) -> i32 {
    match v {
        NumberOrder::Random => 0,
        NumberOrder::Sequential => 1,
        NumberOrder::Reverse => 2,
    }
}

pub fn number_order_from(code: i64) -> Option<NumberOrder> {
    [NumberOrder::Random, NumberOrder::Sequential, NumberOrder::Reverse]
        .into_iter()
        .find(|v| i64::from(number_order(*v)) == code)
}

/// `mode` of a by-variable rule: ContainsAny=0, EqualsAny=1.
pub fn variable_match(v: VariableMatch) -> i32 {
    match v {
        VariableMatch::ContainsAny => 0,
        VariableMatch::EqualsAny => 1,
    }
}

pub fn variable_match_from(code: i64) -> Option<VariableMatch> {
    [VariableMatch::ContainsAny, VariableMatch::EqualsAny]
        .into_iter()
        .find(|v| i64::from(variable_match(*v)) == code)
}

/// `dial_mode` of a multi-script config: RoundRobin=0, Random=1.
pub fn multi_script_order(v: MultiScriptOrder) -> i32 {
    match v {
        MultiScriptOrder::RoundRobin => 0,
        MultiScriptOrder::Random => 1,
    }
}

pub fn multi_script_order_from(code: i64) -> Option<MultiScriptOrder> {
    [MultiScriptOrder::RoundRobin, MultiScriptOrder::Random]
        .into_iter()
        .find(|v| i64::from(multi_script_order(*v)) == code)
}

/// The CRD name of an enum value (its serde name), as a JSON string.
pub fn name<T: serde::Serialize>(v: T) -> serde_json::Value {
    serde_json::to_value(v).expect("unit enum variants serialise to strings")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for v in [
            ScriptSelection::Unified,
            ScriptSelection::ByTime,
            ScriptSelection::ByVariable,
            ScriptSelection::MultiScript,
        ] {
            assert_eq!(script_selection_from(script_selection(v).into()), Some(v));
        }
        for v in [NumberOrder::Random, NumberOrder::Sequential, NumberOrder::Reverse] {
            assert_eq!(number_order_from(number_order(v).into()), Some(v));
        }
        for v in [EndAction::None, EndAction::PauseAndRelease] {
            assert_eq!(end_action_from(end_action(v).into()), Some(v));
        }
        for v in [VariableMatch::ContainsAny, VariableMatch::EqualsAny] {
            assert_eq!(variable_match_from(variable_match(v).into()), Some(v));
        }
        for v in [MultiScriptOrder::RoundRobin, MultiScriptOrder::Random] {
            assert_eq!(multi_script_order_from(multi_script_order(v).into()), Some(v));
        }
        assert_eq!(script_selection_from(9), None);
        assert_eq!(name(NumberOrder::Sequential), serde_json::json!("Sequential"));
    }
}
