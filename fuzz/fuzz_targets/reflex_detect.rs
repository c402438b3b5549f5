//! The reflex on any text: normalisation, PII and injection detection,
//! redaction with every strategy, and tokenize → restore.
//!
//! Beyond "no panic", every screening must hold up the promises the API
//! makes about its findings: spans inside the text and in order, the
//! word view's source map pointing at characters of the source, no
//! replacement that holds the value it replaces, and restore undoing
//! tokenize.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use octollm_reflex::injection::normalize::normalize;
use octollm_reflex::pii::{mask, RawPii};
use octollm_reflex::redact::{redact, HashKey};
use octollm_reflex::vault::{restore, tokenize};
use octollm_reflex::{Engine, Options};
use octollm_types::reflex::{RedactionStrategy, Severity, Source};

const KEY: &str = "fuzz";

static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    Engine::new(Severity::High, HashKey::new(KEY)).expect("the built-in rules compile")
});

const SOURCES: [Source; 3] = [Source::User, Source::ToolOutput, Source::Document];

// Any bytes: invalid UTF-8 is read the way a lossy decoder reads it, and
// every UTF-8 text is its own input.
fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check_word_view(&text);
    check_screening(&text);
});

/// The word view: the same text whether or not offsets are tracked, and
/// a source map of one entry per byte, each the start of a source
/// character, never going backwards.
fn check_word_view(text: &str) {
    let tracked = normalize(text, true);
    let plain = normalize(text, false);
    assert_eq!(tracked.text, plain.text, "tracking changed the view");
    // A leading space marks the first word's start; a text without words
    // has an empty view.
    assert!(
        plain.text.is_empty() || plain.text.starts_with(' '),
        "the view starts with a space"
    );
    assert_eq!(
        tracked.map.len(),
        tracked.text.len(),
        "one map entry a byte"
    );
    let mut last = 0u32;
    for &at in &tracked.map {
        let at_usize = at as usize;
        assert!(
            at_usize <= text.len() && text.is_char_boundary(at_usize),
            "map entry {at} is not a character of the source"
        );
        assert!(at >= last, "the map goes backwards: {at} after {last}");
        last = at;
    }
}

fn check_screening(text: &str) {
    let engine = &*ENGINE;
    let chars = text.chars().count();

    // Byte spans: sorted, disjoint, non-empty, on character boundaries.
    // Redaction and tokenizing silently skip anything else, so a broken
    // span would leave a value in clear text.
    let raw = engine.pii(text);
    let mut end = 0;
    for f in &raw {
        assert!(
            f.start >= end && f.start < f.end && f.end <= text.len(),
            "PII span {}..{} after {end} in a text of {} bytes",
            f.start,
            f.end,
            text.len()
        );
        assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
        end = f.end;
    }

    for source in SOURCES {
        let o = Options {
            check_pii: true,
            check_injection: true,
            redact: true,
            strategy: RedactionStrategy::Label,
            source,
        };
        let v = engine.analyze(text, &o);
        if source == Source::User {
            assert_eq!(v, engine.analyze(text, &o), "screening is deterministic");
        }
        // Character offsets, as the API reports them.
        assert_eq!(v.pii_detected.len(), raw.len(), "one finding per span");
        let mut end = 0;
        for f in &v.pii_detected {
            assert!(
                f.start >= end && f.start < f.end && f.end <= chars,
                "PII finding {}..{} after {end} in {chars} chars",
                f.start,
                f.end
            );
            end = f.end;
        }
        let mut start = 0;
        for f in &v.injections {
            assert!(
                f.start >= start && f.start <= f.end && f.end <= chars,
                "injection finding {}..{} (after one at {start}) in {chars} chars",
                f.start,
                f.end
            );
            start = f.start;
        }
        let low_only = v.injections.iter().all(|f| f.severity == Severity::Low);
        assert_eq!(v.safe, v.pii_detected.is_empty() && low_only);
        let redacted = v.redacted_text.expect("redaction was asked for");
        assert_eq!(redacted, redacted_one_by_one(text, &raw, o.strategy));
    }
    for strategy in [
        RedactionStrategy::Mask,
        RedactionStrategy::Hash,
        RedactionStrategy::Remove,
    ] {
        assert_eq!(
            redact(text, &raw, strategy, &HashKey::new(KEY)),
            redacted_one_by_one(text, &raw, strategy)
        );
    }

    // Tokenize → restore gives the text back.
    let (tokenized, mapping) = tokenize(text, &raw);
    let (restored, n) = restore(&tokenized, &mapping);
    assert_eq!(restored, text, "restore did not undo tokenize");
    assert_eq!(n, raw.len(), "one placeholder restored per finding");
}

/// The text redacted one finding at a time, checking that no finding's
/// replacement holds the value it replaces; the pieces put together must
/// be what redacting all findings at once gives.
fn redacted_one_by_one(text: &str, raw: &[RawPii], strategy: RedactionStrategy) -> String {
    let key = HashKey::new(KEY);
    let mut out = String::new();
    let mut at = 0;
    for f in raw {
        let alone = redact(text, std::slice::from_ref(f), strategy, &key);
        let (before, after) = (&text[..f.start], &text[f.end..]);
        assert!(
            alone.starts_with(before)
                && alone.ends_with(after)
                && alone.len() >= before.len() + after.len(),
            "redacting one finding changed the text around it"
        );
        let replacement = &alone[before.len()..alone.len() - after.len()];
        let value = &text[f.start..f.end];
        // What the strategy writes whatever the value: a label, the fixed
        // mask of a secret.
        let fixed = match strategy {
            RedactionStrategy::Label => replacement,
            RedactionStrategy::Hash => replacement.split_inclusive(':').next().unwrap_or(""),
            RedactionStrategy::Mask if mask(f.kind, "") == replacement => replacement,
            RedactionStrategy::Mask | RedactionStrategy::Remove => "",
        };
        let written = &replacement[fixed.len()..];
        assert!(
            !written.contains(value),
            "{strategy:?} wrote {replacement:?} for the {:?} value {value:?}",
            f.kind
        );
        out.push_str(&text[at..f.start]);
        out.push_str(replacement);
        at = f.end;
    }
    out.push_str(&text[at..]);
    out
}
