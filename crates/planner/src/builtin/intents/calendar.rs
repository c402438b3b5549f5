//! Calendar goals beyond "show the date": the time in a named time zone
//! ("the time in Tokyo", "the date in Europe/Paris"), the day of the week
//! of a date, the date N days from today or ago, the days between two
//! dates, and the date in a spelled-out format ("YYYY-MM-DD", "RFC 3339").
//!
//! Dates the goal names are read here into ISO form (only unambiguous
//! forms: 2024-03-01, "March 1, 2024", "1 March 2024"; never 03/01/2024)
//! and go to a fixed `python3` program as arguments, which rejects a date
//! that does not exist. Time zones are looked up by `zoneinfo` in the
//! sandbox; a zone it cannot read fails the step instead of guessing.

use crate::builtin::clause::{number, Clause};

use super::compute::{need_python, ordinal_digits, python};
use super::{shell, Ctx, Outcome};

/// Operation `argv[1]` on its arguments; dates are ISO `YYYY-MM-DD`, today
/// is the sandbox's local date.
const CALENDAR: &str = r#"import sys, datetime as dt
op, args = sys.argv[1], sys.argv[2:]
def day(s):
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        sys.exit(f"{s} is not a date")
today = dt.date.today()
if op == "zone":
    from zoneinfo import ZoneInfo
    fmt, zone = args
    try:
        tz = ZoneInfo(zone)
    except Exception as e:
        sys.exit(f"the time zone {zone} is not available here ({e})")
    print(dt.datetime.now(tz).strftime(fmt))
elif op == "weekday":
    print(day(args[0]).strftime("%A"))
elif op == "shift":
    fmt, n = args[0], int(args[1])
    print((today + dt.timedelta(days=n)).strftime(fmt))
elif op == "between":
    print(abs((day(args[1]) - day(args[0])).days))
elif op == "until":
    d = (day(args[0]) - today).days
    if d < 0:
        sys.exit(f"{args[0]} is in the past")
    print(d)
elif op == "since":
    d = (today - day(args[0])).days
    if d < 0:
        sys.exit(f"{args[0]} is in the future")
    print(d)
else:
    sys.exit(f"unknown operation {op}")
"#;

/// Cities whose time zone is not in doubt, and their IANA names.
#[rustfmt::skip]
const CITIES: &[(&[&str], &str)] = &[
    (&["tokyo"], "Asia/Tokyo"), (&["london"], "Europe/London"), (&["paris"], "Europe/Paris"),
    (&["berlin"], "Europe/Berlin"), (&["madrid"], "Europe/Madrid"), (&["rome"], "Europe/Rome"),
    (&["amsterdam"], "Europe/Amsterdam"), (&["moscow"], "Europe/Moscow"),
    (&["dublin"], "Europe/Dublin"), (&["lisbon"], "Europe/Lisbon"), (&["vienna"], "Europe/Vienna"),
    (&["zurich"], "Europe/Zurich"), (&["stockholm"], "Europe/Stockholm"),
    (&["athens"], "Europe/Athens"), (&["istanbul"], "Europe/Istanbul"),
    (&["new", "york", "city"], "America/New_York"), (&["new", "york"], "America/New_York"), (&["los", "angeles"], "America/Los_Angeles"),
    (&["chicago"], "America/Chicago"), (&["denver"], "America/Denver"),
    (&["toronto"], "America/Toronto"), (&["mexico", "city"], "America/Mexico_City"),
    (&["sao", "paulo"], "America/Sao_Paulo"), (&["são", "paulo"], "America/Sao_Paulo"),
    (&["sydney"], "Australia/Sydney"), (&["melbourne"], "Australia/Melbourne"),
    (&["auckland"], "Pacific/Auckland"), (&["honolulu"], "Pacific/Honolulu"),
    (&["singapore"], "Asia/Singapore"), (&["hong", "kong"], "Asia/Hong_Kong"),
    (&["shanghai"], "Asia/Shanghai"), (&["beijing"], "Asia/Shanghai"),
    (&["seoul"], "Asia/Seoul"), (&["dubai"], "Asia/Dubai"), (&["mumbai"], "Asia/Kolkata"),
    (&["kolkata"], "Asia/Kolkata"), (&["bangkok"], "Asia/Bangkok"),
    (&["jakarta"], "Asia/Jakarta"), (&["cairo"], "Africa/Cairo"),
    (&["johannesburg"], "Africa/Johannesburg"), (&["nairobi"], "Africa/Nairobi"),
];

const AREAS: &[&str] = &[
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
    "Etc",
];

const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

