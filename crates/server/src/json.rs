//! A JSON body extractor whose failures are SPEC §2 errors.
//!
//! axum's `Json` answers 415 when the content type is missing (as with a
//! plain `curl -d`), and its messages are not in our envelope. This one reads
//! the bytes under the router's body limit and classifies what went wrong:
//! too large (413), not UTF-8 (400), not JSON (400), JSON of the wrong shape (422).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// A deserialised JSON body.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|rej| body_rejection(&rej))?;
        parse(&bytes).map(ApiJson)
    }
}

/// The SPEC §2 error for a body that could not be read: 413 over the limit,
/// 400 otherwise.
pub fn body_rejection(rej: &BytesRejection) -> ApiError {
    if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            "Request body exceeds the configured size limit",
        )
    } else {
        ApiError::bad_request("BAD_BODY", format!("Could not read request body: {rej}"))
    }
}

/// Parses a JSON body, classifying failures as SPEC §2 errors.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(ApiError::bad_request(
            "INVALID_UTF8",
            format!(
                "Request body is not valid UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ),
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "EMPTY_BODY",
            "Request body is empty; a JSON object is required",
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => ApiError::unprocessable(format!("Invalid request: {e}")),
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::bad_request("MALFORMED_JSON", format!("Malformed JSON: {e}"))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Body {
        text: String,
    }

    #[test]
    fn classifies_failures() {
        let cases: [(&[u8], StatusCode, &str); 5] = [
            (b"{\"text\": ", StatusCode::BAD_REQUEST, "MALFORMED_JSON"),
            (b"not json", StatusCode::BAD_REQUEST, "MALFORMED_JSON"),
            (
                b"{\"text\": 5}",
                StatusCode::UNPROCESSABLE_ENTITY,
                "VALIDATION_ERROR",
            ),
            (b"\xff\xfe", StatusCode::BAD_REQUEST, "INVALID_UTF8"),
            (b"  ", StatusCode::BAD_REQUEST, "EMPTY_BODY"),
        ];
        for (body, status, code) in cases {
            let err = parse::<Body>(body).unwrap_err();
            assert_eq!((err.status, err.code.as_str()), (status, code));
        }
        assert_eq!(parse::<Body>(b"{\"text\":\"hi\"}").unwrap().text, "hi");
    }
}
