//! `{{step_N.output}}` references from one step's tool call to an earlier step's output.

use std::collections::HashMap;

use octollm_types::plan::ToolCall;

/// Every step number referenced in `text`.
pub fn referenced_steps(text: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        if let Some(n) = parse_ref(&after[..end]) {
            out.push(n);
        }
        rest = &after[end + 2..];
    }
    out
}

/// `step_3.output` (spaces tolerated) → 3.
fn parse_ref(inner: &str) -> Option<u32> {
    let inner = inner.trim();
    let n = inner.strip_prefix("step_")?.strip_suffix(".output")?;
    n.trim().parse().ok()
}

/// Replaces references in `text` with outputs; an unknown reference is an error.
pub fn substitute(text: &str, outputs: &HashMap<u32, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        match parse_ref(&after[..end]) {
            Some(n) => match outputs.get(&n) {
                Some(o) => out.push_str(o),
                None => {
                    return Err(format!(
                        "the plan refers to step {n}'s output, which is not available"
                    ))
                }
            },
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Resolves every reference in a tool call.
pub fn resolve(call: &ToolCall, outputs: &HashMap<u32, String>) -> Result<ToolCall, String> {
    Ok(match call {
        ToolCall::Shell {
            command,
            args,
            stdin,
        } => ToolCall::Shell {
            command: command.clone(),
            args: args
                .iter()
                .map(|a| substitute(a, outputs))
                .collect::<Result<_, _>>()?,
            stdin: stdin
                .as_deref()
                .map(|s| substitute(s, outputs))
                .transpose()?,
        },
        ToolCall::Http { method, url } => ToolCall::Http {
            method: method.clone(),
            url: substitute(url, outputs)?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_known_references() {
        let outputs = HashMap::from([(1, "a\nb\n".to_string())]);
        assert_eq!(substitute("{{step_1.output}}", &outputs).unwrap(), "a\nb\n");
        assert_eq!(
            substitute("x {{ step_1.output }} y", &outputs).unwrap(),
            "x a\nb\n y"
        );
        assert_eq!(
            substitute("{{other}} {{", &outputs).unwrap(),
            "{{other}} {{"
        );
        assert!(substitute("{{step_2.output}}", &outputs).is_err());
        assert_eq!(
            referenced_steps("{{step_1.output}}{{step_3.output}}"),
            vec![1, 3]
        );
    }
}
