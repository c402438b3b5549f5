//! Erasing tasks: one on request, or every finished one older than a
//! cutoff. A task's plan, steps, events, plan revisions, input files and
//! artifacts go with it (`ON DELETE CASCADE` in both schemas), and so does
//! its place in the result cache, which is the finished task row itself.

use super::*;

/// What an erasure request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EraseOutcome {
    Erased,
    NotFound,
    /// The task has not ended: it must be cancelled first, so no worker
    /// writes to rows that are gone.
    NotFinished(String),
}

impl Store {
    /// Erases a finished task and everything derived from it.
    #[tracing::instrument(target = TARGET, name = "store.write", skip_all,
        fields(db.system = self.db_system(), db.operation.name = "erase_task"))]
    pub async fn erase_task(&self, id: &str) -> Result<EraseOutcome, StoreError> {
        let sql = format!("DELETE FROM tasks WHERE id = $1 AND status NOT IN {OPEN}");
        if changed_one!(self, &sql, id) {
            return Ok(EraseOutcome::Erased);
        }
        Ok(match self.get_task(id).await? {
            None => EraseOutcome::NotFound,
            Some(t) => EraseOutcome::NotFinished(t.status),
        })
    }

    /// Erases every task that ended before `cutoff_ms`; how many.
    pub async fn erase_finished_before(&self, cutoff_ms: i64) -> Result<u64, StoreError> {
        let sql = format!(
            "DELETE FROM tasks WHERE status NOT IN {OPEN} \
             AND COALESCE(finished_at, updated_at) < $1"
        );
        Ok(with_db!(self, |pool, t| {
            sqlx::query(&t(&sql))
                .bind(cutoff_ms)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }
}
