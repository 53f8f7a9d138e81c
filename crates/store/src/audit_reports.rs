//! Contract audit reports made in the console: the source as given, the report (JSON) and
//! its SARIF, kept so earlier reports can be read and downloaded again.

use crate::series::decode_err;
use crate::{Result, Store, StoreError};
use sqlx::Row;

/// A stored report.
#[derive(Debug, Clone)]
pub struct AuditReportRow {
    /// Id.
    pub id: String,
    /// When it was made (epoch ms).
    pub created_ms: i64,
    /// Who made it (`user:alice`).
    pub actor: String,
    /// The name given (file name).
    pub name: String,
    /// Findings by severity.
    pub high: i64,
    /// Medium findings.
    pub medium: i64,
    /// Low findings.
    pub low: i64,
    /// Files that did not parse.
    pub errors: i64,
    /// The Solidity source analysed.
    pub source: String,
    /// The report as `chainops audit --format json` prints it.
    pub report: String,
    /// The report as SARIF 2.1.0.
    pub sarif: String,
}

const COLUMNS: &str =
    "id, created_ms, actor, name, high, medium, low, errors, source, report, sarif";

fn decode(r: &sqlx::any::AnyRow, full: bool) -> Result<AuditReportRow> {
    let text = |i: usize| -> Result<String> {
        if full {
            r.try_get(i).map_err(decode_err)
        } else {
            Ok(String::new())
        }
    };
    Ok(AuditReportRow {
        id: r.try_get(0).map_err(decode_err)?,
        created_ms: r.try_get(1).map_err(decode_err)?,
        actor: r.try_get(2).map_err(decode_err)?,
        name: r.try_get(3).map_err(decode_err)?,
        high: r.try_get(4).map_err(decode_err)?,
        medium: r.try_get(5).map_err(decode_err)?,
        low: r.try_get(6).map_err(decode_err)?,
        errors: r.try_get(7).map_err(decode_err)?,
        source: text(8)?,
        report: text(9)?,
        sarif: text(10)?,
    })
}

impl Store {
    /// Stores a report.
    pub async fn save_audit_report(&self, r: &AuditReportRow) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO audit_reports ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        )))
        .bind(r.id.as_str())
        .bind(r.created_ms)
        .bind(r.actor.as_str())
        .bind(r.name.as_str())
        .bind(r.high)
        .bind(r.medium)
        .bind(r.low)
        .bind(r.errors)
        .bind(r.source.as_str())
        .bind(r.report.as_str())
        .bind(r.sarif.as_str())
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(|e| StoreError::query("insert audit report", e))
    }

    /// The newest `limit` reports, newest first, without their texts.
    pub async fn audit_reports(&self, limit: i64) -> Result<Vec<AuditReportRow>> {
        let rows = sqlx::query(
            "SELECT id, created_ms, actor, name, high, medium, low, errors, '', '', '' FROM audit_reports
             ORDER BY created_ms DESC, id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(|e| StoreError::query("list audit reports", e))?;
        rows.iter().map(|r| decode(r, false)).collect()
    }

    /// One report with its texts.
    pub async fn audit_report(&self, id: &str) -> Result<Option<AuditReportRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM audit_reports WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| StoreError::query("read audit report", e))?;
        row.map(|r| decode(&r, true)).transpose()
    }
}
