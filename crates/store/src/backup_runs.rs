//! Records of scheduled backup and restore-drill runs (one row per run, newest read first).

use crate::series::decode_err;
use crate::{Result, Store, StoreError};
use serde::Serialize;
use sqlx::Row;

/// One finished run of a `[[backups]]` job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackupRun {
    /// Job name.
    pub job: String,
    /// Node the job belongs to.
    pub node: String,
    /// `backup` or `drill`.
    pub kind: String,
    /// Start, epoch ms.
    pub started_ms: i64,
    /// End, epoch ms.
    pub finished_ms: i64,
    /// Whether it succeeded.
    pub ok: bool,
    /// Why it failed.
    pub error: Option<String>,
    /// Snapshot written (backup) or checked (drill).
    pub snapshot: Option<String>,
    /// Bytes of the source read.
    pub bytes_read: i64,
    /// New bytes added to the repository (before compression).
    pub bytes_added: i64,
    /// Files in the snapshot.
    pub files: i64,
    /// Kind-specific details (JSON object): forget/prune results, drill heights and hashes.
    pub detail: serde_json::Value,
}

const COLUMNS: &str = "job, node, kind, started_ms, finished_ms, ok, error, snapshot, bytes_read, bytes_added, files, detail";

fn decode(r: &sqlx::any::AnyRow) -> Result<BackupRun> {
    let detail: String = r.try_get(11).map_err(decode_err)?;
    Ok(BackupRun {
        job: r.try_get(0).map_err(decode_err)?,
        node: r.try_get(1).map_err(decode_err)?,
        kind: r.try_get(2).map_err(decode_err)?,
        started_ms: r.try_get(3).map_err(decode_err)?,
        finished_ms: r.try_get(4).map_err(decode_err)?,
        ok: r.try_get::<i64, _>(5).map_err(decode_err)? != 0,
        error: r.try_get(6).map_err(decode_err)?,
        snapshot: r.try_get(7).map_err(decode_err)?,
        bytes_read: r.try_get(8).map_err(decode_err)?,
        bytes_added: r.try_get(9).map_err(decode_err)?,
        files: r.try_get(10).map_err(decode_err)?,
        detail: serde_json::from_str(&detail).map_err(|e| StoreError::Corrupt {
            context: "backup_runs.detail",
            detail: e.to_string(),
        })?,
    })
}

impl Store {
    /// Records a finished run.
    pub async fn record_backup_run(&self, run: &BackupRun) -> Result<()> {
        let id = format!("{}-{}-{}", run.job, run.kind, run.started_ms);
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO backup_runs (id, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (id) DO NOTHING"
        )))
        .bind(id)
        .bind(run.job.as_str())
        .bind(run.node.as_str())
        .bind(run.kind.as_str())
        .bind(run.started_ms)
        .bind(run.finished_ms)
        .bind(i64::from(run.ok))
        .bind(run.error.as_deref())
        .bind(run.snapshot.as_deref())
        .bind(run.bytes_read)
        .bind(run.bytes_added)
        .bind(run.files)
        .bind(run.detail.to_string())
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(|e| StoreError::query("insert backup run", e))
    }

    /// The newest `limit` runs, of one job if given, newest first.
    pub async fn backup_runs(&self, job: Option<&str>, limit: i64) -> Result<Vec<BackupRun>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM backup_runs WHERE ($1 = '' OR job = $1) ORDER BY started_ms DESC, id DESC LIMIT $2"
        )))
        .bind(job.unwrap_or(""))
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(|e| StoreError::query("read backup runs", e))?;
        rows.iter().map(decode).collect()
    }

    /// The newest run of `job` of `kind` (`backup`/`drill`), successful only if `ok_only`.
    pub async fn last_backup_run(
        &self,
        job: &str,
        kind: &str,
        ok_only: bool,
    ) -> Result<Option<BackupRun>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM backup_runs WHERE job = $1 AND kind = $2 AND ok >= $3 ORDER BY started_ms DESC, id DESC LIMIT 1"
        )))
        .bind(job)
        .bind(kind)
        .bind(i64::from(ok_only))
        .fetch_optional(self.pool())
        .await
        .map_err(|e| StoreError::query("read last backup run", e))?;
        row.as_ref().map(decode).transpose()
    }
}
