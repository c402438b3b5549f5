//! Per-request context: id, panic containment, error envelopes, client identity.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use tracing::field::Empty;
use tracing::Instrument;

use crate::{trace, ApiError};

pub(crate) const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of the current request: the caller's `X-Request-ID` when it is
/// sane, otherwise a fresh UUID. Handlers read it from request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Who is calling, for rate limiting and audit: the presented API key (if
/// any) and the peer address.
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    pub api_key: Option<String>,
    pub ip: IpAddr,
}

impl ClientIdentity {
    /// The rate-limit key: API key, else the given user id, else the IP.
    pub fn rate_key(&self, user_id: Option<&str>) -> String {
        match (&self.api_key, user_id) {
            (Some(k), _) => format!("key:{k}"),
            (None, Some(u)) if !u.is_empty() => format!("user:{u}"),
            _ => format!("ip:{}", self.ip),
        }
    }
}

fn acceptable_request_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    ok.then(|| s.to_string())
}

pub(crate) fn presented_api_key(req: &Request) -> Option<String> {
    let headers = req.headers();
    if let Some(v) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(v.trim().to_string());
    }
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = auth.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// Outermost layer: assigns the request id, opens the request span (in the
/// caller's trace when traces are on), turns a panic into a 500 envelope,
/// and renders every error as the SPEC §2 envelope. `component` names the
/// service in the exported span.
pub(crate) async fn request_context(
    State(component): State<Arc<str>>,
    mut req: Request,
    next: Next,
) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(acceptable_request_id)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let identity = ClientIdentity {
        api_key: presented_api_key(&req),
        ip,
    };
    req.extensions_mut().insert(RequestId(id.clone()));
    req.extensions_mut().insert(identity);

    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path(),
        trace_id = Empty, otel.name = Empty, otel.kind = Empty);
    // Kept past the handler only when traced, to record the status on it.
    let traced = trace::enabled().then(|| {
        traced_request(&span, &req, &component);
        span.clone()
    });
    let result = AssertUnwindSafe(next.run(req).instrument(span))
        .catch_unwind()
        .await;
    let mut res = match result {
        Ok(res) => res,
        Err(_) => {
            tracing::error!(request_id = %id, "handler panicked");
            ApiError::internal("The server hit an internal error; the request had no effect")
                .into_response()
        }
    };
    render_error(&mut res, &id);
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    if let Some(span) = traced {
        trace::response_status(&span, res.status().as_u16());
    }
    res
}

/// Names the request span as HTTP server spans are named (`POST
/// /api/v1/tasks`, the route template, never the raw path) and joins the
/// caller's trace.
fn traced_request(span: &tracing::Span, req: &Request, component: &str) {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let method = req.method().as_str();
    span.record(
        "otel.name",
        match route {
            Some(r) => format!("{method} {r}"),
            None => method.to_string(),
        },
    );
    span.record("otel.kind", "server");
    trace::continue_from(span, req.headers(), route);
    trace::set_attribute(span, "http.request.method", method.to_string());
    if let Some(r) = route {
        trace::set_attribute(span, "http.route", r.to_string());
    }
    trace::set_attribute(span, "octollm.component", component.to_string());
}

/// Writes the envelope for an `ApiError`, or for any bare error response
/// produced by axum itself (unknown route, wrong method).
fn render_error(res: &mut Response, request_id: &str) {
    let err = match res.extensions_mut().remove::<ApiError>() {
        Some(e) => e,
        None if res.status().is_client_error() || res.status().is_server_error() => {
            let is_json = res
                .headers()
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
            if is_json {
                return;
            }
            generic_error(res.status())
        }
        None => return,
    };
    let body = err.envelope(request_id).to_string();
    *res.body_mut() = Body::from(body);
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res.headers_mut().remove(header::CONTENT_LENGTH);
}

fn generic_error(status: StatusCode) -> ApiError {
    let (code, msg) = match status {
        StatusCode::NOT_FOUND => ("NOT_FOUND", "No such endpoint"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "METHOD_NOT_ALLOWED",
            "This endpoint does not accept that HTTP method",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "PAYLOAD_TOO_LARGE",
            "Request body exceeds the configured size limit",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("UNSUPPORTED_MEDIA_TYPE", "Send a JSON body"),
        StatusCode::REQUEST_TIMEOUT => ("TIMEOUT", "The request timed out"),
        s if s.is_server_error() => ("INTERNAL_ERROR", "The server hit an internal error"),
        _ => ("BAD_REQUEST", "The request was not understood"),
    };
    ApiError::new(status, code, msg)
}
