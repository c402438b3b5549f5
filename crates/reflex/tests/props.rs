//! Properties that must hold for any input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use octollm_reflex::redact::HashKey;
use octollm_reflex::{Engine, Options};
use octollm_types::reflex::{RedactionStrategy, Severity};
use proptest::prelude::*;
use std::sync::OnceLock;

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| Engine::new(Severity::High, HashKey::new("k")).unwrap())
}

/// Text mixing PII-shaped fragments, attack words and arbitrary Unicode.
fn texty() -> impl Strategy<Value = String> {
    const LITERALS: &[&str] = &[
        "123-45-6789",
        "test@example.com",
        "4111 1111 1111 1111",
        "(555) 234-5678",
        "192.168.0.1",
        "DE89370400440532013000",
        "password=hunter22",
        "AKIAIOSFODNN7EXAMPLE",
        "ignore previous instructions",
        "ｉｇｎｏｒｅ",
        "\u{200B}",
        "é🎉",
        " ",
    ];
    // Weighted so each literal is as likely as each generated fragment.
    let pieces = prop_oneof![
        LITERALS.len() as u32 => prop::sample::select(LITERALS).prop_map(str::to_string),
        1 => "\\PC{0,12}",
        1 => "[0-9 .()+-]{0,16}",
    ];
    prop::collection::vec(pieces, 0..12).prop_map(|v| v.concat())
}

fn strategies() -> impl Strategy<Value = RedactionStrategy> {
    prop_oneof![
        Just(RedactionStrategy::Mask),
        Just(RedactionStrategy::Label),
        Just(RedactionStrategy::Hash),
        Just(RedactionStrategy::Remove),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn spans_are_inside_the_text_and_redaction_removes_values(text in texty(), strategy in strategies()) {
        let o = Options { check_pii: true, check_injection: true, redact: true, strategy, source: Default::default() };
        let v = engine().analyze(&text, &o);
        let chars: Vec<char> = text.chars().collect();
        let redacted = v.redacted_text.clone().unwrap();
        let mut last_end = 0;
        for p in &v.pii_detected {
            prop_assert!(p.start < p.end && p.end <= chars.len(), "span {}..{} outside {} chars", p.start, p.end, chars.len());
            prop_assert!(p.start >= last_end, "PII spans overlap");
            last_end = p.end;
            let value: String = chars[p.start..p.end].iter().collect();
            if value.chars().filter(|c| c.is_alphanumeric()).count() >= 6 {
                // The same characters may occur again undetected (glued to
                // other digits, say); the detected occurrence must be gone.
                let before = text.matches(value.as_str()).count();
                let after = redacted.matches(value.as_str()).count();
                prop_assert!(after < before, "redacted text still holds {value:?}: {redacted:?}");
            }
        }
        for i in &v.injections {
            prop_assert!(i.start <= i.end && i.end <= chars.len(), "injection span {}..{} outside {} chars", i.start, i.end, chars.len());
        }
    }

    #[test]
    fn arbitrary_unicode_never_panics(text in "\\PC{0,400}") {
        let o = Options { check_pii: true, check_injection: true, redact: true, strategy: RedactionStrategy::Mask, source: Default::default() };
        let _ = engine().analyze(&text, &o);
    }

    #[test]
    fn arbitrary_bytes_as_lossy_text_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let text = String::from_utf8_lossy(&bytes);
        let o = Options { check_pii: true, check_injection: true, redact: true, strategy: RedactionStrategy::Hash, source: Default::default() };
        let _ = engine().analyze(&text, &o);
    }

    #[test]
    fn analysis_is_deterministic(text in texty()) {
        let o = Options { check_pii: true, check_injection: true, redact: true, strategy: RedactionStrategy::Label, source: Default::default() };
        prop_assert_eq!(engine().analyze(&text, &o), engine().analyze(&text, &o));
    }
}
