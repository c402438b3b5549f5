//! `run_task` and `get_task`: the orchestrator they talk to, and following
//! a task to its end with MCP progress notifications.

use std::time::Duration;

use octollm_orchestrator::{ClientError, OrchestratorClient};
use octollm_types::orchestrator::{TaskEvent, TaskView};
use octollm_types::task::{TaskContract, TaskStatus};
use rmcp::model::{CallToolResult, ContentBlock, ProgressNotificationParam, ProgressToken};
use rmcp::service::RequestContext;
use rmcp::{Peer, RoleServer};
use serde_json::Value;
use tokio::sync::{Mutex, OnceCell};

use crate::cmd::mcp::errors;
use crate::cmd::serve::Component;
use crate::cmd::up::System;
use crate::cmd::{client, local_url};
use crate::config::Config;

/// How often the task is polled when its event stream broke.
const POLL_EVERY: Duration = Duration::from_millis(300);
/// How long a running orchestrator has to answer `/health`.
const PROBE_TIMEOUT: Duration = Duration::from_millis(800);

/// The orchestrator of `run_task` and `get_task`: the one at `--url`, the
/// local one when it answers, or else a whole system started in this
/// process the first time a tool needs it (as `octollm run` does), kept
/// until the server stops so later `get_task` calls find its tasks.
pub struct Orchestrator {
    config: Config,
    url: Option<String>,
    resolved: OnceCell<String>,
    embedded: Mutex<Option<System>>,
    /// The key to call it with; `None` reads the command line's.
    api_key: Option<String>,
}

impl Orchestrator {
    pub fn new(config: Config, url: Option<String>, api_key: Option<String>) -> Orchestrator {
        Orchestrator {
            config,
            url,
            resolved: OnceCell::new(),
            embedded: Mutex::new(None),
            api_key,
        }
    }

    /// A client with the MCP caller's own key when it presented one (over
    /// HTTP), so the orchestrator's limits and logs see who asked; else
    /// the configured key, else the command line's.
    fn client_of(
        &self,
        url: &str,
        caller: Option<&str>,
    ) -> Result<OrchestratorClient, ClientError> {
        match caller.map(str::to_string).or_else(|| self.api_key.clone()) {
            Some(key) => Ok(OrchestratorClient::new(url)?.with_api_key(key)),
            None => client(url),
        }
    }

    /// The orchestrator's base URL, starting one here when needed.
    pub async fn url(&self) -> Result<&str, CallToolResult> {
        let url = self
            .resolved
            .get_or_try_init(|| async {
                if let Some(u) = &self.url {
                    return Ok(u.clone());
                }
                let local = local_url(&self.config);
                if answers(&local).await {
                    return Ok(local);
                }
                tracing::info!(url = %local, "no orchestrator answers; starting one in this process");
                let system = crate::cmd::up::start(self.config.clone(), true)
                    .await
                    .map_err(|e| {
                        errors::tool_error(
                            "ORCHESTRATOR_UNAVAILABLE",
                            &format!("could not start an in-process system: {e:#}"),
                            Value::Null,
                        )
                    })?;
                let url = system.url(Component::Orchestrator).to_string();
                *self.embedded.lock().await = Some(system);
                Ok(url)
            })
            .await?;
        Ok(url.as_str())
    }

    /// A client of the orchestrator, or the tool error saying why not.
    pub async fn client(&self, caller: Option<&str>) -> Result<OrchestratorClient, CallToolResult> {
        let url = self.url().await?;
        self.client_of(url, caller)
            .map_err(|e| errors::from_client(&e))
    }

    /// A client of an orchestrator that is already there (`--url`, the
    /// local one, or the one started here), without starting one.
    pub async fn running_client(&self, caller: Option<&str>) -> Option<OrchestratorClient> {
        let url = match self.resolved.get() {
            Some(u) => u.clone(),
            None => {
                let u = self.url.clone().unwrap_or_else(|| local_url(&self.config));
                if !answers(&u).await {
                    return None;
                }
                u
            }
        };
        self.client_of(&url, caller).ok()
    }

    /// Stops the system started here, if one was.
    pub async fn shutdown(&self) {
        if let Some(system) = self.embedded.lock().await.take() {
            system.shutdown().await;
        }
    }
}

async fn answers(url: &str) -> bool {
    match OrchestratorClient::new(url) {
        Ok(c) => c.with_timeout(PROBE_TIMEOUT).health().await.is_ok(),
        Err(_) => false,
    }
}

/// Where progress goes: the client's token, when it gave one.
pub struct Reporter {
    peer: Peer<RoleServer>,
    token: Option<ProgressToken>,
    /// Steps finished so far: the progress value, which must only grow.
    done: u32,
    /// Steps in the current plan, once known.
    total: Option<u32>,
}

impl Reporter {
    pub fn new(peer: Peer<RoleServer>, token: Option<ProgressToken>) -> Reporter {
        Reporter {
            peer,
            token,
            done: 0,
            total: None,
        }
    }

