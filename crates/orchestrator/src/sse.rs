//! `GET /api/v1/tasks/{id}/events`: the task's events as server-sent
//! events, from the first, ending with the task.
//!
//! Events are read from the store, so a stream shows the progress of a task
//! whichever orchestrator process runs it; local writers wake the stream at
//! once, remote ones are seen at the next poll.

use std::collections::VecDeque;
use std::convert::Infallible;
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
    wake: broadcast::Receiver<String>,
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
            match f.core.store.events_after(&f.task_id, f.last_seq).await {
                Ok(rows) if !rows.is_empty() => {
                    f.last_seq = rows.last().map_or(f.last_seq, |r| r.seq);
                    f.buffered.extend(rows);
                    continue;
                }
                Ok(_) => {
                    // A task whose worker died between ending it and writing
                    // its last event still ends the stream.
                    if let Ok(Some(t)) = f.core.store.get_task(&f.task_id).await {
                        if view::task_status(&t.status).is_terminal() {
                            f.ended_polls += 1;
                        }
                        // Give a writer that ends the task and then appends
                        // its event one poll to do so.
                        if f.ended_polls >= 2 {
                            if let Ok(rows) =
                                f.core.store.events_after(&f.task_id, f.last_seq).await
                            {
                                if !rows.is_empty() {
                                    f.last_seq = rows.last().map_or(f.last_seq, |r| r.seq);
                                    f.buffered.extend(rows);
                                    continue;
                                }
                            }
                            f.done = true;
                            let ev = TaskEvent {
                                seq: u64::try_from(f.last_seq + 1).unwrap_or(0),
                                task_id: f.task_id.clone(),
                                kind: format!("task.{}", t.status),
                                status: view::task_status(&t.status),
                                step: None,
                                data: serde_json::json!({"status": t.status}),
                                at: view::rfc3339(t.updated_at),
                            };
                            return Some((Ok(sse_event(&ev)), f));
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(task_id = %f.task_id, error = %e, "event stream read failed");
                }
            }
            wait_for_news(&mut f).await;
        }
    })
}

async fn wait_for_news(f: &mut Follow) {
    let deadline = tokio::time::sleep(POLL);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => return,
            msg = f.wake.recv() => match msg {
                Ok(id) if id == f.task_id => return,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => return,
                Err(broadcast::error::RecvError::Closed) => {
                    (&mut deadline).await;
                    return;
                }
            },
        }
    }
}
