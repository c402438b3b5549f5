//! Detector throughput on clean and PII-dense text of 1, 10 and 100 KB.
#![allow(clippy::expect_used)]
//!
//! Run: `cargo bench -p octollm-reflex --bench detectors`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use octollm_reflex::redact::HashKey;
use octollm_reflex::{Engine, Options};
use octollm_types::reflex::Severity;
use std::hint::black_box;

mod texts;
use texts::{text_of, DENSE, FC002, PROSE};

fn bench(c: &mut Criterion) {
    let engine = Engine::new(Severity::High, HashKey::new("bench")).expect("engine");
    let full = texts::full();
    let pii_only = Options {
        check_injection: false,
        ..full
    };
    let inj_only = texts::injection_only();
    for (name, unit) in [("clean", PROSE), ("dense", DENSE)] {
        let mut g = c.benchmark_group(format!("screen_{name}"));
        for kb in [1usize, 10, 100] {
            let text = text_of(unit, kb * 1024);
            g.throughput(Throughput::Bytes(text.len() as u64));
            g.bench_with_input(
                BenchmarkId::new("full", format!("{kb}KB")),
                &text,
                |b, t| b.iter(|| engine.analyze(black_box(t), &full)),
            );
            g.bench_with_input(BenchmarkId::new("pii", format!("{kb}KB")), &text, |b, t| {
                b.iter(|| engine.analyze(black_box(t), &pii_only))
            });
            g.bench_with_input(
                BenchmarkId::new("injection", format!("{kb}KB")),
                &text,
                |b, t| b.iter(|| engine.analyze(black_box(t), &inj_only)),
            );
        }
        g.finish();
    }
    let clean = text_of(PROSE, 100 * 1024);
    let mut view = octollm_reflex::injection::normalize::WordView::default();
    c.bench_function("normalize_clean_100KB", |b| {
        b.iter(|| {
            octollm_reflex::injection::normalize::normalize_into(
                black_box(&clean),
                false,
                &mut view,
            )
        })
    });
    let fc002 = FC002;
    c.bench_function("screen_fc002_body", |b| {
        b.iter(|| engine.analyze(black_box(fc002), &full))
    });
    c.bench_function("cache_key_fc002_body", |b| {
        b.iter(|| engine.cache_key(black_box(fc002), &full))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
