//! Plan revisions: a failed plan replaced by a revised one under the
//! lease, its finished steps carried over and the rest rewritten, in one
//! transaction so a crash leaves either the old plan or the new one.

use super::*;

/// A revision as stored (revision 0 is the first plan, from `plans`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RevisionRow {
    pub revision: i64,
    pub plan: String,
    pub planner: String,
    /// The task error document that asked for it; "" for revision 0.
    pub reason: String,
    pub kept_steps: String,
    pub created_at: i64,
}

/// A revision to store.
#[derive(Debug, Clone)]
pub struct NewRevision<'a> {
    pub revision: i64,
    pub plan_json: &'a str,
    pub planner: &'a str,
    pub reason_json: &'a str,
    /// Finished steps of the old plan that stay, unrun.
    pub kept: &'a [i64],
}

impl Store {
    /// Every plan of the task, oldest first.
    pub async fn plan_history(&self, id: &str) -> Result<Vec<RevisionRow>, StoreError> {
        let sql = "SELECT 0 AS revision, plan, planner, '' AS reason, '[]' AS kept_steps, \
                   created_at FROM plans WHERE task_id = $1 \
                   UNION ALL SELECT revision, plan, planner, reason, kept_steps, created_at \
                   FROM plan_revisions WHERE task_id = $1 ORDER BY revision";
        Ok(fetch!(self, fetch_all, sql, id))
    }

    /// How many times the task's plan was revised.
    pub async fn revisions(&self, id: &str) -> Result<i64, StoreError> {
        let sql = "SELECT COUNT(*) FROM plan_revisions WHERE task_id = $1";
        let (n,): (i64,) = fetch!(self, fetch_one, sql, id);
        Ok(n)
    }

    /// Replaces the task's steps with `steps`, keeping the finished ones in
    /// `rev.kept`, and records the revision. False when the lease is gone
    /// (or this revision was already written): nothing is changed then.
    #[tracing::instrument(target = TARGET, name = "store.write", skip_all,
        fields(db.system = self.db_system(), db.operation.name = "revise_plan"))]
    pub async fn revise_plan(
        &self,
        id: &str,
        owner: &str,
        rev: &NewRevision<'_>,
        steps: &[NewStep],
    ) -> Result<bool, StoreError> {
        let fence = format!(
            "UPDATE tasks SET updated_at = $1 WHERE id = $2 AND lease_owner = $3 \
             AND status IN {OPEN}"
        );
        let record = "INSERT INTO plan_revisions (task_id, revision, plan, planner, reason, \
                      kept_steps, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                      ON CONFLICT (task_id, revision) DO NOTHING";
        let existing = "SELECT step FROM steps WHERE task_id = $1";
        let drop_step = "DELETE FROM steps WHERE task_id = $1 AND step = $2";
        let kept_json = serde_json::to_string(rev.kept)?;
        let now = now_ms();
        with_db!(self, |pool, t| {
            let mut tx = pool.begin().await?;
            let fenced = sqlx::query(&t(&fence))
                .bind(now)
                .bind(id)
                .bind(owner)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            let recorded = fenced
                && sqlx::query(&t(record))
                    .bind(id)
                    .bind(rev.revision)
                    .bind(rev.plan_json)
                    .bind(rev.planner)
                    .bind(rev.reason_json)
                    .bind(&kept_json)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
            if !recorded {
                tx.rollback().await?;
                return Ok(false);
            }
            let old: Vec<(i64,)> = sqlx::query_as(&t(existing))
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
            for (step,) in old.into_iter().filter(|(s,)| !rev.kept.contains(s)) {
                sqlx::query(&t(drop_step))
                    .bind(id)
                    .bind(step)
                    .execute(&mut *tx)
                    .await?;
            }
            insert_pending_steps!(
                tx,
                t,
                id,
                steps.iter().filter(|s| !rev.kept.contains(&s.step))
            );
            tx.commit().await?;
        });
        Ok(true)
    }
}
