//! A Redis connection that may come and go.
//!
//! Calls never wait longer than the configured timeout: on any failure the
//! caller falls back to in-process state, and the link reports itself
//! disconnected until a background probe reaches Redis again.
//!
//! The probe owns reconnecting: a connection whose PING fails is dropped
//! and a fresh one made on the next probe, a second later. (A
//! self-reconnecting `ConnectionManager` backs off for up to a minute
//! between attempts once Redis has been away a few seconds, so a restarted
//! Redis would go unused that long.)

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use redis::aio::MultiplexedConnection;
use redis::AsyncConnectionConfig;

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("redis is not connected")]
    Disconnected,
    #[error("redis call timed out")]
    Timeout,
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

/// Shared handle; clone freely.
#[derive(Clone)]
pub struct RedisLink {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    conn: RwLock<Option<MultiplexedConnection>>,
    connected: AtomicBool,
    timeout: Duration,
}

impl RedisLink {
    /// Parses `url` and starts connecting in the background; a Redis that
    /// is down at start-up is picked up when it comes back.
    pub fn start(url: &str, timeout: Duration) -> Result<Self, LinkError> {
        let client = redis::Client::open(url)?;
        let link = RedisLink {
            inner: Arc::new(Inner {
                client,
                conn: RwLock::new(None),
                connected: AtomicBool::new(false),
                timeout,
            }),
        };
        let weak = Arc::downgrade(&link.inner);
        tokio::spawn(async move {
            while let Some(inner) = weak.upgrade() {
                RedisLink { inner }.probe().await;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        Ok(link)
    }

    /// Connects now, waiting at most `wait` (used at start-up and in tests).
    pub async fn connect_now(&self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        while tokio::time::Instant::now() < deadline {
            self.probe().await;
            if self.is_connected() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    async fn probe(&self) {
        let existing = self.inner.conn.read().clone();
        let conn = match existing {
            Some(c) => Some(c),
            None => {
                let config =
                    AsyncConnectionConfig::new().set_connection_timeout(Duration::from_secs(2));
                let connect = self
                    .inner
                    .client
                    .get_multiplexed_async_connection_with_config(&config);
                match tokio::time::timeout(Duration::from_secs(2), connect).await {
                    Ok(Ok(c)) => {
                        *self.inner.conn.write() = Some(c.clone());
                        Some(c)
                    }
                    _ => None,
                }
            }
        };
        let ok = match conn {
            Some(mut c) => {
                let cmd = redis::cmd("PING");
                let ping = cmd.query_async::<String>(&mut c);
                matches!(
                    tokio::time::timeout(Duration::from_secs(1), ping).await,
                    Ok(Ok(_))
                )
            }
            None => false,
        };
        if !ok {
            // Start over with a fresh connection on the next probe.
            *self.inner.conn.write() = None;
        }
        self.inner.connected.store(ok, Ordering::Relaxed);
    }

    pub fn is_connected(&self) -> bool {
        self.inner.connected.load(Ordering::Relaxed)
    }

    /// A connection to run one command on, if Redis is believed up.
    pub fn conn(&self) -> Result<MultiplexedConnection, LinkError> {
        if !self.is_connected() {
            return Err(LinkError::Disconnected);
        }
        self.inner
            .conn
            .read()
            .clone()
            .ok_or(LinkError::Disconnected)
    }

    /// Runs `fut` under the link's timeout; a failure marks the link down
    /// until the next successful probe.
    pub async fn run<T, F>(&self, fut: F) -> Result<T, LinkError>
    where
        F: std::future::Future<Output = Result<T, redis::RedisError>>,
    {
        let res = match tokio::time::timeout(self.inner.timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(LinkError::Redis(e)),
            Err(_) => Err(LinkError::Timeout),
        };
        if res.is_err() {
            self.inner.connected.store(false, Ordering::Relaxed);
        }
        res
    }
}

/// Reaches the Redis at `url` once, apart from any link, within `wait`:
/// answers `PING`, then the server's version (`redis_version` of `INFO
/// server`, or "" when the server does not say).
pub async fn server_version(url: &str, wait: Duration) -> Result<String, LinkError> {
    let client = redis::Client::open(url)?;
    let check = async {
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await?;
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query_async(&mut conn)
            .await?;
        Ok::<_, LinkError>(
            info.lines()
                .find_map(|l| l.strip_prefix("redis_version:"))
                .unwrap_or("")
                .trim()
                .to_string(),
        )
    };
    tokio::time::timeout(wait, check)
        .await
        .map_err(|_| LinkError::Timeout)?
}
