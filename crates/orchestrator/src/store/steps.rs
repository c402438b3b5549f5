//! Plans and their steps: saved once, started and finished under the lease.

use octollm_types::orchestrator::StepStatus;

use super::*;

impl Store {
    /// Stores the plan and one pending row per step. Idempotent: a plan
    /// already stored for the task is kept.
    #[tracing::instrument(target = TARGET, name = "store.write", skip_all,
        fields(db.system = self.db_system(), db.operation.name = "save_plan"))]
    pub async fn save_plan(
        &self,
        id: &str,
        plan_json: &str,
        planner: &str,
        steps: &[NewStep],
    ) -> Result<(), StoreError> {
        let plan_sql = "INSERT INTO plans (task_id, plan, planner, created_at) \
                        VALUES ($1, $2, $3, $4) ON CONFLICT (task_id) DO NOTHING";
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
                insert_pending_steps!(tx, t, id, steps);
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The task's current plan: its latest revision, else its first plan.
    pub async fn get_plan(&self, id: &str) -> Result<Option<String>, StoreError> {
        let sql = "SELECT plan FROM (SELECT plan, revision FROM plan_revisions \
                   WHERE task_id = $1 UNION ALL SELECT plan, -1 AS revision FROM plans \
                   WHERE task_id = $1) AS p ORDER BY revision DESC LIMIT 1";
        let row: Option<(String,)> = fetch!(self, fetch_optional, sql, id);
        Ok(row.map(|(p,)| p))
    }

    pub async fn get_steps(&self, id: &str) -> Result<Vec<StepRow>, StoreError> {
        let sql = "SELECT * FROM steps WHERE task_id = $1 ORDER BY step";
        Ok(fetch!(self, fetch_all, sql, id))
    }

    /// Marks a step running for `owner`. `None` when the step is already
    /// finished or the lease is gone: the one guard that keeps a finished
    /// step from ever running again. Otherwise the attempt number.
    #[tracing::instrument(target = TARGET, name = "store.write", skip_all,
        fields(db.system = self.db_system(), db.operation.name = "start_step"))]
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
        let row: Option<(i64,)> = fetch!(self, fetch_optional, &sql, now_ms(), owner, id, step);
        Ok(row.map(|(a,)| a))
    }

    /// Records a step's end; false when the lease is gone.
    #[tracing::instrument(target = TARGET, name = "store.write", skip_all,
        fields(db.system = self.db_system(), db.operation.name = "finish_step"))]
    pub async fn finish_step(
        &self,
        id: &str,
        step: i64,
        owner: &str,
        f: &StepFinish,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE steps SET status = $1, output = $2, display_output = $3, error = $4, \
             provenance = $5, finished_at = $6, duration_ms = $7, stderr = $11 \
             WHERE task_id = $8 AND step = $9 AND status = 'running' AND run_by = $10 \
             AND EXISTS (SELECT 1 FROM tasks WHERE id = $8 AND lease_owner = $10 \
             AND status IN {OPEN})"
        );
        Ok(changed_one!(
            self,
            &sql,
            f.status.as_str(),
            &f.output,
            &f.display_output,
            &f.error,
            &f.provenance,
            f.finished_at,
            f.duration_ms,
            id,
            step,
            owner,
            &f.stderr
        ))
    }

    /// Ends whatever is still open of a task's steps: running ones and
    /// those waiting for approval get `running_status`, pending ones are
    /// skipped. Fenced by the lease: a
    /// worker that lost the task must not close the steps (perhaps of a
    /// revised plan) its new owner is about to run.
    #[tracing::instrument(target = TARGET, name = "store.write", skip_all,
        fields(db.system = self.db_system(), db.operation.name = "close_open_steps"))]
    pub async fn close_open_steps(
        &self,
        id: &str,
        owner: &str,
        running_status: StepStatus,
        error: &str,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let running = "UPDATE steps SET status = $1, error = $2, finished_at = $3, \
                       duration_ms = $3 - COALESCE(started_at, $3) \
                       WHERE task_id = $4 AND status IN ('running', 'awaiting_approval') \
                       AND EXISTS (SELECT 1 FROM tasks WHERE id = $4 AND lease_owner = $5)";
        let pending = "UPDATE steps SET status = 'skipped', finished_at = $1 \
                       WHERE task_id = $2 AND status = 'pending' \
                       AND EXISTS (SELECT 1 FROM tasks WHERE id = $2 AND lease_owner = $3)";
        with_db!(self, |pool, t| {
            sqlx::query(&t(running))
                .bind(running_status.as_str())
                .bind(error)
                .bind(now)
                .bind(id)
                .bind(owner)
                .execute(pool)
                .await?;
            sqlx::query(&t(pending))
                .bind(now)
                .bind(id)
                .bind(owner)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
