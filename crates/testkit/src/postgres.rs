//! Sharing one real PostgreSQL between tests.
//!
//! Suites and benchmarks run against the same database, so each works in a
//! schema of its own, first on its search path, and drops it afterwards; no
//! run sees another's tables.

use sqlx::Executor;

/// The test database: `OCTOLLM_TEST_DATABASE_URL`, else the local default.
pub fn url() -> String {
    std::env::var("OCTOLLM_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The test database with `schema` as its search path, so every
/// unqualified table lives in `schema`.
pub fn schema_url(schema: &str) -> String {
    let base = url();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

/// Creates `schema` on the test database; panics when PostgreSQL cannot be
/// reached, so an unreachable database fails the test instead of passing it.
pub async fn create_schema(schema: &str) {
    execute(&format!("CREATE SCHEMA {schema}")).await;
}

/// Drops `schema` and everything in it; an error means the scratch schema
/// is left behind, so it panics.
pub async fn drop_schema(schema: &str) {
    execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
}

/// Runs `sql` on the test database, on a connection of its own; panics
/// when it fails.
pub async fn execute(sql: &str) {
    let url = url();
    let pool = sqlx::PgPool::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must be reachable at {url}: {e}"));
    pool.execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    pool.close().await;
}
