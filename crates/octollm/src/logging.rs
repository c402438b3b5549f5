//! Structured logs: human-readable by default, JSON with `OCTOLLM_LOG_FORMAT=json`;
//! and, when an OTLP endpoint is configured, traces (see [`crate::telemetry`]).

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::ServerConfig;

/// Sets up logging for `service` (the default `service.name` of its traces).
pub fn init(server: &ServerConfig, service: &str) {
    // Spans made for the export alone never reach the log output; with
    // export off nothing enables them, so they are not even created.
    let off = format!("{}=off", octollm_server::trace::TARGET);
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .or_else(|| EnvFilter::try_new(&server.log_level).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let filter = match off.parse() {
        Ok(d) => filter.add_directive(d),
        Err(_) => filter,
    };
    // Colour only for a person at a terminal: a log file or a pipe gets
    // plain text, and NO_COLOR (https://no-color.org) turns it off anyway.
    let colour = colour_for(
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
    );
    let json = server.log_format.eq_ignore_ascii_case("json");
    let (tracer, problem) = match crate::telemetry::wanted(|k| std::env::var(k).ok()) {
        Ok(false) => (None, None),
        Ok(true) => match crate::telemetry::tracer(service) {
            Ok(t) => (Some(t), None),
            Err(e) => (None, Some(e)),
        },
        Err(e) => (None, Some(e)),
    };
    let Some(tracer) = tracer else {
        // No OpenTelemetry layer at all: logging exactly as without traces.
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(colour)
            .with_writer(std::io::stderr);
        // A second init (tests, embedded use) keeps the first subscriber.
        let _ = if json {
            builder.json().with_current_span(true).try_init()
        } else {
            builder.try_init()
        };
        if let Some(e) = problem {
            tracing::warn!("traces are not exported: {e}");
        }
        return;
    };
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let fmt = if json {
        fmt.json()
            .with_current_span(true)
            .with_filter(filter)
            .boxed()
    } else {
        fmt.with_filter(filter).boxed()
    };
    // Traces do not follow the log level: every span and event at info and
    // above goes to the exporter whatever RUST_LOG says.
    let otel = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_tracked_inactivity(false)
        .with_threads(false)
        .with_target(false)
        .with_filter(LevelFilter::INFO);
    if tracing_subscriber::registry()
        .with(fmt)
        .with(otel)
        .try_init()
        .is_ok()
    {
        octollm_server::trace::enable(opentelemetry_sdk::propagation::TraceContextPropagator::new());
        tracing::info!(service, "exporting traces over OTLP/HTTP");
    }
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
