//! `GET /api/v1/tasks/{id}/events`: the task's events as server-sent
//! events, from the first, ending with the task.
//!
//! Events are read from the store, so a stream shows the progress of a task
//! whichever orchestrator process runs it; local writers wake the stream at
//! once, remote ones are seen at the next poll.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use octollm_server::ApiError;
use octollm_types::orchestrator::TaskEvent;
use serde_json::Value;
use tokio::sync::broadcast;

use crate::core::Shared;
use crate::store::EventRow;
use crate::view;

const POLL: Duration = Duration::from_millis(500);

struct Follow {
    core: Shared,
    task_id: String,
    last_seq: i64,
    buffered: VecDeque<EventRow>,
    wake: broadcast::Receiver<Arc<str>>,
    done: bool,
    /// Idle polls that found the task ended without its last event.
    ended_polls: u32,
    _gauge: StreamGauge,
}

/// Counts open streams for as long as one lives.
struct StreamGauge(prometheus_client::metrics::gauge::Gauge);

impl Drop for StreamGauge {
    fn drop(&mut self) {
        self.0.dec();
    }
}

pub(crate) fn to_event(row: &EventRow) -> TaskEvent {
    TaskEvent {
        seq: u64::try_from(row.seq).unwrap_or(0),
        task_id: row.task_id.clone(),
        kind: row.kind.clone(),
        status: view::task_status(&row.status),
        step: row.step.and_then(|s| u32::try_from(s).ok()),
        data: serde_json::from_str(&row.data).unwrap_or(Value::Null),
        at: view::rfc3339(row.created_at),
    }
}

fn sse_event(ev: &TaskEvent) -> Event {
    let data = serde_json::to_string(ev).unwrap_or_else(|_| "{}".into());
    Event::default()
        .event(ev.kind.clone())
        .id(ev.seq.to_string())
        .data(data)
}

/// The task's events as Server-Sent Events: every event so far, then live
/// ones until the task ends.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/events", tag = "tasks",
    params(("id" = uuid::Uuid, Path, description = "The task id")),
    responses((status = 200, description = "`event: KIND`, `id: SEQ`, `data: TaskEvent` as JSON", content_type = "text/event-stream", body = String)))]
pub(crate) async fn events(
    State(core): State<Shared>,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let id = crate::api::task_id(&raw)?;
    let exists = core
        .store
        .get_task(&id)
        .await
        .map_err(|e| ApiError::unavailable("STORE_UNAVAILABLE", e.to_string()))?
        .is_some();
    if !exists {
        return Err(ApiError::not_found(format!("No task with id {id}")));
    }
    core.metrics.sse_streams.inc();
    let follow = Follow {
        wake: core.events.subscribe(),
        _gauge: StreamGauge(core.metrics.sse_streams.clone()),
        core,
        task_id: id,
        last_seq: 0,
        buffered: VecDeque::new(),
        done: false,
        ended_polls: 0,
    };
    Ok(Sse::new(stream_of(follow))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

fn stream_of(follow: Follow) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(follow, |mut f| async move {
        // The first pass reads what exists; later ones only after news of
        // this task or an idle poll. The receiver was subscribed before the
        // first read, so news that lands while we read or send is queued
        // and wakes us at once: nothing is missed, and one event costs one
        // read instead of a read that finds it, a read that finds nothing
        // and a task lookup.
        let mut woke = Woke::News;
        loop {
            if f.done {
                return None;
            }
            if let Some(row) = f.buffered.pop_front() {
                let ev = to_event(&row);
                if ev.is_terminal() {
                    f.done = true;
                }
                return Some((Ok(sse_event(&ev)), f));
            }
            if woke == Woke::Waiting {
                woke = wait_for_news(&mut f).await;
                continue;
            }
            match f.core.store.events_after(&f.task_id, f.last_seq).await {
                Ok(rows) if !rows.is_empty() => {
                    f.last_seq = rows.last().map_or(f.last_seq, |r| r.seq);
                    f.buffered.extend(rows);
                    f.ended_polls = 0;
                }
                Ok(_) if woke == Woke::Idle => {
                    if let Some(ev) = ended_without_event(&mut f).await {
                        return Some((Ok(sse_event(&ev)), f));
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(task_id = %f.task_id, error = %e, "event stream read failed");
                }
            }
            woke = Woke::Waiting;
        }
    })
}

/// Why the stream is looking at the store again.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Woke {
    /// A writer in this process said the task has a new event.
    News,
    /// Nothing was heard for a poll interval (a writer in another process,
    /// or one that died).
    Idle,
    /// Not yet: wait for one of the above.
    Waiting,
}

/// A task whose worker died between ending it and writing its last event
/// still ends the stream: after two idle polls that find the task ended and
/// no new event, a closing event is made up from the task row.
async fn ended_without_event(f: &mut Follow) -> Option<TaskEvent> {
    let t = f.core.store.get_task(&f.task_id).await.ok().flatten()?;
    if !view::task_status(&t.status).is_terminal() {
        return None;
    }
    f.ended_polls += 1;
    // Give a writer that ends the task and then appends its event one poll
    // to do so.
    if f.ended_polls < 2 {
        return None;
    }
    f.done = true;
    Some(TaskEvent {
        seq: u64::try_from(f.last_seq + 1).unwrap_or(0),
        task_id: f.task_id.clone(),
        kind: format!("task.{}", t.status),
        status: view::task_status(&t.status),
        step: None,
        data: serde_json::json!({"status": t.status}),
        at: view::rfc3339(t.updated_at),
    })
}

async fn wait_for_news(f: &mut Follow) -> Woke {
    let deadline = tokio::time::sleep(POLL);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => return Woke::Idle,
            msg = f.wake.recv() => match msg {
                Ok(id) if *id == *f.task_id => {
                    // News of one write often comes in a burst (a step's
                    // end, the next one's start): one read covers it all.
                    while let Ok(more) = f.wake.try_recv() {
                        let _ = more;
                    }
                    return Woke::News;
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => return Woke::News,
                Err(broadcast::error::RecvError::Closed) => {
                    (&mut deadline).await;
                    return Woke::Idle;
                }
            },
        }
    }
}
