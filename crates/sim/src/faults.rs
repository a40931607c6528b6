//! Fault injection: the fault config (settable at start and through `PUT /_sim/faults`) and the
//! per-call decisions drawn from it.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::create_behaviour::CreateBehaviour;
use super::endpoint::SimEndpoint;

/// Default duration of a hang: longer than any sensible client timeout.
pub const DEFAULT_HANG_SECS: u64 = 120;

/// The whole fault configuration. JSON shape (every key optional):
///
/// ```json
/// {
///   "endpoints": {
///     "detail": {"latency_ms": 200, "error_rate": 0.1, "malformed_rate": 0.0, "hang": false, "hang_rate": 0.0}
///   },
///   "throttle_next": 3,
///   "rate_limit_rps": 5.0,
///   "slow_pause_secs": 2.5,
///   "hang_secs": 120,
///   "echo_headers": false
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Per-endpoint faults; endpoints not listed behave normally.
    pub endpoints: BTreeMap<SimEndpoint, EndpointFaults>,
    /// Answer the next N platform calls (any endpoint) with 429 and `Retry-After: 1`. Counts down;
    /// reading the faults shows how many are left.
    pub throttle_next: u64,
    /// Server-side budget in requests per second over all platform calls (token bucket whose burst
    /// is `max(1, rps)`); calls above it get 429 with `Retry-After: 1`. `null` = unlimited.
    pub rate_limit_rps: Option<f64>,
    /// After `task_stop`, the task keeps status 2 for this many seconds before it becomes 1.
    pub slow_pause_secs: f64,
    /// How long a hanging endpoint sleeps before answering 504 (the call has no effect).
    pub hang_secs: u64,
    /// Error answers quote the request's headers, `Authorization` included, as a debugging
    /// gateway or a careless error page would: HTTP ≥ 400 answers become a plain-text page
    /// listing them, and HTTP 200 error envelopes lose their `message` and carry them in a
    /// `request_headers` field. Success answers are untouched.
    pub echo_headers: bool,
    /// How create and list behave (answer shape, list lag, a lost or held create answer, the
    /// state of a new task).
    pub create: CreateBehaviour,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            endpoints: BTreeMap::new(),
            throttle_next: 0,
            rate_limit_rps: None,
            slow_pause_secs: 0.0,
            hang_secs: DEFAULT_HANG_SECS,
            echo_headers: false,
            create: CreateBehaviour::default(),
        }
    }
}

/// Faults of one endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EndpointFaults {
    /// Delay before the call is handled.
    pub latency_ms: u64,
    /// Fraction (0..=1) of calls answered HTTP 500 or 503 (at random), with either a non-JSON body
    /// or an error envelope (at random). Such calls have no effect.
    pub error_rate: f64,
    /// Fraction (0..=1) of calls that are processed normally (state changes apply) but whose
    /// HTTP 200 body is cut in half, so it is not valid JSON.
    pub malformed_rate: f64,
    /// Every call sleeps `hang_secs`, then gets 504; the call has no effect.
    pub hang: bool,
    /// Fraction (0..=1) of calls that hang like `hang` does (a flaky gateway rather than a dead
    /// endpoint).
    pub hang_rate: f64,
}

impl FaultConfig {
    /// Rejects values that cannot mean anything (rates outside 0..=1, non-positive budgets).
    pub fn validate(&self) -> Result<(), String> {
        for (endpoint, faults) in &self.endpoints {
            for (name, rate) in [
                ("error_rate", faults.error_rate),
                ("malformed_rate", faults.malformed_rate),
                ("hang_rate", faults.hang_rate),
            ] {
                if !(0.0..=1.0).contains(&rate) {
                    return Err(format!("endpoints.{endpoint}.{name} {rate} is not within 0..=1"));
                }
            }
        }
        if let Some(rps) = self.rate_limit_rps
            && !(rps.is_finite() && rps > 0.0)
        {
            return Err(format!("rate_limit_rps {rps} must be a positive number"));
        }
        self.create.validate()?;
        if !(self.slow_pause_secs.is_finite() && self.slow_pause_secs >= 0.0) {
            return Err(format!(
                "slow_pause_secs {} must be zero or positive",
                self.slow_pause_secs
            ));
        }
        Ok(())
    }

