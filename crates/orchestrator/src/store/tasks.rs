//! Tasks as the API sees them: insert, read, list, the result cache, usage and cancellation.

use octollm_types::task::TaskStatus;

use super::*;

impl Store {
    /// Inserts a task with its first event (and, for a cache hit, its
    /// result and completion event) atomically.
    #[tracing::instrument(target = TARGET, name = "store.write", skip_all,
        fields(db.system = self.db_system(), db.operation.name = "insert_task"))]
    pub async fn insert_task(&self, task: &NewTask) -> Result<(), StoreError> {
        let status = if task.cached_result.is_some() {
            "completed"
        } else {
            "pending"
        };
        let deadline = task.created_at + task.max_time_seconds.saturating_mul(1000);
        let finished = task.cached_result.as_ref().map(|_| task.created_at);
        let mut events = vec![(
            "task.created",
            "pending",
            serde_json::json!({"goal": task.goal}).to_string(),
        )];
        if let Some(result) = &task.cached_result {
            events.push((
                "task.completed",
                "completed",
                format!("{{\"result\":{result}}}"),
            ));
        }
        let insert = "INSERT INTO tasks (id, goal, screened_goal, constraints, context, \
             acceptance_criteria, priority, max_tokens, max_cost_usd, max_time_seconds, status, \
             cache_key, result, deadline_at, created_at, updated_at, started_at, finished_at, \
             allowed_hosts, approval, vault_id, traceparent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16, $16, \
             $17, $18, $19, $20)";
        let event = "INSERT INTO events (task_id, seq, kind, status, step, data, created_at) \
             VALUES ($1, $2, $3, $4, NULL, $5, $6)";
        let file = "INSERT INTO task_files (task_id, name, content, size, sha256) \
             VALUES ($1, $2, $3, $4, $5)";
        with_db!(self, |pool, t| {
            let mut tx = pool.begin().await?;
            sqlx::query(&t(insert))
                .bind(&task.id)
                .bind(&task.goal)
                .bind(&task.screened_goal)
                .bind(&task.constraints)
                .bind(&task.context)
                .bind(&task.acceptance_criteria)
                .bind(task.priority)
                .bind(task.max_tokens)
                .bind(task.max_cost_usd)
                .bind(task.max_time_seconds)
                .bind(status)
                .bind(&task.cache_key)
                .bind(&task.cached_result)
                .bind(deadline)
                .bind(task.created_at)
                .bind(finished)
                .bind(&task.allowed_hosts)
                .bind(&task.approval)
                .bind(&task.vault_id)
                .bind(&task.traceparent)
                .execute(&mut *tx)
                .await?;
            for (name, bytes) in &task.files {
                sqlx::query(&t(file))
                    .bind(&task.id)
                    .bind(name)
                    .bind(bytes)
                    .bind(bytes.len() as i64)
                    .bind(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes)))
                    .execute(&mut *tx)
                    .await?;
            }
            for (seq, (kind, status, data)) in (1i64..).zip(&events) {
                sqlx::query(&t(event))
                    .bind(&task.id)
                    .bind(seq)
                    .bind(kind)
                    .bind(status)
                    .bind(data)
                    .bind(task.created_at)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn get_task(&self, id: &str) -> Result<Option<TaskRow>, StoreError> {
        let sql = "SELECT * FROM tasks WHERE id = $1";
        Ok(fetch!(self, fetch_optional, sql, id))
    }

    /// Newest first; `after` is the `(created_at, id)` of the last row of the previous page.
    pub async fn list_tasks(
        &self,
        status: Option<TaskStatus>,
        after: Option<(i64, String)>,
        limit: i64,
    ) -> Result<Vec<TaskRow>, StoreError> {
        let sql = match (status.is_some(), after.is_some()) {
            (false, false) => "SELECT * FROM tasks ORDER BY created_at DESC, id DESC LIMIT $1",
            (false, true) => {
                "SELECT * FROM tasks WHERE (created_at, id) < ($1, $2) \
                 ORDER BY created_at DESC, id DESC LIMIT $3"
            }
            (true, false) => {
                "SELECT * FROM tasks WHERE status = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
            }
            (true, true) => {
                "SELECT * FROM tasks WHERE status = $1 AND (created_at, id) < ($2, $3) \
                 ORDER BY created_at DESC, id DESC LIMIT $4"
            }
        };
        Ok(with_db!(self, |pool, t| {
            let sql = t(sql);
            let mut q = sqlx::query_as::<_, TaskRow>(&sql);
            if let Some(s) = status {
                q = q.bind(s.as_str());
            }
            if let Some((ms, id)) = &after {
                q = q.bind(*ms).bind(id.clone());
            }
            q.bind(limit).fetch_all(pool).await?
        }))
    }

    /// The newest completed task with `cache_key` that finished at or after `since_ms`.
    pub async fn find_cached(
        &self,
        cache_key: &str,
        since_ms: i64,
    ) -> Result<Option<TaskRow>, StoreError> {
        let sql = "SELECT * FROM tasks WHERE cache_key = $1 AND status = 'completed' \
                   AND finished_at >= $2 ORDER BY finished_at DESC LIMIT 1";
        Ok(fetch!(self, fetch_optional, sql, cache_key, since_ms))
    }

    #[tracing::instrument(target = TARGET, name = "store.write", skip_all,
        fields(db.system = self.db_system(), db.operation.name = "set_usage"))]
    pub async fn set_usage(
        &self,
        id: &str,
        owner: &str,
        tokens: i64,
        cost: f64,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE tasks SET tokens_used = $1, cost_usd = $2, updated_at = $3 \
                   WHERE id = $4 AND lease_owner = $5";
        Ok(changed_one!(self, sql, tokens, cost, now_ms(), id, owner))
    }

    /// Cancels a task nobody runs (waiting in the queue, or parked for an
    /// approval), or flags a running one for its worker.
    #[tracing::instrument(target = TARGET, name = "store.write", skip_all,
        fields(db.system = self.db_system(), db.operation.name = "request_cancel"))]
    pub async fn request_cancel(&self, id: &str, error: &str) -> Result<CancelOutcome, StoreError> {
        let now = now_ms();
        let direct = "UPDATE tasks SET status = 'cancelled', cancel_requested = 1, \
                      error = $1, error_code = 'CANCELLED', finished_at = $2, updated_at = $2, \
                      lease_owner = '', lease_expires_at = 0 \
                      WHERE id = $3 AND ((status = 'pending' AND lease_expires_at < $2) \
                      OR (status = 'awaiting_approval' AND lease_owner = ''))";
        let steps = "UPDATE steps SET status = 'cancelled', error = $1, finished_at = $2 \
                     WHERE task_id = $3 AND status IN ('pending', 'awaiting_approval')";
        let flag = format!(
            "UPDATE tasks SET cancel_requested = 1, updated_at = $1 \
             WHERE id = $2 AND status IN {OPEN}"
        );
        let cancelled = with_db!(self, |pool, t| {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(&t(direct))
                .bind(error)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 1 {
                sqlx::query(&t(steps))
                    .bind("The task was cancelled by request")
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            n == 1
        });
        let flagged = !cancelled && changed_one!(self, &flag, now, id);
        if cancelled {
            return Ok(CancelOutcome::Cancelled);
        }
        if flagged {
            return Ok(CancelOutcome::Requested);
        }
        Ok(match self.get_task(id).await? {
            None => CancelOutcome::NotFound,
            Some(t) => CancelOutcome::AlreadyFinished(t.status()),
        })
    }

    /// Tasks not yet finished (the queue depth, claimed or not).
    /// Tasks waiting for a worker: pending, and held by no live lease.
    pub async fn queued_tasks(&self) -> Result<i64, StoreError> {
        let sql = "SELECT COUNT(*) FROM tasks WHERE status = 'pending' AND lease_expires_at < $1";
        let (n,): (i64,) = fetch!(self, fetch_one, sql, now_ms());
        Ok(n)
    }

    pub async fn open_tasks(&self) -> Result<i64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM tasks WHERE status IN {OPEN}");
        let (n,): (i64,) = fetch!(self, fetch_one, &sql);
        Ok(n)
    }
}
