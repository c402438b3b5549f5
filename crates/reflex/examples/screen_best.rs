//! Best time per screen, for comparing builds on a noisy machine.
//!
//! Screens each text in 200 batches of back-to-back calls and prints the
//! fastest batch's time per call: interference from other work on the
//! machine only ever adds time, so the fastest batch is the figure that
//! moves least between runs. Run two builds' copies alternately.
//!
//! Run: `cargo run --release -p octollm-reflex --example screen_best`

use octollm_reflex::redact::HashKey;
use octollm_reflex::{Engine, Options};
use octollm_types::reflex::Severity;
use std::hint::black_box;
use std::time::Instant;

#[path = "../benches/texts/mod.rs"]
mod texts;
use texts::{text_of, FC002, PROSE};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::new(Severity::High, HashKey::new("bench"))?;
    let (full, injection_only) = (texts::full(), texts::injection_only());
    let clean = text_of(PROSE, 1024);
    let cases: [(&str, &str, &Options, usize); 3] = [
        ("fc002_full", FC002, &full, 20_000),
        ("clean_1KB_full", &clean, &full, 1_000),
        ("clean_1KB_injection", &clean, &injection_only, 1_000),
    ];
    for (name, text, options, calls) in cases {
        let mut best = f64::MAX;
        for _ in 0..200 {
            let start = Instant::now();
            for _ in 0..calls {
                black_box(engine.analyze(black_box(text), options));
            }
            best = best.min(start.elapsed().as_nanos() as f64 / calls as f64);
        }
        println!("{name} {best:.0}");
    }
    Ok(())
}
