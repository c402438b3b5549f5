//! `GET /v1/models` (and `/models` under an OpenAI base without `/v1`): the
//! model list each API serves, in its own shape. A request that carries
//! `anthropic-version` or `x-api-key` is Anthropic's; the others OpenAI's.

use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use serde_json::{json, Value};

use crate::record::{Api, RecordedRequest};
use crate::reply::render_error;
use crate::server::{check_key, record, respond, Shared};

/// What the server lists until told otherwise: the vendors' default models.
pub(crate) fn default_models() -> Vec<String> {
    vec!["gpt-4o-mini".into(), "claude-3-5-haiku-20241022".into()]
}

/// Anthropic's page size when the request names none.
const ANTHROPIC_DEFAULT_LIMIT: usize = 20;

pub(crate) fn list(s: &Shared, uri: &Uri, headers: &HeaderMap) -> Response {
    let api = if headers.contains_key("anthropic-version") || headers.contains_key("x-api-key") {
        Api::Anthropic
    } else {
        Api::OpenAi
    };
    let r: RecordedRequest = record(s, api, uri.path(), headers, &[]);
    if let Some((status, msg)) = check_key(s, &r) {
        return respond(status, render_error(api, status, &msg), &[]);
    }
    if api == Api::Anthropic && r.header("anthropic-version").is_none() {
        let msg = "anthropic-version: header is required";
        return respond(400, render_error(api, 400, msg), &[]);
    }
    let ids = s.models.lock().clone();
    let body = match api {
        Api::OpenAi => openai(&ids),
        Api::Anthropic => anthropic(&ids, limit(uri)),
    };
    respond(200, body.to_string(), &[])
}

fn openai(ids: &[String]) -> Value {
    let data: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 1_700_000_000u64, "owned_by": "fake-llm"}))
        .collect();
    json!({"object": "list", "data": data})
}

/// One page from the start: `limit` models, `has_more` when there are more.
fn anthropic(ids: &[String], limit: usize) -> Value {
    let page = &ids[..ids.len().min(limit)];
    let data: Vec<Value> = page
        .iter()
        .map(|id| {
            json!({
                "type": "model",
                "id": id,
                "display_name": id,
                "created_at": "2024-10-22T00:00:00Z"
            })
        })
        .collect();
    json!({
        "data": data,
        "has_more": ids.len() > page.len(),
        "first_id": page.first(),
        "last_id": page.last(),
    })
}

/// The `limit` query parameter, 1 to 1000 as the API accepts.
fn limit(uri: &Uri) -> usize {
    uri.query()
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("limit="))
        .and_then(|v| v.parse::<usize>().ok())
        .map_or(ANTHROPIC_DEFAULT_LIMIT, |n| n.clamp(1, 1000))
}
