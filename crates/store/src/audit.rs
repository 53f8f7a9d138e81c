//! The audit trail's storage: an append-only table of hash-chained records plus signed
//! checkpoints. Hashing and signing live in `chainops-auth`; this module only guarantees
//! that appends are serialized (the sequence number is the primary key, so two writers can
//! never both extend the same record).

use crate::series::decode_err;
use crate::{Result, Store, StoreError};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

/// One audit record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRow {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When, epoch ms.
    pub at_ms: i64,
    /// Who (user name, `token:<id>`, `cli:<os user>`).
    pub actor: String,
    /// Their role.
    pub role: String,
    /// Source address (`127.0.0.1:53122`, `local`).
    pub source: String,
    /// What, e.g. `silence.create`.
    pub action: String,
    /// On what, e.g. a silence id.
    pub target: String,
    /// `ok`, `denied`, `failed`, or an HTTP status.
    pub result: String,
    /// JSON details (never secrets).
    pub detail: String,
    /// Hash of the previous record (`0…0` for the first).
    pub prev_hash: String,
    /// Hash of this record.
    pub hash: String,
}

/// A signed checkpoint of the chain at `seq`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckpointRow {
    /// Last record covered.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
    /// When signed.
    pub at_ms: i64,
    /// Ed25519 public key (hex).
    pub public_key: String,
    /// Ed25519 signature (hex).
    pub signature: String,
}

const AUDIT_COLUMNS: &str =
    "seq, at_ms, actor, role, source, action, target, result, detail, prev_hash, hash";

fn audit(r: &AnyRow) -> Result<AuditRow> {
    Ok(AuditRow {
        seq: r.try_get(0).map_err(decode_err)?,
        at_ms: r.try_get(1).map_err(decode_err)?,
        actor: r.try_get(2).map_err(decode_err)?,
        role: r.try_get(3).map_err(decode_err)?,
        source: r.try_get(4).map_err(decode_err)?,
        action: r.try_get(5).map_err(decode_err)?,
        target: r.try_get(6).map_err(decode_err)?,
        result: r.try_get(7).map_err(decode_err)?,
        detail: r.try_get(8).map_err(decode_err)?,
        prev_hash: r.try_get(9).map_err(decode_err)?,
        hash: r.try_get(10).map_err(decode_err)?,
    })
}

impl Store {
    /// Appends a record built by `build(last_seq, last_hash)` in one transaction. A
    /// concurrent append wins the sequence number and this one is a
    /// [`StoreError::Conflict`] (retry it).
    pub async fn append_audit(
        &self,
        build: impl FnOnce(i64, Option<String>) -> AuditRow,
    ) -> Result<AuditRow> {
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(|e| StoreError::query("begin audit append", e))?;
        let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| StoreError::query("read audit head", e))?;
        let (seq, hash) = match last {
            Some(r) => (
                r.try_get::<i64, _>(0).map_err(decode_err)?,
                Some(r.try_get::<String, _>(1).map_err(decode_err)?),
            ),
            None => (0, None),
        };
        let row = build(seq, hash);
        let done = sqlx::query(
            "INSERT INTO audit_log (seq, at_ms, actor, role, source, action, target, result, detail, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (seq) DO NOTHING",
        )
        .bind(row.seq)
        .bind(row.at_ms)
        .bind(row.actor.as_str())
        .bind(row.role.as_str())
        .bind(row.source.as_str())
        .bind(row.action.as_str())
        .bind(row.target.as_str())
        .bind(row.result.as_str())
        .bind(row.detail.as_str())
        .bind(row.prev_hash.as_str())
        .bind(row.hash.as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::query("append audit record", e))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "audit record {} was appended concurrently",
                row.seq
            )));
        }
        tx.commit()
            .await
            .map_err(|e| StoreError::query("commit audit append", e))?;
        Ok(row)
    }

    /// Records matching `filter` (one parameter), oldest first, at most `limit`.
    async fn audit_where(&self, filter: &str, param: i64, limit: i64) -> Result<Vec<AuditRow>> {
        let sql =
            format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE {filter} ORDER BY seq LIMIT $2");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(param)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .map_err(|e| StoreError::query("read audit records", e))?
            .iter()
            .map(audit)
            .collect()
    }

    /// Records with `seq > after`, oldest first, at most `limit`.
    pub async fn audit_records(&self, after: i64, limit: i64) -> Result<Vec<AuditRow>> {
        self.audit_where("seq > $1", after, limit).await
    }

    /// Records at or after `since_ms`, oldest first, at most `limit`.
    pub async fn audit_records_since(&self, since_ms: i64, limit: i64) -> Result<Vec<AuditRow>> {
        self.audit_where("at_ms >= $1", since_ms, limit).await
    }

    /// The newest record written before `before_ms`, if any (retention's cut point).
    pub async fn last_audit_before(&self, before_ms: i64) -> Result<Option<AuditRow>> {
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE at_ms < $1 ORDER BY seq DESC LIMIT 1"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(before_ms)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| StoreError::query("read audit records", e))?
            .as_ref()
            .map(audit)
            .transpose()
    }

    /// The last record, if any.
    pub async fn audit_head(&self) -> Result<Option<AuditRow>> {
        let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT 1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_optional(self.pool())
            .await
            .map_err(|e| StoreError::query("read audit head", e))?
            .as_ref()
            .map(audit)
            .transpose()
    }

    /// Stores a checkpoint (one per sequence number).
    pub async fn add_checkpoint(&self, c: &CheckpointRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_checkpoints (seq, hash, at_ms, public_key, signature)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq) DO NOTHING",
        )
        .bind(c.seq)
        .bind(c.hash.as_str())
        .bind(c.at_ms)
        .bind(c.public_key.as_str())
        .bind(c.signature.as_str())
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(|e| StoreError::query("add audit checkpoint", e))
    }

    /// Every checkpoint, oldest first.
    pub async fn checkpoints(&self) -> Result<Vec<CheckpointRow>> {
        self.checkpoints_query("ORDER BY seq").await
    }

    /// The newest checkpoint (appends check it to decide whether another is due).
    pub async fn last_checkpoint(&self) -> Result<Option<CheckpointRow>> {
        Ok(self
            .checkpoints_query("ORDER BY seq DESC LIMIT 1")
            .await?
            .pop())
    }

    async fn checkpoints_query(&self, tail: &str) -> Result<Vec<CheckpointRow>> {
        let sql =
            format!("SELECT seq, hash, at_ms, public_key, signature FROM audit_checkpoints {tail}");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await
            .map_err(|e| StoreError::query("read audit checkpoints", e))?;
        rows.iter()
            .map(|r| {
                Ok(CheckpointRow {
                    seq: r.try_get(0).map_err(decode_err)?,
                    hash: r.try_get(1).map_err(decode_err)?,
                    at_ms: r.try_get(2).map_err(decode_err)?,
                    public_key: r.try_get(3).map_err(decode_err)?,
                    signature: r.try_get(4).map_err(decode_err)?,
                })
            })
            .collect()
    }

    /// Deletes records with `seq <= upto` (retention; the caller checkpoints `upto` first so
    /// the chain stays verifiable). Returns how many were deleted.
    pub async fn prune_audit(&self, upto: i64) -> Result<u64> {
        sqlx::query("DELETE FROM audit_log WHERE seq <= $1")
            .bind(upto)
            .execute(self.pool())
            .await
            .map(|d| d.rows_affected())
            .map_err(|e| StoreError::query("prune audit records", e))
    }
}
