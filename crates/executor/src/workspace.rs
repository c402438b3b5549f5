//! Task workspaces (SPEC §9.2): one per task, shared by its steps.
//!
//! Each lives in `<data_dir>/workspaces/<task id>/`: `files/` is a tmpfs of
//! `workspace_size_bytes` (the quota, enforced by the kernel at every
//! write; see `octollm_sandbox::workspace`), bound at `/workspace` in every
//! step; `inputs/` holds the task's input files, bound read-only at
//! `/workspace/in`. What the steps leave in `/workspace/out/` is handed
//! back as artifacts. Steps of one workspace run one at a time, since
//! each is handed the whole tree for its own uid. With tokens on, every
//! operation needs a token bound to the workspace (`ws`), so one task can
//! never run in, read or remove another's.

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::StatusCode;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use octollm_sandbox::workspace as ws;
use octollm_sandbox::WorkspaceMount;
use octollm_server::ApiError;
use octollm_types::exec::{WorkspaceFile, WorkspaceFiles, WorkspaceInputs};
use octollm_types::token::Claims;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};

use crate::executor::Executor;

/// The directory under `out/` whose files become artifacts.
const OUT: &str = "out";

/// The workspaces of one executor and the lock of each.
pub(crate) struct Workspaces {
    root: PathBuf,
    quota_bytes: u64,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Files a workspace may hold (the tmpfs's inode count).
const MAX_ENTRIES: u64 = 16_384;

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn bad(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(status, code, message)
}

fn io_error(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("{what}: {e}"))
}

impl Workspaces {
    pub(crate) fn new(data_dir: &str, quota_bytes: u64) -> Workspaces {
        Workspaces {
            root: PathBuf::from(data_dir).join("workspaces"),
            quota_bytes,
            locks: Mutex::new(HashMap::new()),
        }
    }

    /// The directory of workspace `id`, which must be a task id (a UUID):
    /// nothing else can name a path under the root.
    fn dir(&self, id: &str) -> Result<PathBuf, ApiError> {
        let id = uuid::Uuid::parse_str(id).map_err(|_| {
            bad(
                StatusCode::BAD_REQUEST,
                "INVALID_WORKSPACE",
                format!("'{id}' is not a workspace id (a task id)"),
            )
        })?;
        Ok(self.root.join(id.hyphenated().to_string()))
    }

    /// Serialises the executions of one workspace.
    pub(crate) async fn lock(&self, id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = self.locks.lock().entry(id.to_string()).or_default().clone();
        lock.lock_owned().await
    }

    /// The workspace's mounts, created on first use.
    pub(crate) fn open(&self, id: &str) -> Result<WorkspaceMount, ApiError> {
        let dir = self.dir(id)?;
        let files = dir.join("files");
        let inputs = dir.join("inputs");
        std::fs::create_dir_all(&inputs).map_err(|e| io_error("workspace inputs", e))?;
        ws::mount_tmpfs(&files, self.quota_bytes, MAX_ENTRIES)
            .map_err(|e| io_error("workspace", e))?;
        let out = files.join(OUT);
        if !out.exists() {
            std::fs::create_dir(&out).map_err(|e| io_error("workspace out/", e))?;
        }
        // The directory's time is the workspace's last use, for `sweep`.
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.set_modified(std::time::SystemTime::now());
        }
        Ok(WorkspaceMount { dir: files, inputs })
    }

