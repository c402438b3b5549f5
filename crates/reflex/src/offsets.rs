//! Byte offsets to character (Unicode scalar) offsets, which is what the API
//! reports.

/// Converts increasing byte offsets to character offsets in one forward walk.
pub struct CharOffsets<'a> {
    text: &'a str,
    ascii: bool,
    byte: usize,
    chars: usize,
}

impl<'a> CharOffsets<'a> {
    pub fn new(text: &'a str) -> Self {
        CharOffsets {
            text,
            ascii: text.is_ascii(),
            byte: 0,
            chars: 0,
        }
    }

    /// Character offset of `byte`. Queries must not go backwards; if one
    /// does, the walk restarts from the beginning (correct, just slower).
    pub fn at(&mut self, byte: usize) -> usize {
        if self.ascii {
            return byte;
        }
        let byte = floor_boundary(self.text, byte);
        if byte < self.byte {
            self.byte = 0;
            self.chars = 0;
        }
        self.chars += self.text[self.byte..byte].chars().count();
        self.byte = byte;
        self.chars
    }
}

/// The largest char boundary at or below `i`.
pub fn floor_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The smallest char boundary at or above `i`.
pub fn ceil_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_scalars_not_bytes() {
        let t = "é🎉a";
        let mut c = CharOffsets::new(t);
        assert_eq!(c.at(0), 0);
        assert_eq!(c.at(2), 1);
        assert_eq!(c.at(6), 2);
        assert_eq!(c.at(7), 3);
        assert_eq!(c.at(2), 1);
    }
}
