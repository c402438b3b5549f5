//! One clause of a goal, with the bookkeeping that keeps the built-in
//! planner honest: every word must be understood, or the goal is refused.

use super::lexer::{Kind, Tok};

/// Words that carry no instruction of their own anywhere.
pub const COMMON: &[&str] = &[
    "a",
    "an",
    "the",
    "this",
    "that",
    "these",
    "those",
    "all",
    "every",
    "each",
    "any",
    "some",
    "please",
    "kindly",
    "can",
    "could",
    "would",
    "will",
    "you",
    "me",
    "us",
    "i",
    "we",
    "my",
    "our",
    "your",
    "it",
    "its",
    "it's",
    "them",
    "they",
    "their",
    "there",
    "here",
    "is",
    "are",
    "be",
    "do",
    "does",
    "to",
    "of",
    "in",
    "on",
    "at",
    "from",
    "for",
    "with",
    "within",
    "inside",
    "into",
    "under",
    "by",
    "as",
    "and",
    "then",
    "also",
    "just",
    "now",
    "next",
    "finally",
    "afterwards",
    "after",
    "want",
    "need",
    "like",
    "go",
    "ahead",
    "let's",
    "lets",
    "let",
    "which",
    "what",
    "what's",
    "whats",
    "how",
    "result",
    "results",
    "output",
    "outputs",
    "out",
    "available",
    "present",
    "exist",
    "exists",
    "existing",
    "located",
    "inside",
    "currently",
    "so",
    "far",
    "there's",
    "one",
    "ones",
    "only",
    "folder",
    "directory",
    "dir",
    "file",
    "path",
    "show",
    "display",
    "print",
    "list",
    "get",
    "give",
    "tell",
    "see",
    "view",
    "return",
    "report",
    "lastly",
    "first",
];

/// Words that may open a clause without being its verb.
pub const LEADING: &[&str] = &[
    "please",
    "kindly",
    "can",
    "could",
    "would",
    "will",
    "you",
    "i",
    "want",
    "need",
    "to",
    "then",
    "next",
    "finally",
    "also",
    "and",
    "now",
    "just",
    "afterwards",
    "lastly",
    "after",
    "that",
    "go",
    "ahead",
    "let's",
    "lets",
    "let",
    "us",
    "first",
    "so",
    "like",
];

pub struct Clause<'a> {
    pub toks: Vec<&'a Tok>,
    pub goal: &'a str,
    used: Vec<bool>,
    /// Index of the verb (first token after leading fillers).
    pub verb: usize,
}

impl<'a> Clause<'a> {
    pub fn new(toks: Vec<&'a Tok>, goal: &'a str) -> Self {
        let n = toks.len();
        let mut c = Clause {
            toks,
            goal,
            used: vec![false; n],
            verb: 0,
        };
        while c.verb < n && c.toks[c.verb].kind == Kind::Word {
            let w = c.toks[c.verb].lower.as_str();
            let next = c
                .toks
                .get(c.verb + 1)
                .map(|t| t.lower.as_str())
                .unwrap_or("");
            // "first 5 lines" is a quantity, not a sequencing word.
            let quantity = w == "first" && (number(next).is_some() || next.starts_with("line"));
            // "let me", "can you" and "i want to" are fillers; a lone "list" is not.
            if LEADING.contains(&w) && !quantity && c.verb + 1 < n {
                c.used[c.verb] = true;
                c.verb += 1;
            } else {
                break;
            }
        }
        c
    }

    pub fn len(&self) -> usize {
        self.toks.len()
    }

    pub fn verb_word(&self) -> &str {
        match self.toks.get(self.verb) {
            Some(t) if t.kind == Kind::Word => &t.lower,
            _ => "",
        }
    }

    pub fn word(&self, i: usize) -> &str {
        match self.toks.get(i) {
            Some(t) if t.kind == Kind::Word => &t.lower,
            _ => "",
        }
    }

    pub fn is_word(&self, i: usize) -> bool {
        self.toks.get(i).is_some_and(|t| t.kind == Kind::Word)
    }

    pub fn mark(&mut self, i: usize) {
        if let Some(u) = self.used.get_mut(i) {
            *u = true;
        }
    }

    pub fn is_used(&self, i: usize) -> bool {
        self.used.get(i).copied().unwrap_or(true)
    }

    /// Index of the first token at or after `from` that is not one of the
    /// words `ws`, never moving into the last `keep` tokens.
    pub fn skip(&self, from: usize, ws: &[&str], keep: usize) -> usize {
        let mut i = from;
        while i + keep < self.len() && self.is_word(i) && ws.contains(&self.word(i)) {
            i += 1;
        }
        i
    }

