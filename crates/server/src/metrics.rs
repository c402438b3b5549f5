//! Prometheus metrics: a shared registry and the HTTP metrics every service emits.
//!
//! Routes are labelled by their template (`/api/v1/tasks/{id}`), never by the
//! raw URI, so the number of series is bounded by the routes we define.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use parking_lot::Mutex;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Latency buckets in seconds, from 50 µs (a reflex scan) to 60 s (a task).
pub const LATENCY_BUCKETS: [f64; 18] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 15.0, 60.0,
];

pub fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS.into_iter())
}

/// Declares a service's set of metric families once: each field with its
/// type, its starting value (`Default::default()` unless given) and the name
/// it is registered under, so a family cannot be declared without being
/// registered, or registered under a second name. A field's doc comment is
/// its help text, so the Rust docs and `/metrics` say the same thing.
///
/// The set gets `new()` (the families, in no registry yet), `add_to(&self,
/// reg)` (registers them; they share their values with `self`) and
/// `register(reg)` (both at once).
///
/// ```
/// use prometheus_client::metrics::counter::Counter;
/// use prometheus_client::metrics::histogram::Histogram;
///
/// octollm_server::metric_set! {
///     pub struct DemoMetrics {
///         /// Hits
///         pub hits: Counter => "demo_hits",
///         /// Time per hit
///         pub seconds: Histogram = octollm_server::metrics::latency_histogram()
///             => "demo_seconds",
///     }
/// }
///
/// let reg = octollm_server::MetricsRegistry::new("demo");
/// let m = DemoMetrics::register(&reg);
/// m.hits.inc();
/// let text = reg.render();
/// assert!(text.contains("# HELP octollm_demo_hits Hits.\n"), "{text}");
/// assert!(text.contains("octollm_demo_hits_total 1"));
/// ```
#[macro_export]
macro_rules! metric_set {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[doc = $help:literal])+
                $fvis:vis $field:ident : $ty:ty $(= $init:expr)? => $metric:literal
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone)]
        $vis struct $name {
            $($(#[doc = $help])+ $fvis $field: $ty,)*
        }

        impl ::std::default::Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl $name {
            /// The families, not yet in any registry.
            $vis fn new() -> Self {
                $name {
                    $($field: $crate::metric_set!(@init $($init)?),)*
                }
            }

            /// Adds the families to `reg` (they share their values with `self`).
            $vis fn add_to(&self, reg: &$crate::MetricsRegistry) {
                $(reg.register($metric, concat!($($help),+).trim(), self.$field.clone());)*
            }

            /// The families, added to `reg`.
            // A set created before its registry exists uses `new` and `add_to` only.
            #[allow(dead_code)]
            $vis fn register(reg: &$crate::MetricsRegistry) -> Self {
                let m = Self::new();
                m.add_to(reg);
                m
            }
        }
    };
    (@init) => {
        ::std::default::Default::default()
    };
    (@init $init:expr) => {
        $init
    };
}

/// The registry every metric of one service lives in, prefixed `octollm_`.
#[derive(Clone)]
pub struct MetricsRegistry {
    inner: Arc<Mutex<Registry>>,
    process: ProcessMetrics,
    service: Arc<str>,
}

#[derive(Clone, Default)]
struct ProcessMetrics {
    started: Option<Instant>,
    uptime: Gauge<f64, std::sync::atomic::AtomicU64>,
    resident: Gauge,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
    service: String,
}

impl MetricsRegistry {
    pub fn new(service: &str) -> Self {
        let mut reg = Registry::with_prefix("octollm");
        let build: Family<BuildLabels, Gauge> = Family::default();
        build
            .get_or_create(&BuildLabels {
                version: octollm_types::VERSION.to_string(),
                service: service.to_string(),
            })
            .set(1);
        reg.register("build_info", "Build version of this service", build);
        let process = ProcessMetrics {
            started: Some(Instant::now()),
            ..Default::default()
        };
        reg.register(
            "process_uptime_seconds",
            "Seconds since the service started",
            process.uptime.clone(),
        );
        reg.register(
            "process_resident_memory_bytes",
            "Resident set size of the process",
            process.resident.clone(),
        );
        MetricsRegistry {
            inner: Arc::new(Mutex::new(reg)),
            process,
            service: Arc::from(service),
        }
    }

    /// The service this registry belongs to (its `build_info` label).
    pub fn service(&self) -> Arc<str> {
        self.service.clone()
    }

    /// Registers a metric under `octollm_<name>`.
    pub fn register(
        &self,
        name: &str,
        help: &str,
        metric: impl prometheus_client::registry::Metric,
    ) {
        self.inner.lock().register(name, help, metric);
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        if let Some(started) = self.process.started {
            self.process.uptime.set(started.elapsed().as_secs_f64());
        }
        self.process.resident.set(resident_bytes());
        let mut out = String::with_capacity(8 * 1024);
        // Encoding into a String cannot fail.
        let _ = encode(&mut out, &self.inner.lock());
        out
    }
}

fn resident_bytes() -> i64 {
    // statm's second field is resident pages.
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<i64>().ok())
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

metric_set! {
    /// Request count, latency and concurrency, by route template.
    pub struct HttpMetrics {
        /// HTTP requests by route template, method and status
        requests: Family<RequestLabels, Counter> => "http_requests",
        /// HTTP request latency by route template
        latency: Family<RouteLabels, Histogram> = Family::new_with_constructor(latency_histogram)
            => "http_request_duration_seconds",
        /// HTTP requests being served
        in_flight: Gauge => "http_requests_in_flight",
    }
}

pub(crate) async fn track(State(m): State<HttpMetrics>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    m.in_flight.inc();
    let res = next.run(req).await;
    m.in_flight.dec();
    m.latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    m.requests
        .get_or_create(&RequestLabels {
            route,
            method,
            status: res.status().as_u16(),
        })
        .inc();
    res
}
