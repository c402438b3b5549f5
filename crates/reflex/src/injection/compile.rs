//! Building the detector from the rule table.
//!
//! Everything here runs once, when the detector is built: rule patterns are
//! rewritten for the word view and compiled, anchors are expanded into their
//! spellings and gathered into one automaton. It is kept apart from the
//! per-request code so that the matching pass reads without the set-up.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind, StartKind};
use regex::Regex;

use super::encoded::rot13;
use super::rules::{RuleSpec, DELIMITERS, DISCUSSION, MENTION, NEGATION, RULES};
use super::{BuildError, InjectionDetector};
use crate::anchors::{AnchorSet, Case};

/// What an anchor literal stands for: the rules it anchors, or a rot13 spelling.
/// What one anchor pattern of the single pass over the view leads to.
#[derive(Default)]
pub(super) struct AnchorTarget {
    /// Rules to run around it.
    pub(super) rules: Vec<usize>,
    /// It is the rot13 spelling of a key word.
    pub(super) rot13: bool,
    /// Scored-detector families (a bit each) whose windows it opens; such
    /// an anchor starts with the space before its word.
    pub(super) families: u16,
}

pub(super) struct Rule {
    pub(super) spec: &'static RuleSpec,
    pub(super) regex: Regex,
    /// The second anchor set, searched only next to a first-set anchor.
    pub(super) also: Option<AhoCorasick>,
}

/// Turns a plain-English pattern into one over the word view: spaces
/// become optional and `l` also accepts `i` (outside character classes).
fn word_view_pattern(p: &str) -> String {
    let mut out = String::with_capacity(p.len() * 2);
    let mut in_class = false;
    let mut escaped = false;
    for c in p.chars() {
        if escaped {
            out.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                out.push(c);
            }
            '[' => {
                in_class = true;
                out.push(c);
            }
            ']' => {
                in_class = false;
                out.push(c);
            }
            ' ' if !in_class => out.push_str(" ?"),
            'l' if !in_class => out.push_str("[li]"),
            _ => out.push(c),
        }
    }
    out
}

/// Every spelling of an anchor with any of its `l`s read as `i`.
fn anchor_variants(anchor: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    for c in anchor.chars() {
        let mut next = Vec::with_capacity(out.len() * 2);
        for prefix in &out {
            next.push(format!("{prefix}{c}"));
            if c == 'l' && out.len() < 16 {
                next.push(format!("{prefix}i"));
            }
        }
        out = next;
    }
    out
}

/// Anchors whose rot13 spelling is worth watching for.
const ROT13_ANCHORS: &[&str] = &[
    "ignore",
    "disregard",
    "instructions",
    "prompt",
    "system",
    "jailbreak",
    "previous",
    "reveal",
];

fn compile(p: &str) -> Result<Regex, regex::Error> {
    Regex::new(&word_view_pattern(p))
}

impl InjectionDetector {
    pub fn new() -> Result<Self, BuildError> {
        let mut rules = Vec::with_capacity(RULES.len());
        let mut patterns: Vec<String> = Vec::new();
        let mut targets: Vec<AnchorTarget> = Vec::new();
        let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for (i, spec) in RULES.iter().enumerate() {
            // Word boundaries only mean something for scripts that separate words.
            let first = spec.pattern.trim_start_matches('(').chars().next();
            let boundary = if first.is_some_and(|c| c.is_ascii_alphanumeric()) {
                "(?-u:\\b)"
            } else {
                ""
            };
            let regex = Regex::new(&format!(
                "{boundary}(?:{})",
                word_view_pattern(spec.pattern)
            ))
            .map_err(|e| BuildError::Rule(spec.id, e))?;
            let also = if spec.also.is_empty() {
                None
            } else {
                let variants: Vec<String> =
                    spec.also.iter().flat_map(|a| anchor_variants(a)).collect();
                Some(
                    AhoCorasickBuilder::new()
                        .kind(Some(AhoCorasickKind::DFA))
                        .build(&variants)?,
                )
            };
            rules.push(Rule { spec, regex, also });
            for anchor in spec.anchors {
                for v in anchor_variants(anchor) {
                    let slot = *index.entry(v.clone()).or_insert_with(|| {
                        patterns.push(v);
                        targets.push(AnchorTarget::default());
                        targets.len() - 1
                    });
                    let list = &mut targets[slot].rules;
                    if !list.contains(&i) {
                        list.push(i);
                    }
                }
            }
        }
        for a in ROT13_ANCHORS {
            patterns.push(rot13(a));
            targets.push(AnchorTarget {
                rot13: true,
                ..AnchorTarget::default()
            });
        }
        // The scored detector's words join the same pass. They count only
        // at the start of a word, so each is sought with the space before
        // it (the view starts with one): that keeps every anchor at least
        // three bytes long ("2 " becomes " 2 "), which the pass needs.
        for (word, families) in super::score::Scorer::anchor_words() {
            let word = format!(" {word}");
            let slot = *index.entry(word.clone()).or_insert_with(|| {
                patterns.push(word);
                targets.push(AnchorTarget::default());
                targets.len() - 1
            });
            targets[slot].families |= families;
        }
        // Every occurrence, overlapping ones too, so a long anchor
        // ("unfiltered") hides no shorter one inside it ("filter") and
        // every family sees its words.
        let anchors = AnchorSet::new(&patterns, Case::Sensitive)?;
        let delimiters = AhoCorasickBuilder::new()
            .kind(Some(AhoCorasickKind::DFA))
            .start_kind(StartKind::Anchored)
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(DELIMITERS.iter().map(|d| d.literal))?;
        let ctx = |p: String, id: &'static str| compile(&p).map_err(|e| BuildError::Rule(id, e));
        Ok(InjectionDetector {
            rules,
            anchors,
            targets,
            delimiters,
            negation: ctx(format!("(?-u:\\b){NEGATION} ?$"), "negation")?,
            mention: ctx(format!("(?-u:\\b){MENTION} ?$"), "mention")?,
            discussion: ctx(format!("(?-u:\\b){DISCUSSION}(?-u:\\b)"), "discussion")?,
            scorer: super::score::Scorer::new()?,
        })
    }
}
