use super::*;
use std::time::Duration;

fn rate(requests_per_second: u32, burst: u32) -> RateLimit {
    RateLimit {
        requests_per_second,
        burst,
    }
}

/// The send instants of `calls` calls each taken as soon as the schedule allows.
fn send_times(rate: &RateLimit, calls: usize) -> Vec<Duration> {
    late_send_times(rate, calls, |_| Duration::ZERO)
}

/// The same, call `i` taking its cell `late(i)` after it fell free (a late wake-up).
fn late_send_times(rate: &RateLimit, calls: usize, late: impl Fn(usize) -> Duration) -> Vec<Duration> {
    let start = Instant::now();
    let mut schedule = Schedule::new(rate);
    let mut now = start;
    (0..calls)
        .map(|i| {
            now = schedule.free_at(now) + late(i);
            schedule.take(now);
            now - start
        })
        .collect()
}

/// Up to `most`, varying call to call.
fn varying(i: usize, most: Duration) -> Duration {
    most * ((i * 7919) % 101) as u32 / 100
}

/// The most instants in any half-open window `[t, t + width)`.
fn busiest(mut times: Vec<Duration>, width: Duration) -> usize {
    times.sort();
    let mut lo = 0;
    (0..times.len())
        .map(|hi| {
            while times[hi] - times[lo] >= width {
                lo += 1;
            }
            hi - lo + 1
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn default_budget_means_at_most_rps_calls_in_any_second_as_the_platform_counts_them() {
    let default = RateLimit::default();
    assert_eq!(default.burst, 1, "a larger burst must be an explicit choice");
    for rps in [1, 10, 20, 200, 1000] {
        let limit = rate(rps, default.burst);
        // One call in ten takes its cell up to LATE after it fell free, and each reaches the
        // platform after 0 to 40 ms of delay, both varying call to call.
        let late = |i: usize| {
            if i % 10 == 3 {
                varying(i * 31, LATE)
            } else {
                Duration::ZERO
            }
        };
        let sent = late_send_times(&limit, 10 * rps as usize, late);
        let arrived: Vec<Duration> = sent.iter().enumerate().map(|(i, at)| *at + varying(i, GUARD)).collect();
        let most = busiest(arrived, Duration::from_secs(1));
        assert!(
            most <= rps as usize,
            "{rps} rps: {most} calls arrived within one second"
        );
        // The long-run rate is still the budget's (within the guard).
        let span = sent.last().unwrap().as_secs_f64();
        assert!(span < 10.5, "{rps} rps: 10 s of calls took {span:.2} s");
    }
}

/// Issue 13: a wake-up 1 ms late on every call (tokio's timer rounds up) used to push every
/// later cell back by as much, 2% of the budget at 20 rps; within `LATE` the schedule keeps its
/// pace, and a call later than that does not let the next ones catch up beyond `LATE`.
#[test]
fn late_wake_ups_do_not_push_the_schedule_back() {
    let limit = rate(20, 1);
    let interval = Schedule::new(&limit).interval;
    let sent = late_send_times(&limit, 200, |_| Duration::from_millis(1));
    assert_eq!(
        sent[199] - sent[0],
        interval * 199 + Duration::from_millis(1),
        "on pace"
    );
    // A call 100 ms late: the next one comes at most LATE sooner than a full interval after it.
    let sent = late_send_times(&limit, 3, |i| Duration::from_millis(if i == 1 { 100 } else { 0 }));
    assert_eq!(sent[2] - sent[1], interval - LATE);
}

/// The worst case for the window: a call that takes its cell LATE after it fell due and reaches
/// the platform GUARD after that, then `rps` calls on time that reach it at once. Still at most
/// `rps` in any second (the lateness the limiter forgives is paid for in its interval, not
/// taken from the guard).
#[test]
fn lateness_and_jitter_together_never_put_more_than_rps_in_a_second() {
    for rps in [1, 7, 20, 200] {
        let worst = |i: usize| i % (rps + 1) == rps;
        let late = |i: usize| if worst(i) { LATE } else { Duration::ZERO };
        let sent = late_send_times(&rate(rps as u32, 1), 10 * (rps + 1), late);
        let arrived: Vec<Duration> = sent
            .iter()
            .enumerate()
            .map(|(i, at)| if worst(i) { *at + GUARD } else { *at })
            .collect();
        let most = busiest(arrived, Duration::from_secs(1));
        assert!(most <= rps, "{rps} rps: {most} calls arrived within one second");
    }
}

#[test]
fn a_burst_above_one_is_what_lets_more_through_in_one_second() {
    let sent = send_times(&rate(20, 20), 200);
    assert_eq!(busiest(sent, Duration::from_secs(1)), 39);
}

#[test]
fn try_acquire_takes_only_free_cells() {
    let limiter = AccountLimiter::new(&rate(10, 3));
    assert!((0..3).all(|_| limiter.try_acquire()));
    assert!(!limiter.try_acquire());
}

/// Calls that finish an operation get the next cells before calls waiting to start one, even
/// those that queued first; within a class, first come first served.
#[tokio::test(flavor = "current_thread")]
async fn finishing_calls_get_cells_before_starting_calls() {
    let limiter = Arc::new(AccountLimiter::new(&rate(50, 1)));
    assert!(limiter.try_acquire(), "the next cell is ~20 ms away now");
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    let waiters = [
        ("read 1", CallClass::Starting),
        ("read 2", CallClass::Starting),
        ("pause 3", CallClass::Starting),
        ("resume 1", CallClass::Finishing),
        ("read 4", CallClass::Starting),
        ("update 2", CallClass::Finishing),
    ];
    for (name, class) in waiters {
        let (limiter, order) = (limiter.clone(), order.clone());
        handles.push(tokio::spawn(async move {
            limiter.acquire(class).await;
            order.lock().unwrap().push(name);
        }));
        // Let it queue before the next one arrives.
        tokio::task::yield_now().await;
    }
    for handle in handles {
        handle.await.unwrap();
    }
    assert_eq!(
        *order.lock().unwrap(),
        ["resume 1", "update 2", "read 1", "read 2", "pause 3", "read 4"]
    );
}

/// A waiting call whose future is dropped leaves the line: the next one is not stuck behind it.
#[tokio::test(flavor = "current_thread")]
async fn a_cancelled_waiter_passes_its_turn_on() {
    let limiter = Arc::new(AccountLimiter::new(&rate(50, 1)));
    assert!(limiter.try_acquire());
    let first = tokio::spawn({
        let limiter = limiter.clone();
        async move { limiter.acquire(CallClass::Finishing).await }
    });
    tokio::task::yield_now().await;
    first.abort();
    let second = tokio::time::timeout(Duration::from_secs(5), limiter.acquire(CallClass::Starting)).await;
    assert!(second.is_ok(), "the second waiter never got a cell");
}

/// A raised rate takes effect from the next cell on, without pulling that cell earlier: no
/// second holds more than the new rate, and the calls after it go at the new pace.
#[test]
fn a_raised_rate_keeps_the_next_cell_and_speeds_up_the_rest() {
    let start = Instant::now();
    let mut schedule = Schedule::new(&rate(10, 1));
    let mut now = start;
    let mut sent = Vec::new();
    for i in 0..60 {
        if i == 30 {
            let next = schedule.free_at(now);
            schedule.rerate(&rate(20, 1));
            assert_eq!(schedule.free_at(now), next, "the next cell stays where it was");
        }
        now = schedule.free_at(now);
        schedule.take(now);
        sent.push(now - start);
    }
    assert!(busiest(sent.clone(), Duration::from_secs(1)) <= 20);
    assert!(
        busiest(sent[30..].to_vec(), Duration::from_secs(1)) >= 19,
        "the new pace"
    );
}

/// A lowered rate: the next cell comes a whole window (plus the new burst's tolerance, which a
/// full bucket spends at once) after the last one, and no second that holds a call of the new
/// rate holds more than the new rate, counting the calls sent before the change.
#[test]
fn a_lowered_rate_waits_a_whole_window_after_the_last_cell() {
    let window = Duration::from_secs(1) + GUARD + LATE;
    for burst in [1, 2] {
        let start = Instant::now();
        let mut schedule = Schedule::new(&rate(20, 1));
        let mut now = start;
        let mut sent = Vec::new();
        for i in 0..40 {
            if i == 30 {
                schedule.rerate(&rate(5, burst));
            }
            now = schedule.free_at(now);
            schedule.take(now);
            sent.push(now - start);
        }
        assert_eq!(sent[30] - sent[29], window, "burst {burst}");
        // The new rate, and the burst's cells beyond the first (spent at once after the wait).
        let most = 5 + (burst as usize - 1);
        for &from in &sent {
            let in_window: Vec<usize> = (0..sent.len())
                .filter(|&i| sent[i] >= from && sent[i] < from + Duration::from_secs(1))
                .collect();
            if in_window.iter().any(|&i| i >= 30) {
                assert!(in_window.len() <= most, "burst {burst}: {in_window:?}");
            }
        }
    }
}

/// The same rate with another burst is no lower rate: the next cell stays where it was.
#[test]
fn a_changed_burst_alone_keeps_the_next_cell() {
    let start = Instant::now();
    let mut schedule = Schedule::new(&rate(5, 1));
    schedule.take(start);
    let next = schedule.free_at(start);
    assert!(next > start);
    schedule.rerate(&rate(5, 3));
    assert_eq!(schedule.free_at(start), start, "two more cells at once now");
    schedule.rerate(&rate(5, 1));
    assert_eq!(schedule.free_at(start), next);
}

#[test]
fn debug_shows_the_rate() {
    let limiter = AccountLimiter::new(&rate(5, 2));
    assert_eq!(
        format!("{limiter:?}"),
        "AccountLimiter { requests_per_second: 5, burst: 2 }"
    );
}
