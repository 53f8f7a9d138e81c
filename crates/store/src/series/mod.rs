//! The embedded series store: raw samples in compact one-minute chunks, plus 1-minute and
//! 1-hour rollups (min/max/sum/count/last) kept longer. See `docs/history.md`.

pub mod codec;

use crate::{Backend, Result, Store, StoreError};
use serde::Serialize;
// Dynamic SQL below is assembled only from constant fragments and `$N` placeholders.
use sqlx::{AssertSqlSafe, Row};
use std::collections::HashMap;
use std::time::Duration;

/// One minute.
pub const MINUTE_MS: i64 = 60_000;
/// One hour.
pub const HOUR_MS: i64 = 3_600_000;

/// Samples of one series that fall into one minute bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesChunk {
    /// Node name.
    pub node: String,
    /// Metric name (e.g. `height`).
    pub metric: String,
    /// Samples sorted by time, all in the same minute.
    pub samples: Vec<(i64, f64)>,
}

/// Aggregate of a bucket of samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rollup {
    /// Bucket start, epoch ms.
    pub bucket_ms: i64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
    /// Sum (avg = sum / count).
    pub sum: f64,
    /// Sample count.
    pub count: i64,
    /// Latest value.
    pub last: f64,
    /// Time of the latest value.
    pub last_ms: i64,
}

impl Rollup {
    /// Aggregates samples into a bucket; `None` for no samples.
    pub fn of(bucket_ms: i64, samples: &[(i64, f64)]) -> Option<Rollup> {
        let (&(first_ts, first), rest) = samples.split_first()?;
        let mut r = Rollup {
            bucket_ms,
            min: first,
            max: first,
            sum: first,
            count: 1,
            last: first,
            last_ms: first_ts,
        };
        for &(ts, v) in rest {
            r.absorb(&Rollup {
                bucket_ms,
                min: v,
                max: v,
                sum: v,
                count: 1,
                last: v,
                last_ms: ts,
            });
        }
        Some(r)
    }

    /// Merges another aggregate of the same bucket into this one.
    pub fn absorb(&mut self, o: &Rollup) {
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.sum += o.sum;
        self.count += o.count;
        if o.last_ms >= self.last_ms {
            self.last = o.last;
            self.last_ms = o.last_ms;
        }
    }
}

/// Resolution of a series query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Resolution {
    /// Every sample.
    #[serde(rename = "raw")]
    Raw,
    /// 1-minute rollups.
    #[serde(rename = "1m")]
    Minute,
    /// 1-hour rollups.
    #[serde(rename = "1h")]
    Hour,
}

impl Resolution {
    /// Parses `raw`, `1m`, `1h`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "raw" => Some(Resolution::Raw),
            "1m" => Some(Resolution::Minute),
            "1h" => Some(Resolution::Hour),
            _ => None,
        }
    }

    /// Picks the finest resolution that still has data for `from` and stays readable
    /// (raw up to 2 h, 1-minute up to 3 days, 1-hour beyond).
    pub fn pick(from_ms: i64, to_ms: i64, now_ms: i64, retention: &Retention) -> Resolution {
        let span = to_ms.saturating_sub(from_ms);
        let age = now_ms.saturating_sub(from_ms);
        if span <= 2 * HOUR_MS && age <= retention.raw.as_millis() as i64 {
            Resolution::Raw
        } else if span <= 72 * HOUR_MS && age <= retention.minute.as_millis() as i64 {
            Resolution::Minute
        } else {
            Resolution::Hour
        }
    }
}

/// How long each resolution is kept.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Raw samples.
    pub raw: Duration,
    /// 1-minute rollups.
    pub minute: Duration,
    /// 1-hour rollups.
    pub hour: Duration,
}

/// One point of a query answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    /// Epoch ms (bucket start for rollups).
    pub t: i64,
    /// Value (average for rollups).
    pub v: f64,
    /// Minimum in the bucket (rollups only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Maximum in the bucket (rollups only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Last value in the bucket (rollups only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<f64>,
}

/// A value as the API shows it: 3 decimals from 1 up, 4 significant digits below (an
/// average of heights stays exact to the block, a gas ratio keeps its digits).
pub fn round_value(v: f64) -> f64 {
    if !v.is_finite() || v == 0.0 {
        return v;
    }
    let decimals = if v.abs() >= 1.0 {
        3
    } else {
        3 - v.abs().log10().floor() as i32
    };
    if decimals > 15 {
        return v;
    }
    let k = 10f64.powi(decimals);
    (v * k).round() / k
}

impl Point {
    /// The point with its values [rounded](round_value).
    pub fn rounded(self) -> Point {
        Point {
            t: self.t,
            v: round_value(self.v),
            min: self.min.map(round_value),
            max: self.max.map(round_value),
            last: self.last.map(round_value),
        }
    }

