//! Errors of the executor's library API.

#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    #[error("sandbox: {0}")]
    Sandbox(#[from] octollm_sandbox::SandboxError),
    /// The sandbox could not be set up at start-up, so nothing is executed.
    #[error("the sandbox is unavailable on this host, so nothing is executed: {0}")]
    SandboxUnavailable(String),
    /// The command policy refused the command line.
    #[error("{0}")]
    Denied(octollm_policy::Denial),
    #[error("invalid executor configuration: {0}")]
    Config(String),
    /// A blocking task (sandbox start-up or an execution) did not finish.
    #[error("{0} task failed: {1}")]
    Task(&'static str, String),
    #[error("the executor is shutting down")]
    ShuttingDown,
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}
