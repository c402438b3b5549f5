//! Personal data in a goal as placeholders (SPEC §9.3): the planner and any
//! model see `[EMAIL_1]`, never the value; the executor, which is no model,
//! gets the value back in the step's command, so the step does what the
//! user asked (count the lines holding *their* address, not the string
//! "[EMAIL]"). The values wait in the reflex layer's vault, sealed, for
//! `vault_ttl_seconds`. A task opts out with `"tokenize_pii": false`.

use octollm_types::plan::ToolCall;
use octollm_types::reflex::{ProcessRequest, Redact, RestoreRequest};

use crate::arms::ArmError;
use crate::core::Shared;
use crate::runner::{Code, StepError};

/// The goal with placeholders and the vault entry behind them; `None` when
/// the reflex layer cannot tokenize (the goal then stays redacted for good).
pub(crate) async fn tokenize_goal(core: &Shared, goal: &str) -> Option<(String, String)> {
    tokenize(core, goal, None).await
}

/// A step's output as the user is shown it: their own values (those of
/// the goal's vault entry) as they wrote them, any other personal data
/// labelled. `None` when the reflex layer cannot say (the caller keeps
/// the output labelled throughout).
pub(crate) async fn with_own_values(core: &Shared, vault_id: &str, output: &str) -> Option<String> {
    let (text, _) = tokenize(core, output, Some(vault_id)).await?;
    restore(core, vault_id, &text).await.ok()
}

/// `text` tokenized: against the entry `vault`, or into a new entry.
async fn tokenize(core: &Shared, text: &str, vault: Option<&str>) -> Option<(String, String)> {
    let mut req = ProcessRequest::new(text);
    req.check_injection = false;
    req.use_cache = false;
    req.redact = Redact::Tokenize;
    req.vault_id = vault.map(str::to_string);
    let reply = core
        .reflex_call(None, |arm, timeout| arm.screen(&req, timeout))
        .await?;
    match reply {
        Ok(r) => Some((r.redacted_text?, r.vault_id?)),
        Err(e) => {
            tracing::warn!(error = %e, "the goal's personal data stays redacted: no placeholders");
            None
        }
    }
}

/// One text with its placeholders replaced by the values from `vault_id`.
async fn restore(core: &Shared, vault_id: &str, text: &str) -> Result<String, StepError> {
    let req = RestoreRequest {
        vault_id: vault_id.to_string(),
        text: text.to_string(),
    };
    let Some(reply) = core
        .reflex_call(None, |arm, timeout| arm.restore(&req, timeout))
        .await
    else {
        return Err(StepError::failed(
            Code::ArmUnavailable,
            "no reflex layer to restore the goal's values from",
        ));
    };
    match reply {
        Ok(r) => Ok(r.text),
        Err(ArmError::Refused { refusal, .. }) if refusal.status == 404 => Err(StepError::failed(
            Code::Remote("VAULT_EXPIRED".into()),
            "the values behind the goal's placeholders are no longer in the reflex layer's \
             vault (vault_ttl_seconds passed), so the step cannot run with them",
        )),
        Err(e) => Err(StepError::failed(
            Code::ArmUnavailable,
            format!("the goal's values could not be restored: {e}"),
        )),
    }
}

/// Whether `text` may hold a placeholder (`[EMAIL_1]`).
fn may_hold(text: &str) -> bool {
    text.contains('[') && text.contains("_") && text.contains(']')
}

/// `call` with the goal's values in place of their placeholders.
pub(crate) async fn restore_call(
    core: &Shared,
    vault_id: &str,
    call: &ToolCall,
) -> Result<ToolCall, StepError> {
    let mut call = call.clone();
    match &mut call {
        ToolCall::Shell { args, stdin, .. } => {
            for a in args.iter_mut().filter(|a| may_hold(a)) {
                *a = restore(core, vault_id, a).await?;
            }
            if let Some(s) = stdin.as_mut().filter(|s| may_hold(s)) {
                *s = restore(core, vault_id, s).await?;
            }
        }
        ToolCall::Http { url, .. } => {
            if may_hold(url) {
                *url = restore(core, vault_id, url).await?;
            }
        }
    }
    Ok(call)
}
