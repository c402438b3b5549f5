//! Verdict cache: an in-process LRU, or Redis with a TTL (falling back to
//! the LRU while Redis is unreachable). Keys are hashes of everything that
//! changes the answer; values hold no raw PII.

use std::num::NonZeroUsize;
use std::sync::Arc;

use lru::LruCache;
use parking_lot::Mutex;
use redis::AsyncCommands;

use crate::engine::Verdict;
use crate::redis_link::{LinkError, RedisLink};

const SHARDS: usize = 8;

/// A sharded LRU so concurrent requests rarely contend on one lock.
pub struct MemoryCache {
    shards: Vec<Mutex<LruCache<[u8; 32], Arc<Verdict>>>>,
}

impl MemoryCache {
    pub fn new(capacity: usize) -> Self {
        let per_shard =
            NonZeroUsize::new(capacity.div_ceil(SHARDS).max(1)).unwrap_or(NonZeroUsize::MIN);
        MemoryCache {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(LruCache::new(per_shard)))
                .collect(),
        }
    }

    fn shard(&self, key: &[u8; 32]) -> &Mutex<LruCache<[u8; 32], Arc<Verdict>>> {
        &self.shards[key[0] as usize % SHARDS]
    }

    pub fn get(&self, key: &[u8; 32]) -> Option<Arc<Verdict>> {
        self.shard(key).lock().get(key).cloned()
    }

    pub fn put(&self, key: [u8; 32], v: Arc<Verdict>) {
        self.shard(&key).lock().put(key, v);
    }

    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The one cache interface the service uses.
pub enum VerdictCache {
    Disabled,
    Memory(MemoryCache),
    Redis {
        link: RedisLink,
        prefix: String,
        ttl_seconds: u64,
        fallback: MemoryCache,
    },
}

/// Where a lookup was answered, for metrics and health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    Miss,
    /// Redis failed; the in-process fallback answered.
    Degraded,
}

impl VerdictCache {
    pub fn backend(&self) -> &'static str {
        match self {
            VerdictCache::Disabled => "disabled",
            VerdictCache::Memory(_) => "memory",
            VerdictCache::Redis { .. } => "redis",
        }
    }

    pub async fn get(&self, key: &[u8; 32]) -> (Option<Arc<Verdict>>, CacheOutcome) {
        match self {
            VerdictCache::Disabled => (None, CacheOutcome::Miss),
            VerdictCache::Memory(m) => outcome(m.get(key)),
            VerdictCache::Redis {
                link,
                prefix,
                fallback,
                ..
            } => match redis_get(link, prefix, key).await {
                Ok(v) => outcome(v),
                Err(_) => (fallback.get(key), CacheOutcome::Degraded),
            },
        }
    }

    pub async fn put(&self, key: [u8; 32], v: Arc<Verdict>) -> Result<(), LinkError> {
        match self {
            VerdictCache::Disabled => Ok(()),
            VerdictCache::Memory(m) => {
                m.put(key, v);
                Ok(())
            }
            VerdictCache::Redis {
                link,
                prefix,
                ttl_seconds,
                fallback,
            } => {
                let body = serde_json::to_vec(&*v).unwrap_or_default();
                let res = match link.conn() {
                    Ok(mut c) => {
                        let k = redis_key(prefix, &key);
                        link.run(c.set_ex::<_, _, ()>(k, body, *ttl_seconds)).await
                    }
                    Err(e) => Err(e),
                };
                if res.is_err() {
                    fallback.put(key, v);
                }
                res
            }
        }
    }

    pub fn local_entries(&self) -> usize {
        match self {
            VerdictCache::Disabled => 0,
            VerdictCache::Memory(m) => m.len(),
            VerdictCache::Redis { fallback, .. } => fallback.len(),
        }
    }
}

fn outcome(v: Option<Arc<Verdict>>) -> (Option<Arc<Verdict>>, CacheOutcome) {
    let o = if v.is_some() {
        CacheOutcome::Hit
    } else {
        CacheOutcome::Miss
    };
    (v, o)
}

pub(crate) fn redis_key(prefix: &str, key: &[u8; 32]) -> String {
    format!("{prefix}cache:{}", hex::encode(key))
}

async fn redis_get(
    link: &RedisLink,
    prefix: &str,
    key: &[u8; 32],
) -> Result<Option<Arc<Verdict>>, LinkError> {
    let mut c = link.conn()?;
    let raw: Option<Vec<u8>> = link.run(c.get(redis_key(prefix, key))).await?;
    // An entry we cannot read (older format) is a miss, not an error.
    Ok(raw
        .and_then(|b| serde_json::from_slice::<Verdict>(&b).ok())
        .map(Arc::new))
}
