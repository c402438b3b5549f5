//! The error envelope every `/api/v1` endpoint answers with (SPEC §2).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `{"error": {...}, "request_id": "..."}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
    pub request_id: String,
}

/// The inner error: a stable machine code, a human sentence and free-form details.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ErrorBody {
    /// `UPPER_SNAKE` code that clients switch on.
    pub code: String,
    /// A sentence for humans.
    pub message: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub details: Value,
}
