//! How a failure becomes an MCP answer.
//!
//! A tool that ran and failed (a refused command, an unknown task, a goal
//! the reflex layer rejects) answers with a result marked `isError`, so the
//! model sees why and can correct itself; its structured content is the
//! HTTP API's error envelope (`{"error": {"code", "message", "details"}}`)
//! with the same code the API would send. Arguments that do not match a
//! tool's input schema never reach a tool: the SDK answers them with a
//! JSON-RPC `invalid params` error.

use octollm_orchestrator::ClientError;
use octollm_server::ApiError;
use rmcp::model::CallToolResult;
use serde_json::{json, Value};

/// A tool error carrying the API's `code`.
pub fn tool_error(code: &str, message: &str, details: Value) -> CallToolResult {
    let mut error = json!({"code": code, "message": message});
    if !details.is_null() {
        error["details"] = details;
    }
    CallToolResult::structured_error(json!({ "error": error }))
}

/// An error a component answered with in-process.
pub fn from_api(e: &ApiError) -> CallToolResult {
    tool_error(&e.code, &e.message, e.details.clone())
}

/// A failed call to the orchestrator: its envelope when it sent one,
/// otherwise the codes `octollm run --json` uses for the same failures.
pub fn from_client(e: &ClientError) -> CallToolResult {
    if let Some(env) = e.envelope() {
        return tool_error(
            &env.error.code,
            &env.error.message,
            env.error.details.clone(),
        );
    }
    let code = if e.is_unreachable() {
        "ORCHESTRATOR_UNREACHABLE"
    } else {
        "ORCHESTRATOR_ERROR"
    };
    tool_error(code, &e.to_string(), Value::Null)
}

/// A successful result: `value` as structured content and as JSON text.
pub fn ok(value: &impl serde::Serialize) -> CallToolResult {
    match serde_json::to_value(value) {
        Ok(v) => CallToolResult::structured(v),
        Err(e) => tool_error("INTERNAL_ERROR", &e.to_string(), Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_error_is_flagged_and_keeps_the_code() {
        let r = tool_error("COMMAND_NOT_ALLOWED", "no", json!({"command": "rm"}));
        assert_eq!(r.is_error, Some(true));
        let s = r.structured_content.unwrap_or_default();
        assert_eq!(s["error"]["code"], "COMMAND_NOT_ALLOWED");
        assert_eq!(s["error"]["details"]["command"], "rm");
        let r = tool_error("NOT_FOUND", "gone", Value::Null);
        let s = r.structured_content.unwrap_or_default();
        assert!(s["error"].get("details").is_none());
    }

    #[test]
    fn an_unreachable_orchestrator_has_the_cli_code() {
        let e = ClientError::Unexpected("x".into());
        let s = from_client(&e).structured_content.unwrap_or_default();
        assert_eq!(s["error"]["code"], "ORCHESTRATOR_ERROR");
    }
}
