//! What the public status page shows, assembled once for its pages (`console::status`) and
//! its JSON (`GET /api/v1/status`): each chain's state and uptime bars, incidents, maintenance.

use crate::AppState;
use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chainops_core::node::NodeStatus;
use chainops_core::time::{now_ms, rfc3339};
use chainops_desk::status::{Bucket, ChainState, Day, chain_state, daily_uptime, overall};
use chainops_store::series::Resolution;
use chainops_store::status_page::{MaintenanceRow, StatusIncidentRow, StatusUpdateRow};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{LazyLock, Mutex};

/// Days of uptime shown.
pub(crate) const DAYS: usize = 90;
/// How long computed uptime bars are reused (reading 90 days of every node's series is the
/// page's only real cost).
const UPTIME_TTL_MS: i64 = 60_000;

/// One day's bar.
pub struct Bar {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `99.95 %` or empty without data.
    pub pct: String,
    /// `up`, `partial`, `down` or `none`.
    pub class: &'static str,
    /// x position in the SVG.
    pub x: usize,
}

/// A chain on the page.
pub struct ChainView {
    /// Name.
    pub name: String,
    /// `operational`, `degraded`, `outage`, `maintenance`.
    pub state: &'static str,
    /// Nodes `ok` / nodes.
    pub nodes: (usize, usize),
    /// Uptime over the days shown, `99.95 %` (empty without data).
    pub uptime: String,
    /// Bars, oldest first.
    pub bars: Vec<Bar>,
}

/// An incident as the page shows it.
pub struct IncidentView {
    /// Id.
    pub id: String,
    /// Chain (empty: all).
    pub chain: String,
    /// Title.
    pub title: String,
    /// State.
    pub state: String,
    /// Opened (RFC 3339).
    pub opened: String,
    /// Resolved?
    pub resolved: bool,
    /// Updates, newest first: (RFC 3339, state, HTML of the Markdown body).
    pub updates: Vec<(String, String, String)>,
    /// Post-mortem as HTML (empty if none).
    pub postmortem: String,
}

/// A maintenance window as the page shows it.
pub struct WindowView {
    /// Chain.
    pub chain: String,
    /// Title.
    pub title: String,
    /// Start (RFC 3339).
    pub starts: String,
    /// End (RFC 3339).
    pub ends: String,
    /// Running now?
    pub running: bool,
}