#[rustfmt::skip]
pub const CALENDAR_VOCAB: &[&str] = &[
    "date", "time", "day", "days", "week", "weeks", "weekday", "today", "today's", "todays",
    "tomorrow", "tomorrow's", "yesterday", "yesterday's", "now", "current", "currently",
    "right", "local", "ago", "before", "later", "hence", "until", "till", "since", "between",
    "passed", "elapsed", "have", "has", "will", "was", "were", "be", "fall", "falls", "fell",
    "on", "in", "is", "it", "what", "what's", "whats", "which", "how", "many", "count",
    "number", "format", "formatted", "as", "using", "and", "from", "to", "of", "the", "left",
    "remain", "remaining", "there", "are", "rfc", "2822", "3339", "clock", "zone", "timezone",
    "o'clock",
];

/// Tries each shape in turn; all of them read the date or time.
pub(super) fn calendar(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    let named = |t: &str| zone_token(t) || pattern(t).is_some();
    if !c.paths().iter().all(|&i| named(c.text(i))) || !c.urls().is_empty() {
        return Ok(None);
    }
    for shape in [between, shift, weekday_of, in_zone, formatted] {
        if let Some(specs) = shape(c, ctx)? {
            return Ok(Some(specs));
        }
    }
    Ok(None)
}

/// "Europe/Paris", "America/New_York": an IANA name by its shape.
fn zone_token(t: &str) -> bool {
    let mut parts = t.split('/');
    let area = parts.next().unwrap_or("");
    AREAS.contains(&area)
        && t.contains('/')
        && parts.all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "_+-".contains(ch))
        })
}

/// The dates the clause names, in order, as (first token, last token, ISO).
fn dates(c: &Clause<'_>) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if let Some(iso) = iso_date(c.text(i)) {
            out.push((i, i, iso));
            i += 1;
            continue;
        }
        let day_at = |k: usize| -> Option<u32> {
            number(c.word(k)).or_else(|| ordinal_digits(c.word(k)).and_then(|d| d.parse().ok()))
        };
        let year_at = |k: usize| -> Option<u32> {
            let w = c.word(k);
            (w.len() == 4).then(|| w.parse().ok()).flatten()
        };
        let month = MONTHS.iter().position(|m| *m == c.word(i));
        // "March 1, 2024", "March 1st 2024"
        if let (Some(m), Some(d), Some(y)) = (month, day_at(i + 1), year_at(i + 2)) {
            out.push((i, i + 2, format!("{y:04}-{:02}-{d:02}", m + 1)));
            i += 3;
            continue;
        }
        // "1 March 2024", "1st of March 2024"
        let of = usize::from(c.word(i + 1) == "of");
        let month_after = MONTHS.iter().position(|m| *m == c.word(i + 1 + of));
        if let (Some(d), Some(m), Some(y)) = (day_at(i), month_after, year_at(i + 2 + of)) {
            out.push((i, i + 2 + of, format!("{y:04}-{:02}-{d:02}", m + 1)));
            i += 3 + of;
            continue;
        }
        i += 1;
    }
    out
}

/// `2024-03-01` as is; the program rejects a day that does not exist.
fn iso_date(t: &str) -> Option<String> {
    let b = t.as_bytes();
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(k, ch)| k == 4 || k == 7 || ch.is_ascii_digit());
    ok.then(|| t.to_string())
}

fn mark_range(c: &mut Clause<'_>, from: usize, to: usize) {
    for i in from..=to {
        c.mark(i);
    }
}

fn program(op: &str, args: Vec<String>, action: String, criterion: &str) -> Outcome {
    let mut argv = vec![op.to_string()];
    argv.extend(args);
    Ok(Some(vec![python(CALENDAR, argv, action, &[criterion])]))
}

/// "How many days between 2024-01-01 and 2024-03-01", "days until March
/// 1, 2027", "how many days have passed since 2000-01-01".
fn between(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    if !c.has(&["days"]) {
        return Ok(None);
    }
    let ds = dates(c);
    let (op, args, action) = match ds.as_slice() {
        [a, b] if c.has(&["between"]) || c.has(&["from"]) => {
            let action = format!("The number of days between {} and {}", a.2, b.2);
            mark_range(c, a.0, a.1);
            mark_range(c, b.0, b.1);
            ("between", vec![a.2.clone(), b.2.clone()], action)
        }
        [a] if c.has(&["until", "till"]) || c.has_phrase(&["left", "before"]) => {
            let action = format!("The number of days from today until {}", a.2);
            mark_range(c, a.0, a.1);
            ("until", vec![a.2.clone()], action)
        }
        [a] if c.has(&["since", "ago"]) => {
            let action = format!("The number of days from {} until today", a.2);
            mark_range(c, a.0, a.1);
            ("since", vec![a.2.clone()], action)
        }
        _ => return Ok(None),
    };
    need_python(ctx)?;
    program(op, args, action, "Output is a number")
}