    /// A raw sample.
    pub fn raw(t: i64, v: f64) -> Point {
        Point {
            t,
            v,
            min: None,
            max: None,
            last: None,
        }
    }

    /// A rollup bucket.
    pub fn rollup(r: &Rollup) -> Point {
        Point {
            t: r.bucket_ms,
            v: r.sum / r.count.max(1) as f64,
            min: Some(r.min),
            max: Some(r.max),
            last: Some(r.last),
        }
    }
}

/// Rows deleted by retention.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    /// Raw chunks deleted.
    pub raw_chunks: u64,
    /// Minute rollups deleted.
    pub minute_rows: u64,
    /// Hour rollups deleted.
    pub hour_rows: u64,
}

const ROWS_PER_INSERT: usize = 100;

/// `(…),(…)` placeholders for a multi-row insert. SQLite gets anonymous `?`: its
/// `sqlite3_bind_parameter_name` scans the whole parameter list per call, which makes `$N`
/// binding quadratic in the statement size (5 % of the collector's CPU at 1,000 nodes).
fn values_clause(backend: Backend, rows: usize, cols: usize) -> String {
    let mut sql = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ",(" });
        for c in 0..cols {
            if c > 0 {
                sql.push(',');
            }
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => sql.push_str(&format!("${}", r * cols + c + 1)),
            }
        }
        sql.push(')');
    }
    sql
}

impl Store {
    /// Writes one minute of samples: each chunk as a compact raw row plus its 1-minute
    /// rollup, all in one transaction. Re-writing a minute (after a restart) merges.
    pub async fn write_series(&self, chunks: &[SeriesChunk]) -> Result<()> {
        let chunks: Vec<&SeriesChunk> = chunks.iter().filter(|c| !c.samples.is_empty()).collect();
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(|e| StoreError::query("begin series write", e))?;
        for batch in chunks.chunks(ROWS_PER_INSERT) {
            let mut sql = String::from(
                "INSERT INTO series_raw (node, metric, start_ms, end_ms, count, data) VALUES ",
            );
            let mut rollups = Vec::with_capacity(batch.len());
            sql.push_str(&values_clause(self.backend(), batch.len(), 6));
            sql.push_str(" ON CONFLICT (node, metric, start_ms) DO NOTHING");
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for c in batch {
                let (Some(&(start, _)), Some(&(end, _))) = (c.samples.first(), c.samples.last())
                else {
                    continue;
                };
                q = q
                    .bind(c.node.as_str())
                    .bind(c.metric.as_str())
                    .bind(start)
                    .bind(end)
                    .bind(c.samples.len() as i64)
                    .bind(codec::encode(start, &c.samples));
                if let Some(r) = Rollup::of(start - start.rem_euclid(MINUTE_MS), &c.samples) {
                    rollups.push((c.node.as_str(), c.metric.as_str(), r));
                }
            }
            q.execute(&mut *tx)
                .await
                .map_err(|e| StoreError::query("insert raw series", e))?;
            upsert_rollups(&mut tx, self.backend(), "series_1m", &rollups, true).await?;
        }
        tx.commit()
            .await
            .map_err(|e| StoreError::query("commit series write", e))
    }

    /// Recomputes the 1-hour rollups of the hour starting at `hour_ms` from its 1-minute
    /// rollups. Idempotent; returns the number of series rolled up.
    pub async fn rollup_hour(&self, hour_ms: i64) -> Result<usize> {
        let rows = sqlx::query(
            "SELECT node, metric, bucket_ms, min, max, sum, count, last, last_ms FROM series_1m
             WHERE bucket_ms >= $1 AND bucket_ms < $2",
        )
        .bind(hour_ms)
        .bind(hour_ms + HOUR_MS)
        .fetch_all(self.pool())
        .await
        .map_err(|e| StoreError::query("read minute rollups", e))?;
        let mut agg: HashMap<(String, String), Rollup> = HashMap::new();
        for row in rows {
            let key = (
                row.try_get::<String, _>(0).map_err(decode_err)?,
                row.try_get::<String, _>(1).map_err(decode_err)?,
            );
            let mut r = rollup_from_row(&row, 2)?;
            r.bucket_ms = hour_ms;
            agg.entry(key).and_modify(|a| a.absorb(&r)).or_insert(r);
        }
        let list: Vec<(&str, &str, Rollup)> = agg
            .iter()
            .map(|((n, m), r)| (n.as_str(), m.as_str(), *r))
            .collect();
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(|e| StoreError::query("begin hour rollup", e))?;
        for batch in list.chunks(ROWS_PER_INSERT) {
            upsert_rollups(&mut tx, self.backend(), "series_1h", batch, false).await?;
        }
        tx.commit()
            .await
            .map_err(|e| StoreError::query("commit hour rollup", e))?;
        Ok(list.len())
    }

