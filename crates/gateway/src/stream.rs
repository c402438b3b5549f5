//! Screening an answer while it streams: a sliding window over the
//! model's text.
//!
//! Text is held back until `window` characters have come after it, then
//! screened and released up to a cut that never splits what screening
//! must see whole:
//!
//! | The cut never falls…                    | because                                          |
//! |-----------------------------------------|--------------------------------------------------|
//! | inside a run of non-space characters    | a token, key or address is seen whole            |
//! | inside anything screening found         | a value that has started is redacted whole       |
//! | inside a placeholder                    | it is restored whole, even cut between deltas    |
//!
//! A value still arriving (a private key's body) keeps the cut before it;
//! an answer that keeps one value open past [`HOLD_MAX`] characters fails
//! closed rather than release a part of it. Each screening pass also sees
//! the last [`CONTEXT`] characters already sent, so a value whose label
//! went out earlier ("password: ") is still recognised. The client sees
//! the text `window` characters late; with redaction off only
//! placeholders are held.

use octollm_reflex::vault::unfinished_placeholder;
use octollm_types::reflex::{PiiFinding, ProcessRequest, Redact, RestoreRequest};

use crate::config::ResponseRedaction;
use crate::screen::Screener;
use crate::screening::replace_chars;
use crate::GatewayError;

/// Characters of already-released text each screening pass sees again.
pub const CONTEXT: usize = 64;

/// The most characters held back at once.
pub const HOLD_MAX: usize = 64 * 1024;

pub struct StreamScreen {
    screener: Screener,
    policy: ResponseRedaction,
    vault_id: Option<String>,
    window: usize,
    /// Received, not yet released.
    pending: String,
    /// The tail of what was released, as the model wrote it.
    context: String,
    /// Held characters from which the next screening pass runs: a pass
    /// that could release nothing waits for another half window, so a
    /// long value arriving in small deltas is not screened once per delta.
    screen_at: usize,
    /// Values redacted so far.
    pub redacted: usize,
}

impl StreamScreen {
    pub fn new(
        screener: Screener,
        policy: ResponseRedaction,
        vault_id: Option<String>,
        window: usize,
    ) -> Self {
        StreamScreen {
            screener,
            policy,
            vault_id,
            window,
            pending: String::new(),
            context: String::new(),
            screen_at: window + window / 2,
            redacted: 0,
        }
    }

    /// Takes the next piece of the model's text; what may be sent now
    /// (often nothing).
    pub async fn push(&mut self, delta: &str) -> Result<String, GatewayError> {
        self.pending.push_str(delta);
        if self.policy == ResponseRedaction::Off {
            let cut = unfinished_placeholder(&self.pending).unwrap_or(self.pending.len());
            let out: String = self.pending.drain(..cut).collect();
            return self.restore(out).await;
        }
        let held = self.pending.chars().count();
        // Screened every half window, so each character is screened about
        // three times, not once per delta.
        if held < self.screen_at {
            return Ok(String::new());
        }
        let out = self.release(Some(held - self.window)).await?;
        self.screen_at = self.pending.chars().count() + self.window / 2;
        Ok(out)
    }

    /// The rest, once the model has finished.
    pub async fn finish(&mut self) -> Result<String, GatewayError> {
        if self.policy == ResponseRedaction::Off {
            let out = std::mem::take(&mut self.pending);
            return self.restore(out).await;
        }
        self.release(None).await
    }

