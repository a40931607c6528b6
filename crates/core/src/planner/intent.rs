//! A person's latest intent, looked at right before every platform write of an operation.
//!
//! A plan is made from the object as it was read; an operation then takes seconds (the pause must
//! take effect before the update, a 429 is waited out). A person may change the object meanwhile.
//! Right before each call, the driver compares the latest object it knows (the watch's cache) with
//! the one the plan was made from ([`changed_intent`]) and, when the intent changed, answers the
//! step machine [`super::Outcome::Superseded`] instead of making the call. The step machine then
//! decides what is still owed ([`Steps`](super::Steps)).
//!
//! # Guarantees
//!
//! - A campaign whose latest spec says `runState: Paused` is never resumed by the operation, and
//!   the old spec is not sent to it: the operation stops and the next reconcile plans from the
//!   latest spec.
//! - Once the object is suspended, in Observe mode or being deleted, no new change is sent: the
//!   one call still made is the resume of a campaign the operator itself holds paused (this
//!   operation's pause, or a journal's), so a running campaign is never left paused by us.
//! - A newer spec (generation) is sent instead of the old one: the operation stops where it is
//!   (the journal in status keeps the campaign's debt) and the next reconcile, at once, plans
//!   from the latest spec. A resume after a failure is still made (the latest spec asks it too).

use outbound_api::{Mode, OutboundTaskSpec, RunState};

/// What an object asked for, as far as an operation in flight cares.
#[derive(Clone, Copy, Debug)]
pub struct Intent<'a> {
    pub spec: &'a OutboundTaskSpec,
    /// `metadata.generation`.
    pub generation: i64,
    /// `metadata.deletionTimestamp` is set.
    pub deleting: bool,
}

impl Intent<'_> {
    /// No new change may be sent to the campaign.
    fn hands_off(&self) -> bool {
        self.deleting || self.spec.suspend || self.spec.mode == Mode::Observe
    }

    fn paused(&self) -> bool {
        self.spec.run_state == Some(RunState::Paused)
    }
}

/// How the latest intent differs from the one an operation was planned from (the first that
/// applies, in this order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewIntent {
    /// The latest spec says `runState: Paused` (the plan's did not).
    Paused,
    /// Suspended, Observe mode, being deleted, or gone from the watch's cache.
    HandsOff,
    /// A newer spec (a new generation) that asks for neither of the above.
    NewSpec,
}

impl NewIntent {
    /// The person's change, in a few words (for the Event).
    pub fn describe(self) -> &'static str {
        match self {
            NewIntent::Paused => "spec.runState is now Paused",
            NewIntent::HandsOff => "the object is now suspended, in Observe mode, being deleted or gone",
            NewIntent::NewSpec => "the spec changed (a new generation)",
        }
    }
}

/// The change between the intent a plan was made from and the latest one (`None`: the object is
/// gone from the cache), if any that matters to an operation in flight. Labels, annotations and
/// status are not intent; a requested reconcile does not change what is wanted either.
pub fn changed_intent(planned: &Intent<'_>, latest: Option<&Intent<'_>>) -> Option<NewIntent> {
    let Some(latest) = latest else {
        return Some(NewIntent::HandsOff);
    };
    // Paused first: it forbids the one call hands-off still allows (the resume of a campaign the
    // operator holds paused).
    if latest.paused() && !planned.paused() {
        Some(NewIntent::Paused)
    } else if latest.hands_off() && !planned.hands_off() {
        Some(NewIntent::HandsOff)
    } else if latest.generation != planned.generation {
        Some(NewIntent::NewSpec)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(edit: impl FnOnce(&mut OutboundTaskSpec)) -> OutboundTaskSpec {
        let mut spec = crate::mapping::fixtures::spec();
        edit(&mut spec);
        spec
    }

    fn intent(spec: &OutboundTaskSpec, generation: i64, deleting: bool) -> Intent<'_> {
        Intent {
            spec,
            generation,
            deleting,
        }
    }

    #[test]
    fn the_same_object_changes_nothing() {
        let s = spec(|_| {});
        assert_eq!(changed_intent(&intent(&s, 1, false), Some(&intent(&s, 1, false))), None);
    }

    #[test]
    fn a_pause_suspend_observe_deletion_or_new_spec_is_named() {
        let planned = spec(|s| s.run_state = Some(RunState::Running));
        let paused = spec(|s| s.run_state = Some(RunState::Paused));
        let suspended = spec(|s| s.suspend = true);
        let observe = spec(|s| s.mode = Mode::Observe);
        let p = intent(&planned, 1, false);
        let changed = |latest: Intent<'_>| changed_intent(&p, Some(&latest));
        assert_eq!(changed(intent(&paused, 2, false)), Some(NewIntent::Paused));
        assert_eq!(changed(intent(&suspended, 2, false)), Some(NewIntent::HandsOff));
        assert_eq!(changed(intent(&observe, 2, false)), Some(NewIntent::HandsOff));
        assert_eq!(changed(intent(&planned, 1, true)), Some(NewIntent::HandsOff));
        assert_eq!(changed(intent(&planned, 2, false)), Some(NewIntent::NewSpec));
        assert_eq!(changed_intent(&p, None), Some(NewIntent::HandsOff));
    }

    #[test]
    fn paused_wins_over_hands_off_and_a_state_already_planned_is_no_change() {
        let both = spec(|s| {
            s.run_state = Some(RunState::Paused);
            s.suspend = true;
        });
        let planned = spec(|_| {});
        let p = intent(&planned, 1, false);
        assert_eq!(
            changed_intent(&p, Some(&intent(&both, 2, false))),
            Some(NewIntent::Paused)
        );
        // Planned while suspended (a journal's resume) and still suspended: nothing new.
        let suspended = spec(|s| s.suspend = true);
        let s = intent(&suspended, 3, false);
        assert_eq!(changed_intent(&s, Some(&intent(&suspended, 3, false))), None);
        // Planned for Paused and still Paused, at the same generation.
        let paused = spec(|s| s.run_state = Some(RunState::Paused));
        let q = intent(&paused, 4, false);
        assert_eq!(changed_intent(&q, Some(&intent(&paused, 4, false))), None);
    }
}
