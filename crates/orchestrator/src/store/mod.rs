//! The task store: one interface, an SQLite and a PostgreSQL backend.
//!
//! Both backends share the SQL text (written with `$N` placeholders, which
//! SQLite reads as `?N`), the row types and the queue protocol; only the
//! claim differs, because PostgreSQL needs `FOR UPDATE SKIP LOCKED` to let
//! concurrent claimers pass each other while SQLite serialises writers and
//! makes the single `UPDATE … RETURNING` atomic by itself.
//!
//! Every write a worker makes on behalf of a claimed task is fenced by its
//! lease owner, so a worker that lost its lease cannot overwrite the state
//! written by the one that took the task over.

mod rows;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use rows::{
    CancelOutcome, EventRow, NewStep, NewTask, StepFinish, StepRow, TaskFinish, TaskRow,
};

use crate::config::OrchestratorConfig;
use crate::error::StoreError;

#[derive(Clone, Debug)]
enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A handle to the store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
}

/// Statuses a claimed task can be in.
const OPEN: &str = "('pending', 'planning', 'executing')";

fn sqlite_sql(sql: &str) -> String {
    sql.replace('$', "?")
}

/// Runs `$body` with `$pool` bound to the backend's pool and `$t` turning
/// the shared SQL text into the backend's dialect.
macro_rules! with_db {
    ($store:expr, |$pool:ident, $t:ident| $body:expr) => {
        match &$store.backend {
            Backend::Sqlite($pool) => {
                let $t = |s: &str| sqlite_sql(s);
                $body
            }
            Backend::Postgres($pool) => {
                let $t = |s: &str| s.to_string();
                $body
            }
        }
    };
}

