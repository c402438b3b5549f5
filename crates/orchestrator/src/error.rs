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
