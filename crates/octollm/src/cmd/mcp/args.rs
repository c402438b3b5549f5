//! A tool's arguments as the tool sees them.
//!
//! The SDK's own extractor turns arguments that do not fit the schema into
//! an error result with a bare sentence. This one hands the mismatch to the
//! tool, which answers it like every other error: a result marked `isError`
//! with the HTTP API's code for the same mistake in a request body
//! (`VALIDATION_ERROR`), so the model can correct its call. The MCP
//! specification asks for exactly that for argument errors (an execution
//! error, not a JSON-RPC one); the name keeps the SDK's macros deriving the
//! input schema from `T`.

use rmcp::handler::server::common::FromContextPart;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::CallToolResult;
use rmcp::schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::cmd::mcp::errors;

/// The arguments of one call, or the error result for arguments that do
/// not fit `T`.
pub struct Parameters<T>(pub Result<T, CallToolResult>);

impl<T: JsonSchema> JsonSchema for Parameters<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

impl<S, T: DeserializeOwned> FromContextPart<ToolCallContext<'_, S>> for Parameters<T> {
    fn from_context_part(context: &mut ToolCallContext<'_, S>) -> Result<Self, rmcp::ErrorData> {
        let arguments = context.arguments.take().unwrap_or_default();
        Ok(Parameters(
            serde_json::from_value(Value::Object(arguments)).map_err(|e| {
                errors::tool_error(
                    "VALIDATION_ERROR",
                    &format!("Invalid arguments: {e}"),
                    Value::Null,
                )
            }),
        ))
    }
}
