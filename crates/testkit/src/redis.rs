//! Sharing one real Redis between tests.
//!
//! Suites run in parallel against the same Redis, so every test writes under
//! a key prefix of its own ([`unique_prefix`]) and deletes what it wrote
//! afterwards ([`delete_prefix`]); no test sees another's keys and nothing
//! piles up between runs.

/// The test Redis: `OCTOLLM_TEST_REDIS_URL`, else the local default.
pub fn url() -> String {
    std::env::var("OCTOLLM_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A key prefix no other test run uses: `octollm-test:<tag>:<unique>:`.
pub fn unique_prefix(tag: &str) -> String {
    format!("octollm-test:{tag}:{}:", crate::unique_name("run"))
}

/// A connection to the Redis at `url`; panics when it cannot be reached.
pub async fn connect(url: &str) -> ::redis::aio::MultiplexedConnection {
    let client = ::redis::Client::open(url).unwrap_or_else(|e| panic!("Redis URL {url}: {e}"));
    client
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("Redis at {url} must be reachable: {e}"))
}

/// The keys matching `pattern` (a `KEYS` glob).
pub async fn keys(url: &str, pattern: &str) -> Vec<String> {
    keys_on(&mut connect(url).await, pattern).await
}

/// Deletes every key under `prefix`; the number deleted.
pub async fn delete_prefix(url: &str, prefix: &str) -> usize {
    let mut c = connect(url).await;
    let found = keys_on(&mut c, &format!("{prefix}*")).await;
    if found.is_empty() {
        return 0;
    }
    ::redis::cmd("DEL")
        .arg(&found)
        .query_async(&mut c)
        .await
        .expect("DEL")
}

async fn keys_on(c: &mut ::redis::aio::MultiplexedConnection, pattern: &str) -> Vec<String> {
    ::redis::cmd("KEYS")
        .arg(pattern)
        .query_async(c)
        .await
        .expect("KEYS")
}
