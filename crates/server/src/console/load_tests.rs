//! Load tests: the runs recorded with the daemon (`chainops bench run --record`, `bench
//! record FILE`, or a report uploaded here), each run's report with the same tables and
//! charts as the standalone HTML report (`bench run --html`), and two runs compared.

use super::{Ctx, Page, page, render, see_other};
use crate::AppState;
use crate::bench_routes;
use crate::error::ApiError;
use askama::Template;
use axum::Extension;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use chainops_auth::{Permission, Principal};
use chainops_bench::Report;
use chainops_bench::compare::{Comparison, compare};
use chainops_store::bench_runs::BenchRunRow;
use serde::Deserialize;

/// The routes.
pub static PAGE: Page = Page {
    routes: &[
        page(
            "GET",
            "/bench",
            Permission::ReadFleet,
            None,
            "Console: recorded load-test runs; compare two; upload a report",
            || get(list_page),
        ),
        page(
            "POST",
            "/bench",
            Permission::RecordBench,
            Some("bench.record"),
            "Console form: upload a load-test report (multipart, field `report`)",
            || {
                post(upload).layer(axum::extract::DefaultBodyLimit::max(
                    crate::limits::MAX_UPLOAD_BYTES,
                ))
            },
        ),
        page(
            "GET",
            "/bench/runs/{id}",
            Permission::ReadFleet,
            None,
            "Console: one load-test report with its charts",
            || get(run_page),
        ),
        page(
            "GET",
            "/bench/runs/{id}/download",
            Permission::ReadFleet,
            None,
            "Console: a load-test report as JSON (`?format=json`) or standalone HTML (`?format=html`)",
            || get(download),
        ),
        page(
            "GET",
            "/bench/compare",
            Permission::ReadFleet,
            None,
            "Console: two load-test runs compared (`?a=ID&b=ID`)",
            || get(compare_page),
        ),
    ],
    nav: Some(("nav.bench", "/bench", Permission::ReadFleet)),
};

/// Runs listed.
const LISTED: i64 = 200;

/// A run as the list shows it.
pub struct RunItem {
    /// Id.
    pub id: String,
    /// When the run started (RFC 3339).
    pub started: String,
    /// Who recorded it.
    pub actor: String,
    /// Workload.
    pub workload: String,
    /// Target URL.
    pub target: String,
    /// Family and chain.
    pub chain: String,
    /// Confirmed / submitted.
    pub confirmed: String,
    /// Throughput (tx/s).
    pub throughput: String,
    /// p95 latency (s).
    pub p95: String,
    /// Bottleneck of the last round.
    pub bottleneck: String,
}

fn item(r: &BenchRunRow) -> RunItem {
    RunItem {
        id: r.id.clone(),
        started: r.started_at.clone(),
        actor: r.actor.clone(),
        workload: r.workload.clone(),
        target: r.target.clone(),
        chain: r.chain.clone(),
        confirmed: format!("{} / {}", r.confirmed, r.submitted),
        throughput: format!("{:.1}", r.throughput),
        p95: format!("{:.3}", r.p95),
        bottleneck: r.bottleneck.clone(),
    }
}

/// The list page.
#[derive(Template)]
#[template(path = "load_tests.html")]
pub struct ListPage {
    /// Context.
    pub c: Ctx,
    /// Runs, newest first.
    pub runs: Vec<RunItem>,
    /// May the viewer upload a report?
    pub may_record: bool,
}

async fn list_page(State(s): State<AppState>, c: Ctx) -> Response {
    let runs = match s.store.bench_runs(LISTED).await {
        Ok(r) => r.iter().map(item).collect(),
        Err(e) => return super::error_page(c, ApiError::internal(e.kind(), e)),
    };
    let may_record = c.may(&Permission::RecordBench);
    render(
        StatusCode::OK,
        ListPage {
            c,
            runs,
            may_record,
        },
    )
}

/// Reads the uploaded `report` file of the multipart form.
async fn uploaded(form: Multipart) -> Result<Vec<u8>, ApiError> {
    super::uploaded_file(form, "report")
        .await?
        .map(|(_, bytes)| bytes)
        .ok_or_else(|| {
            ApiError::invalid(
                "no report in the form: choose the JSON file `chainops bench run --out` wrote",
            )
        })
}

async fn upload(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    c: Ctx,
    form: Multipart,
) -> Response {
    let bytes = match uploaded(form).await {
        Ok(b) => b,
        Err(e) => return super::error_page(c, e),
    };
    match bench_routes::record(&s, &who, &bytes).await {
        Ok(row) => see_other(&format!("/bench/runs/{}", super::urlencode(&row.id))),
        Err(e) => super::error_page(c, e),
    }
}

/// One run's page.
#[derive(Template)]
#[template(path = "load_test_run.html")]
pub struct RunPage {
    /// Context.
    pub c: Ctx,
    /// Summary.
    pub run: RunItem,
    /// Rounds.
    pub rounds: i64,
    /// The report's tables and charts (rendered and escaped by `chainops_bench::html`).
    pub body: String,
    /// Other runs to compare with: (id, label).
    pub others: Vec<(String, String)>,
}

fn parse(row: &BenchRunRow) -> Result<Report, ApiError> {
    Report::parse(row.report.as_bytes()).map_err(|e| {
        ApiError::invalid(format!(
            "the stored report of run {} cannot be read: {e}",
            row.id
        ))
    })
}