    /// Removes the workspaces unused for `idle`: those of tasks whose end
    /// the orchestrator could not report (it removes the others itself).
    /// Returns how many went.
    pub(crate) fn sweep(&self, idle: std::time::Duration) -> usize {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return 0;
        };
        let mut removed = 0;
        for e in entries.flatten() {
            let stale = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > idle);
            let id = e.file_name().to_string_lossy().into_owned();
            if stale && self.remove(&id).is_ok() {
                removed += 1;
            }
        }
        removed
    }

    /// Writes the input files (replacing any of the same name).
    fn put_inputs(&self, id: &str, req: &WorkspaceInputs) -> Result<WorkspaceFiles, ApiError> {
        let mut decoded = Vec::with_capacity(req.files.len());
        let mut total = 0u64;
        for f in &req.files {
            octollm_policy::files::check_name(&f.name)
                .map_err(|m| bad(StatusCode::BAD_REQUEST, "INVALID_FILE_NAME", m))?;
            let bytes = f
                .bytes()
                .map_err(|m| bad(StatusCode::BAD_REQUEST, "INVALID_FILE", m))?;
            total += bytes.len() as u64;
            decoded.push((f.name.as_str(), bytes));
        }
        if total > self.quota_bytes {
            return Err(bad(
                StatusCode::PAYLOAD_TOO_LARGE,
                "FILES_TOO_LARGE",
                format!(
                    "the input files hold {total} bytes; a workspace holds {}",
                    self.quota_bytes
                ),
            ));
        }
        let mount = self.open(id)?;
        let mut listed = Vec::new();
        for (name, bytes) in decoded {
            let path = mount.inputs.join(name);
            // Written whole under a temporary name, then renamed: a step
            // never sees half a file.
            let tmp = mount.inputs.join(format!(".{name}.partial"));
            std::fs::write(&tmp, &bytes).map_err(|e| io_error("input file", e))?;
            std::fs::rename(&tmp, &path).map_err(|e| io_error("input file", e))?;
            listed.push(WorkspaceFile {
                name: name.to_string(),
                size: bytes.len() as u64,
                sha256: sha256_hex(&bytes),
                content_base64: None,
                skipped: None,
            });
        }
        Ok(WorkspaceFiles { files: listed })
    }

    /// The regular files in `out/` (not below it), in name order, with
    /// their bytes up to the caps. A symlink or a directory is listed as
    /// skipped, never followed.
    fn artifacts(
        &self,
        id: &str,
        max_file: u64,
        max_total: u64,
    ) -> Result<WorkspaceFiles, ApiError> {
        let out = self.dir(id)?.join("files").join(OUT);
        let Ok(entries) = std::fs::read_dir(&out) else {
            return Ok(WorkspaceFiles::default());
        };
        let mut names: Vec<(String, std::fs::FileType)> = Vec::new();
        for e in entries.flatten() {
            let Ok(kind) = e.file_type() else { continue };
            names.push((e.file_name().to_string_lossy().into_owned(), kind));
        }
        names.sort_by(|a, b| a.0.cmp(&b.0));
        let mut kept = 0u64;
        let mut files = Vec::new();
        for (name, kind) in names {
            let mut f = WorkspaceFile {
                name: name.clone(),
                ..Default::default()
            };
            if let Err(why) = octollm_policy::files::check_name(&name) {
                f.skipped = Some(why);
            } else if !kind.is_file() {
                f.skipped = Some("not a regular file".into());
            } else {
                match read_capped(&out.join(&name), max_file) {
                    Ok(Some(bytes)) if kept + bytes.len() as u64 <= max_total => {
                        kept += bytes.len() as u64;
                        f.size = bytes.len() as u64;
                        f.sha256 = sha256_hex(&bytes);
                        f.content_base64 = Some(B64.encode(&bytes));
                    }
                    Ok(Some(bytes)) => {
                        f.size = bytes.len() as u64;
                        f.sha256 = sha256_hex(&bytes);
                        f.skipped =
                            Some(format!("the artifacts together exceed {max_total} bytes"));
                    }
                    Ok(None) => {
                        f.skipped = Some(format!("larger than {max_file} bytes"));
                    }
                    Err(e) => f.skipped = Some(format!("could not be read: {e}")),
                }
            }
            files.push(f);
        }
        Ok(WorkspaceFiles { files })
    }

    /// Unmounts and removes the workspace.
    fn remove(&self, id: &str) -> Result<(), ApiError> {
        let dir = self.dir(id)?;
        ws::unmount(&dir.join("files")).map_err(|e| io_error("workspace", e))?;
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| io_error("workspace", e))?;
        }
        self.locks
            .lock()
            .remove(dir.file_name().and_then(|n| n.to_str()).unwrap_or(id));
        Ok(())
    }
}

