//! The public status page: `/status` (every chain) and `/status/{chain}` without login —
//! each chain's state now (`operational`, `degraded`, `outage`, `maintenance`: from the
//! monitors' node statuses and the chain's quorum, `chainops_desk::status`), 90 days of
//! uptime bars from the recorded `chain_quorum` series, incidents with the operators' updates and
//! post-mortem, maintenance windows — and its Atom feed; `GET /api/v1/status` is the same as
//! JSON. `/status/manage` is where operators and support write incidents, and where those
//! who may silence alerts schedule maintenance (a window silences the chain's alerts while it
//! runs, so it takes `operate_alerts`).

use super::{Ctx, Page, page, render, see_other};
use crate::AppState;
use crate::error::ApiError;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json};
use chainops_auth::{Permission, Principal};
use chainops_core::time::{now_ms, rfc3339};
use chainops_desk::notices;
use chainops_desk::status::{Bucket, ChainState, Day, chain_state, daily_uptime, overall};
use chainops_store::series::Resolution;
use chainops_store::status_page::{MaintenanceRow, StatusIncidentRow, StatusUpdateRow};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{LazyLock, Mutex};

/// The routes.
pub static PAGE: Page = Page {
    routes: &[
        page(
            "GET",
            "/status",
            Permission::Public,
            None,
            "Public status page: every chain's state, 90-day uptime, incidents, maintenance",
            || get(status_page),
        ),
        page(
            "GET",
            "/status/feed.atom",
            Permission::Public,
            None,
            "Public status page: incidents and maintenance as an Atom feed",
            || get(feed),
        ),
        page(
            "GET",
            "/status/manage",
            Permission::ManageStatus,
            None,
            "Console: write status-page incidents and updates, schedule maintenance",
            || get(manage_page),
        ),
        page(
            "GET",
            "/status/{chain}",
            Permission::Public,
            None,
            "Public status page of one chain, with its incident history and post-mortems",
            || get(chain_page),
        ),
        page(
            "POST",
            "/status/incidents",
            Permission::ManageStatus,
            Some("statuspage.incident"),
            "Console form: open a status-page incident",
            || post(open_incident),
        ),
        page(
            "POST",
            "/status/incidents/{id}/updates",
            Permission::ManageStatus,
            Some("statuspage.update"),
            "Console form: post an update to a status-page incident (state resolved resolves it)",
            || post(add_update),
        ),
        page(
            "POST",
            "/status/incidents/{id}/postmortem",
            Permission::ManageStatus,
            Some("statuspage.postmortem"),
            "Console form: write a status-page incident's post-mortem (Markdown)",
            || post(set_postmortem),
        ),
        page(
            "POST",
            "/status/maintenance",
            Permission::OperateAlerts,
            Some("statuspage.maintenance"),
            "Console form: schedule a maintenance window (silences the chain's alerts while it runs)",
            || post(schedule_maintenance),
        ),
    ],
    nav: Some(("nav.status", "/status/manage", Permission::ManageStatus)),
};

/// Days of uptime shown.
const DAYS: usize = 90;
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

/// The public page (all chains or one).
#[derive(Template)]
#[template(path = "status.html")]
pub struct StatusPage {
    /// Context (without the viewer: the page is the same for everyone).
    pub c: Ctx,
    /// The chain of a one-chain page.
    pub chain: Option<String>,
    /// The worst state shown.
    pub banner: &'static str,
    /// Catalog key of the banner's sentence.
    pub banner_key: &'static str,
    /// Chains.
    pub chains: Vec<ChainView>,
    /// Incidents: open ones, and (on a chain's page) the last 90 days'.
    pub incidents: Vec<IncidentView>,
    /// Running and upcoming maintenance.
    pub windows: Vec<WindowView>,
}

/// The operators' page.
#[derive(Template)]
#[template(path = "status_manage.html")]
pub struct ManagePage {
    /// Context.
    pub c: Ctx,
    /// Chains to pick from.
    pub chains: Vec<String>,
    /// Incidents still open or updated in the last 90 days.
    pub incidents: Vec<IncidentView>,
    /// Running and upcoming maintenance.
    pub windows: Vec<WindowView>,
    /// The incident states.
    pub states: &'static [&'static str],
    /// May the viewer schedule maintenance (it silences alerts)?
    pub may_schedule: bool,
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

