//! Detector throughput on clean and PII-dense text of 1, 10 and 100 KB.
#![allow(clippy::expect_used)]
//!
//! Run: `cargo bench -p octollm-reflex --bench detectors`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use octollm_reflex::redact::HashKey;
use octollm_reflex::{Engine, Options};
use octollm_types::reflex::{RedactionStrategy, Severity};
use std::hint::black_box;

const PROSE: &str = "The quarterly report covers revenue growth across three regions. \
Our team reviewed the onboarding flow, updated the documentation, and scheduled \
a follow-up meeting with the design group for next Tuesday afternoon. Customers \
asked for clearer pricing pages and faster support responses; we plan to address \
both before the end of the month. The build pipeline now caches dependencies, \
which cut average job time by a third. ";

const DENSE: &str = "Contact jane.doe@example.com or call (555) 234-5678. SSN 123-45-6789, \
card 4111 1111 1111 1111, server 10.20.30.40, IBAN DE89370400440532013000, \
key AKIAIOSFODNN7EXAMPLE, password=Hunter2!x. ";

fn text_of(unit: &str, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + unit.len());
    while s.len() < bytes {
        s.push_str(unit);
    }
    s.truncate(bytes);
    s
}

fn bench(c: &mut Criterion) {
    let engine = Engine::new(Severity::High, HashKey::new("bench")).expect("engine");
    let full = Options {
        check_pii: true,
        check_injection: true,
        redact: true,
        strategy: RedactionStrategy::Label,
        source: Default::default(),
    };
    let pii_only = Options {
        check_injection: false,
        ..full
    };
    let inj_only = Options {
        check_pii: false,
        redact: false,
        ..full
    };
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
    let fc002 = "My SSN is 123-45-6789 and email is test@example.com";
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
