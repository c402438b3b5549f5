//! Prompt-injection detection.
//!
//! One pass builds the normalised word view; one Aho-Corasick pass over it
//! finds rule anchors (and their rot13 spellings); only the windows around
//! anchors are searched with the rules' patterns. Chat-template delimiters
//! are matched on the raw text, and encoded runs (base64, hex, escaped
//! bytes) are decoded and screened recursively. Each hit is then judged in
//! its own neighbourhood: quoted as an example in a discussion, or negated,
//! it is reported at low severity instead of blocking.

pub mod normalize;
pub mod rules;

use std::cell::RefCell;

use aho_corasick::{
    AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Anchored, Input, MatchKind, StartKind,
};
use base64::Engine as _;
use octollm_types::reflex::{InjectionCategory, Severity};
use regex::Regex;

use crate::offsets::{ceil_boundary, floor_boundary};
use normalize::{normalize_into, WordView};
use rules::{RuleSpec, DELIMITERS, DISCUSSION, MENTION, NEGATION, RULES};

/// How close a second-set anchor must be to a first-set one, in bytes.
const ALSO_WINDOW: usize = 120;
/// How far around an anchor a rule's pattern is searched, in bytes.
const WINDOW_BEFORE: usize = 200;
const WINDOW_AFTER: usize = 200;
/// Encoded payloads are decoded at most this deep (base64 of base64…).
const MAX_DEPTH: u8 = 2;
const MAX_ENCODED_CANDIDATES: usize = 32;
const MAX_DECODED_TOTAL: usize = 64 * 1024;
const MIN_ENCODED_LEN: usize = 16;

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
}

/// What an anchor literal stands for: the rules it anchors, or a rot13 spelling.
enum AnchorTarget {
    Rules(Vec<usize>),
    Rot13,
}

struct Rule {
    spec: &'static RuleSpec,
    regex: Regex,
    /// The second anchor set, searched only next to a first-set anchor.
    also: Option<AhoCorasick>,
}

/// The compiled detector; build once and share.
pub struct InjectionDetector {
    rules: Vec<Rule>,
    anchors: AhoCorasick,
    targets: Vec<AnchorTarget>,
    delimiters: AhoCorasick,
    negation: Regex,
    mention: Regex,
    discussion: Regex,
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

fn rot13(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a'..='m' | 'A'..='M' => (c as u8 + 13) as char,
            'n'..='z' | 'N'..='Z' => (c as u8 - 13) as char,
            _ => c,
        })
        .collect()
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

