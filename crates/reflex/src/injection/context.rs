//! Judging each hit in its own neighbourhood.
//!
//! A rule match alone does not say whether the text is an attack: the same
//! words are quoted as examples in discussions of prompt injection, or asked
//! *not* to be done. This file turns word-view hits into findings and
//! weighs the local context: negation and quoted or named examples in a
//! discussion lower the severity, disguises are reported, and several
//! techniques together escalate. It is separate because it is policy about
//! meaning, not matching, and only runs when something was found.

use octollm_types::reflex::{InjectionCategory, Severity};

use super::encoded::rot13;
use super::normalize::WordView;
use super::rules::RuleSpec;
use super::{bump, source_span, truncate, Hit, InjectionDetector, RawInjection};
use crate::offsets::{ceil_boundary, floor_boundary};

impl InjectionDetector {
    /// Turns word-view hits into findings, judging each in its context.
    pub(super) fn judge(
        &self,
        text: &str,
        view: &WordView,
        hits: Vec<Hit>,
        out: &mut Vec<RawInjection>,
    ) {
        let mut obfuscation_reported = false;
        let first = out.len();
        for h in hits {
            let spec = self.rules[h.rule].spec;
            let (start, end) = source_span(text, view, h.start, h.end);
            let matched: String = if h.rot13 {
                rot13(&view.text[h.start..h.end])
            } else {
                view.text[h.start..h.end].to_string()
            };
            let mut f = RawInjection {
                category: spec.category,
                severity: spec.severity,
                confidence: spec.confidence,
                rule: spec.id.to_string(),
                matched: truncate(&matched, 120),
                start,
                end,
                note: None,
            };
            if h.rot13 {
                f.category = InjectionCategory::EncodedPayload;
                f.rule = format!("rot13:{}", spec.id);
                f.severity = bump(spec.severity);
            } else {
                self.judge_context(text, view, &h, spec, &mut f);
                if !obfuscation_reported && f.severity > Severity::Low {
                    if let Some(technique) = obfuscation(&text[start..end], &matched) {
                        obfuscation_reported = true;
                        out.push(RawInjection {
                            category: InjectionCategory::Obfuscation,
                            severity: Severity::Medium,
                            confidence: 0.85,
                            rule: format!("obfuscated_{technique}"),
                            matched: f.matched.clone(),
                            start,
                            end,
                            note: Some(format!("the attack was disguised with {technique}")),
                        });
                    }
                }
            }
            push_deduped(out, first, f);
        }
    }

    fn judge_context(
        &self,
        text: &str,
        view: &WordView,
        h: &Hit,
        spec: &RuleSpec,
        f: &mut RawInjection,
    ) {
        let v = view.text.as_str();
        let before = &v[floor_boundary(v, h.start.saturating_sub(48))..h.start];
        if spec.negatable && self.negation.is_match(before) {
            f.severity = Severity::Low;
            f.confidence *= 0.5;
            f.note = Some("negated: the text asks not to do this".into());
            return;
        }
        let quoted = is_quoted(text, f.start, f.end);
        let mentioned = self.mention.is_match(before);
        if quoted || mentioned {
            let wide_before = &v[floor_boundary(v, h.start.saturating_sub(160))..h.start];
            let after = &v[h.end..ceil_boundary(v, h.end + 100)];
            if self.discussion.is_match(wide_before) || self.discussion.is_match(after) {
                f.severity = Severity::Low;
                f.confidence *= 0.5;
                f.note = Some("quoted or named as an example in a discussion".into());
            }
        }
    }
}

/// Keeps one finding per category where word-view hits overlap: the most severe.
fn push_deduped(out: &mut Vec<RawInjection>, first: usize, f: RawInjection) {
    for existing in out[first..].iter_mut() {
        let overlaps = f.start < existing.end && existing.start < f.end;
        if overlaps && existing.category == f.category {
            if (f.severity, f.end - f.start) > (existing.severity, existing.end - existing.start) {
                *existing = f;
            }
            return;
        }
    }
    out.push(f);
}

const QUOTES: &[char] = &[
    '"', '\'', '`', '“', '”', '‘', '’', '«', '»', '„', '‹', '›', '「', '」',
];

/// An opening quote just before the span and a closing one after it on the same line.
fn is_quoted(text: &str, start: usize, end: usize) -> bool {
    let before = &text[floor_boundary(text, start.saturating_sub(12))..start];
    let opened = before
        .chars()
        .rev()
        .take_while(|c| !c.is_alphanumeric())
        .any(|c| QUOTES.contains(&c));
    if !opened {
        return false;
    }
    let after = &text[end..ceil_boundary(text, end + 160)];
    after
        .chars()
        .take_while(|c| *c != '\n')
        .any(|c| QUOTES.contains(&c))
}

/// Which disguise, if any, the source span needed undoing.
fn obfuscation(source: &str, matched: &str) -> Option<&'static str> {
    if source
        .chars()
        .any(|c| c as u32 >= 0x200B && c as u32 <= 0x206F || c == '\u{FEFF}' || c == '\u{00AD}')
    {
        return Some("invisible characters");
    }
    if source.chars().any(|c| !c.is_ascii() && c.is_alphabetic()) {
        return Some("look-alike or full-width characters");
    }
    let plain: String = source
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let norm: String = matched
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    if plain != norm {
        return Some("leetspeak");
    }
    let words_src = source
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .count();
    let words_norm = matched.split(' ').filter(|w| !w.is_empty()).count();
    (words_src > words_norm * 2 + 2).then_some("letter spacing")
}

/// Several distinct techniques together are stronger evidence than any one.
pub(super) fn escalate_combinations(out: &mut [RawInjection]) {
    use InjectionCategory::*;
    let mut cats: Vec<InjectionCategory> = out
        .iter()
        .filter(|f| f.severity >= Severity::Medium)
        .map(|f| f.category)
        .filter(|c| {
            matches!(
                c,
                InstructionOverride | SystemPromptExtraction | Jailbreak | DelimiterInjection
            )
        })
        .collect();
    cats.sort();
    cats.dedup();
    // Closing one role tag and opening another ("</user> <system>") is a
    // context escape even though each tag alone is only suspicious.
    let mut delimiters: Vec<&str> = out
        .iter()
        .filter(|f| f.category == DelimiterInjection)
        .map(|f| f.matched.as_str())
        .collect();
    delimiters.sort_unstable();
    delimiters.dedup();
    if cats.len() < 2 && delimiters.len() < 2 {
        return;
    }
    if let Some(worst) = out.iter_mut().max_by_key(|f| f.severity) {
        if worst.severity < Severity::Critical {
            worst.severity = bump(worst.severity);
            worst.note = Some("several injection techniques combined".into());
        }
    }
}
