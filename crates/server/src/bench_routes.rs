//! Load-test runs recorded with the daemon: `POST /api/v1/bench/runs` takes a report as
//! `chainops bench run --json` printed it (what `bench run --record` and `bench record`
//! send, and the console's upload), `GET /api/v1/bench/runs` lists them, `GET
//! /api/v1/bench/runs/{id}` returns one report.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiQuery, PageQuery};
use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chainops_auth::Principal;
use chainops_bench::Report;
use chainops_core::time::{now_ms, rfc3339};
use chainops_store::bench_runs::BenchRunRow;
use serde_json::{Value, json};

/// Largest report accepted (an hour-long run with per-second samples is about 2 MB).
pub const MAX_REPORT_BYTES: usize = 16 << 20;
/// Most runs a listing reads.
const MAX_LISTED: i64 = 10_000;

/// A count as the store keeps it (an absurd one saturates).
fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The summary row of a report, and the report as it is kept: re-serialized from what was
/// parsed (unknown fields dropped) with credentials removed from the target URL.
fn row_of(mut r: Report, actor: String) -> BenchRunRow {
    r.target.url = chainops_core::secret::redact_url(&r.target.url);
    BenchRunRow {
        id: format!("{:016x}", rand::random::<u64>()),
        created_ms: now_ms(),
        actor,
        started_at: r.started_at.clone(),
        workload: r.workload.clone(),
        target: r.target.url.clone(),
        chain: format!("{} {}", r.target.kind, r.target.chain),
        client: r.target.client.clone(),
        rounds: r.rounds.len() as i64,
        submitted: count(r.submitted),
        confirmed: count(r.confirmed),
        failed: count(r.failed),
        throughput: r.throughput,
        p95: r.p95,
        bottleneck: r.bottleneck().to_string(),
        report: serde_json::to_string(&r).unwrap_or_default(),
    }
}

/// Checks and stores a report; the error names what is wrong with it.
pub(crate) async fn record(
    s: &AppState,
    who: &Principal,
    bytes: &[u8],
) -> Result<BenchRunRow, ApiError> {
    if bytes.len() > MAX_REPORT_BYTES {
        return Err(ApiError::invalid(format!(
            "the report is {} bytes; at most {MAX_REPORT_BYTES} are accepted",
            bytes.len()
        )));
    }
    let report = Report::parse(bytes).map_err(ApiError::invalid)?;
    let row = row_of(report, who.actor());
    s.store
        .save_bench_run(&row)
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?;
    Ok(row)
}

/// A run's summary as the API shows it.
pub(crate) fn summary(r: &BenchRunRow) -> Value {
    json!({
        "id": r.id, "recorded": rfc3339(r.created_ms), "recorded_by": r.actor,
        "started": r.started_at, "workload": r.workload, "target": r.target,
        "chain": r.chain, "client": r.client, "rounds": r.rounds,
        "submitted": r.submitted, "confirmed": r.confirmed, "failed": r.failed,
        "throughput": r.throughput, "p95": r.p95, "bottleneck": r.bottleneck,
    })
}

/// `POST /api/v1/bench/runs`.
pub(crate) async fn create(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let row = record(&s, &who, &body).await?;
    let mut v = summary(&row);
    v["url"] = json!(format!("/bench/runs/{}", row.id));
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// `GET /api/v1/bench/runs`.
pub(crate) async fn list(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    let page = q.page(100, 1000)?;
    let rows = s
        .store
        .bench_runs(MAX_LISTED)
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?;
    Ok(page.answer(rows.iter(), summary))
}

/// One run's stored row, or 404 naming where runs are listed.
pub(crate) async fn load(s: &AppState, id: &str) -> Result<BenchRunRow, ApiError> {
    s.store
        .bench_run(id)
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no load-test run \"{id}\"; GET /api/v1/bench/runs lists them"
            ))
        })
}

/// `GET /api/v1/bench/runs/{id}`: the report as recorded.
pub(crate) async fn get_one(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = load(&s, &id).await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        row.report,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn absurd_counts_saturate() {
        assert_eq!(count(7), 7);
        assert_eq!(count(u64::MAX), i64::MAX);
    }
}
