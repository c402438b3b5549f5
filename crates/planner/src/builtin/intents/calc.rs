//! Arithmetic goals: "calculate 17 * 23", "what is (2+3)^2".
//!
//! The expression is lifted from the goal's raw text rather than its words,
//! and is evaluated by `python3` (as are the templates in `compute.rs`).

use crate::builtin::clause::Clause;

use super::{shell, Ctx, Outcome};

/// "Calculate 17 * 23", "what is (2+3)^2".
pub(super) fn calc(c: &mut Clause<'_>, _ctx: &Ctx<'_>) -> Outcome {
    if !matches!(
        c.verb_word(),
        "calculate"
            | "compute"
            | "evaluate"
            | "solve"
            | "what"
            | "what's"
            | "whats"
            | "how"
            | "eval"
    ) {
        return Ok(None);
    }
    let first = c.skip(
        c.verb + 1,
        &["is", "the", "value", "of", "result", "much"],
        0,
    );
    if first >= c.len() || c.quoted().iter().any(|&q| q >= first) {
        return Ok(None);
    }
    let bytes = c.goal.as_bytes();
    let mut s = c.toks[first].start;
    while s > 0 && bytes[s - 1] == b'(' {
        s -= 1;
    }
    let mut e = c.toks[c.len() - 1].end;
    while e < bytes.len() && bytes[e] == b')' {
        e += 1;
    }
    let expr = c
        .goal
        .get(s..e)
        .unwrap_or("")
        .trim()
        .trim_end_matches(['?', '.', '!', '=']);
    let ok_chars = expr
        .chars()
        .all(|ch| ch.is_ascii_digit() || " .+-*/%()^x×÷".contains(ch));
    let has_digit = expr.chars().any(|ch| ch.is_ascii_digit());
    let has_op = expr.chars().any(|ch| "+-*/%^x×÷".contains(ch));
    if !ok_chars || !has_digit || !has_op {
        return Ok(None);
    }
    for i in 0..c.len() {
        c.mark(i);
    }
    let py = expr
        .replace('^', "**")
        .replace(['x', '×'], "*")
        .replace('÷', "/");
    Ok(Some(vec![shell(
        "python3",
        vec!["-c".into(), format!("print({py})")],
        format!("Calculate {expr}"),
        &["Output is a number"],
    )]))
}
