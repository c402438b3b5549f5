//! The injection detector against the project's own labelled corpora
//! (`crates/reflex/corpus/`): attacks written for this project, benign
//! look-alikes, and over a thousand ordinary prompts
//! (`scripts/corpus/benign.py`). Each line falls in the development or
//! the held-out split by a hash of its text; the detector is tuned on the
//! development split only, and the targets are checked on the held-out
//! one. Run with `--nocapture` to see the figures (and the development
//! split's misses).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use octollm_reflex::engine::{Engine, Options};
use octollm_reflex::redact::HashKey;
use octollm_testkit::corpus::{held_out, texts};
use octollm_types::reflex::{Decision, RedactionStrategy, Severity};

fn corpus(name: &str) -> Vec<String> {
    texts(&format!("{}/corpus/{name}", env!("CARGO_MANIFEST_DIR")))
}

/// Injection screening only, as a user's text.
fn injection_only() -> Options {
    Options {
        check_pii: false,
        check_injection: true,
        redact: false,
        strategy: RedactionStrategy::Mask,
        source: Default::default(),
    }
}

fn blocked(engine: &Engine, text: &str) -> bool {
    engine.analyze(text, &injection_only()).status == Decision::Blocked
}

/// The findings' rules and severities, to see why a line went the way it did.
fn rules(engine: &Engine, text: &str) -> String {
    let v = engine.analyze(text, &injection_only());
    v.injections
        .iter()
        .map(|f| format!("[{} {:?}]", f.rule, f.severity))
        .collect::<Vec<_>>()
        .join(" ")
}

struct Split {
    dev: Vec<String>,
    held: Vec<String>,
}

fn split(lines: Vec<String>) -> Split {
    let (held, dev) = lines.into_iter().partition(|l| held_out(l));
    Split { dev, held }
}

fn count<'a>(engine: &Engine, lines: &'a [String]) -> (usize, Vec<&'a String>, Vec<&'a String>) {
    let (hit, miss): (Vec<&String>, Vec<&String>) = lines.iter().partition(|l| blocked(engine, l));
    (hit.len(), hit, miss)
}

#[test]
fn held_out_recall_and_false_positives_meet_the_targets() {
    let engine = Engine::new(Severity::High, HashKey::new("corpus")).unwrap();
    let attacks = split(corpus("attacks.txt"));
    let lookalikes = split(corpus("lookalikes.txt"));
    let benign = corpus("benign.txt");

    let (dev_hits, _, dev_misses) = count(&engine, &attacks.dev);
    let (held_hits, _, _) = count(&engine, &attacks.held);
    let (_, look_blocked, _) = count(&engine, &lookalikes.dev);
    let all_look: Vec<String> = lookalikes
        .dev
        .iter()
        .chain(&lookalikes.held)
        .cloned()
        .collect();
    let (look_all_blocked, _, _) = count(&engine, &all_look);
    let (benign_blocked, benign_hits, _) = count(&engine, &benign);

    let recall = |hits: usize, n: usize| hits as f64 / n.max(1) as f64;
    println!(
        "attacks: development {}/{} ({:.3}), held-out {}/{} ({:.3})",
        dev_hits,
        attacks.dev.len(),
        recall(dev_hits, attacks.dev.len()),
        held_hits,
        attacks.held.len(),
        recall(held_hits, attacks.held.len())
    );
    println!(
        "look-alikes blocked: {} of {}; ordinary prompts blocked: {} of {} ({:.2}%)",
        look_all_blocked,
        all_look.len(),
        benign_blocked,
        benign.len(),
        100.0 * benign_blocked as f64 / benign.len() as f64
    );
    for m in &dev_misses {
        println!("  missed (development): {m}  {}", rules(&engine, m));
    }
    for b in look_blocked.iter().chain(&benign_hits) {
        println!("  blocked benign: {b}  {}", rules(&engine, b));
    }
    assert!(
        benign.len() >= 1000,
        "the benign corpus has {} prompts",
        benign.len()
    );
    assert!(
        recall(held_hits, attacks.held.len()) >= 0.9,
        "held-out recall {held_hits}/{}",
        attacks.held.len()
    );
    assert!(
        look_all_blocked <= 1,
        "{look_all_blocked} look-alikes blocked"
    );
    assert!(
        benign_blocked as f64 <= 0.005 * benign.len() as f64,
        "{benign_blocked} ordinary prompts blocked"
    );
}

/// `corpus/independent/`: attacks and look-alikes written for this check by
/// someone who had not seen the detector, its rules or its corpora. Never
/// used to train the learned signal, set a threshold or choose a weight:
/// the figure says how the detector does on phrasings it was not built
/// around. The floors only catch a regression.
#[test]
fn independent_corpus_recall_and_false_positives() {
    let engine = Engine::new(Severity::High, HashKey::new("corpus")).unwrap();
    let attacks = corpus("independent/attacks.txt");
    let lookalikes = corpus("independent/lookalikes.txt");
    let (hits, _, _) = count(&engine, &attacks);
    let (blocked, _, _) = count(&engine, &lookalikes);
    let recall = hits as f64 / attacks.len() as f64;
    println!(
        "independent: attacks blocked {hits}/{} ({recall:.3}); look-alikes blocked {blocked}/{}",
        attacks.len(),
        lookalikes.len()
    );
    assert!(attacks.len() >= 200 && lookalikes.len() >= 60);
    assert!(recall >= 0.7, "independent recall {recall:.3}");
    assert!(
        blocked as f64 <= 0.1 * lookalikes.len() as f64,
        "{blocked} independent look-alikes blocked"
    );
}
