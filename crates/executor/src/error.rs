//! Errors of the executor's library API.

#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    #[error("sandbox: {0}")]
    Sandbox(#[from] octollm_sandbox::SandboxError),
    #[error("{0}")]
    Denied(String),
    #[error("invalid executor configuration: {0}")]
    Config(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}
