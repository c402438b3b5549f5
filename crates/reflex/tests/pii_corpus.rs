//! PII and secret detection against `corpus/independent/pii.jsonl`: texts
//! with every value a reader would call personal data or a secret labelled,
//! and look-alikes labelled with none, written for this check by an author
//! who had not seen the detectors. Never used to tune a pattern. Run with
//! `--nocapture` for precision, recall and F1 per type and overall.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use octollm_reflex::engine::{Engine, Options};
use octollm_reflex::redact::HashKey;
use octollm_types::reflex::{PiiType, RedactionStrategy, Severity};

/// The corpus's type names as the layer's types. `url_credentials` and
/// `api_key`/`api_token` name the same kind of secret.
fn kind(name: &str) -> PiiType {
    match name {
        "email" => PiiType::Email,
        "phone" => PiiType::Phone,
        "ssn" => PiiType::Ssn,
        "credit_card" => PiiType::CreditCard,
        "ip_address" => PiiType::IpAddress,
        "iban" => PiiType::Iban,
        "aws_access_key" => PiiType::AwsAccessKey,
        "jwt" => PiiType::Jwt,
        "api_key" | "api_token" => PiiType::ApiToken,
        "password" => PiiType::Password,
        "private_key" => PiiType::PrivateKey,
        other => panic!("unknown type {other} in the corpus"),
    }
}

/// Same value, ignoring the separators a number is written with, or one
/// span inside the other (a detector may take `password=x` or just `x`).
fn same_value(a: &str, b: &str) -> bool {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect()
    };
    let (a, b) = (squash(a), squash(b));
    !a.is_empty() && !b.is_empty() && (a.contains(&b) || b.contains(&a))
}

#[derive(Default)]
struct Tally {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Tally {
    fn f1(&self) -> (f64, f64, f64) {
        let p = self.tp as f64 / (self.tp + self.fp).max(1) as f64;
        let r = self.tp as f64 / (self.tp + self.fn_).max(1) as f64;
        let f = if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        (p, r, f)
    }
}

#[test]
fn independent_pii_corpus_f1() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/independent/pii.jsonl");
    let body = std::fs::read_to_string(path).unwrap();
    let engine = Engine::new(Severity::High, HashKey::new("corpus")).unwrap();
    let opts = Options {
        check_pii: true,
        check_injection: false,
        redact: false,
        strategy: RedactionStrategy::Mask,
        source: Default::default(),
    };
    let mut per_type: std::collections::BTreeMap<String, Tally> = Default::default();
    let mut all = Tally::default();
    let mut lines = 0;
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        lines += 1;
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let text = v["text"].as_str().unwrap();
        let gold: Vec<(PiiType, String)> = v["pii"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    kind(p["type"].as_str().unwrap()),
                    p["value"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        // Findings hold masked values; their spans (in characters) say
        // what was found.
        let chars: Vec<char> = text.chars().collect();
        let found: Vec<(PiiType, String)> = engine
            .analyze(text, &opts)
            .pii_detected
            .iter()
            .map(|f| (f.kind, chars[f.start..f.end].iter().collect()))
            .collect();
        let mut used = vec![false; found.len()];
        for (k, value) in &gold {
            let hit = found
                .iter()
                .enumerate()
                .position(|(i, f)| !used[i] && f.0 == *k && same_value(&f.1, value));
            let t = per_type.entry(format!("{k:?}")).or_default();
            match hit {
                Some(i) => {
                    used[i] = true;
                    t.tp += 1;
                    all.tp += 1;
                }
                None => {
                    t.fn_ += 1;
                    all.fn_ += 1;
                    println!("  missed {k:?} {value:?} in {text:?}");
                }
            }
        }
        for ((k, value), _) in found.iter().zip(&used).filter(|(_, u)| !**u) {
            per_type.entry(format!("{k:?}")).or_default().fp += 1;
            all.fp += 1;
            println!("  extra {k:?} {value:?} in {text:?}");
        }
    }
    for (name, t) in &per_type {
        let (p, r, f) = t.f1();
        println!(
            "{name:>14}: tp {:>3} fp {:>3} fn {:>3}  P {p:.3} R {r:.3} F1 {f:.3}",
            t.tp, t.fp, t.fn_
        );
    }
    let (p, r, f) = all.f1();
    println!("{lines} texts: precision {p:.3}, recall {r:.3}, F1 {f:.3}");
    assert!(lines >= 300, "the corpus has {lines} texts");
    // A floor against regressions, below the figure in docs/reflex.md.
    assert!(f >= 0.9, "F1 {f:.3}");
}
