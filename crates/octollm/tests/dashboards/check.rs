//! What a PromQL expression reads, what the services' `/metrics` serve, and
//! the difference between the two; with its own tests, so the check can fail.

use std::collections::{BTreeMap, BTreeSet};

/// PromQL's functions (Prometheus 2.x), called as `name(`.
const FUNCTIONS: &str = "\
    abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil \
    changes clamp clamp_max clamp_min cos cosh count_over_time day_of_month day_of_week \
    day_of_year days_in_month deg delta deriv end exp floor histogram_count \
    histogram_fraction histogram_quantile histogram_sum holt_winters hour idelta \
    increase irate label_join label_replace last_over_time ln log10 log2 max_over_time \
    min_over_time minute month pi predict_linear present_over_time quantile_over_time \
    rad rate resets round scalar sgn sin sinh sort sort_desc sqrt start stddev_over_time \
    stdvar_over_time sum_over_time tan tanh time timestamp vector year";

/// Aggregation operators (case-insensitive in PromQL).
const AGGREGATIONS: &str =
    "avg bottomk count count_values group max min quantile stddev stdvar sum topk";

/// Words followed by a list of label names.
const CLAUSES: &str = "by without on ignoring group_left group_right";

/// Operator keywords and literals: never metric names.
const WORDS: &str = "and or unless bool offset atan2 inf nan";

/// Labels Prometheus adds to every series it scrapes.
const TARGET_LABELS: &str = "job instance __name__";

/// Whether the word list `words` holds `word`.
fn has(words: &str, word: &str) -> bool {
    words.split_whitespace().any(|w| w == word)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num,
    /// A Grafana variable (`$__rate_interval`, `${datasource}`).
    Var,
    Op(String),
}

fn lex(expr: &str) -> Result<Vec<Tok>, String> {
    let c: Vec<char> = expr.chars().collect();
    let ident = |ch: char| ch.is_ascii_alphanumeric() || ch == '_' || ch == ':';
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '#' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if matches!(ch, '"' | '\'' | '`') {
            let mut value = String::new();
            i += 1;
            loop {
                let d = *c.get(i).ok_or("unterminated string")?;
                if d == '\\' && ch != '`' {
                    value.push(*c.get(i + 1).ok_or("unterminated string")?);
                    i += 2;
                } else if d == ch {
                    i += 1;
                    break;
                } else {
                    value.push(d);
                    i += 1;
                }
            }
            out.push(Tok::Str(value));
        } else if ch.is_ascii_alphabetic() || ch == '_' || ch == ':' {
            let from = i;
            while i < c.len() && ident(c[i]) {
                i += 1;
            }
            out.push(Tok::Ident(c[from..i].iter().collect()));
        } else if ch.is_ascii_digit()
            || (ch == '.' && c.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            // Numbers, `1e-9`, `0x1f` and durations (`5m`, `1h30m`).
            let from = i;
            while i < c.len()
                && (ident(c[i])
                    || c[i] == '.'
                    || (matches!(c[i], '+' | '-')
                        && matches!(c[i - 1], 'e' | 'E')
                        && !c[from..i].contains(&'x')))
            {
                i += 1;
            }
            out.push(Tok::Num);
        } else if ch == '$' {
            i += 1;
            if c.get(i) == Some(&'{') {
                while i < c.len() && c[i] != '}' {
                    i += 1;
                }
                i += 1;
            } else {
                while i < c.len() && ident(c[i]) {
                    i += 1;
                }
            }
            out.push(Tok::Var);
        } else {
            let two: String = c[i..(i + 2).min(c.len())].iter().collect();
            if ["==", "!=", "=~", "!~", "<=", ">="].contains(&two.as_str()) {
                out.push(Tok::Op(two));
                i += 2;
            } else if "(){}[],=<>+-*/%^@".contains(ch) {
                out.push(Tok::Op(ch.to_string()));
                i += 1;
            } else {
                return Err(format!("unexpected {ch:?}"));
            }
        }
    }
    Ok(out)
}

/// What one PromQL expression reads.
#[derive(Debug, Default, PartialEq)]
pub struct Query {
    pub metrics: BTreeSet<String>,
    /// `(metric, label, operator, value)` of every label matcher.
    pub matchers: Vec<(String, String, String, String)>,
    /// Labels named by `by`, `without`, `on`, `ignoring`, `group_left/right`.
    pub grouping: BTreeSet<String>,
}

