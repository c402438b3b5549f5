//! Splits a goal into words, quoted strings and separators, keeping byte
//! spans so unquoted text can be carried over exactly as the user typed it.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Word,
    /// The inside of a quoted string, verbatim.
    Quoted,
    /// A comma, semicolon or sentence end between clauses.
    Sep,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tok {
    pub kind: Kind,
    pub text: String,
    pub lower: String,
    /// Byte span of `text` in the goal (for quoted strings, of the inside).
    pub start: usize,
    pub end: usize,
}

fn closing(open: char) -> Option<char> {
    match open {
        '"' => Some('"'),
        '\'' => Some('\''),
        '`' => Some('`'),
        '“' => Some('”'),
        '‘' => Some('’'),
        '«' => Some('»'),
        _ => None,
    }
}

/// Punctuation that may end a word without belonging to it.
fn trailing_punct(c: char) -> bool {
    matches!(c, ',' | ';' | ':' | '!' | '?' | '.' | ')' | ']')
}

fn ends_quote(next: Option<char>) -> bool {
    next.is_none_or(|c| c.is_whitespace() || trailing_punct(c))
}

pub fn lex(goal: &str) -> Vec<Tok> {
    let chars: Vec<(usize, char)> = goal.char_indices().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if let Some(close) = closing(c) {
            // Find a closing quote that ends a token, so apostrophes inside
            // words ("it's") do not close a single-quoted string early.
            let found = (i + 1..chars.len())
                .find(|&j| chars[j].1 == close && ends_quote(chars.get(j + 1).map(|x| x.1)));
            if let Some(j) = found {
                let start = pos + c.len_utf8();
                let end = chars[j].0;
                toks.push(Tok {
                    kind: Kind::Quoted,
                    text: goal[start..end].to_string(),
                    lower: goal[start..end].to_lowercase(),
                    start,
                    end,
                });
                i = j + 1;
                // Punctuation right after the closing quote.
                while i < chars.len() && trailing_punct(chars[i].1) {
                    if matches!(chars[i].1, ',' | ';' | '.') {
                        push_sep(&mut toks, chars[i].0);
                    }
                    i += 1;
                }
                continue;
            }
        }
        let mut j = i;
        while j < chars.len() && !chars[j].1.is_whitespace() {
            j += 1;
        }
        let end_byte = chars.get(j).map_or(goal.len(), |x| x.0);
        let raw = &goal[pos..end_byte];
        // A placeholder for a value the reflex layer took out of the goal
        // ("[EMAIL_1]") is one quoted value, brackets and all: the
        // orchestrator puts the value back in its place before the step runs.
        if let Some(len) = placeholder_len(raw) {
            toks.push(Tok {
                kind: Kind::Quoted,
                text: raw[..len].to_string(),
                lower: raw[..len].to_string(),
                start: pos,
                end: pos + len,
            });
            let rest = &raw[len..];
            if rest.contains([',', ';']) || (rest.contains('.') && j < chars.len()) {
                push_sep(&mut toks, end_byte);
            }
            i = j;
            continue;
        }
        let lead = raw.len() - raw.trim_start_matches(['(', '[']).len();
        let mut word = &raw[lead..];
        let mut sep = false;
        // "." and ".." are paths; anything else sheds sentence punctuation.
        if word != "." && word != ".." && !word.ends_with("/.") {
            let trimmed = word.trim_end_matches(trailing_punct);
            let shed = &word[trimmed.len()..];
            sep = shed.contains([',', ';']) || (shed.contains('.') && j < chars.len());
            // Keep a trailing "?" or "!" off words; keep "/." style paths intact.
            word = trimmed;
        }
        if !word.is_empty() {
            let start = pos + lead;
            toks.push(Tok {
                kind: Kind::Word,
                text: word.to_string(),
                lower: word.to_lowercase(),
                start,
                end: start + word.len(),
            });
        }
        if sep {
            push_sep(&mut toks, end_byte);
        }
        i = j;
    }
    toks
}

/// The length of a placeholder (`[EMAIL_1]`, `[API_TOKEN_2]`) at the start
/// of `raw` when only punctuation follows it.
fn placeholder_len(raw: &str) -> Option<usize> {
    let inner = raw.strip_prefix('[')?;
    let close = inner.find(']')?;
    let body = &inner[..close];
    let (name, n) = body.rsplit_once('_')?;
    let plain = !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
        && !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit());
    let rest = &inner[close + 1..];
    (plain && rest.chars().all(trailing_punct)).then_some(close + 2)
}

fn push_sep(toks: &mut Vec<Tok>, at: usize) {
    if toks.last().is_some_and(|t| t.kind != Kind::Sep) {
        toks.push(Tok {
            kind: Kind::Sep,
            text: String::new(),
            lower: String::new(),
            start: at,
            end: at,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_one_quoted_value() {
        let toks = lex("lines with [EMAIL_1], or [API_TOKEN_2].");
        let quoted: Vec<&str> = toks
            .iter()
            .filter(|t| t.kind == Kind::Quoted)
            .map(|t| t.text.as_str())
            .collect();
        assert_eq!(quoted, ["[EMAIL_1]", "[API_TOKEN_2]"]);
        assert!(lex("[EMAIL]").iter().all(|t| t.kind == Kind::Word));
        assert!(lex("[a_1]").iter().all(|t| t.kind == Kind::Word));
    }

    fn kinds(goal: &str) -> Vec<(Kind, String)> {
        lex(goal).into_iter().map(|t| (t.kind, t.text)).collect()
    }

    #[test]
    fn quotes_words_and_separators() {
        let t = kinds("Echo 'Hello, World!' then list /tmp, and count them.");
        assert_eq!(t[0], (Kind::Word, "Echo".into()));
        assert_eq!(t[1], (Kind::Quoted, "Hello, World!".into()));
        assert_eq!(t[4], (Kind::Word, "/tmp".into()));
        assert_eq!(t[5].0, Kind::Sep);
        assert_eq!(t.last().unwrap(), &(Kind::Word, "them".into()));
    }

    #[test]
    fn apostrophes_are_not_quotes() {
        let t = kinds("Print today's date and say 'it's fine'");
        assert_eq!(t[1], (Kind::Word, "today's".into()));
        assert_eq!(t.last().unwrap(), &(Kind::Quoted, "it's fine".into()));
    }

    #[test]
    fn paths_keep_their_dots() {
        let t = kinds("list . and ../x and notes.txt.");
        assert_eq!(t[1].1, ".");
        assert_eq!(t[3].1, "../x");
        assert_eq!(t[5].1, "notes.txt");
        let t = kinds("grep \"a b\" in f.log, then stop");
        assert_eq!(t[1], (Kind::Quoted, "a b".into()));
        assert_eq!(t[4].0, Kind::Sep);
    }
}
