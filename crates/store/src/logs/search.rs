//! Searches: index candidates, block headers newest first with an early stop, and the
//! row-level recheck; the id-ordered tail.

use super::block::RowRef;
use super::index::{self, CHUNK, Needle};
use super::{
    DIRECT_LOOKUP, FETCH_BLOCKS, HEADER_PAGE, LogQuery, LogRow, MAX_CHUNK_MATCHES, NAME_SEP,
    readable,
};
use crate::series::decode_err;
use crate::{Backend, Result, Store, StoreError};
use sqlx::Row;

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
                    q = q.bind(crate::like_pattern(n));
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
        // Integer parameters are numbered first, then the name patterns: bound in that order.
        let mut ints = vec![q.from_ms, q.to_ms];
        let mut texts: Vec<String> = Vec::new();
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
                    texts.push(format!("{NAME_SEP}{name}{NAME_SEP}"));
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
        for t in texts {
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
    pub(super) async fn block_data(
        &self,
        ids: impl Iterator<Item = i64>,
    ) -> Result<Vec<(i64, Vec<u8>)>> {
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
}