/// Current time in Unix milliseconds, the store's time unit.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Store {
    /// Opens the configured backend and runs its migrations.
    pub async fn connect(config: &OrchestratorConfig) -> Result<Store, StoreError> {
        let max = config.database_max_connections.max(2);
        let url = config.database_url.trim();
        if url.is_empty() {
            let path = config.sqlite_path();
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let opts = SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            Self::open_sqlite(opts, max).await
        } else if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::Url(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            Self::open_sqlite(opts, max).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts =
                PgConnectOptions::from_str(url).map_err(|e| StoreError::Url(e.to_string()))?;
            let pool = PgPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            sqlx::migrate!("migrations/postgres").run(&pool).await?;
            Ok(Store {
                backend: Backend::Postgres(pool),
            })
        } else {
            Err(StoreError::Url(
                "expected postgres://, postgresql:// or sqlite: (or empty for the embedded store)"
                    .into(),
            ))
        }
    }

    async fn open_sqlite(opts: SqliteConnectOptions, max: u32) -> Result<Store, StoreError> {
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(Store {
            backend: Backend::Sqlite(pool),
        })
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        with_db!(self, |pool, t| {
            sqlx::query(&t("SELECT 1")).execute(pool).await?;
        });
        Ok(())
    }

    pub async fn close(&self) {
        with_db!(self, |pool, _t| pool.close().await)
    }

    /// Inserts a task with its first event (and, for a cache hit, its
    /// result and completion event) atomically.
    pub async fn insert_task(&self, task: &NewTask) -> Result<(), StoreError> {
        let status = if task.cached_result.is_some() {
            "completed"
        } else {
            "pending"
        };
        let deadline = task.created_at + task.max_time_seconds.saturating_mul(1000);
        let finished = task.cached_result.as_ref().map(|_| task.created_at);
        let created_data = serde_json::json!({"goal": task.goal}).to_string();
        let insert = "INSERT INTO tasks (id, goal, screened_goal, constraints, context, \
             acceptance_criteria, priority, max_tokens, max_cost_usd, max_time_seconds, status, \
             cache_key, result, deadline_at, created_at, updated_at, started_at, finished_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16, $16)";
        let event = "INSERT INTO events (task_id, seq, kind, status, step, data, created_at) \
             VALUES ($1, $2, $3, $4, NULL, $5, $6)";
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
                .execute(&mut *tx)
                .await?;
            sqlx::query(&t(event))
                .bind(&task.id)
                .bind(1i64)
                .bind("task.created")
                .bind("pending")
                .bind(&created_data)
                .bind(task.created_at)
                .execute(&mut *tx)
                .await?;
            if let Some(result) = &task.cached_result {
                let data = format!("{{\"result\":{result}}}");
                sqlx::query(&t(event))
                    .bind(&task.id)
                    .bind(2i64)
                    .bind("task.completed")
                    .bind("completed")
                    .bind(&data)
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
        Ok(with_db!(self, |pool, t| {
            sqlx::query_as::<_, TaskRow>(&t(sql))
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Newest first; `after` is the `(created_at, id)` of the last row of the previous page.
    pub async fn list_tasks(
        &self,
        status: Option<&str>,
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
                q = q.bind(s);
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
        Ok(with_db!(self, |pool, t| {
            sqlx::query_as::<_, TaskRow>(&t(sql))
                .bind(cache_key)
                .bind(since_ms)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Claims the most urgent unfinished task that no live lease holds.
    pub async fn claim(&self, owner: &str, lease: Duration) -> Result<Option<TaskRow>, StoreError> {
        let now = now_ms();
        let until = now + lease.as_millis() as i64;
        let pick = format!(
            "SELECT id FROM tasks WHERE status IN {OPEN} AND lease_expires_at < $3 \
             ORDER BY priority DESC, created_at LIMIT 1"
        );
        let update = |lock: &str| {
            format!(
                "UPDATE tasks SET lease_owner = $1, lease_expires_at = $2, claims = claims + 1, \
                 updated_at = $3 WHERE id = ({pick}{lock}) AND status IN {OPEN} \
                 AND lease_expires_at < $3 RETURNING *"
            )
        };
        let row = match &self.backend {
            Backend::Sqlite(pool) => {
                sqlx::query_as::<_, TaskRow>(&sqlite_sql(&update("")))
                    .bind(owner)
                    .bind(until)
                    .bind(now)
                    .fetch_optional(pool)
                    .await?
            }
            Backend::Postgres(pool) => {
                sqlx::query_as::<_, TaskRow>(&update(" FOR UPDATE SKIP LOCKED"))
                    .bind(owner)
                    .bind(until)
                    .bind(now)
                    .fetch_optional(pool)
                    .await?
            }
        };
        Ok(row)
    }

    /// Extends the lease. `None`: the lease is gone (taken over, or the task
    /// ended); otherwise whether a cancel was requested.
    pub async fn renew(
        &self,
        id: &str,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<bool>, StoreError> {
        let until = now_ms() + lease.as_millis() as i64;
        let sql = format!(
            "UPDATE tasks SET lease_expires_at = $1 WHERE id = $2 AND lease_owner = $3 \
             AND status IN {OPEN} RETURNING cancel_requested"
        );
        let row: Option<(i64,)> = with_db!(self, |pool, t| {
            sqlx::query_as(&t(&sql))
                .bind(until)
                .bind(id)
                .bind(owner)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(c,)| c != 0))
    }

    /// Gives the task back to the queue at once (graceful shutdown).
    pub async fn release(&self, id: &str, owner: &str) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE tasks SET lease_owner = '', lease_expires_at = 0 \
             WHERE id = $1 AND lease_owner = $2 AND status IN {OPEN}"
        );
        let n = with_db!(self, |pool, t| {
            sqlx::query(&t(&sql))
                .bind(id)
                .bind(owner)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Moves a claimed task to `planning` or `executing`; false when the lease is gone.
    pub async fn set_status(
        &self,
        id: &str,
        owner: &str,
        status: &str,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let sql = format!(
            "UPDATE tasks SET status = $1, updated_at = $2, started_at = COALESCE(started_at, $2) \
             WHERE id = $3 AND lease_owner = $4 AND status IN {OPEN}"
        );
        let n = with_db!(self, |pool, t| {
            sqlx::query(&t(&sql))
                .bind(status)
                .bind(now)
                .bind(id)
                .bind(owner)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    pub async fn set_usage(
        &self,
        id: &str,
        owner: &str,
        tokens: i64,
        cost: f64,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE tasks SET tokens_used = $1, cost_usd = $2, updated_at = $3 \
                   WHERE id = $4 AND lease_owner = $5";
        let n = with_db!(self, |pool, t| {
            sqlx::query(&t(sql))
                .bind(tokens)
                .bind(cost)
                .bind(now_ms())
                .bind(id)
                .bind(owner)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Stores the plan and one pending row per step. Idempotent: a plan
    /// already stored for the task is kept.
    pub async fn save_plan(
        &self,
        id: &str,
        plan_json: &str,
        planner: &str,
        steps: &[NewStep],
    ) -> Result<(), StoreError> {
        let plan_sql = "INSERT INTO plans (task_id, plan, planner, created_at) \
                        VALUES ($1, $2, $3, $4) ON CONFLICT (task_id) DO NOTHING";
        let step_sql = "INSERT INTO steps (task_id, step, action, required_arm, tool_call, \
                        depends_on, status) VALUES ($1, $2, $3, $4, $5, $6, 'pending') \
                        ON CONFLICT (task_id, step) DO NOTHING";
        with_db!(self, |pool, t| {
            let mut tx = pool.begin().await?;
            let fresh = sqlx::query(&t(plan_sql))
                .bind(id)
                .bind(plan_json)
                .bind(planner)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if fresh {
                for s in steps {
                    sqlx::query(&t(step_sql))
                        .bind(id)
                        .bind(s.step)
                        .bind(&s.action)
                        .bind(&s.required_arm)
                        .bind(&s.tool_call)
                        .bind(&s.depends_on)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn get_plan(&self, id: &str) -> Result<Option<String>, StoreError> {
        let sql = "SELECT plan FROM plans WHERE task_id = $1";
        let row: Option<(String,)> = with_db!(self, |pool, t| {
            sqlx::query_as(&t(sql))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(p,)| p))
    }

    pub async fn get_steps(&self, id: &str) -> Result<Vec<StepRow>, StoreError> {
        let sql = "SELECT * FROM steps WHERE task_id = $1 ORDER BY step";
        Ok(with_db!(self, |pool, t| {
            sqlx::query_as::<_, StepRow>(&t(sql))
                .bind(id)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Marks a step running for `owner`. `None` when the step is already
    /// finished or the lease is gone: the one guard that keeps a finished
    /// step from ever running again. Otherwise the attempt number.
    pub async fn start_step(
        &self,
        id: &str,
        step: i64,
        owner: &str,
    ) -> Result<Option<i64>, StoreError> {
        let sql = format!(
            "UPDATE steps SET status = 'running', attempts = attempts + 1, started_at = $1, \
             run_by = $2, finished_at = NULL, duration_ms = NULL, error = NULL \
             WHERE task_id = $3 AND step = $4 AND status IN ('pending', 'running') \
             AND EXISTS (SELECT 1 FROM tasks WHERE id = $3 AND lease_owner = $2 \
             AND status IN {OPEN}) RETURNING attempts"
        );
        let row: Option<(i64,)> = with_db!(self, |pool, t| {
            sqlx::query_as(&t(&sql))
                .bind(now_ms())
                .bind(owner)
                .bind(id)
                .bind(step)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(a,)| a))
    }

    /// Records a step's end; false when the lease is gone.
    pub async fn finish_step(
        &self,
        id: &str,
        step: i64,
        owner: &str,
        f: &StepFinish,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE steps SET status = $1, output = $2, display_output = $3, error = $4, \
             provenance = $5, finished_at = $6, duration_ms = $7 \
             WHERE task_id = $8 AND step = $9 AND status = 'running' AND run_by = $10 \
             AND EXISTS (SELECT 1 FROM tasks WHERE id = $8 AND lease_owner = $10 \
             AND status IN {OPEN})"
        );
        let n = with_db!(self, |pool, t| {
            sqlx::query(&t(&sql))
                .bind(f.status)
                .bind(&f.output)
                .bind(&f.display_output)
                .bind(&f.error)
                .bind(&f.provenance)
                .bind(f.finished_at)
                .bind(f.duration_ms)
                .bind(id)
                .bind(step)
                .bind(owner)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Ends whatever is still open of a task's steps: running ones get
    /// `running_status`, pending ones are skipped.
    pub async fn close_open_steps(
        &self,
        id: &str,
        running_status: &str,
        error: &str,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let running = "UPDATE steps SET status = $1, error = $2, finished_at = $3, \
                       duration_ms = $3 - COALESCE(started_at, $3) \
                       WHERE task_id = $4 AND status = 'running'";
        let pending = "UPDATE steps SET status = 'skipped', finished_at = $1 \
                       WHERE task_id = $2 AND status = 'pending'";
        with_db!(self, |pool, t| {
            sqlx::query(&t(running))
                .bind(running_status)
                .bind(error)
                .bind(now)
                .bind(id)
                .execute(pool)
                .await?;
            sqlx::query(&t(pending))
                .bind(now)
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Ends a claimed task, drops its lease and appends its last event in
    /// one transaction, so no reader sees the end without the event. False
    /// when the lease is gone.
    pub async fn finish_task(
        &self,
        id: &str,
        owner: &str,
        f: &TaskFinish,
        event_kind: &str,
        event_data: &str,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE tasks SET status = $1, result = $2, error = $3, error_code = $4, \
             finished_at = $5, updated_at = $5, lease_owner = '', lease_expires_at = 0 \
             WHERE id = $6 AND lease_owner = $7 AND status IN {OPEN}"
        );
        let event = "INSERT INTO events (task_id, seq, kind, status, step, data, created_at) \
                     SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, NULL, $4, $5 \
                     FROM events WHERE task_id = $1";
        let mut tries = 0;
        loop {
            let res: Result<bool, sqlx::Error> = with_db!(self, |pool, t| {
                async {
                    let mut tx = pool.begin().await?;
                    let n = sqlx::query(&t(&sql))
                        .bind(f.status)
                        .bind(&f.result)
                        .bind(&f.error)
                        .bind(&f.error_code)
                        .bind(f.finished_at)
                        .bind(id)
                        .bind(owner)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if n != 1 {
                        tx.rollback().await?;
                        return Ok(false);
                    }
                    sqlx::query(&t(event))
                        .bind(id)
                        .bind(event_kind)
                        .bind(f.status)
                        .bind(event_data)
                        .bind(f.finished_at)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(true)
                }
                .await
            });
            match res {
                Ok(done) => return Ok(done),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() && tries < 8 => {
                    tries += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Cancels a task nobody runs, or flags a running one for its worker.
    pub async fn request_cancel(&self, id: &str, error: &str) -> Result<CancelOutcome, StoreError> {
        let now = now_ms();
        let direct = "UPDATE tasks SET status = 'cancelled', cancel_requested = 1, \
                      error = $1, error_code = 'CANCELLED', finished_at = $2, updated_at = $2, \
                      lease_owner = '', lease_expires_at = 0 \
                      WHERE id = $3 AND status = 'pending' AND lease_expires_at < $2";
        let flag = format!(
            "UPDATE tasks SET cancel_requested = 1, updated_at = $1 \
             WHERE id = $2 AND status IN {OPEN}"
        );
        let (cancelled, flagged) = with_db!(self, |pool, t| {
            let cancelled = sqlx::query(&t(direct))
                .bind(error)
                .bind(now)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
                == 1;
            let flagged = !cancelled
                && sqlx::query(&t(&flag))
                    .bind(now)
                    .bind(id)
                    .execute(pool)
                    .await?
                    .rows_affected()
                    == 1;
            (cancelled, flagged)
        });
        if cancelled {
            return Ok(CancelOutcome::Cancelled);
        }
        if flagged {
            return Ok(CancelOutcome::Requested);
        }
        Ok(match self.get_task(id).await? {
            None => CancelOutcome::NotFound,
            Some(t) => CancelOutcome::AlreadyFinished(t.status),
        })
    }

    /// Appends an event with the task's next sequence number.
    pub async fn append_event(
        &self,
        task_id: &str,
        kind: &str,
        status: &str,
        step: Option<i64>,
        data: &str,
    ) -> Result<i64, StoreError> {
        let sql = "INSERT INTO events (task_id, seq, kind, status, step, data, created_at) \
                   SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6 \
                   FROM events WHERE task_id = $1 RETURNING seq";
        let mut tries = 0;
        loop {
            let res: Result<(i64,), sqlx::Error> = with_db!(self, |pool, t| {
                sqlx::query_as(&t(sql))
                    .bind(task_id)
                    .bind(kind)
                    .bind(status)
                    .bind(step)
                    .bind(data)
                    .bind(now_ms())
                    .fetch_one(pool)
                    .await
            });
            match res {
                Ok((seq,)) => return Ok(seq),
                // Two writers raced for the same sequence number; the loser takes the next.
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() && tries < 8 => {
                    tries += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    pub async fn events_after(&self, task_id: &str, seq: i64) -> Result<Vec<EventRow>, StoreError> {
        let sql = "SELECT task_id, seq, kind, status, step, data, created_at FROM events \
                   WHERE task_id = $1 AND seq > $2 ORDER BY seq";
        Ok(with_db!(self, |pool, t| {
            sqlx::query_as::<_, EventRow>(&t(sql))
                .bind(task_id)
                .bind(seq)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Tasks not yet finished (the queue depth, claimed or not).
    pub async fn open_tasks(&self) -> Result<i64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM tasks WHERE status IN {OPEN}");
        let (n,): (i64,) = with_db!(self, |pool, t| {
            sqlx::query_as(&t(&sql)).fetch_one(pool).await?
        });
        Ok(n)
    }
}