fn is_op(t: Option<&Tok>, op: &str) -> bool {
    matches!(t, Some(Tok::Op(o)) if o == op)
}

pub fn read_query(expr: &str) -> Result<Query, String> {
    let toks = lex(expr)?;
    let mut q = Query::default();
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Ident(word) => {
                let lower = word.to_ascii_lowercase();
                // `sum by (…) (…)`: the clause comes between the operator and its `(`.
                let clause_next = matches!(toks.get(i + 1), Some(Tok::Ident(n))
                    if ["by", "without"].contains(&n.to_ascii_lowercase().as_str()));
                let call =
                    is_op(toks.get(i + 1), "(") || (clause_next && has(AGGREGATIONS, &lower));
                i += 1;
                if has(CLAUSES, &lower) {
                    if call {
                        i += 1;
                        while !is_op(toks.get(i), ")") {
                            match toks.get(i) {
                                Some(Tok::Ident(l)) => {
                                    q.grouping.insert(l.clone());
                                }
                                Some(Tok::Op(o)) if o == "," => {}
                                other => return Err(format!("{word} (…): unexpected {other:?}")),
                            }
                            i += 1;
                        }
                        i += 1;
                    }
                } else if has(WORDS, &lower) {
                } else if call {
                    if !has(FUNCTIONS, word) && !has(AGGREGATIONS, &lower) {
                        return Err(format!("unknown function {word}"));
                    }
                } else {
                    q.metrics.insert(word.clone());
                    if is_op(toks.get(i), "{") {
                        i = read_matchers(&toks, i + 1, word, &mut q)?;
                    }
                }
            }
            Tok::Op(o) if o == "{" => return Err("a selector without a metric name".into()),
            Tok::Op(o) if o == "[" => {
                while i < toks.len() && !is_op(toks.get(i), "]") {
                    i += 1;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    Ok(q)
}

/// Reads `label op "value", …}` from `i`; the index after the `}`.
fn read_matchers(toks: &[Tok], mut i: usize, metric: &str, q: &mut Query) -> Result<usize, String> {
    loop {
        match (toks.get(i), toks.get(i + 1), toks.get(i + 2)) {
            (Some(Tok::Op(close)), _, _) if close == "}" => return Ok(i + 1),
            (Some(Tok::Ident(label)), Some(Tok::Op(op)), Some(Tok::Str(value)))
                if ["=", "!=", "=~", "!~"].contains(&op.as_str()) =>
            {
                q.matchers
                    .push((metric.into(), label.clone(), op.clone(), value.clone()));
                i += 3;
                if is_op(toks.get(i), ",") {
                    i += 1;
                }
            }
            other => return Err(format!("{metric}{{…}}: unexpected {other:?}")),
        }
    }
}

// ----------------------------------------------------------------- scrapes --

/// What the services' `/metrics` endpoints serve.
#[derive(Default)]
pub struct Exported {
    /// Every sample name a scrape may carry → the services serving it.
    pub names: BTreeMap<String, BTreeSet<String>>,
    /// The label sets of the samples seen, by sample name.
    pub series: BTreeMap<String, Vec<BTreeMap<String, String>>>,
}

impl Exported {
    pub fn add(&mut self, service: &str, text: &str) {
        let mut name = |n: String| {
            self.names.entry(n).or_default().insert(service.to_string());
        };
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut cols = rest.split_whitespace();
                let (Some(family), Some(kind)) = (cols.next(), cols.next()) else {
                    continue;
                };
                let suffixes: &[&str] = match kind {
                    "counter" => &["_total"],
                    "histogram" => &["_bucket", "_sum", "_count"],
                    "summary" => &["", "_sum", "_count"],
                    "info" => &["_info"],
                    _ => &[""],
                };
                for s in suffixes {
                    name(format!("{family}{s}"));
                }
            } else if !line.starts_with('#') && !line.trim().is_empty() {
                let (sample, labels) = parse_sample(line);
                name(sample.clone());
                self.series.entry(sample).or_default().push(labels);
            }
        }
    }

    fn has_label(&self, metric: &str, label: &str) -> bool {
        self.series
            .get(metric)
            .is_some_and(|s| s.iter().any(|l| l.contains_key(label)))
    }
}

