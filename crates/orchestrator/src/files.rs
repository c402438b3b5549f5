//! A task's files (SPEC §9.2): the input files checked when it is
//! submitted, and its workspace's artifacts collected, screened and stored
//! when it ends.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use octollm_server::ApiError;
use octollm_types::exec::{WorkspaceFile, WorkspaceInputs};
use octollm_types::task::{InputFile, TaskStatus};
use serde_json::json;

use crate::arms::{no_retry_hook, WorkspaceOp, EXECUTOR};
use crate::config::OrchestratorConfig;
use crate::core::Shared;
use crate::runner::{screen, Ctx};
use crate::store::{ArtifactRow, StepRow, TaskRow};

const TEXT: &str = "text/plain; charset=utf-8";
const BINARY: &str = "application/octet-stream";

/// The decoded input files, or the 4xx that refuses the whole task: a bad
/// name, a duplicate, bad base64, a file or a total over the caps.
pub(crate) fn check_inputs(
    cfg: &OrchestratorConfig,
    files: &[InputFile],
) -> Result<Vec<(String, Vec<u8>)>, ApiError> {
    if files.len() as u64 > cfg.max_files {
        return Err(ApiError::bad_request(
            "TOO_MANY_FILES",
            format!(
                "{} files; at most {} are accepted",
                files.len(),
                cfg.max_files
            ),
        ));
    }
    let mut out: Vec<(String, Vec<u8>)> = Vec::with_capacity(files.len());
    let mut total = 0u64;
    for f in files {
        octollm_policy::files::check_name(&f.name)
            .map_err(|m| ApiError::bad_request("INVALID_FILE_NAME", m))?;
        if out.iter().any(|(n, _)| *n == f.name) {
            return Err(ApiError::bad_request(
                "DUPLICATE_FILE_NAME",
                format!("two files are named {:?}", f.name),
            ));
        }
        let bytes = f
            .bytes()
            .map_err(|m| ApiError::bad_request("INVALID_FILE", m))?;
        if bytes.len() as u64 > cfg.max_file_bytes {
            return Err(ApiError::bad_request(
                "FILE_TOO_LARGE",
                format!(
                    "{:?} holds {} bytes; a file may hold {}",
                    f.name,
                    bytes.len(),
                    cfg.max_file_bytes
                ),
            ));
        }
        total += bytes.len() as u64;
        if total > cfg.max_files_bytes {
            return Err(ApiError::bad_request(
                "FILES_TOO_LARGE",
                format!(
                    "the files hold more than {} bytes together",
                    cfg.max_files_bytes
                ),
            ));
        }
        out.push((f.name.clone(), bytes));
    }
    Ok(out)
}

/// The largest body a task submission may have: its files (base64 is 4/3
/// of the bytes) on top of the server's limit for everything else.
pub(crate) fn submit_body_limit(cfg: &OrchestratorConfig, body_limit: usize) -> usize {
    let files = cfg.max_files_bytes.saturating_mul(4) / 3 + 4096 * cfg.max_files;
    body_limit.saturating_add(usize::try_from(files).unwrap_or(usize::MAX))
}

/// Whether the task's steps may have left anything in its workspace.
pub(crate) fn used_workspace(steps: &[StepRow], had_files: bool) -> bool {
    had_files
        || steps
            .iter()
            .any(|s| s.required_arm == EXECUTOR && s.attempts > 0)
}

