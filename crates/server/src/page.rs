//! Files a browser loads from a service (the web console, the `/docs`
//! page), all served with the same protective headers.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// `body` as `content_type` under `csp`, not to be sniffed as another type,
/// framed, or given a referrer; revalidated on every load, since a new
/// binary brings new files.
pub fn static_file(
    content_type: &'static str,
    csp: &'static str,
    body: impl Into<axum::body::Body>,
) -> Response {
    let mut response = (StatusCode::OK, body.into()).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-cache"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
