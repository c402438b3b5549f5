//! The plan cache: in-process LRU by default, Redis with a TTL when configured.

use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use lru::LruCache;
use octollm_types::plan::{Plan, PlanRequest};
use parking_lot::Mutex;
use redis::aio::MultiplexedConnection;
use sha2::{Digest, Sha256};

/// Key over everything that shapes a plan: goal, constraints, context,
/// acceptance criteria and the arms it may use.
pub fn cache_key(req: &PlanRequest, arms: &[String]) -> String {
    let mut h = Sha256::new();
    let mut field = |label: &str, value: &str| {
        // Length-prefixed so ("ab","c") and ("a","bc") differ.
        h.update(label.as_bytes());
        h.update((value.len() as u64).to_le_bytes());
        h.update(value.as_bytes());
    };
    field("goal", req.goal.trim());
    for c in &req.constraints {
        field("constraint", c);
    }
    for c in &req.acceptance_criteria {
        field("criterion", c);
    }
    field(
        "context",
        &serde_json::Value::Object(req.context.clone()).to_string(),
    );
    let mut arms = arms.to_vec();
    arms.sort();
    for a in &arms {
        field("arm", a);
    }
    hex::encode(h.finalize())
}

enum Backend {
    Off,
    Memory(Mutex<LruCache<String, (Instant, Plan)>>),
    Redis(Box<RedisBackend>),
}

struct RedisBackend {
    client: redis::Client,
    conn: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    prefix: String,
    /// Longest wait for one lookup or store, connecting included.
    timeout: Duration,
}

impl RedisBackend {
    /// Runs one command within the timeout; a cache must miss rather than
    /// hold a plan up. A connection that failed or went quiet is dropped,
    /// and the next call makes a fresh one, so a restarted Redis is used
    /// again at once.
    async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, String> {
        let call = async {
            let mut c = self
                .connection()
                .await
                .ok_or_else(|| "not connected".to_string())?;
            cmd.query_async::<T>(&mut c).await.map_err(|e| {
                if e.is_io_error() || e.is_unrecoverable_error() || e.is_timeout() {
                    self.forget_connection();
                }
                e.to_string()
            })
        };
        match tokio::time::timeout(self.timeout, call).await {
            Ok(r) => r,
            Err(_) => {
                self.forget_connection();
                Err(format!("no answer within {} ms", self.timeout.as_millis()))
            }
        }
    }

    /// Drops the shared connection unless a caller is making a new one.
    fn forget_connection(&self) {
        if let Ok(mut guard) = self.conn.try_lock() {
            *guard = None;
        }
    }

    /// The shared connection, made on first use.
    async fn connection(&self) -> Option<MultiplexedConnection> {
        let mut guard = self.conn.lock().await;
        if let Some(c) = guard.as_ref() {
            return Some(c.clone());
        }
        let config =
            redis::AsyncConnectionConfig::new().set_connection_timeout(Duration::from_secs(2));
        let made = tokio::time::timeout(
            Duration::from_secs(2),
            self.client
                .get_multiplexed_async_connection_with_config(&config),
        )
        .await;
        match made {
            Ok(Ok(c)) => {
                *guard = Some(c.clone());
                Some(c)
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "plan cache: redis unavailable");
                None
            }
            Err(_) => {
                tracing::warn!("plan cache: redis connect timed out");
                None
            }
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

pub struct PlanCache {
    backend: Backend,
    ttl: Duration,
}

impl PlanCache {
    pub fn off() -> Self {
        PlanCache {
            backend: Backend::Off,
            ttl: Duration::ZERO,
        }
    }

    pub fn memory(capacity: usize, ttl: Duration) -> Self {
        let cap = NonZeroUsize::new(capacity.max(1)).unwrap_or(NonZeroUsize::MIN);
        PlanCache {
            backend: Backend::Memory(Mutex::new(LruCache::new(cap))),
            ttl,
        }
    }

    /// Connects lazily: a Redis that is down at start-up makes the service
    /// not ready, not dead.
    /// Each lookup or store waits at most `timeout` for Redis, then counts
    /// as a miss (or is skipped).
    pub fn redis(
        url: &str,
        prefix: &str,
        ttl: Duration,
        timeout: Duration,
    ) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("redis URL '{url}': {e}"))?;
        Ok(PlanCache {
            backend: Backend::Redis(Box::new(RedisBackend {
                client,
                conn: tokio::sync::Mutex::new(None),
                prefix: prefix.to_string(),
                timeout,
            })),
            ttl,
        })
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Off => "off",
            Backend::Memory(_) => "memory",
            Backend::Redis(_) => "redis",
        }
    }

    pub async fn get(&self, key: &str) -> Option<Plan> {
        match &self.backend {
            Backend::Off => None,
            Backend::Memory(m) => {
                let mut lru = m.lock();
                match lru.get(key) {
                    Some((at, plan)) if at.elapsed() < self.ttl => Some(plan.clone()),
                    Some(_) => {
                        lru.pop(key);
                        None
                    }
                    None => None,
                }
            }
            Backend::Redis(r) => {
                let raw: Option<String> = r
                    .run(redis::cmd("GET").arg(r.key(key)))
                    .await
                    .map_err(|e| tracing::warn!(error = %e, "plan cache: redis GET failed"))
                    .ok()?;
                serde_json::from_str(&raw?).ok()
            }
        }
    }

    pub async fn put(&self, key: &str, plan: &Plan) {
        match &self.backend {
            Backend::Off => {}
            Backend::Memory(m) => {
                m.lock()
                    .put(key.to_string(), (Instant::now(), plan.clone()));
            }
            Backend::Redis(r) => {
                let Ok(body) = serde_json::to_string(plan) else {
                    return;
                };
                let res: Result<(), _> = r
                    .run(
                        redis::cmd("SET")
                            .arg(r.key(key))
                            .arg(body)
                            .arg("EX")
                            .arg(self.ttl.as_secs().max(1)),
                    )
                    .await;
                if let Err(e) = res {
                    tracing::warn!(error = %e, "plan cache: redis SET failed");
                }
            }
        }
    }

    /// `None` when no Redis is used; otherwise whether it answers PING.
    pub async fn redis_ok(&self) -> Option<bool> {
        let Backend::Redis(r) = &self.backend else {
            return None;
        };
        let Some(mut c) = r.connection().await else {
            return Some(false);
        };
        let pong: Result<String, _> = tokio::time::timeout(
            Duration::from_secs(2),
            redis::cmd("PING").query_async(&mut c),
        )
        .await
        .unwrap_or_else(|_| {
            Err(redis::RedisError::from((
                redis::ErrorKind::IoError,
                "timeout",
            )))
        });
        if pong.is_err() {
            r.forget_connection();
        }
        Some(pong.is_ok())
    }
}
