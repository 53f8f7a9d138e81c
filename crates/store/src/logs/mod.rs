//! Node logs: rows stored in compressed blocks ([`block`]), a full-text index over chunks
//! of rows ([`index`]: SQLite FTS5, PostgreSQL `pg_trgm`), read positions written in the
//! same transaction as the rows they cover (so a restart neither loses nor repeats a line),
//! and retention by age and size.
//!
//! A batch of rows becomes blocks of up to [`BLOCK_ROWS`] rows (one B-tree insert each);
//! small batches (live tails) are appended to the newest block while it is small. Each
//! block's header (id range, time range, level range, nodes, chains) lets a search skip it
//! without decompressing; rows are filtered in Rust and returned newest first.

mod block;
mod index;
mod legacy;

pub(crate) use legacy::convert_legacy;

use crate::series::decode_err;
use crate::{Backend, Result, Store, StoreError};
use block::{Block, RowRef};
use index::{CHUNK, DocBuilder, DocKind, Needle};
use serde::Serialize;
use sqlx::{Any, Row, Transaction};

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

/// A block's header as searches read it.
struct Header {
    id: i64,
    max_id: i64,
    ts_max: i64,
}

/// Search filters applied to each decoded row.
struct RowFilter<'q> {
    q: &'q LogQuery,
    needles: Vec<Needle>,
}

impl RowFilter<'_> {
    fn keeps(&self, r: &RowRef<'_>) -> bool {
        let q = self.q;
        if r.ts_ms < q.from_ms || r.ts_ms >= q.to_ms {
            return false;
        }
        if q.min_level.is_some_and(|l| r.level < l) || q.max_level.is_some_and(|l| r.level > l) {
            return false;
        }
        if !q.nodes.is_empty() && !q.nodes.iter().any(|n| n == r.node) {
            return false;
        }
        if !q.chains.is_empty() && !q.chains.iter().any(|c| c == r.chain) {
            return false;
        }
        if let Some((ts, id)) = q.before
            && !(r.ts_ms < ts || (r.ts_ms == ts && r.id < id))
        {
            return false;
        }
        if !q.fields.is_empty() {
            let Ok(map) =
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(r.fields)
            else {
                return false;
            };
            let equal = |(k, v): &(String, String)| match map.get(k) {
                Some(serde_json::Value::String(s)) => s == v,
                Some(serde_json::Value::Null) | None => false,
                Some(other) => {
                    let text = other.to_string();
                    text == *v
                }
            };
            if !q.fields.iter().all(equal) {
                return false;
            }
        }
        if !self.needles.is_empty() {
            let hay = format!("{} {}", r.message, r.fields);
            if !self.needles.iter().all(|n| n.found_in(&hay)) {
                return false;
            }
        }
        true
    }
}

/// Whether `id` lies in one of the chunks starting at `starts` (sorted).
fn in_chunks(starts: &[i64], id: i64) -> bool {
    let i = starts.partition_point(|&s| s <= id);
    i > 0 && id - starts[i - 1] < CHUNK
}

/// Orders rows newest first and keeps `limit`.
fn newest_first(rows: &mut Vec<LogRow>, limit: usize) {
    rows.sort_unstable_by_key(|r| std::cmp::Reverse((r.ts_ms, r.id)));
    rows.truncate(limit);
}

