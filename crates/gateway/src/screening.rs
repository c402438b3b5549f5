//! Input and output screening: refuse injections, tokenize the client's
//! personal data before it leaves, redact what the model produced itself.

use octollm_llm::Role;
use octollm_types::reflex::{Decision, PiiFinding, ProcessRequest, Redact, RestoreRequest, Source};

use crate::config::ResponseRedaction;
use crate::screen::Screener;
use crate::GatewayError;

/// Joins the messages for one tokenizing pass, so that one value gets one
/// placeholder across the conversation and one vault entry restores all.
/// Control characters no detector matches across.
const SEPARATOR: &str = "\n\u{1f}\u{1e}\u{1f}\n";

/// One message of the conversation, provider-neutral.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub role: Role,
    pub text: String,
}

/// The conversation as it may leave: placeholders instead of values.
#[derive(Debug, Clone)]
pub struct Screened {
    pub turns: Vec<Turn>,
    /// The vault entry that restores the placeholders, when there are any.
    pub vault_id: Option<String>,
    pub tokenized: usize,
}

fn source_of(role: Role) -> Option<Source> {
    match role {
        Role::User | Role::System => Some(Source::User),
        Role::Tool => Some(Source::ToolOutput),
        // The model's own earlier turns are not the client's instructions.
        Role::Assistant => None,
    }
}

/// Refuses the conversation if any client-written message carries an
/// injection the reflex layer blocks, then tokenizes its personal data.
pub async fn screen_input(screener: &Screener, turns: &[Turn]) -> Result<Screened, GatewayError> {
    for (i, t) in turns.iter().enumerate() {
        let Some(source) = source_of(t.role) else {
            continue;
        };
        if t.text.trim().is_empty() {
            continue;
        }
        let req = ProcessRequest {
            check_pii: false,
            redact: Redact::Off,
            source,
            ..ProcessRequest::new(t.text.clone())
        };
        let v = screener.process(&req).await?;
        if v.status == Decision::Blocked {
            let worst = v.injections.iter().max_by_key(|f| f.severity);
            return Err(GatewayError::Injection {
                message: i,
                severity: worst
                    .map(|f| f.severity.as_str().to_string())
                    .unwrap_or_else(|| "blocked".into()),
                rule: worst.map(|f| f.rule.clone()).unwrap_or_default(),
            });
        }
    }
    if turns.iter().all(|t| t.text.is_empty()) {
        return Ok(Screened {
            turns: turns.to_vec(),
            vault_id: None,
            tokenized: 0,
        });
    }
    let joined = turns
        .iter()
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join(SEPARATOR);
    let req = ProcessRequest {
        check_injection: false,
        redact: Redact::Tokenize,
        use_cache: false,
        ..ProcessRequest::new(joined)
    };
    let v = screener.process(&req).await?;
    if v.pii_detected.is_empty() {
        return Ok(Screened {
            turns: turns.to_vec(),
            vault_id: None,
            tokenized: 0,
        });
    }
    let text = v
        .redacted_text
        .ok_or_else(|| GatewayError::Screening("no tokenized text".into()))?;
    let parts: Vec<&str> = text.split(SEPARATOR).collect();
    if parts.len() != turns.len() {
        // Fail closed: a text that cannot be split back must not leave.
        return Err(GatewayError::Screening(
            "tokenizing changed the message boundaries".into(),
        ));
    }
    Ok(Screened {
        turns: turns
            .iter()
            .zip(parts)
            .map(|(t, p)| Turn {
                role: t.role,
                text: p.to_string(),
            })
            .collect(),
        vault_id: v.vault_id,
        tokenized: v.pii_detected.len(),
    })
}

/// The model's answer as the client may see it: what the model produced
/// itself redacted by policy (placeholders are not personal data, so the
/// client's own values pass), then the placeholders restored.
pub async fn screen_output(
    screener: &Screener,
    policy: ResponseRedaction,
    vault_id: Option<&str>,
    answer: &str,
) -> Result<(String, usize), GatewayError> {
    let mut text = answer.to_string();
    let mut redacted = 0;
    if policy != ResponseRedaction::Off && !text.trim().is_empty() {
        let req = ProcessRequest {
            check_injection: false,
            redact: Redact::Off,
            use_cache: false,
            ..ProcessRequest::new(text.clone())
        };
        let v = screener.process(&req).await?;
        let chosen: Vec<&PiiFinding> = v
            .pii_detected
            .iter()
            .filter(|f| policy == ResponseRedaction::All || f.kind.is_secret())
            .collect();
        redacted = chosen.len();
        text = replace_chars(&text, &chosen);
    }
    if let Some(id) = vault_id {
        let r = screener
            .restore(&RestoreRequest {
                vault_id: id.to_string(),
                text,
            })
            .await?;
        text = r.text;
    }
    Ok((text, redacted))
}

/// `text` with each finding's character span replaced by its label.
/// Overlapping findings after the first are skipped.
pub(crate) fn replace_chars(text: &str, findings: &[&PiiFinding]) -> String {
    if findings.is_empty() {
        return text.to_string();
    }
    let mut spans: Vec<(usize, usize, &'static str)> = findings
        .iter()
        .map(|f| (f.start, f.end, f.kind.label()))
        .collect();
    spans.sort_by_key(|s| s.0);
    let mut out = String::with_capacity(text.len());
    let mut next = 0;
    let mut span = spans.iter().peekable();
    let mut skip_until = 0;
    for (i, c) in text.chars().enumerate() {
        while let Some(&&(start, end, label)) = span.peek() {
            if start > i {
                break;
            }
            span.next();
            if start >= next && start == i {
                out.push_str(label);
                skip_until = end;
                next = end;
            }
        }
        if i < skip_until {
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use octollm_types::reflex::PiiType;

    /// A finding of `kind` over characters `start..end`.
    pub(crate) fn finding(kind: PiiType, start: usize, end: usize) -> PiiFinding {
        PiiFinding {
            kind,
            value: String::new(),
            start,
            end,
            confidence: 1.0,
            name: None,
        }
    }

    #[test]
    fn replaces_character_spans_not_bytes() {
        let text = "é a@b.co and 123-45-6789!";
        let a = finding(PiiType::Email, 2, 8);
        let b = finding(PiiType::Ssn, 13, 24);
        assert_eq!(replace_chars(text, &[&b, &a]), "é [EMAIL] and [SSN]!");
    }

    #[test]
    fn overlapping_spans_keep_the_first() {
        let a = finding(PiiType::Email, 0, 5);
        let b = finding(PiiType::Ssn, 2, 7);
        assert_eq!(replace_chars("abcdefgh", &[&a, &b]), "[EMAIL]fgh");
    }
}
