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
use std::collections::BTreeMap;

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

/// A chain's group of tiles.
pub struct ChainGroup {
    /// Chain name.
    pub chain: String,
    /// Best height among its nodes.
    pub best: String,
    /// Nodes `ok`.
    pub ok: usize,
    /// Nodes shown.
    pub total: usize,
    /// Does a majority of its nodes answer and agree (status ok)?
    pub quorum: bool,
    /// Open (pending or firing) alerts on the chain.
    pub open_alerts: usize,
    /// Tiles.
    pub tiles: Vec<Tile>,
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
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    match s.store.active_alerts().await {
        Ok(alerts) => {
            for a in alerts {
                *open.entry(a.chain).or_default() += 1;
            }
        }
        Err(e) => tracing::warn!(error = %e, "fleet page: cannot read alerts"),
    }
    let mut by_chain: BTreeMap<String, Vec<&NodeReport>> = BTreeMap::new();
    for r in &reports {
        by_chain.entry(r.chain.clone()).or_default().push(r);
    }
    let q = f.q.trim().to_lowercase();
    let mut shown = 0;
    let groups = by_chain
        .into_iter()
        .filter_map(|(chain, nodes)| {
            let best = nodes.iter().filter_map(|r| r.height).max();
            let ok_all = nodes.iter().filter(|r| r.status.as_str() == "ok").count();
            let quorum = ok_all * 2 > nodes.len();
            let mut tiles: Vec<Tile> = nodes
                .iter()
                .filter(|r| matches(r, f, &q))
                .map(|r| tile(r))
                .collect();
            if tiles.is_empty() {
                return None;
            }
            tiles.sort_by(|a, b| a.name.cmp(&b.name));
            shown += tiles.len();
            Some(ChainGroup {
                open_alerts: open.get(&chain).copied().unwrap_or(0),
                chain,
                best: fmt::num(best),
                ok: ok_all,
                total: nodes.len(),
                quorum,
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
