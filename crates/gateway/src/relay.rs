//! A streamed answer on its way from the provider to the client: each
//! upstream delta through the [`StreamScreen`], the key charged and the
//! request audited exactly once, however the stream ends.
//!
//! A stream ends one of three ways, and each is recorded:
//! - the provider finishes: the rest is screened and sent, then the usage;
//! - the provider or the screening fails mid-answer: an error event ends
//!   the stream (the text already sent stays sent; nothing unscreened
//!   follows it) and what the provider reported so far is charged;
//! - the client goes away: the relay is dropped, the provider's stream
//!   with it, and what was used so far is charged as `client_closed`.

use std::sync::Arc;
use std::time::Instant;

use octollm_llm::ChatStream;

use crate::gateway::{Answer, Gateway, Outcome, Spent};
use crate::screening::Screened;
use crate::stream::StreamScreen;
use crate::GatewayError;

/// What the client is sent next.
#[derive(Debug)]
pub enum Piece {
    /// Screened, restored text.
    Text(String),
    /// The answer is complete; its usage and cost.
    End(Answer),
    /// The stream cannot go on.
    Failed(GatewayError),
}

enum State {
    Streaming,
    /// The last text went out; the usage goes next.
    Ending(Answer),
    Closed,
}

pub struct Relay {
    gateway: Arc<Gateway>,
    api: &'static str,
    key: String,
    model: String,
    started: Instant,
    tokenized: usize,
    upstream: ChatStream,
    screen: StreamScreen,
    state: State,
}

impl Relay {
    pub(crate) fn new(
        gateway: Arc<Gateway>,
        api: &'static str,
        key: String,
        model: String,
        started: Instant,
        upstream: ChatStream,
        screened: Screened,
    ) -> Self {
        let screen = StreamScreen::new(
            gateway.screener.clone(),
            gateway.redaction,
            screened.vault_id,
            gateway.stream_window,
        );
        Relay {
            gateway,
            api,
            key,
            model,
            started,
            tokenized: screened.tokenized,
            upstream,
            screen,
            state: State::Streaming,
        }
    }

    /// Prompt tokens as far as the provider has said (estimated before it
    /// says).
    pub fn prompt_tokens(&self) -> u64 {
        self.upstream.usage_so_far().prompt_tokens
    }

    /// The next thing to send; `None` once the stream is over.
    pub async fn next(&mut self) -> Option<Piece> {
        loop {
            match std::mem::replace(&mut self.state, State::Closed) {
                State::Closed => return None,
                State::Ending(answer) => return Some(Piece::End(answer)),
                State::Streaming => {}
            }
            self.state = State::Streaming;
            match self.upstream.next().await {
                Ok(Some(delta)) => match self.screen.push(&delta).await {
                    Ok(text) if text.is_empty() => continue,
                    Ok(text) => return Some(Piece::Text(text)),
                    Err(e) => return Some(self.fail(e)),
                },
                Ok(None) => {
                    let rest = match self.screen.finish().await {
                        Ok(rest) => rest,
                        Err(e) => return Some(self.fail(e)),
                    };
                    let answer = self.complete();
                    self.state = State::Ending(answer);
                    if !rest.is_empty() {
                        return Some(Piece::Text(rest));
                    }
                }
                Err(e) => return Some(self.fail(GatewayError::Upstream(e.to_string()))),
            }
        }
    }

    /// Charges and audits the finished answer.
    fn complete(&mut self) -> Answer {
        let (model, spent) = match self.upstream.response() {
            Some(r) => (
                r.model.clone(),
                Spent {
                    prompt_tokens: r.usage.prompt_tokens,
                    completion_tokens: r.usage.completion_tokens,
                    cost_usd: r.usage.cost_usd,
                },
            ),
            None => (self.model.clone(), self.spent_so_far()),
        };
        self.record("ok", spent);
        Answer {
            text: String::new(),
            model,
            prompt_tokens: spent.prompt_tokens,
            completion_tokens: spent.completion_tokens,
            cost_usd: spent.cost_usd,
        }
    }

    fn fail(&mut self, e: GatewayError) -> Piece {
        tracing::warn!(api = self.api, key = %self.key, error = %e, "streamed answer failed");
        let spent = self.spent_so_far();
        self.record(e.code(), spent);
        self.state = State::Closed;
        Piece::Failed(e)
    }

    fn spent_so_far(&self) -> Spent {
        let u = self.upstream.usage_so_far();
        Spent {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            cost_usd: u.cost_usd,
        }
    }

    /// Charged before anything else: the provider was paid.
    fn record(&self, code: &str, spent: Spent) {
        self.gateway.keys.charge(
            &self.key,
            spent.prompt_tokens + spent.completion_tokens,
            spent.cost_usd,
        );
        self.gateway.finish(Outcome {
            api: self.api,
            key: &self.key,
            model: &self.model,
            started: self.started,
            code,
            spent,
            tokenized: self.tokenized,
            redacted: self.screen.redacted,
        });
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if matches!(self.state, State::Streaming) {
            let spent = self.spent_so_far();
            self.record("client_closed", spent);
        }
    }
}

/// How one wire format writes a stream's events.
pub trait Frames: Send + 'static {
    /// Before the first text: the message opened.
    fn start(&self, prompt_tokens: u64) -> String;
    fn text(&self, text: &str) -> String;
    /// After the last text: the stop reason, the usage, the end marker.
    fn end(&self, a: &Answer) -> String;
    fn error(&self, e: &GatewayError) -> String;
}

/// The relay's pieces written as one wire format's server-sent events;
/// the message opens with the first piece, when the provider has said
/// what the prompt cost.
pub fn events<F: Frames>(
    relay: Relay,
    frames: F,
) -> impl futures_util::Stream<Item = Result<axum::body::Bytes, std::convert::Infallible>> + Send {
    futures_util::stream::unfold(
        (relay, frames, false),
        |(mut relay, frames, mut started)| async move {
            let piece = relay.next().await?;
            let mut out = String::new();
            if !started && !matches!(piece, Piece::Failed(_)) {
                out.push_str(&frames.start(relay.prompt_tokens()));
                started = true;
            }
            match &piece {
                Piece::Text(t) => out.push_str(&frames.text(t)),
                Piece::End(a) => out.push_str(&frames.end(a)),
                Piece::Failed(e) => out.push_str(&frames.error(e)),
            }
            Some((Ok(axum::body::Bytes::from(out)), (relay, frames, started)))
        },
    )
}
