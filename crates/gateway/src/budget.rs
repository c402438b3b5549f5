//! What each virtual key has used: requests in the last minute, tokens and
//! dollars today (UTC). In this process, or in Redis when `redis_url` is
//! set, so that every replica of the gateway counts against one budget.
//!
//! Admission fails closed: when the shared counters cannot be read, the
//! request is refused (503) rather than let through uncounted. A charge
//! that cannot be written is logged; the provider was already paid.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use octollm_reflex::redis_link::RedisLink;
use parking_lot::Mutex;

use crate::GatewayError;

/// How long a Redis call of the budget may take.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);

/// Daily counters outlive their day by one, for late charges.
const DAY_TTL_SECS: i64 = 2 * 86_400;

#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub per_minute: u32,
    pub tokens_per_day: u64,
    pub usd_per_day: f64,
}

/// Which limit refused, and when to come back.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub limit: &'static str,
    pub retry_after: Duration,
}

#[derive(Debug, Default)]
struct Usage {
    recent: VecDeque<Instant>,
    day: i64,
    tokens: u64,
    usd: f64,
}

pub struct Counters(Store);

enum Store {
    Local(Mutex<HashMap<String, Usage>>),
    Shared { link: RedisLink, prefix: String },
}

fn today() -> i64 {
    chrono::Utc::now().timestamp().div_euclid(86_400)
}

fn until_tomorrow() -> Duration {
    let now = chrono::Utc::now().timestamp();
    Duration::from_secs((86_400 - now.rem_euclid(86_400)).max(1) as u64)
}

/// Checks the daily budgets, then takes a slot of the minute's, in one
/// step so that two replicas cannot both take the last slot. Answers
/// `{0, 0}` when admitted, else the refusing limit (1 tokens, 2 dollars,
/// 3 requests per minute) and the milliseconds until a minute slot frees.
const ADMIT: &str = r"
local tokens = tonumber(redis.call('GET', KEYS[2]) or '0')
local usd = tonumber(redis.call('GET', KEYS[3]) or '0')
if tonumber(ARGV[3]) > 0 and tokens >= tonumber(ARGV[3]) then return {1, 0} end
if tonumber(ARGV[4]) > 0 and usd >= tonumber(ARGV[4]) then return {2, 0} end
local per_minute = tonumber(ARGV[2])
if per_minute > 0 then
  local now = tonumber(ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000)
  if redis.call('ZCARD', KEYS[1]) >= per_minute then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return {3, 60000 - (now - tonumber(oldest[2]))}
  end
  redis.call('ZADD', KEYS[1], now, ARGV[5])
  redis.call('PEXPIRE', KEYS[1], 60000)
end
return {0, 0}
";

impl Counters {
    pub fn local() -> Self {
        Counters(Store::Local(Mutex::new(HashMap::new())))
    }

    /// Counters in the Redis at `url`, under `prefix`.
    pub fn shared(url: &str, prefix: &str) -> Result<Self, GatewayError> {
        let link = RedisLink::start(url, REDIS_TIMEOUT)
            .map_err(|e| GatewayError::Config(format!("gateway redis_url: {e}")))?;
        Ok(Counters(Store::Shared {
            link,
            prefix: prefix.to_string(),
        }))
    }

    /// Waits up to `wait` for the shared counters (start-up and tests).
    pub async fn connect(&self, wait: Duration) -> bool {
        match &self.0 {
            Store::Local(_) => true,
            Store::Shared { link, .. } => link.connect_now(wait).await,
        }
    }

    /// Whether the counters can be reached now.
    pub fn reachable(&self) -> bool {
        match &self.0 {
            Store::Local(_) => true,
            Store::Shared { link, .. } => link.is_connected(),
        }
    }

