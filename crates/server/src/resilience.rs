//! Resilience shared by every outbound client: the LLM providers and the
//! orchestrator's arm clients use the same circuit breaker, the same
//! backoff schedule and the same `Retry-After` reading, so a rule about
//! waiting or giving up is written once.

use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use parking_lot::Mutex;
use rand::Rng;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }

    /// Gauge encoding: 0 closed, 1 half-open, 2 open.
    pub fn as_gauge(self) -> i64 {
        match self {
            BreakerState::Closed => 0,
            BreakerState::HalfOpen => 1,
            BreakerState::Open => 2,
        }
    }
}

/// Opens after `threshold` consecutive failures; after `cooldown` it lets a
/// single probe through (half-open), whose outcome closes or re-opens it.
#[derive(Debug)]
pub struct CircuitBreaker {
    threshold: u32,
    cooldown: Duration,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    failures: u32,
    opened_at: Instant,
    /// When the half-open probe started; a probe abandoned by a cancelled
    /// caller must not wedge the breaker, so it expires after a cool-down.
    probe_started: Option<Instant>,
}

impl CircuitBreaker {
    /// `threshold == 0` disables the breaker.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        CircuitBreaker {
            threshold,
            cooldown,
            inner: Mutex::new(Inner {
                state: BreakerState::Closed,
                failures: 0,
                opened_at: Instant::now(),
                probe_started: None,
            }),
        }
    }

    /// Whether a call may go out now.
    pub fn allow(&self) -> bool {
        let mut s = self.inner.lock();
        match s.state {
            BreakerState::Closed => true,
            BreakerState::Open => {
                if s.opened_at.elapsed() >= self.cooldown {
                    s.state = BreakerState::HalfOpen;
                    s.probe_started = Some(Instant::now());
                    true
                } else {
                    false
                }
            }
            BreakerState::HalfOpen => match s.probe_started {
                Some(t) if t.elapsed() < self.cooldown => false,
                _ => {
                    s.probe_started = Some(Instant::now());
                    true
                }
            },
        }
    }

    pub fn on_success(&self) {
        let mut s = self.inner.lock();
        s.state = BreakerState::Closed;
        s.failures = 0;
        s.probe_started = None;
    }

    pub fn on_failure(&self) {
        if self.threshold == 0 {
            return;
        }
        let mut s = self.inner.lock();
        s.probe_started = None;
        s.failures = s.failures.saturating_add(1);
        if s.state == BreakerState::HalfOpen || s.failures >= self.threshold {
            s.state = BreakerState::Open;
            s.opened_at = Instant::now();
        }
    }

    /// The state as a caller would experience it now.
    pub fn state(&self) -> BreakerState {
        let s = self.inner.lock();
        match s.state {
            BreakerState::Open if s.opened_at.elapsed() >= self.cooldown => BreakerState::HalfOpen,
            other => other,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Extra attempts after the first.
    pub max_retries: u32,
    pub initial: Duration,
    pub max: Duration,
    /// A provider asking for a longer wait than this is skipped instead.
    pub retry_after_max: Duration,
}

impl RetryPolicy {
    /// Exponential backoff with "equal jitter": half the step is fixed, half
    /// random, so synchronized clients spread out but never retry at once.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(20));
        let step = self.initial.saturating_mul(factor).min(self.max);
        let half = step / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        let extra = if jitter_ms == 0 {
            0
        } else {
            rand::thread_rng().gen_range(0..=jitter_ms)
        };
        half + Duration::from_millis(extra)
    }

    /// How long to wait before retry number `attempt + 1`, or `None` when the
    /// provider asked for longer than we are prepared to wait.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        match retry_after {
            Some(d) if d > self.retry_after_max => None,
            Some(d) => Some(d),
            None => Some(self.backoff(attempt)),
        }
    }
}

/// Reads `retry-after-ms` (OpenAI) or `Retry-After` as seconds or an HTTP date.
pub fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let raw = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = raw.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(raw).ok()?;
    let wait = when.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod breaker_tests {
    use super::*;

    #[test]
    fn opens_half_opens_and_closes() {
        let b = CircuitBreaker::new(2, Duration::from_millis(40));
        assert!(b.allow());
        b.on_failure();
        assert_eq!(b.state(), BreakerState::Closed);
        b.on_failure();
        assert_eq!(b.state(), BreakerState::Open);
        assert!(!b.allow());
        std::thread::sleep(Duration::from_millis(50));
        assert!(b.allow(), "one probe after the cool-down");
        assert!(!b.allow(), "only one probe at a time");
        b.on_failure();
        assert_eq!(b.state(), BreakerState::Open);
        std::thread::sleep(Duration::from_millis(50));
        assert!(b.allow());
        b.on_success();
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.allow());
    }

    #[test]
    fn success_resets_the_count_and_zero_disables() {
        let b = CircuitBreaker::new(2, Duration::from_secs(60));
        b.on_failure();
        b.on_success();
        b.on_failure();
        assert_eq!(b.state(), BreakerState::Closed);
        let off = CircuitBreaker::new(0, Duration::from_secs(60));
        for _ in 0..10 {
            off.on_failure();
        }
        assert!(off.allow());
    }
}

#[cfg(test)]
mod retry_tests {
    use super::*;
    use axum::http::HeaderValue;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            initial: Duration::from_millis(100),
            max: Duration::from_millis(1000),
            retry_after_max: Duration::from_secs(5),
        }
    }

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        let p = policy();
        for attempt in 0..8 {
            let step = (100u64 << attempt).min(1000);
            for _ in 0..50 {
                let d = p.backoff(attempt).as_millis() as u64;
                assert!(d >= step / 2 && d <= step, "attempt {attempt}: {d} ms");
            }
        }
    }

    #[test]
    fn retry_after_wins_unless_too_long() {
        let p = policy();
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(2))),
            Some(Duration::from_secs(2))
        );
        assert_eq!(p.delay(0, Some(Duration::from_secs(60))), None);
    }

    #[test]
    fn parses_header_forms() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(3)));
        h.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(parse_retry_after(&h), Some(Duration::from_millis(250)));
        let mut h = HeaderMap::new();
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(parse_retry_after(&h), Some(Duration::ZERO));
        let future = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        h.insert("retry-after", HeaderValue::from_str(&future).unwrap());
        let d = parse_retry_after(&h).unwrap();
        assert!(d > Duration::from_secs(25) && d <= Duration::from_secs(30));
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(parse_retry_after(&h), None);
    }
}