    /// Index of the first unused word equal to one of `ws`, at or after `from`.
    pub fn find(&self, ws: &[&str], from: usize) -> Option<usize> {
        (from..self.len()).find(|&i| self.is_word(i) && !self.used[i] && ws.contains(&self.word(i)))
    }

    pub fn has(&self, ws: &[&str]) -> bool {
        self.find(ws, 0).is_some()
    }

    /// Index of the first occurrence of the consecutive words `seq`.
    pub fn phrase(&self, seq: &[&str]) -> Option<usize> {
        (0..self.len()).find(|&i| {
            seq.iter()
                .enumerate()
                .all(|(k, w)| self.is_word(i + k) && self.word(i + k) == *w)
        })
    }

    pub fn has_phrase(&self, seq: &[&str]) -> bool {
        self.phrase(seq).is_some()
    }

    pub fn mark_phrase(&mut self, seq: &[&str]) -> bool {
        match self.phrase(seq) {
            Some(i) => {
                for k in 0..seq.len() {
                    self.mark(i + k);
                }
                true
            }
            None => false,
        }
    }

    pub fn quoted(&self) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| self.toks[i].kind == Kind::Quoted && !self.used[i])
            .collect()
    }

    pub fn text(&self, i: usize) -> &str {
        &self.toks[i].text
    }

    /// The goal exactly as typed from token `from` to token `to` inclusive.
    pub fn span(&self, from: usize, to: usize) -> &'a str {
        let (s, e) = (self.toks[from].start, self.toks[to].end);
        // Quoted tokens' spans exclude their quotes; widen to include them.
        let s = if self.toks[from].kind == Kind::Quoted {
            s.saturating_sub(1)
        } else {
            s
        };
        let e = if self.toks[to].kind == Kind::Quoted {
            (e + 1).min(self.goal.len())
        } else {
            e
        };
        self.goal.get(s..e).unwrap_or("")
    }

    pub fn urls(&self) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| {
                !self.used[i] && {
                    let l = &self.toks[i].lower;
                    l.starts_with("http://") || l.starts_with("https://")
                }
            })
            .collect()
    }

    /// Unused words that look like file system paths.
    pub fn paths(&self) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| self.is_word(i) && !self.used[i] && looks_like_path(&self.toks[i].text))
            .collect()
    }

    /// Words neither consumed by the intent nor known to it.
    pub fn unknown(&self, vocab: &[&str]) -> Vec<String> {
        (0..self.len())
            .filter(|&i| {
                !self.used[i] && {
                    let t = self.toks[i];
                    t.kind == Kind::Quoted
                        || (!COMMON.contains(&t.lower.as_str())
                            && !vocab.contains(&t.lower.as_str()))
                }
            })
            .map(|i| self.toks[i].text.clone())
            .collect()
    }
}

pub fn number(w: &str) -> Option<u32> {
    if let Ok(n) = w.parse::<u32>() {
        return Some(n);
    }
    const WORDS: [&str; 21] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
    ];
    WORDS
        .iter()
        .position(|x| *x == w)
        .and_then(|p| u32::try_from(p).ok())
}

const NOT_PATHS: &[&str] = &[
    "and/or",
    "input/output",
    "read/write",
    "i/o",
    "e.g",
    "i.e",
    "etc",
    "a.m",
    "p.m",
];

pub fn looks_like_path(text: &str) -> bool {
    let lower = text.to_lowercase();
    if NOT_PATHS.contains(&lower.as_str()) || lower.contains("://") {
        return false;
    }
    if matches!(text, "." | ".." | "~")
        || ["/", "./", "../", "~/"].iter().any(|p| text.starts_with(p))
    {
        return true;
    }
    if text.contains('/') {
        return text
            .split('/')
            .all(|seg| !seg.is_empty() || text.ends_with('/'));
    }
    // name.ext with a letter in the extension: notes.txt, Cargo.toml, app.log.1 is fine too.
    match text.rsplit_once('.') {
        Some((name, ext)) => {
            !name.is_empty()
                && !name.starts_with('*')
                && (1..=10).contains(&ext.len())
                && ext.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && text.chars().any(|c| c.is_ascii_alphabetic())
                && name
                    .chars()
                    .all(|c| c.is_alphanumeric() || "-_.+@".contains(c))
                && (ext.chars().any(|c| c.is_ascii_alphabetic()) || name.contains('.'))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_shapes() {
        for p in [
            "/tmp",
            "./a",
            "../b",
            "~/x",
            ".",
            "notes.txt",
            "src/main.rs",
            "/var/log/",
            "Cargo.toml",
            "app.log.1",
        ] {
            assert!(looks_like_path(p), "{p}");
        }
        for p in [
            "hello",
            "3.14",
            "and/or",
            "https://example.com",
            "*.txt",
            ".txt",
            "e.g",
        ] {
            assert!(!looks_like_path(p), "{p}");
        }
    }
}