    /// Screens what is held and releases it up to a cut at or before
    /// `target` characters (everything when `None`).
    async fn release(&mut self, target: Option<usize>) -> Result<String, GatewayError> {
        if self.pending.is_empty() {
            return Ok(String::new());
        }
        let ctx = self.context.chars().count();
        let screened = format!("{}{}", self.context, self.pending);
        let req = ProcessRequest {
            check_injection: false,
            redact: Redact::Off,
            use_cache: false,
            ..ProcessRequest::new(screened)
        };
        let v = self.screener.process(&req).await?;
        // Spans relative to `pending`; one that began in the context keeps
        // only its part still held.
        let found: Vec<PiiFinding> = v
            .pii_detected
            .into_iter()
            .filter(|f| self.policy == ResponseRedaction::All || f.kind.is_secret())
            .filter(|f| f.end > ctx)
            .map(|f| PiiFinding {
                start: f.start.saturating_sub(ctx),
                end: f.end - ctx,
                ..f
            })
            .collect();
        let chars: Vec<char> = self.pending.chars().collect();
        let cut = match target {
            None => chars.len(),
            Some(t) => cut_before(&chars, &found, t),
        };
        if cut == 0 {
            if chars.len() > HOLD_MAX {
                return Err(GatewayError::Screening(format!(
                    "the answer kept one value open for more than {HOLD_MAX} characters"
                )));
            }
            return Ok(String::new());
        }
        let released: String = chars[..cut].iter().collect();
        let inside: Vec<&PiiFinding> = found.iter().filter(|f| f.end <= cut).collect();
        self.redacted += inside.len();
        let out = replace_chars(&released, &inside);
        self.pending = chars[cut..].iter().collect();
        let mut ctx_chars: Vec<char> = self.context.chars().collect();
        ctx_chars.extend_from_slice(&chars[..cut]);
        let keep = ctx_chars.len().saturating_sub(CONTEXT);
        self.context = ctx_chars[keep..].iter().collect();
        self.restore(out).await
    }

    async fn restore(&self, text: String) -> Result<String, GatewayError> {
        match &self.vault_id {
            Some(id) if !text.is_empty() => Ok(self
                .screener
                .restore(&RestoreRequest {
                    vault_id: id.clone(),
                    text,
                })
                .await?
                .text),
            _ => Ok(text),
        }
    }
}

/// The character index to release up to, at most `target`: after a
/// whitespace character where there is one, before every finding that
/// would straddle it, before any placeholder not finished by it. 0 means
/// nothing may go yet.
fn cut_before(chars: &[char], found: &[PiiFinding], target: usize) -> usize {
    let mut cut = target.min(chars.len());
    let mut at_space = cut;
    while at_space > 0 && !chars[at_space - 1].is_whitespace() {
        at_space -= 1;
    }
    // A run longer than the window goes by the findings alone.
    if at_space > 0 {
        cut = at_space;
    }
    loop {
        let straddling = found
            .iter()
            .filter(|f| f.start < cut && f.end > cut)
            .map(|f| f.start)
            .min();
        let placeholder = {
            let head: String = chars[..cut].iter().collect();
            unfinished_placeholder(&head).map(|byte| head[..byte].chars().count())
        };
        match straddling.into_iter().chain(placeholder).min() {
            Some(earlier) if earlier < cut => cut = earlier,
            _ => return cut,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use octollm_types::reflex::PiiType;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    fn finding(start: usize, end: usize) -> PiiFinding {
        crate::screening::tests::finding(PiiType::ApiToken, start, end)
    }

    #[test]
    fn the_cut_lands_after_whitespace() {
        let c = chars("one two three");
        assert_eq!(cut_before(&c, &[], 10), 8);
        assert_eq!(cut_before(&c, &[], 4), 4);
        // No whitespace before the target: the target itself.
        assert_eq!(cut_before(&chars("abcdefgh"), &[], 5), 5);
    }

    #[test]
    fn the_cut_never_splits_a_finding_or_a_placeholder() {
        let c = chars("card 4111 1111 1111 1111 ok");
        assert_eq!(cut_before(&c, &[finding(5, 24)], 20), 5);
        let c = chars("your SSN is [SSN_1] ok");
        assert_eq!(cut_before(&c, &[], 15), 12);
        let c = chars("x[SSN_1]yz");
        assert_eq!(cut_before(&c, &[], 5), 1);
        // A finding that covers everything held: nothing goes.
        assert_eq!(
            cut_before(&chars("sk-abcdef ghi"), &[finding(0, 13)], 11),
            0
        );
    }
}
