//! Per-execution time of `/bin/true`: plain spawn, the full sandbox and
//! bubblewrap, *interleaved* in short blocks so that load from other work on
//! a shared machine hits all three alike. Reports mean, min, median and p90.
//! `cargo run --release -p octollm-sandbox --example overhead_interleaved [-- ROUNDS]`
//! Needs root and the Debian package `bubblewrap`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../benches/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::{bwrap_command, plain_command, sandbox_and_spec};

const BLOCK: usize = 25;

fn report(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let at = |q: f64| v[((v.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3;
    let mean = v.iter().sum::<Duration>().as_secs_f64() * 1e3 / v.len() as f64;
    println!(
        "{name:<16} mean {mean:.2} ms  min {:.2}  median {:.2}  p90 {:.2}  (n={})",
        at(0.0),
        at(0.5),
        at(0.9),
        v.len()
    );
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let (sandbox, spec) = sandbox_and_spec();
    let has_bwrap = bwrap_command().status().is_ok_and(|s| s.success());
    // Warm-up: the first run of a slot creates its cgroups and worker.
    for _ in 0..20 {
        sandbox.run(&spec, &mut |_, _| {}).unwrap();
    }
    let (mut plain, mut ours, mut bw) = (Vec::new(), Vec::new(), Vec::new());
    // Blocks of back-to-back runs per variant: each variant then also pays
    // for its own deferred kernel clean-up (network namespaces are torn down
    // by a workqueue after the process exits), as in steady use.
    for _ in 0..rounds.div_ceil(BLOCK) {
        for _ in 0..BLOCK {
            let t = Instant::now();
            assert!(plain_command().status().unwrap().success());
            plain.push(t.elapsed());
        }
        for _ in 0..BLOCK {
            let t = Instant::now();
            let o = sandbox.run(&spec, &mut |_, _| {}).unwrap();
            ours.push(t.elapsed());
            assert_eq!(o.exit_code, Some(0));
        }
        for _ in 0..BLOCK {
            if has_bwrap {
                let t = Instant::now();
                assert!(bwrap_command().status().unwrap().success());
                bw.push(t.elapsed());
            }
        }
    }
    report("plain_spawn", plain);
    report("octollm_sandbox", ours);
    if has_bwrap {
        report("bwrap", bw);
    } else {
        println!("bwrap            NOT measured (install the Debian package 'bubblewrap')");
    }
}
