//! The HTTP exchange shared by both backends: send, time out, classify.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT};
use serde_json::Value;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use crate::stream::{DeltaStream, SseEvent, StreamState};
use crate::{ChatRequest, Completion, LlmError, Provider};
use octollm_server::resilience::parse_retry_after;

/// What any backend is built from; blank strings mean the backend's
/// defaults.
pub struct ProviderSettings<'a> {
    pub client: reqwest::Client,
    pub base_url: &'a str,
    pub model: &'a str,
    pub api_key: &'a str,
    pub max_tokens: u32,
    pub temperature: f64,
}

/// What every backend knows of the endpoint it calls.
pub struct Endpoint {
    client: reqwest::Client,
    url: String,
    /// Where the provider lists its models.
    models_url: String,
    pub(crate) model: String,
    pub(crate) api_key: String,
    /// `kind:model`, the provider named in errors.
    name: String,
    pub(crate) max_tokens: u32,
    pub(crate) temperature: f64,
}

impl Endpoint {
    /// The endpoint of backend `B` under the configured base URL (else
    /// `default_base`), asking for the configured model (else
    /// `default_model`); `paths` makes the chat and the model-list URLs of
    /// the base.
    pub(crate) fn new<B: Backend>(
        s: ProviderSettings<'_>,
        (default_base, default_model): (&str, &str),
        paths: impl FnOnce(&str) -> (String, String),
    ) -> Self {
        let model = or_default(s.model, default_model);
        let (url, models_url) = paths(or_default(s.base_url, default_base).trim_end_matches('/'));
        Endpoint {
            client: s.client,
            url,
            models_url,
            name: format!("{}:{model}", B::KIND),
            model: model.to_string(),
            api_key: s.api_key.trim().to_string(),
            max_tokens: s.max_tokens,
            temperature: s.temperature,
        }
    }

    pub(crate) fn malformed(&self, message: String) -> LlmError {
        LlmError::Malformed {
            provider: self.name.clone(),
            message,
        }
    }
}

/// A backend's own part of one attempt: the headers, the body and the
/// reading of the reply; the exchange itself is the same for all.
// `pub` in a private module so the blanket `Provider` impl may name it.
pub trait Backend: Send + Sync {
    /// The backend kind for metrics (`Provider::kind`).
    const KIND: &'static str;
    fn endpoint(&self) -> &Endpoint;
    /// Adds the backend's own headers (credentials, API version).
    fn add_headers(&self, headers: &mut HeaderMap) -> Result<(), LlmError>;
    fn body(&self, req: &ChatRequest) -> Value;
    /// Reads a 2xx reply; `prompt_chars` estimates usage the server left out.
    fn parse(&self, v: &Value, prompt_chars: usize) -> Result<Completion, LlmError>;
    /// The body asking for the same answer as server-sent events.
    fn stream_body(&self, req: &ChatRequest) -> Value {
        let mut body = self.body(req);
        body["stream"] = Value::Bool(true);
        body
    }
    /// Reads one event of a streamed answer into `state`: the text it
    /// adds, if any.
    fn read_event(
        provider: &str,
        event: &SseEvent,
        state: &mut StreamState,
    ) -> Result<Option<String>, LlmError>;
}

impl<B: Backend> Provider for B {
    fn kind(&self) -> &'static str {
        B::KIND
    }

    fn model(&self) -> &str {
        &self.endpoint().model
    }

    fn complete<'a>(
        &'a self,
        request: &'a ChatRequest,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Completion, LlmError>> {
        async move {
            let mut headers = HeaderMap::new();
            self.add_headers(&mut headers)?;
            let body = self.body(request);
            let e = self.endpoint();
            let post = e.client.post(&e.url).headers(headers).json(&body);
            let v = exchange(&e.name, post, timeout).await?;
            self.parse(&v, prompt_chars(request))
        }
        .boxed()
    }

    fn stream<'a>(
        &'a self,
        request: &'a ChatRequest,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<DeltaStream, LlmError>> {
        async move {
            let mut headers = HeaderMap::new();
            self.add_headers(&mut headers)?;
            headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
            let body = self.stream_body(request);
            let e = self.endpoint();
            let exchange = async {
                let post = e.client.post(&e.url).headers(headers).json(&body);
                let res = send(&e.name, post, timeout).await?;
                let status = res.status().as_u16();
                if (200..300).contains(&status) {
                    return Ok(res);
                }
                let retry_after = parse_retry_after(res.headers());
                let text = res
                    .text()
                    .await
                    .map_err(|err| transport_error(&e.name, err, timeout))?;
                Err(classify(&e.name, status, retry_after, &text))
            };
            let res = tokio::time::timeout(timeout, exchange)
                .await
                .map_err(|_| LlmError::Timeout {
                    provider: e.name.clone(),
                    after_ms: millis(timeout),
                })??;
            Ok(DeltaStream::new(
                res,
                B::read_event,
                &e.name,
                &e.model,
                timeout,
                prompt_chars(request),
            ))
        }
        .boxed()
    }

    fn list_models(&self, timeout: Duration) -> BoxFuture<'_, Result<Vec<String>, LlmError>> {
        async move {
            let mut headers = HeaderMap::new();
            self.add_headers(&mut headers)?;
            let e = self.endpoint();
            let request = e.client.get(&e.models_url).headers(headers);
            let v = exchange(&e.name, request, timeout).await?;
            // Both APIs list `{"data": [{"id": …}, …]}`.
            let ids = v
                .get("data")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    e.malformed(format!("no data array in {}", snippet(&v.to_string())))
                })?
                .iter()
                .filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_string))
                .collect();
            Ok(ids)
        }
        .boxed()
    }
}

