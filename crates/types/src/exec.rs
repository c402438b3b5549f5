//! Execution requests and results of the executor arm (SPEC §5).

use serde::{Deserialize, Serialize};

/// `POST /api/v1/execute` body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ExecuteRequest {
    #[serde(default = "shell")]
    pub action_type: String,
    /// Shell action: the program to exec.
    #[serde(default)]
    pub command: String,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
    /// HTTP action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capability_token: Option<String>,
    /// The task workspace to run in (SPEC §9.2); with tokens on, the token
    /// must be bound to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
}

/// `PUT /api/v1/workspaces/{id}`: the task's input files.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct WorkspaceInputs {
    #[serde(default)]
    pub files: Vec<crate::task::InputFile>,
}

/// One file a workspace holds: an input as stored, or an artifact left in
/// `/workspace/out/`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct WorkspaceFile {
    pub name: String,
    pub size: u64,
    /// SHA-256 hex of the bytes.
    pub sha256: String,
    /// The bytes, unless the file was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_base64: Option<String>,
    /// Why the file's bytes are not here (too large, not a regular file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// The files of a workspace (`PUT` answer, `GET …/artifacts`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct WorkspaceFiles {
    pub files: Vec<WorkspaceFile>,
}

fn shell() -> String {
    "shell".to_string()
}

/// Sandbox layers that were in force for one execution.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct SandboxInfo {
    pub layers: Vec<String>,
    /// Layers that were wanted but could not be applied (degraded mode only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// What the execution cost the host.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ResourceUsage {
    pub cpu_time_ms: u64,
    pub max_memory_bytes: u64,
}

/// Where a result came from and under which guarantees.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Provenance {
    /// SHA-256 hex of the command and its arguments.
    pub command_hash: String,
    pub timestamp: String,
    pub executor_version: String,
    pub execution_duration_ms: u64,
    pub exit_code: Option<i32>,
    pub capabilities_used: Vec<String>,
    #[serde(default)]
    pub sandbox: SandboxInfo,
    #[serde(default)]
    pub resource_usage: ResourceUsage,
    /// Who approved the step before it ran, when it needed approval
    /// (filled in by the orchestrator, never by the executor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<crate::orchestrator::ApprovalDecision>,
    /// The reflex layer's findings when the step's output carries a prompt
    /// injection it would block (filled in by the orchestrator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub injection_in_output: Option<Vec<crate::reflex::InjectionFinding>>,
}

/// `POST /api/v1/execute` answer; keeps the seed's flat shape.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ExecuteResponse {
    pub success: bool,
    pub output: String,
    #[serde(default)]
    pub stderr: String,
    pub exit_code: Option<i32>,
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default)]
    pub truncated: bool,
    #[serde(default)]
    pub timed_out: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    /// HTTP action: the status code the remote server answered with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Signal that ended the command, when it did not exit by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// The request id, so an answer can be matched with the audit log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}