impl Store {
    fn doc_kind(&self) -> DocKind {
        match self.backend() {
            Backend::Sqlite => DocKind::Trigrams,
            Backend::Postgres => DocKind::Words,
        }
    }

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
    async fn write_block(
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
    async fn index_rows(
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
        let key = match self.backend() {
            Backend::Sqlite => "rowid",
            Backend::Postgres => "first_id",
        };
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

    /// First row ids of the index chunks matching every needle (in no particular order), at
    /// most `cap` (a full list means there may be more). Not ordered on purpose: FTS5 reads
    /// doclists backwards several times slower.
    async fn matching_chunks(&self, needles: &[String], cap: i64) -> Result<Vec<i64>> {
        let sql = match self.backend() {
            Backend::Sqlite => {
                "SELECT rowid FROM log_index WHERE log_index MATCH $1 LIMIT $2".to_string()
            }
            Backend::Postgres => {
                let likes: Vec<String> = (0..needles.len())
                    .map(|i| format!("doc ILIKE ${} ESCAPE '\\'", i + 2))
                    .collect();
                format!(
                    "SELECT first_id FROM log_index WHERE {} LIMIT $1",
                    likes.join(" AND ")
                )
            }
        };
        let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
        match self.backend() {
            Backend::Sqlite => q = q.bind(needles.join(" ")).bind(cap),
            Backend::Postgres => {
                q = q.bind(cap);
                for n in needles {
                    q = q.bind(like_pattern(n));
                }
            }
        }
        q.fetch_all(self.pool())
            .await
            .map_err(|e| StoreError::query("search log index", e))
    }

    /// Searches, newest first. Terms of 3+ characters narrow the blocks to read through the
    /// index; every row read is rechecked against all filters, so results are exact.
    pub async fn search_logs(&self, q: &LogQuery) -> Result<Vec<LogRow>> {
        let limit = q.limit.clamp(1, 10_000) as usize;
        let kind = self.doc_kind();
        let mut index_terms: Vec<String> = q
            .text
            .iter()
            .flat_map(|t| index::query_needles(t, kind))
            .collect();
        // Field values are in the indexed JSON text as written, unless JSON escapes them.
        for (_, v) in &q.fields {
            if !v.chars().any(|c| c == '"' || c == '\\' || c.is_control()) {
                index_terms.extend(index::query_needles(v, kind));
            }
        }
        let chunks = if index_terms.is_empty() {
            None
        } else {
            let mut found = self
                .matching_chunks(&index_terms, MAX_CHUNK_MATCHES)
                .await?;
            if found.is_empty() {
                return Ok(Vec::new());
            }
            found.sort_unstable();
            (found.len() < MAX_CHUNK_MATCHES as usize).then_some(found)
        };
        let filter = RowFilter {
            q,
            needles: q.text.iter().map(|t| Needle::new(t)).collect(),
        };
        let mut out: Vec<LogRow> = Vec::new();
        let mut cursor: Option<(i64, i64)> = None;
        loop {
            // Few candidate chunks: look their blocks up directly; else page through the
            // headers of every block in range.
            let (headers, page_full) = match &chunks {
                Some(all) if all.len() <= DIRECT_LOOKUP => (self.blocks_of(all).await?, false),
                _ => {
                    let page = self.search_headers(q, cursor).await?;
                    let full = page.len() as i64 == HEADER_PAGE;
                    (page, full)
                }
            };
            let Some(last) = headers.last() else {
                break;
            };
            cursor = Some((last.ts_max, last.id));
            // Blocks to read, each with its candidate chunks (None: all rows).
            let mut wanted: Vec<(Header, Option<Vec<i64>>)> = Vec::new();
            for h in headers {
                let starts = match &chunks {
                    None => None,
                    Some(all) => {
                        let lo = all.partition_point(|&s| s < h.id);
                        let hi = all.partition_point(|&s| s <= h.max_id);
                        if lo == hi {
                            continue;
                        }
                        Some(all[lo..hi].to_vec())
                    }
                };
                wanted.push((h, starts));
            }
            for group in wanted.chunks(FETCH_BLOCKS) {
                // Older blocks cannot displace the rows already found.
                let kth = (out.len() >= limit).then(|| out[limit - 1].ts_ms);
                let group: Vec<&(Header, Option<Vec<i64>>)> = group
                    .iter()
                    .filter(|(h, _)| kth.is_none_or(|k| h.ts_max >= k))
                    .collect();
                if group.is_empty() {
                    return Ok(out);
                }
                for (id, data) in self.block_data(group.iter().map(|(h, _)| h.id)).await? {
                    let Some((_, starts)) = group.iter().find(|(h, _)| h.id == id) else {
                        continue;
                    };
                    let Some(b) = readable(id, &data) else {
                        continue;
                    };
                    for i in 0..b.len() {
                        if starts.as_ref().is_some_and(|s| !in_chunks(s, b.id(i))) {
                            continue;
                        }
                        let r = b.row(i);
                        if filter.keeps(&r) {
                            out.push(r.into());
                        }
                    }
                }
                newest_first(&mut out, limit);
            }
            if !page_full {
                break;
            }
        }
        Ok(out)
    }

    /// One page of the headers of blocks that may hold rows for `q`, newest `ts_max` first,
    /// after `cursor`.
    async fn search_headers(
        &self,
        q: &LogQuery,
        cursor: Option<(i64, i64)>,
    ) -> Result<Vec<Header>> {
        let mut n = 0;
        let mut p = || {
            n += 1;
            format!("${n}")
        };
        let mut sql = format!(
            "SELECT id, max_id, ts_max FROM log_blocks WHERE ts_max >= {} AND ts_min < {}",
            p(),
            p()
        );
        let mut ints = vec![q.from_ms, q.to_ms];
        let mut texts: Vec<(usize, String)> = Vec::new();
        if let Some(l) = q.min_level {
            sql.push_str(&format!(" AND level_max >= {}", p()));
            ints.push(l);
        }
        if let Some(l) = q.max_level {
            sql.push_str(&format!(" AND level_min <= {}", p()));
            ints.push(l);
        }
        if let Some((ts, _)) = q.before {
            sql.push_str(&format!(" AND ts_min <= {}", p()));
            ints.push(ts);
        }
        if let Some((ts, id)) = cursor {
            let (a, b, c) = (p(), p(), p());
            sql.push_str(&format!(
                " AND (ts_max < {a} OR (ts_max = {b} AND id < {c}))"
            ));
            ints.extend([ts, ts, id]);
        }
        let find = match self.backend() {
            Backend::Sqlite => "instr",
            Backend::Postgres => "strpos",
        };
        for (col, names) in [("nodes", &q.nodes), ("chains", &q.chains)] {
            if names.is_empty() {
                continue;
            }
            let any: Vec<String> = names
                .iter()
                .map(|name| {
                    let ph = p();
                    texts.push((texts.len(), format!("{NAME_SEP}{name}{NAME_SEP}")));
                    format!("{find}({col}, {ph}) > 0")
                })
                .collect();
            sql.push_str(&format!(" AND ({})", any.join(" OR ")));
        }
        sql.push_str(&format!(
            " ORDER BY ts_max DESC, id DESC LIMIT {HEADER_PAGE}"
        ));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for i in ints {
            query = query.bind(i);
        }
        for (_, t) in texts {
            query = query.bind(t);
        }
        query
            .fetch_all(self.pool())
            .await
            .map_err(|e| StoreError::query("search log blocks", e))?
            .iter()
            .map(|r| {
                Ok(Header {
                    id: r.try_get(0).map_err(decode_err)?,
                    max_id: r.try_get(1).map_err(decode_err)?,
                    ts_max: r.try_get(2).map_err(decode_err)?,
                })
            })
            .collect()
    }

    /// The headers of the blocks holding the chunks starting at `starts`, newest `ts_max`
    /// first (a chunk lies in the block with the greatest id not above its start).
    async fn blocks_of(&self, starts: &[i64]) -> Result<Vec<Header>> {
        let mut out: Vec<Header> = Vec::new();
        for part in starts.chunks(100) {
            let lookups: Vec<String> = (1..=part.len())
                .map(|i| format!("SELECT MAX(id) FROM log_blocks WHERE id <= ${i}"))
                .collect();
            let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT id, max_id, ts_max FROM log_blocks WHERE id IN ({})",
                lookups.join(" UNION ALL ")
            )));
            for s in part {
                q = q.bind(*s);
            }
            for r in q
                .fetch_all(self.pool())
                .await
                .map_err(|e| StoreError::query("find log blocks", e))?
            {
                let id: i64 = r.try_get(0).map_err(decode_err)?;
                if out.iter().all(|h| h.id != id) {
                    out.push(Header {
                        id,
                        max_id: r.try_get(1).map_err(decode_err)?,
                        ts_max: r.try_get(2).map_err(decode_err)?,
                    });
                }
            }
        }
        out.sort_unstable_by_key(|h| std::cmp::Reverse((h.ts_max, h.id)));
        Ok(out)
    }

    /// The compressed data of the blocks `ids`.
    async fn block_data(&self, ids: impl Iterator<Item = i64>) -> Result<Vec<(i64, Vec<u8>)>> {
        let ids: Vec<i64> = ids.collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ps: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, data FROM log_blocks WHERE id IN ({})",
            ps.join(", ")
        )));
        for id in ids {
            q = q.bind(id);
        }
        q.fetch_all(self.pool())
            .await
            .map_err(|e| StoreError::query("read log blocks", e))?
            .iter()
            .map(|r| {
                Ok((
                    r.try_get(0).map_err(decode_err)?,
                    r.try_get(1).map_err(decode_err)?,
                ))
            })
            .collect()
    }

    /// Rows with `id > after` (oldest first; `tail -f`).
    pub async fn logs_after(&self, after: i64, limit: i64) -> Result<Vec<LogRow>> {
        let limit = limit.max(0) as usize;
        let mut out: Vec<LogRow> = Vec::new();
        let mut from = after;
        while out.len() < limit {
            let blocks = sqlx::query(
                "SELECT id, max_id, data FROM log_blocks WHERE max_id > $1 ORDER BY max_id LIMIT 4",
            )
            .bind(from)
            .fetch_all(self.pool())
            .await
            .map_err(|e| StoreError::query("read new logs", e))?;
            if blocks.is_empty() {
                break;
            }
            for r in &blocks {
                let id: i64 = r.try_get(0).map_err(decode_err)?;
                from = r.try_get(1).map_err(decode_err)?;
                let data: Vec<u8> = r.try_get(2).map_err(decode_err)?;
                let Some(b) = readable(id, &data) else {
                    continue;
                };
                out.extend(
                    (0..b.len())
                        .filter(|&i| b.id(i) > after)
                        .map(|i| b.row(i).into()),
                );
            }
        }
        out.sort_unstable_by_key(|r| r.id);
        out.truncate(limit);
        Ok(out)
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
        let key = match self.backend() {
            Backend::Sqlite => "rowid",
            Backend::Postgres => "first_id",
        };
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

/// Deletes block `id` (its index documents are the caller's).
async fn drop_block(tx: &mut Transaction<'static, Any>, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM log_blocks WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(|e| StoreError::query("delete a log block", e))?;
    Ok(())
}

/// A LIKE pattern matching `s` anywhere, with `\` escaping.
fn like_pattern(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
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
