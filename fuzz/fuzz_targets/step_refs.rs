//! The step-reference grammar (`{{step_N.output}}`) on any text, and on
//! that text with a well-formed reference written into it anywhere.
//!
//! A well-formed reference is never missed, whatever text surrounds it:
//! the validator either counts it or refuses the text as malformed, and
//! the resolver then refuses it the same way. Whatever the validator
//! accepts, the resolver resolves, leaving none of the references it
//! counted behind; a tool call resolves as its texts do.

#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use octollm_policy::refs::{references, resolve, substitute, RefError};
use octollm_types::plan::ToolCall;

/// The spellings of one reference: all mean step 7's output.
const SPELLINGS: [&str; 4] = [
    "{{step_7.output}}",
    "{{step7.output}}",
    "{{ Step_7.output }}",
    "{{  STEP7.output}}",
];
/// Insertion points tried per input, spread over the text.
const POINTS: usize = 64;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check(&text, 0);
    let bounds: Vec<usize> = (0..=text.len())
        .filter(|&i| text.is_char_boundary(i))
        .collect();
    let step = bounds.len().div_ceil(POINTS).max(1);
    for (k, &at) in bounds.iter().step_by(step).enumerate() {
        let spelled = SPELLINGS[k % SPELLINGS.len()];
        let with_ref = format!("{}{spelled}{}", &text[..at], &text[at..]);
        check(&with_ref, 1);
    }
});

/// Checks `text`, into which `written` references to step 7 were put.
fn check(text: &str, written: usize) {
    let found = references(text);
    assert_eq!(found, references(text), "reading is deterministic");
    let outputs: HashMap<u32, String> = match &found {
        Ok(steps) => steps
            .iter()
            .map(|n| (*n, format!("<output of {n}>")))
            .collect(),
        Err(_) => HashMap::new(),
    };
    let substituted = substitute(text, &outputs);
    match &found {
        Ok(steps) => {
            assert!(
                steps.iter().filter(|&&s| s == 7).count() >= written,
                "a reference to step 7 was written into {text:?}, but only {steps:?} were found"
            );
            let out = substituted.as_ref().expect("what validates resolves");
            for n in steps {
                assert!(
                    !out.contains(&format!("{{{{step_{n}.output}}}}"))
                        && !out.contains(&format!("{{{{step{n}.output}}}}")),
                    "a reference to step {n} is left in {out:?}"
                );
            }
        }
        // The resolver stops at the first piece it cannot resolve: this
        // one, or a reference before it to a step without output here.
        Err(RefError::Malformed(m)) => match &substituted {
            Err(RefError::Malformed(n)) => assert_eq!(m, n),
            Err(RefError::Unavailable(_)) => {}
            Ok(s) => panic!("{text:?} is refused as malformed, yet resolves to {s:?}"),
        },
        Err(e @ RefError::Unavailable(_)) => panic!("validation cannot find {e}"),
    }

    let call = ToolCall::Shell {
        command: "cat".into(),
        args: vec![text.to_string()],
        stdin: Some(text.to_string()),
    };
    match (resolve(&call, &outputs), substituted) {
        (Ok(ToolCall::Shell { args, stdin, .. }), Ok(s)) => {
            assert_eq!(args, vec![s.clone()]);
            assert_eq!(stdin, Some(s));
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        (a, b) => panic!("resolve gave {a:?} where substitute gave {b:?}"),
    }
}
