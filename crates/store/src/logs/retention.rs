//! Retention: dropping whole blocks, rewriting the block that straddles a cut, and the
//! index documents whose rows are gone.

use super::block::RowRef;
use super::index::CHUNK;
use super::{FETCH_BLOCKS, readable};
use crate::series::decode_err;
use crate::{Result, Store, StoreError};
use sqlx::{Any, Row, Transaction};

/// Deletes block `id` (its index documents are the caller's).
async fn drop_block(tx: &mut Transaction<'static, Any>, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM log_blocks WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(|e| StoreError::query("delete a log block", e))?;
    Ok(())
}

impl Store {
    /// Deletes rows older than `before_ms` (and their index documents); returns how many.
    /// Blocks entirely older are dropped; a block straddling the cut is rewritten.
    pub async fn prune_logs_before(&self, before_ms: i64) -> Result<u64> {
        const CONTEXT: &str = "prune logs by age";
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(|e| StoreError::query(CONTEXT, e))?;
        let blocks = sqlx::query(
            "SELECT id, max_id, row_count, ts_max FROM log_blocks WHERE ts_min < $1 ORDER BY id",
        )
        .bind(before_ms)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| StoreError::query(CONTEXT, e))?;
        let mut deleted = 0u64;
        for r in &blocks {
            let id: i64 = r.try_get(0).map_err(decode_err)?;
            let max_id: i64 = r.try_get(1).map_err(decode_err)?;
            let count: i64 = r.try_get(2).map_err(decode_err)?;
            let ts_max: i64 = r.try_get(3).map_err(decode_err)?;
            if ts_max < before_ms {
                drop_block(&mut tx, id).await?;
                self.unindex(&mut tx, id, max_id, &[]).await?;
                deleted += count as u64;
                continue;
            }
            let data: Vec<u8> = sqlx::query_scalar("SELECT data FROM log_blocks WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| StoreError::query(CONTEXT, e))?;
            // A corrupt block is kept until all of it is older than the cut (above).
            let Some(b) = readable(id, &data) else {
                continue;
            };
            let kept: Vec<RowRef<'_>> = (0..b.len())
                .map(|i| b.row(i))
                .filter(|r| r.ts_ms >= before_ms)
                .collect();
            deleted += (b.len() - kept.len()) as u64;
            if kept.is_empty() {
                drop_block(&mut tx, id).await?;
            } else {
                self.write_block(&mut tx, id, &kept, true).await?;
            }
            let ids: Vec<i64> = kept.iter().map(|r| r.id).collect();
            self.unindex(&mut tx, id, max_id, &ids).await?;
        }
        tx.commit()
            .await
            .map_err(|e| StoreError::query(CONTEXT, e))?;
        Ok(deleted)
    }

    /// Deletes the index documents of block `[first, last]` whose chunk has no row in
    /// `kept` (sorted) any more.
    async fn unindex(
        &self,
        tx: &mut Transaction<'static, Any>,
        first: i64,
        last: i64,
        kept: &[i64],
    ) -> Result<()> {
        let key = self.index_key();
        let context = "drop log index documents";
        if kept.is_empty() {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM log_index WHERE {key} BETWEEN $1 AND $2"
            )))
            .bind(first)
            .bind(last)
            .execute(&mut **tx)
            .await
            .map_err(|e| StoreError::query(context, e))?;
            return Ok(());
        }
        let docs: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT {key} FROM log_index WHERE {key} BETWEEN $1 AND $2"
        )))
        .bind(first)
        .bind(last)
        .fetch_all(&mut **tx)
        .await
        .map_err(|e| StoreError::query(context, e))?;
        for doc in docs {
            let i = kept.partition_point(|&id| id < doc);
            if kept.get(i).is_none_or(|&id| id - doc >= CHUNK) {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM log_index WHERE {key} = $1"
                )))
                .bind(doc)
                .execute(&mut **tx)
                .await
                .map_err(|e| StoreError::query(context, e))?;
            }
        }
        Ok(())
    }

    /// Deletes the `n` oldest rows (by time; rows sharing the n-th oldest timestamp go
    /// too); returns how many.
    pub async fn prune_oldest_logs(&self, n: i64) -> Result<u64> {
        if n <= 0 {
            return Ok(0);
        }
        let heads = sqlx::query("SELECT row_count, ts_max FROM log_blocks ORDER BY ts_max, id")
            .fetch_all(self.pool())
            .await
            .map_err(|e| StoreError::query("prune logs by size", e))?;
        // The oldest blocks holding n rows end by `bound`; the n-th oldest row is among
        // the blocks that start by then.
        let mut seen = 0i64;
        let mut bound = i64::MAX;
        for r in &heads {
            seen += r.try_get::<i64, _>(0).map_err(decode_err)?;
            if seen >= n {
                bound = r.try_get(1).map_err(decode_err)?;
                break;
            }
        }
        if bound == i64::MAX {
            return self.prune_logs_before(i64::MAX).await;
        }
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM log_blocks WHERE ts_min <= $1")
            .bind(bound)
            .fetch_all(self.pool())
            .await
            .map_err(|e| StoreError::query("prune logs by size", e))?;
        let mut times: Vec<i64> = Vec::new();
        for part in ids.chunks(FETCH_BLOCKS) {
            for (id, data) in self.block_data(part.iter().copied()).await? {
                let Some(b) = readable(id, &data) else {
                    continue;
                };
                times.extend((0..b.len()).map(|i| b.ts(i)));
            }
        }
        times.sort_unstable();
        let nth = times.get(n as usize - 1).copied().unwrap_or(bound);
        self.prune_logs_before(nth.saturating_add(1)).await
    }
}
