//! The reflex layer's labelled corpora: one text per line (the two
//! characters `\n` mark a line break inside one), `#` lines are comments,
//! and the split between development and held-out texts. The split is a
//! rule the trainer and the tests must agree on, so it lives here only.

use sha2::{Digest, Sha256};

/// The texts of the corpus file at `path`.
///
/// # Panics
/// When the file cannot be read: a corpus that is not there is a broken
/// checkout, not an empty corpus.
pub fn texts(path: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.replace("\\n", "\n"))
        .collect()
}

/// Whether `text` is in the held-out third (by its hash): never used to
/// train or to set a weight.
pub fn held_out(text: &str) -> bool {
    Sha256::digest(text.as_bytes())[0] % 3 == 0
}
