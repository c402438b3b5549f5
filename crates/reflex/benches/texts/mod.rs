//! The texts the detector benchmarks screen and the options they screen
//! with, shared by the criterion bench and the `screen_best` example so
//! their figures are of one text screened one way.

use octollm_reflex::Options;
use octollm_types::reflex::RedactionStrategy;

/// Everything a default request does: PII and injection, redacted.
pub fn full() -> Options {
    Options {
        check_pii: true,
        check_injection: true,
        redact: true,
        strategy: RedactionStrategy::Label,
        source: Default::default(),
    }
}

/// Injection detection alone (a request that turns PII off).
pub fn injection_only() -> Options {
    Options {
        check_pii: false,
        redact: false,
        ..full()
    }
}

/// Ordinary English prose, no PII.
pub const PROSE: &str = "The quarterly report covers revenue growth across three regions. \
Our team reviewed the onboarding flow, updated the documentation, and scheduled \
a follow-up meeting with the design group for next Tuesday afternoon. Customers \
asked for clearer pricing pages and faster support responses; we plan to address \
both before the end of the month. The build pipeline now caches dependencies, \
which cut average job time by a third. ";

/// Eight PII values and secrets in about 170 bytes.
#[allow(dead_code)] // the `screen_best` example does not screen it
pub const DENSE: &str = "Contact jane.doe@example.com or call (555) 234-5678. SSN 123-45-6789, \
card 4111 1111 1111 1111, server 10.20.30.40, IBAN DE89370400440532013000, \
key AKIAIOSFODNN7EXAMPLE, password=Hunter2!x. ";

/// The body of the FC-002 acceptance check.
pub const FC002: &str = "My SSN is 123-45-6789 and email is test@example.com";

/// `unit` repeated and cut to `bytes` bytes (`unit` is ASCII).
pub fn text_of(unit: &str, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + unit.len());
    while s.len() < bytes {
        s.push_str(unit);
    }
    s.truncate(bytes);
    s
}
