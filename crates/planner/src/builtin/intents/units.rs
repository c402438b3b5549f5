//! Unit conversions of a number the goal spells out: "convert 100
//! fahrenheit to celsius", "how many feet are in 3 miles", "5 km in miles",
//! "2 GiB in MB".
//!
//! The conversion is one fixed `python3` program: temperatures by formula,
//! everything else by a factor to a base unit (metres, bytes) looked up in
//! the program from the unit names the goal's words map to here. Byte
//! units are explicit: KB, MB, GB are powers of 1000; KiB, MiB, GiB of 1024.
//! The result is printed rounded to 6 decimal places, trailing zeros (and a
//! trailing point) removed: 37.777778, 3.106856, 2048.

use crate::builtin::clause::{number, Clause};

use super::compute::{need_python, python};
use super::{Ctx, Outcome};

/// Converts `argv[1]` from unit `argv[2]` to unit `argv[3]` (the canonical
/// names of `UNITS`).
const CONVERT: &str = r#"import sys
x, a, b = float(sys.argv[1]), sys.argv[2], sys.argv[3]
to_c = {"celsius": lambda v: v, "fahrenheit": lambda v: (v - 32) * 5 / 9, "kelvin": lambda v: v - 273.15}
from_c = {"celsius": lambda v: v, "fahrenheit": lambda v: v * 9 / 5 + 32, "kelvin": lambda v: v + 273.15}
factor = {
    "mm": 0.001, "cm": 0.01, "m": 1, "km": 1000, "inch": 0.0254, "foot": 0.3048,
    "yard": 0.9144, "mile": 1609.344,
    "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
}
if a in to_c:
    if a == "kelvin" and x < 0:
        sys.exit("a temperature below 0 kelvin does not exist")
    r = from_c[b](to_c[a](x))
else:
    r = x * factor[a] / factor[b]
s = f"{r:.6f}".rstrip("0").rstrip(".")
if s in ("0", "-0") and r != 0:
    sys.exit(f"the result ({r:g}) is too small to show with 6 decimal places")
print("0" if s == "-0" else s)
"#;

/// Words naming a unit: (word, canonical name, dimension).
#[rustfmt::skip]
const UNITS: &[(&str, &str, &str)] = &[
    ("celsius", "celsius", "temperature"), ("centigrade", "celsius", "temperature"),
    ("°c", "celsius", "temperature"), ("c", "celsius", "temperature"),
    ("fahrenheit", "fahrenheit", "temperature"), ("°f", "fahrenheit", "temperature"),
    ("f", "fahrenheit", "temperature"),
    ("kelvin", "kelvin", "temperature"), ("kelvins", "kelvin", "temperature"),
    ("k", "kelvin", "temperature"),
    ("mm", "mm", "length"), ("millimeter", "mm", "length"), ("millimeters", "mm", "length"),
    ("millimetre", "mm", "length"), ("millimetres", "mm", "length"),
    ("cm", "cm", "length"), ("centimeter", "cm", "length"), ("centimeters", "cm", "length"),
    ("centimetre", "cm", "length"), ("centimetres", "cm", "length"),
    ("m", "m", "length"), ("meter", "m", "length"), ("meters", "m", "length"),
    ("metre", "m", "length"), ("metres", "m", "length"),
    ("km", "km", "length"), ("kilometer", "km", "length"), ("kilometers", "km", "length"),
    ("kilometre", "km", "length"), ("kilometres", "km", "length"),
    ("inch", "inch", "length"), ("inches", "inch", "length"),
    ("ft", "foot", "length"), ("foot", "foot", "length"), ("feet", "foot", "length"),
    ("yd", "yard", "length"), ("yard", "yard", "length"), ("yards", "yard", "length"),
    ("mi", "mile", "length"), ("mile", "mile", "length"), ("miles", "mile", "length"),
    ("b", "B", "bytes"), ("byte", "B", "bytes"), ("bytes", "B", "bytes"),
    ("kb", "KB", "bytes"), ("kilobyte", "KB", "bytes"), ("kilobytes", "KB", "bytes"),
    ("mb", "MB", "bytes"), ("megabyte", "MB", "bytes"), ("megabytes", "MB", "bytes"),
    ("gb", "GB", "bytes"), ("gigabyte", "GB", "bytes"), ("gigabytes", "GB", "bytes"),
    ("tb", "TB", "bytes"), ("terabyte", "TB", "bytes"), ("terabytes", "TB", "bytes"),
    ("kib", "KiB", "bytes"), ("kibibyte", "KiB", "bytes"), ("kibibytes", "KiB", "bytes"),
    ("mib", "MiB", "bytes"), ("mebibyte", "MiB", "bytes"), ("mebibytes", "MiB", "bytes"),
    ("gib", "GiB", "bytes"), ("gibibyte", "GiB", "bytes"), ("gibibytes", "GiB", "bytes"),
    ("tib", "TiB", "bytes"), ("tebibyte", "TiB", "bytes"), ("tebibytes", "TiB", "bytes"),
];

/// Single letters are units only between two temperatures ("100 F to C"):
/// elsewhere "m" or "b" could be anything.
const LETTER_UNITS: &[&str] = &["c", "f", "k", "m", "b"];

