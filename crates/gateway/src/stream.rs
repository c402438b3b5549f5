//! Cutting a screened answer into stream deltas.
//!
//! The answer is screened and its placeholders restored whole before the
//! first delta is sent, so no placeholder and no secret can straddle two
//! deltas: the client sees provider-shaped events, the screening sees the
//! complete text.

/// About this many characters per delta, cut after whitespace where
/// there is some.
const PIECE: usize = 8;

pub fn pieces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut n = 0;
    for c in text.chars() {
        cur.push(c);
        n += 1;
        if (n >= PIECE && c.is_whitespace()) || n >= PIECE * 2 {
            out.push(std::mem::take(&mut cur));
            n = 0;
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_join_back_to_the_text() {
        let text = "My SSN is 123-45-6789, and ünïcode survives being cut into many small deltas.";
        let p = pieces(text);
        assert!(p.len() > 2, "{p:?}");
        assert_eq!(p.concat(), text);
        assert!(pieces("").is_empty());
    }
}
