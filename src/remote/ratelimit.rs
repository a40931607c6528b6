//! The per-account request budget: a token bucket (governor's GCRA) refilled at
//! `requestsPerSecond` and holding at most `burst` requests. Every HTTP attempt, retries
//! included, takes one cell; waiting callers are released in turn as cells refill.
//!
//! In any window of one second at most `burst + requestsPerSecond` attempts are released (a full
//! bucket plus one second of refill).

use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Jitter, Quota, RateLimiter};

use crate::api::RateLimit;

/// A shared rate limiter; clone the `Arc` that holds it, never the limiter.
pub struct AccountLimiter {
    limiter: DefaultDirectRateLimiter,
    rate: RateLimit,
}

impl AccountLimiter {
    /// A full bucket of `burst` cells refilled at `requests_per_second` (both at least 1).
    pub fn new(rate: &RateLimit) -> Self {
        let rps = NonZeroU32::new(rate.requests_per_second.max(1)).expect("at least 1");
        let burst = NonZeroU32::new(rate.burst.max(1)).expect("at least 1");
        let quota = Quota::per_second(rps).allow_burst(burst);
        AccountLimiter {
            limiter: RateLimiter::direct(quota),
            rate: rate.clone(),
        }
    }

    /// Waits until one request may be sent. A little jitter spreads waiters that would otherwise
    /// wake together on the same refill.
    pub async fn acquire(&self) {
        self.limiter
            .until_ready_with_jitter(Jitter::up_to(Duration::from_millis(2)))
            .await;
    }

    /// Takes a cell if one is free now.
    pub fn try_acquire(&self) -> bool {
        self.limiter.check().is_ok()
    }

    pub fn rate(&self) -> &RateLimit {
        &self.rate
    }
}

impl fmt::Debug for AccountLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountLimiter")
            .field("requests_per_second", &self.rate.requests_per_second)
            .field("burst", &self.rate.burst)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn bucket_holds_burst_then_refills() {
        let limiter = AccountLimiter::new(&RateLimit {
            requests_per_second: 10,
            burst: 3,
        });
        assert!((0..3).all(|_| limiter.try_acquire()));
        assert!(!limiter.try_acquire());
    }

    #[tokio::test]
    async fn acquire_paces_at_the_rate() {
        let limiter = AccountLimiter::new(&RateLimit {
            requests_per_second: 50,
            burst: 1,
        });
        let start = Instant::now();
        for _ in 0..11 {
            limiter.acquire().await;
        }
        // 1 from the bucket, then 10 refills at 20 ms each.
        assert!(start.elapsed() >= Duration::from_millis(190), "{:?}", start.elapsed());
    }
}
