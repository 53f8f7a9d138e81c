//! Node logs: rows stored in compressed blocks (`block.rs`), a full-text index over chunks
//! of rows (`index.rs`: SQLite FTS5, PostgreSQL `pg_trgm`), read positions written in the
//! same transaction as the rows they cover (so a restart neither loses nor repeats a line),
//! and retention by age and size.
//!
//! A batch of rows becomes blocks of up to 1,024 rows (one B-tree insert each; `write.rs`);
//! small batches (live tails) are appended to the newest block while it is small. Each
//! block's header (id range, time range, level range, nodes, chains) lets a search skip it
//! without decompressing; rows are filtered in Rust and returned newest first
//! (`search.rs`). `retention.rs` drops and rewrites blocks; `legacy.rs` converts the row
//! table of schema 6–7.

mod block;
mod index;
mod legacy;
mod retention;
mod search;
mod write;

pub(crate) use legacy::convert_legacy;

use crate::series::decode_err;
use crate::{Backend, Result, Store, StoreError};
use block::{Block, RowRef};
use index::DocKind;
use serde::Serialize;
use sqlx::Row;

/// A log row to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLog {
    /// Time, epoch ms.
    pub ts_ms: i64,
    /// Node name.
    pub node: String,
    /// Chain name.
    pub chain: String,
    /// Level number (0 trace … 5 fatal).
    pub level: i64,
    /// Message (already redacted).
    pub message: String,
    /// Fields as a JSON object (already redacted).
    pub fields: String,
    /// Source id (file path, `managed`, `push`, `import`).
    pub source: String,
}

/// A stored log row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogRow {
    /// Row id (increases with ingest order).
    pub id: i64,
    /// Time, epoch ms.
    pub ts_ms: i64,
    /// Node.
    pub node: String,
    /// Chain.
    pub chain: String,
    /// Level number.
    pub level: i64,
    /// Message.
    pub message: String,
    /// Fields (JSON object text).
    pub fields: String,
    /// Source id.
    pub source: String,
}

/// Where a source was read up to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPosition {
    /// Source id.
    pub source: String,
    /// Identity of the file (device:inode) the offset refers to.
    pub file_id: String,
    /// Byte offset of the first unread byte.
    pub offset: i64,
}

/// A search.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogQuery {
    /// From (inclusive), epoch ms.
    pub from_ms: i64,
    /// To (exclusive), epoch ms.
    pub to_ms: i64,
    /// Only these nodes (empty: all).
    pub nodes: Vec<String>,
    /// Only these chains (empty: all).
    pub chains: Vec<String>,
    /// Lowest level number.
    pub min_level: Option<i64>,
    /// Highest level number.
    pub max_level: Option<i64>,
    /// Field equalities.
    pub fields: Vec<(String, String)>,
    /// Substrings that must all occur (case-insensitive).
    pub text: Vec<String>,
    /// Paging: only rows older than this `(ts_ms, id)`.
    pub before: Option<(i64, i64)>,
    /// Page size.
    pub limit: i64,
}

/// Rows per block at most.
const BLOCK_ROWS: usize = 1024;
/// Small batches are appended to the newest block while it holds fewer rows than this
/// (bounds the rewrite a live tail's small batches cost).
const APPEND_BELOW: i64 = 256;
/// Block headers read per step of a search.
const HEADER_PAGE: i64 = 256;
/// Blocks decompressed per round trip of a search.
const FETCH_BLOCKS: usize = 16;
/// Index matches beyond this are not listed: the search then rechecks every row of the
/// blocks it reads (a term this common finds its newest rows in the first blocks anyway).
const MAX_CHUNK_MATCHES: i64 = 50_000;
/// Up to this many matching chunks, their blocks are looked up directly instead of paging
/// through every block header in the time range.
const DIRECT_LOOKUP: usize = 512;

/// Separator around the names in a block's `nodes`/`chains` header (`\x1fa\x1fb\x1f`).
const NAME_SEP: char = '\u{1f}';

impl NewLog {
    /// The row as the block codec takes it, with its id.
    fn with_id(&self, id: i64) -> RowRef<'_> {
        RowRef {
            id,
            ts_ms: self.ts_ms,
            level: self.level,
            node: &self.node,
            chain: &self.chain,
            source: &self.source,
            message: &self.message,
            fields: &self.fields,
        }
    }
}

impl From<RowRef<'_>> for LogRow {
    fn from(r: RowRef<'_>) -> LogRow {
        LogRow {
            id: r.id,
            ts_ms: r.ts_ms,
            node: r.node.to_string(),
            chain: r.chain.to_string(),
            level: r.level,
            message: r.message.to_string(),
            fields: r.fields.to_string(),
            source: r.source.to_string(),
        }
    }
}

/// Decodes block `id`; a corrupt block is logged and skipped (`None`), so one damaged
/// block neither fails every search nor stops ingest. Retention drops it once its newest
/// time is past the cut.
fn readable(id: i64, data: &[u8]) -> Option<Block> {
    match Block::decode(data) {
        Ok(b) => Some(b),
        Err(e) => {
            tracing::warn!(block = id, error = e, "skipping a corrupt log block");
            None
        }
    }
}

