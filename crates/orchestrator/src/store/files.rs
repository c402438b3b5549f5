//! A task's input files and its artifacts (SPEC §9.2). Inputs are stored
//! with the task, in the same transaction; artifacts when the task ends,
//! under its lease, before the end itself is recorded.

use super::*;

/// An input file as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FileRow {
    pub name: String,
    pub content: Vec<u8>,
    pub size: i64,
    pub sha256: String,
}

/// An artifact as stored; `content` is `None` when it was skipped.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ArtifactRow {
    pub name: String,
    pub content: Option<Vec<u8>>,
    pub size: i64,
    pub sha256: String,
    pub media_type: String,
    pub redacted: i64,
    pub skipped: Option<String>,
}

impl Store {
    pub async fn get_files(&self, id: &str) -> Result<Vec<FileRow>, StoreError> {
        let sql = "SELECT name, content, size, sha256 FROM task_files \
                   WHERE task_id = $1 ORDER BY name";
        Ok(fetch!(self, fetch_all, sql, id))
    }

    /// The names of the task's files (without reading them).
    pub async fn file_names(&self, id: &str) -> Result<Vec<String>, StoreError> {
        let sql = "SELECT name FROM task_files WHERE task_id = $1 ORDER BY name";
        let rows: Vec<(String,)> = fetch!(self, fetch_all, sql, id);
        Ok(rows.into_iter().map(|(n,)| n).collect())
    }

    /// The artifacts' descriptions (without their bytes), by name.
    pub async fn list_artifacts(&self, id: &str) -> Result<Vec<ArtifactRow>, StoreError> {
        let sql = "SELECT name, NULL AS content, size, sha256, media_type, redacted, skipped \
                   FROM task_artifacts WHERE task_id = $1 ORDER BY name";
        Ok(fetch!(self, fetch_all, sql, id))
    }

    pub async fn get_artifact(
        &self,
        id: &str,
        name: &str,
    ) -> Result<Option<ArtifactRow>, StoreError> {
        let sql = "SELECT name, content, size, sha256, media_type, redacted, skipped \
                   FROM task_artifacts WHERE task_id = $1 AND name = $2";
        Ok(fetch!(self, fetch_optional, sql, id, name))
    }

    /// Stores the artifacts of a task that is ending, replacing any from an
    /// earlier attempt at ending it. Fenced by the lease; false when it is
    /// gone (nothing is written then). Every statement is a write that
    /// checks the lease itself: on SQLite a transaction that read first
    /// could not then write while other workers commit (SQLITE_BUSY_SNAPSHOT).
    #[tracing::instrument(target = TARGET, name = "store.write", skip_all,
        fields(db.system = self.db_system(), db.operation.name = "save_artifacts"))]
    pub async fn save_artifacts(
        &self,
        id: &str,
        owner: &str,
        rows: &[ArtifactRow],
    ) -> Result<bool, StoreError> {
        let held = format!(
            "EXISTS (SELECT 1 FROM tasks WHERE id = $1 AND lease_owner = $2 AND status IN {OPEN})"
        );
        let clear = format!("DELETE FROM task_artifacts WHERE task_id = $1 AND {held}");
        let insert = format!(
            "INSERT INTO task_artifacts \
             (task_id, name, content, size, sha256, media_type, redacted, skipped) \
             SELECT $1, $3, $4, $5, $6, $7, $8, $9 WHERE {held}"
        );
        Ok(with_db!(self, |pool, t| {
            let mut tx = pool.begin().await?;
            sqlx::query(&t(&clear))
                .bind(id)
                .bind(owner)
                .execute(&mut *tx)
                .await?;
            let mut kept = true;
            for a in rows {
                let n = sqlx::query(&t(&insert))
                    .bind(id)
                    .bind(owner)
                    .bind(&a.name)
                    .bind(&a.content)
                    .bind(a.size)
                    .bind(&a.sha256)
                    .bind(&a.media_type)
                    .bind(a.redacted)
                    .bind(&a.skipped)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n != 1 {
                    kept = false;
                    break;
                }
            }
            if kept {
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            kept
        }))
    }
}