/// Markdown to HTML for text operators wrote: raw HTML is shown as text, links keep only
/// `http(s)`, relative and fragment targets, images become their alt text.
pub fn markdown(md: &str) -> String {
    use pulldown_cmark::{Event, Tag, TagEnd};
    let safe = |dest: &str| {
        let d = dest.trim();
        d.starts_with("https://")
            || d.starts_with("http://")
            || (d.starts_with('/') && !d.starts_with("//"))
            || d.starts_with('#')
    };
    let mut in_image = false;
    let events = pulldown_cmark::Parser::new(md).filter_map(|e| match e {
        Event::Html(t) | Event::InlineHtml(t) => Some(Event::Text(t)),
        Event::Start(Tag::Image { .. }) => {
            in_image = true;
            None
        }
        Event::End(TagEnd::Image) => {
            in_image = false;
            None
        }
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Some(Event::Start(Tag::Link {
            link_type,
            dest_url: if safe(&dest_url) {
                dest_url
            } else {
                "#".into()
            },
            title,
            id,
        })),
        e if in_image && !matches!(e, Event::Text(_)) => None,
        e => Some(e),
    });
    let mut html = String::with_capacity(md.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

fn incident_view(i: &StatusIncidentRow, updates: &[StatusUpdateRow]) -> IncidentView {
    IncidentView {
        id: i.id.clone(),
        chain: i.chain.clone(),
        title: i.title.clone(),
        state: i.state.clone(),
        opened: rfc3339(i.created_ms),
        resolved: i.resolved_ms.is_some(),
        updates: updates
            .iter()
            .map(|u| (rfc3339(u.at_ms), u.state.clone(), markdown(&u.body)))
            .collect(),
        postmortem: if i.postmortem.is_empty() {
            String::new()
        } else {
            markdown(&i.postmortem)
        },
    }
}

fn window_view(m: &MaintenanceRow, now: i64) -> WindowView {
    WindowView {
        chain: m.chain.clone(),
        title: m.title.clone(),
        starts: rfc3339(m.starts_ms),
        ends: rfc3339(m.ends_ms),
        running: m.starts_ms <= now && now < m.ends_ms,
    }
}

/// Computed uptime days by chain, with when they were computed.
type UptimeCache = BTreeMap<String, (i64, Vec<Day>)>;

/// Uptime bars per chain, reused for [`UPTIME_TTL_MS`].
static UPTIME: LazyLock<Mutex<UptimeCache>> = LazyLock::new(|| Mutex::new(BTreeMap::new()));

/// The chain's `chain_quorum` buckets over the days shown: hour rollups, and minute rollups
/// for the hour not rolled up yet.
async fn uptime(s: &AppState, chain: &str, now: i64) -> Vec<Day> {
    let cached = UPTIME
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(chain)
        .filter(|(at, _)| now - at < UPTIME_TTL_MS)
        .map(|(_, d)| d.clone());
    if let Some(days) = cached {
        return days;
    }
    let hour = now - now.rem_euclid(3_600_000);
    let from = now - DAYS as i64 * 86_400_000;
    let series = [chainops_monitor::history::chain_series(chain)];
    let read = |res: Resolution, from: i64, to: i64, width: i64| {
        let series = &series;
        async move {
            s.history
                .query_many(series, "chain_quorum", from, to, res)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "status page: cannot read the quorum series");
                    Vec::new()
                })
                .into_iter()
                .flatten()
                .map(move |p| Bucket {
                    t: p.t,
                    width,
                    up: p.v,
                })
                .collect::<Vec<_>>()
        }
    };
    let mut buckets = read(Resolution::Hour, from, hour - 1, 3_600_000).await;
    buckets.extend(read(Resolution::Minute, hour, now, 60_000).await);
    let days = daily_uptime(&buckets, now, DAYS);
    // Nothing recorded yet (a fresh daemon): cheap to read again, so not kept.
    if days.iter().any(|d| d.uptime.is_some()) {
        UPTIME
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(chain.to_string(), (now, days.clone()));
    }
    days
}

fn percent(u: f64) -> String {
    if u >= 1.0 {
        "100 %".into()
    } else {
        format!("{:.2} %", (u * 100.0).min(99.99))
    }
}

fn bars(days: &[Day]) -> Vec<Bar> {
    days.iter()
        .enumerate()
        .map(|(i, d)| Bar {
            date: rfc3339(d.start_ms).chars().take(10).collect(),
            pct: d.uptime.map(percent).unwrap_or_default(),
            class: match d.uptime {
                None => "none",
                Some(u) if u >= 1.0 => "up",
                Some(u) if u >= 0.99 => "partial",
                Some(_) => "down",
            },
            x: i * 4,
        })
        .collect()
}

/// What the status page shows at one moment, for every chain or one.
pub(crate) struct Board {
    /// Chains, in config order.
    pub chains: Vec<ChainView>,
    /// The worst state shown.
    pub banner: &'static str,
    /// Open incidents (with a chain: also those of the last 90 days).
    pub incidents: Vec<IncidentView>,
    /// Running and upcoming maintenance.
    pub windows: Vec<WindowView>,
}

/// A store read the public page can do without: logged, and the page shows what it has.
pub(crate) fn or_logged<T: Default>(r: chainops_store::Result<T>, what: &str) -> T {
    r.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "status page: cannot read {what}");
        T::default()
    })
}