    /// Start of the latest hour that has 1-hour rollups, if any.
    pub async fn last_rolled_hour(&self) -> Result<Option<i64>> {
        sqlx::query_scalar("SELECT MAX(bucket_ms) FROM series_1h")
            .fetch_one(self.pool())
            .await
            .map_err(|e| StoreError::query("read last hour rollup", e))
    }

    /// Start of the latest minute that has 1-minute rollups, if any.
    pub async fn last_rolled_minute(&self) -> Result<Option<i64>> {
        sqlx::query_scalar("SELECT MAX(bucket_ms) FROM series_1m")
            .fetch_one(self.pool())
            .await
            .map_err(|e| StoreError::query("read last minute rollup", e))
    }

    /// Reads one series in `[from_ms, to_ms]` at the given resolution, oldest first.
    pub async fn query_series(
        &self,
        node: &str,
        metric: &str,
        from_ms: i64,
        to_ms: i64,
        resolution: Resolution,
    ) -> Result<Vec<Point>> {
        match resolution {
            Resolution::Raw => {
                let rows = sqlx::query(
                    "SELECT start_ms, data FROM series_raw
                     WHERE node = $1 AND metric = $2 AND end_ms >= $3 AND start_ms <= $4 ORDER BY start_ms",
                )
                .bind(node)
                .bind(metric)
                .bind(from_ms)
                .bind(to_ms)
                .fetch_all(self.pool())
                .await
                .map_err(|e| StoreError::query("read raw series", e))?;
                let mut out = Vec::new();
                for row in rows {
                    let start: i64 = row.try_get(0).map_err(decode_err)?;
                    let data: Vec<u8> = row.try_get(1).map_err(decode_err)?;
                    let samples =
                        codec::decode(start, &data).ok_or_else(|| StoreError::Corrupt {
                            context: "series_raw",
                            detail: format!("chunk {node}/{metric}@{start} does not decode"),
                        })?;
                    out.extend(
                        samples
                            .into_iter()
                            .filter(|(t, _)| (from_ms..=to_ms).contains(t))
                            .map(|(t, v)| Point::raw(t, v)),
                    );
                }
                Ok(out)
            }
            Resolution::Minute | Resolution::Hour => {
                let (table, width) = if resolution == Resolution::Minute {
                    ("series_1m", MINUTE_MS)
                } else {
                    ("series_1h", HOUR_MS)
                };
                let sql = format!(
                    "SELECT bucket_ms, min, max, sum, count, last, last_ms FROM {table}
                     WHERE node = $1 AND metric = $2 AND bucket_ms >= $3 AND bucket_ms <= $4 ORDER BY bucket_ms"
                );
                let rows = sqlx::query(AssertSqlSafe(sql))
                    .bind(node)
                    .bind(metric)
                    .bind(from_ms - from_ms.rem_euclid(width))
                    .bind(to_ms)
                    .fetch_all(self.pool())
                    .await
                    .map_err(|e| StoreError::query("read rollup series", e))?;
                rows.iter()
                    .map(|r| rollup_from_row(r, 0).map(|r| Point::rollup(&r)))
                    .collect()
            }
        }
    }

    /// [`query_series`](Self::query_series) for several nodes, in the order of `nodes`.
    /// One after the other: reading them in parallel over the pool was measured no faster on
    /// SQLite (`bench/history`: the row decoding, not the query, is the cost).
    pub async fn query_series_many(
        &self,
        nodes: &[String],
        metric: &str,
        from_ms: i64,
        to_ms: i64,
        resolution: Resolution,
    ) -> Result<Vec<Vec<Point>>> {
        let mut out = Vec::with_capacity(nodes.len());
        for node in nodes {
            out.push(
                self.query_series(node, metric, from_ms, to_ms, resolution)
                    .await?,
            );
        }
        Ok(out)
    }

    /// Deletes data older than each resolution's retention.
    pub async fn apply_retention(
        &self,
        now_ms: i64,
        retention: &Retention,
    ) -> Result<RetentionReport> {
        let cut = |d: Duration| now_ms - d.as_millis() as i64;
        let del = |sql: &'static str, before: i64| async move {
            sqlx::query(sql)
                .bind(before)
                .execute(self.pool())
                .await
                .map(|r| r.rows_affected())
                .map_err(|e| StoreError::query("apply retention", e))
        };
        Ok(RetentionReport {
            raw_chunks: del(
                "DELETE FROM series_raw WHERE end_ms < $1",
                cut(retention.raw),
            )
            .await?,
            minute_rows: del(
                "DELETE FROM series_1m WHERE bucket_ms < $1",
                cut(retention.minute),
            )
            .await?,
            hour_rows: del(
                "DELETE FROM series_1h WHERE bucket_ms < $1",
                cut(retention.hour),
            )
            .await?,
        })
    }
}

