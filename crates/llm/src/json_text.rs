//! Getting JSON out of model text, which often arrives fenced or with a preamble.

use serde_json::Value;

/// Removes a surrounding Markdown code fence (```json … ```), if any.
pub fn strip_code_fences(text: &str) -> &str {
    let t = text.trim();
    let Some(rest) = t.strip_prefix("```") else {
        return t;
    };
    // Drop the info string (`json`, `JSON`, …) on the opening line.
    let body = match rest.find('\n') {
        Some(i) => &rest[i + 1..],
        None => rest,
    };
    body.trim_end().strip_suffix("```").unwrap_or(body).trim()
}

/// Parses a reply as JSON: first as-is after stripping fences, then the
/// outermost `{…}` or `[…]` span, which skips prose before and after.
pub fn parse_json_reply(text: &str) -> Result<Value, serde_json::Error> {
    let stripped = strip_code_fences(text);
    match serde_json::from_str(stripped) {
        Ok(v) => Ok(v),
        Err(first) => {
            let fenced_inside = stripped
                .find("```")
                .map(|i| strip_code_fences(&stripped[i..]));
            if let Some(inner) = fenced_inside {
                if let Ok(v) = serde_json::from_str(inner) {
                    return Ok(v);
                }
            }
            for (open, close) in [('{', '}'), ('[', ']')] {
                if let (Some(a), Some(b)) = (stripped.find(open), stripped.rfind(close)) {
                    if a < b {
                        if let Ok(v) = serde_json::from_str(&stripped[a..=b]) {
                            return Ok(v);
                        }
                    }
                }
            }
            Err(first)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_fences_and_prose() {
        assert_eq!(strip_code_fences("```json\n{\"a\":1}\n```"), "{\"a\":1}");
        assert_eq!(strip_code_fences("```\n[1]\n```"), "[1]");
        assert_eq!(strip_code_fences(" {\"a\":1} "), "{\"a\":1}");
        let v = parse_json_reply("Here is the plan:\n```json\n{\"a\": 1}\n```\nDone.").unwrap();
        assert_eq!(v["a"], 1);
        let v = parse_json_reply("Sure! {\"a\": {\"b\": 2}} hope it helps").unwrap();
        assert_eq!(v["a"]["b"], 2);
        assert!(parse_json_reply("no json here").is_err());
        assert!(parse_json_reply("{\"a\": ").is_err());
    }
}
