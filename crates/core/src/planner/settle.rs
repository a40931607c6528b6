//! How long an account's pauses take to take effect, learned from the operations: the wait
//! between a pause and the update that follows it. Pure: the driver reports what it saw.
//!
//! An update sent too soon is answered 6007 and costs a call of the budget; one sent too late
//! keeps the campaign paused for nothing. So: an update refused `t` after its pause (measured
//! when the refusal came back, so later than the platform looked) raises the wait at once to
//! 10% more than `t`, and every operation still waiting for its pause reads the new wait when it
//! wakes ([`super::Effect::AwaitPause`]), so one refusal teaches the others instead of each of
//! them being refused in turn. After an update that went through at its first attempt, the wait
//! shrinks by 0.05%, probing slowly for a faster platform: when it falls below the pause's
//! latency, the first update sent too soon is refused and raises it for the rest.

use std::time::Duration;

use super::recovery::MAX_STARTED_RETRY_INTERVAL;

/// The learned wait of one account; zero until an update is answered 6007.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PauseSettle {
    wait: Duration,
}

impl PauseSettle {
    /// How long to wait after a pause before sending the update.
    pub fn wait(&self) -> Duration {
        self.wait
    }

    /// An update was answered 6007 `answered` after its pause succeeded: the pause takes longer.
    pub fn update_refused(&mut self, answered: Duration) {
        self.wait = self.wait.max(answered.mul_f64(1.1)).min(MAX_STARTED_RETRY_INTERVAL);
    }

    /// An update went through at its first attempt: probe for a shorter wait.
    pub fn update_went_through_at_once(&mut self) {
        self.wait = self.wait.mul_f64(0.9995);
    }

    /// The update was still refused after `waited` (every retry used up): wait at least that
    /// long next time.
    pub fn update_gave_up(&mut self, waited: Duration) {
        self.wait = self.wait.max(waited).min(MAX_STARTED_RETRY_INTERVAL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_refusal_raises_the_wait_at_once_then_it_probes_down() {
        let mut settle = PauseSettle::default();
        assert_eq!(settle.wait(), Duration::ZERO);
        settle.update_refused(250 * MS);
        assert_eq!(settle.wait(), 275 * MS);
        settle.update_refused(1000 * MS);
        assert_eq!(settle.wait(), 1100 * MS);
        // Refused after a shorter wait than the one learned since (sent before it was): no step back.
        settle.update_refused(900 * MS);
        assert_eq!(settle.wait(), 1100 * MS);
        settle.update_went_through_at_once();
        assert_eq!(settle.wait(), Duration::from_micros(1_099_450));
        settle.update_refused(Duration::from_secs(60));
        assert_eq!(settle.wait(), MAX_STARTED_RETRY_INTERVAL, "bounded");
    }

    #[test]
    fn a_platform_without_delay_costs_no_wait() {
        let mut settle = PauseSettle::default();
        for _ in 0..10 {
            settle.update_went_through_at_once();
        }
        assert_eq!(settle.wait(), Duration::ZERO);
    }

    #[test]
    fn giving_up_makes_the_next_operation_wait_longer() {
        let mut settle = PauseSettle::default();
        settle.update_gave_up(5750 * MS);
        assert_eq!(settle.wait(), 5750 * MS);
        settle.update_gave_up(MS);
        assert_eq!(settle.wait(), 5750 * MS);
    }
}
