//! Per-client token buckets: in-process, or one bucket per client in Redis
//! updated by a single atomic script so every replica shares the budget.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::time::Instant;

use parking_lot::Mutex;

use crate::redis_link::{LinkError, RedisLink};

const SHARDS: usize = 16;
/// Buckets kept per shard before idle, full ones are dropped.
const SHARD_SOFT_CAP: usize = 8192;

/// The answer for one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateDecision {
    Allowed {
        remaining: f64,
    },
    /// Try again after this many seconds (at least 1).
    Limited {
        retry_after: u64,
    },
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// In-process buckets, sharded by client key.
pub struct LocalBuckets {
    shards: Vec<Mutex<HashMap<String, Bucket>>>,
    hasher: std::collections::hash_map::RandomState,
}

impl Default for LocalBuckets {
    fn default() -> Self {
        LocalBuckets {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }
}

impl LocalBuckets {
    pub fn take(&self, key: &str, cost: f64, capacity: f64, rate: f64) -> RateDecision {
        let mut shard = self.shards[self.hasher.hash_one(key) as usize % SHARDS].lock();
        let now = Instant::now();
        if shard.len() > SHARD_SOFT_CAP {
            // Full, idle buckets carry no state worth keeping.
            shard.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * rate < capacity
            });
        }
        let b = match shard.get_mut(key) {
            Some(b) => b,
            None => shard.entry(key.to_string()).or_insert(Bucket {
                tokens: capacity,
                updated: now,
            }),
        };
        b.tokens = (b.tokens + now.duration_since(b.updated).as_secs_f64() * rate).min(capacity);
        b.updated = now;
        if b.tokens >= cost {
            b.tokens -= cost;
            RateDecision::Allowed {
                remaining: b.tokens,
            }
        } else {
            RateDecision::Limited {
                retry_after: retry_after(cost - b.tokens, rate),
            }
        }
    }
}

fn retry_after(missing: f64, rate: f64) -> u64 {
    if rate <= 0.0 {
        return 3600;
    }
    ((missing / rate).ceil() as u64).max(1)
}

/// Token bucket in a Redis hash, refilled from Redis's own clock so replicas
/// with skewed clocks still agree. Returns {allowed, retry_after_ms, tokens}.
const SCRIPT: &str = r#"
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local ttl_ms = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
if now > ts then
  tokens = math.min(capacity, tokens + (now - ts) / 1000000 * rate)
  ts = now
end
local allowed = 0
local retry_ms = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
elseif rate > 0 then
  retry_ms = math.ceil((cost - tokens) / rate * 1000)
else
  retry_ms = 3600000
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', string.format('%d', ts))
redis.call('PEXPIRE', KEYS[1], ttl_ms)
return {allowed, retry_ms, string.format('%.6f', tokens)}
"#;

/// The limiter the service uses.
pub struct RateLimiter {
    enabled: bool,
    capacity: f64,
    rate: f64,
    local: LocalBuckets,
    redis: Option<(RedisLink, redis::Script, String)>,
}

/// Which backend answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimiterBackend {
    Memory,
    Redis,
    /// Redis was configured but failed; the in-process bucket answered.
    Fallback,
}

impl RateLimiter {
    pub fn new(
        enabled: bool,
        per_second: f64,
        burst: f64,
        redis: Option<(RedisLink, String)>,
    ) -> Self {
        RateLimiter {
            enabled,
            capacity: burst.max(1.0),
            rate: per_second.max(0.0),
            local: LocalBuckets::default(),
            redis: redis.map(|(l, prefix)| (l, redis::Script::new(SCRIPT), prefix)),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn backend(&self) -> &'static str {
        match (&self.redis, self.enabled) {
            (_, false) => "disabled",
            (Some(_), true) => "redis",
            (None, true) => "memory",
        }
    }

    /// Takes `cost` tokens from `key`'s bucket.
    pub async fn check(&self, key: &str, cost: f64) -> (RateDecision, LimiterBackend) {
        if !self.enabled {
            return (
                RateDecision::Allowed {
                    remaining: f64::INFINITY,
                },
                LimiterBackend::Memory,
            );
        }
        if let Some((link, script, prefix)) = &self.redis {
            match self.redis_take(link, script, prefix, key, cost).await {
                Ok(d) => return (d, LimiterBackend::Redis),
                Err(_) => {
                    let d = self.local.take(key, cost, self.capacity, self.rate);
                    return (d, LimiterBackend::Fallback);
                }
            }
        }
        (
            self.local.take(key, cost, self.capacity, self.rate),
            LimiterBackend::Memory,
        )
    }

    async fn redis_take(
        &self,
        link: &RedisLink,
        script: &redis::Script,
        prefix: &str,
        key: &str,
        cost: f64,
    ) -> Result<RateDecision, LinkError> {
        let mut conn = link.conn()?;
        // A bucket left alone long enough to refill completely can be forgotten.
        let ttl_ms = if self.rate > 0.0 {
            ((self.capacity / self.rate) * 1000.0)
                .ceil()
                .clamp(1000.0, 86_400_000.0) as u64
        } else {
            86_400_000
        };
        let mut inv = script.key(format!("{prefix}rl:{key}"));
        inv.arg(self.capacity).arg(self.rate).arg(cost).arg(ttl_ms);
        let (allowed, retry_ms, tokens): (i64, i64, String) =
            link.run(inv.invoke_async(&mut conn)).await?;
        Ok(if allowed == 1 {
            RateDecision::Allowed {
                remaining: tokens.parse().unwrap_or(0.0),
            }
        } else {
            RateDecision::Limited {
                retry_after: ((retry_ms.max(0) as u64).div_ceil(1000)).max(1),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_admits_burst_then_limits() {
        let b = LocalBuckets::default();
        for _ in 0..5 {
            assert!(matches!(
                b.take("k", 1.0, 5.0, 0.001),
                RateDecision::Allowed { .. }
            ));
        }
        match b.take("k", 1.0, 5.0, 0.001) {
            RateDecision::Limited { retry_after } => assert!(retry_after >= 1),
            other => panic!("expected limit, got {other:?}"),
        }
        // Another client has its own bucket.
        assert!(matches!(
            b.take("other", 1.0, 5.0, 0.001),
            RateDecision::Allowed { .. }
        ));
    }

    #[test]
    fn bucket_refills() {
        let b = LocalBuckets::default();
        assert!(matches!(
            b.take("k", 1.0, 1.0, 1000.0),
            RateDecision::Allowed { .. }
        ));
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(matches!(
            b.take("k", 1.0, 1.0, 1000.0),
            RateDecision::Allowed { .. }
        ));
    }
}