/// "The date 30 days from now", "what was the date 10 days ago", "what
/// day of the week is it tomorrow", "tomorrow's date", "in 2 weeks".
fn shift(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    if !dates(c).is_empty() {
        return Ok(None);
    }
    let mut n: Option<i64> = None;
    if c.has(&["tomorrow", "tomorrow's"]) {
        n = Some(1);
    }
    if c.has(&["yesterday", "yesterday's"]) {
        n = if n.is_some() {
            return Ok(None);
        } else {
            Some(-1)
        };
    }
    for i in 0..c.len() {
        // "A week from now": "a" is one.
        let Some(k) = number(c.word(i))
            .or_else(|| c.word(i).parse().ok())
            .or_else(|| matches!(c.word(i), "a" | "an").then_some(1))
        else {
            continue;
        };
        let per = match c.word(i + 1) {
            "day" | "days" => 1,
            "week" | "weeks" => 7,
            _ => continue,
        };
        let ahead = c.has(&["later", "hence"])
            || c.has_phrase(&["from", "now"])
            || c.has_phrase(&["from", "today"])
            || (i > 0 && c.word(i - 1) == "in");
        let back = c.has(&["ago"]) || c.has_phrase(&["before", "today"]);
        let sign = match (ahead, back) {
            (true, false) => 1,
            (false, true) => -1,
            _ => return Ok(None),
        };
        if n.is_some() {
            return Ok(None);
        }
        n = Some(sign * i64::from(k) * per);
        c.mark(i);
        c.mark(i + 1);
    }
    let Some(n) = n else { return Ok(None) };
    // The day's name when asked for the day of the week; else the date.
    let weekday = c.has(&["weekday"])
        || c.has_phrase(&["day", "of", "the", "week"])
        || (c.has(&["day"]) && !c.has(&["date"]));
    if !weekday && !c.has(&["date"]) {
        return Ok(None);
    }
    need_python(ctx)?;
    let (fmt, what) = if weekday {
        ("%A", "The day of the week")
    } else {
        ("%Y-%m-%d", "The date (YYYY-MM-DD)")
    };
    let when = match n {
        0 => "today".to_string(),
        1 => "tomorrow".to_string(),
        -1 => "yesterday".to_string(),
        n if n > 0 => format!("{n} days from today"),
        n => format!("{} days before today", -n),
    };
    program(
        "shift",
        vec![fmt.into(), n.to_string()],
        format!("{what} {when}"),
        "Output is a date",
    )
}

/// "What day of the week was 2024-01-01", "which weekday is July 4, 1976".
fn weekday_of(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    let ds = dates(c);
    let [d] = ds.as_slice() else {
        return Ok(None);
    };
    let asks =
        c.has(&["weekday"]) || c.has_phrase(&["day", "of", "the", "week"]) || c.has(&["day"]);
    if !asks || c.has(&["days"]) {
        return Ok(None);
    }
    need_python(ctx)?;
    let iso = d.2.clone();
    mark_range(c, d.0, d.1);
    program(
        "weekday",
        vec![iso.clone()],
        format!("The day of the week of {iso}"),
        "Output names a day",
    )
}

/// "The time in Tokyo", "what's the date in Europe/Paris", "the date and
/// time in New York".
fn in_zone(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    let mut zone: Option<(Vec<usize>, String)> = None;
    for i in 0..c.len() {
        if zone_token(c.text(i)) {
            zone = Some((vec![i], c.text(i).to_string()));
            break;
        }
        if let Some((words, name)) = CITIES
            .iter()
            .find(|(ws, _)| ws.iter().enumerate().all(|(k, w)| c.word(i + k) == *w))
        {
            zone = Some(((i..i + words.len()).collect(), name.to_string()));
            break;
        }
    }
    let Some((at, name)) = zone else {
        return Ok(None);
    };
    let dateish = c.has(&["date", "today", "today's", "todays"]);
    let timeish = c.has(&["time", "clock", "o'clock"]);
    // "What day is it in Tokyo" asks for the day's name, as `date.rs` reads it.
    let weekday = c.has(&["weekday"])
        || c.has_phrase(&["day", "of", "the", "week"])
        || (c.has(&["day"]) && !c.has(&["date"]));
    let (fmt, what) = match (weekday, dateish, timeish) {
        (true, _, false) => ("%A", "day of the week"),
        (false, true, false) => ("%Y-%m-%d", "date (YYYY-MM-DD)"),
        (false, false, true) => ("%H:%M:%S", "time (HH:MM:SS)"),
        (false, true, true) => ("%Y-%m-%d %H:%M:%S %Z", "date and time"),
        _ => return Ok(None),
    };
    need_python(ctx)?;
    for i in at {
        c.mark(i);
    }
    program(
        "zone",
        vec![fmt.into(), name.clone()],
        format!("The current {what} in the time zone {name}"),
        "Output holds the date or time",
    )
}

