//! The queue protocol: claims, leases and the fenced writes that move a
//! claimed task through its statuses. Every write here checks the lease
//! owner, so a worker that lost its lease cannot overwrite its successor.

use octollm_types::task::TaskStatus;

use super::*;

impl Store {
    /// Claims the most urgent unfinished task that no live lease holds. A
    /// task parked for an approval comes back when it is decided (its
    /// lease expiry is reset) or when the request lapses (its expiry is the
    /// request's); the time it spent parked is added to its deadline.
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
                 updated_at = $3, deadline_at = deadline_at + COALESCE($3 - parked_at, 0), \
                 parked_at = NULL WHERE id = ({pick}{lock}) AND status IN {OPEN} \
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
        let row: Option<(i64,)> = fetch!(self, fetch_optional, &sql, until, id, owner);
        Ok(row.map(|(c,)| c != 0))
    }

    /// Gives the task back to the queue at once (graceful shutdown).
    pub async fn release(&self, id: &str, owner: &str) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE tasks SET lease_owner = '', lease_expires_at = 0 \
             WHERE id = $1 AND lease_owner = $2 AND status IN {OPEN}"
        );
        Ok(changed_one!(self, &sql, id, owner))
    }

    /// Moves a claimed task to `planning` or `executing`; false when the lease is gone.
    #[tracing::instrument(target = TARGET, name = "store.write", skip_all,
        fields(db.system = self.db_system(), db.operation.name = "set_status"))]
    pub async fn set_status(
        &self,
        id: &str,
        owner: &str,
        status: TaskStatus,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let sql = format!(
            "UPDATE tasks SET status = $1, updated_at = $2, started_at = COALESCE(started_at, $2) \
             WHERE id = $3 AND lease_owner = $4 AND status IN {OPEN}"
        );
        Ok(changed_one!(self, &sql, status.as_str(), now, id, owner))
    }

    /// Ends a claimed task, drops its lease and appends its last event in
    /// one transaction, so no reader sees the end without the event. False
    /// when the lease is gone.
    #[tracing::instrument(target = TARGET, name = "store.write", skip_all,
        fields(db.system = self.db_system(), db.operation.name = "finish_task"))]
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
                        .bind(f.status.as_str())
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
                        .bind(f.status.as_str())
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
}
