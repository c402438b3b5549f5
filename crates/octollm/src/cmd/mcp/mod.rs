//! OctoLLM as a Model Context Protocol server: `octollm mcp` over stdio,
//! and `/mcp` (streamable HTTP) on the orchestrator.
//!
//! Five tools: `screen_text` (the reflex layer, in-process), `run_command`
//! (one command in the executor's sandbox, under its allowlist, audited),
//! `plan_goal` (the planner), `run_task` and `get_task` (the orchestrator).
//! Over stdio the planner and executor are this process's own and the
//! orchestrator is found or started as `octollm run` does; on `/mcp` they
//! are the system's ([`SystemArms`]) and the caller's key goes with every
//! call to the orchestrator. Standard output carries MCP messages only;
//! logs go to standard error.

mod args;
mod errors;
mod resources;
mod system;
mod task;

pub use system::SystemArms;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use clap::Args;
use octollm_executor::Executor;
use octollm_planner::Planner;
use octollm_reflex::{Engine, Options};
use octollm_server::MetricsRegistry;
use octollm_types::exec::{ExecuteRequest, Provenance};
use octollm_types::plan::PlanRequest;
use octollm_types::reflex::{RedactionStrategy, Source};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{
    CallToolResult, Implementation, ListResourceTemplatesResult, ListResourcesResult,
    PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities,
    ServerConfig,
};
use rmcp::schemars::JsonSchema;
use rmcp::service::RequestContext;
use rmcp::{tool, tool_handler, tool_router, ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::OnceCell;

use crate::cmd::mcp::args::Parameters;
use crate::cmd::serve::runtime;
use crate::config::Config;

#[derive(Args)]
pub struct McpArgs {
    /// Orchestrator for run_task and get_task (default: the local one on
    /// the configured port, or a system started in this process when none answers).
    #[arg(long)]
    url: Option<String>,
    /// Where the in-process system and run_command keep their state
    /// (default: the `data_dir` setting).
    #[arg(long)]
    data_dir: Option<String>,
}

pub fn run(mut config: Config, args: McpArgs) -> Result<ExitCode> {
    if let Some(d) = args.data_dir {
        config.server.data_dir = d.clone();
        config.orchestrator.data_dir = d.clone();
        config.executor.data_dir = d;
    }
    // Standard output is the protocol's; every log line goes to stderr.
    crate::logging::init(&config.server, "octollm-mcp");
    runtime()?.block_on(async move {
        let server = OctoMcp::new(config, args.url)?;
        let service = server.clone().serve(rmcp::transport::stdio()).await?;
        let ended = service.waiting().await;
        server.inner.orchestrator.shutdown().await;
        ended?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Where a screened text comes from; tool output and documents are data,
/// so instructions planted in them weigh more.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema)]
// Inline, so a client sees the choices in the property itself.
#[schemars(crate = "rmcp::schemars", inline)]
#[serde(rename_all = "snake_case")]
pub enum TextSource {
    #[default]
    User,
    ToolOutput,
    Document,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct ScreenTextArgs {
    /// The text to screen for personal data, secrets and prompt injection.
    pub text: String,
    /// Where the text comes from: tool output and documents are data, in
    /// which instructions to the assistant weigh more.
    #[serde(default)]
    pub source: TextSource,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct RunCommandArgs {
    /// The program to run (no shell): it must be on the executor's allowlist.
    pub command: String,
    /// Its arguments, one string each.
    #[serde(default)]
    pub args: Vec<String>,
    /// Text fed to its standard input.
    #[serde(default)]
    pub stdin: Option<String>,
    /// Wall-clock limit in seconds (default and ceiling: the executor's settings).
    #[serde(default)]
    pub timeout_seconds: Option<f64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct PlanGoalArgs {
    /// What to achieve, in plain words.
    pub goal: String,
    /// Constraints the plan must respect.
    #[serde(default)]
    pub constraints: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct RunTaskArgs {
    /// What to achieve, in plain words.
    pub goal: String,
    /// Acceptance criteria for the result.
    #[serde(default)]
    pub criteria: Vec<String>,
    /// Hard deadline for the task, in seconds.
    #[serde(default)]
    pub max_time_seconds: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct GetTaskArgs {
    /// The task's id (a UUID), as run_task answered.
    pub task_id: String,
}

/// `run_command`'s answer.
#[derive(Debug, Serialize)]
struct CommandResult {
    exit_code: Option<i32>,
    stdout: String,
    stderr: String,
    /// The output went over the executor's cap and was cut.
    truncated: bool,
    timed_out: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    signal: Option<i32>,
    /// Why it did not succeed (`NON_ZERO_EXIT`, `TIMEOUT`, `MEMORY_LIMIT`).
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<String>,
    provenance: Provenance,
}

/// The server: cheap to clone, one state behind it.
#[derive(Clone)]
pub struct OctoMcp {
    inner: Arc<Inner>,
    tool_router: ToolRouter<OctoMcp>,
}

struct Inner {
    config: Config,
    reflex: Engine,
    /// Built on first use: a client that only screens never pays for them.
    /// Inside `octollm up` they are the system's own instances.
    planner: OnceCell<Arc<Planner>>,
    executor: OnceCell<Arc<Executor>>,
    /// On `/mcp`: the system's planner and executor, used instead.
    system: Option<SystemArms>,
    orchestrator: task::Orchestrator,
}

impl OctoMcp {
    pub fn new(config: Config, url: Option<String>) -> Result<OctoMcp> {
        let reflex = crate::cmd::scan::engine(&config, None)?;
        Ok(OctoMcp {
            inner: Arc::new(Inner {
                orchestrator: task::Orchestrator::new(config.clone(), url, None),
                config,
                reflex,
                planner: OnceCell::new(),
                executor: OnceCell::new(),
                system: None,
            }),
            tool_router: Self::tool_router(),
        })
    }

    /// The server of a running system (`/mcp` on its orchestrator): its
    /// planner and executor, and its orchestrator at `url`, called with
    /// the MCP caller's key, else `api_key`.
    pub fn for_system(
        config: Config,
        url: String,
        api_key: Option<String>,
        arms: SystemArms,
    ) -> Result<OctoMcp> {
        let reflex = crate::cmd::scan::engine(&config, None)?;
        Ok(OctoMcp {
            inner: Arc::new(Inner {
                orchestrator: task::Orchestrator::new(config.clone(), Some(url), api_key),
                config,
                reflex,
                planner: OnceCell::new(),
                executor: OnceCell::new(),
                system: Some(arms),
            }),
            tool_router: Self::tool_router(),
        })
    }

    async fn planner(&self) -> Result<&Arc<Planner>, CallToolResult> {
        let cfg = &self.inner.config;
        self.inner
            .planner
            .get_or_try_init(|| async {
                Planner::new(
                    cfg.planner.clone(),
                    cfg.llm.clone(),
                    &MetricsRegistry::new("planner"),
                )
                .await
                .map(Arc::new)
                .map_err(|e| errors::tool_error("PLANNER_UNAVAILABLE", &e.to_string(), Value::Null))
            })
            .await
    }

    /// The executor of `run_command`: the configured policy, sandbox and
    /// audit log. No capability token: like `octollm exec`, the caller is
    /// a local operator (the MCP client that started this process).
    async fn executor(&self) -> Result<&Arc<Executor>, CallToolResult> {
        let mut cfg = self.inner.config.executor.clone();
        cfg.token_secret = String::new();
        self.inner
            .executor
            .get_or_try_init(|| async {
                // A sandbox that cannot be set up is not an error here: the
                // executor then refuses every command with SANDBOX_UNAVAILABLE.
                Executor::start(cfg).await.map(Arc::new).map_err(|e| {
                    errors::tool_error("EXECUTOR_UNAVAILABLE", &e.to_string(), Value::Null)
                })
            })
            .await
    }
}

#[tool_router]
impl OctoMcp {
    #[tool(
        description = "Screen a text with OctoLLM's reflex layer: personal data and secrets (found and redacted) and prompt injection. Answers the verdict: safe, status (allowed or blocked), the findings and the redacted text."
    )]
    async fn screen_text(
        &self,
        params: Parameters<ScreenTextArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let args = match params.0 {
            Ok(a) => a,
            Err(r) => return Ok(r),
        };
        if args.text.is_empty() {
            return Ok(errors::tool_error(
                "EMPTY_TEXT",
                "Field 'text' must not be empty",
                Value::Null,
            ));
        }
        let limit = self.inner.config.server.body_limit_bytes;
        if args.text.len() > limit {
            return Ok(errors::tool_error(
                "PAYLOAD_TOO_LARGE",
                &format!("A text is limited to {limit} bytes"),
                json!({"limit_bytes": limit}),
            ));
        }
        let source = match args.source {
            TextSource::User => Source::User,
            TextSource::ToolOutput => Source::ToolOutput,
            TextSource::Document => Source::Document,
        };
        let verdict = self.inner.reflex.analyze(
            &args.text,
            &Options {
                check_pii: true,
                check_injection: true,
                redact: true,
                strategy: RedactionStrategy::Label,
                source,
            },
        );
        Ok(errors::ok(&verdict))
    }

    #[tool(
        description = "Run one allowlisted command (no shell) in OctoLLM's Linux sandbox on this machine. Answers exit_code, stdout, stderr (capped), timed_out and provenance (sandbox layers, resource usage). A command the policy refuses is an error result with the policy's code (e.g. COMMAND_NOT_ALLOWED)."
    )]
    async fn run_command(
        &self,
        params: Parameters<RunCommandArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let args = match params.0 {
            Ok(a) => a,
            Err(r) => return Ok(r),
        };
        let req = ExecuteRequest {
            action_type: "shell".into(),
            command: args.command,
            args: args.args,
            stdin: args.stdin,
            method: None,
            url: None,
            timeout_seconds: args.timeout_seconds,
            capability_token: None,
            workspace: None,
        };
        if let Some(system) = &self.inner.system {
            let longest = self.inner.config.executor.max_timeout_seconds;
            return Ok(system.run_command(req, longest).await);
        }
        let executor = match self.executor().await {
            Ok(e) => e,
            Err(r) => return Ok(r),
        };
        // The request id ties the answer to its audit record.
        let rid = format!("mcp-{}", request_id(&ctx));
        Ok(command_result(executor.execute(req, Some(rid)).await.body))
    }

    #[tool(
        description = "Plan a goal into a small plan of steps without running it (OctoLLM's built-in planner unless an LLM is configured). Answers the plan: its steps with their actions, commands and dependencies."
    )]
    async fn plan_goal(
        &self,
        params: Parameters<PlanGoalArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let args = match params.0 {
            Ok(a) => a,
            Err(r) => return Ok(r),
        };
        let req = PlanRequest {
            goal: args.goal,
            constraints: args.constraints,
            ..Default::default()
        };
        if let Some(system) = &self.inner.system {
            return Ok(system.plan(&req).await);
        }
        let planner = match self.planner().await {
            Ok(p) => p,
            Err(r) => return Ok(r),
        };
        Ok(match planner.plan(&req).await {
            Ok(outcome) => errors::ok(&outcome.plan),
            Err(e) => errors::from_api(&e.to_api_error()),
        })
    }

    #[tool(
        description = "Submit a goal to OctoLLM as a task (screened, planned, each step run in the sandbox) and wait for it to end. Sends progress notifications as steps finish when the call has a progress token. A task with a step waiting for approval comes back at once with its pending status and how to decide. Answers the task: status, plan, steps with outputs and provenance, result, cost."
    )]
    async fn run_task(
        &self,
        params: Parameters<RunTaskArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let args = match params.0 {
            Ok(a) => a,
            Err(r) => return Ok(r),
        };
        let contract = crate::cmd::run::contract(&args.goal, &args.criteria, args.max_time_seconds);
        let mut reporter = task::Reporter::new(ctx.peer.clone(), ctx.meta.get_progress_token());
        Ok(task::run(&self.inner.orchestrator, &contract, &mut reporter, &ctx).await)
    }

    #[tool(
        description = "Look at one OctoLLM task by id: status, plan, steps with outputs and provenance, result and cost."
    )]
    async fn get_task(
        &self,
        params: Parameters<GetTaskArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let args = match params.0 {
            Ok(a) => a,
            Err(r) => return Ok(r),
        };
        let caller = caller_key(&ctx);
        Ok(task::get(&self.inner.orchestrator, &args.task_id, caller.as_deref()).await)
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for OctoMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_server_info(
            Implementation::new("octollm", octollm_types::VERSION).with_title("OctoLLM"),
        )
        .with_instructions(
            "OctoLLM screens text (screen_text), runs allowlisted commands in a Linux \
                 sandbox (run_command), plans goals (plan_goal) and runs them as tasks \
                 (run_task, get_task). Errors carry OctoLLM's API codes in \
                 structuredContent.error.code. Tasks are also resources: \
                 octollm://tasks/TASK_ID.",
        )
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        resources::list(&self.inner.orchestrator, caller_key(&context).as_deref()).await
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(resources::templates())
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let caller = caller_key(&context);
        resources::read(&self.inner.orchestrator, &request.uri, caller.as_deref())
            .await
            .map(Into::into)
    }
}

