//! Goals about numbers written in the goal: "the sum of 3, 4 and 5", "the
//! average of 10 20 30", "15 percent of 80", "the first 5 primes".
//!
//! One fixed `python3` program; the operation and the numbers go in as
//! arguments. Only numbers the goal spells out count: a goal that also
//! names a file or quotes text is some other shape.

use crate::builtin::clause::{number, Clause};

use super::compute::{need_python, ordinal_digits, python};
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
elif op == "power":
    b, e = sys.argv[2], sys.argv[3]
    # Integers stay integers: 2 ** 100 is exact, not a rounded float.
    if b.lstrip("-").isdigit() and e.isdigit():
        print(int(b) ** int(e))
    else:
        show(xs[0] ** xs[1])
elif op == "sqrt":
    if xs[0] < 0:
        sys.exit("a negative number has no real square root")
    r = math.isqrt(int(xs[0])) if xs[0].is_integer() else None
    show(r if r is not None and r * r == xs[0] else math.sqrt(xs[0]))
elif op == "cbrt":
    r = round(abs(xs[0]) ** (1 / 3))
    exact = xs[0].is_integer() and r ** 3 == abs(xs[0])
    show(math.copysign(r if exact else abs(xs[0]) ** (1 / 3), xs[0]))
elif op in ("primes", "squares", "cubes", "primes-below", "primes-up-to"):
    n = int(xs[0])
    def prime(k):
        return k > 1 and all(k % d for d in range(2, math.isqrt(k) + 1))
    if op == "primes-below":
        out = [k for k in range(2, n) if prime(k)]
    elif op == "primes-up-to":
        out = [k for k in range(2, n + 1) if prime(k)]
    elif op == "primes":
        out, k = [], 1
        while len(out) < n:
            k += 1
            if prime(k):
                out.append(k)
    else:
        p = 2 if op == "squares" else 3
        out = [k ** p for k in range(1, n + 1)]
    if not out:
        sys.exit("there are none")
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
    "power",
    "raised",
    "squared",
    "cubed",
    "square",
    "cube",
    "root",
    "sqrt",
    "below",
    "under",
    "less",
    "smaller",
    "than",
    "up",
    "upto",
    "to",
];

/// The most numbers of a sequence this shape writes out.
const MAX_ITEMS: u32 = 10_000;

/// The largest exponent this shape raises to: 2 to the 10 000th has
/// 3 011 digits, and a larger one could take the sandbox's memory.
const MAX_EXPONENT: f64 = 10_000.0;

/// The largest bound of "the primes below N" (about 9 600 primes).
const MAX_PRIME_BOUND: u32 = 100_000;

/// The power a clause asks for: "2 to the power of 10", "2 raised to 10",
/// "2 to the 10th power", "3 squared", "the cube of 4".
fn power(c: &Clause<'_>) -> Option<&'static str> {
    if c.has(&["squared"]) || c.has_phrase(&["square", "of"]) {
        return Some("squared");
    }
    if c.has(&["cubed"]) || c.has_phrase(&["cube", "of"]) {
        return Some("cubed");
    }
    if !(c.has(&["power", "raised"])) {
        return None;
    }
    Some("power")
}

/// Numeric tokens of the clause (integers or decimals, signed), with their
/// positions.
fn numbers(c: &Clause<'_>) -> Vec<(usize, String)> {
    (0..c.len())
        .filter_map(|i| {
            let t = c.text(i).trim_end_matches('%');
            // "2 to the 10th power": the ordinal is the exponent.
            let t = match ordinal_digits(t) {
                Some(d) if c.word(i + 1) == "power" => d,
                _ => t,
            };
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
    // Two operations in one clause ("the primes below 20 squared", "the
    // sum of the squares") is a composition this shape does not build.
    let root = c.has(&["root", "sqrt"]);
    let groups = [
        c.has(&["primes", "prime"]),
        root,
        c.has(&["power", "raised", "squared", "cubed"]) || (!root && c.has(&["square", "cube"])),
        c.has(&["squares", "cubes"]),
        percent,
        c.has(&["sum", "total", "add"]),
        c.has(&["average", "mean"]),
        c.has(&["median"]),
        c.has(&["minimum", "min", "smallest", "lowest"]),
        c.has(&["maximum", "max", "largest", "biggest", "highest"]),
        c.has(&["product", "multiply"]),
    ];
    if groups.iter().filter(|&&g| g).count() > 1 {
        return Ok(None);
    }
    // "Sum 1 to 100", "the average of the numbers from 1 to 10" name a
    // range, not two numbers: adding the two ends would be wrong.
    let to_is_range = (0..c.len()).any(|i| c.word(i) == "to" && (i == 0 || c.word(i - 1) != "up"));
    let ranged = to_is_range
        || c.has(&["through", "thru", "till", "until"])
        || (c.has(&["from"]) && c.has(&["numbers", "integers"]));
    if ranged && !c.has(&["power", "raised"]) {
        return Ok(None);
    }
    let below = c.has(&["below", "under"])
        || c.has_phrase(&["less", "than"])
        || c.has_phrase(&["smaller", "than"]);
    let up_to = c.has_phrase(&["up", "to"]) || c.has(&["upto"]);
    let op = if c.has(&["primes", "prime"]) {
        match (below, up_to) {
            (true, false) => "primes-below",
            (false, true) => "primes-up-to",
            (true, true) => return Ok(None),
            (false, false) => "primes",
        }
    } else if c.has(&["root"]) || c.has(&["sqrt"]) {
        if c.has(&["cube"]) {
            "cbrt"
        } else if c.has(&["square"]) || c.has(&["sqrt"]) {
            "sqrt"
        } else {
            return Ok(None);
        }
    } else if let Some(op) = power(c) {
        op
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
        "primes-below" | "primes-up-to" => {
            nums.len() == 1
                && !c.has(&["first"])
                && number(&nums[0].1).is_some_and(|n| n <= MAX_PRIME_BOUND)
        }
        "sqrt" | "cbrt" | "squared" | "cubed" => nums.len() == 1,
        "power" => {
            nums.len() == 2
                && nums[1]
                    .1
                    .parse::<f64>()
                    .is_ok_and(|e| e.abs() <= MAX_EXPONENT)
        }
        // "N percent of M" in that order: "what percentage is 20 of 80"
        // asks the reverse question, which this is not.
        "percent" => {
            nums.len() == 2 && {
                let (first, second) = (nums[0].0, nums[1].0);
                let marked = c.text(first).ends_with('%')
                    || matches!(c.word(first + 1), "percent" | "percentage");
                marked && (first + 1..second).any(|k| c.word(k) == "of")
            }
        }
        _ => nums.len() >= 2,
    };
    if !fits {
        return Ok(None);
    }
    need_python(ctx)?;
    for &(i, _) in &nums {
        c.mark(i);
    }
    let mut values: Vec<String> = nums.into_iter().map(|(_, v)| v).collect();
    // "3 squared" is 3 to the power of 2: one program for every power.
    let op = match op {
        "squared" => {
            values.push("2".into());
            "power"
        }
        "cubed" => {
            values.push("3".into());
            "power"
        }
        op => op,
    };
    let action = match op {
        "power" => format!("{} to the power of {}", values[0], values[1]),
        "sqrt" => format!("The square root of {}", values[0]),
        "cbrt" => format!("The cube root of {}", values[0]),
        "primes-below" => format!(
            "The primes below {} (2 up to {} minus 1)",
            values[0], values[0]
        ),
        "primes-up-to" => format!("The primes up to {} (inclusive)", values[0]),
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
