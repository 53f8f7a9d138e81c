//! Node logs: the query box of `chainops logs search` (same language, see `docs/logs.md`),
//! level, node and chain filters, a time range, paging to older lines, and a live tail of
//! the newest page (htmx polls `/ui/logs` with the same filter). Lines were redacted at
//! ingest; the page shows what is stored.

use super::{Ctx, Page, page, render};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chainops_auth::Permission;
use chainops_core::time::{now_ms, rfc3339};
use chainops_logs::entry::Level;
use chainops_store::logs::LogQuery;
use serde::Deserialize;

/// The routes.
pub static PAGE: Page = Page {
    routes: &[
        page(
            "GET",
            "/logs",
            Permission::ReadLogs,
            None,
            "Console: search and tail node logs",
            || get(logs_page),
        ),
        page(
            "GET",
            "/ui/logs",
            Permission::ReadLogs,
            None,
            "Console fragment: log search results (live tail of the newest page)",
            || get(fragment),
        ),
    ],
    nav: Some(("nav.logs", "/logs", Permission::ReadLogs)),
};

/// Time ranges: (catalog key, value, milliseconds back).
/// The first is the default.
const RANGES: &[(&str, &str, i64)] = &[
    ("range.24h", "24h", 86_400_000),
    ("range.1h", "1h", 3_600_000),
    ("range.7d", "7d", 7 * 86_400_000),
    ("range.30d", "30d", 30 * 86_400_000),
];

/// Lines per page.
const PAGE_LINES: i64 = 100;

/// The form's fields (all optional).
#[derive(Deserialize, Default, Clone)]
pub struct Filter {
    #[serde(default)]
    q: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    node: String,
    #[serde(default)]
    chain: String,
    #[serde(default)]
    range: String,
    #[serde(default)]
    before: String,
}

/// A line.
pub struct Line {
    /// RFC 3339.
    pub at: String,
    /// Node.
    pub node: String,
    /// Level name.
    pub level: &'static str,
    /// Message.
    pub message: String,
    /// Fields as `k=v …`.
    pub fields: String,
}

/// Results (page body and fragment).
pub struct Results {
    /// Lines, newest first.
    pub lines: Vec<Line>,
    /// Link to the next (older) page.
    pub older: Option<String>,
    /// The query's error, if it does not parse.
    pub error: Option<String>,
    /// Refresh URL, for the newest page only.
    pub refresh: Option<String>,
}

/// The page.
#[derive(Template)]
#[template(path = "logs.html")]
pub struct LogsPage {
    /// Context.
    pub c: Ctx,
    /// The filter as typed.
    pub f: Filter,
    /// Node names.
    pub nodes: Vec<String>,
    /// Chain names.
    pub chains: Vec<String>,
    /// Levels.
    pub levels: &'static [&'static str],
    /// Ranges: (label, value, selected).
    pub ranges: Vec<(String, &'static str, bool)>,
    /// Results.
    pub d: Results,
}

/// The fragment.
#[derive(Template)]
#[template(path = "logs_results.html")]
pub struct LogsFragment {
    /// Context.
    pub c: Ctx,
    /// Results.
    pub d: Results,
}

const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "fatal"];

fn query_string(f: &Filter, before: &str) -> String {
    serde_urlencoded::to_string([
        ("q", f.q.as_str()),
        ("level", f.level.as_str()),
        ("node", f.node.as_str()),
        ("chain", f.chain.as_str()),
        ("range", f.range.as_str()),
        ("before", before),
    ])
    .unwrap_or_default()
}

async fn results(s: &AppState, f: &Filter) -> Results {
    let now = now_ms();
    let back = super::range_ms(RANGES, &f.range);
    let mut q = LogQuery {
        from_ms: now - back,
        to_ms: now + 1,
        limit: PAGE_LINES,
        ..LogQuery::default()
    };
    let fail = |m: String| Results {
        lines: Vec::new(),
        older: None,
        error: Some(m),
        refresh: None,
    };
    if let Err(m) = chainops_logs::query::parse(&f.q, &mut q) {
        return fail(m);
    }
    if !f.node.is_empty() {
        q.nodes.push(f.node.clone());
    }
    if !f.chain.is_empty() {
        q.chains.push(f.chain.clone());
    }
    if let Some(l) = Level::parse(&f.level) {
        q.min_level = Some(l.number());
    }
    if !f.before.is_empty() {
        match f
            .before
            .split_once(':')
            .and_then(|(t, i)| Some((t.parse::<i64>().ok()?, i.parse::<i64>().ok()?)))
        {
            Some(b) => q.before = Some(b),
            None => return fail(format!("before \"{}\" is not a page marker", f.before)),
        }
    }
    let rows = match s.store.search_logs(&q).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "logs page: search failed");
            return fail(e.to_string());
        }
    };
    let older = (rows.len() as i64 == q.limit)
        .then(|| rows.last().map(|r| format!("{}:{}", r.ts_ms, r.id)))
        .flatten()
        .map(|b| format!("/logs?{}", query_string(f, &b)));
    let lines = rows
        .into_iter()
        .map(|r| Line {
            at: rfc3339(r.ts_ms),
            level: Level::from_number(r.level).as_str(),
            fields: serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&r.fields)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| match v {
                            serde_json::Value::String(s) => format!("{k}={s}"),
                            other => format!("{k}={other}"),
                        })
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default(),
            node: r.node,
            message: r.message,
        })
        .collect();
    Results {
        lines,
        older,
        error: None,
        refresh: f
            .before
            .is_empty()
            .then(|| format!("/ui/logs?{}", query_string(f, ""))),
    }
}

async fn logs_page(State(s): State<AppState>, c: Ctx, Query(f): Query<Filter>) -> Response {
    let reports = s.live().fleet.reports(now_ms());
    let nodes = reports.iter().map(|r| r.name.clone()).collect();
    let mut chains: Vec<String> = reports.iter().map(|r| r.chain.clone()).collect();
    chains.sort();
    chains.dedup();
    let d = results(&s, &f).await;
    let ranges = super::range_options(c.t, RANGES, &f.range);
    render(
        StatusCode::OK,
        LogsPage {
            c,
            f,
            nodes,
            chains,
            levels: LEVELS,
            ranges,
            d,
        },
    )
}

async fn fragment(State(s): State<AppState>, c: Ctx, Query(f): Query<Filter>) -> Response {
    let d = results(&s, &f).await;
    render(StatusCode::OK, LogsFragment { c, d })
}
