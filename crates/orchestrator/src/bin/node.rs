//! A bare orchestrator process for tests and benchmarks, until the `octollm`
//! binary serves the orchestrator itself.
//!
//! Reads an `OrchestratorConfig` as JSON from `OCTOLLM_NODE_CONFIG`, listens
//! on `OCTOLLM_NODE_ADDR` (default `127.0.0.1:0`), prints `LISTENING <addr>`
//! once it accepts connections, and shuts down gracefully on SIGTERM.

use std::process::ExitCode;

use octollm_orchestrator::OrchestratorConfig;
use octollm_server::{ApiKeys, MetricsRegistry, ServiceOptions};

fn main() -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let config: OrchestratorConfig = match std::env::var("OCTOLLM_NODE_CONFIG") {
        Ok(json) => serde_json::from_str(&json)?,
        Err(_) => OrchestratorConfig::default(),
    };
    let addr = std::env::var("OCTOLLM_NODE_ADDR").unwrap_or_else(|_| "127.0.0.1:0".into());
    let opts = ServiceOptions {
        body_limit: 1 << 20,
        api_keys: ApiKeys::default(),
        metrics: MetricsRegistry::new("orchestrator"),
    };
    let (router, handle) = octollm_orchestrator::app(config, opts).await?;
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("LISTENING {}", listener.local_addr()?);
    let shutdown = async {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        term.recv().await;
    };
    octollm_server::serve(listener, router, shutdown).await?;
    handle.shutdown().await;
    Ok(())
}
