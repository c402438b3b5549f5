//! One module per subcommand, and what the orchestrator-facing ones share:
//! where the local orchestrator is, the API key, and how a client error
//! becomes an exit code.

pub mod doctor;
pub mod exec;
pub mod mcp;
pub mod plan;
pub mod run;
pub mod scan;
pub mod serve;
pub mod tasks;
pub mod up;

#[cfg(test)]
mod client_tests;

use octollm_orchestrator::{ClientError, OrchestratorClient};

use crate::config::Config;

/// The API key sent to the orchestrator, when it requires one.
const API_KEY_ENV: &str = "OCTOLLM_API_KEY";

/// The orchestrator of this machine's configuration.
pub fn local_url(config: &Config) -> String {
    let host = match config.server.bind.as_str() {
        "0.0.0.0" | "::" | "" => "127.0.0.1".to_string(),
        h if h.contains(':') => format!("[{h}]"),
        h => h.to_string(),
    };
    format!("http://{host}:{}", config.server.orchestrator_port)
}

/// A client of the orchestrator at `url` with the key from `OCTOLLM_API_KEY`.
pub fn client(url: &str) -> Result<OrchestratorClient, ClientError> {
    Ok(OrchestratorClient::new(url)?.with_api_key(std::env::var(API_KEY_ENV).unwrap_or_default()))
}

/// 1 when the orchestrator refused the request (a 4xx envelope: rejected
/// goal, unknown task, task already finished), 2 for everything else.
pub fn exit_code(e: &ClientError) -> u8 {
    match e {
        ClientError::Api { status, .. } if *status < 500 => 1,
        _ => 2,
    }
}
