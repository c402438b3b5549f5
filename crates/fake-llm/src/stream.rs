//! Streamed answers (`"stream": true`) as each API sends them: OpenAI's
//! `data: {chunk}` lines ending in `data: [DONE]`, Anthropic's named events
//! from `message_start` to `message_stop`.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde_json::{json, Value};

use crate::record::Api;
use crate::reply::FakeReply;

/// One server-sent event, and whether it carries a delta of the text.
struct Frame {
    text: String,
    delta: bool,
}

/// The reply's text cut into deltas of `chunk_chars` characters.
fn deltas(reply: &FakeReply) -> Vec<String> {
    let n = if reply.chunk_chars == 0 {
        3
    } else {
        reply.chunk_chars
    };
    let chars: Vec<char> = reply.content.chars().collect();
    chars.chunks(n).map(|c| c.iter().collect()).collect()
}

fn data(v: &Value) -> String {
    format!("data: {v}\n\n")
}

fn event(name: &str, v: &Value) -> String {
    format!("event: {name}\ndata: {v}\n\n")
}

fn frames(reply: &FakeReply, api: Api, model: &str, usage: (u64, u64), seq: u64) -> Vec<Frame> {
    let (prompt, completion) = usage;
    let control = |text: String| Frame { text, delta: false };
    let delta = |text: String| Frame { text, delta: true };
    let mut out = Vec::new();
    match api {
        Api::OpenAi => {
            let id = format!("chatcmpl-fake-{seq}");
            let created = 1_700_000_000u64 + seq;
            let chunk = |delta: Value, finish: Value| {
                json!({
                    "id": id, "object": "chat.completion.chunk", "created": created,
                    "model": model,
                    "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
                })
            };
            out.push(control(data(&chunk(
                json!({"role": "assistant", "content": ""}),
                Value::Null,
            ))));
            for d in deltas(reply) {
                out.push(delta(data(&chunk(json!({"content": d}), Value::Null))));
            }
            out.push(control(data(&chunk(json!({}), json!("stop")))));
            // Sent whether or not the client asked with stream_options,
            // as several compatible servers do; clients must cope.
            out.push(control(data(&json!({
                "id": id, "object": "chat.completion.chunk", "created": created,
                "model": model, "choices": [],
                "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                          "total_tokens": prompt + completion},
            }))));
            out.push(control("data: [DONE]\n\n".into()));
        }
        Api::Anthropic => {
            out.push(control(event(
                "message_start",
                &json!({"type": "message_start", "message": {
                    "id": format!("msg_fake_{seq}"), "type": "message", "role": "assistant",
                    "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
                    "usage": {"input_tokens": prompt, "output_tokens": 1},
                }}),
            )));
            out.push(control(event(
                "content_block_start",
                &json!({"type": "content_block_start", "index": 0,
                        "content_block": {"type": "text", "text": ""}}),
            )));
            out.push(control(event("ping", &json!({"type": "ping"}))));
            for d in deltas(reply) {
                out.push(delta(event(
                    "content_block_delta",
                    &json!({"type": "content_block_delta", "index": 0,
                            "delta": {"type": "text_delta", "text": d}}),
                )));
            }
            out.push(control(event(
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": 0}),
            )));
            out.push(control(event(
                "message_delta",
                &json!({"type": "message_delta",
                        "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                        "usage": {"output_tokens": completion}}),
            )));
            out.push(control(event(
                "message_stop",
                &json!({"type": "message_stop"}),
            )));
        }
    }
    if let Some(cut) = reply.cut_after_chunks {
        // Everything up to the cut-th delta, then the connection ends.
        let mut seen = 0;
        let keep = out
            .iter()
            .position(|f| {
                if f.delta {
                    seen += 1;
                }
                f.delta && seen > cut
            })
            .unwrap_or(out.len());
        out.truncate(keep);
    }
    out
}

/// The reply as a `text/event-stream` response, each delta after the
/// reply's `chunk_delay_ms`.
pub(crate) fn respond(
    reply: &FakeReply,
    api: Api,
    model: &str,
    prompt_chars: usize,
    seq: u64,
) -> Response {
    let model = reply.model.as_deref().unwrap_or(model);
    let frames = frames(reply, api, model, reply.usage_for(prompt_chars), seq);
    let delay = Duration::from_millis(reply.chunk_delay_ms);
    let body = stream::unfold(frames.into_iter(), move |mut it| async move {
        let f = it.next()?;
        if f.delta && !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Some((Ok::<_, std::convert::Infallible>(Bytes::from(f.text)), it))
    });
    let mut res = (StatusCode::OK, Body::from_stream(body)).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(frames: &[Frame]) -> String {
        frames.iter().map(|f| f.text.as_str()).collect()
    }

    #[test]
    fn openai_stream_ends_with_usage_and_done() {
        let reply = FakeReply::text("hello there");
        let f = frames(&reply, Api::OpenAi, "m", (5, 3), 1);
        let all = texts(&f);
        assert_eq!(f.iter().filter(|f| f.delta).count(), 4, "{all}");
        assert!(all.ends_with("data: [DONE]\n\n"), "{all}");
        assert!(all.contains("\"completion_tokens\":3"), "{all}");
    }

    #[test]
    fn a_cut_stream_stops_after_its_deltas_without_end_events() {
        let reply = FakeReply::text("abcdefghij").cut_after(2);
        let f = frames(&reply, Api::Anthropic, "m", (5, 3), 1);
        let all = texts(&f);
        assert_eq!(f.iter().filter(|f| f.delta).count(), 2, "{all}");
        assert!(!all.contains("message_stop"), "{all}");
        assert!(all.contains("\"text\":\"def\""), "{all}");
    }
}
