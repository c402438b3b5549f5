//! Streamed answers: server-sent events read as they arrive, each
//! backend's events turned into text deltas and usage.
//!
//! A stream is bounded twice: the answer's headers must come within the
//! client's timeout, and so must every later chunk, so a provider that
//! stalls mid-answer fails instead of holding the caller forever. A long
//! answer that keeps flowing is not cut.

use std::collections::VecDeque;
use std::time::Duration;

use crate::wire::estimate_tokens;
use crate::{Completion, LlmError};

/// One server-sent event: its name (`event:`) and its joined `data:` lines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SseEvent {
    pub name: Option<String>,
    pub data: String,
}

/// What the events of one answer said so far.
#[derive(Debug, Clone, Default)]
pub struct StreamState {
    pub model: Option<String>,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    /// The provider said why the answer stopped.
    pub stopped: bool,
    /// The provider sent its end-of-stream event.
    pub done: bool,
}

/// Reads one event into the state; the text it adds, if any.
pub(crate) type EventReader =
    fn(&str, &SseEvent, &mut StreamState) -> Result<Option<String>, LlmError>;

/// Splits a byte stream into server-sent events. Bytes are decoded a
/// whole line at a time, so a character cut between two network reads
/// arrives intact.
#[derive(Default)]
struct SseParser {
    buf: Vec<u8>,
    current: SseEvent,
    has_data: bool,
    ready: VecDeque<SseEvent>,
}

impl SseParser {
    fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(nl) = self.buf[start..].iter().position(|&b| b == b'\n') {
            let end = start + nl;
            let line = String::from_utf8_lossy(&self.buf[start..end]);
            let line = line.strip_suffix('\r').unwrap_or(&line).to_string();
            self.line(&line);
            start = end + 1;
        }
        self.buf.drain(..start);
    }

    fn line(&mut self, line: &str) {
        if line.is_empty() {
            if self.has_data || self.current.name.is_some() {
                self.ready.push_back(std::mem::take(&mut self.current));
            }
            self.has_data = false;
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.current.name = Some(value.to_string()),
            "data" => {
                if self.has_data {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.has_data = true;
            }
            _ => {}
        }
    }
}

/// One provider's answer, delta by delta.
pub struct DeltaStream {
    response: reqwest::Response,
    parser: SseParser,
    read: EventReader,
    state: StreamState,
    provider: String,
    requested_model: String,
    idle: Duration,
    prompt_chars: usize,
    text_chars: usize,
    eof: bool,
    ended: bool,
}

impl DeltaStream {
    pub(crate) fn new(
        response: reqwest::Response,
        read: EventReader,
        provider: &str,
        requested_model: &str,
        idle: Duration,
        prompt_chars: usize,
    ) -> Self {
        DeltaStream {
            response,
            parser: SseParser::default(),
            read,
            state: StreamState::default(),
            provider: provider.to_string(),
            requested_model: requested_model.to_string(),
            idle,
            prompt_chars,
            text_chars: 0,
            eof: false,
            ended: false,
        }
    }

    /// The next piece of text; `None` once the provider ended the answer.
    pub async fn next(&mut self) -> Result<Option<String>, LlmError> {
        loop {
            while let Some(ev) = self.parser.ready.pop_front() {
                if let Some(text) = (self.read)(&self.provider, &ev, &mut self.state)? {
                    if !text.is_empty() {
                        self.text_chars += text.chars().count();
                        return Ok(Some(text));
                    }
                }
                if self.state.done {
                    self.ended = true;
                }
            }
            if self.ended {
                return Ok(None);
            }
            if self.eof {
                // Some servers close right after the stop reason instead
                // of sending an end event; that answer is whole. Without
                // either, the answer was cut short.
                if self.state.stopped || self.state.done {
                    self.ended = true;
                    return Ok(None);
                }
                return Err(LlmError::Connect {
                    provider: self.provider.clone(),
                    message: "the stream ended before the answer did".into(),
                });
            }
            let chunk = tokio::time::timeout(self.idle, self.response.chunk())
                .await
                .map_err(|_| LlmError::Timeout {
                    provider: self.provider.clone(),
                    after_ms: u64::try_from(self.idle.as_millis()).unwrap_or(u64::MAX),
                })?
                .map_err(|e| LlmError::Connect {
                    provider: self.provider.clone(),
                    message: format!("the stream broke: {e}"),
                })?;
            match chunk {
                Some(bytes) => self.parser.feed(&bytes),
                None => {
                    // A last event the server did not close with a blank line.
                    self.parser.line("");
                    self.eof = true;
                }
            }
        }
    }

    /// The usage so far: as the provider reported it, else estimated.
    pub fn completion(&self) -> Completion {
        Completion {
            text: String::new(),
            tool_call: None,
            model: self
                .state
                .model
                .clone()
                .unwrap_or_else(|| self.requested_model.clone()),
            prompt_tokens: self
                .state
                .prompt_tokens
                .unwrap_or(estimate_tokens(self.prompt_chars)),
            completion_tokens: self
                .state
                .completion_tokens
                .unwrap_or(estimate_tokens(self.text_chars)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_reads_and_lines_in_crlf() {
        let mut p = SseParser::default();
        let text = "event: a\r\ndata: {\"x\":\r\ndata: \"é\"}\r\n\r\n: comment\n\ndata: [DONE]\n\n";
        for b in text.as_bytes().chunks(3) {
            p.feed(b);
        }
        let got: Vec<SseEvent> = p.ready.into_iter().collect();
        assert_eq!(
            got,
            vec![
                SseEvent {
                    name: Some("a".into()),
                    data: "{\"x\":\n\"é\"}".into()
                },
                SseEvent {
                    name: None,
                    data: "[DONE]".into()
                },
            ]
        );
    }
}