/// `workload · started · target`, to pick a run by.
fn label(r: &BenchRunRow) -> String {
    format!("{} · {} · {}", r.workload, r.started_at, r.target)
}

async fn run_page(State(s): State<AppState>, c: Ctx, Path(id): Path<String>) -> Response {
    let row = match bench_routes::load(&s, &id).await {
        Ok(r) => r,
        Err(e) => return super::error_page(c, e),
    };
    let report = match parse(&row) {
        Ok(r) => r,
        Err(e) => return super::error_page(c, e),
    };
    let body = tokio::task::spawn_blocking(move || chainops_bench::html::render_body(&report))
        .await
        .unwrap_or_default();
    let others = s
        .store
        .bench_runs(LISTED)
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.id != row.id)
        .map(|r| (r.id.clone(), label(r)))
        .collect();
    render(
        StatusCode::OK,
        RunPage {
            run: item(&row),
            rounds: row.rounds,
            body,
            others,
            c,
        },
    )
}

async fn download(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<String>,
    Query(q): Query<super::FormatQuery>,
) -> Response {
    let row = match bench_routes::load(&s, &id).await {
        Ok(r) => r,
        Err(e) => return super::error_page(c, e),
    };
    let (body, ctype, ext) = match q.format.as_deref().unwrap_or("json") {
        "json" => (row.report.clone(), "application/json", "json"),
        "html" => match parse(&row) {
            Ok(r) => (
                chainops_bench::html::render(&r),
                "text/html; charset=utf-8",
                "html",
            ),
            Err(e) => return super::error_page(c, e),
        },
        other => {
            return super::error_page(
                c,
                ApiError::invalid(format!("format \"{other}\" is not json or html")),
            );
        }
    };
    super::attachment(body, ctype, &format!("chainops-bench-{}.{ext}", row.id))
}

/// `?a=&b=`.
#[derive(Deserialize)]
pub struct CompareQuery {
    a: Option<String>,
    b: Option<String>,
}

/// One compared metric as the page shows it.
pub struct DeltaRow {
    /// Metric name.
    pub metric: String,
    /// A.
    pub a: String,
    /// B.
    pub b: String,
    /// `+12.5 %`, or empty.
    pub pct: String,
    /// `better`, `worse` or empty.
    pub verdict: &'static str,
    /// Width of the change bar, 0–100 (% of the largest change shown).
    pub bar: u32,
}

/// The comparison page.
#[derive(Template)]
#[template(path = "load_test_compare.html")]
pub struct ComparePage {
    /// Context.
    pub c: Ctx,
    /// Run A.
    pub a: RunItem,
    /// Run B.
    pub b: RunItem,
    /// Rows.
    pub rows: Vec<DeltaRow>,
    /// Bottlenecks of A and B.
    pub bottleneck: (String, String),
    /// Different workloads?
    pub different_workloads: bool,
}

fn number(v: f64) -> String {
    if v.abs() >= 1e15 {
        format!("{v:.3e}")
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

fn rows_of(cmp: &Comparison) -> Vec<DeltaRow> {
    let largest = cmp
        .metrics
        .iter()
        .filter_map(|d| d.change_pct)
        .map(f64::abs)
        .filter(|p| p.is_finite())
        .fold(0.0_f64, f64::max);
    cmp.metrics
        .iter()
        .map(|d| DeltaRow {
            metric: d.metric.clone(),
            a: number(d.a),
            b: number(d.b),
            pct: d.change_pct.map_or(String::new(), |p| format!("{p:+.1} %")),
            verdict: match d.better {
                Some(true) => "better",
                Some(false) => "worse",
                None => "",
            },
            bar: match d.change_pct {
                Some(p) if largest > 0.0 && p.is_finite() => {
                    (p.abs() / largest * 100.0).round().clamp(0.0, 100.0) as u32
                }
                _ => 0,
            },
        })
        .collect()
}

async fn compare_page(
    State(s): State<AppState>,
    c: Ctx,
    Query(q): Query<CompareQuery>,
) -> Response {
    let (Some(a), Some(b)) = (q.a.filter(|v| !v.is_empty()), q.b.filter(|v| !v.is_empty())) else {
        return super::error_page(
            c,
            ApiError::invalid(
                "compare needs two runs: ?a=ID&b=ID (pick them on the load-test page)",
            ),
        );
    };
    let loaded = async {
        let ra = bench_routes::load(&s, &a).await?;
        let rb = bench_routes::load(&s, &b).await?;
        let cmp = compare(&parse(&ra)?, &parse(&rb)?);
        Ok::<_, ApiError>((ra, rb, cmp))
    };
    let (ra, rb, cmp) = match loaded.await {
        Ok(v) => v,
        Err(e) => return super::error_page(c, e),
    };
    render(
        StatusCode::OK,
        ComparePage {
            a: item(&ra),
            b: item(&rb),
            rows: rows_of(&cmp),
            different_workloads: cmp.workload.0 != cmp.workload.1,
            bottleneck: cmp.bottleneck,
            c,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn numbers_read_as_counts_or_three_decimals() {
        assert_eq!(number(3000.0), "3000");
        assert_eq!(number(1421.25), "1421.250");
        assert_eq!(number(-0.5), "-0.500");
        assert_eq!(number(1e300), "1.000e300");
    }
}
