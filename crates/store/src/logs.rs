//! Node logs: rows, full-text search (SQLite FTS5 with the trigram tokenizer; PostgreSQL
//! `pg_trgm`), read positions written in the same transaction as the rows they cover (so a
//! restart neither loses nor repeats a line), and retention by age and size.

use crate::series::decode_err;
use crate::{Backend, Result, Store, StoreError};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

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

fn row(r: &AnyRow) -> Result<LogRow> {
    Ok(LogRow {
        id: r.try_get(0).map_err(decode_err)?,
        ts_ms: r.try_get(1).map_err(decode_err)?,
        node: r.try_get(2).map_err(decode_err)?,
        chain: r.try_get(3).map_err(decode_err)?,
        level: r.try_get(4).map_err(decode_err)?,
        message: r.try_get(5).map_err(decode_err)?,
        fields: r.try_get(6).map_err(decode_err)?,
        source: r.try_get(7).map_err(decode_err)?,
    })
}

/// An FTS5 string token: the text in double quotes, inner quotes doubled.
fn fts_token(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Rows per full-text document. Consecutive rows (by id) are indexed together: one FTS5
/// document per chunk holding each distinct word of the chunk once, its rowid the chunk's
/// first row id, so the trigram index is written and stored once per chunk instead of once
/// per row. A match names a chunk; its rows
/// `[rowid, rowid + FTS_CHUNK)` are candidates that the row-level `LIKE` recheck narrows down
/// (documents written one per row by older versions are chunks of one, and stay valid).
const FTS_CHUNK: i64 = 32;

/// `(SELECT column1 AS n FROM (VALUES (0), (1), …))`: the offsets of a chunk's rows.
fn chunk_offsets() -> String {
    let values: Vec<String> = (0..FTS_CHUNK).map(|i| format!("({i})")).collect();
    format!("(SELECT column1 AS n FROM (VALUES {}))", values.join(", "))
}

/// Hex runs longer than this are indexed by their prefix only: hashes are searched from
/// their start, and indexing 64 random characters per hash would triple the index.
const INDEXED_HEX: usize = 16;

/// The text the trigram index holds for a message: long hex runs cut to their prefix.
fn index_text(message: &str) -> String {
    let b = message.as_bytes();
    let mut out = String::with_capacity(message.len());
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_hexdigit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_hexdigit() {
                i += 1;
            }
            let keep = (i - start).min(INDEXED_HEX);
            out.push_str(&message[start..start + keep]);
        } else {
            let ch_len = message[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&message[i..i + ch_len]);
            i += ch_len;
        }
    }
    out
}

/// The distinct trigram tokens of a search term as indexed (at most 12, spread over it).
fn trigram_tokens(term: &str) -> Vec<String> {
    let chars: Vec<char> = index_text(&term.to_lowercase()).chars().collect();
    if chars.len() < 3 {
        return Vec::new();
    }
    // Documents hold distinct words in no particular order: only trigrams inside a word are
    // sure to be there (the row-level LIKE recheck keeps the match exact).
    let mut grams: Vec<String> = chars
        .windows(3)
        .filter(|w| !w.iter().any(|c| c.is_whitespace()))
        .map(|w| w.iter().collect())
        .collect();
    grams.dedup();
    let n = grams.len();
    let step = n.div_ceil(12).max(1);
    let mut picked: Vec<String> = grams.into_iter().step_by(step).collect();
    picked.sort();
    picked.dedup();
    picked.iter().map(|g| fts_token(g)).collect()
}