fn compress_err(e: std::io::Error) -> StoreError {
    StoreError::Io {
        context: "compressing a log block".into(),
        source: e,
    }
}

impl Store {
    /// What this backend's index documents hold.
    fn doc_kind(&self) -> DocKind {
        match self.backend() {
            Backend::Sqlite => DocKind::Trigrams,
            Backend::Postgres => DocKind::Words,
        }
    }

    /// The column of `log_index` holding a document's first row id.
    fn index_key(&self) -> &'static str {
        match self.backend() {
            Backend::Sqlite => "rowid",
            Backend::Postgres => "first_id",
        }
    }

    /// The saved read position of `source`.
    pub async fn log_position(&self, source: &str) -> Result<Option<LogPosition>> {
        let r =
            sqlx::query("SELECT source, file_id, byte_offset FROM log_positions WHERE source = $1")
                .bind(source)
                .fetch_optional(self.pool())
                .await
                .map_err(|e| StoreError::query("read log position", e))?;
        r.map(|r| {
            Ok(LogPosition {
                source: r.try_get(0).map_err(decode_err)?,
                file_id: r.try_get(1).map_err(decode_err)?,
                offset: r.try_get(2).map_err(decode_err)?,
            })
        })
        .transpose()
    }

    /// Highest row id (0 when empty).
    pub async fn last_log_id(&self) -> Result<i64> {
        let v: Option<i64> = sqlx::query_scalar("SELECT MAX(max_id) FROM log_blocks")
            .fetch_one(self.pool())
            .await
            .map_err(|e| StoreError::query("read last log id", e))?;
        Ok(v.unwrap_or(0))
    }

    /// Number of full-text index documents (for diagnostics and tests).
    pub async fn log_index_documents(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM log_index")
            .fetch_one(self.pool())
            .await
            .map_err(|e| StoreError::query("count log index documents", e))
    }

    /// Number of row blocks (for diagnostics and tests).
    pub async fn log_block_count(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM log_blocks")
            .fetch_one(self.pool())
            .await
            .map_err(|e| StoreError::query("count log blocks", e))
    }

    /// Number of stored rows.
    pub async fn count_logs(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT CAST(COALESCE(SUM(row_count), 0) AS BIGINT) FROM log_blocks")
            .fetch_one(self.pool())
            .await
            .map_err(|e| StoreError::query("count logs", e))
    }

    /// Bytes the log blocks and their index take (PostgreSQL), or the whole database file
    /// (SQLite, where tables share pages).
    pub async fn logs_size_bytes(&self) -> Result<i64> {
        let sql = match self.backend() {
            Backend::Sqlite => {
                "SELECT (SELECT page_count FROM pragma_page_count()) * (SELECT page_size FROM pragma_page_size())"
            }
            Backend::Postgres => {
                "SELECT (pg_total_relation_size('log_blocks') + pg_total_relation_size('log_index'))::BIGINT"
            }
        };
        sqlx::query_scalar(sql)
            .fetch_one(self.pool())
            .await
            .map_err(|e| StoreError::query("measure log size", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize, ts: i64, word: &str) -> Vec<NewLog> {
        (0..n)
            .map(|i| NewLog {
                ts_ms: ts + i as i64,
                node: "geth-1".into(),
                chain: "dev".into(),
                level: 2,
                message: format!("{word} line {i}"),
                fields: "{}".into(),
                source: "test".into(),
            })
            .collect()
    }

    /// A damaged block is skipped with a warning: the other blocks stay searchable, ingest
    /// goes on in a new block, and retention removes the damaged one once it is all old.
    #[tokio::test]
    async fn a_corrupt_block_is_skipped_not_fatal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&format!("sqlite://{}/c.db", dir.path().display()))
            .await
            .expect("open");
        store
            .insert_logs(&rows(300, 1_000, "older"), None, 0)
            .await
            .expect("insert");
        store
            .insert_logs(&rows(10, 5_000, "newer"), None, 0)
            .await
            .expect("insert");
        assert_eq!(store.log_block_count().await.expect("blocks"), 2);
        sqlx::query(
            "UPDATE log_blocks SET data = X'01FFFF' WHERE id = (SELECT MAX(id) FROM log_blocks)",
        )
        .execute(store.pool())
        .await
        .expect("corrupt the newest block");
        let q = |t: &str| LogQuery {
            from_ms: 0,
            to_ms: i64::MAX,
            text: vec![t.into()],
            limit: 1000,
            ..LogQuery::default()
        };
        assert_eq!(
            store.search_logs(&q("older")).await.expect("search").len(),
            300
        );
        assert!(
            store
                .search_logs(&q("newer"))
                .await
                .expect("search")
                .is_empty()
        );
        store
            .insert_logs(&rows(5, 9_000, "latest"), None, 0)
            .await
            .expect("insert after");
        assert_eq!(
            store.search_logs(&q("latest")).await.expect("search").len(),
            5
        );
        assert_eq!(store.logs_after(0, 1000).await.expect("tail").len(), 305);
        store.prune_logs_before(6_000).await.expect("prune");
        assert_eq!(store.log_block_count().await.expect("blocks"), 1);
    }
}
