//! The write path: rows become blocks (or are appended to the newest small block) and
//! their chunks' index documents, in the caller's transaction.

use super::block::{self, RowRef};
use super::index::{CHUNK, DocBuilder};
use super::{APPEND_BELOW, BLOCK_ROWS, LogPosition, NAME_SEP, NewLog, compress_err, readable};
use crate::series::decode_err;
use crate::{Result, Store, StoreError};
use sqlx::{Any, Row, Transaction};

/// `\x1fa\x1fb\x1f` for the distinct names `pick` returns, in first-seen order.
fn name_list<'a>(rows: &[RowRef<'a>], pick: impl Fn(&RowRef<'a>) -> &'a str) -> String {
    let mut names: Vec<&str> = Vec::new();
    for r in rows {
        let name = pick(r);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let mut out = String::from(NAME_SEP);
    for name in names {
        out.push_str(name);
        out.push(NAME_SEP);
    }
    out
}

impl Store {
    /// Inserts rows and (optionally) the source's new read position in one transaction.
    pub async fn insert_logs(
        &self,
        rows: &[NewLog],
        position: Option<&LogPosition>,
        now_ms: i64,
    ) -> Result<()> {
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(|e| StoreError::query("begin log insert", e))?;
        if !rows.is_empty() {
            // Reserving the ids is the transaction's first write: it serializes writers.
            let n = rows.len() as i64;
            let next: i64 = sqlx::query_scalar(
                "UPDATE log_seq SET next_id = next_id + $1 WHERE one = 1 RETURNING next_id",
            )
            .bind(n)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| StoreError::query("reserve log ids", e))?;
            let first = next - n;
            let new: Vec<RowRef<'_>> = rows
                .iter()
                .zip(first..)
                .map(|(r, id)| r.with_id(id))
                .collect();
            self.append_rows(&mut tx, &new).await?;
        }
        if let Some(p) = position {
            sqlx::query(
                "INSERT INTO log_positions (source, file_id, byte_offset, updated_ms) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (source) DO UPDATE SET file_id = excluded.file_id,
                    byte_offset = excluded.byte_offset, updated_ms = excluded.updated_ms",
            )
            .bind(p.source.as_str())
            .bind(p.file_id.as_str())
            .bind(p.offset)
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::query("save log position", e))?;
        }
        tx.commit()
            .await
            .map_err(|e| StoreError::query("commit logs", e))
    }

    /// Stores rows whose ids are above every stored id: appended to the newest block when
    /// both are small, else as new blocks; then indexes them.
    async fn append_rows(
        &self,
        tx: &mut Transaction<'static, Any>,
        new: &[RowRef<'_>],
    ) -> Result<()> {
        let tail = if (new.len() as i64) < APPEND_BELOW {
            sqlx::query("SELECT id, row_count, data FROM log_blocks ORDER BY max_id DESC LIMIT 1")
                .fetch_optional(&mut **tx)
                .await
                .map_err(|e| StoreError::query("read newest log block", e))?
        } else {
            None
        };
        let mut appended = false;
        if let Some(t) = tail {
            let id: i64 = t.try_get(0).map_err(decode_err)?;
            let count: i64 = t.try_get(1).map_err(decode_err)?;
            if count < APPEND_BELOW {
                let data: Vec<u8> = t.try_get(2).map_err(decode_err)?;
                // A corrupt newest block is left as it is; the rows start a new one.
                if let Some(old) = readable(id, &data) {
                    let mut all: Vec<RowRef<'_>> = (0..old.len()).map(|i| old.row(i)).collect();
                    all.extend_from_slice(new);
                    self.write_block(tx, id, &all, true).await?;
                    appended = true;
                }
            }
        }
        if !appended {
            for rows in new.chunks(BLOCK_ROWS) {
                self.write_block(tx, rows[0].id, rows, false).await?;
            }
        }
        self.index_rows(tx, new).await
    }

    /// Writes (or, with `replace`, rewrites) block `id` holding `rows` (ids ascending).
    pub(super) async fn write_block(
        &self,
        tx: &mut Transaction<'static, Any>,
        id: i64,
        rows: &[RowRef<'_>],
        replace: bool,
    ) -> Result<()> {
        let data = block::encode(rows).map_err(compress_err)?;
        let min = |f: fn(&RowRef<'_>) -> i64| rows.iter().map(f).min().unwrap_or(0);
        let max = |f: fn(&RowRef<'_>) -> i64| rows.iter().map(f).max().unwrap_or(0);
        let sql = if replace {
            "UPDATE log_blocks SET min_id = $2, max_id = $3, row_count = $4, ts_min = $5, ts_max = $6,
                level_min = $7, level_max = $8, nodes = $9, chains = $10, data = $11 WHERE id = $1"
        } else {
            "INSERT INTO log_blocks (id, min_id, max_id, row_count, ts_min, ts_max, level_min,
                level_max, nodes, chains, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        };
        sqlx::query(sql)
            .bind(id)
            .bind(min(|r| r.id))
            .bind(max(|r| r.id))
            .bind(rows.len() as i64)
            .bind(min(|r| r.ts_ms))
            .bind(max(|r| r.ts_ms))
            .bind(min(|r| r.level))
            .bind(max(|r| r.level))
            .bind(name_list(rows, |r| r.node))
            .bind(name_list(rows, |r| r.chain))
            .bind(data)
            .execute(&mut **tx)
            .await
            .map_err(|e| StoreError::query("write log block", e))?;
        Ok(())
    }

    /// Writes the index documents of `rows` (consecutive ids of one block): one per run of
    /// rows within [`CHUNK`] of the run's first id.
    pub(super) async fn index_rows(
        &self,
        tx: &mut Transaction<'static, Any>,
        rows: &[RowRef<'_>],
    ) -> Result<()> {
        let mut docs: Vec<(i64, String)> = Vec::new();
        let mut builder = DocBuilder::new(self.doc_kind());
        let mut first: Option<i64> = None;
        for r in rows {
            if let Some(f) = first
                && r.id - f >= CHUNK
            {
                docs.push((f, builder.take()));
                first = None;
            }
            first.get_or_insert(r.id);
            builder.add(r.message);
            builder.add(r.fields);
        }
        if let Some(f) = first {
            docs.push((f, builder.take()));
        }
        let key = self.index_key();
        for part in docs.chunks(500) {
            let mut sql = format!("INSERT INTO log_index ({key}, doc) VALUES ");
            for i in 0..part.len() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("(${}, ${})", 2 * i + 1, 2 * i + 2));
            }
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (first, doc) in part {
                q = q.bind(*first).bind(doc.as_str());
            }
            q.execute(&mut **tx)
                .await
                .map_err(|e| StoreError::query("index logs", e))?;
        }
        Ok(())
    }
}
