//! The OpenAPI 3.1 document of a service, and its `/openapi.json` and
//! `/docs` routes.
//!
//! Each service registers its handlers through `utoipa_axum`'s
//! `OpenApiRouter` with `routes!`, so a handler's route and its entry in
//! the document come from the same `#[utoipa::path]` attribute and cannot
//! drift apart. [`complete`] then adds what every service shares: the
//! `/metrics`, `/openapi.json` and `/docs` routes, the API-key schemes, and
//! the error envelope as the `default` response of every operation (every
//! error this server sends, axum's own rejections included, is that
//! envelope; see [`crate::middleware`]).

use axum::body::Bytes;
use axum::routing::get;
use axum::Router;
use octollm_types::error::ErrorEnvelope;
use utoipa::openapi::path::{HttpMethod, Operation, OperationBuilder, PathItem};
use utoipa::openapi::response::{ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::page::static_file;

/// Same origin only; no inline code, no framing.
pub const DOCS_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
form-action 'none'; frame-ancestors 'none'";

const DOCS_HTML: &[u8] = include_bytes!("../docs/index.html");
const DOCS_JS: &[u8] = include_bytes!("../docs/docs.js");
const DOCS_CSS: &[u8] = include_bytes!("../docs/docs.css");

/// Paths every service has besides its own.
const SHARED: &[(&str, &str, &str, &str)] = &[
    (
        "/metrics",
        "metrics",
        "Prometheus metrics of this service",
        "text/plain; version=0.0.4; charset=utf-8",
    ),
    (
        "/openapi.json",
        "openapi",
        "This document (OpenAPI 3.1)",
        "application/json",
    ),
    (
        "/docs",
        "docs",
        "This document rendered for reading",
        "text/html; charset=utf-8",
    ),
    (
        "/docs/docs.js",
        "docs_script",
        "The script of the /docs page",
        "text/javascript; charset=utf-8",
    ),
    (
        "/docs/docs.css",
        "docs_style",
        "The style sheet of the /docs page",
        "text/css; charset=utf-8",
    ),
];

/// Adds the shared paths, the security schemes and the `default` error
/// response to a service's document.
pub fn complete(mut api: OpenApi) -> OpenApi {
    api.openapi = utoipa::openapi::OpenApiVersion::Version31;
    for (path, id, summary, content_type) in SHARED {
        let op = plain_get(id, "service", summary, "200", Some(content_type));
        api.paths
            .paths
            .insert((*path).to_string(), PathItem::new(HttpMethod::Get, op));
    }
    let components = api.components.get_or_insert_with(Default::default);
    components
        .schemas
        .insert("ErrorEnvelope".into(), ErrorEnvelope::schema());
    let mut nested = Vec::new();
    ErrorEnvelope::schemas(&mut nested);
    for (name, schema) in nested {
        components.schemas.entry(name).or_insert(schema);
    }
    components.security_schemes.insert(
        "bearer".into(),
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    components.security_schemes.insert(
        "api_key".into(),
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
    );
    let error = ResponseBuilder::new()
        .description("An error, in the error envelope")
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "ErrorEnvelope",
                ))))
                .build(),
        )
        .build();
    for item in api.paths.paths.values_mut() {
        for op in operations(item) {
            op.responses
                .responses
                .entry("default".into())
                .or_insert_with(|| RefOr::T(error.clone()));
        }
    }
    api
}

/// A `GET` whose answer is not JSON described by a type (a page, a file,
/// a redirect): `status` with `content_type` as text, or no body.
pub fn plain_get(
    id: &str,
    tag: &str,
    summary: &str,
    status: &str,
    content_type: Option<&str>,
) -> Operation {
    let mut response = ResponseBuilder::new().description(summary);
    if let Some(ct) = content_type {
        response = response.content(
            ct,
            ContentBuilder::new().schema(Some(String::schema())).build(),
        );
    }
    OperationBuilder::new()
        .operation_id(Some(id))
        .summary(Some(summary))
        .tag(tag)
        .responses(
            ResponsesBuilder::new()
                .response(status, response.build())
                .build(),
        )
        .build()
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
        item.head.as_mut(),
        item.patch.as_mut(),
        item.trace.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// The routes serving `api` as JSON and as a page.
pub fn routes(api: &OpenApi) -> Router {
    let json = Bytes::from(match serde_json::to_vec(api) {
        Ok(v) => v,
        // Serialising our own document cannot fail; should it, say so.
        Err(e) => format!("{{\"error\":\"{e}\"}}").into_bytes(),
    });
    Router::new()
        .route(
            "/openapi.json",
            get(move || {
                let json = json.clone();
                async move { static_file("application/json", DOCS_CONTENT_SECURITY_POLICY, json) }
            }),
        )
        .route(
            "/docs",
            get(|| async {
                static_file(
                    "text/html; charset=utf-8",
                    DOCS_CONTENT_SECURITY_POLICY,
                    DOCS_HTML,
                )
            }),
        )
        .route(
            "/docs/docs.js",
            get(|| async {
                static_file(
                    "text/javascript; charset=utf-8",
                    DOCS_CONTENT_SECURITY_POLICY,
                    DOCS_JS,
                )
            }),
        )
        .route(
            "/docs/docs.css",
            get(|| async {
                static_file(
                    "text/css; charset=utf-8",
                    DOCS_CONTENT_SECURITY_POLICY,
                    DOCS_CSS,
                )
            }),
        )
}
