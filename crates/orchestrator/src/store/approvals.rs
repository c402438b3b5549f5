//! Steps that wait for a person: the request, the decision, and the task
//! parked in between (SPEC §9.1).
//!
//! A task whose every runnable step waits is *parked*: its status is
//! `awaiting_approval` and no worker holds it. Its lease expiry is set to
//! the earliest request's expiry, so the ordinary claim picks it up when
//! a request lapses; a decision resets the expiry so the claim picks it up
//! at once. No worker sits idle for the hour a person may take, and a
//! restart loses nothing: the whole state is these rows.

use octollm_types::orchestrator::StepStatus;

use super::*;

impl Store {
    /// Each asked step's number, request and decision (JSON): what the
    /// runner rereads while a step waits, without the steps' outputs.
    pub async fn approvals(
        &self,
        id: &str,
    ) -> Result<Vec<(i64, String, Option<String>)>, StoreError> {
        let sql = "SELECT step, approval_request, approval_decision FROM steps \
                   WHERE task_id = $1 AND approval_request IS NOT NULL ORDER BY step";
        Ok(fetch!(self, fetch_all, sql, id))
    }

    /// Marks a pending step as waiting for approval, with what was asked.
    /// Fenced by the lease; false when it is gone.
    #[tracing::instrument(target = TARGET, name = "store.write", skip_all,
        fields(db.system = self.db_system(), db.operation.name = "request_approval"))]
    pub async fn request_approval(
        &self,
        id: &str,
        step: i64,
        owner: &str,
        request_json: &str,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE steps SET status = 'awaiting_approval', approval_request = $1 \
             WHERE task_id = $2 AND step = $3 AND status = 'pending' \
             AND EXISTS (SELECT 1 FROM tasks WHERE id = $2 AND lease_owner = $4 \
             AND status IN {OPEN})"
        );
        Ok(changed_one!(self, &sql, request_json, id, step, owner))
    }

    /// Gives the task up until a decision or `wake_at` (Unix ms), whichever
    /// comes first. Fenced by the lease; false when it is gone.
    #[tracing::instrument(target = TARGET, name = "store.write", skip_all,
        fields(db.system = self.db_system(), db.operation.name = "park"))]
    pub async fn park(&self, id: &str, owner: &str, wake_at: i64) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE tasks SET status = 'awaiting_approval', lease_owner = '', \
             lease_expires_at = $1, parked_at = $2, updated_at = $2 \
             WHERE id = $3 AND lease_owner = $4 AND status IN {OPEN}"
        );
        Ok(changed_one!(self, &sql, wake_at, now_ms(), id, owner))
    }

    /// Records a person's decision on a waiting step. An approved step goes
    /// back to `pending` and runs when a worker next looks; a rejected one
    /// stays put for the worker to fail. A parked task is woken either way.
    /// Only the first decision counts: a second finds the step decided.
    #[tracing::instrument(target = TARGET, name = "store.write", skip_all,
        fields(db.system = self.db_system(), db.operation.name = "decide"))]
    pub async fn decide(
        &self,
        id: &str,
        step: i64,
        decision_json: &str,
        approved: bool,
    ) -> Result<DecideOutcome, StoreError> {
        let decide = "UPDATE steps SET approval_decision = $1, \
                      status = CASE WHEN $2 THEN 'pending' ELSE status END \
                      WHERE task_id = $3 AND step = $4 AND status = 'awaiting_approval' \
                      AND approval_decision IS NULL";
        let wake = "UPDATE tasks SET lease_expires_at = 0 \
                    WHERE id = $1 AND status = 'awaiting_approval' AND lease_owner = ''";
        let decided = with_db!(self, |pool, t| {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(&t(decide))
                .bind(decision_json)
                .bind(approved)
                .bind(id)
                .bind(step)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 1 {
                sqlx::query(&t(wake)).bind(id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            n == 1
        });
        if decided {
            return Ok(DecideOutcome::Decided);
        }
        if self.get_task(id).await?.is_none() {
            return Ok(DecideOutcome::NoTask);
        }
        let sql = "SELECT * FROM steps WHERE task_id = $1 AND step = $2";
        let row: Option<StepRow> = fetch!(self, fetch_optional, sql, id, step);
        Ok(match row {
            None => DecideOutcome::NoStep,
            // Decided already, or not waiting at all: either way not now.
            Some(r) => DecideOutcome::NotWaiting(r.status()),
        })
    }

    /// Records that nobody decided in time, unless someone just did. Fenced
    /// by the lease; false when a decision won the race or the lease is gone.
    #[tracing::instrument(target = TARGET, name = "store.write", skip_all,
        fields(db.system = self.db_system(), db.operation.name = "expire_approval"))]
    pub async fn expire_approval(
        &self,
        id: &str,
        step: i64,
        owner: &str,
        decision_json: &str,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE steps SET approval_decision = $1 \
             WHERE task_id = $2 AND step = $3 AND status = 'awaiting_approval' \
             AND approval_decision IS NULL \
             AND EXISTS (SELECT 1 FROM tasks WHERE id = $2 AND lease_owner = $4 \
             AND status IN {OPEN})"
        );
        Ok(changed_one!(self, &sql, decision_json, id, step, owner))
    }

    /// Fails a step that was waiting (rejected or expired). Fenced by the
    /// lease; false when it is gone.
    #[tracing::instrument(target = TARGET, name = "store.write", skip_all,
        fields(db.system = self.db_system(), db.operation.name = "fail_waiting_step"))]
    pub async fn fail_waiting_step(
        &self,
        id: &str,
        step: i64,
        owner: &str,
        error: &str,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE steps SET status = $1, error = $2, finished_at = $3 \
             WHERE task_id = $4 AND step = $5 AND status = 'awaiting_approval' \
             AND EXISTS (SELECT 1 FROM tasks WHERE id = $4 AND lease_owner = $6 \
             AND status IN {OPEN})"
        );
        Ok(changed_one!(
            self,
            &sql,
            StepStatus::Failed.as_str(),
            error,
            now_ms(),
            id,
            step,
            owner
        ))
    }
}