/// The characters of the prompt, for estimating usage a server left out.
fn prompt_chars(request: &ChatRequest) -> usize {
    request
        .messages
        .iter()
        .map(|m| m.content.len() + m.tool_call.as_ref().map_or(0, |c| c.arguments.len()))
        .sum()
}

/// A configured value, trimmed; blank means `default`.
pub(crate) fn or_default<'a>(value: &'a str, default: &'a str) -> &'a str {
    match value.trim() {
        "" => default,
        v => v,
    }
}

/// A header built from configuration; `what` names the setting when it
/// holds characters a header cannot carry.
pub(crate) fn header_value(value: &str, what: &str) -> Result<HeaderValue, LlmError> {
    HeaderValue::from_str(value)
        .map_err(|_| LlmError::Config(format!("{what} holds invalid characters")))
}

/// Sends `request` and returns the parsed JSON of a 2xx answer, or the
/// error class the status and transport failure belong to.
async fn exchange(
    provider: &str,
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<Value, LlmError> {
    let exchange = async {
        let res = send(provider, request, timeout).await?;
        let status = res.status().as_u16();
        let retry_after = parse_retry_after(res.headers());
        let text = res
            .text()
            .await
            .map_err(|e| transport_error(provider, e, timeout))?;
        Ok::<_, LlmError>((status, retry_after, text))
    };
    let (status, retry_after, text) =
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| LlmError::Timeout {
                provider: provider.to_string(),
                after_ms: millis(timeout),
            })??;

    if (200..300).contains(&status) {
        return serde_json::from_str(&text).map_err(|e| LlmError::Malformed {
            provider: provider.to_string(),
            message: format!("body is not JSON ({e}): {}", snippet(&text)),
        });
    }
    Err(classify(provider, status, retry_after, &text))
}

/// Sends the request; the answer whatever its status.
async fn send(
    provider: &str,
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<reqwest::Response, LlmError> {
    request
        .send()
        .await
        .map_err(|e| transport_error(provider, e, timeout))
}

/// The error class a non-2xx answer belongs to.
fn classify(provider: &str, status: u16, retry_after: Option<Duration>, text: &str) -> LlmError {
    let message = error_message(text);
    let provider = provider.to_string();
    match status {
        429 => LlmError::RateLimited {
            provider,
            message,
            retry_after,
        },
        401 | 403 => LlmError::Auth {
            provider,
            status,
            message,
        },
        // 408 and 5xx (including Anthropic's 529 "overloaded") are transient.
        408 | 500..=599 => LlmError::Server {
            provider,
            status,
            message,
            retry_after,
        },
        _ => LlmError::Rejected {
            provider,
            status,
            message,
        },
    }
}

fn transport_error(provider: &str, e: reqwest::Error, timeout: Duration) -> LlmError {
    if e.is_timeout() {
        LlmError::Timeout {
            provider: provider.to_string(),
            after_ms: millis(timeout),
        }
    } else {
        LlmError::Connect {
            provider: provider.to_string(),
            message: error_chain(&e),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Both vendors put the sentence at `error.message`.
pub(crate) fn error_message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| snippet(body))
}

pub(crate) fn snippet(text: &str) -> String {
    let s: String = text.chars().take(200).collect();
    if s.is_empty() {
        "(empty body)".to_string()
    } else {
        s
    }
}

/// Usage when the server reported none: about four characters per token.
pub(crate) fn estimate_tokens(chars: usize) -> u64 {
    (chars as u64).div_ceil(4)
}

/// The completion of a reply body `v` whose text has been extracted: token
/// counts from the API's usage fields (named differently per API), estimated
/// from lengths when the server sent none; the model the server names, else
/// the one asked for.
pub(crate) fn completion(
    v: &serde_json::Value,
    (text, tool_call): (String, Option<crate::ToolUse>),
    prompt_chars: usize,
    requested_model: &str,
    (input_field, output_field): (&str, &str),
) -> Completion {
    let usage = v.get("usage");
    let count = |field: &str| {
        usage
            .and_then(|u| u.get(field))
            .and_then(serde_json::Value::as_u64)
    };
    Completion {
        prompt_tokens: count(input_field).unwrap_or(estimate_tokens(prompt_chars)),
        completion_tokens: count(output_field).unwrap_or(estimate_tokens(text.chars().count())),
        model: v
            .get("model")
            .and_then(serde_json::Value::as_str)
            .unwrap_or(requested_model)
            .to_string(),
        text,
        tool_call,
    }
}
