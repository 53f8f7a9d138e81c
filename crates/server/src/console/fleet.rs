//! The fleet overview at `/`: one tile per node grouped by chain, a summary per chain, a
//! filter, and tiles that refresh themselves (htmx polls `/ui/fleet` with the same filter).

use super::{Ctx, Page, fmt, page, render};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chainops_auth::Permission;
use chainops_core::time::now_ms;
use chainops_monitor::fleet::NodeReport;
use serde::Deserialize;

/// The routes.
pub static PAGE: Page = Page {
    routes: &[
        page(
            "GET",
            "/",
            Permission::Public,
            None,
            "Console: the fleet overview, or the login form without a session",
            || get(index),
        ),
        page(
            "GET",
            "/ui/fleet",
            Permission::ReadFleet,
            None,
            "Console fragment: the fleet tiles (auto-refresh)",
            || get(tiles),
        ),
    ],
    nav: Some(("nav.fleet", "/", Permission::ReadFleet)),
};

/// Filter of the fleet page.
#[derive(Deserialize, Default)]
pub struct Filter {
    /// Substring of node name, chain, client or family.
    #[serde(default)]
    q: String,
    /// Only nodes in this status.
    #[serde(default)]
    status: String,
    /// After login, the page asked for.
    next: Option<String>,
}

/// One node's tile.
pub struct Tile {
    /// Node name.
    pub name: String,
    /// Link to its page.
    pub href: String,
    /// Family.
    pub kind: &'static str,
    /// Status as the API names it.
    pub status: &'static str,
    /// Height.
    pub height: String,
    /// Head age.
    pub head_age: String,
    /// Blocks behind the chain's best.
    pub behind: String,
    /// Peers.
    pub peers: String,
    /// Client version.
    pub client: String,
    /// Last error, if the last poll failed.
    pub error: String,
}

/// A chain's group of tiles, headed by its summary (the one `GET /api/v1/chains` gives).
pub struct ChainGroup {
    /// Chain name.
    pub chain: String,
    /// Its families (`evm`, `monero + evm`).
    pub families: String,
    /// Best height among its nodes.
    pub best: String,
    /// Nodes `ok`.
    pub ok: usize,
    /// Nodes of the chain.
    pub total: usize,
    /// `yes`, `lost` or `unknown` (not every node polled yet): a catalog key.
    pub quorum: &'static str,
    /// Open (pending or firing) alerts on the chain.
    pub open_alerts: usize,
    /// Backup state (`none`, `ok`, `never`, `failing`, `overdue`).
    pub backups: &'static str,
    /// Its catalog key.
    pub backups_key: &'static str,
    /// The lag distribution as bar segments.
    pub lag: LagBar,
    /// Tiles.
    pub tiles: Vec<Tile>,
}

/// A stacked bar of a chain's nodes by blocks behind (an SVG of `WIDTH` units).
pub struct LagBar {
    /// (bucket label, nodes, x, width, CSS class) per non-empty bucket, unknown last.
    pub segments: Vec<(String, usize, u32, u32, &'static str)>,
    /// The same as text (`0: 3 · 1-2: 1 · ?: 1`), for screen readers and the tooltip.
    pub text: String,
    /// Largest lag, blocks.
    pub max: String,
}

impl LagBar {
    /// Width of the bar in SVG units.
    pub const WIDTH: u32 = 200;

