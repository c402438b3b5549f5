//! Per-execution overhead of `/bin/true`, side by side: a plain spawn, the
//! full sandbox, and bubblewrap with an equivalent policy. Needs root.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use support::{bwrap_command, plain_command, sandbox_and_spec};

fn overhead(c: &mut Criterion) {
    let mut g = c.benchmark_group("exec_true");
    g.measurement_time(Duration::from_secs(8)).sample_size(200);
    g.bench_function("plain_spawn", |b| {
        b.iter(|| {
            let st = plain_command().status().unwrap();
            assert!(st.success());
        })
    });
    let (sandbox, spec) = sandbox_and_spec();
    g.bench_function("octollm_sandbox", |b| {
        b.iter(|| {
            let o = sandbox.run(&spec, &mut |_, _| {}).unwrap();
            assert_eq!(o.exit_code, Some(0));
        })
    });
    match bwrap_command().status() {
        Ok(st) if st.success() => {
            g.bench_function("bwrap", |b| {
                b.iter(|| assert!(bwrap_command().status().unwrap().success()))
            });
        }
        other => eprintln!(
            "bwrap comparison NOT measured: bwrap is missing or failed ({other:?}); install the Debian package 'bubblewrap'"
        ),
    }
    g.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