/// The board for every chain, or for `only` (`None` when no monitored chain has that name).
pub(crate) async fn board(s: &AppState, only: Option<&str>, now: i64) -> Option<Board> {
    // Each chain's node statuses, grouped in one pass, in config order.
    let mut grouped: Vec<(String, Vec<NodeStatus>)> = Vec::new();
    for r in s.live().fleet.reports(now) {
        if only.is_some_and(|c| c != r.chain) {
            continue;
        }
        match grouped.iter_mut().rev().find(|(c, _)| *c == r.chain) {
            Some((_, statuses)) => statuses.push(r.status),
            None => grouped.push((r.chain, vec![r.status])),
        }
    }
    if only.is_some() && grouped.is_empty() {
        return None;
    }
    let windows = or_logged(s.store.maintenance_windows(now).await, "maintenance");
    let covers = |m: &MaintenanceRow, chain: &str| m.chain.is_empty() || m.chain == chain;
    let mut chains = Vec::with_capacity(grouped.len());
    for (chain, statuses) in grouped {
        let in_maintenance = windows
            .iter()
            .any(|m| m.starts_ms <= now && covers(m, &chain));
        let days = uptime(s, &chain, now).await;
        chains.push(ChainView {
            state: chain_state(&statuses, in_maintenance).as_str(),
            nodes: (
                statuses.iter().filter(|s| **s == NodeStatus::Ok).count(),
                statuses.len(),
            ),
            uptime: overall(&days).map(percent).unwrap_or_default(),
            bars: bars(&days),
            name: chain,
        });
    }
    let since = if only.is_some() {
        now - DAYS as i64 * 86_400_000
    } else {
        now
    };
    Some(Board {
        banner: worst(&chains),
        chains,
        incidents: incidents_of(s, only, since).await,
        windows: windows
            .iter()
            .filter(|m| only.is_none_or(|c| covers(m, c)))
            .map(|m| window_view(m, now))
            .collect(),
    })
}

/// The worst of the states shown (`operational` when there is none).
fn worst(chains: &[ChainView]) -> &'static str {
    [
        ChainState::Outage,
        ChainState::Degraded,
        ChainState::Maintenance,
    ]
    .into_iter()
    .find(|w| chains.iter().any(|c| c.state == w.as_str()))
    .unwrap_or(ChainState::Operational)
    .as_str()
}

/// Incidents still open or updated since `since_ms` (of `chain` and of every chain).
pub(crate) async fn incidents_of(
    s: &AppState,
    chain: Option<&str>,
    since_ms: i64,
) -> Vec<IncidentView> {
    or_logged(s.store.status_incidents(since_ms).await, "incidents")
        .iter()
        .filter(|(i, _)| chain.is_none_or(|c| i.chain.is_empty() || i.chain == c))
        .map(|(i, u)| incident_view(i, u))
        .collect()
}

/// Running and upcoming maintenance windows.
pub(crate) async fn windows(s: &AppState, now: i64) -> Vec<WindowView> {
    or_logged(s.store.maintenance_windows(now).await, "maintenance")
        .iter()
        .map(|m| window_view(m, now))
        .collect()
}

/// `GET /api/v1/status`: the page as JSON.
pub(crate) async fn api_status(
    axum::extract::State(s): axum::extract::State<AppState>,
) -> Response {
    let Some(b) = board(&s, None, now_ms()).await else {
        return cacheable(Json(json!({})).into_response());
    };
    let body = json!({
        "state": b.banner,
        "chains": b.chains.iter().map(|c| json!({
            "name": c.name, "state": c.state, "nodes_ok": c.nodes.0, "nodes": c.nodes.1,
            "uptime_90d": c.uptime,
        })).collect::<Vec<_>>(),
        "incidents": b.incidents.iter().map(|i| json!({
            "id": i.id, "chain": i.chain, "title": i.title, "state": i.state, "opened": i.opened,
        })).collect::<Vec<_>>(),
        "maintenance": b.windows.iter().map(|w| json!({
            "chain": w.chain, "title": w.title, "starts": w.starts, "ends": w.ends, "running": w.running,
        })).collect::<Vec<_>>(),
    });
    cacheable(Json(body).into_response())
}

/// A public answer: cacheable for 30 s, per language.
pub(crate) fn cacheable(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=30"),
    );
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept-Language, Cookie"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::markdown;

    #[test]
    fn operator_markdown_cannot_carry_script_or_foreign_images() {
        let html = markdown(
            "## Cause\n<script>alert(1)</script>\n[ok](https://example.com) [bad](javascript:alert(1)) [rel](/status)\n![x](https://evil.example/p.png) 区块",
        );
        assert!(html.contains("<h2>Cause</h2>"));
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains("href=\"https://example.com\""));
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("href=\"/status\""));
        assert!(
            !html.contains("<img") && !html.contains("evil.example"),
            "{html}"
        );
        assert!(html.contains("区块"));
    }
}