async fn upsert_rollups(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    table: &str,
    rows: &[(&str, &str, Rollup)],
    merge: bool,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut sql = format!(
        "INSERT INTO {table} (node, metric, bucket_ms, min, max, sum, count, last, last_ms) VALUES "
    );
    sql.push_str(&values_clause(backend, rows.len(), 9));
    // Merge (a minute written twice around a restart) or replace (hour recomputed whole).
    let t = table;
    let set = if merge {
        format!(
            "min = CASE WHEN excluded.min < {t}.min THEN excluded.min ELSE {t}.min END,
             max = CASE WHEN excluded.max > {t}.max THEN excluded.max ELSE {t}.max END,
             sum = {t}.sum + excluded.sum, count = {t}.count + excluded.count,
             last = CASE WHEN excluded.last_ms >= {t}.last_ms THEN excluded.last ELSE {t}.last END,
             last_ms = CASE WHEN excluded.last_ms >= {t}.last_ms THEN excluded.last_ms ELSE {t}.last_ms END"
        )
    } else {
        "min = excluded.min, max = excluded.max, sum = excluded.sum, count = excluded.count,
         last = excluded.last, last_ms = excluded.last_ms"
            .to_string()
    };
    sql.push_str(&format!(
        " ON CONFLICT (node, metric, bucket_ms) DO UPDATE SET {set}"
    ));
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for (node, metric, r) in rows {
        q = q
            .bind(*node)
            .bind(*metric)
            .bind(r.bucket_ms)
            .bind(r.min)
            .bind(r.max)
            .bind(r.sum)
            .bind(r.count)
            .bind(r.last)
            .bind(r.last_ms);
    }
    q.execute(&mut **tx)
        .await
        .map_err(|e| StoreError::query("upsert rollups", e))?;
    Ok(())
}

fn rollup_from_row(row: &sqlx::any::AnyRow, at: usize) -> Result<Rollup> {
    Ok(Rollup {
        bucket_ms: row.try_get(at).map_err(decode_err)?,
        min: row.try_get(at + 1).map_err(decode_err)?,
        max: row.try_get(at + 2).map_err(decode_err)?,
        sum: row.try_get(at + 3).map_err(decode_err)?,
        count: row.try_get(at + 4).map_err(decode_err)?,
        last: row.try_get(at + 5).map_err(decode_err)?,
        last_ms: row.try_get(at + 6).map_err(decode_err)?,
    })
}

pub(crate) fn decode_err(e: sqlx::Error) -> StoreError {
    StoreError::query("decode row", e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_rounded_for_reading() {
        assert_eq!(round_value(18_234_567.483_333_3), 18_234_567.483);
        assert_eq!(round_value(12.333_333_333), 12.333);
        assert_eq!(round_value(0.123_456_789), 0.1235);
        assert_eq!(round_value(0.000_012_345_6), 0.000_012_35);
        assert_eq!(round_value(3.0), 3.0);
        assert_eq!(round_value(-2.666_666), -2.667);
        assert_eq!(round_value(0.0), 0.0);
        assert!(round_value(f64::NAN).is_nan());
        assert_eq!(round_value(1e-300), 1e-300);
    }

    #[test]
    fn placeholders_suit_each_backend() {
        assert_eq!(values_clause(Backend::Sqlite, 2, 2), "(?,?),(?,?)");
        assert_eq!(values_clause(Backend::Postgres, 2, 2), "($1,$2),($3,$4)");
    }

    #[test]
    fn resolution_follows_range_and_retention() {
        let r = Retention {
            raw: Duration::from_secs(48 * 3600),
            minute: Duration::from_secs(30 * 86_400),
            hour: Duration::from_secs(730 * 86_400),
        };
        let now = 1_000 * HOUR_MS;
        assert_eq!(
            Resolution::pick(now - HOUR_MS, now, now, &r),
            Resolution::Raw
        );
        assert_eq!(
            Resolution::pick(now - 24 * HOUR_MS, now, now, &r),
            Resolution::Minute
        );
        assert_eq!(
            Resolution::pick(now - 10 * 24 * HOUR_MS, now, now, &r),
            Resolution::Hour
        );
        // Older than raw retention: rollups even for a short range.
        assert_eq!(
            Resolution::pick(now - 72 * HOUR_MS, now - 71 * HOUR_MS, now, &r),
            Resolution::Minute
        );
    }
}
