//! Typed errors of the orchestrator library.

/// Failures of the task store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot prepare the data directory: {0}")]
    Io(#[from] std::io::Error),
    #[error("stored document is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("invalid database URL: {0}")]
    Url(String),
    #[error("no answer from the database within {} s", .0.as_secs_f64())]
    Timeout(std::time::Duration),
}

impl StoreError {
    /// PostgreSQL answered that the database named in the URL does not
    /// exist (SQLSTATE 3D000): the orchestrator makes its tables, not the
    /// database.
    pub fn is_missing_database(&self) -> bool {
        matches!(self, StoreError::Db(sqlx::Error::Database(e)) if e.code().as_deref() == Some("3D000"))
    }
}

impl StoreError {
    /// A failure that may pass by itself: the database unreachable or
    /// restarting, the pool out of connections, a lock or a serialisation
    /// conflict, the disk full. The same call may succeed a moment later.
    pub fn is_transient(&self) -> bool {
        let StoreError::Db(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_) => true,
            sqlx::Error::Database(d) => match Code::of(d.as_ref()) {
                Code::Postgres(state) => {
                    // 08: connection exception; 53: insufficient resources
                    // (disk full, out of memory, too many connections).
                    state.starts_with("08")
                        || state.starts_with("53")
                        || matches!(
                            state,
                            "57P01" | "57P02" | "57P03" | "40001" | "40P01" | "58030"
                        )
                }
                // BUSY, LOCKED, IOERR, FULL.
                Code::Sqlite(code) => matches!(code & 0xff, 5 | 6 | 10 | 13),
                Code::Other => false,
            },
            _ => false,
        }
    }

    /// The database's disk is full (SQLITE_FULL, or PostgreSQL's
    /// `disk_full`): writes fail until space is freed.
    pub fn is_full(&self) -> bool {
        let StoreError::Db(sqlx::Error::Database(d)) = self else {
            return false;
        };
        match Code::of(d.as_ref()) {
            Code::Postgres(state) => state == "53100",
            Code::Sqlite(code) => code & 0xff == 13,
            Code::Other => false,
        }
    }
}

/// A database error's code, by backend.
enum Code<'a> {
    /// The SQLSTATE.
    Postgres(&'a str),
    /// The extended result code; its low byte is the primary code.
    Sqlite(i32),
    Other,
}

impl<'a> Code<'a> {
    fn of(e: &'a dyn sqlx::error::DatabaseError) -> Code<'a> {
        if let Some(pg) = e.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
            return Code::Postgres(pg.code());
        }
        if e.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
            if let Some(code) = e.code().and_then(|c| c.parse().ok()) {
                return Code::Sqlite(code);
            }
        }
        Code::Other
    }
}

/// Failures while starting the orchestrator.
#[derive(Debug, thiserror::Error)]
pub enum OrchestratorError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("LLM provider: {0}")]
    Llm(#[from] octollm_llm::LlmError),
}