/// Every chain's view now, in config order; `only` restricts it to one chain.
async fn chains(s: &AppState, only: Option<&str>, now: i64) -> Vec<ChainView> {
    let reports = s.live().fleet.reports(now);
    let running: Vec<MaintenanceRow> = s
        .store
        .maintenance_windows(now)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.starts_ms <= now)
        .collect();
    let mut order: Vec<String> = Vec::new();
    for r in &reports {
        if !order.contains(&r.chain) && only.is_none_or(|c| c == r.chain) {
            order.push(r.chain.clone());
        }
    }
    let mut out = Vec::with_capacity(order.len());
    for chain in order {
        let mine: Vec<_> = reports.iter().filter(|r| r.chain == chain).collect();
        let statuses: Vec<_> = mine.iter().map(|r| r.status).collect();
        let in_maintenance = running
            .iter()
            .any(|m| m.chain == chain || m.chain.is_empty());
        let state = chain_state(&statuses, in_maintenance);
        let days = uptime(s, &chain, now).await;
        out.push(ChainView {
            state: state.as_str(),
            nodes: (
                statuses
                    .iter()
                    .filter(|s| **s == chainops_core::node::NodeStatus::Ok)
                    .count(),
                statuses.len(),
            ),
            uptime: overall(&days).map(percent).unwrap_or_default(),
            bars: bars(&days),
            name: chain,
        });
    }
    out
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

/// The catalog key of the banner for `state`.
fn banner_key(state: &str) -> &'static str {
    match state {
        "outage" => "status.banner_outage",
        "degraded" => "status.banner_degraded",
        "maintenance" => "status.banner_maintenance",
        _ => "status.banner_operational",
    }
}

/// The page for everyone: no viewer, no navigation, no CSRF token, so it can be cached.
fn public(mut c: Ctx) -> Ctx {
    c.user = None;
    c.nav = Vec::new();
    c.csrf = String::new();
    c
}

