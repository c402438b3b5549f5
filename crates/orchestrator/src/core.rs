//! The state every handler and worker of one orchestrator process shares.

use std::collections::HashMap;
use std::sync::Arc;

use octollm_llm::LlmClient;
use octollm_server::Uptime;
use parking_lot::Mutex;
use serde_json::Value;
use tokio::sync::{broadcast, watch, Notify};

use std::future::Future;
use std::time::{Duration, Instant};

use crate::admission::Admission;
use crate::arms::{no_retry_hook, ArmError, Arms, Attempt, ScreenArm};
use crate::config::OrchestratorConfig;
use crate::error::StoreError;
use crate::metrics::Metrics;
use crate::store::Store;

pub(crate) struct Core {
    pub config: OrchestratorConfig,
    /// The bound on tasks waiting for a worker.
    pub admission: Admission,
    pub store: Store,
    pub arms: Arms,
    pub metrics: Metrics,
    /// The LLM that judges free-text acceptance criteria, when one is configured.
    pub judge: Option<Arc<LlmClient>>,
    pub token_secret: Option<Vec<u8>>,
    /// The server's `approval_required`, parsed.
    pub approval: octollm_policy::ApprovalPolicy,
    /// Ids of tasks that have new events, for the event streams of this process.
    pub events: broadcast::Sender<Arc<str>>,
    /// Wakes idle workers when this process accepts a task.
    pub wake: Notify,
    /// Cancel switches of the tasks this process is running.
    pub running: Mutex<HashMap<String, watch::Sender<bool>>>,
    /// Distinguishes this process's lease owners from every other's.
    pub process_id: String,
    pub uptime: Uptime,
}

pub(crate) type Shared = Arc<Core>;

impl Core {
    /// Appends an event and wakes the streams following the task.
    pub async fn event(
        &self,
        task_id: &str,
        kind: &str,
        status: &str,
        step: Option<i64>,
        data: Value,
    ) -> Result<i64, StoreError> {
        let seq = self
            .store
            .append_event(task_id, kind, status, step, &data.to_string())
            .await?;
        // Nobody listening is fine.
        let _ = self.events.send(Arc::from(task_id));
        Ok(seq)
    }

    /// One call to the reflex layer, never retried (screening is cheap to
    /// ask again and a task must not wait on it), within 10 s and
    /// `deadline`; `None` when no reflex layer is registered.
    pub async fn reflex_call<'a, T, F, Fut>(
        &'a self,
        deadline: Option<Instant>,
        mut attempt: F,
    ) -> Option<Result<T, ArmError>>
    where
        F: FnMut(&'a dyn ScreenArm, Duration) -> Fut,
        Fut: Future<Output = Attempt<T>>,
    {
        let (reg, arm) = self.arms.screener()?;
        let timeout = self.config.arm_timeout().min(Duration::from_secs(10));
        Some(
            self.arms
                .call(
                    reg,
                    timeout,
                    deadline,
                    |t| attempt(arm.as_ref(), t),
                    no_retry_hook,
                )
                .await,
        )
    }

    /// Flips the local cancel switch of a task this process runs.
    pub fn signal_cancel(&self, task_id: &str) -> bool {
        match self.running.lock().get(task_id) {
            Some(tx) => tx.send(true).is_ok(),
            None => false,
        }
    }
}
