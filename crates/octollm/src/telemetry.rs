//! OpenTelemetry traces over OTLP/HTTP (protobuf), on only when an OTLP
//! endpoint is configured through the standard `OTEL_*` variables.
//!
//! The SDK and the exporter read most variables themselves: endpoint,
//! headers, timeout, sampler, batch delays, resource attributes. Read here:
//! whether export is on at all, and the export timeout, which applies to
//! the HTTP client this module hands the exporter.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{SdkTracerProvider, Tracer};
use opentelemetry_sdk::Resource;

/// The provider in use, kept for [`shutdown`].
static PROVIDER: Mutex<Option<SdkTracerProvider>> = Mutex::new(None);

/// Whether the environment asks for trace export: an OTLP endpoint is set,
/// the SDK is not disabled, and the traces exporter is OTLP. `Err` says why
/// a setting is not followed (export then stays off).
pub fn wanted(var: impl Fn(&str) -> Option<String>) -> Result<bool, String> {
    let set = |k: &str| var(k).filter(|v| !v.trim().is_empty());
    if set("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return Ok(false);
    }
    let endpoints = [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ];
    if endpoints.iter().all(|k| set(k).is_none()) {
        return Ok(false);
    }
    // The exporter would quietly fall back to localhost for a value it
    // cannot parse; a typo is better said.
    for k in endpoints {
        if let Some(v) = set(k) {
            match reqwest::Url::parse(v.trim()) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                _ => return Err(format!("{k}={v} is not an http:// or https:// URL")),
            }
        }
    }
    match set("OTEL_TRACES_EXPORTER").map(|v| v.trim().to_ascii_lowercase()) {
        None => {}
        Some(v) if v == "otlp" => {}
        Some(v) if v == "none" => return Ok(false),
        Some(v) => {
            return Err(format!(
                "OTEL_TRACES_EXPORTER={v} is not supported; only otlp (or none) is"
            ))
        }
    }
    let protocol =
        set("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").or_else(|| set("OTEL_EXPORTER_OTLP_PROTOCOL"));
    match protocol.map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(true),
        Some(p) if p == "http/protobuf" => Ok(true),
        Some(p) => Err(format!(
            "OTLP protocol {p} is not supported; traces are sent as http/protobuf only"
        )),
    }
}

/// The export timeout: `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`, else
/// `OTEL_EXPORTER_OTLP_TIMEOUT`, in milliseconds; 10 s by default.
fn export_timeout(var: impl Fn(&str) -> Option<String>) -> Duration {
    [
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
    ]
    .iter()
    .find_map(|k| var(k).and_then(|v| v.trim().parse::<u64>().ok()))
    .map_or(Duration::from_secs(10), Duration::from_millis)
}

/// The resource: what the standard variables say, with `default_service` as
/// the service name unless `OTEL_SERVICE_NAME` or `OTEL_RESOURCE_ATTRIBUTES`
/// name one.
fn resource(default_service: &str) -> Resource {
    let detected = Resource::builder().build();
    let named = detected
        .get(&opentelemetry::Key::from_static_str("service.name"))
        .is_some_and(|v| !v.as_str().starts_with("unknown_service"));
    let builder = Resource::builder()
        .with_attribute(KeyValue::new("service.version", octollm_types::VERSION));
    if named {
        builder.build()
    } else {
        builder
            .with_service_name(default_service.to_string())
            .build()
    }
}

/// Builds the exporting tracer for `service`, or says why it cannot.
/// Called only when [`wanted`] said yes.
pub fn tracer(service: &str) -> Result<Tracer, String> {
    let env = |k: &str| std::env::var(k).ok();
    let client = Export::new(export_timeout(env))?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_http_client(client)
        .build()
        .map_err(|e| format!("OTLP exporter: {e}"))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource(service))
        .build();
    let tracer = provider.tracer("octollm");
    if let Ok(mut slot) = PROVIDER.lock() {
        *slot = Some(provider);
    }
    Ok(tracer)
}

