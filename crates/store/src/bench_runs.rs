//! Load-test reports recorded with the daemon (`chainops bench run --record`, `bench record`,
//! the console's upload): a summary row to list and compare by, and the report as
//! `chainops bench run --json` printed it.

use crate::series::decode_err;
use crate::{Result, Store, StoreError};
use sqlx::Row;

/// A recorded load-test run.
#[derive(Debug, Clone, Default)]
pub struct BenchRunRow {
    /// Id.
    pub id: String,
    /// When it was recorded (epoch ms).
    pub created_ms: i64,
    /// Who recorded it (`user:alice`, `token:ci`).
    pub actor: String,
    /// When the run started (RFC 3339, as the report says).
    pub started_at: String,
    /// Workload name.
    pub workload: String,
    /// Target URL (credentials removed).
    pub target: String,
    /// Chain family and chain id.
    pub chain: String,
    /// Client version.
    pub client: String,
    /// Rounds.
    pub rounds: i64,
    /// Transactions submitted.
    pub submitted: i64,
    /// Transactions confirmed.
    pub confirmed: i64,
    /// Transactions failed.
    pub failed: i64,
    /// Confirmed per second.
    pub throughput: f64,
    /// 95th percentile inclusion latency, seconds.
    pub p95: f64,
    /// Bottleneck of the last round.
    pub bottleneck: String,
    /// The report JSON (empty in listings).
    pub report: String,
}

const SUMMARY: &str = "id, created_ms, actor, started_at, workload, target, chain, client, rounds, \
     submitted, confirmed, failed, throughput, p95, bottleneck";

fn decode(r: &sqlx::any::AnyRow, with_report: bool) -> Result<BenchRunRow> {
    Ok(BenchRunRow {
        id: r.try_get(0).map_err(decode_err)?,
        created_ms: r.try_get(1).map_err(decode_err)?,
        actor: r.try_get(2).map_err(decode_err)?,
        started_at: r.try_get(3).map_err(decode_err)?,
        workload: r.try_get(4).map_err(decode_err)?,
        target: r.try_get(5).map_err(decode_err)?,
        chain: r.try_get(6).map_err(decode_err)?,
        client: r.try_get(7).map_err(decode_err)?,
        rounds: r.try_get(8).map_err(decode_err)?,
        submitted: r.try_get(9).map_err(decode_err)?,
        confirmed: r.try_get(10).map_err(decode_err)?,
        failed: r.try_get(11).map_err(decode_err)?,
        throughput: r.try_get(12).map_err(decode_err)?,
        p95: r.try_get(13).map_err(decode_err)?,
        bottleneck: r.try_get(14).map_err(decode_err)?,
        report: if with_report {
            r.try_get(15).map_err(decode_err)?
        } else {
            String::new()
        },
    })
}

impl Store {
    /// Records a run.
    pub async fn save_bench_run(&self, r: &BenchRunRow) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO bench_runs ({SUMMARY}, report)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        )))
        .bind(r.id.as_str())
        .bind(r.created_ms)
        .bind(r.actor.as_str())
        .bind(r.started_at.as_str())
        .bind(r.workload.as_str())
        .bind(r.target.as_str())
        .bind(r.chain.as_str())
        .bind(r.client.as_str())
        .bind(r.rounds)
        .bind(r.submitted)
        .bind(r.confirmed)
        .bind(r.failed)
        .bind(r.throughput)
        .bind(r.p95)
        .bind(r.bottleneck.as_str())
        .bind(r.report.as_str())
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(|e| StoreError::query("insert load-test run", e))
    }

    /// The newest `limit` runs, newest first, without their reports.
    pub async fn bench_runs(&self, limit: i64) -> Result<Vec<BenchRunRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SUMMARY} FROM bench_runs ORDER BY created_ms DESC, id DESC LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(|e| StoreError::query("list load-test runs", e))?;
        rows.iter().map(|r| decode(r, false)).collect()
    }

    /// One run with its report.
    pub async fn bench_run(&self, id: &str) -> Result<Option<BenchRunRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SUMMARY}, report FROM bench_runs WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| StoreError::query("read load-test run", e))?;
        row.map(|r| decode(&r, true)).transpose()
    }
}
