//! Which capabilities a step's token carries: exactly what its tool call
//! needs, read from the shared policy table the executor enforces, so the
//! two never drift.

pub use octollm_policy::approval::call_capabilities as required_capabilities;
use octollm_types::plan::ToolCall;
use octollm_types::token::{Claims, TokenError};

/// A token scoped to `call`, to the task's workspace (named by the task
/// id) and, when the task narrowed them, to its hosts; valid for
/// `ttl_seconds`.
pub fn token_for(
    secret: &[u8],
    task_id: &str,
    call: &ToolCall,
    hosts: Option<&[String]>,
    ttl_seconds: i64,
) -> Result<String, TokenError> {
    issue(
        secret,
        task_id,
        required_capabilities(call),
        hosts.map(<[String]>::to_vec),
        ttl_seconds,
    )
}

/// A token that grants no capability, only the task's workspace: for
/// storing its inputs, collecting its artifacts and removing it.
pub fn workspace_token(
    secret: &[u8],
    task_id: &str,
    ttl_seconds: i64,
) -> Result<String, TokenError> {
    issue(secret, task_id, Vec::new(), None, ttl_seconds)
}

fn issue(
    secret: &[u8],
    task_id: &str,
    caps: Vec<&str>,
    hosts: Option<Vec<String>>,
    ttl_seconds: i64,
) -> Result<String, TokenError> {
    let now = chrono::Utc::now().timestamp();
    octollm_types::token::issue(
        secret,
        &Claims {
            sub: task_id.to_string(),
            caps: caps.into_iter().map(str::to_string).collect(),
            iat: now,
            exp: now + ttl_seconds,
            hosts,
            ws: Some(task_id.to_string()),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use octollm_types::token::caps;

    #[test]
    fn scopes_follow_the_executor_policy() {
        let shell = |c: &str, a: &[&str]| ToolCall::Shell {
            command: c.into(),
            args: a.iter().map(|s| s.to_string()).collect(),
            stdin: None,
        };
        assert_eq!(
            required_capabilities(&shell("ls", &["-1"])),
            vec![caps::SHELL_READ]
        );
        assert_eq!(
            required_capabilities(&shell("python3", &[])),
            vec![caps::PYTHON_EXEC]
        );
        assert_eq!(
            required_capabilities(&shell("sort", &["-oout"])),
            vec![caps::SHELL_READ, caps::SHELL_WRITE]
        );
        let http = ToolCall::Http {
            method: "GET".into(),
            url: "https://example.com".into(),
        };
        assert_eq!(required_capabilities(&http), vec![caps::HTTP_GET]);
        let t = token_for(b"k", "t1", &http, None, 60).unwrap();
        let claims = octollm_types::token::verify(b"k", &t).unwrap();
        assert_eq!(claims.caps, vec!["http_get"]);
    }
}
