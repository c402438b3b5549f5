//! W3C trace context across the services, for OpenTelemetry traces.
//!
//! The binary installs the exporter and calls [`enable`]; the services only
//! hand the context on, all through this module:
//!
//! | where | what |
//! |---|---|
//! | every request ([`crate::finish`]) | the caller's `traceparent` becomes the parent of the request span |
//! | every call to another service | [`headers`] carries the current span's context as `traceparent` |
//! | work queued for later (a task) | [`traceparent`] is stored with it, [`resume`] makes the worker's span its child |
//!
//! Until [`enable`] runs everything here is one relaxed atomic load: no
//! propagator, no header read, no allocation. Spans that exist only for the
//! export use the target [`TARGET`], which the log output never enables, so
//! with export off they are never created either.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The target of spans made for the export alone (screening, planning, LLM
/// calls, sandbox runs, store writes). The log output filters it off.
pub const TARGET: &str = "octollm::trace";

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns propagation on with `propagator` (the SDK's W3C
/// `TraceContextPropagator`). The binary calls this once it has put an
/// OpenTelemetry layer in the subscriber; without one, contexts would be
/// extracted for nothing.
pub fn enable(propagator: impl TextMapPropagator + Send + Sync + 'static) {
    opentelemetry::global::set_text_map_propagator(propagator);
    ENABLED.store(true, Ordering::Relaxed);
}

/// Whether traces are exported by this process.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

struct HeaderCarrier<'a>(&'a HeaderMap);

impl Extractor for HeaderCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct HeaderSink<'a>(&'a mut HeaderMap);

impl Injector for HeaderSink<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(k, v);
        }
    }
}

/// Routes that are probed or scraped every few seconds: unless the caller
/// sends a trace, their requests are not sampled (nor the calls they make,
/// which inherit the decision), so probes do not fill the trace store.
const PROBES: [&str; 3] = ["/health", "/ready", "/metrics"];

/// Makes `span` (a request span, just opened) continue the caller's trace
/// from its `traceparent`/`tracestate` headers, or start one, and records
/// the trace id in its `trace_id` field for the logs.
pub(crate) fn continue_from(span: &Span, headers: &HeaderMap, route: Option<&str>) {
    let parent =
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderCarrier(headers)));
    if !parent.span().span_context().is_valid() && route.is_some_and(|r| PROBES.contains(&r)) {
        let unsampled = SpanContext::new(
            TraceId::from_bytes(rand::random()),
            SpanId::from_bytes(rand::random()),
            TraceFlags::default(),
            true,
            TraceState::default(),
        );
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(unsampled));
        return;
    }
    adopt(span, parent);
}

/// The headers that carry the current span's context to another service:
/// add them to every inter-service request (`RequestBuilder::headers`).
/// Empty when traces are off.
pub fn headers() -> HeaderMap {
    let mut map = HeaderMap::new();
    if enabled() {
        let cx = Span::current().context();
        opentelemetry::global::get_text_map_propagator(|p| {
            p.inject_context(&cx, &mut HeaderSink(&mut map))
        });
    }
    map
}

/// The current span's context as a `traceparent` value, to be stored with
/// work that another process or a later moment picks up. `None` when traces
/// are off or nothing is being traced.
pub fn traceparent() -> Option<String> {
    if !enabled() {
        return None;
    }
    let cx = Span::current().context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier: HashMap<String, String> = HashMap::new();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut carrier));
    carrier.remove("traceparent")
}

/// Makes `span` (just opened) a child of a stored `traceparent`, so work
/// picked up from a queue stays in the trace that queued it; without one it
/// starts a trace of its own. Records `trace_id` like [`continue_from`].
pub fn resume(span: &Span, traceparent: Option<&str>) {
    if !enabled() {
        return;
    }
    let parent = match traceparent {
        Some(tp) => {
            let carrier = HashMap::from([("traceparent".to_string(), tp.to_string())]);
            opentelemetry::global::get_text_map_propagator(|p| p.extract(&carrier))
        }
        None => opentelemetry::Context::new(),
    };
    adopt(span, parent);
}

fn adopt(span: &Span, parent: opentelemetry::Context) {
    if parent.span().span_context().is_valid() {
        // Fails only for a span the OpenTelemetry layer does not see
        // (filtered out); it then has no trace to join anyway.
        let _ = span.set_parent(parent);
    }
    let id = span.context().span().span_context().trace_id();
    if id != opentelemetry::TraceId::INVALID {
        span.record("trace_id", tracing::field::display(id));
    }
}

/// Sets an attribute on `span`'s exported span only (the logs never see
/// it), for attributes whose names are not known in advance.
pub fn set_attribute(
    span: &Span,
    key: impl Into<opentelemetry::Key>,
    value: impl Into<opentelemetry::Value>,
) {
    if enabled() {
        span.set_attribute(key, value);
    }
}

/// Records a request span's response status; a 5xx marks it failed.
pub(crate) fn response_status(span: &Span, status: u16) {
    span.set_attribute("http.response.status_code", i64::from(status));
    if status >= 500 {
        span.set_status(opentelemetry::trace::Status::error(format!(
            "HTTP {status}"
        )));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Nothing in this test binary calls `enable`.
    #[test]
    fn off_nothing_is_read_sent_or_stored() {
        assert!(!enabled());
        let span = tracing::info_span!("request", trace_id = tracing::field::Empty);
        let _entered = span.enter();
        assert!(headers().is_empty());
        assert_eq!(traceparent(), None);
        resume(
            &span,
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        );
        assert_eq!(
            opentelemetry::global::get_text_map_propagator(|p| p.fields().count()),
            0
        );
    }
}
