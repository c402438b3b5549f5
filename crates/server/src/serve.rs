//! Assembling and running a service.

use std::future::Future;
use std::net::SocketAddr;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use utoipa_axum::router::OpenApiRouter;

use crate::{auth, metrics, middleware, openapi, ApiKeys, HttpMetrics, MetricsRegistry};

/// What [`finish`] needs to wrap a component's router.
#[derive(Clone)]
pub struct ServiceOptions {
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    pub api_keys: ApiKeys,
    pub metrics: MetricsRegistry,
}

/// Adds `/metrics` and the layers every service shares to `router`.
///
/// Layer order, outermost first: request context (id, panic containment,
/// envelopes) → metrics → API keys → body limit → the handler.
///
/// The router's OpenAPI document, completed by [`openapi::complete`], is
/// served at `/openapi.json` and rendered at `/docs`.
pub fn finish(router: OpenApiRouter, opts: ServiceOptions) -> Router {
    let (router, api) = router.split_for_parts();
    let api = openapi::complete(api);
    let router = router.merge(openapi::routes(&api));
    let http_metrics = HttpMetrics::register(&opts.metrics);
    let registry = opts.metrics.clone();
    let component = opts.metrics.service();
    router
        .route(
            "/metrics",
            get(move || {
                let registry = registry.clone();
                async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        registry.render(),
                    )
                }
            }),
        )
        .layer(DefaultBodyLimit::max(opts.body_limit))
        .layer(axum::middleware::from_fn_with_state(
            opts.api_keys,
            auth::require_api_key,
        ))
        .layer(axum::middleware::from_fn_with_state(
            http_metrics,
            metrics::track,
        ))
        .layer(axum::middleware::from_fn_with_state(
            component,
            middleware::request_context,
        ))
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
