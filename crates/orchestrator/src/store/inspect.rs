//! The store looked at without changing it (for `octollm doctor`): which
//! backend, the server's version, and which of this build's migrations are
//! applied. Nothing is created or migrated: a SQLite file that does not
//! exist stays absent, and a database without the migrations table is
//! reported as having none applied.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::Connection;

use super::{Store, Target, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
use crate::config::OrchestratorConfig;
use crate::error::StoreError;

/// What [`Store::inspect`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStatus {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// The SQLite file, or PostgreSQL's `host:port/database` (never the
    /// credentials).
    pub location: String,
    /// False when the SQLite file does not exist yet; the orchestrator
    /// creates it at start.
    pub exists: bool,
    /// The server's version (for SQLite, the library's).
    pub server_version: String,
    pub migrations: Migrations,
}

/// This build's migrations against the ones recorded in the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Migrations {
    /// Versions this build knows, in order.
    pub known: Vec<i64>,
    /// Known versions applied from the same text as this build's.
    pub applied: Vec<i64>,
    /// Known versions not applied yet: the orchestrator applies them at start.
    pub pending: Vec<i64>,
    /// Applied versions this build does not know: a newer build migrated
    /// this database.
    pub unknown: Vec<i64>,
    /// Versions recorded as started but not finished.
    pub failed: Vec<i64>,
    /// Versions applied from a text other than this build's (edited after
    /// they ran).
    pub modified: Vec<i64>,
}

/// One row of `_sqlx_migrations`: version, success, checksum.
type Applied = (i64, bool, Vec<u8>);

const APPLIED: &str = "SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version";

impl Migrations {
    fn compare(migrator: &Migrator, rows: &[Applied]) -> Migrations {
        let mut m = Migrations {
            known: migrator.iter().map(|k| k.version).collect(),
            ..Migrations::default()
        };
        for known in migrator.iter() {
            match rows.iter().find(|(v, _, _)| *v == known.version) {
                None => m.pending.push(known.version),
                Some((v, false, _)) => m.failed.push(*v),
                Some((v, true, sum)) if sum.as_slice() != &*known.checksum => m.modified.push(*v),
                Some((v, true, _)) => m.applied.push(*v),
            }
        }
        for (v, success, _) in rows {
            if !migrator.version_exists(*v) {
                if *success {
                    m.unknown.push(*v);
                } else {
                    m.failed.push(*v);
                }
            }
        }
        m
    }

    /// Every known migration applied as this build wrote it, and nothing
    /// else recorded.
    pub fn current(&self) -> bool {
        self.applied.len() == self.known.len()
            && self.unknown.is_empty()
            && self.failed.is_empty()
            && self.modified.is_empty()
    }
}

impl Store {
    /// Reads the configured store's state without changing it, waiting at
    /// most `wait` for the database.
    pub async fn inspect(
        config: &OrchestratorConfig,
        wait: Duration,
    ) -> Result<StoreStatus, StoreError> {
        let work = async {
            match Target::of(config)? {
                Target::Embedded(path) => sqlite(SqliteConnectOptions::new().filename(path)).await,
                Target::SqliteUrl(opts) => sqlite(opts).await,
                Target::Postgres(opts) => {
                    let location = format!(
                        "{}:{}/{}",
                        opts.get_host(),
                        opts.get_port(),
                        opts.get_database().unwrap_or(opts.get_username())
                    );
                    let mut conn = PgConnection::connect_with(&opts).await?;
                    let server_version: String = sqlx::query_scalar("SHOW server_version")
                        .fetch_one(&mut conn)
                        .await?;
                    // `to_regclass` follows the search path, as the
                    // migrations themselves do.
                    let has_table: bool =
                        sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                            .fetch_one(&mut conn)
                            .await?;
                    let rows: Vec<Applied> = if has_table {
                        sqlx::query_as(APPLIED).fetch_all(&mut conn).await?
                    } else {
                        Vec::new()
                    };
                    conn.close().await?;
                    Ok(StoreStatus {
                        backend: "postgres",
                        location,
                        exists: true,
                        server_version,
                        migrations: Migrations::compare(&POSTGRES_MIGRATIONS, &rows),
                    })
                }
            }
        };
        tokio::time::timeout(wait, work)
            .await
            .map_err(|_| StoreError::Timeout(wait))?
    }
}

async fn sqlite(opts: SqliteConnectOptions) -> Result<StoreStatus, StoreError> {
    let path = opts.get_filename().to_path_buf();
    let location = path.display().to_string();
    if !path.exists() {
        return Ok(StoreStatus {
            backend: "sqlite",
            location,
            exists: false,
            server_version: String::new(),
            migrations: Migrations::compare(&SQLITE_MIGRATIONS, &[]),
        });
    }
    // Not `read_only`: a read-only connection to a WAL database leaves the
    // `-wal` and `-shm` files it needs behind, while the last read-write
    // connection to close removes them. Only SELECTs run on it.
    let opts = opts.create_if_missing(false);
    let mut conn = SqliteConnection::connect_with(&opts).await?;
    let server_version: String = sqlx::query_scalar("SELECT sqlite_version()")
        .fetch_one(&mut conn)
        .await?;
    let has_table: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
    )
    .fetch_one(&mut conn)
    .await?;
    let rows: Vec<Applied> = if has_table {
        sqlx::query_as(APPLIED).fetch_all(&mut conn).await?
    } else {
        Vec::new()
    };
    conn.close().await?;
    Ok(StoreStatus {
        backend: "sqlite",
        location,
        exists: true,
        server_version,
        migrations: Migrations::compare(&SQLITE_MIGRATIONS, &rows),
    })
}