    /// The faults of one endpoint, created empty if absent (for building configs in code).
    pub fn endpoint_mut(&mut self, endpoint: SimEndpoint) -> &mut EndpointFaults {
        self.endpoints.entry(endpoint).or_default()
    }

    pub fn endpoint(&self, endpoint: SimEndpoint) -> EndpointFaults {
        self.endpoints.get(&endpoint).cloned().unwrap_or_default()
    }

    pub fn slow_pause(&self) -> Duration {
        Duration::from_secs_f64(self.slow_pause_secs)
    }
}

/// Parses a command-line fault value: `VALUE` (applies to every endpoint) or `ENDPOINT=VALUE`.
pub fn parse_endpoint_value<T>(spec: &str) -> Result<(Vec<SimEndpoint>, T), String>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let (endpoints, value) = match spec.split_once('=') {
        Some((name, value)) => (vec![name.trim().parse::<SimEndpoint>()?], value),
        None => (SimEndpoint::ALL.to_vec(), spec),
    };
    let value = value
        .trim()
        .parse::<T>()
        .map_err(|error| format!("invalid value in {spec:?}: {error}"))?;
    Ok((endpoints, value))
}

/// How a call that passed the throttles must be disturbed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CallFaults {
    pub latency: Duration,
    pub hang: Option<Duration>,
    pub error: Option<InjectedError>,
    pub malformed: bool,
}

/// An injected server error: HTTP status and whether the body is an envelope or plain text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct InjectedError {
    pub http_status: u16,
    pub envelope_body: bool,
}

/// Why a call was answered 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Throttle {
    /// The `rate_limit_rps` budget is exhausted.
    RateLimited,
    /// One of the `throttle_next` calls.
    Throttled,
}

impl Throttle {
    pub fn label(self) -> &'static str {
        match self {
            Throttle::RateLimited => "rate_limited",
            Throttle::Throttled => "throttled",
        }
    }
}

/// Live fault state: the config plus the rate-limit bucket.
#[derive(Debug)]
pub(crate) struct FaultState {
    pub config: FaultConfig,
    bucket: Option<TokenBucket>,
}

impl FaultState {
    pub fn new(config: FaultConfig) -> Self {
        let bucket = config.rate_limit_rps.map(TokenBucket::new);
        FaultState { config, bucket }
    }

    /// Replaces the config; the rate-limit bucket starts full again.
    pub fn replace(&mut self, config: FaultConfig) {
        *self = FaultState::new(config);
    }

    /// Decides whether a platform call is throttled. Every call, known endpoint or not, spends
    /// the budget, as a gateway in front of the platform would.
    pub fn throttle(&mut self, now: Instant) -> Option<Throttle> {
        if let Some(bucket) = &mut self.bucket
            && !bucket.try_take(now)
        {
            return Some(Throttle::RateLimited);
        }
        if self.config.throttle_next > 0 {
            self.config.throttle_next -= 1;
            return Some(Throttle::Throttled);
        }
        None
    }

    /// Draws the faults of one call to `endpoint`.
    pub fn draw(&self, endpoint: SimEndpoint) -> CallFaults {
        let faults = self.config.endpoint(endpoint);
        let error = happens(faults.error_rate).then(|| InjectedError {
            http_status: if rand::random::<bool>() { 500 } else { 503 },
            envelope_body: rand::random::<bool>(),
        });
        CallFaults {
            latency: Duration::from_millis(faults.latency_ms),
            hang: (faults.hang || happens(faults.hang_rate)).then(|| Duration::from_secs(self.config.hang_secs)),
            error,
            malformed: happens(faults.malformed_rate),
        }
    }
}

/// True with probability `rate`; exactly never for 0 and always for 1.
fn happens(rate: f64) -> bool {
    rate > 0.0 && rand::random::<f64>() < rate
}

/// A token bucket refilled at `rps` tokens per second, holding at most `max(1, rps)`.
#[derive(Debug)]
struct TokenBucket {
    rps: f64,
    capacity: f64,
    tokens: f64,
    refilled_at: Instant,
}