/// The name and labels of one sample line (`name{a="x",b="y"} 1`).
pub fn parse_sample(line: &str) -> (String, BTreeMap<String, String>) {
    let end = line.find(['{', ' ']).unwrap_or(line.len());
    let mut labels = BTreeMap::new();
    if line[end..].starts_with('{') {
        let mut chars = line[end + 1..].chars();
        loop {
            let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
            let key = key.trim_start_matches(',').trim().to_string();
            if key.is_empty() || key.starts_with('}') {
                break;
            }
            assert_eq!(chars.next(), Some('"'), "{line}");
            let mut value = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
            labels.insert(key, value);
        }
    }
    (line[..end].to_string(), labels)
}

/// What `expr` (from `place`) reads that `exported` lacks, and the
/// grouping labels no scraped series could confirm or refute (their
/// metrics had no series yet).
pub fn problems(place: &str, expr: &str, exported: &Exported) -> (Vec<String>, Vec<String>) {
    let q = match read_query(expr) {
        Ok(q) => q,
        Err(e) => {
            return (
                vec![format!("{place}: cannot read `{expr}`: {e}")],
                Vec::new(),
            )
        }
    };
    let mut unchecked = Vec::new();
    let mut out = Vec::new();
    if q.metrics.is_empty() {
        out.push(format!("{place}: `{expr}` reads no metric"));
    }
    for m in &q.metrics {
        if !exported.names.contains_key(m) {
            out.push(format!("{place}: {m} is not exported by any service"));
        }
    }
    for (m, label, op, value) in &q.matchers {
        if has(TARGET_LABELS, label) || !exported.names.contains_key(m) {
            continue;
        }
        let Some(series) = exported.series.get(m) else {
            out.push(format!(
                "{place}: {m} has no series to check {label}{op}{value:?} against (the traffic must create one)"
            ));
            continue;
        };
        if !exported.has_label(m, label) {
            out.push(format!("{place}: {m} has no label {label}"));
        } else if op == "=" && !series.iter().any(|l| l.get(label) == Some(value)) {
            out.push(format!("{place}: no {m} series has {label}={value:?}"));
        }
    }
    for label in &q.grouping {
        if has(TARGET_LABELS, label) {
            continue;
        }
        if q.metrics.iter().any(|m| exported.has_label(m, label)) {
            continue;
        }
        if q.metrics.iter().all(|m| exported.series.contains_key(m)) {
            out.push(format!(
                "{place}: no series of `{expr}` has the label {label}"
            ));
        } else {
            unchecked.push(format!("{place}: {label}"));
        }
    }
    (out, unchecked)
}

// ------------------------------------------------------------------- tests --

fn scraped(text: &str) -> Exported {
    let mut e = Exported::default();
    e.add("test", text);
    e
}

