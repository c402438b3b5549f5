//! Fetch goals: "fetch https://example.com".
//!
//! The only shape that plans an HTTP request rather than a command; the
//! fetch step it builds is also the first step of any shape whose input is a
//! URL.

use octollm_types::plan::ToolCall;

use crate::builtin::clause::Clause;

use super::{Ctx, Outcome, Spec};

pub(super) fn fetch_spec(url: &str) -> Spec {
    Spec {
        action: format!("Fetch {url}"),
        call: ToolCall::Http {
            method: "GET".to_string(),
            url: url.to_string(),
        },
        criteria: vec!["The request succeeds and returns a body".to_string()],
        piped: false,
        duration: 10,
    }
}

/// "Fetch https://example.com".
pub(super) fn fetch(c: &mut Clause<'_>, _ctx: &Ctx<'_>) -> Outcome {
    let urls = c.urls();
    let Some(&i) = urls.first() else {
        return Ok(None);
    };
    if urls.len() > 1 {
        return Ok(None);
    }
    c.mark(i);
    Ok(Some(vec![fetch_spec(c.text(i))]))
}
