//! The task store: one interface, an SQLite and a PostgreSQL backend.
//!
//! Both backends share the SQL text (written with `$N` placeholders, which
//! SQLite reads as `?N`), the row types and the queue protocol; only the
//! claim differs, because PostgreSQL needs `FOR UPDATE SKIP LOCKED` to let
//! concurrent claimers pass each other while SQLite serialises writers and
//! makes the single `UPDATE … RETURNING` atomic by itself.
//!
//! Every write a worker makes on behalf of a claimed task is fenced by its
//! lease owner, so a worker that lost its lease cannot overwrite the state
//! written by the one that took the task over.
//!
//! Writes made for a task or a request are traced (`store.write`, with the
//! method as `db.operation.name`); the queue's own housekeeping (claims,
//! lease renewals, the retention sweep) is not, or every poll would start
//! a trace of its own.

mod rows;

use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::{Pool, PoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use erase::EraseOutcome;
pub use files::{ArtifactRow, FileRow};
pub use inspect::{Migrations, StoreStatus};
pub use revisions::{NewRevision, RevisionRow};
pub use rows::{
    CancelOutcome, DecideOutcome, EventRow, NewStep, NewTask, StepFinish, StepRow, TaskFinish,
    TaskRow,
};

use octollm_server::trace::TARGET;

use crate::config::OrchestratorConfig;
use crate::error::StoreError;

#[derive(Clone, Debug)]
enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A handle to the store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
}

/// Statuses a claimed task can be in.
const OPEN: &str = "('pending', 'planning', 'executing', 'awaiting_approval')";

fn sqlite_sql(sql: &str) -> String {
    sql.replace('$', "?")
}

/// Runs `$body` with `$pool` bound to the backend's pool and `$t` turning
/// the shared SQL text into the backend's dialect.
macro_rules! with_db {
    ($store:expr, |$pool:ident, $t:ident| $body:expr) => {
        match &$store.backend {
            Backend::Sqlite($pool) => {
                let $t = |s: &str| sqlite_sql(s);
                $body
            }
            Backend::Postgres($pool) => {
                let $t = |s: &str| s.to_string();
                $body
            }
        }
    };
}

/// One statement whose rows `$fetch` reads (`fetch_one`, `fetch_optional`,
/// `fetch_all`); the row type comes from the caller.
macro_rules! fetch {
    ($store:expr, $fetch:ident, $sql:expr $(, $bind:expr)* $(,)?) => {
        with_db!($store, |pool, t| {
            sqlx::query_as(&t($sql))$(.bind($bind))*.$fetch(pool).await?
        })
    };
}

/// One write; true when it changed exactly one row (for a lease-fenced
/// write, false means the lease is gone).
macro_rules! changed_one {
    ($store:expr, $sql:expr $(, $bind:expr)* $(,)?) => {
        with_db!($store, |pool, t| {
            sqlx::query(&t($sql))$(.bind($bind))*.execute(pool).await?.rows_affected()
        }) == 1
    };
}

/// Inserts each `&NewStep` of `$steps` as a pending row of task `$id`
/// inside the transaction `$tx`; a row already there is kept. A plan and
/// its revisions write their steps alike.
macro_rules! insert_pending_steps {
    ($tx:expr, $t:expr, $id:expr, $steps:expr) => {
        for s in $steps {
            sqlx::query(&$t(
                "INSERT INTO steps (task_id, step, action, required_arm, tool_call, \
                 depends_on, status) VALUES ($1, $2, $3, $4, $5, $6, 'pending') \
                 ON CONFLICT (task_id, step) DO NOTHING",
            ))
            .bind($id)
            .bind(s.step)
            .bind(&s.action)
            .bind(&s.required_arm)
            .bind(&s.tool_call)
            .bind(&s.depends_on)
            .execute(&mut *$tx)
            .await?;
        }
    };
}

// After the macros: textual scoping makes them visible to these.
mod approvals;
mod erase;
mod events;
mod files;
mod inspect;
mod queue;
mod revisions;
mod steps;
mod tasks;

/// The migrations this build applies, per backend.
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Where the configured store lives, read from `database_url`.
enum Target {
    /// No URL: the SQLite file in the data directory.
    Embedded(std::path::PathBuf),
    SqliteUrl(SqliteConnectOptions),
    Postgres(PgConnectOptions),
}

impl Target {
    fn of(config: &OrchestratorConfig) -> Result<Target, StoreError> {
        let url = config.database_url.trim();
        let bad = |e: sqlx::Error| StoreError::Url(e.to_string());
        if url.is_empty() {
            Ok(Target::Embedded(config.sqlite_path()))
        } else if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url)
                .map(Target::SqliteUrl)
                .map_err(bad)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            PgConnectOptions::from_str(url)
                .map(Target::Postgres)
                .map_err(bad)
        } else {
            Err(StoreError::Url(
                "expected postgres://, postgresql:// or sqlite: (or empty for the embedded store)"
                    .into(),
            ))
        }
    }
}

/// A pool of at most `max` connections that waits up to 10 s for one.
async fn pool<DB: sqlx::Database>(
    options: PoolOptions<DB>,
    connect: <DB::Connection as sqlx::Connection>::Options,
    max: u32,
) -> Result<Pool<DB>, sqlx::Error> {
    options
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(connect)
        .await
}

/// Current time in Unix milliseconds, the store's time unit.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// SQLite writes one transaction at a time, and every connection's page
/// cache is dropped whenever another one commits: past a few connections a
/// larger pool only adds re-reads and thread hand-offs. Measured with
/// `scripts/bench/task-throughput` (see docs/BENCHMARKS.md).
const SQLITE_MAX_CONNECTIONS: u32 = 4;

impl Store {
    /// Opens the configured backend and runs its migrations.
    pub async fn connect(config: &OrchestratorConfig) -> Result<Store, StoreError> {
        let max = config.database_max_connections.max(2);
        match Target::of(config)? {
            Target::Embedded(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let opts = SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                Self::open_sqlite(opts, max).await
            }
            Target::SqliteUrl(opts) => {
                let opts = opts
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                Self::open_sqlite(opts, max).await
            }
            Target::Postgres(opts) => {
                let pool = pool(PgPoolOptions::new(), opts, max).await?;
                POSTGRES_MIGRATIONS.run(&pool).await?;
                Ok(Store {
                    backend: Backend::Postgres(pool),
                })
            }
        }
    }

    async fn open_sqlite(opts: SqliteConnectOptions, max: u32) -> Result<Store, StoreError> {
        let pool = pool(
            SqlitePoolOptions::new(),
            opts,
            max.min(SQLITE_MAX_CONNECTIONS),
        )
        .await?;
        SQLITE_MIGRATIONS.run(&pool).await?;
        Ok(Store {
            backend: Backend::Sqlite(pool),
        })
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// The backend as OpenTelemetry's `db.system` names it.
    fn db_system(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgresql",
        }
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        with_db!(self, |pool, t| {
            sqlx::query(&t("SELECT 1")).execute(pool).await?;
        });
        Ok(())
    }

    pub async fn close(&self) {
        with_db!(self, |pool, _t| pool.close().await)
    }
}
