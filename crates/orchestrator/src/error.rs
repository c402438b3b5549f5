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