/// The file's bytes, or `None` when it holds more than `max`. Opened
/// without following a symlink put there since the listing.
fn read_capped(path: &Path, max: u64) -> std::io::Result<Option<Vec<u8>>> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= max).then_some(bytes))
}

impl Executor {
    /// Removes workspaces unused for `workspace_idle_seconds`; see
    /// [`Workspaces::sweep`].
    pub fn sweep_workspaces(&self) -> usize {
        let idle = std::time::Duration::from_secs(self.config.workspace_idle_seconds);
        let n = self.workspaces.sweep(idle);
        if n > 0 {
            tracing::info!(removed = n, "abandoned workspaces removed");
        }
        n
    }

    /// The workspace a token may use: with tokens on, only the one it is
    /// bound to.
    fn workspace_granted(&self, claims: &Option<Claims>, id: &str) -> Result<(), ApiError> {
        match claims {
            Some(c) if c.ws.as_deref() != Some(id) => Err(bad(
                StatusCode::FORBIDDEN,
                "WORKSPACE_NOT_GRANTED",
                "The capability token is not bound to this workspace",
            )),
            _ => Ok(()),
        }
    }

    /// Waits for workspace `id`'s turn and opens it, for a step whose token
    /// (when tokens are on) is bound to it. The guard keeps the turn.
    pub(crate) async fn enter_workspace(
        &self,
        claims: &Option<Claims>,
        id: &str,
    ) -> Result<(tokio::sync::OwnedMutexGuard<()>, WorkspaceMount), ApiError> {
        self.workspace_granted(claims, id)?;
        let turn = self.workspaces.lock(id).await;
        let mount = self.workspaces.open(id)?;
        Ok((turn, mount))
    }

    /// Checks the token (when tokens are on) for workspace `id`.
    pub(crate) fn workspace_access(&self, token: Option<&str>, id: &str) -> Result<(), ApiError> {
        let claims = self
            .verify_token_str(token)
            .map_err(|(status, code, msg)| bad(status, code, msg))?;
        self.workspace_granted(&claims, id)
    }

    /// `POST /api/v1/workspaces/{id}/inputs`.
    pub async fn put_inputs(
        &self,
        id: &str,
        token: Option<&str>,
        req: WorkspaceInputs,
    ) -> Result<WorkspaceFiles, ApiError> {
        self.workspace_access(token, id)?;
        // Each input appears whole (written aside, then renamed).
        let files = self.workspaces.put_inputs(id, &req)?;
        self.audit(
            serde_json::json!({"ts": crate::provenance::now(), "action": "workspace_inputs",
            "workspace": id, "files": files.files}),
        );
        Ok(files)
    }

    /// `GET /api/v1/workspaces/{id}/artifacts`.
    pub async fn artifacts(
        &self,
        id: &str,
        token: Option<&str>,
    ) -> Result<WorkspaceFiles, ApiError> {
        // Not in turn: the artifacts of a task that was stopped while a
        // step still runs here are read as they are.
        self.workspace_access(token, id)?;
        let cfg = &self.config;
        self.workspaces.artifacts(
            id,
            cfg.artifact_max_file_bytes,
            cfg.artifact_max_total_bytes,
        )
    }

    /// `DELETE /api/v1/workspaces/{id}`.
    pub async fn remove_workspace(&self, id: &str, token: Option<&str>) -> Result<(), ApiError> {
        // Not in turn either: a step still running keeps its own view of
        // the detached tmpfs until it ends.
        self.workspace_access(token, id)?;
        self.workspaces.remove(id)?;
        self.audit(
            serde_json::json!({"ts": crate::provenance::now(), "action": "workspace_removed",
            "workspace": id}),
        );
        Ok(())
    }
}
