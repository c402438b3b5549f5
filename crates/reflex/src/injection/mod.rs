//! Prompt-injection detection.
//!
//! One pass builds the normalised word view; one pass over it (`crate::anchors`)
//! finds rule anchors (and their rot13 spellings) and opens the scored
//! detector's windows (`score`); only the windows around
//! anchors are searched with the rules' patterns. Chat-template delimiters
//! are matched on the raw text, and encoded runs (base64, hex, escaped
//! bytes) are decoded and screened recursively. Each hit is then judged in
//! its own neighbourhood: quoted as an example in a discussion, or negated,
//! it is reported at low severity instead of blocking.
//!
//! The detector is split by concern: `compile` builds the automata and
//! regexes from the rule table once, `context` judges each hit in its
//! neighbourhood, and `encoded` decodes and re-screens encoded payloads.
//! This file holds the public types and the per-request matching pass.

mod compile;
mod context;
mod encoded;
pub mod model;
pub mod normalize;
pub mod rules;
mod score;

use std::cell::RefCell;

use aho_corasick::{AhoCorasick, Anchored, Input};
use octollm_types::reflex::{InjectionCategory, Severity, Source};
use regex::Regex;

use crate::offsets::{ceil_boundary, floor_boundary};
use compile::{AnchorTarget, Rule};
use context::escalate_combinations;
use encoded::{rot13, MAX_DEPTH};
use normalize::{normalize_into, WordView};
use rules::DELIMITERS;
use score::{Scorer, Windows};

/// How close a second-set anchor must be to a first-set one, in bytes.
const ALSO_WINDOW: usize = 120;
/// How far around an anchor a rule's pattern is searched, in bytes.
const WINDOW_BEFORE: usize = 200;
const WINDOW_AFTER: usize = 200;

