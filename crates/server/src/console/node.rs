//! A node's page: every value of its last poll, charts of every stored series over
//! 1 h / 24 h / 7 d / 30 d (drawn by `console.js` with uPlot from `/api/v1/series`), its
//! event timeline, its open alerts and a live tail of its logs.

use super::{Ctx, Page, fmt, page, render};
use crate::AppState;
use crate::error::ApiError;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chainops_auth::Permission;
use chainops_core::time::{now_ms, rfc3339};
use chainops_logs::entry::Level;
use chainops_monitor::history::{RPC_METHOD_PREFIX, rpc_method_metric};
use chainops_store::logs::LogQuery;
use serde::Deserialize;

/// The routes.
pub static PAGE: Page = Page {
    routes: &[
        page(
            "GET",
            "/nodes/{name}",
            Permission::ReadFleet,
            None,
            "Console: one node (values, charts, events, alerts, logs)",
            || get(node_page),
        ),
        page(
            "GET",
            "/ui/nodes/{name}/logs",
            Permission::ReadLogs,
            None,
            "Console fragment: the node's newest log lines (live tail)",
            || get(logs_fragment),
        ),
    ],
    nav: None,
};

/// Chart ranges: (label key, query value, `from` for the series API).
const RANGES: &[(&str, &str, &str)] = &[
    ("range.1h", "1h", "now-1h"),
    ("range.24h", "24h", "now-24h"),
    ("range.7d", "7d", "now-7d"),
    ("range.30d", "30d", "now-30d"),
];

/// Charted series: (metric, catalog key of its title).
const CHARTS: &[(&str, &str)] = &[
    ("height", "node.height"),
    ("block_interval_seconds", "node.block_interval"),
    ("tx_per_second", "node.tx_per_second"),
    ("peers", "node.peers"),
    ("txpool_pending", "node.txpool_pending"),
    ("rpc_latency_seconds", "node.rpc_latency"),
    ("gas_used_ratio", "node.gas_used_ratio"),
    ("base_fee_wei", "node.base_fee"),
    ("head_age_seconds", "node.head_age"),
    ("blocks_behind", "node.behind"),
    ("status", "node.status_code"),
    ("finality_lag_seconds", "node.finality_lag"),
    ("datadir_free_bytes", "node.datadir_free"),
    ("difficulty", "node.difficulty"),
];

/// `?range=`.
#[derive(Deserialize, Default)]
pub struct RangeQuery {
    range: Option<String>,
}

/// A chart placeholder that the script fills.
pub struct Chart {
    /// Title.
    pub title: &'static str,
    /// Metric.
    pub metric: &'static str,
    /// Series API URL; several separated by spaces draw one line each.
    pub src: String,
    /// Names of the lines (space-separated, one per URL) when there are several.
    pub labels: String,
}

/// One log line.
pub struct LogLine {
    /// RFC 3339.
    pub at: String,
    /// Level name.
    pub level: &'static str,
    /// Message (redacted at ingest).
    pub message: String,
}

/// One row of the event timeline.
pub struct EventRow {
    /// RFC 3339.
    pub at: String,
    /// Event kind.
    pub kind: String,
    /// Details as compact JSON.
    pub detail: String,
}

/// Open alert on the node.
pub struct AlertLine {
    /// Rule.
    pub rule: String,
    /// State.
    pub state: String,
    /// Severity.
    pub severity: String,
    /// Summary.
    pub summary: String,
}

/// The node page.
#[derive(Template)]
#[template(path = "node.html")]
pub struct NodePage {
    /// Context.
    pub c: Ctx,
    /// Node name.
    pub name: String,
    /// Status word.
    pub status: &'static str,
    /// (catalog key, value) of the last poll.
    pub facts: Vec<(&'static str, String)>,
    /// Ranges: (label, link, current).
    pub ranges: Vec<(&'static str, String, bool)>,
    /// Charts.
    pub charts: Vec<Chart>,
    /// Events, newest first.
    pub events: Vec<EventRow>,
    /// Open alerts.
    pub alerts: Vec<AlertLine>,
    /// May the viewer read logs?
    pub logs_allowed: bool,
    /// Log tail.
    pub logs: LogTail,
}

/// The log tail (also the refresh fragment).
#[derive(Template)]
#[template(path = "node_logs.html")]
pub struct LogTail {
    /// Refresh URL.
    pub refresh: String,
    /// Lines, newest first.
    pub lines: Vec<LogLine>,
    /// Catalog of the viewer (the fragment has no layout).
    pub t: &'static super::i18n::Catalog,
    /// Logs are not collected on this daemon.
    pub disabled: bool,
}

fn unknown(name: &str) -> ApiError {
    ApiError::not_found(format!(
        "no node named \"{name}\"; the fleet page lists them"
    ))
}

async fn tail(s: &AppState, name: &str, t: &'static super::i18n::Catalog) -> LogTail {
    let refresh = format!("/ui/nodes/{}/logs", super::urlencode(name));
    if s.live().logs.is_none() {
        return LogTail {
            refresh,
            lines: Vec::new(),
            t,
            disabled: true,
        };
    }
    let now = now_ms();
    let q = LogQuery {
        from_ms: now - 86_400_000,
        to_ms: now + 1,
        nodes: vec![name.to_string()],
        limit: 50,
        ..LogQuery::default()
    };
    let lines = match s.store.search_logs(&q).await {
        Ok(rows) => rows
            .into_iter()
            .map(|r| LogLine {
                at: rfc3339(r.ts_ms),
                level: Level::from_number(r.level).as_str(),
                message: r.message,
            })
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "node page: cannot read logs");
            Vec::new()
        }
    };
    LogTail {
        refresh,
        lines,
        t,
        disabled: false,
    }
}