/// Calls the executor about the task's workspace, with a token bound to it.
pub(crate) async fn workspace_call(
    core: &Shared,
    task_id: &str,
    op: WorkspaceOp<'_>,
) -> Result<octollm_types::exec::WorkspaceFiles, String> {
    let Some((reg, arm)) = core.arms.tool(EXECUTOR) else {
        return Err("no executor is registered".into());
    };
    let token = match &core.token_secret {
        Some(secret) => Some(
            crate::caps::workspace_token(secret, task_id, core.config.token_ttl_seconds as i64)
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    core.arms
        .call(
            reg,
            core.config.arm_timeout().min(Duration::from_secs(30)),
            None,
            |timeout| arm.workspace(task_id, token.as_deref(), op, timeout),
            no_retry_hook,
        )
        .await
        .map_err(|e| e.to_string())
}

/// Uploads the task's input files to its workspace (again, after a crash:
/// it is idempotent).
pub(crate) async fn upload_inputs(core: &Shared, task_id: &str) -> Result<(), String> {
    let files = core
        .store
        .get_files(task_id)
        .await
        .map_err(|e| e.to_string())?;
    if files.is_empty() {
        return Ok(());
    }
    let inputs = WorkspaceInputs {
        files: files
            .iter()
            .map(|f| InputFile::new(f.name.clone(), &f.content))
            .collect(),
    };
    workspace_call(core, task_id, WorkspaceOp::Inputs(&inputs))
        .await
        .map(|_| ())
}

/// One artifact as it will be stored: text screened for secrets and PII
/// (the redacted text is what is kept), binary kept as it is.
async fn artifact_row(ctx: &Ctx, f: WorkspaceFile) -> ArtifactRow {
    let mut row = ArtifactRow {
        name: f.name,
        content: None,
        size: i64::try_from(f.size).unwrap_or(i64::MAX),
        sha256: f.sha256,
        media_type: BINARY.into(),
        redacted: 0,
        skipped: f.skipped,
    };
    let Some(bytes) = f.content_base64.and_then(|b| B64.decode(b).ok()) else {
        if row.skipped.is_none() {
            row.skipped = Some("the executor sent no readable content".into());
        }
        return row;
    };
    let Ok(text) = String::from_utf8(bytes.clone()) else {
        row.content = Some(bytes);
        return row;
    };
    row.media_type = TEXT.into();
    let kept = if text.is_empty() {
        Some(text)
    } else {
        match screen(ctx, &text, false).await {
            Some(p) => match p.redacted_text {
                Some(r) if r != text => {
                    row.redacted = 1;
                    Some(r)
                }
                _ => Some(text),
            },
            None if ctx.core.config.reflex_fail_open => Some(text),
            None => None,
        }
    };
    match kept {
        Some(t) => {
            row.size = t.len() as i64;
            row.sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(t.as_bytes()));
            row.content = Some(t.into_bytes());
        }
        None => row.skipped = Some("the reflex layer could not screen it".into()),
    }
    row
}

/// At the end of a task: its artifacts collected, screened and stored,
/// then its workspace removed. Best effort after the fact: a task's end is
/// recorded even when the executor cannot be reached (the executor removes
/// a workspace nobody claimed, see docs/operator-controls.md).
pub(crate) async fn collect(ctx: &Ctx, task: &TaskRow) {
    let core = &ctx.core;
    let (steps, had_files) = match (
        ctx.persist(|| core.store.get_steps(&task.id)).await,
        ctx.persist(|| core.store.file_names(&task.id)).await,
    ) {
        (Ok(s), Ok(f)) => (s, !f.is_empty()),
        _ => return,
    };
    if !used_workspace(&steps, had_files) {
        return;
    }
    let listed = match workspace_call(core, &task.id, WorkspaceOp::Artifacts).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(task_id = %task.id, error = %e, "artifacts not collected");
            ctx.event(
                "task.artifacts_failed",
                TaskStatus::Executing,
                None,
                json!({"error": e}),
            )
            .await;
            return;
        }
    };
    let mut rows = Vec::with_capacity(listed.files.len());
    for f in listed.files {
        rows.push(artifact_row(ctx, f).await);
    }
    // Nothing to keep is the common case: no write at all then.
    if !rows.is_empty() {
        match ctx
            .persist(|| core.store.save_artifacts(&task.id, &ctx.owner, &rows))
            .await
        {
            Ok(true) => {
                let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
                ctx.event(
                    "task.artifacts",
                    TaskStatus::Executing,
                    None,
                    json!({"artifacts": names}),
                )
                .await;
            }
            // Another worker owns the task now; it collects them itself.
            Ok(false) => return,
            Err(e) => {
                // The end of the task is recorded all the same, and says
                // the artifacts are missing; the workspace goes either way
                // rather than linger until the executor's sweep.
                tracing::warn!(task_id = %task.id, error = %e, "artifacts not stored");
                ctx.event(
                    "task.artifacts_failed",
                    TaskStatus::Executing,
                    None,
                    json!({"error": e.to_string()}),
                )
                .await;
            }
        }
    }
    if let Err(e) = workspace_call(core, &task.id, WorkspaceOp::Remove).await {
        tracing::warn!(task_id = %task.id, error = %e, "workspace not removed");
    }
}