/// "The date in YYYY-MM-DD format", "the time as HH:MM", "today's date
/// as DD/MM/YYYY", "the date in RFC 3339 format": `date` with that format.
fn formatted(c: &mut Clause<'_>, _ctx: &Ctx<'_>) -> Outcome {
    if !c.has(&["date", "time", "today", "today's", "todays", "now"]) {
        return Ok(None);
    }
    let (arg, at) = if let Some(i) = c.phrase(&["rfc", "2822"]) {
        ("-R".to_string(), vec![i, i + 1])
    } else if let Some(i) = c.phrase(&["rfc", "3339"]) {
        ("--rfc-3339=seconds".to_string(), vec![i, i + 1])
    } else {
        let Some((i, fmt)) = (0..c.len()).find_map(|i| pattern(c.text(i)).map(|f| (i, f))) else {
            return Ok(None);
        };
        (format!("+{fmt}"), vec![i])
    };
    for i in at {
        c.mark(i);
    }
    let mut args = Vec::new();
    let utc = c.find(&["utc", "gmt"], 0);
    if let Some(i) = utc {
        c.mark(i);
        args.push("-u".to_string());
    }
    let shown = arg.trim_start_matches('+').to_string();
    args.push(arg);
    Ok(Some(vec![shell(
        "date",
        args,
        format!(
            "Show the current date or time as {shown}{}",
            if utc.is_some() { " in UTC" } else { "" }
        ),
        &["Output holds the current date and time"],
    )]))
}

/// A spelled-out format ("YYYY-MM-DD", "dd/mm/yyyy", "HH:MM:SS") as a
/// `strftime` format. "MM" is minutes right after hours, else the month.
fn pattern(t: &str) -> Option<String> {
    let up = t.to_uppercase();
    if up.len() < 4 || !up.chars().all(|ch| "YMDHS-/.: ".contains(ch)) {
        return None;
    }
    let mut out = String::new();
    let mut after_hours = false;
    let b = up.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let ch = b[i];
        let run = b[i..].iter().take_while(|&&x| x == ch).count();
        let piece = match (ch, run) {
            (b'Y', 4) => "%Y",
            (b'Y', 2) => "%y",
            (b'M', 2)
                if after_hours || b.get(i + 2) == Some(&b':') || (i > 0 && b[i - 1] == b':') =>
            {
                "%M"
            }
            (b'M', 2) => "%m",
            (b'D', 2) => "%d",
            (b'H', 2) => "%H",
            (b'S', 2) => "%S",
            (b'-' | b'/' | b'.' | b':' | b' ', 1) => std::str::from_utf8(&b[i..i + 1]).ok()?,
            _ => return None,
        };
        if ch.is_ascii_alphabetic() {
            after_hours = ch == b'H' || (ch == b'M' && after_hours);
        }
        out.push_str(piece);
        i += run;
    }
    out.contains('%').then_some(out)
}

#[cfg(test)]
mod tests {
    use super::{iso_date, pattern, zone_token};

    #[test]
    fn spelled_out_formats() {
        assert_eq!(pattern("YYYY-MM-DD").as_deref(), Some("%Y-%m-%d"));
        assert_eq!(pattern("dd/mm/yyyy").as_deref(), Some("%d/%m/%Y"));
        assert_eq!(pattern("HH:MM:SS").as_deref(), Some("%H:%M:%S"));
        assert_eq!(
            pattern("YYYY-MM-DD HH:MM").as_deref(),
            Some("%Y-%m-%d %H:%M")
        );
        assert_eq!(pattern("MM:SS").as_deref(), Some("%M:%S"));
        assert_eq!(pattern("YYY-MM"), None);
        assert_eq!(pattern("MMM"), None);
        assert_eq!(pattern("hello"), None);
    }

    #[test]
    fn dates_and_zones_by_shape() {
        assert_eq!(iso_date("2024-03-01").as_deref(), Some("2024-03-01"));
        assert_eq!(iso_date("2024/03/01"), None);
        assert!(zone_token("Europe/Paris"));
        assert!(zone_token("America/Argentina/Buenos_Aires"));
        assert!(!zone_token("/etc/passwd"));
        assert!(!zone_token("Mars/Olympus"));
    }
}