#[rustfmt::skip]
pub const UNITS_VOCAB: &[&str] = &[
    "convert", "conversion", "change", "turn", "express", "into", "to", "in", "as", "how",
    "many", "much", "are", "is", "there", "what", "what's", "whats", "equals", "equal",
    "equivalent", "degrees", "degree", "°", "please",
];

/// A unit mention: token index, canonical unit, dimension, and whether the
/// number is glued to it ("5km") with its value.
struct Mention {
    at: usize,
    unit: &'static str,
    dim: &'static str,
    glued: Option<String>,
}

fn unit_of(word: &str) -> Option<(&'static str, &'static str)> {
    UNITS
        .iter()
        .find(|(w, _, _)| *w == word)
        .map(|&(_, u, d)| (u, d))
}

fn is_number(t: &str) -> bool {
    t.parse::<f64>().is_ok_and(f64::is_finite)
}

/// The unit mentions of a clause, in order.
fn mentions(c: &Clause<'_>) -> Vec<Mention> {
    let mut out = Vec::new();
    for i in 0..c.len() {
        if !c.is_word(i) {
            continue;
        }
        let w = c.word(i);
        if let Some((unit, dim)) = unit_of(w) {
            out.push(Mention {
                at: i,
                unit,
                dim,
                glued: None,
            });
            continue;
        }
        // "5km", "100°F", "-40°c": a number with its unit.
        let split = w
            .char_indices()
            .find(|&(k, ch)| k > 0 && !(ch.is_ascii_digit() || ch == '.'))
            .map(|(k, _)| k);
        if let Some(k) = split {
            let (num, unit) = w.split_at(k);
            if let (true, Some((u, d))) = (is_number(num), unit_of(unit)) {
                out.push(Mention {
                    at: i,
                    unit: u,
                    dim: d,
                    glued: Some(num.to_string()),
                });
            }
        }
    }
    out
}

/// "Convert 100 fahrenheit to celsius", "how many feet are in 3 miles",
/// "5km in miles", "what is 2 GiB in MB".
pub(super) fn convert(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    if !c.paths().is_empty() || !c.quoted().is_empty() || !c.urls().is_empty() {
        return Ok(None);
    }
    let found = mentions(c);
    let [m1, m2] = found.as_slice() else {
        return Ok(None);
    };
    let letters = |m: &Mention| m.glued.is_none() && LETTER_UNITS.contains(&c.word(m.at));
    if (letters(m1) || letters(m2)) && !(m1.dim == "temperature" && m2.dim == "temperature") {
        return Ok(None);
    }
    // The amount: glued to one unit, or the one number right before one
    // ("100 degrees fahrenheit" allowed).
    // "Two miles", and "a"/"an" right before a unit ("how many cm are in
    // an inch"), are amounts too.
    let value = |i: usize| -> Option<String> {
        if is_number(c.text(i)) {
            return Some(c.text(i).to_string());
        }
        if let Some(n) = number(c.word(i)) {
            return Some(n.to_string());
        }
        let unit_next = [m1.at, m2.at].contains(&(i + 1));
        (matches!(c.word(i), "a" | "an" | "one") && unit_next).then(|| "1".to_string())
    };
    let numbers: Vec<usize> = (0..c.len())
        .filter(|&i| c.is_word(i) && value(i).is_some())
        .collect();
    let (amount, from, to, number_at) = match (&m1.glued, &m2.glued, numbers.as_slice()) {
        (Some(v), None, []) => (v.clone(), m1, m2, None),
        (None, Some(v), []) => (v.clone(), m2, m1, None),
        (None, None, [n]) => {
            let before = |m: &Mention| {
                let k = c.skip(n + 1, &["degrees", "degree", "°"], 0);
                k == m.at
            };
            let v = value(*n).unwrap_or_default();
            if before(m1) {
                (v, m1, m2, Some(*n))
            } else if before(m2) {
                (v, m2, m1, Some(*n))
            } else {
                return Ok(None);
            }
        }
        _ => return Ok(None),
    };
    if from.dim != to.dim {
        return Err(format!(
            "'{}' and '{}' measure different things; they cannot be converted",
            c.text(from.at),
            c.text(to.at)
        ));
    }
    // The target must be the other side of a conversion word ("to",
    // "into", "in", "as") or what "how many" asks for.
    let target_cued = (to.at > 0 && matches!(c.word(to.at - 1), "to" | "into" | "in" | "as"))
        || (to.at > 1
            && matches!(c.word(to.at - 1), "degrees" | "degree")
            && matches!(c.word(to.at - 2), "to" | "into" | "in" | "as"))
        || (to.at > 1 && c.word(to.at - 1) == "many" && c.word(to.at - 2) == "how");
    if !target_cued || from.unit == to.unit {
        return Ok(None);
    }
    need_python(ctx)?;
    for i in [Some(from.at), Some(to.at), number_at]
        .into_iter()
        .flatten()
    {
        c.mark(i);
    }
    let note = match from.dim {
        "bytes" => " (KB, MB, GB, TB are powers of 1000; KiB, MiB, GiB, TiB of 1024)",
        _ => "",
    };
    Ok(Some(vec![python(
        CONVERT,
        vec![amount.clone(), from.unit.to_string(), to.unit.to_string()],
        format!(
            "Convert {amount} {} to {}{note}, rounded to 6 decimal places",
            from.unit, to.unit
        ),
        &["Output is the converted number"],
    )]))
}
