//! The per-account request budget, shared by every task of the account. Every HTTP attempt,
//! retries included, takes one cell.
//!
//! Semantics (`spec.rateLimit`): with `burst: 1` (the default) the cells are
//! `(1 s + GUARD + LATE) / requestsPerSecond` apart, and any `requestsPerSecond + 1` consecutive
//! calls span at least `1 s + GUARD`, so no window of one second ever holds more than
//! `requestsPerSecond` calls, even after up to [`GUARD`] (40 ms) of jitter between the operator
//! and the platform. A call that takes its cell up to [`LATE`] after it fell due (a timer's
//! rounding, a busy thread) keeps the cells after it where they were instead of pushing them all
//! back: that lateness is what `LATE` pays for, so the guard left for the jitter stays 40 ms. A
//! `burst` B above 1 is an explicit choice: after an idle spell B calls go at once, so one second
//! may hold up to `requestsPerSecond + B - 1` calls (the long-run rate stays the same). The
//! schedule is a GCRA ([`Schedule`]), kept by hand rather than with governor so that waiting
//! calls can be served by class:
//!
//! Waiting calls are served by [`CallClass`]: every call that finishes an operation in flight
//! (the update, the resume, a re-pause after "task started") before any call that starts one (a
//! read, a first pause); first come first served within a class. So reads of in-sync tasks never
//! delay the resume of a campaign the operator paused.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use outbound_api::RateLimit;

/// Margin added to the one-second window, for the jitter between the instant a call leaves and
/// the instant the platform counts it (a platform that counts "R per second" sees at most R).
pub const GUARD: Duration = Duration::from_millis(40);

/// How late a call may take its cell and still leave the next cells where they were: without it
/// every wake-up a millisecond late (tokio's timer rounds up to the next millisecond) would push
/// the whole schedule back by that much, about 3% of the budget at 20 rps on a busy machine.
pub const LATE: Duration = Duration::from_millis(5);

/// Which waiting call gets the next cell; lower first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CallClass {
    /// Ends an operation in flight: a campaign may be standing paused until it is sent.
    Finishing,
    /// Starts work: a read, a first pause, a token check.
    Starting,
}

/// The pure GCRA: when the next cell is free.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// Time per cell.
    interval: Duration,
    /// How far ahead of the theoretical arrival time a cell may be taken: `(burst - 1) × interval`.
    tolerance: Duration,
    /// Theoretical arrival time of the next cell; `None` before the first.
    tat: Option<Instant>,
}

impl Schedule {
    pub fn new(rate: &RateLimit) -> Self {
        let rps = rate.requests_per_second.max(1);
        // Rounded up: `rps` intervals must not fall short of the window by a nanosecond.
        let window = (Duration::from_secs(1) + GUARD + LATE).as_nanos() as u64;
        let interval = Duration::from_nanos(window.div_ceil(u64::from(rps)));
        Schedule {
            interval,
            tolerance: interval * (rate.burst.max(1) - 1),
            tat: None,
        }
    }

    /// The earliest instant at or after `now` at which a cell may be taken.
    pub fn free_at(&self, now: Instant) -> Instant {
        match self.tat {
            Some(tat) => tat.checked_sub(self.tolerance).map_or(now, |at| at.max(now)),
            None => now,
        }
    }

    /// Changes the rate, keeping the cells already taken: at a higher rate (or the same) the next
    /// cell stays where it was and the ones after come faster; at a lower rate the next cell
    /// comes a whole window (plus the new burst's tolerance) after the last one, so that no
    /// second holds calls of both rates (the old rate's calls would otherwise count against the
    /// new rate's second) and every second from the change on holds at most the new rate.
    pub fn rerate(&mut self, rate: &RateLimit) {
        let new = Schedule::new(rate);
        if let Some(tat) = self.tat
            && new.interval > self.interval
        {
            // The last cell's (theoretical) time; it was taken at most LATE after it.
            let last = tat.checked_sub(self.interval).unwrap_or(tat);
            let window = Duration::from_secs(1) + GUARD + LATE;
            self.tat = Some(tat.max(last + window + new.tolerance));
        }
        self.interval = new.interval;
        self.tolerance = new.tolerance;
    }

