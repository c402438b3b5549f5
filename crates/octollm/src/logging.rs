//! Structured logs: human-readable by default, JSON with `OCTOLLM_LOG_FORMAT=json`.

use tracing_subscriber::EnvFilter;

use crate::config::ServerConfig;

pub fn init(server: &ServerConfig) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .or_else(|| EnvFilter::try_new(&server.log_level).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests, embedded use) keeps the first subscriber.
    let _ = if server.log_format.eq_ignore_ascii_case("json") {
        builder.json().with_current_span(true).try_init()
    } else {
        builder.try_init()
    };
}
