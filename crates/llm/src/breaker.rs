//! A circuit breaker per provider.

use std::time::{Duration, Instant};

use parking_lot::Mutex;
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

#[cfg(test)]
mod tests {
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
