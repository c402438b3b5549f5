//! Screens every line of one or more corpus files for injection (as user
//! text, the default policy) and prints how many were blocked.
//!
//! `cargo run --release -p octollm-reflex --example screen_corpus -- FILE… [--misses] [--verbose]`
//!
//! Lines are texts (`\n` marks a line break inside one); blank lines and
//! lines starting with `#` are skipped. Used for the independent and public
//! corpora in docs/reflex.md, which the detector is never tuned on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use octollm_reflex::engine::{Engine, Options};
use octollm_reflex::redact::HashKey;
use octollm_types::reflex::{Decision, RedactionStrategy, Severity};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let show = args.iter().any(|a| a == "--misses");
    let verbose = args.iter().any(|a| a == "--verbose");
    let engine = Engine::new(Severity::High, HashKey::new("corpus")).unwrap();
    let opts = Options {
        check_pii: false,
        check_injection: true,
        redact: false,
        strategy: RedactionStrategy::Mask,
        source: Default::default(),
    };
    for path in args.iter().filter(|a| !a.starts_with("--")) {
        let lines = octollm_testkit::corpus::texts(path);
        let mut blocked = 0;
        for l in &lines {
            let v = engine.analyze(l, &opts);
            if verbose {
                let why: Vec<String> = v
                    .injections
                    .iter()
                    .map(|f| {
                        format!(
                            "{} {:?} {}",
                            f.rule,
                            f.severity,
                            f.note.clone().unwrap_or_default()
                        )
                    })
                    .collect();
                println!(
                    "  {:?} {}  [{}]",
                    v.status,
                    l.replace('\n', " "),
                    why.join("; ")
                );
            }
            if v.status == Decision::Blocked {
                blocked += 1;
            } else if show {
                println!("  not blocked: {}", l.replace('\n', " "));
            }
        }
        println!(
            "{path}: blocked {blocked} of {} ({:.3})",
            lines.len(),
            blocked as f64 / lines.len().max(1) as f64
        );
    }
}