/// A LIKE pattern matching `s` anywhere, with `\` escaping.
fn like_pattern(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Field names usable in a search: letters, digits, `_`, `.`, `-`.
fn safe_field(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
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
        for chunk in rows.chunks(500) {
            let mut sql = String::from(
                "INSERT INTO logs (ts_ms, node, chain, level, message, fields, source) VALUES ",
            );
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push(',');
                }
                let b = i * 7;
                sql.push_str(&match self.backend() {
                    Backend::Sqlite => "(?, ?, ?, ?, ?, ?, ?)".to_string(),
                    Backend::Postgres => format!(
                        "(${}, ${}, ${}, ${}, ${}, ${}, ${})",
                        b + 1,
                        b + 2,
                        b + 3,
                        b + 4,
                        b + 5,
                        b + 6,
                        b + 7
                    ),
                });
            }
            let sqlite = self.backend() == Backend::Sqlite;
            if sqlite {
                sql.push_str(" RETURNING id, message, fields");
            }
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for r in chunk {
                q = q
                    .bind(r.ts_ms)
                    .bind(r.node.as_str())
                    .bind(r.chain.as_str())
                    .bind(r.level)
                    .bind(r.message.as_str())
                    .bind(r.fields.as_str())
                    .bind(r.source.as_str());
            }
            if !sqlite {
                q.execute(&mut *tx)
                    .await
                    .map_err(|e| StoreError::query("insert logs", e))?;
                continue;
            }
            let inserted = q
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| StoreError::query("insert logs", e))?;
            let mut rows: Vec<(i64, String)> = Vec::with_capacity(inserted.len());
            for r in &inserted {
                let id: i64 = r.try_get(0).map_err(decode_err)?;
                let message: String = r.try_get(1).map_err(decode_err)?;
                let fields: String = r.try_get(2).map_err(decode_err)?;
                // Field values are searchable as text too (a hash in `hash=` is still a hash).
                rows.push((id, index_text(&format!("{message} {fields}"))));
            }
            rows.sort_unstable_by_key(|r| r.0);
            // Chunks of consecutive ids, each within FTS_CHUNK of its first id; a chunk's
            // document holds each distinct word once (log lines repeat most of their words).
            let mut docs: Vec<(i64, String)> = Vec::new();
            let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
            for (id, text) in &rows {
                let fresh = !matches!(docs.last(), Some((first, _)) if id - *first < FTS_CHUNK);
                if fresh {
                    docs.push((*id, String::new()));
                    seen.clear();
                }
                let Some((_, doc)) = docs.last_mut() else {
                    continue;
                };
                for word in text.split_whitespace() {
                    if seen.insert(word) {
                        if !doc.is_empty() {
                            doc.push(' ');
                        }
                        doc.push_str(word);
                    }
                }
            }
            if !docs.is_empty() {
                let mut fts = String::from("INSERT INTO logs_fts (rowid, message) VALUES ");
                for i in 0..docs.len() {
                    fts.push_str(if i == 0 { "(?, ?)" } else { ", (?, ?)" });
                }
                let mut fq = sqlx::query(sqlx::AssertSqlSafe(fts));
                for (first, doc) in docs {
                    fq = fq.bind(first).bind(doc);
                }
                fq.execute(&mut *tx)
                    .await
                    .map_err(|e| StoreError::query("index logs", e))?;
            }
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

    /// Searches, newest first. Substrings of 3+ characters use the trigram index; shorter
    /// ones fall back to LIKE. Field names are checked; values are bound.
    pub async fn search_logs(&self, q: &LogQuery) -> Result<Vec<LogRow>> {
        let sqlite = self.backend() == Backend::Sqlite;
        let mut n = 0;
        let mut p = || {
            n += 1;
            if sqlite {
                "?".to_string()
            } else {
                format!("${n}")
            }
        };
        let mut sql = format!(
            "SELECT l.id, l.ts_ms, l.node, l.chain, l.level, l.message, l.fields, l.source FROM logs l \
             WHERE l.ts_ms >= {} AND l.ts_ms < {}",
            p(),
            p()
        );
        enum Bind {
            I(i64),
            S(String),
        }
        let mut binds = vec![Bind::I(q.from_ms), Bind::I(q.to_ms)];
        for (col, values) in [("node", &q.nodes), ("chain", &q.chains)] {
            if !values.is_empty() {
                let ps: Vec<String> = values.iter().map(|_| p()).collect();
                sql.push_str(&format!(" AND l.{col} IN ({})", ps.join(", ")));
                binds.extend(values.iter().map(|v| Bind::S(v.clone())));
            }
        }
        if let Some(l) = q.min_level {
            sql.push_str(&format!(" AND l.level >= {}", p()));
            binds.push(Bind::I(l));
        }
        if let Some(l) = q.max_level {
            sql.push_str(&format!(" AND l.level <= {}", p()));
            binds.push(Bind::I(l));
        }
        for (k, v) in &q.fields {
            if !safe_field(k) {
                return Err(StoreError::Corrupt {
                    context: "log query",
                    detail: format!("field name \"{k}\" is not valid"),
                });
            }
            let expr = if sqlite {
                format!("json_extract(l.fields, '$.\"{k}\"')")
            } else {
                format!("(l.fields::jsonb ->> '{k}')")
            };
            sql.push_str(&format!(" AND {expr} = {}", p()));
            binds.push(Bind::S(v.clone()));
        }
        let (long, short): (Vec<&String>, Vec<&String>) =
            q.text.iter().partition(|t| t.chars().count() >= 3);
        if !long.is_empty() {
            if sqlite {
                // The index has no positions: match every term's trigrams, then recheck the
                // row with LIKE for the exact substring.
                let m: Vec<String> = long.iter().flat_map(|t| trigram_tokens(t)).collect();
                if !m.is_empty() {
                    sql.push_str(&format!(
                        " AND l.id IN (SELECT c.first + o.n FROM (SELECT rowid AS first FROM logs_fts WHERE logs_fts MATCH {}) c, {} o)",
                        p(),
                        chunk_offsets()
                    ));
                    binds.push(Bind::S(m.join(" AND ")));
                }
                for t in &long {
                    sql.push_str(&format!(
                        " AND (l.message || ' ' || l.fields) LIKE {} ESCAPE '\\'",
                        p()
                    ));
                    binds.push(Bind::S(like_pattern(t)));
                }
            } else {
                for t in &long {
                    sql.push_str(&format!(
                        " AND (l.message || ' ' || l.fields) ILIKE {} ESCAPE '\\'",
                        p()
                    ));
                    binds.push(Bind::S(like_pattern(t)));
                }
            }
        }
        for t in short {
            let op = if sqlite { "LIKE" } else { "ILIKE" };
            sql.push_str(&format!(
                " AND (l.message || ' ' || l.fields) {op} {} ESCAPE '\\'",
                p()
            ));
            binds.push(Bind::S(like_pattern(t)));
        }
        if let Some((ts, id)) = q.before {
            let (a, b, c) = (p(), p(), p());
            sql.push_str(&format!(
                " AND (l.ts_ms < {a} OR (l.ts_ms = {b} AND l.id < {c}))"
            ));
            binds.extend([Bind::I(ts), Bind::I(ts), Bind::I(id)]);
        }
        sql.push_str(&format!(" ORDER BY l.ts_ms DESC, l.id DESC LIMIT {}", p()));
        binds.push(Bind::I(q.limit.clamp(1, 10_000)));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in binds {
            query = match b {
                Bind::I(i) => query.bind(i),
                Bind::S(s) => query.bind(s),
            };
        }
        query
            .fetch_all(self.pool())
            .await
            .map_err(|e| StoreError::query("search logs", e))?
            .iter()
            .map(row)
            .collect()
    }

    /// Rows with `id > after` (oldest first; `tail -f`).
    pub async fn logs_after(&self, after: i64, limit: i64) -> Result<Vec<LogRow>> {
        sqlx::query(
            "SELECT id, ts_ms, node, chain, level, message, fields, source FROM logs WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(|e| StoreError::query("read new logs", e))?
        .iter()
        .map(row)
        .collect()
    }

    /// Highest row id (0 when empty).
    pub async fn last_log_id(&self) -> Result<i64> {
        let v: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM logs")
            .fetch_one(self.pool())
            .await
            .map_err(|e| StoreError::query("read last log id", e))?;
        Ok(v.unwrap_or(0))
    }

    /// Number of full-text index documents (SQLite; `None` on PostgreSQL, whose trigram
    /// index is per row). For diagnostics and tests.
    pub async fn log_index_documents(&self) -> Result<Option<i64>> {
        if self.backend() != Backend::Sqlite {
            return Ok(None);
        }
        sqlx::query_scalar("SELECT COUNT(*) FROM logs_fts")
            .fetch_one(self.pool())
            .await
            .map(Some)
            .map_err(|e| StoreError::query("count log index documents", e))
    }

    /// Number of stored rows.
    pub async fn count_logs(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM logs")
            .fetch_one(self.pool())
            .await
            .map_err(|e| StoreError::query("count logs", e))
    }

    /// Deletes rows (and their index entries) selected by `ids_sql`, a `SELECT id …` with
    /// one parameter.
    async fn delete_logs(&self, ids_sql: &str, param: i64, context: &'static str) -> Result<u64> {
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(|e| StoreError::query(context, e))?;
        let span: Option<(Option<i64>, Option<i64>)> = if self.backend() == Backend::Sqlite {
            let r = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT MIN(id), MAX(id) FROM logs WHERE id IN ({ids_sql})"
            )))
            .bind(param)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| StoreError::query(context, e))?;
            Some((
                r.try_get(0).map_err(decode_err)?,
                r.try_get(1).map_err(decode_err)?,
            ))
        } else {
            None
        };
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM logs WHERE id IN ({ids_sql})"
        )))
        .bind(param)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::query(context, e))?;
        // Index documents whose chunk of rows is now entirely gone.
        if let Some((Some(lo), Some(hi))) = span {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM logs_fts WHERE rowid IN (SELECT f.rowid FROM logs_fts f WHERE f.rowid BETWEEN $1 AND $2 \
                 AND NOT EXISTS (SELECT 1 FROM logs l WHERE l.id >= f.rowid AND l.id < f.rowid + {FTS_CHUNK}))"
            )))
            .bind(lo - FTS_CHUNK + 1)
            .bind(hi)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::query(context, e))?;
        }
        tx.commit()
            .await
            .map_err(|e| StoreError::query(context, e))?;
        Ok(done.rows_affected())
    }

    /// Deletes rows older than `before_ms`; returns how many.
    pub async fn prune_logs_before(&self, before_ms: i64) -> Result<u64> {
        self.delete_logs(
            "SELECT id FROM logs WHERE ts_ms < $1",
            before_ms,
            "prune logs by age",
        )
        .await
    }

    /// Deletes the `n` oldest rows; returns how many.
    pub async fn prune_oldest_logs(&self, n: i64) -> Result<u64> {
        self.delete_logs(
            "SELECT id FROM logs ORDER BY ts_ms, id LIMIT $1",
            n,
            "prune logs by size",
        )
        .await
    }

    /// Bytes the log rows and their index take (PostgreSQL), or the whole database file
    /// (SQLite, where tables share pages).
    pub async fn logs_size_bytes(&self) -> Result<i64> {
        let sql = match self.backend() {
            Backend::Sqlite => {
                "SELECT (SELECT page_count FROM pragma_page_count()) * (SELECT page_size FROM pragma_page_size())"
            }
            Backend::Postgres => "SELECT pg_total_relation_size('logs')::BIGINT",
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

    #[test]
    fn long_hex_is_indexed_by_prefix_and_terms_become_trigrams() {
        let h = "0x0dc2d26eb5826af459572363699ef622898d8e09fb9fa240f4cb941059c95500";
        assert_eq!(
            index_text(&format!("Block Hash: {h} ok")),
            "Block Hash: 0x0dc2d26eb5826af4 ok"
        );
        assert_eq!(index_text("区块 abc"), "区块 abc");
        assert_eq!(
            trigram_tokens("Nonce"),
            vec!["\"nce\"", "\"non\"", "\"onc\""]
        );
        assert!(trigram_tokens("ab").is_empty());
        assert!(trigram_tokens(h).len() <= 12);
    }
}