async fn node_page(
    State(s): State<AppState>,
    c: Ctx,
    Path(name): Path<String>,
    Query(q): Query<RangeQuery>,
) -> Response {
    let Some(r) = s.live().fleet.report(&name, now_ms()) else {
        return super::error_page(c, unknown(&name));
    };
    let range = RANGES
        .iter()
        .find(|(_, v, _)| Some(*v) == q.range.as_deref())
        .unwrap_or(&RANGES[0]);
    let enc = super::urlencode(&name);
    let series_url =
        |metric: &str| format!("/api/v1/series?node={enc}&metric={metric}&from={}", range.2);
    let mut charts: Vec<Chart> = CHARTS
        .iter()
        .map(|(metric, key)| Chart {
            title: c.t.t(key),
            metric,
            src: series_url(metric),
            labels: String::new(),
        })
        .collect();
    // RPC latency by method: one line per method the node's collector calls.
    let fleet = s.live().fleet.clone();
    let methods: Vec<&'static str> = fleet
        .index_of(&name)
        .map(|i| fleet.lock(i).rpc.keys().copied().collect())
        .unwrap_or_default();
    let methods: Vec<&'static str> = methods
        .into_iter()
        .filter(|m| rpc_method_metric(m).is_some())
        .collect();
    if !methods.is_empty() {
        charts.push(Chart {
            title: c.t.t("node.rpc_latency_by_method"),
            metric: "rpc_method_latency_seconds",
            src: methods
                .iter()
                .map(|m| series_url(&format!("{RPC_METHOD_PREFIX}{m}")))
                .collect::<Vec<_>>()
                .join(" "),
            labels: methods.join(" "),
        });
    }
    let ranges = RANGES
        .iter()
        .map(|(key, v, _)| (c.t.t(key), format!("/nodes/{enc}?range={v}"), *v == range.1))
        .collect();
    let events = s
        .store
        .recent_events(&name, 50)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|e| EventRow {
            at: rfc3339(e.at_ms),
            kind: e.kind,
            detail: super::fmt::detail(&e.detail),
        })
        .collect();
    let alerts = s
        .store
        .active_alerts()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a.node == name)
        .map(|a| AlertLine {
            rule: a.rule,
            state: a.state.as_str().to_string(),
            severity: a.severity,
            summary: a.summary,
        })
        .collect();
    let pool = r.txpool.as_ref();
    let facts = vec![
        ("node.chain", r.chain.clone()),
        ("node.kind", r.kind.as_str().to_string()),
        ("node.height", fmt::num(r.height)),
        ("node.head_hash", r.head_hash.clone().unwrap_or_default()),
        ("node.head_age", fmt::age(r.head_age_seconds)),
        ("node.behind", fmt::num(r.blocks_behind)),
        ("node.block_interval", fmt::age(r.block_interval_seconds)),
        ("node.tx_per_second", fmt::float(r.tx_per_second)),
        ("node.peers", fmt::num(r.peers)),
        ("node.txpool_pending", fmt::num(pool.map(|p| p.pending))),
        // Reported by some families only: left out (empty) where the node has none.
        (
            "node.peers_in_out",
            r.peers_inbound
                .zip(r.peers_outbound)
                .map(|(i, o)| format!("{i} / {o}"))
                .unwrap_or_default(),
        ),
        (
            "node.difficulty",
            r.difficulty
                .map(|d| fmt::float(Some(d)))
                .unwrap_or_default(),
        ),
        (
            "node.mempool_bytes",
            r.mempool_bytes
                .map(|b| fmt::bytes(b as i64))
                .unwrap_or_default(),
        ),
        (
            "node.chain_db",
            r.chain_db_bytes
                .map(|b| fmt::bytes(b as i64))
                .unwrap_or_default(),
        ),
        ("node.gas_used_ratio", fmt::float(r.gas_used_ratio)),
        ("node.base_fee", r.base_fee_wei.clone().unwrap_or_default()),
        ("node.finalized", fmt::num(r.finalized_height)),
        ("node.client", r.client_version.clone().unwrap_or_default()),
        ("node.chain_id", r.chain_id.clone().unwrap_or_default()),
        ("node.rpc_latency", fmt::age(r.rpc_latency_seconds)),
        ("node.reorgs", r.reorgs_total.to_string()),
        ("node.last_error", r.last_error.clone().unwrap_or_default()),
        ("node.unsupported", r.unsupported.join(", ")),
    ];
    let logs_allowed = c.may(&Permission::ReadLogs);
    let logs = tail(&s, &name, c.t).await;
    render(
        StatusCode::OK,
        NodePage {
            name: r.name,
            status: r.status.as_str(),
            facts,
            ranges,
            charts,
            events,
            alerts,
            logs_allowed,
            logs,
            c,
        },
    )
}

async fn logs_fragment(State(s): State<AppState>, c: Ctx, Path(name): Path<String>) -> Response {
    if s.live().fleet.report(&name, now_ms()).is_none() {
        return super::error_page(c, unknown(&name));
    }
    render(StatusCode::OK, tail(&s, &name, c.t).await)
}
