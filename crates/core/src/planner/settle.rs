//! How long an account's pauses take to take effect, learned from the operations: the wait
//! between a pause and the update that follows it. Pure: the driver reports what it saw.
//!
//! An update sent too soon is answered 6007 and costs a call of the budget; one sent too late
//! keeps the campaign paused for nothing. So: after an update that was refused, the wait becomes
//! 10% more than the latest moment (after the pause) at which an update was still refused, at
//! most the moment the one that went through was sent; after one that went through at once, the
//! wait shrinks by 0.05%, probing slowly for a faster platform. Slowly, because many operations
//! wait at once: when the wait falls below the pause's latency, every operation already waiting
//! is refused once before the first refusal raises it. At a steady latency that costs about one
//! refused update in twenty or thirty operations.

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

    /// An update went through when sent `sent` after its pause succeeded; `last_refused`: when
    /// the latest one refused 6007 in the same operation was sent, if any.
    pub fn update_went_through(&mut self, sent: Duration, last_refused: Option<Duration>) {
        self.wait = match last_refused {
            Some(refused) => self
                .wait
                .max(refused.mul_f64(1.1).min(sent))
                .min(MAX_STARTED_RETRY_INTERVAL),
            None => self.wait.mul_f64(0.9995),
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
    fn learns_the_latency_from_a_refused_update_then_probes_down() {
        let mut settle = PauseSettle::default();
        assert_eq!(settle.wait(), Duration::ZERO);
        // Refused at 0 and at 250 ms, through at 750 ms: the latency is in (250, 750].
        settle.update_went_through(750 * MS, Some(250 * MS));
        assert_eq!(settle.wait(), 275 * MS);
        settle.update_went_through(1250 * MS, Some(1000 * MS));
        assert_eq!(settle.wait(), 1100 * MS);
        // Refused at a shorter wait than the one learned since: no step back.
        settle.update_went_through(1200 * MS, Some(900 * MS));
        assert_eq!(settle.wait(), 1100 * MS);
        settle.update_went_through(1100 * MS, None);
        assert_eq!(settle.wait(), Duration::from_micros(1_099_450));
        // Never beyond the moment an update went through.
        let mut settle = PauseSettle::default();
        settle.update_went_through(1010 * MS, Some(1000 * MS));
        assert_eq!(settle.wait(), 1010 * MS);
        settle.update_went_through(Duration::from_secs(60), Some(Duration::from_secs(59)));
        assert_eq!(settle.wait(), MAX_STARTED_RETRY_INTERVAL, "bounded");
    }

    #[test]
    fn a_platform_without_delay_costs_no_wait() {
        let mut settle = PauseSettle::default();
        for _ in 0..10 {
            settle.update_went_through(5 * MS, None);
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
