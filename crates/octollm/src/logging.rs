//! Structured logs: human-readable by default, JSON with `OCTOLLM_LOG_FORMAT=json`.

use tracing_subscriber::EnvFilter;

use crate::config::ServerConfig;

pub fn init(server: &ServerConfig) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .or_else(|| EnvFilter::try_new(&server.log_level).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    // Colour only for a person at a terminal: a log file or a pipe gets
    // plain text, and NO_COLOR (https://no-color.org) turns it off anyway.
    let colour = colour_for(
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    // A second init (tests, embedded use) keeps the first subscriber.
    let _ = if server.log_format.eq_ignore_ascii_case("json") {
        builder.json().with_current_span(true).try_init()
    } else {
        builder.try_init()
    };
}

fn colour_for(terminal: bool, no_color: bool) -> bool {
    terminal && !no_color
}

#[cfg(test)]
mod tests {
    use super::colour_for;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour_for(true, false));
        assert!(!colour_for(false, false));
        assert!(!colour_for(true, true));
        assert!(!colour_for(false, true));
    }
}