thread_local! {
    static VIEW: RefCell<WordView> = RefCell::new(WordView::default());
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
                        targets.push(AnchorTarget::Rules(Vec::new()));
                        targets.len() - 1
                    });
                    if let AnchorTarget::Rules(list) = &mut targets[slot] {
                        if !list.contains(&i) {
                            list.push(i);
                        }
                    }
                }
            }
        }
        for a in ROT13_ANCHORS {
            patterns.push(rot13(a));
            targets.push(AnchorTarget::Rot13);
        }
        // Leftmost-longest, so a long anchor ("unfiltered") is not hidden
        // by a shorter one inside it ("filter"); a DFA because this pass
        // touches every byte of every request.
        let anchors = AhoCorasickBuilder::new()
            .kind(Some(AhoCorasickKind::DFA))
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)?;
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
        })
    }

    /// Every injection finding in `text`, with byte spans into `text`.
    pub fn detect(&self, text: &str) -> Vec<RawInjection> {
        let mut out = self.detect_depth(text, 0);
        escalate_combinations(&mut out);
        out.sort_by(|a, b| a.start.cmp(&b.start).then(b.severity.cmp(&a.severity)));
        out
    }

    fn detect_depth(&self, text: &str, depth: u8) -> Vec<RawInjection> {
        let mut out = Vec::new();
        let hits = if depth == 0 {
            VIEW.with(|v| {
                let mut v = v.borrow_mut();
                normalize_into(text, false, &mut v);
                self.match_rules(&v.text)
            })
        } else {
            let mut v = WordView::default();
            normalize_into(text, false, &mut v);
            self.match_rules(&v.text)
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

    /// Runs the rules whose anchors occur, around their anchors.
    fn match_rules(&self, view: &str) -> Vec<Hit> {
        let mut anchor_hits: Vec<(usize, usize)> = Vec::new();
        let mut rot13_at: Vec<usize> = Vec::new();
        for m in self.anchors.find_iter(view) {
            match &self.targets[m.pattern().as_usize()] {
                AnchorTarget::Rules(list) => {
                    anchor_hits.extend(list.iter().map(|r| (*r, m.start())))
                }
                AnchorTarget::Rot13 => rot13_at.push(m.start()),
            }
        }
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

    /// Turns word-view hits into findings, judging each in its context.
    fn judge(&self, text: &str, view: &WordView, hits: Vec<Hit>, out: &mut Vec<RawInjection>) {
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

    /// Decodes base64, hex and escaped-byte runs and screens what they say.
    fn encoded_in(&self, text: &str, depth: u8, out: &mut Vec<RawInjection>) {
        let mut budget = MAX_DECODED_TOTAL;
        for (start, end, decoded, encoding) in encoded_candidates(text)
            .into_iter()
            .take(MAX_ENCODED_CANDIDATES)
        {
            if budget == 0 {
                break;
            }
            let Some(decoded) = decoded else { continue };
            budget = budget.saturating_sub(decoded.len());
            let inner = self.detect_depth(&decoded, depth + 1);
            let Some(worst) = inner
                .iter()
                .filter(|f| f.severity > Severity::Low)
                .max_by_key(|f| f.severity)
            else {
                continue;
            };
            out.push(RawInjection {
                category: InjectionCategory::EncodedPayload,
                severity: bump(worst.severity),
                confidence: (worst.confidence * 0.95).min(0.99),
                rule: format!("{encoding}:{}", worst.rule),
                matched: truncate(&worst.matched, 120),
                start,
                end,
                note: Some(format!("{encoding}-encoded {}", worst.category.as_str())),
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
fn escalate_combinations(out: &mut [RawInjection]) {
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

/// Runs that look encoded: `(start, end, decoded text if printable, encoding)`.
fn encoded_candidates(text: &str) -> Vec<(usize, usize, Option<String>, &'static str)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    static B64: [bool; 256] = {
        let mut t = [false; 256];
        let mut i = 0;
        while i < 256 {
            let c = i as u8;
            t[i] = c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'-' || c == b'_';
            i += 1;
        }
        t
    };
    let is_b64 = |c: u8| B64[c as usize];
    let mut i = 0;
    while i < bytes.len() && out.len() < MAX_ENCODED_CANDIDATES {
        // Escaped bytes: \x69\x67… or %69%67…
        if (bytes[i] == b'\\' && bytes.get(i + 1) == Some(&b'x')) || bytes[i] == b'%' {
            let (end, decoded) = escaped_bytes(bytes, i);
            if end > i {
                out.push((i, end, printable(decoded), "escaped"));
                i = end;
                continue;
            }
        }
        if !is_b64(bytes[i]) {
            i += 1;
            continue;
        }
        let s = i;
        while i < bytes.len() && is_b64(bytes[i]) {
            i += 1;
        }
        let mut e = i;
        while e < bytes.len() && bytes[e] == b'=' && e - i < 2 {
            e += 1;
        }
        let run = &bytes[s..i];
        if run.len() == 2 && run.iter().all(u8::is_ascii_hexdigit) && bytes.get(i) == Some(&b' ') {
            // Possibly hex bytes written with spaces: "69 67 6e 6f 72 65 …".
            if let Some((end, decoded)) = spaced_hex_at(bytes, s) {
                out.push((s, end, printable(decoded), "hex"));
                i = end;
                continue;
            }
        }
        if run.len() < MIN_ENCODED_LEN || (s > 0 && bytes[s - 1].is_ascii_alphanumeric()) {
            i = e.max(i);
            continue;
        }
        if run.len().is_multiple_of(2) && run.iter().all(u8::is_ascii_hexdigit) {
            out.push((s, i, hex::decode(run).ok().and_then(printable), "hex"));
        } else if run
            .iter()
            .any(|c| c.is_ascii_digit() || c.is_ascii_uppercase() || matches!(c, b'+' | b'/'))
        {
            out.push((
                s,
                e,
                decode_base64(&bytes[s..e]).and_then(printable),
                "base64",
            ));
        }
        i = e.max(i);
    }
    out
}

fn escaped_bytes(bytes: &[u8], mut i: usize) -> (usize, Vec<u8>) {
    let start = i;
    let mut out = Vec::new();
    loop {
        let width = if bytes.get(i) == Some(&b'\\') && bytes.get(i + 1) == Some(&b'x') {
            2
        } else if bytes.get(i) == Some(&b'%') {
            1
        } else {
            break;
        };
        let Some(pair) = bytes.get(i + width..i + width + 2) else {
            break;
        };
        let Ok(b) = u8::from_str_radix(std::str::from_utf8(pair).unwrap_or("zz"), 16) else {
            break;
        };
        out.push(b);
        i += width + 2;
    }
    if out.len() >= 8 {
        (i, out)
    } else {
        (start, Vec::new())
    }
}

/// A run of at least eight space-separated hex byte pairs starting at `s`.
fn spaced_hex_at(bytes: &[u8], s: usize) -> Option<(usize, Vec<u8>)> {
    let pair_at = |i: usize| {
        bytes
            .get(i..i + 2)
            .is_some_and(|p| p.iter().all(u8::is_ascii_hexdigit))
            && bytes.get(i + 2).is_none_or(|c| !c.is_ascii_alphanumeric())
    };
    let mut i = s;
    let mut decoded = Vec::new();
    while pair_at(i) {
        let hi = (bytes[i] as char).to_digit(16)?;
        let lo = (bytes[i + 1] as char).to_digit(16)?;
        decoded.push((hi * 16 + lo) as u8);
        i += 2;
        if bytes.get(i) == Some(&b' ') && pair_at(i + 1) {
            i += 1;
        } else {
            break;
        }
    }
    (decoded.len() >= 8).then_some((i, decoded))
}

fn decode_base64(run: &[u8]) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let mut body: Vec<u8> = run.iter().copied().filter(|c| *c != b'=').collect();
    if body.len() % 4 == 1 {
        // One stray character cannot encode anything; it is not ours.
        body.pop();
    }
    STANDARD_NO_PAD
        .decode(&body)
        .or_else(|_| URL_SAFE_NO_PAD.decode(&body))
        .ok()
}

/// Decoded bytes worth screening: UTF-8 and mostly printable text.
fn printable(decoded: Vec<u8>) -> Option<String> {
    let s = String::from_utf8(decoded).ok()?;
    let total = s.chars().count();
    if total < 6 {
        return None;
    }
    let good = s
        .chars()
        .filter(|c| !c.is_control() || c.is_whitespace())
        .count();
    let letters = s.chars().filter(|c| c.is_alphabetic()).count();
    (good * 100 >= total * 95 && letters * 2 >= total).then_some(s)
}

#[cfg(test)]
mod tests;
