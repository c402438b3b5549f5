//! One screening: PII, injection, redaction, in the shape the API reports.

use std::sync::Arc;

use octollm_types::reflex::{
    Decision, InjectionFinding, PiiFinding, RedactionStrategy, Severity, Source,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::custom::CustomRules;
use crate::injection::{InjectionDetector, RawInjection};
use crate::offsets::CharOffsets;
use crate::pii::{mask, resolve_overlaps, PiiDetector, RawPii};
use crate::redact::{redact, HashKey};

/// Bumped whenever detection rules change, so cached verdicts made by older
/// rules are never served.
const RULESET_VERSION: &[u8] = b"reflex-rules/3";

/// Which checks a request asked for; all of it is part of the cache key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub check_pii: bool,
    pub check_injection: bool,
    pub redact: bool,
    pub strategy: RedactionStrategy,
    /// Where the text comes from: tool output and documents are screened
    /// for instructions planted in data.
    pub source: Source,
}

/// The outcome of screening one text. Holds no raw PII: values are masked
/// and the text is only kept redacted, so it is safe to cache anywhere.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Verdict {
    pub safe: bool,
    pub status: Decision,
    pub pii_detected: Vec<PiiFinding>,
    pub injections: Vec<InjectionFinding>,
    pub redacted_text: Option<String>,
    pub max_severity: Option<Severity>,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Pii(#[from] crate::pii::BuildError),
    #[error(transparent)]
    Injection(#[from] crate::injection::BuildError),
}

/// The detectors and the policy that turns findings into a decision.
pub struct Engine {
    pii: PiiDetector,
    injection: InjectionDetector,
    hash_key: HashKey,
    block_at: Severity,
    fingerprint: [u8; 32],
    /// The operator's rules file, when one is configured.
    rules: CustomRules,
}

impl Engine {
    pub fn new(block_at: Severity, hash_key: HashKey) -> Result<Self, EngineError> {
        Self::with_rules(block_at, hash_key, CustomRules::default())
    }

    /// The engine with the operator's `rules` applied on top of the built-in
    /// detectors; they are part of every cache key.
    pub fn with_rules(
        block_at: Severity,
        hash_key: HashKey,
        rules: CustomRules,
    ) -> Result<Self, EngineError> {
        let mut h = Sha256::new();
        h.update(RULESET_VERSION);
        h.update([block_at as u8]);
        h.update(hash_key.fingerprint());
        h.update(rules.fingerprint);
        Ok(Engine {
            pii: PiiDetector::new()?,
            injection: InjectionDetector::new()?,
            hash_key,
            block_at,
            fingerprint: h.finalize().into(),
            rules,
        })
    }

    /// How many entries the engine's custom rules hold.
    pub fn custom_rules(&self) -> usize {
        self.rules.len()
    }

    /// The PII and secrets in `text`, with byte spans: the built-in
    /// detectors', the custom types', less what the rules allow.
    pub fn pii(&self, text: &str) -> Vec<RawPii> {
        let mut found = self.pii.detect(text);
        if self.rules.is_empty() {
            return found;
        }
        self.rules.pii(text, &mut found);
        found.retain(|f| !self.rules.allowed(&text[f.start..f.end]));
        resolve_overlaps(found)
    }

    pub fn block_at(&self) -> Severity {
        self.block_at
    }

    /// The cache key: every input that changes the answer, hashed.
    pub fn cache_key(&self, text: &str, o: &Options) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.fingerprint);
        h.update([
            u8::from(o.check_pii),
            u8::from(o.check_injection),
            u8::from(o.redact),
            o.strategy as u8,
            o.source as u8,
        ]);
        h.update(text.as_bytes());
        h.finalize().into()
    }

    pub fn analyze(&self, text: &str, o: &Options) -> Verdict {
        let pii = if o.check_pii {
            self.pii(text)
        } else {
            Vec::new()
        };
        let inj = if o.check_injection {
            let mut inj = self.injection.detect_from(text, o.source);
            inj.extend(self.rules.injections(text));
            inj
        } else {
            Vec::new()
        };
        let max_severity = inj.iter().map(|f| f.severity).max();
        let blocked = max_severity.is_some_and(|s| s >= self.block_at);
        let redacted_text = o
            .redact
            .then(|| redact(text, &pii, o.strategy, &self.hash_key));
        let injections = injection_findings(text, &pii, inj);
        let pii_detected = pii_findings(text, &pii, &self.rules);
        Verdict {
            safe: pii_detected.is_empty() && injections.iter().all(|f| f.severity == Severity::Low),
            status: if blocked {
                Decision::Blocked
            } else {
                Decision::Allowed
            },
            pii_detected,
            injections,
            redacted_text,
            max_severity,
        }
    }

    /// Screens and wraps the verdict for sharing with the cache.
    pub fn analyze_shared(&self, text: &str, o: &Options) -> Arc<Verdict> {
        Arc::new(self.analyze(text, o))
    }
}

fn pii_findings(text: &str, raw: &[RawPii], rules: &CustomRules) -> Vec<PiiFinding> {
    let mut offsets = CharOffsets::new(text);
    raw.iter()
        .map(|f| PiiFinding {
            kind: f.kind,
            value: mask(f.kind, &text[f.start..f.end]),
            start: offsets.at(f.start),
            end: offsets.at(f.end),
            confidence: f.confidence,
            name: f.custom.and_then(|i| rules.name(i)).map(str::to_string),
        })
        .collect()
}

fn injection_findings(text: &str, pii: &[RawPii], raw: Vec<RawInjection>) -> Vec<InjectionFinding> {
    let mut offsets = CharOffsets::new(text);
    raw.into_iter()
        .map(|f| {
            // The snippet must not carry personal data out of the screen.
            let touches_pii = pii.iter().any(|p| p.start < f.end && f.start < p.end);
            InjectionFinding {
                category: f.category,
                severity: f.severity,
                confidence: f.confidence,
                rule: f.rule,
                matched: if touches_pii {
                    "[contains redacted data]".to_string()
                } else {
                    f.matched
                },
                start: offsets.at(f.start),
                end: offsets.at(f.end),
                note: f.note,
            }
        })
        .collect()
}