    /// Notifies the client of what `ev` means for the task's progress:
    /// the plan (progress 0 of its steps) and every step that finished.
    async fn event(&mut self, ev: &TaskEvent) {
        let step = ev.step.unwrap_or(0);
        let message = match ev.kind.as_str() {
            "task.plan" | "task.replanned" => {
                let steps = ev
                    .data
                    .pointer("/plan/plan")
                    .and_then(Value::as_array)
                    .map_or(0, |a| a.len() as u32);
                self.total = Some(self.done + steps);
                format!("planned {steps} step(s)")
            }
            "step.completed" => {
                self.done += 1;
                format!("step {step} completed")
            }
            "step.failed" => {
                self.done += 1;
                format!("step {step} failed")
            }
            "approval_requested" => format!("step {step} waits for approval"),
            _ => return,
        };
        self.send(message).await;
    }

    async fn send(&self, message: String) {
        let Some(token) = &self.token else { return };
        let mut p = ProgressNotificationParam::new(token.clone(), f64::from(self.done))
            .with_message(message);
        if let Some(t) = self.total.filter(|t| *t >= self.done) {
            p = p.with_total(f64::from(t));
        }
        // Progress is advisory: a client that went away loses nothing.
        if let Err(e) = self.peer.notify_progress(p).await {
            tracing::debug!(error = %e, "progress notification not sent");
        }
    }
}

/// How following a task ended.
enum Ending {
    /// The task reached a terminal status (or the stream ended).
    Done,
    /// A step waits for a person's decision.
    Approval(u32),
}

/// Submits `contract`, follows the task and answers with it: when it ends,
/// or as soon as a step waits for approval (the answer then says how to
/// decide), never blocking on a person.
pub async fn run(
    orch: &Orchestrator,
    contract: &TaskContract,
    reporter: &mut Reporter,
    ctx: &RequestContext<RoleServer>,
) -> CallToolResult {
    let api = match orch.client(super::caller_key(ctx).as_deref()).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let id = match api.submit(contract).await {
        Ok(a) => a.task_id,
        Err(e) => return errors::from_client(&e),
    };
    let ending = tokio::select! {
        e = follow(&api, &id, reporter) => e,
        _ = ctx.ct.cancelled() => {
            // The client gave up on the call; the task runs on (it can be
            // looked at with get_task or cancelled with the CLI).
            return errors::tool_error(
                "CANCELLED",
                &format!("stopped following task {id}; it keeps running"),
                serde_json::json!({"task_id": id}),
            );
        }
    };
    let ending = match ending {
        Ok(e) => e,
        Err(e) => return errors::from_client(&e),
    };
    match api.get(&id).await {
        Ok(task) => answer(&api, task, ending),
        Err(e) => errors::from_client(&e),
    }
}

/// Follows the task's events until it ends or waits for approval; falls
/// back to polling when the stream breaks.
async fn follow(
    api: &OrchestratorClient,
    id: &str,
    reporter: &mut Reporter,
) -> Result<Ending, ClientError> {
    if let Ok(mut events) = api.events(id).await {
        loop {
            match events.next().await {
                Ok(Some(ev)) => {
                    reporter.event(&ev).await;
                    if ev.kind == "approval_requested" {
                        return Ok(Ending::Approval(ev.step.unwrap_or(0)));
                    }
                    if ev.is_terminal() {
                        return Ok(Ending::Done);
                    }
                }
                Ok(None) => return Ok(Ending::Done),
                Err(_) => break,
            }
        }
    }
    loop {
        let t = api.get(id).await?;
        if t.status.is_terminal() {
            return Ok(Ending::Done);
        }
        if t.status == TaskStatus::AwaitingApproval {
            return Ok(Ending::Approval(0));
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// The task as the tool's answer: an error result when it failed or was
/// cancelled (its `error` carries the code), with a note on how to decide
/// when a step waits for approval.
fn answer(api: &OrchestratorClient, task: TaskView, ending: Ending) -> CallToolResult {
    let failed = task.status.is_terminal() && task.status != TaskStatus::Completed;
    let id = task.task_id.clone();
    let mut result = errors::ok(&task);
    if failed {
        result.is_error = Some(true);
    }
    if let Ending::Approval(step) = ending {
        if !task.status.is_terminal() {
            let url = api.base_url();
            let which = if step > 0 {
                step.to_string()
            } else {
                "STEP".to_string()
            };
            result.content.push(ContentBlock::text(format!(
                "Task {id} is {}: step {which} waits for approval. To decide, run \
                 `octollm tasks approve {id} {which} --url {url}` or \
                 `octollm tasks reject {id} {which} --url {url} --reason \"…\"`, \
                 then call get_task.",
                task.status.as_str()
            )));
        }
    }
    result
}

/// One task by id (`get_task`).
pub async fn get(orch: &Orchestrator, id: &str, caller: Option<&str>) -> CallToolResult {
    let api = match orch.client(caller).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    match api.get(id).await {
        Ok(t) => errors::ok(&t),
        Err(e) => errors::from_client(&e),
    }
}
