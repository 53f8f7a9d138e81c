//! `/tickets/reports`: the support report of the last 7–365 days with charts — SLA
//! attainment per priority, median first response and resolution (business time), the daily
//! backlog, CSAT, NPS, volume by category and chain — its tickets as CSV
//! (`?format=csv`), and NPS campaigns (start one; mailed to recent requesters).

use super::{Ctx, Page, page, render, see_other};
use crate::AppState;
use crate::ticket_routes::{desk, desk_err};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Form};
use chainops_auth::{Permission, Principal};
use chainops_core::time::{now_ms, rfc3339};
use chainops_desk::feedback::Report;
use serde::Deserialize;

/// The routes.
pub static PAGE: Page = Page {
    routes: &[
        page(
            "GET",
            "/tickets/reports",
            Permission::ReadTickets,
            None,
            "Console: the support report with charts (SLA attainment, response times, backlog, CSAT, NPS, volume); ?format=csv for its tickets",
            || get(reports),
        ),
        page(
            "POST",
            "/tickets/reports/nps",
            Permission::WorkTickets,
            Some("survey.nps_campaign"),
            "Console form: start an NPS campaign (mailed to requesters of the last days)",
            || post(start_nps),
        ),
    ],
    nav: None,
};

/// A bar of a chart: label, value shown, length in percent of the longest.
pub struct Bar {
    /// Label.
    pub label: String,
    /// Value as shown.
    pub value: String,
    /// Length, 0–100.
    pub pct: String,
}

/// The page.
#[derive(Template)]
#[template(path = "reports.html")]
pub struct ReportsPage {
    /// Context.
    pub c: Ctx,
    /// Window in days.
    pub days: i64,
    /// Window choices.
    pub choices: [i64; 4],
    /// From / to (RFC 3339).
    pub span: (String, String),
    /// SLA attainment per priority (percent bars).
    pub attainment: Vec<Bar>,
    /// Median first response per priority (bars scaled to the longest).
    pub first_response: Vec<Bar>,
    /// Median resolution per priority.
    pub resolution: Vec<Bar>,
    /// Backlog: SVG polyline points over a 100×40 box, the peak, and the last value.
    pub backlog: (String, u32, u32),
    /// Backlog's first and last day.
    pub backlog_days: (String, String),
    /// CSAT: percent shown, answers.
    pub csat: (String, u32),
    /// NPS: score shown, promoters, passives, detractors.
    pub nps: (String, u32, u32, u32),
    /// Volume by category.
    pub by_category: Vec<Bar>,
    /// Volume by chain.
    pub by_chain: Vec<Bar>,
    /// Tickets opened in the window.
    pub total: u32,
    /// NPS campaigns: name, started, by, invited.
    pub campaigns: Vec<(String, String, String, i64)>,
    /// May start a campaign.
    pub may_work: bool,
    /// Why the last campaign was refused.
    pub error: Option<String>,
}

fn bars(items: Vec<(String, f64, String)>) -> Vec<Bar> {
    let max = items.iter().map(|i| i.1).fold(0.0_f64, f64::max);
    items
        .into_iter()
        .map(|(label, v, value)| Bar {
            label,
            value,
            pct: if max > 0.0 {
                format!("{:.1}", v * 100.0 / max)
            } else {
                "0".into()
            },
        })
        .collect()
}

/// Seconds as a short business-time duration (`3h 20m`).
fn duration(s: i64) -> String {
    chainops_core::duration::format_duration(std::time::Duration::from_secs(s.max(0) as u64))
}

#[derive(Deserialize)]
struct ReportQuery {
    days: Option<String>,
    format: Option<String>,
}

