//! Tasks as MCP resources: `octollm://tasks/{task_id}` reads one task (the
//! view `get_task` answers), and the recent tasks of a running orchestrator
//! are listed, so a client can attach a task to a conversation.

use rmcp::model::{
    ListResourceTemplatesResult, ListResourcesResult, ReadResourceResult, Resource,
    ResourceContents, ResourceTemplate,
};
use rmcp::ErrorData;
use serde_json::json;

use crate::cmd::mcp::task::Orchestrator;

/// Every task resource's URI starts so.
const PREFIX: &str = "octollm://tasks/";
/// How many recent tasks `resources/list` shows.
const LISTED: u32 = 50;
const JSON: &str = "application/json";

pub fn templates() -> ListResourceTemplatesResult {
    ListResourceTemplatesResult::with_all_items(vec![ResourceTemplate::new(
        format!("{PREFIX}{{task_id}}"),
        "task",
    )
    .with_description(
        "An OctoLLM task: status, plan, steps with outputs and provenance, result, cost",
    )
    .with_mime_type(JSON)])
}

/// The most recent tasks, when an orchestrator is running. Listing never
/// starts one: a client lists resources as soon as it connects.
pub async fn list(
    orch: &Orchestrator,
    caller: Option<&str>,
) -> Result<ListResourcesResult, ErrorData> {
    let Some(api) = orch.running_client(caller).await else {
        return Ok(ListResourcesResult::default());
    };
    let page = api
        .list(None, Some(LISTED), None)
        .await
        .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
    let resources = page
        .tasks
        .iter()
        .map(|t| {
            let goal: String = t.goal.chars().take(80).collect();
            Resource::new(
                format!("{PREFIX}{}", t.task_id),
                format!("task {}", t.task_id),
            )
            .with_description(format!("{} — {goal}", t.status.as_str()))
            .with_mime_type(JSON)
        })
        .collect();
    Ok(ListResourcesResult::with_all_items(resources))
}

/// One task as JSON. A URI that names no task is the protocol's
/// resource-not-found error, with the API's envelope as its data.
pub async fn read(
    orch: &Orchestrator,
    uri: &str,
    caller: Option<&str>,
) -> Result<ReadResourceResult, ErrorData> {
    let Some(id) = uri.strip_prefix(PREFIX).filter(|id| !id.is_empty()) else {
        return Err(ErrorData::resource_not_found(
            format!("no such resource: {uri} (tasks are {PREFIX}TASK_ID)"),
            Some(json!({"uri": uri})),
        ));
    };
    let api = orch.client(caller).await.map_err(|r| {
        ErrorData::internal_error("no orchestrator is available", r.structured_content.clone())
    })?;
    match api.get(id).await {
        Ok(task) => {
            let text = serde_json::to_string_pretty(&task)
                .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
            Ok(ReadResourceResult::new(vec![ResourceContents::text(
                text, uri,
            )
            .with_mime_type(JSON)]))
        }
        Err(e) => {
            let data = e.envelope().and_then(|env| serde_json::to_value(env).ok());
            if e.status().is_some_and(|s| s < 500) {
                Err(ErrorData::resource_not_found(e.to_string(), data))
            } else {
                Err(ErrorData::internal_error(e.to_string(), data))
            }
        }
    }
}
