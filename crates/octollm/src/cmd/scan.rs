//! `octollm scan "<text>"`: screen a text locally, exit 0 when safe.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use octollm_reflex::custom::CustomRules;
use octollm_reflex::redact::HashKey;
use octollm_reflex::{Engine, Options, Verdict};
use octollm_types::reflex::{RedactionStrategy, Severity};

use crate::config::Config;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Strategy {
    Mask,
    Label,
    Hash,
    Remove,
}

#[derive(Args)]
pub struct ScanArgs {
    /// The text to screen; read from standard input when omitted or `-`.
    text: Option<String>,
    /// Print the verdict as JSON.
    #[arg(long)]
    json: bool,
    /// How to redact detected values.
    #[arg(long, value_enum, default_value = "label")]
    strategy: Strategy,
    /// A rules file of custom recognizers, allowed values and injection
    /// phrases (default: the reflex layer's `rules_file` setting).
    #[arg(long, value_name = "FILE")]
    rules: Option<std::path::PathBuf>,
}

pub fn run(config: Config, args: ScanArgs) -> Result<ExitCode> {
    match screen(&config, &args) {
        Ok(verdict) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&verdict)?);
            } else {
                print!("{}", render(&verdict));
            }
            Ok(if verdict.safe {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        // `--json` answers in JSON whatever happens; the exit code is the
        // same as without it.
        Err(e) if args.json => {
            let mut out = std::io::stdout().lock();
            let message = format!("{e:#}");
            crate::render::task::cli_error_json(
                &mut out,
                "INVALID_INPUT",
                &message,
                &serde_json::Value::Null,
            );
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e),
    }
}

fn screen(config: &Config, args: &ScanArgs) -> Result<Verdict> {
    let text = match args.text.as_deref() {
        Some(t) if t != "-" => t.to_string(),
        _ => {
            let mut buf = String::new();
            std::io::stdin()
                .read_to_string(&mut buf)
                .context("reading standard input (it must be UTF-8)")?;
            buf
        }
    };
    if text.is_empty() {
        bail!("nothing to scan: give a text or pipe one in");
    }
    let engine = engine(config, args.rules.as_deref())?;
    let strategy = match args.strategy {
        Strategy::Mask => RedactionStrategy::Mask,
        Strategy::Label => RedactionStrategy::Label,
        Strategy::Hash => RedactionStrategy::Hash,
        Strategy::Remove => RedactionStrategy::Remove,
    };
    Ok(engine.analyze(
        &text,
        &Options {
            check_pii: true,
            check_injection: true,
            redact: true,
            strategy,
            source: Default::default(),
        },
    ))
}

/// The reflex engine as configured: its blocking severity, hash key and
/// rules file (`rules` overrides the `rules_file` setting). `octollm mcp`
/// screens with the same one.
pub fn engine(config: &Config, rules: Option<&std::path::Path>) -> Result<Engine> {
    let block_at = Severity::parse(&config.reflex.block_severity).with_context(|| {
        format!(
            "reflex.block_severity '{}' is not a severity",
            config.reflex.block_severity
        )
    })?;
    let rules_file = rules.map(std::path::Path::to_path_buf).or_else(|| {
        let f = config.reflex.rules_file.trim();
        (!f.is_empty()).then(|| f.into())
    });
    let rules = match rules_file {
        Some(path) => CustomRules::load(&path)?,
        None => CustomRules::default(),
    };
    Ok(Engine::with_rules(
        block_at,
        HashKey::new(&config.reflex.hash_key),
        rules,
    )?)
}

/// What happened, in plain words: `allowed — nothing found`, `allowed — 2
/// PII findings (redacted)`, `blocked — prompt injection (critical)`.
fn headline(v: &Verdict) -> String {
    let worst = v
        .injections
        .iter()
        .map(|i| i.severity)
        .max()
        .map(|s| s.as_str());
    let pii = match v.pii_detected.len() {
        0 => None,
        1 => Some("1 PII or secret finding (redacted)".to_string()),
        n => Some(format!("{n} PII or secret findings (redacted)")),
    };
    if v.status == octollm_types::reflex::Decision::Blocked {
        let mut s = format!("blocked — prompt injection ({})", worst.unwrap_or("high"));
        if let Some(p) = pii {
            s.push_str(&format!("; also {p}"));
        }
        return s;
    }
    let mut parts: Vec<String> = pii.into_iter().collect();
    if let Some(w) = worst {
        let n = v.injections.len();
        parts.push(format!(
            "{n} possible prompt injection{} below the blocking severity (highest: {w})",
            if n == 1 { "" } else { "s" }
        ));
    }
    if parts.is_empty() {
        "allowed — nothing found".to_string()
    } else {
        format!("allowed — {}", parts.join(", "))
    }
}

fn render(v: &Verdict) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "{}", headline(v));
    if !v.pii_detected.is_empty() {
        let _ = writeln!(out, "\nPII and secrets ({}):", v.pii_detected.len());
        for p in &v.pii_detected {
            let _ = writeln!(
                out,
                "  {:<16} {:<28} chars {}..{}  confidence {:.2}",
                p.kind.as_str(),
                p.value,
                p.start,
                p.end,
                p.confidence
            );
        }
    }
    if !v.injections.is_empty() {
        let _ = writeln!(out, "\nPrompt injection ({}):", v.injections.len());
        for i in &v.injections {
            let _ = writeln!(
                out,
                "  {:<8} {:<24} {:?}  chars {}..{}  confidence {:.2}",
                i.severity.as_str(),
                i.category.as_str(),
                i.matched,
                i.start,
                i.end,
                i.confidence
            );
            if let Some(note) = &i.note {
                let _ = writeln!(out, "           note: {note}");
            }
        }
    }
    if let Some(r) = &v.redacted_text {
        if !v.pii_detected.is_empty() {
            let _ = writeln!(out, "\nRedacted:\n  {r}");
        }
    }
    out
}