async fn view(s: &AppState, c: Ctx, days: i64, error: Option<String>) -> Response {
    let d = match desk(s) {
        Ok(d) => d,
        Err(e) => return super::error_page(c, e),
    };
    let now = now_ms();
    let (r, campaigns): (Report, _) = match (d.report(days, now).await, d.store().campaigns().await)
    {
        (Ok(r), Ok(cs)) => (r, cs),
        (Err(e), _) => return super::error_page(c, desk_err(e)),
        (_, Err(e)) => return super::error_page(c, desk_err(e.into())),
    };
    let none = c.t.t("reports.none").to_string();
    let attainment = r
        .priorities
        .iter()
        .map(|p| {
            let pct =
                (p.measured > 0).then(|| f64::from(p.attained) * 100.0 / f64::from(p.measured));
            Bar {
                label: p.priority.clone(),
                value: pct.map_or_else(
                    || none.clone(),
                    |v| format!("{v:.0} % ({}/{})", p.attained, p.measured),
                ),
                pct: format!("{:.1}", pct.unwrap_or(0.0)),
            }
        })
        .collect();
    let times = |f: &dyn Fn(&chainops_desk::feedback::PriorityLine) -> Option<i64>| {
        bars(
            r.priorities
                .iter()
                .map(|p| {
                    let v = f(p);
                    (
                        p.priority.clone(),
                        v.unwrap_or(0) as f64,
                        v.map_or_else(|| none.clone(), duration),
                    )
                })
                .collect(),
        )
    };
    let first_response = times(&|p| p.median_first_response_s);
    let resolution = times(&|p| p.median_resolution_s);
    let peak = r.backlog.iter().map(|b| b.1).max().unwrap_or(0);
    let n = r.backlog.len().max(2) - 1;
    let points = r
        .backlog
        .iter()
        .enumerate()
        .map(|(i, (_, v))| {
            let x = i as f64 * 100.0 / n as f64;
            let y = 38.0
                - if peak > 0 {
                    f64::from(*v) * 36.0 / f64::from(peak)
                } else {
                    0.0
                };
            format!("{x:.1},{y:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ");
    let day = |ms: Option<&(i64, u32)>| {
        ms.map(|b| rfc3339(b.0)[..10].to_string())
            .unwrap_or_default()
    };
    let volume = |v: &[(String, u32)], chain: bool| {
        bars(
            v.iter()
                .map(|(k, n)| {
                    let label = if chain {
                        if k.is_empty() {
                            c.t.t("reports.no_chain").to_string()
                        } else {
                            k.clone()
                        }
                    } else {
                        super::category_label(c.t, k)
                    };
                    (label, f64::from(*n), n.to_string())
                })
                .collect(),
        )
    };
    let page = ReportsPage {
        days,
        choices: [7, 30, 90, 365],
        span: (rfc3339(r.from_ms), rfc3339(r.to_ms)),
        attainment,
        first_response,
        resolution,
        backlog: (points, peak, r.backlog.last().map_or(0, |b| b.1)),
        backlog_days: (day(r.backlog.first()), day(r.backlog.last())),
        csat: (
            r.csat_percent()
                .map_or_else(|| none.clone(), |v| format!("{v:.0} %")),
            r.csat.0,
        ),
        nps: (
            r.nps_score()
                .map_or_else(|| none.clone(), |v| format!("{v:+.0}")),
            r.nps.0,
            r.nps.1,
            r.nps.2,
        ),
        by_category: volume(&r.by_category, false),
        by_chain: volume(&r.by_chain, true),
        total: r.rows.len() as u32,
        campaigns: campaigns
            .into_iter()
            .map(|k| (k.name, rfc3339(k.created_ms), k.created_by, k.invited))
            .collect(),
        may_work: c.may(&Permission::WorkTickets),
        error,
        c,
    };
    render(StatusCode::OK, page)
}

fn days_of(text: Option<&str>) -> i64 {
    text.and_then(|d| d.parse::<i64>().ok())
        .filter(|d| (1..=chainops_desk::feedback::MAX_DAYS).contains(d))
        .unwrap_or(30)
}

async fn reports(State(s): State<AppState>, c: Ctx, Query(q): Query<ReportQuery>) -> Response {
    let days = days_of(q.days.as_deref());
    if q.format.as_deref() == Some("csv") {
        let r = match desk(&s) {
            Ok(d) => d.report(days, now_ms()).await.map_err(desk_err),
            Err(e) => Err(e),
        };
        return match r {
            Ok(r) => super::attachment(
                r.csv(),
                "text/csv; charset=utf-8",
                &format!("tickets-{days}d.csv"),
            ),
            Err(e) => super::error_page(c, e),
        };
    }
    view(&s, c, days, None).await
}

#[derive(Deserialize)]
struct NpsForm {
    #[serde(rename = "_csrf")]
    _csrf: Option<String>,
    name: String,
    days: String,
}

async fn start_nps(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    c: Ctx,
    Form(f): Form<NpsForm>,
) -> Response {
    let days = f.days.trim().parse::<i64>().unwrap_or(0);
    let result = match desk(&s) {
        Ok(d) => d
            .start_nps(&f.name, days, &who.actor(), now_ms())
            .await
            .map_err(desk_err),
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => see_other("/tickets/reports#nps"),
        Err(e) => view(&s, c, 30, Some(e.message)).await,
    }
}