const SCRAPE: &str = "\
# HELP octollm_reflex_rate_limited Requests refused by the rate limiter.
# TYPE octollm_reflex_rate_limited counter
octollm_reflex_rate_limited_total 2
# HELP octollm_llm_circuit_state Circuit breaker state.
# TYPE octollm_llm_circuit_state gauge
octollm_llm_circuit_state{provider=\"openai\",model=\"gpt-4o-mini\"} 0
# HELP octollm_http_request_duration_seconds HTTP request latency.
# TYPE octollm_http_request_duration_seconds histogram
octollm_http_request_duration_seconds_bucket{route=\"/api/v1/tasks/{id}\",le=\"0.5\"} 1
# HELP octollm_gateway_requests Gateway requests.
# TYPE octollm_gateway_requests counter
octollm_gateway_requests_total{key=\"a\",model=\"m\",outcome=\"ok\"} 1
# HELP octollm_planner_fallbacks Fallbacks.
# TYPE octollm_planner_fallbacks counter
# EOF
";

#[test]
fn the_scanner_reads_metric_names_out_of_promql() {
    let q = read_query(
        "histogram_quantile(0.95, sum by (service, le) (rate(octollm_http_request_duration_seconds_bucket{route!=\"/metrics\"}[$__rate_interval]) * on (instance) group_left (service) octollm_build_info)) > 1e-3",
    )
    .unwrap();
    assert_eq!(
        q.metrics,
        [
            "octollm_build_info",
            "octollm_http_request_duration_seconds_bucket"
        ]
        .map(String::from)
        .into()
    );
    assert_eq!(
        q.grouping,
        ["instance", "le", "service"].map(String::from).into()
    );
    assert_eq!(
        q.matchers,
        vec![(
            "octollm_http_request_duration_seconds_bucket".to_string(),
            "route".to_string(),
            "!=".to_string(),
            "/metrics".to_string()
        )]
    );
    // Keywords, literals, offsets, subqueries and strings name no metric.
    let q = read_query(
        "SUM(rate(a_total[5m:1m] offset 1h)) / sum(b) > bool 0.5 or vector(0) unless c{x=~\"a|b\"} and label_replace(d, \"dst\", \"$1\", \"src\", \"(.*)\") + Inf",
    )
    .unwrap();
    assert_eq!(
        q.metrics,
        ["a_total", "b", "c", "d"].map(String::from).into()
    );
    // A typo in a function is caught, not taken for a metric.
    assert!(read_query("histogram_quantil(0.9, x)")
        .unwrap_err()
        .contains("unknown function"));
    assert!(read_query("{__name__=\"x\"}").is_err());
    assert!(read_query("x{a=\"b\"").is_err());
}

#[test]
fn the_check_reports_what_no_service_exports() {
    let e = scraped(SCRAPE);
    // A route label holding braces is still one label.
    assert_eq!(
        e.series["octollm_http_request_duration_seconds_bucket"][0]["route"],
        "/api/v1/tasks/{id}"
    );
    let check = |expr: &str| problems("t", expr, &e).0;
    // What is exported passes, with counters read as `_total` and
    // histograms as `_bucket`, and a family with no series yet counts.
    assert_eq!(
        check("sum(rate(octollm_reflex_rate_limited_total[5m]))"),
        Vec::<String>::new()
    );
    assert_eq!(
        check("max by (provider, model) (octollm_llm_circuit_state) == 2"),
        Vec::<String>::new()
    );
    assert_eq!(
        check("sum(rate(octollm_planner_fallbacks_total[5m]))"),
        Vec::<String>::new()
    );
    // A made-up metric, a counter without `_total`, a gauge with it.
    for (expr, missing) in [
        (
            "rate(octollm_made_up_total[5m]) > 0",
            "octollm_made_up_total",
        ),
        (
            "rate(octollm_reflex_rate_limited[5m])",
            "octollm_reflex_rate_limited",
        ),
        (
            "octollm_llm_circuit_state_total",
            "octollm_llm_circuit_state_total",
        ),
        (
            "octollm_http_request_duration_seconds",
            "octollm_http_request_duration_seconds",
        ),
    ] {
        let p = check(expr);
        assert_eq!(
            p,
            vec![format!("t: {missing} is not exported by any service")],
            "{expr}"
        );
    }
    // Labels: a wrong name, an `=` value no series has, a grouping label
    // no series carries, a matcher on a family with no series yet.
    assert_eq!(
        check("octollm_gateway_requests_total{result=\"ok\"}"),
        vec!["t: octollm_gateway_requests_total has no label result"]
    );
    assert_eq!(
        check("octollm_gateway_requests_total{outcome=\"rate_limit_exceeded\"}"),
        vec!["t: no octollm_gateway_requests_total series has outcome=\"rate_limit_exceeded\""]
    );
    assert!(check("octollm_gateway_requests_total{outcome=~\"rate.*\"}").is_empty());
    assert_eq!(
        check("sum by (status) (octollm_gateway_requests_total)"),
        vec!["t: no series of `sum by (status) (octollm_gateway_requests_total)` has the label status"]
    );
    assert_eq!(
        check("octollm_planner_fallbacks_total{reason=\"x\"}")[0],
        "t: octollm_planner_fallbacks_total has no series to check reason=\"x\" against (the traffic must create one)"
    );
    assert_eq!(
        problems("t", "sum by (reason) (octollm_planner_fallbacks_total)", &e),
        (Vec::new(), vec!["t: reason".to_string()]),
        "counted as unchecked, not as passed"
    );
    assert_eq!(check("vector(1)"), vec!["t: `vector(1)` reads no metric"]);
}
