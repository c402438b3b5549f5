//! Custom recognizers and rules from the operator's TOML file (SPEC §9.3,
//! `[reflex] rules_file`): extra personal-data types, values and patterns
//! that are never reported, and extra injection phrases.
//!
//! ```toml
//! [[pii]]
//! name = "employee_id"          # reported as type "custom" with this name
//! pattern = 'EMP-\d{6}'
//! validator = "none"            # none | luhn | mod97
//! context = ["employee", "staff"] # optional: one within 40 characters before
//! confidence = 0.85              # optional, default 0.8
//!
//! [allow]
//! values = ["support@example.com"]
//! patterns = ['@example\.com$']
//!
//! [[injection]]
//! name = "acme_override"
//! phrases = ["acme override code"]
//! severity = "high"             # low | medium | high | critical
//! ```
//!
//! The file is checked whole when it is loaded: a pattern that does not
//! compile, an unknown validator or severity, a bad name fails with the
//! entry's name and line, and nothing of it is used.

use std::collections::HashSet;
use std::path::Path;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use octollm_types::reflex::{InjectionCategory, PiiType, Severity};
use regex::Regex;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::injection::RawInjection;
use crate::pii::validate::{iban_mod97, luhn};
use crate::pii::RawPii;

/// How far before a match a context word counts, in bytes.
const CONTEXT_WINDOW: usize = 40;

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("rules file {origin}: {message}")]
    Invalid { origin: String, message: String },
    #[error("rules file {origin}: {source}")]
    Read {
        origin: String,
        source: std::io::Error,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    pii: Vec<PiiSpec>,
    #[serde(default)]
    allow: AllowSpec,
    #[serde(default)]
    injection: Vec<InjectionSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PiiSpec {
    name: Spanned<String>,
    pattern: Spanned<String>,
    #[serde(default)]
    validator: Option<Spanned<String>>,
    #[serde(default)]
    context: Vec<String>,
    #[serde(default)]
    confidence: Option<f32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AllowSpec {
    #[serde(default)]
    values: Vec<String>,
    #[serde(default)]
    patterns: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InjectionSpec {
    name: Spanned<String>,
    phrases: Vec<String>,
    #[serde(default)]
    severity: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Copy)]
enum Validator {
    None,
    Luhn,
    Mod97,
}

struct Recognizer {
    name: String,
    regex: Regex,
    validator: Validator,
    context: Vec<String>,
    confidence: f32,
}

/// The loaded rules; empty when no file is configured.
#[derive(Default)]
pub struct CustomRules {
    recognizers: Vec<Recognizer>,
    allow_values: HashSet<String>,
    allow_patterns: Vec<Regex>,
    phrases: Option<AhoCorasick>,
    /// Per phrase: (entry name, severity).
    phrase_rules: Vec<(String, Severity)>,
    /// SHA-256 of the file's text: part of every cache key.
    pub fingerprint: [u8; 32],
}

fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl CustomRules {
    pub fn load(path: &Path) -> Result<CustomRules, RulesError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Read {
            origin: origin.clone(),
            source,
        })?;
        Self::parse(&text, &origin)
    }

    pub fn parse(text: &str, origin: &str) -> Result<CustomRules, RulesError> {
        let bad = |at: usize, message: String| RulesError::Invalid {
            origin: origin.to_string(),
            message: format!("line {}: {message}", line_of(text, at)),
        };
        let spec: FileSpec = toml::from_str(text).map_err(|e| RulesError::Invalid {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        let mut rules = CustomRules {
            fingerprint: Sha256::digest(text.as_bytes()).into(),
            ..CustomRules::default()
        };
        for p in spec.pii {
            let name = p.name.get_ref();
            if !plain_name(name) {
                return Err(bad(
                    p.name.span().start,
                    format!("pii name '{name}' must be lowercase letters, digits and _"),
                ));
            }
            let regex = Regex::new(p.pattern.get_ref()).map_err(|e| {
                bad(
                    p.pattern.span().start,
                    format!("pii '{name}': the pattern does not compile: {e}"),
                )
            })?;
            let validator = match p
                .validator
                .as_ref()
                .map(|v| (v.get_ref().as_str(), v.span().start))
            {
                None | Some(("none", _)) => Validator::None,
                Some(("luhn", _)) => Validator::Luhn,
                Some(("mod97", _)) => Validator::Mod97,
                Some((other, at)) => {
                    let why = format!("pii '{name}': unknown validator '{other}'");
                    return Err(bad(at, format!("{why} (expected luhn, mod97 or none)")));
                }
            };
            let confidence = p.confidence.unwrap_or(0.8);
            if !(0.0..=1.0).contains(&confidence) {
                return Err(bad(
                    p.name.span().start,
                    format!("pii '{name}': confidence must be between 0 and 1"),
                ));
            }
            rules.recognizers.push(Recognizer {
                name: name.clone(),
                regex,
                validator,
                context: p.context.iter().map(|c| c.to_lowercase()).collect(),
                confidence,
            });
        }
        rules.allow_values = spec.allow.values.into_iter().collect();
        for p in spec.allow.patterns {
            rules
                .allow_patterns
                .push(Regex::new(p.get_ref()).map_err(|e| {
                    bad(
                        p.span().start,
                        format!("allow pattern does not compile: {e}"),
                    )
                })?);
        }
        let mut phrases = Vec::new();
        for i in spec.injection {
            let name = i.name.get_ref();
            if !plain_name(name) {
                return Err(bad(
                    i.name.span().start,
                    format!("injection name '{name}' must be lowercase letters, digits and _"),
                ));
            }
            let severity = match i.severity.as_ref() {
                None => Severity::High,
                Some(s) => Severity::parse(s.get_ref()).ok_or_else(|| {
                    bad(s.span().start, format!("injection '{name}': unknown severity '{}' (expected low, medium, high or critical)", s.get_ref()))
                })?,
            };
            for phrase in i.phrases.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
                phrases.push(phrase.to_string());
                rules.phrase_rules.push((name.clone(), severity));
            }
        }
        if !phrases.is_empty() {
            rules.phrases = Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .build(&phrases)
                    .map_err(|e| RulesError::Invalid {
                        origin: origin.to_string(),
                        message: e.to_string(),
                    })?,
            );
        }
        Ok(rules)
    }

    /// How many entries the rules hold (recognizers, allowed values and
    /// patterns, injection phrases).
    pub fn len(&self) -> usize {
        self.recognizers.len()
            + self.allow_values.len()
            + self.allow_patterns.len()
            + self.phrase_rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The custom types' findings in `text`.
    pub fn pii(&self, text: &str, out: &mut Vec<RawPii>) {
        let lower = text.to_lowercase();
        for (i, r) in self.recognizers.iter().enumerate() {
            for m in r.regex.find_iter(text) {
                let digits: Vec<u8> = m
                    .as_str()
                    .bytes()
                    .filter(u8::is_ascii_alphanumeric)
                    .collect();
                let valid = match r.validator {
                    Validator::None => true,
                    Validator::Luhn => digits.iter().all(u8::is_ascii_digit) && luhn(&digits),
                    Validator::Mod97 => iban_mod97(&digits.to_ascii_uppercase()),
                };
                let near = r.context.is_empty() || {
                    let from = m.start().saturating_sub(CONTEXT_WINDOW);
                    let from = (0..=from)
                        .rev()
                        .find(|&b| lower.is_char_boundary(b))
                        .unwrap_or(0);
                    let window = lower.get(from..m.start()).unwrap_or("");
                    r.context.iter().any(|c| window.contains(c.as_str()))
                };
                if valid && near {
                    let mut f = RawPii::new(PiiType::Custom, m.start(), m.end(), r.confidence);
                    f.custom = u16::try_from(i).ok();
                    out.push(f);
                }
            }
        }
    }

    /// Whether a found value is one the operator never wants reported.
    pub fn allowed(&self, value: &str) -> bool {
        self.allow_values.contains(value) || self.allow_patterns.iter().any(|p| p.is_match(value))
    }

    /// The name of custom recognizer `i`.
    pub fn name(&self, i: u16) -> Option<&str> {
        self.recognizers
            .get(usize::from(i))
            .map(|r| r.name.as_str())
    }

    /// The custom phrases in `text`.
    pub fn injections(&self, text: &str) -> Vec<RawInjection> {
        let Some(ac) = &self.phrases else {
            return Vec::new();
        };
        ac.find_iter(text)
            .map(|m| {
                let (name, severity) = &self.phrase_rules[m.pattern().as_usize()];
                RawInjection {
                    category: InjectionCategory::InstructionOverride,
                    severity: *severity,
                    confidence: 0.9,
                    rule: format!("custom:{name}"),
                    matched: text[m.start()..m.end()].to_lowercase(),
                    start: m.start(),
                    end: m.end(),
                    note: None,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[pii]]
name = "employee_id"
pattern = 'EMP-\d{6}'
context = ["employee"]

[[pii]]
name = "card"
pattern = '\b\d{16}\b'
validator = "luhn"

[allow]
values = ["ops@example.com"]
patterns = ['@corp\.example$']

[[injection]]
name = "acme"
phrases = ["ACME override code"]
severity = "critical"
"#;

    #[test]
    fn a_good_file_loads_and_applies() {
        let r = CustomRules::parse(GOOD, "good.toml").unwrap();
        assert_eq!(r.len(), 5);
        let mut out = Vec::new();
        r.pii(
            "a stray EMP-654321 with nothing around it. Later: employee EMP-123456",
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(r.name(out[0].custom.unwrap()), Some("employee_id"));
        let mut out = Vec::new();
        r.pii("4111111111111111 and 4111111111111112", &mut out);
        assert_eq!(out.len(), 1, "only the Luhn-valid number");
        assert!(
            r.allowed("ops@example.com") && r.allowed("a@corp.example") && !r.allowed("b@x.io")
        );
        let inj = r.injections("use the acme OVERRIDE code now");
        assert_eq!((inj.len(), inj[0].severity), (1, Severity::Critical));
    }

    #[test]
    fn a_bad_entry_names_itself_and_its_line() {
        for (text, want) in [
            (
                "[[pii]]\nname = \"x\"\npattern = 'EMP-(\\d'\n",
                "line 3: pii 'x': the pattern does not compile",
            ),
            (
                "[[pii]]\nname = \"x\"\npattern = 'a'\nvalidator = \"crc\"\n",
                "line 4: pii 'x': unknown validator 'crc'",
            ),
            (
                "[[injection]]\nname = \"y\"\nphrases = [\"z\"]\nseverity = \"huge\"\n",
                "line 4: injection 'y': unknown severity 'huge'",
            ),
            (
                "[[pii]]\nname = \"Bad Name\"\npattern = 'a'\n",
                "line 2: pii name 'Bad Name'",
            ),
            ("[pii]\nnme = 1\n", "rules file r.toml:"),
        ] {
            let e = CustomRules::parse(text, "r.toml")
                .err()
                .unwrap()
                .to_string();
            assert!(e.contains(want), "{e}");
        }
    }
}