/// The JSON-RPC id of the request, as text.
fn request_id(ctx: &RequestContext<RoleServer>) -> String {
    match serde_json::to_value(&ctx.id) {
        Ok(Value::String(s)) => s,
        Ok(v) => v.to_string(),
        Err(_) => "unknown".into(),
    }
}

/// The key the caller presented over HTTP (none over stdio): the server
/// layer put it in the request's extensions after checking it.
fn caller_key(ctx: &RequestContext<RoleServer>) -> Option<String> {
    ctx.extensions
        .get::<axum::http::request::Parts>()?
        .extensions
        .get::<octollm_server::ClientIdentity>()?
        .api_key
        .clone()
}

/// The executor's answer as the tool's result.
fn command_result(reply: octollm_types::exec::ExecuteResponse) -> CallToolResult {
    // No provenance means the command never ran: a refusal.
    let Some(provenance) = reply.provenance else {
        let code = reply.error_code.as_deref().unwrap_or("EXECUTION_FAILED");
        let message = reply.error.as_deref().unwrap_or("the command was not run");
        return errors::tool_error(code, message, Value::Null);
    };
    errors::ok(&CommandResult {
        exit_code: reply.exit_code,
        stdout: reply.output,
        stderr: reply.stderr,
        truncated: reply.truncated,
        timed_out: reply.timed_out,
        signal: reply.signal,
        error_code: reply.error_code,
        provenance,
    })
}

/// The streamable-HTTP transport of `server`, for `/mcp`: one session per
/// client, all sharing the server's state.
pub fn http_service(
    server: OctoMcp,
) -> rmcp::transport::streamable_http_server::StreamableHttpService<
    OctoMcp,
    rmcp::transport::streamable_http_server::session::local::LocalSessionManager,
> {
    rmcp::transport::streamable_http_server::StreamableHttpService::new(
        move || Ok(server.clone()),
        Default::default(),
        Default::default(),
    )
}
