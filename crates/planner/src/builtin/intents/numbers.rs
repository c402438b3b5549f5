//! Goals about numbers written in the goal: "the sum of 3, 4 and 5", "the
//! average of 10 20 30", "15 percent of 80", "the first 5 primes".
//!
//! One fixed `python3` program; the operation and the numbers go in as
//! arguments. Only numbers the goal spells out count: a goal that also
//! names a file or quotes text is some other shape.

use crate::builtin::clause::{number, Clause};

use super::compute::{need_python, python};
use super::{Ctx, Outcome};

/// `argv[1]` is the operation, the rest its numbers.
const NUMBERS: &str = r#"import sys, math, statistics
op, xs = sys.argv[1], [float(a) for a in sys.argv[2:]]
def show(r):
    print(int(r) if float(r).is_integer() else round(r, 10))
if op == "sum": show(sum(xs))
elif op == "average": show(statistics.fmean(xs))
elif op == "median": show(statistics.median(xs))
elif op == "min": show(min(xs))
elif op == "max": show(max(xs))
elif op == "product": show(math.prod(xs))
elif op == "percent": show(xs[0] * xs[1] / 100)
elif op in ("primes", "squares", "cubes"):
    n = int(xs[0])
    if op == "primes":
        out, k = [], 1
        while len(out) < n:
            k += 1
            if all(k % d for d in range(2, math.isqrt(k) + 1)):
                out.append(k)
    else:
        p = 2 if op == "squares" else 3
        out = [k ** p for k in range(1, n + 1)]
    print("\n".join(map(str, out)))
else: sys.exit(f"unknown operation {op}")
"#;

pub const NUMBERS_VOCAB: &[&str] = &[
    "sum",
    "total",
    "add",
    "average",
    "mean",
    "median",
    "minimum",
    "min",
    "smallest",
    "lowest",
    "maximum",
    "max",
    "largest",
    "biggest",
    "highest",
    "product",
    "multiply",
    "percent",
    "percentage",
    "primes",
    "prime",
    "squares",
    "cubes",
    "numbers",
    "first",
    "calculate",
    "compute",
    "what",
    "what's",
    "whats",
    "is",
    "give",
    "print",
    "show",
    "list",
    "and",
];

/// The most numbers of a sequence this shape writes out.
const MAX_ITEMS: u32 = 10_000;

/// Numeric tokens of the clause (integers or decimals, signed), with their
/// positions.
fn numbers(c: &Clause<'_>) -> Vec<(usize, String)> {
    (0..c.len())
        .filter_map(|i| {
            let t = c.text(i).trim_end_matches('%');
            t.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(|_| (i, t.to_string()))
        })
        .collect()
}

pub(super) fn numbers_goal(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    if !c.paths().is_empty() || !c.quoted().is_empty() || !c.urls().is_empty() {
        return Ok(None);
    }
    let nums = numbers(c);
    let percent =
        c.has(&["percent", "percentage"]) || (0..c.len()).any(|i| c.text(i).ends_with('%'));
    let op = if c.has(&["primes", "prime"]) {
        "primes"
    } else if c.has(&["squares"]) {
        "squares"
    } else if c.has(&["cubes"]) {
        "cubes"
    } else if percent {
        "percent"
    } else if c.has(&["sum", "total", "add"]) {
        "sum"
    } else if c.has(&["average", "mean"]) {
        "average"
    } else if c.has(&["median"]) {
        "median"
    } else if c.has(&["minimum", "min", "smallest", "lowest"]) {
        "min"
    } else if c.has(&["maximum", "max", "largest", "biggest", "highest"]) {
        "max"
    } else if c.has(&["product", "multiply"]) {
        "product"
    } else {
        return Ok(None);
    };
    let fits = match op {
        "primes" | "squares" | "cubes" => {
            nums.len() == 1
                && c.has(&["first"])
                && number(&nums[0].1).is_some_and(|n| (1..=MAX_ITEMS).contains(&n))
        }
        "percent" => nums.len() == 2 && c.has(&["of"]),
        _ => nums.len() >= 2,
    };
    if !fits {
        return Ok(None);
    }
    need_python(ctx)?;
    for &(i, _) in &nums {
        c.mark(i);
    }
    let values: Vec<String> = nums.into_iter().map(|(_, v)| v).collect();
    let action = match op {
        "percent" => format!("{}% of {}", values[0], values[1]),
        "primes" | "squares" | "cubes" => format!("The first {} {op}", values[0]),
        _ => format!("The {op} of {}", values.join(", ")),
    };
    let mut args = vec![op.to_string()];
    args.extend(values);
    Ok(Some(vec![python(
        NUMBERS,
        args,
        action,
        &["Output is the computed number"],
    )]))
}