/// A finding with byte offsets into the screened text.
#[derive(Debug, Clone, PartialEq)]
pub struct RawInjection {
    pub category: InjectionCategory,
    pub severity: Severity,
    pub confidence: f32,
    pub rule: String,
    pub matched: String,
    pub start: usize,
    pub end: usize,
    pub note: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("injection rule {0} does not compile: {1}")]
    Rule(&'static str, regex::Error),
    #[error("injection anchor automaton: {0}")]
    Automaton(#[from] aho_corasick::BuildError),
    #[error("injection anchors: {0}")]
    Anchor(#[from] crate::anchors::ShortAnchor),
}

/// The compiled detector; build once and share.
pub struct InjectionDetector {
    rules: Vec<Rule>,
    anchors: crate::anchors::AnchorSet,
    targets: Vec<AnchorTarget>,
    delimiters: AhoCorasick,
    negation: Regex,
    mention: Regex,
    discussion: Regex,
    scorer: score::Scorer,
}

thread_local! {
    static VIEW: RefCell<WordView> = RefCell::new(WordView::default());
}

impl InjectionDetector {
    /// Every injection finding in `text` (from a user), with byte spans
    /// into `text`.
    pub fn detect(&self, text: &str) -> Vec<RawInjection> {
        self.detect_from(text, Source::User)
    }

    /// Every injection finding in `text` from `source`: the rules, then the
    /// scored detector when it finds more than they did (see `score`).
    pub fn detect_from(&self, text: &str, source: Source) -> Vec<RawInjection> {
        let mut windows = Windows::default();
        let mut out = self.detect_depth(text, 0, &mut windows);
        // "How do I enable developer mode on my phone?" asks about software
        // settings; a rule that read it as a jailbreak is overruled.
        if out.iter().any(|f| f.rule == "privileged_mode")
            && VIEW.with(|v| self.scorer.settings_question(&v.borrow().text))
        {
            for f in out.iter_mut().filter(|f| f.rule == "privileged_mode") {
                f.severity = Severity::Low;
                f.note = Some("a question about software settings".into());
            }
        }
        escalate_combinations(&mut out);
        if let Some(f) = self.scored(text, &windows, source) {
            if out.iter().all(|o| o.severity < f.severity) {
                out.push(f);
            }
        }
        out.sort_by(|a, b| a.start.cmp(&b.start).then(b.severity.cmp(&a.severity)));
        out
    }

    /// The scored detector's finding, with its span mapped to `text`.
    fn scored(&self, text: &str, windows: &Windows, source: Source) -> Option<RawInjection> {
        let found = VIEW.with(|v| {
            let view = &v.borrow().text;
            let learned = model::Model::builtin().and_then(|m| {
                let (p, words) = m.probability(view);
                let weight = score::learned_weight(p, m.strong, m.moderate);
                (weight > 0.0).then(|| {
                    let (s, e) = model::word_span(view, words);
                    (weight, s, e)
                })
            });
            self.scorer.score(view, windows, source, learned)
        })?;
        let mut view = WordView::default();
        normalize_into(text, true, &mut view);
        let (start, end) = source_span(text, &view, found.start, found.end);
        let families = found.families.join("+");
        Some(RawInjection {
            category: found.category,
            severity: found.severity,
            confidence: found.confidence,
            rule: format!("scored:{families}"),
            matched: truncate(&text[start..end].to_lowercase(), 200),
            start,
            end,
            note: Some(format!("score {:.1} from {families}", found.score)),
        })
    }

    /// The findings at `depth` of decoding; at depth 0 `windows` receives
    /// the scored detector's windows in the text itself.
    fn detect_depth(&self, text: &str, depth: u8, windows: &mut Windows) -> Vec<RawInjection> {
        let mut out = Vec::new();
        let hits = if depth == 0 {
            VIEW.with(|v| {
                let mut v = v.borrow_mut();
                normalize_into(text, false, &mut v);
                self.match_rules(&v.text, windows)
            })
        } else {
            let mut v = WordView::default();
            normalize_into(text, false, &mut v);
            self.match_rules(&v.text, &mut Windows::default())
        };
        if !hits.is_empty() {
            // Findings are rare; only now pay for the offset map.
            let mut view = WordView::default();
            normalize_into(text, true, &mut view);
            self.judge(text, &view, hits, &mut out);
        }
        self.delimiters_in(text, &mut out);
        if depth < MAX_DEPTH {
            self.encoded_in(text, depth, &mut out);
        }
        out
    }

    /// Runs the rules whose anchors occur, around their anchors, and
    /// opens the scored detector's windows around its words: one pass.
    fn match_rules(&self, view: &str, windows: &mut Windows) -> Vec<Hit> {
        let mut anchor_hits: Vec<(usize, usize)> = Vec::new();
        let mut rot13_at: Vec<usize> = Vec::new();
        self.anchors
            .for_each(view.as_bytes(), |pattern, start, end| {
                let target = &self.targets[pattern];
                anchor_hits.extend(target.rules.iter().map(|r| (*r, start)));
                if target.rot13 {
                    rot13_at.push(start);
                }
                if target.families != 0 {
                    Scorer::open(view, start + 1, end, target.families, windows);
                }
            });
        let mut hits = Vec::new();
        if !anchor_hits.is_empty() {
            anchor_hits.sort_unstable();
            anchor_hits.dedup();
            let mut i = 0;
            while i < anchor_hits.len() {
                let rule = anchor_hits[i].0;
                let mut j = i;
                while j < anchor_hits.len() && anchor_hits[j].0 == rule {
                    j += 1;
                }
                let r = &self.rules[rule];
                let positions = anchor_hits[i..j]
                    .iter()
                    .map(|h| h.1)
                    .filter(|&p| match &r.also {
                        None => true,
                        Some(also) => {
                            let ws = floor_boundary(view, p.saturating_sub(ALSO_WINDOW));
                            let we = ceil_boundary(view, p + ALSO_WINDOW);
                            also.is_match(&view[ws..we])
                        }
                    });
                for (ws, we) in merged_windows(view, positions) {
                    for m in r.regex.find_iter(&view[ws..we]) {
                        hits.push(Hit {
                            rule,
                            start: ws + m.start(),
                            end: ws + m.end(),
                            rot13: false,
                        });
                    }
                }
                i = j;
            }
        }
        for (ws, we) in merged_windows(view, rot13_at.into_iter()) {
            let decoded = rot13(&view[ws..we]);
            for (rule, r) in self.rules.iter().enumerate() {
                for m in r.regex.find_iter(&decoded) {
                    hits.push(Hit {
                        rule,
                        start: ws + m.start(),
                        end: ws + m.end(),
                        rot13: true,
                    });
                }
            }
        }
        hits.sort_by_key(|h| (h.rule, h.start));
        hits.dedup_by_key(|h| (h.rule, h.start));
        hits
    }

    fn delimiters_in(&self, text: &str, out: &mut Vec<RawInjection>) {
        // Every delimiter starts with one of these bytes; only there is the
        // (anchored) automaton consulted.
        let bytes = text.as_bytes();
        let starts = memchr::memchr3_iter(b'<', b'[', b'#', bytes)
            .chain(memchr::memchr2_iter(b'`', b'\n', bytes));
        for pos in starts {
            let input = Input::new(text)
                .span(pos..text.len())
                .anchored(Anchored::Yes);
            let Some(m) = self.delimiters.find(input) else {
                continue;
            };
            let d = &DELIMITERS[m.pattern().as_usize()];
            let start = if bytes[m.start()] == b'\n' {
                m.start() + 1
            } else {
                m.start()
            };
            out.push(RawInjection {
                category: InjectionCategory::DelimiterInjection,
                severity: d.severity,
                confidence: 0.8,
                rule: d.id.to_string(),
                matched: text[start..m.end()].to_ascii_lowercase(),
                start,
                end: m.end(),
                note: None,
            });
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Hit {
    rule: usize,
    start: usize,
    end: usize,
    rot13: bool,
}

fn bump(s: Severity) -> Severity {
    match s {
        Severity::Low => Severity::Medium,
        Severity::Medium => Severity::High,
        _ => Severity::Critical,
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        s.to_string()
    } else {
        s[..floor_boundary(s, max)].to_string()
    }
}

/// Windows around sorted anchor positions, merged where they overlap.
fn merged_windows(view: &str, positions: impl Iterator<Item = usize>) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for p in positions {
        let ws = floor_boundary(view, p.saturating_sub(WINDOW_BEFORE));
        let we = ceil_boundary(view, p + WINDOW_AFTER);
        match out.last_mut() {
            Some(last) if ws <= last.1 => last.1 = last.1.max(we),
            _ => out.push((ws, we)),
        }
    }
    out
}

/// Maps a word-view span back to a byte span of the source text.
fn source_span(text: &str, view: &WordView, start: usize, end: usize) -> (usize, usize) {
    let s = view.map.get(start).copied().unwrap_or(0) as usize;
    let last = view.map.get(end.saturating_sub(1)).copied().unwrap_or(0) as usize;
    let e = text[last..]
        .chars()
        .next()
        .map_or(text.len(), |c| last + c.len_utf8());
    (s.min(text.len()), e.min(text.len()).max(s))
}

#[cfg(test)]
mod tests;