impl TokenBucket {
    fn new(rps: f64) -> Self {
        let capacity = rps.max(1.0);
        TokenBucket {
            rps,
            capacity,
            tokens: capacity,
            refilled_at: Instant::now(),
        }
    }

    fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled_at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rps).min(self.capacity);
        self.refilled_at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refills() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(2.0);
        bucket.refilled_at = start;
        assert!(bucket.try_take(start));
        assert!(bucket.try_take(start));
        assert!(!bucket.try_take(start));
        assert!(bucket.try_take(start + Duration::from_millis(500)));
        assert!(!bucket.try_take(start + Duration::from_millis(500)));
    }

    #[test]
    fn throttle_next_counts_down() {
        let mut state = FaultState::new(FaultConfig {
            throttle_next: 2,
            ..FaultConfig::default()
        });
        let now = Instant::now();
        assert_eq!(state.throttle(now), Some(Throttle::Throttled));
        assert_eq!(state.throttle(now), Some(Throttle::Throttled));
        assert_eq!(state.throttle(now), None);
        assert_eq!(state.config.throttle_next, 0);
    }

    #[test]
    fn rates_zero_and_one_are_deterministic() {
        let mut config = FaultConfig::default();
        config.endpoint_mut(SimEndpoint::Update).error_rate = 1.0;
        config.endpoint_mut(SimEndpoint::Detail).malformed_rate = 1.0;
        let state = FaultState::new(config);
        for _ in 0..50 {
            let update = state.draw(SimEndpoint::Update);
            let error = update.error.expect("error_rate 1 always fails");
            assert!(matches!(error.http_status, 500 | 503));
            assert!(!update.malformed);
            assert!(state.draw(SimEndpoint::Detail).malformed);
            assert_eq!(
                state.draw(SimEndpoint::Pause),
                CallFaults {
                    latency: Duration::ZERO,
                    hang: None,
                    error: None,
                    malformed: false,
                }
            );
        }
    }

    #[test]
    fn validate_rejects_meaningless_values() {
        let mut config = FaultConfig::default();
        config.endpoint_mut(SimEndpoint::Detail).error_rate = 1.5;
        assert!(config.validate().unwrap_err().contains("endpoints.detail.error_rate"));
        let mut config = FaultConfig::default();
        config.endpoint_mut(SimEndpoint::Pause).hang_rate = -0.1;
        assert!(config.validate().unwrap_err().contains("endpoints.pause.hang_rate"));
        let config = FaultConfig {
            rate_limit_rps: Some(0.0),
            ..FaultConfig::default()
        };
        assert!(config.validate().is_err());
    }

    #[test]
    fn fault_json_shape_round_trips() {
        let json = serde_json::json!({
            "endpoints": {"detail": {"latency_ms": 5, "hang": true}},
            "throttle_next": 1,
            "rate_limit_rps": 2.5,
            "slow_pause_secs": 1.5
        });
        let config: FaultConfig = serde_json::from_value(json).unwrap();
        assert_eq!(config.endpoint(SimEndpoint::Detail).latency_ms, 5);
        assert!(config.endpoint(SimEndpoint::Detail).hang);
        assert_eq!(config.hang_secs, DEFAULT_HANG_SECS);
        let back = serde_json::to_value(&config).unwrap();
        assert_eq!(back["endpoints"]["detail"]["latency_ms"], 5);
    }

    #[test]
    fn parses_command_line_specs() {
        let (endpoints, ms) = parse_endpoint_value::<u64>("detail=200").unwrap();
        assert_eq!((endpoints, ms), (vec![SimEndpoint::Detail], 200));
        let (endpoints, rate) = parse_endpoint_value::<f64>("0.5").unwrap();
        assert_eq!(endpoints.len(), SimEndpoint::ALL.len());
        assert_eq!(rate, 0.5);
        assert!(parse_endpoint_value::<u64>("copy=1").is_err());
        assert!(parse_endpoint_value::<u64>("detail=x").is_err());
    }
}