    /// Admits one request of key `name`, or says which limit refuses.
    pub async fn admit(
        &self,
        name: &str,
        limits: &Limits,
    ) -> Result<Result<(), Refused>, GatewayError> {
        match &self.0 {
            Store::Local(usage) => Ok(admit_local(&mut usage.lock(), name, limits)),
            Store::Shared { link, prefix } => {
                let day = today();
                let now_ms = chrono::Utc::now().timestamp_millis();
                let conn = link.conn().map_err(unavailable);
                let mut conn = conn?;
                let script = redis::Script::new(ADMIT);
                let mut call = script.prepare_invoke();
                call.key(format!("{prefix}{name}:minute"))
                    .key(format!("{prefix}{name}:{day}:tokens"))
                    .key(format!("{prefix}{name}:{day}:usd"))
                    .arg(now_ms)
                    .arg(limits.per_minute)
                    .arg(limits.tokens_per_day)
                    .arg(limits.usd_per_day)
                    .arg(uuid::Uuid::new_v4().simple().to_string());
                let (verdict, wait_ms): (i64, i64) = link
                    .run(call.invoke_async(&mut conn))
                    .await
                    .map_err(unavailable)?;
                Ok(match verdict {
                    0 => Ok(()),
                    1 => Err(Refused {
                        limit: "tokens per day",
                        retry_after: until_tomorrow(),
                    }),
                    2 => Err(Refused {
                        limit: "USD per day",
                        retry_after: until_tomorrow(),
                    }),
                    _ => Err(Refused {
                        limit: "requests per minute",
                        retry_after: Duration::from_millis(wait_ms.max(1) as u64),
                    }),
                })
            }
        }
    }

    /// Adds a finished (or abandoned) request's use to key `name`'s day.
    /// Never waits: the shared counters are written in the background.
    pub fn charge(&self, name: &str, tokens: u64, usd: f64) {
        let usd = if usd.is_finite() && usd > 0.0 {
            usd
        } else {
            0.0
        };
        match &self.0 {
            Store::Local(usage) => {
                let mut all = usage.lock();
                let u = all.entry(name.to_string()).or_default();
                roll_day(u);
                u.tokens = u.tokens.saturating_add(tokens);
                u.usd += usd;
            }
            Store::Shared { link, prefix } => {
                let Ok(handle) = tokio::runtime::Handle::try_current() else {
                    tracing::error!(key = name, "no runtime to record the gateway charge on");
                    return;
                };
                let day = today();
                let (tokens_key, usd_key) = (
                    format!("{prefix}{name}:{day}:tokens"),
                    format!("{prefix}{name}:{day}:usd"),
                );
                let link = link.clone();
                let name = name.to_string();
                handle.spawn(async move {
                    let written = async {
                        let mut conn = link.conn().map_err(|e| e.to_string())?;
                        let mut pipe = redis::pipe();
                        pipe.atomic()
                            .incr(&tokens_key, tokens)
                            .expire(&tokens_key, DAY_TTL_SECS)
                            .cmd("INCRBYFLOAT")
                            .arg(&usd_key)
                            .arg(usd)
                            .expire(&usd_key, DAY_TTL_SECS);
                        link.run(pipe.query_async::<()>(&mut conn))
                            .await
                            .map_err(|e| e.to_string())
                    }
                    .await;
                    if let Err(e) = written {
                        tracing::error!(key = %name, tokens, usd, error = %e, "gateway charge not recorded in redis");
                    }
                });
            }
        }
    }
}

fn unavailable(e: octollm_reflex::redis_link::LinkError) -> GatewayError {
    GatewayError::BudgetUnavailable(e.to_string())
}

fn roll_day(u: &mut Usage) {
    let day = today();
    if u.day != day {
        u.day = day;
        u.tokens = 0;
        u.usd = 0.0;
    }
}

fn admit_local(
    all: &mut HashMap<String, Usage>,
    name: &str,
    limits: &Limits,
) -> Result<(), Refused> {
    let u = all.entry(name.to_string()).or_default();
    roll_day(u);
    if limits.tokens_per_day > 0 && u.tokens >= limits.tokens_per_day {
        return Err(Refused {
            limit: "tokens per day",
            retry_after: until_tomorrow(),
        });
    }
    if limits.usd_per_day > 0.0 && u.usd >= limits.usd_per_day {
        return Err(Refused {
            limit: "USD per day",
            retry_after: until_tomorrow(),
        });
    }
    if limits.per_minute > 0 {
        let now = Instant::now();
        let minute = Duration::from_secs(60);
        while u
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= minute)
        {
            u.recent.pop_front();
        }
        if u.recent.len() >= limits.per_minute as usize {
            let oldest = u.recent.front().copied().unwrap_or(now);
            return Err(Refused {
                limit: "requests per minute",
                retry_after: minute.saturating_sub(now.duration_since(oldest)),
            });
        }
        u.recent.push_back(now);
    }
    Ok(())
}