    /// Takes a cell at `now` (the caller checked `free_at(now) <= now`). A cell taken up to
    /// [`LATE`] after its due time still counts from that time (see the module doc for why any
    /// `rps + 1` consecutive cells then span at least `1 s + GUARD`).
    pub fn take(&mut self, now: Instant) {
        let on_time = now.checked_sub(LATE).unwrap_or(now);
        let base = self.tat.map_or(now, |tat| tat.max(on_time));
        self.tat = Some(base + self.interval);
    }
}

/// A shared rate limiter; clone the `Arc` that holds it, never the limiter. One per account for
/// the life of the account: a rate change re-rates it in place ([`AccountLimiter::rerate`]), so
/// the calls waiting in it and those of a rebuilt client share one budget.
pub struct AccountLimiter {
    state: Mutex<State>,
}

struct State {
    rate: RateLimit,
    schedule: Schedule,
    /// Waiting calls in the order they are served; each is woken when it becomes first.
    waiting: BTreeMap<(CallClass, u64), Arc<Notify>>,
    arrivals: u64,
}

impl State {
    /// Whether a call asking at `now` would wait.
    fn busy_at(&self, now: Instant) -> bool {
        !self.waiting.is_empty() || self.schedule.free_at(now) > now
    }

    fn wake_first(&self) {
        if let Some(first) = self.waiting.values().next() {
            first.notify_one();
        }
    }
}

/// Takes a waiting call out of the line if its future is dropped (the reconcile was cancelled).
struct Place<'a> {
    limiter: &'a AccountLimiter,
    key: (CallClass, u64),
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        let mut state = self.limiter.lock();
        if state.waiting.remove(&self.key).is_some() {
            state.wake_first();
        }
    }
}

impl AccountLimiter {
    pub fn new(rate: &RateLimit) -> Self {
        AccountLimiter {
            state: Mutex::new(State {
                rate: rate.clone(),
                schedule: Schedule::new(rate),
                waiting: BTreeMap::new(),
                arrivals: 0,
            }),
        }
    }

    /// Waits until a call of `class` may be sent: its turn among the waiting calls has come and
    /// the schedule has a free cell.
    pub async fn acquire(&self, class: CallClass) {
        let notify = Arc::new(Notify::new());
        let place = {
            let mut state = self.lock();
            state.arrivals += 1;
            let key = (class, state.arrivals);
            state.waiting.insert(key, notify.clone());
            Place { limiter: self, key }
        };
        loop {
            let free_at = {
                let mut state = self.lock();
                let first = state.waiting.keys().next() == Some(&place.key);
                let now = Instant::now();
                match first.then(|| state.schedule.free_at(now)) {
                    Some(at) if at <= now => {
                        state.schedule.take(now);
                        state.waiting.remove(&place.key);
                        state.wake_first();
                        return;
                    }
                    other => other,
                }
            };
            match free_at {
                // A more urgent call arriving meanwhile takes the cell: wake up, look again.
                Some(at) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = notify.notified() => {}
                    }
                }
                None => notify.notified().await,
            }
        }
    }

    /// Whether a call asking now would wait: others wait before it, or no cell is free yet. (A
    /// reconcile gives its worker back before such a wait: see the controller's work queue.)
    pub fn is_busy(&self) -> bool {
        self.lock().busy_at(Instant::now())
    }

    /// Takes a cell if one is free now and nobody is waiting.
    pub fn try_acquire(&self) -> bool {
        let mut state = self.lock();
        let now = Instant::now();
        if state.busy_at(now) {
            return false;
        }
        state.schedule.take(now);
        true
    }

    pub fn rate(&self) -> RateLimit {
        self.lock().rate.clone()
    }

    /// Changes the rate in place: the calls waiting keep their turn and are served at the new
    /// rate, and the cells already taken count (see [`Schedule::rerate`]).
    pub fn rerate(&self, rate: &RateLimit) {
        let mut state = self.lock();
        if state.rate == *rate {
            return;
        }
        state.schedule.rerate(rate);
        state.rate = rate.clone();
        // The first waiter sleeps until a cell that has moved: it looks again.
        state.wake_first();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // No code panics while holding the lock with the state half-changed: keep going.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl fmt::Debug for AccountLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rate = self.rate();
        f.debug_struct("AccountLimiter")
            .field("requests_per_second", &rate.requests_per_second)
            .field("burst", &rate.burst)
            .finish()
    }
}

#[cfg(test)]
#[path = "ratelimit_tests.rs"]
mod tests;