/// A public answer: cacheable for 30 s, per language.
fn cacheable(mut r: Response) -> Response {
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

async fn incidents_of(
    s: &AppState,
    chain: Option<&str>,
    history: bool,
    now: i64,
) -> Vec<IncidentView> {
    let since = if history {
        now - DAYS as i64 * 86_400_000
    } else {
        now
    };
    s.store
        .status_incidents(since)
        .await
        .unwrap_or_default()
        .iter()
        .filter(|(i, _)| chain.is_none_or(|c| i.chain.is_empty() || i.chain == c))
        .map(|(i, u)| incident_view(i, u))
        .collect()
}

async fn windows_of(s: &AppState, chain: Option<&str>, now: i64) -> Vec<WindowView> {
    s.store
        .maintenance_windows(now)
        .await
        .unwrap_or_default()
        .iter()
        .filter(|m| chain.is_none_or(|c| m.chain.is_empty() || m.chain == c))
        .map(|m| window_view(m, now))
        .collect()
}

async fn status_page(State(s): State<AppState>, c: Ctx) -> Response {
    let now = now_ms();
    let chains = chains(&s, None, now).await;
    let page = StatusPage {
        c: public(c),
        chain: None,
        banner: worst(&chains),
        banner_key: banner_key(worst(&chains)),
        chains,
        incidents: incidents_of(&s, None, false, now).await,
        windows: windows_of(&s, None, now).await,
    };
    cacheable(render(StatusCode::OK, page))
}

async fn chain_page(State(s): State<AppState>, c: Ctx, Path(chain): Path<String>) -> Response {
    let now = now_ms();
    let chains = chains(&s, Some(&chain), now).await;
    if chains.is_empty() {
        return super::error_page(
            public(c),
            ApiError::not_found(format!(
                "no chain named \"{}\"; /status lists them",
                chain.chars().take(100).collect::<String>()
            )),
        );
    }
    let page = StatusPage {
        c: public(c),
        banner: worst(&chains),
        banner_key: banner_key(worst(&chains)),
        chains,
        incidents: incidents_of(&s, Some(&chain), true, now).await,
        windows: windows_of(&s, Some(&chain), now).await,
        chain: Some(chain),
    };
    cacheable(render(StatusCode::OK, page))
}

/// `GET /api/v1/status`: the page as JSON.
pub(crate) async fn api_status(State(s): State<AppState>) -> Response {
    let now = now_ms();
    let chains = chains(&s, None, now).await;
    let body = json!({
        "state": worst(&chains),
        "chains": chains.iter().map(|c| json!({
            "name": c.name, "state": c.state, "nodes_ok": c.nodes.0, "nodes": c.nodes.1,
            "uptime_90d": c.uptime,
        })).collect::<Vec<_>>(),
        "incidents": incidents_of(&s, None, false, now).await.iter().map(|i| json!({
            "id": i.id, "chain": i.chain, "title": i.title, "state": i.state, "opened": i.opened,
        })).collect::<Vec<_>>(),
        "maintenance": windows_of(&s, None, now).await.iter().map(|w| json!({
            "chain": w.chain, "title": w.title, "starts": w.starts, "ends": w.ends, "running": w.running,
        })).collect::<Vec<_>>(),
    });
    cacheable(Json(body).into_response())
}

/// XML text escaping for the feed.
fn xml(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .fold(String::with_capacity(s.len()), |mut o, c| {
            match c {
                '<' => o.push_str("&lt;"),
                '>' => o.push_str("&gt;"),
                '&' => o.push_str("&amp;"),
                '"' => o.push_str("&quot;"),
                _ => o.push(c),
            }
            o
        })
}

async fn feed(State(s): State<AppState>, c: Ctx) -> Response {
    let now = now_ms();
    let t = c.t;
    let mut entries = String::new();
    let mut newest = 0i64;
    for (i, updates) in s
        .store
        .status_incidents(now - DAYS as i64 * 86_400_000)
        .await
        .unwrap_or_default()
    {
        newest = newest.max(i.updated_ms);
        let last = updates.first().map(|u| u.body.as_str()).unwrap_or_default();
        entries.push_str(&format!(
            "<entry><id>urn:chainops:status:incident:{id}</id><title>{title}</title><updated>{updated}</updated><link href=\"/status/{chain}\"/><summary>{state}: {last}</summary></entry>",
            id = xml(&i.id),
            title = xml(&format!("[{}] {}", i.state, i.title)),
            updated = rfc3339(i.updated_ms),
            chain = super::urlencode(&i.chain),
            state = xml(&i.state),
            last = xml(last),
        ));
    }
    for m in s.store.maintenance_windows(now).await.unwrap_or_default() {
        entries.push_str(&format!(
            "<entry><id>urn:chainops:status:maintenance:{id}</id><title>{title}</title><updated>{updated}</updated><link href=\"/status/{chain}\"/><summary>{starts} – {ends}</summary></entry>",
            id = xml(&m.id),
            title = xml(&format!("{}: {}", t.t("status.maintenance"), m.title)),
            updated = rfc3339(m.starts_ms),
            chain = super::urlencode(&m.chain),
            starts = rfc3339(m.starts_ms),
            ends = rfc3339(m.ends_ms),
        ));
    }
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><id>urn:chainops:status</id><title>{}</title><updated>{}</updated><link rel=\"self\" href=\"/status/feed.atom\"/>{entries}</feed>\n",
        xml(t.t("status.title")),
        rfc3339(if newest > 0 { newest } else { now }),
    );
    cacheable(
        (
            [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
            body,
        )
            .into_response(),
    )
}

async fn manage_page(State(s): State<AppState>, c: Ctx) -> Response {
    let now = now_ms();
    let may_schedule = c.may_operate();
    let mut chains: Vec<String> = Vec::new();
    for r in s.live().fleet.reports(now) {
        if !chains.contains(&r.chain) {
            chains.push(r.chain);
        }
    }
    render(
        StatusCode::OK,
        ManagePage {
            c,
            chains,
            incidents: incidents_of(&s, None, true, now).await,
            windows: windows_of(&s, None, now).await,
            states: &notices::STATES,
            may_schedule,
        },
    )
}

fn refused(r: notices::Refusal) -> ApiError {
    ApiError::invalid(r.0)
}

/// A chain the fleet has, or `""` for every chain when `allow_all`.
fn known_chain(s: &AppState, chain: &str, allow_all: bool) -> Result<String, ApiError> {
    let chain = chain.trim();
    if chain.is_empty() && allow_all {
        return Ok(String::new());
    }
    if s.live()
        .fleet
        .reports(now_ms())
        .iter()
        .any(|r| r.chain == chain)
    {
        Ok(chain.to_string())
    } else {
        Err(ApiError::invalid(format!(
            "\"{}\" is not a monitored chain",
            chain.chars().take(100).collect::<String>()
        )))
    }
}

/// The new-incident form.
#[derive(Deserialize)]
pub struct IncidentForm {
    chain: String,
    title: String,
    state: String,
    message: String,
    #[serde(rename = "_csrf")]
    _csrf: Option<String>,
}

async fn open_incident(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    c: Ctx,
    Form(f): Form<IncidentForm>,
) -> Response {
    let checked = (|| {
        let chain = known_chain(&s, &f.chain, true)?;
        let title = notices::text("title", &f.title, notices::MAX_TITLE).map_err(refused)?;
        let state = notices::state(&f.state).map_err(refused)?;
        let body = notices::text("message", &f.message, notices::MAX_BODY).map_err(refused)?;
        Ok::<_, ApiError>((chain, title.to_string(), state, body.to_string()))
    })();
    let (chain, title, state, body) = match checked {
        Ok(v) => v,
        Err(e) => return super::error_page(c, e),
    };
    let now = now_ms();
    let id = format!("{:016x}", rand::random::<u64>());
    let row = StatusIncidentRow {
        id: id.clone(),
        chain,
        title,
        state: state.into(),
        created_ms: now,
        updated_ms: now,
        resolved_ms: (state == "resolved").then_some(now),
        postmortem: String::new(),
        created_by: who.actor(),
    };
    let first = StatusUpdateRow {
        incident_id: id,
        at_ms: now,
        state: state.into(),
        body,
        author: who.actor(),
    };
    match s.store.open_status_incident(&row, &first).await {
        Ok(()) => see_other("/status/manage"),
        Err(e) => super::error_page(c, ApiError::internal(e.kind(), e)),
    }
}

/// The update form.
#[derive(Deserialize)]
pub struct UpdateForm {
    state: String,
    message: String,
    #[serde(rename = "_csrf")]
    _csrf: Option<String>,
}

async fn add_update(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    c: Ctx,
    Path(id): Path<String>,
    Form(f): Form<UpdateForm>,
) -> Response {
    let checked = notices::state(&f.state).and_then(|state| {
        notices::text("message", &f.message, notices::MAX_BODY).map(|b| (state, b.to_string()))
    });
    let (state, body) = match checked {
        Ok(v) => v,
        Err(r) => return super::error_page(c, refused(r)),
    };
    let u = StatusUpdateRow {
        incident_id: id.clone(),
        at_ms: now_ms(),
        state: state.into(),
        body,
        author: who.actor(),
    };
    match s.store.add_status_update(&u).await {
        Ok(true) => see_other("/status/manage"),
        Ok(false) => super::error_page(c, unknown_incident(&id)),
        Err(e) => super::error_page(c, ApiError::internal(e.kind(), e)),
    }
}

fn unknown_incident(id: &str) -> ApiError {
    ApiError::not_found(format!(
        "no status-page incident \"{}\"; /status/manage lists them",
        id.chars().take(64).collect::<String>()
    ))
}

/// The post-mortem form.
#[derive(Deserialize)]
pub struct PostmortemForm {
    postmortem: String,
    #[serde(rename = "_csrf")]
    _csrf: Option<String>,
}

async fn set_postmortem(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<String>,
    Form(f): Form<PostmortemForm>,
) -> Response {
    let text = match notices::text("postmortem", &f.postmortem, notices::MAX_POSTMORTEM) {
        Ok(t) => t,
        Err(r) => return super::error_page(c, refused(r)),
    };
    match s.store.set_postmortem(&id, text).await {
        Ok(true) => see_other("/status/manage"),
        Ok(false) => super::error_page(c, unknown_incident(&id)),
        Err(e) => super::error_page(c, ApiError::internal(e.kind(), e)),
    }
}

/// The maintenance form.
#[derive(Deserialize)]
pub struct MaintenanceForm {
    chain: String,
    title: String,
    starts: String,
    duration: String,
    #[serde(rename = "_csrf")]
    _csrf: Option<String>,
}

async fn schedule_maintenance(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    c: Ctx,
    Form(f): Form<MaintenanceForm>,
) -> Response {
    let now = now_ms();
    let checked = (|| {
        let chain = known_chain(&s, &f.chain, false)?;
        let title = notices::text("title", &f.title, notices::MAX_TITLE).map_err(refused)?;
        let starts =
            crate::time_param::parse_time("starts", &f.starts, now).map_err(ApiError::invalid)?;
        let length = chainops_core::duration::parse_duration(f.duration.trim())
            .map_err(|e| ApiError::invalid(format!("duration: {e}")))?;
        let ends = starts.saturating_add(i64::try_from(length.as_millis()).unwrap_or(i64::MAX));
        notices::window(starts, ends, now).map_err(refused)?;
        Ok::<_, ApiError>((chain, title.to_string(), starts, ends))
    })();
    let (chain, title, starts, ends) = match checked {
        Ok(v) => v,
        Err(e) => return super::error_page(c, e),
    };
    // The chain's alerts are held while the window runs, like any silence (visible and
    // expirable on the alerts page).
    let silence = crate::routes::SilenceBody {
        matchers: BTreeMap::from([("chain".to_string(), chain.clone())]),
        comment: format!("maintenance: {title}"),
        duration: None,
        starts_at: Some(starts.to_string()),
        ends_at: Some(ends.to_string()),
        allow_unknown_labels: Some(true),
    };
    let silence_id = match crate::routes::silence(&s, &who, silence).await {
        Ok((row, _)) => row.id,
        Err(e) => return super::error_page(c, e),
    };
    let row = MaintenanceRow {
        id: format!("{:016x}", rand::random::<u64>()),
        chain,
        title,
        starts_ms: starts,
        ends_ms: ends,
        silence_id,
        created_by: who.actor(),
    };
    match s.store.create_maintenance(&row).await {
        Ok(()) => see_other("/status/manage"),
        Err(e) => super::error_page(c, ApiError::internal(e.kind(), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::{markdown, xml};

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
        assert_eq!(xml("a<b>&\"\u{0}c"), "a&lt;b&gt;&amp;&quot;c");
    }
}
