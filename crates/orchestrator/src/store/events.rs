//! The per-task event log behind the SSE streams.

use super::*;

impl Store {
    /// Appends an event with the task's next sequence number.
    #[tracing::instrument(target = TARGET, name = "store.write", skip_all,
        fields(db.system = self.db_system(), db.operation.name = "append_event"))]
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
        Ok(fetch!(self, fetch_all, sql, task_id, seq))
    }
}
