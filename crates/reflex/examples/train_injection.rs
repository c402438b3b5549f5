//! Trains the injection detector's learned signal
//! (`src/injection/model/weights.bin`).
//!
//! `cargo run --release -p octollm-reflex --example train_injection -- [OUT]`
//!
//! Data: the development split of `corpus/attacks.txt`, `lookalikes.txt`
//! and `benign.txt` (the held-out third, chosen by hash exactly as
//! `tests/corpus.rs` does, is never read), and everything under
//! `corpus/train/`. Logistic regression with AdaGrad and L2 on the hashed
//! features of `octollm_reflex::injection::model::features`, each text
//! scored by its best window of words (as the detector scores it), the two
//! classes weighted equally. Five-fold cross-validation on the same data
//! picks the two thresholds: "strong" where at most 1 in 200 benign texts
//! of the held-back folds scores above it (the layer's target for ordinary
//! prompts blocked is 0.5 %), "moderate" at 1 in 50. The
//! final model is then trained on everything and quantised to `i8`.
//! Deterministic: the same data gives the same bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use octollm_reflex::injection::model::{best_window, features, logistic, BUCKETS, HEADER};
use octollm_reflex::injection::normalize::normalize;
use octollm_testkit::corpus::{held_out, texts};

const EPOCHS: usize = 20;
const RATE: f32 = 0.05;
const L2: f32 = 1e-4;

struct Example {
    /// (word index, bucket) per feature.
    feats: Vec<(usize, u16)>,
    words: usize,
    label: bool,
    text: String,
}

fn example(text: &str, label: bool) -> Example {
    let view = normalize(text, false).text;
    let mut feats = Vec::new();
    features(&view, |i, b| feats.push((i, b)));
    let words = feats.last().map_or(0, |f| f.0 + 1);
    Example {
        feats,
        words,
        label,
        text: text.to_string(),
    }
}

struct Trained {
    bias: f32,
    w: Vec<f32>,
}

impl Trained {
    /// Logit of the best window, and the window (word indices).
    fn logit(&self, e: &Example) -> (f32, std::ops::Range<usize>) {
        let mut sums = vec![0.0f32; e.words];
        for &(i, b) in &e.feats {
            sums[i] += self.w[b as usize];
        }
        let (words, best) = best_window(&sums);
        (self.bias + best, words)
    }
}

fn train(data: &[&Example]) -> Trained {
    let pos = data.iter().filter(|e| e.label).count().max(1) as f32;
    let neg = data.iter().filter(|e| !e.label).count().max(1) as f32;
    let total = pos + neg;
    let (wp, wn) = (total / (2.0 * pos), total / (2.0 * neg));
    let mut m = Trained {
        bias: 0.0,
        w: vec![0.0; BUCKETS],
    };
    let mut g2 = vec![1e-6f32; BUCKETS];
    let mut gb = 1e-6f32;
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..EPOCHS {
        // Fisher-Yates with a fixed LCG: the same order every run.
        for i in (1..order.len()).rev() {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            order.swap(i, (seed >> 33) as usize % (i + 1));
        }
        for &k in &order {
            let e = data[k];
            let (z, window) = m.logit(e);
            let y = if e.label { 1.0 } else { 0.0 };
            let g = (logistic(z) - y) * if e.label { wp } else { wn };
            for &(i, b) in &e.feats {
                if !window.contains(&i) {
                    continue;
                }
                let b = b as usize;
                let grad = g + L2 * m.w[b];
                g2[b] += grad * grad;
                m.w[b] -= RATE * grad / g2[b].sqrt();
            }
            gb += g * g;
            m.bias -= RATE * g / gb.sqrt();
        }
    }
    m
}

/// The smallest probability that at most `rate` of `benign` exceed.
fn threshold(benign: &mut [f32], rate: f64) -> f32 {
    benign.sort_by(|a, b| b.total_cmp(a));
    let allowed = (benign.len() as f64 * rate).floor() as usize;
    benign.get(allowed).copied().unwrap_or(0.5).max(0.5) + 1e-4
}

fn main() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus");
    let out = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/injection/model/weights.bin"
        )
        .to_string()
    });
    let mut data = Vec::new();
    for (file, label) in [
        ("attacks.txt", true),
        ("lookalikes.txt", false),
        ("benign.txt", false),
    ] {
        for t in texts(&format!("{dir}/{file}")) {
            if !held_out(&t) {
                data.push(example(&t, label));
            }
        }
    }
    let mut train_files: Vec<_> = std::fs::read_dir(format!("{dir}/train"))
        .expect("corpus/train")
        .map(|e| e.unwrap().path())
        .collect();
    train_files.sort();
    for path in train_files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let label = name.starts_with("attacks");
        for t in texts(path.to_str().unwrap()) {
            data.push(example(&t, label));
        }
    }
    let pos = data.iter().filter(|e| e.label).count();
    println!(
        "{} texts: {pos} attacks, {} benign",
        data.len(),
        data.len() - pos
    );

    // Out-of-fold probabilities for the thresholds.
    let folds = 5;
    let mut oof = vec![0.0f32; data.len()];
    for f in 0..folds {
        let train_set: Vec<&Example> = data
            .iter()
            .enumerate()
            .filter(|(i, _)| i % folds != f)
            .map(|(_, e)| e)
            .collect();
        let m = train(&train_set);
        for (i, e) in data.iter().enumerate().filter(|(i, _)| i % folds == f) {
            oof[i] = logistic(m.logit(e).0);
        }
    }
    let mut benign: Vec<f32> = data
        .iter()
        .zip(&oof)
        .filter(|(e, _)| !e.label)
        .map(|(_, p)| *p)
        .collect();
    let strong = threshold(&mut benign, 1.0 / 200.0);
    let moderate = threshold(&mut benign, 1.0 / 50.0).min(strong);
    let recall = |t: f32| {
        data.iter()
            .zip(&oof)
            .filter(|(e, p)| e.label && **p >= t)
            .count() as f64
            / pos as f64
    };
    let fp = |t: f32| {
        data.iter()
            .zip(&oof)
            .filter(|(e, p)| !e.label && **p >= t)
            .count()
    };
    println!(
        "cross-validated: strong >= {strong:.3}: recall {:.3}, benign above {}; moderate >= {moderate:.3}: recall {:.3}, benign above {}",
        recall(strong),
        fp(strong),
        recall(moderate),
        fp(moderate)
    );

    // The benign texts the held-back folds liked least: label noise or
    // attacks in disguise show up here first.
    let mut worst: Vec<(f32, &str)> = data
        .iter()
        .zip(&oof)
        .filter(|(e, _)| !e.label)
        .map(|(e, p)| (*p, e.text.as_str()))
        .collect();
    worst.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (p, t) in worst.iter().take(12) {
        let short: String = t.chars().take(150).collect();
        println!("  benign {p:.3}: {}", short.replace('\n', " "));
    }

    let all: Vec<&Example> = data.iter().collect();
    let m = train(&all);
    let max = m.w.iter().fold(0.0f32, |a, w| a.max(w.abs())).max(1e-6);
    let scale = max / 127.0;
    let mut bytes = Vec::with_capacity(HEADER + BUCKETS);
    for v in [m.bias, scale, strong, moderate] {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes.extend(
        m.w.iter()
            .map(|w| (w / scale).round().clamp(-127.0, 127.0) as i8 as u8),
    );
    std::fs::write(&out, bytes).expect("write weights");
    println!("wrote {out}");
}