/// Sends what is still queued and stops the exporter; a no-op when traces
/// are off. Called once, as the process ends.
pub fn shutdown() {
    let provider = PROVIDER.lock().ok().and_then(|mut p| p.take());
    if let Some(p) = provider {
        if let Err(e) = p.shutdown() {
            eprintln!("warning: traces not all sent: {e}");
        }
    }
}

/// The exporter's HTTP client. The SDK exports from a thread of its own,
/// outside any async runtime, and reqwest's client needs one: each export
/// runs to completion on a small runtime owned by this client.
#[derive(Debug)]
struct Export {
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Export {
    fn new(timeout: Duration) -> Result<Export, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            // Exports are seconds apart and the runtime is idle in
            // between: a kept connection would only go stale.
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|e| format!("OTLP HTTP client: {e}"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("OTLP export runtime: {e}"))?;
        Ok(Export { client, runtime })
    }
}

impl HttpClient for Export {
    fn send_bytes<'a, 'f>(
        &'a self,
        request: Request<Bytes>,
    ) -> Pin<Box<dyn Future<Output = Result<Response<Bytes>, HttpError>> + Send + 'f>>
    where
        'a: 'f,
        Self: 'f,
    {
        Box::pin(async move { self.runtime.block_on(self.client.send_bytes(request)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn off_unless_an_endpoint_is_set() {
        assert_eq!(wanted(env(&[])), Ok(false));
        assert_eq!(
            wanted(env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")])),
            Ok(false)
        );
        assert_eq!(wanted(env(&[("OTEL_SERVICE_NAME", "x")])), Ok(false));
        assert_eq!(
            wanted(env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")])),
            Ok(true)
        );
        assert_eq!(
            wanted(env(&[(
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://c:4318/v1/traces"
            )])),
            Ok(true)
        );
    }

    #[test]
    fn an_endpoint_that_is_not_a_url_is_refused() {
        for bad in ["collector:4318", "localhost", "grpc://c:4317"] {
            assert!(
                wanted(env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", bad)])).is_err(),
                "{bad}"
            );
        }
        assert!(wanted(env(&[(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "c/v1/traces"
        )]))
        .is_err());
        assert_eq!(
            wanted(env(&[(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "https://c.example:443"
            )])),
            Ok(true)
        );
    }

    #[test]
    fn the_sdk_switch_and_the_exporter_choice_turn_it_off() {
        let on = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318");
        assert_eq!(wanted(env(&[on, ("OTEL_SDK_DISABLED", "TRUE")])), Ok(false));
        assert_eq!(wanted(env(&[on, ("OTEL_SDK_DISABLED", "false")])), Ok(true));
        assert_eq!(
            wanted(env(&[on, ("OTEL_TRACES_EXPORTER", "none")])),
            Ok(false)
        );
        assert_eq!(
            wanted(env(&[on, ("OTEL_TRACES_EXPORTER", "otlp")])),
            Ok(true)
        );
        assert!(wanted(env(&[on, ("OTEL_TRACES_EXPORTER", "zipkin")])).is_err());
    }

    #[test]
    fn only_http_protobuf_is_spoken() {
        let on = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318");
        assert_eq!(
            wanted(env(&[on, ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")])),
            Ok(true)
        );
        assert!(wanted(env(&[on, ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")])).is_err());
        assert!(wanted(env(&[
            on,
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json")
        ]))
        .is_err());
    }

    #[test]
    fn the_timeout_prefers_the_traces_variable() {
        assert_eq!(export_timeout(env(&[])), Duration::from_secs(10));
        assert_eq!(
            export_timeout(env(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "2500")])),
            Duration::from_millis(2500)
        );
        assert_eq!(
            export_timeout(env(&[
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
                ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "700")
            ])),
            Duration::from_millis(700)
        );
    }
}
