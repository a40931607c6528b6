//! How long an account's pauses take to take effect, learned from the operations: the wait
//! between a pause and the update that follows it. Pure: the driver reports what it saw.
//!
//! An update sent too soon is answered 6007 and costs a call of the budget; one sent too late
//! keeps the campaign paused for nothing. So: after an update that had to be retried, the wait
//! becomes the time the update needed (an upper bound of the pause's latency); after one that
//! went through at once, it shrinks by 1%, probing for a faster platform. At a steady latency
//! that costs one retried update in a few dozen operations.

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

    /// An update went through `took` after its pause succeeded (the wait included), after
    /// `refused` answers 6007.
    pub fn update_went_through(&mut self, took: Duration, refused: u32) {
        self.wait = if refused > 0 {
            took.min(MAX_STARTED_RETRY_INTERVAL)
        } else {
            self.wait.mul_f64(0.99)
        };
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
    fn learns_the_latency_from_a_retried_update_then_probes_down() {
        let mut settle = PauseSettle::default();
        assert_eq!(settle.wait(), Duration::ZERO);
        settle.update_went_through(1250 * MS, 2);
        assert_eq!(settle.wait(), 1250 * MS);
        settle.update_went_through(1250 * MS, 0);
        assert_eq!(settle.wait(), Duration::from_micros(1_237_500));
        settle.update_went_through(Duration::from_secs(60), 1);
        assert_eq!(settle.wait(), MAX_STARTED_RETRY_INTERVAL, "bounded");
    }

    #[test]
    fn a_platform_without_delay_costs_no_wait() {
        let mut settle = PauseSettle::default();
        for _ in 0..10 {
            settle.update_went_through(5 * MS, 0);
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