    fn of(lag: &chainops_monitor::chains::LagDistribution) -> LagBar {
        const CLASSES: &[&str] = &["lag-0", "lag-1", "lag-2", "lag-3", "lag-4"];
        let mut parts: Vec<(String, usize, &'static str)> = lag
            .buckets
            .iter()
            .enumerate()
            .filter(|(_, b)| b.nodes > 0)
            .map(|(i, b)| (b.blocks.clone(), b.nodes, CLASSES[i.min(CLASSES.len() - 1)]))
            .collect();
        if lag.unknown > 0 {
            parts.push(("?".into(), lag.unknown, "lag-unknown"));
        }
        let total: usize = parts.iter().map(|p| p.1).sum::<usize>().max(1);
        let mut x = 0;
        let segments = parts
            .iter()
            .map(|(label, n, class)| {
                let w = (*n as u32 * Self::WIDTH) / total as u32;
                let seg = (label.clone(), *n, x, w.max(1), *class);
                x += w;
                seg
            })
            .collect();
        let text = parts
            .iter()
            .map(|(label, n, _)| format!("{label}: {n}"))
            .collect::<Vec<_>>()
            .join(" · ");
        LagBar {
            segments,
            text,
            max: fmt::num(lag.max),
        }
    }
}

/// What the tiles show.
pub struct TilesData {
    /// Groups by chain.
    pub groups: Vec<ChainGroup>,
    /// Nodes in all.
    pub nodes: usize,
    /// Nodes shown.
    pub shown: usize,
    /// The refresh URL (same filter).
    pub refresh: String,
}

/// The tiles alone: the refresh fragment.
#[derive(Template)]
#[template(path = "fleet_tiles.html")]
pub struct Tiles {
    /// Context.
    pub c: Ctx,
    /// The tiles.
    pub d: TilesData,
}

/// The fleet page.
#[derive(Template)]
#[template(path = "fleet.html")]
pub struct FleetPage {
    /// Context.
    pub c: Ctx,
    /// The tiles.
    pub d: TilesData,
    /// Filter text.
    pub q: String,
    /// Status filter.
    pub status: String,
    /// Status names for the filter.
    pub statuses: &'static [&'static str],
}

const STATUSES: &[&str] = &["ok", "syncing", "lagging", "stalled", "down"];

fn tile(r: &NodeReport) -> Tile {
    Tile {
        href: format!("/nodes/{}", super::urlencode(&r.name)),
        name: r.name.clone(),
        kind: r.kind.as_str(),
        status: r.status.as_str(),
        height: fmt::num(r.height),
        head_age: fmt::age(r.head_age_seconds),
        behind: fmt::num(r.blocks_behind),
        peers: fmt::num(r.peers),
        client: r.client_version.clone().unwrap_or_default(),
        error: if r.up {
            String::new()
        } else {
            r.last_error.clone().unwrap_or_default()
        },
    }
}

/// Does node `r` pass the filter (`q` is the search text, trimmed and lower-cased once)?
fn matches(r: &NodeReport, f: &Filter, q: &str) -> bool {
    (f.status.is_empty() || r.status.as_str() == f.status)
        && (q.is_empty()
            || r.name.to_lowercase().contains(q)
            || r.chain.to_lowercase().contains(q)
            || r.kind.as_str().contains(q)
            || r.client_version
                .as_deref()
                .is_some_and(|v| v.to_lowercase().contains(q)))
}

async fn build(s: &AppState, f: &Filter) -> TilesData {
    let reports = s.live().fleet.reports(now_ms());
    let summaries = crate::chain_routes::summaries(s, &reports).await;
    let q = f.q.trim().to_lowercase();
    let mut shown = 0;
    let groups = summaries
        .into_iter()
        .filter_map(|c| {
            let mut tiles: Vec<Tile> = reports
                .iter()
                .filter(|r| r.chain == c.report.chain && matches(r, f, &q))
                .map(tile)
                .collect();
            if tiles.is_empty() {
                return None;
            }
            tiles.sort_by(|a, b| a.name.cmp(&b.name));
            shown += tiles.len();
            let r = &c.report;
            Some(ChainGroup {
                families: r
                    .families
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(" + "),
                best: fmt::num(r.best_height),
                ok: r.statuses.ok,
                total: r.nodes,
                quorum: match r.quorum {
                    Some(true) => "fleet.quorum_yes",
                    Some(false) => "fleet.quorum_no",
                    None => "fleet.quorum_unknown",
                },
                open_alerts: c.open_alerts.total(),
                backups: c.backups.state,
                backups_key: match c.backups.state {
                    "ok" => "fleet.backup_ok",
                    "never" => "fleet.backup_never",
                    "failing" => "fleet.backup_failing",
                    _ => "fleet.backup_overdue",
                },
                lag: LagBar::of(&r.lag),
                chain: r.chain.clone(),
                tiles,
            })
        })
        .collect();
    let query = serde_urlencoded::to_string([("q", f.q.as_str()), ("status", f.status.as_str())])
        .unwrap_or_default();
    TilesData {
        groups,
        nodes: reports.len(),
        shown,
        refresh: format!("/ui/fleet?{query}"),
    }
}

async fn index(State(s): State<AppState>, c: Ctx, Query(f): Query<Filter>) -> Response {
    if c.user.is_none() {
        return super::login::form(&s, c, f.next.as_deref()).await;
    }
    let (q, status) = (f.q.clone(), f.status.clone());
    let d = build(&s, &f).await;
    render(
        StatusCode::OK,
        FleetPage {
            c,
            d,
            q,
            status,
            statuses: STATUSES,
        },
    )
}

async fn tiles(State(s): State<AppState>, c: Ctx, Query(f): Query<Filter>) -> Response {
    let d = build(&s, &f).await;
    render(StatusCode::OK, Tiles { c, d })
}
