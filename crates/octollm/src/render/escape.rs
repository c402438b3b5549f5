//! Making a sandboxed command's output safe to show on a terminal.
//!
//! The bytes come from an untrusted program. Written raw, escape sequences
//! would let it drive the operator's terminal: set the clipboard (OSC 52),
//! change the window title, send terminal queries whose answers arrive as
//! typed input, hide lines with cursor movement or `\r`. Every control
//! character except `\n` and `\t` is therefore rendered visibly: C0 controls
//! and DEL in caret notation (`ESC` as `^[`), C1 controls (U+0080 to U+009F,
//! which include the one-character CSI, U+009B) as `\u{9b}`, and bytes that
//! are not UTF-8 as `\xff`. Each control is replaced on its own, so a
//! sequence split across chunks cannot slip through; the only state kept
//! between chunks is an incomplete UTF-8 character at the end of one.

/// Escapes one stream, chunk by chunk.
#[derive(Default)]
pub struct Escaper {
    /// The start of a UTF-8 character the last chunk ended in (at most 3
    /// bytes).
    pending: Vec<u8>,
}

impl Escaper {
    /// The printable form of `chunk`, given what came before it.
    pub fn push(&mut self, chunk: &[u8]) -> String {
        let mut input = std::mem::take(&mut self.pending);
        input.extend_from_slice(chunk);
        let mut out = String::with_capacity(input.len());
        let mut rest = input.as_slice();
        loop {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    escape_str(valid, &mut out);
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    // The first `valid_up_to` bytes are valid UTF-8.
                    escape_str(std::str::from_utf8(valid).unwrap_or_default(), &mut out);
                    match e.error_len() {
                        Some(n) => {
                            for b in &after[..n] {
                                out.push_str(&format!("\\x{b:02x}"));
                            }
                            rest = &after[n..];
                        }
                        None => {
                            // Incomplete at the end: may finish next chunk.
                            self.pending = after.to_vec();
                            break;
                        }
                    }
                }
            }
        }
        out
    }

    /// Whatever is left when the stream ends (an unfinished character).
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.pending)
            .iter()
            .map(|b| format!("\\x{b:02x}"))
            .collect()
    }
}

fn escape_str(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            '\u{7f}' => out.push_str("^?"),
            c if (c as u32) < 0x20 => {
                out.push('^');
                out.push(char::from(c as u8 + b'@'));
            }
            c if ('\u{80}'..='\u{9f}').contains(&c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Escaper;

    fn once(bytes: &[u8]) -> String {
        let mut e = Escaper::default();
        let mut s = e.push(bytes);
        s.push_str(&e.finish());
        s
    }

    #[test]
    fn text_newlines_and_tabs_pass_through() {
        assert_eq!(once("héllo\twörld ✓\n".as_bytes()), "héllo\twörld ✓\n");
    }

    #[test]
    fn escape_sequences_are_rendered_visibly() {
        // OSC 52 (clipboard), a title set, a device-attributes query.
        let out = once(b"\x1b]52;c;cm0gLXJmIH4=\x07\x1b]0;pwned\x1b\\\x1b[c");
        assert_eq!(out, "^[]52;c;cm0gLXJmIH4=^G^[]0;pwned^[\\^[[c");
        assert!(!out.chars().any(|c| c.is_control()));
        assert_eq!(once(b"a\rb\x08\x00\x7f"), "a^Mb^H^@^?");
    }

    #[test]
    fn c1_controls_are_rendered_visibly() {
        // U+009B is a one-character CSI, U+009D an OSC.
        let out = once("\u{9b}2J\u{9d}0;t\u{9c}".as_bytes());
        assert_eq!(out, "\\u{9b}2J\\u{9d}0;t\\u{9c}");
        assert!(!out.chars().any(|c| c.is_control()));
    }

    #[test]
    fn a_sequence_split_across_chunks_is_still_neutralised() {
        let mut e = Escaper::default();
        let a = e.push(b"x\x1b");
        let b = e.push(b"]52;c;AAAA\x07");
        assert_eq!(format!("{a}{b}"), "x^[]52;c;AAAA^G");
        // A C1 control split inside its UTF-8 encoding (0xC2 0x9B).
        let mut e = Escaper::default();
        let a = e.push(b"y\xc2");
        let b = e.push(b"\x9b31m");
        assert_eq!(format!("{a}{b}"), "y\\u{9b}31m");
        // An ordinary character split the same way stays itself.
        let mut e = Escaper::default();
        let a = e.push(&"é".as_bytes()[..1]);
        let b = e.push(&"é".as_bytes()[1..]);
        assert_eq!(format!("{a}{b}"), "é");
    }

    #[test]
    fn invalid_utf8_is_shown_as_bytes_without_panicking() {
        assert_eq!(once(b"a\xffb\xc0\x80"), "a\\xffb\\xc0\\x80");
        // Raw 8-bit C1 bytes are not UTF-8 either.
        assert_eq!(once(b"\x9b2J"), "\\x9b2J");
        // A truncated character at the very end.
        let mut e = Escaper::default();
        assert_eq!(e.push(b"z\xe2\x9c"), "z");
        assert_eq!(e.finish(), "\\xe2\\x9c");
    }
}
