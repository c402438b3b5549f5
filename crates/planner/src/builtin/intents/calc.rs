//! Arithmetic goals: "calculate 17 * 23", "what is (2+3)^2", "what is 100
//! divided by 7", "subtract 15 from 100".
//!
//! The expression is lifted from the goal's raw text rather than its words
//! (operator words become their symbols), and is evaluated by one fixed
//! `python3` program that reads it from argv and accepts numbers, the four
//! operations, `%`, `//`, powers and parentheses, nothing else.

use crate::builtin::clause::Clause;

use super::compute::{need_python, python};
use super::{Ctx, Outcome};

/// Evaluates the arithmetic expression `argv[1]`: a syntax tree of numbers
/// and operators only (never `eval`), powers bounded so that no answer
/// takes longer to print than to ask for. Integral results print without
/// a fraction; others as Python prints floats.
const EVALUATE: &str = r#"import ast, operator, sys
from decimal import Decimal, getcontext
from fractions import Fraction
ops = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
       ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv,
       ast.Mod: operator.mod, ast.Pow: operator.pow}
def ev(n):
    if isinstance(n, ast.Expression):
        return ev(n.body)
    if isinstance(n, ast.Constant) and type(n.value) in (int, float):
        # Decimal literals as exact fractions: 0.1 + 0.2 is 0.3.
        return Fraction(str(n.value)) if type(n.value) is float else Fraction(n.value)
    if isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.UAdd, ast.USub)):
        v = ev(n.operand)
        return -v if isinstance(n.op, ast.USub) else v
    if isinstance(n, ast.BinOp) and type(n.op) in ops:
        a, b = ev(n.left), ev(n.right)
        if isinstance(n.op, ast.Pow):
            if abs(b) > 10000:
                sys.exit("the exponent is too large to compute")
            if isinstance(b, Fraction) and b.denominator != 1:
                # A root: not exact in general.
                return float(a) ** float(b)
        return ops[type(n.op)](a, b)
    sys.exit("not an arithmetic expression")
def show(r):
    if isinstance(r, complex):
        sys.exit("the result is not a real number")
    if isinstance(r, Fraction):
        if r.denominator == 1:
            return str(r.numerator)
        d = r.denominator
        for p in (2, 5):
            while d % p == 0:
                d //= p
        if d == 1:
            # A terminating decimal: printed exactly.
            getcontext().prec = 60
            return format((Decimal(r.numerator) / Decimal(r.denominator)).normalize(), "f")
        r = float(r)
    if r.is_integer() and abs(r) < 2 ** 53:
        return str(int(r))
    return repr(r)
try:
    print(show(ev(ast.parse(sys.argv[1], mode="eval"))))
except ZeroDivisionError:
    sys.exit("division by zero")
except (SyntaxError, OverflowError, ValueError) as e:
    sys.exit("cannot compute: %s" % e)
"#;

/// Operator words and the symbols they stand for, longest first.
const OPERATOR_WORDS: &[(&str, &str)] = &[
    ("multiplied by", "*"),
    ("divided by", "/"),
    ("modulo", "%"),
    ("times", "*"),
    ("plus", "+"),
    ("minus", "-"),
    ("mod", "%"),
];

/// "Add 3 and 5", "subtract 15 from 100": the verb, the word between the
/// numbers, and whether the operands swap ("from" puts the second first).
const VERB_FORMS: &[(&str, &str, &str, bool)] = &[
    ("add", "and", "+", false),
    ("add", "to", "+", false),
    ("sum", "and", "+", false),
    ("subtract", "from", "-", true),
    ("multiply", "by", "*", false),
    ("multiply", "and", "*", false),
    ("divide", "by", "/", false),
];

/// "Calculate 17 * 23", "what is (2+3)^2", "what's 9 times 8".
pub(super) fn calc(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    let expr = match c.verb_word() {
        "calculate" | "compute" | "evaluate" | "solve" | "what" | "what's" | "whats" | "how"
        | "eval" => expression(c),
        _ => verb_form(c),
    };
    let Some(expr) = expr else {
        return Ok(None);
    };
    need_python(ctx)?;
    for i in 0..c.len() {
        c.mark(i);
    }
    Ok(Some(vec![python(
        EVALUATE,
        vec![expr.clone()],
        format!("Calculate {expr}"),
        &["Output is a number"],
    )]))
}

/// The expression after "what is", in Python's syntax, when the rest of
/// the clause is nothing but one.
fn expression(c: &Clause<'_>) -> Option<String> {
    let first = c.skip(
        c.verb + 1,
        &["is", "the", "value", "of", "result", "much"],
        0,
    );
    if first >= c.len() || c.quoted().iter().any(|&q| q >= first) {
        return None;
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
    let raw = c
        .goal
        .get(s..e)?
        .trim()
        .trim_end_matches(['?', '.', '!', '='])
        .to_ascii_lowercase();
    // A hexadecimal literal is not "0 times 10".
    if raw.contains("0x") {
        return None;
    }
    let mut expr = format!(" {raw} ");
    for (word, symbol) in OPERATOR_WORDS {
        expr = expr.replace(&format!(" {word} "), &format!(" {symbol} "));
    }
    let expr = expr
        .trim()
        .replace('^', "**")
        .replace(['x', '×'], "*")
        .replace('÷', "/");
    let ok_chars = expr
        .chars()
        .all(|ch| ch.is_ascii_digit() || " .+-*/%()".contains(ch));
    let has_digit = expr.chars().any(|ch| ch.is_ascii_digit());
    let has_op = expr.chars().any(|ch| "+-*/%".contains(ch));
    (ok_chars && has_digit && has_op).then_some(expr)
}

/// "Add 3 and 5", "subtract 15 from 100", "divide 10 by 4": exactly a verb,
/// a number, its joining word and a number.
fn verb_form(c: &Clause<'_>) -> Option<String> {
    let rest = c.verb + 1;
    if c.len() != rest + 3 {
        return None;
    }
    let num = |i: usize| {
        let t = c.text(i);
        t.parse::<f64>().is_ok_and(f64::is_finite).then_some(t)
    };
    let (a, b) = (num(rest)?, num(rest + 2)?);
    let (_, _, op, swap) = VERB_FORMS
        .iter()
        .find(|(v, join, _, _)| *v == c.verb_word() && *join == c.word(rest + 1))?;
    let (a, b) = if *swap { (b, a) } else { (a, b) };
    Some(format!("{a} {op} {b}"))
}
