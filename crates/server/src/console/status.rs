//! The public status page's pages (what they show is assembled in `status_routes`): `/status`
//! (every chain) and `/status/{chain}` without login — each chain's state (`operational`,
//! `degraded`, `outage`, `maintenance`), 90 days of uptime bars, incidents with the operators'
//! updates and post-mortem, maintenance windows — and its Atom feed. `/status/manage` is where
//! operators and support write incidents, and where those who may silence alerts schedule
//! maintenance (a window silences the chain's alerts while it runs, so it takes
//! `operate_alerts`).

use super::{Ctx, Page, page, private, render, see_other};
use crate::AppState;
use crate::error::ApiError;
use crate::status_routes::{
    ChainView, DAYS, IncidentView, WindowView, board, cacheable, incidents_of, or_logged, windows,
};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form};
use chainops_auth::{Permission, Principal};
use chainops_core::time::{now_ms, rfc3339};
use chainops_desk::notices;
use chainops_store::status_page::{MaintenanceRow, StatusIncidentRow, StatusUpdateRow};
use serde::Deserialize;
use std::collections::BTreeMap;

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
            "POST",
            "/status/subscriptions",
            Permission::Public,
            Some("statuspage.subscribe"),
            "Public status page form: subscribe an email address (double opt-in; a confirmation link is mailed)",
            || post(subscribe),
        ),
        page(
            "GET",
            "/status/subscriptions/{token}",
            Permission::Public,
            None,
            "Public status page: a subscription's private page (confirm or unsubscribe)",
            || get(subscription_page),
        ),
        page(
            "POST",
            "/status/subscriptions/confirm",
            Permission::Public,
            Some("statuspage.subscription_confirm"),
            "Public status page form: confirm a subscription (the link's token is a form field)",
            || post(confirm_subscription),
        ),
        page(
            "POST",
            "/status/subscriptions/unsubscribe",
            Permission::Public,
            Some("statuspage.unsubscribe"),
            "Public status page form: end a subscription (the link's token is a form field)",
            || post(unsubscribe),
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

/// The catalog key of the banner for `state`.
fn banner_key(state: &str) -> &'static str {
    match state {
        "outage" => "status.banner_outage",
        "degraded" => "status.banner_degraded",
        "maintenance" => "status.banner_maintenance",
        _ => "status.banner_operational",
    }
}

async fn status_page(State(s): State<AppState>, c: Ctx) -> Response {
    public_page(&s, c, None).await
}

async fn chain_page(State(s): State<AppState>, c: Ctx, Path(chain): Path<String>) -> Response {
    public_page(&s, c, Some(chain)).await
}

/// `/status` or `/status/{chain}` (with its 90 days of incidents), or 404 for a chain that
/// is not monitored.
async fn public_page(s: &AppState, c: Ctx, chain: Option<String>) -> Response {
    let Some(b) = board(s, chain.as_deref(), now_ms()).await else {
        return super::error_page(
            c.public(),
            ApiError::not_found(format!(
                "no chain named \"{}\"; /status lists them",
                chain
                    .unwrap_or_default()
                    .chars()
                    .take(100)
                    .collect::<String>()
            )),
        );
    };
    let page = StatusPage {
        c: c.public(),
        chain,
        banner: b.banner,
        banner_key: banner_key(b.banner),
        chains: b.chains,
        incidents: b.incidents,
        windows: b.windows,
    };
    cacheable(render(StatusCode::OK, page))
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
    let link = |chain: &str| {
        if chain.is_empty() {
            "/status".to_string()
        } else {
            format!("/status/{}", super::urlencode(chain))
        }
    };
    let incidents = s
        .store
        .status_incidents(now - DAYS as i64 * 86_400_000)
        .await;
    for (i, updates) in or_logged(incidents, "incidents") {
        newest = newest.max(i.updated_ms);
        let last = updates.first().map(|u| u.body.as_str()).unwrap_or_default();
        entries.push_str(&format!(
            "<entry><id>urn:chainops:status:incident:{id}</id><title>{title}</title><updated>{updated}</updated><link href=\"{link}\"/><summary>{state}: {last}</summary></entry>",
            id = xml(&i.id),
            title = xml(&format!("[{}] {}", i.state, i.title)),
            updated = rfc3339(i.updated_ms),
            link = xml(&link(&i.chain)),
            state = xml(&i.state),
            last = xml(last),
        ));
    }
    for m in or_logged(s.store.maintenance_windows(now).await, "maintenance") {
        entries.push_str(&format!(
            "<entry><id>urn:chainops:status:maintenance:{id}</id><title>{title}</title><updated>{updated}</updated><link href=\"{link}\"/><summary>{starts} – {ends}</summary></entry>",
            id = xml(&m.id),
            title = xml(&format!("{}: {}", t.t("status.maintenance"), m.title)),
            updated = rfc3339(m.starts_ms),
            link = xml(&link(&m.chain)),
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
            incidents: incidents_of(&s, None, now - DAYS as i64 * 86_400_000).await,
            windows: windows(&s, now).await,
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
        Ok(()) => {
            let subject = format!("[{}] {}", first.state, row.title);
            broadcast(
                &s,
                &row.chain,
                &subject,
                &first.body,
                &format!("incident-{}-{now}", row.id),
            )
            .await;
            see_other("/status/manage")
        }
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
        Ok(true) => {
            if let Ok(Some((i, _))) = s.store.status_incident(&id).await {
                let subject = format!("[{state}] {}", i.title);
                broadcast(
                    &s,
                    &i.chain,
                    &subject,
                    &u.body,
                    &format!("incident-{id}-{}", u.at_ms),
                )
                .await;
            }
            if state == "resolved" {
                answer_known_issue(&s, &id, &u.body, &who.actor()).await;
            }
            see_other("/status/manage")
        }
        Ok(false) => super::error_page(c, unknown_incident(&id)),
        Err(e) => super::error_page(c, ApiError::internal(e.kind(), e)),
    }
}

/// Sends status-page news: a mail to each confirmed email subscriber of the chain, and an
/// alert-shaped notice to the notifiers in `support.status_notify`, all through the outbox
/// (retried, dead-lettered, once per `key`). Failures are logged; the news stands.
async fn broadcast(s: &AppState, chain: &str, subject: &str, text: &str, key: &str) {
    let live = s.live();
    let Some(desk) = live.desk.clone() else {
        return;
    };
    let now = now_ms();
    let mut rows = match desk.announce(chain, subject, text, key, now).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "status-page news: listing subscribers failed");
            Vec::new()
        }
    };
    if !desk.config.status_notify.is_empty() {
        let notice = chainops_alert::notify::notice::Notice {
            id: format!("status/{key}"),
            fingerprint: format!("status/{key}"),
            rule: "StatusPage".into(),
            severity: chainops_core::severity::Severity::Info,
            summary: subject.to_string(),
            description: text.to_string(),
            chain: chain.to_string(),
            link: "/status".into(),
            at_ms: now,
        };
        rows.extend(chainops_alert::notify::notice::rows(
            &live.notifiers,
            &desk.config.status_notify,
            &notice,
            now,
        ));
    }
    if rows.is_empty() {
        return;
    }
    if let Err(e) = s.store.enqueue_notifications(&rows).await {
        tracing::warn!(error = %e, "status-page news could not be queued");
    }
}

/// The subscription's page.
#[derive(Template)]
#[template(path = "status_subscription.html")]
pub struct SubscriptionPage {
    /// Context (public).
    pub c: Ctx,
    /// The token (a form field).
    pub token: String,
    /// Chain (`""`: every chain).
    pub chain: String,
    /// Confirmed.
    pub confirmed: bool,
    /// What just happened: `sent`, `confirmed`, `removed` or `""`.
    pub done: String,
}

/// The subscribe form.
#[derive(Deserialize)]
pub struct SubscribeForm {
    email: String,
    #[serde(default)]
    chain: String,
    /// A field only robots fill in.
    #[serde(default)]
    website: String,
}

async fn subscribe(
    State(s): State<AppState>,
    Extension(addr): Extension<crate::session::ClientAddr>,
    c: Ctx,
    Form(f): Form<SubscribeForm>,
) -> Response {
    let c = c.public();
    // A filled honeypot field is a form robot: answer as if accepted, store nothing.
    let result = if f.website.is_empty() {
        subscribe_checked(&s, &addr, &f).await
    } else {
        Ok(())
    };
    match result {
        Ok(()) => private(render(
            StatusCode::OK,
            SubscriptionPage {
                c,
                token: String::new(),
                chain: String::new(),
                confirmed: false,
                done: "sent".into(),
            },
        )),
        Err(e) => super::error_page(c, e),
    }
}

async fn subscribe_checked(
    s: &AppState,
    addr: &crate::session::ClientAddr,
    f: &SubscribeForm,
) -> Result<(), ApiError> {
    let chain = f.chain.trim();
    if !chain.is_empty() {
        known_chain(s, chain, false)?;
    }
    let desk = crate::ticket_routes::desk(s)?;
    let now = now_ms();
    let ip = super::client_ip(addr);
    let allowance = desk.allowance(
        chainops_desk::service::Allowance::Subscriptions,
        &ip,
        &f.email,
    );
    desk.admit(&allowance, now)
        .map_err(crate::ticket_routes::desk_err)?;
    desk.subscribe(&f.email, chain, &ip, now)
        .await
        .map_err(crate::ticket_routes::desk_err)?;
    desk.count(&allowance, now);
    Ok(())
}

async fn subscription_page(
    State(s): State<AppState>,
    c: Ctx,
    Path(token): Path<String>,
    axum::extract::Query(q): axum::extract::Query<super::DoneQuery>,
) -> Response {
    let c = c.public();
    let desk = match crate::ticket_routes::desk(&s) {
        Ok(d) => d,
        Err(e) => return super::error_page(c, e),
    };
    let done = q.done.filter(|d| d == "confirmed").unwrap_or_default();
    match desk.subscription(&token).await {
        Ok(sub) => private(render(
            StatusCode::OK,
            SubscriptionPage {
                c,
                token,
                chain: sub.chain,
                confirmed: sub.confirmed,
                done,
            },
        )),
        Err(e) => private(super::error_page(c, crate::ticket_routes::desk_err(e))),
    }
}

/// A form that carries a subscription's token.
#[derive(Deserialize)]
pub struct TokenForm {
    token: String,
}

async fn confirm_subscription(
    State(s): State<AppState>,
    c: Ctx,
    Form(f): Form<TokenForm>,
) -> Response {
    let c = c.public();
    let r = match crate::ticket_routes::desk(&s) {
        Ok(d) => d
            .confirm_subscription(&f.token, now_ms())
            .await
            .map_err(crate::ticket_routes::desk_err),
        Err(e) => Err(e),
    };
    match r {
        Ok(()) => private(see_other(&format!(
            "/status/subscriptions/{}?done=confirmed",
            f.token
        ))),
        Err(e) => private(super::error_page(c, e)),
    }
}

async fn unsubscribe(State(s): State<AppState>, c: Ctx, Form(f): Form<TokenForm>) -> Response {
    let c = c.public();
    let r = match crate::ticket_routes::desk(&s) {
        Ok(d) => d
            .unsubscribe(&f.token)
            .await
            .map_err(crate::ticket_routes::desk_err),
        Err(e) => Err(e),
    };
    match r {
        Ok(()) => private(render(
            StatusCode::OK,
            SubscriptionPage {
                c,
                token: String::new(),
                chain: String::new(),
                confirmed: false,
                done: "removed".into(),
            },
        )),
        Err(e) => private(super::error_page(c, e)),
    }
}

/// A resolved incident answers the active tickets linked to it (`support.on_incident_resolved`):
/// its resolving update goes to each requester as a public reply, and the tickets are solved
/// when configured. Failures are logged; the status update stands.
async fn answer_known_issue(s: &AppState, id: &str, update: &str, actor: &str) {
    let Some(desk) = s.live().desk.clone() else {
        return;
    };
    let mode = desk.config.on_incident_resolved.clone();
    if mode == "off" {
        return;
    }
    let title = match s.store.status_incident(id).await {
        Ok(Some((i, _))) => i.title,
        _ => String::new(),
    };
    let text = format!("**{title}** — resolved / 已解决\n\n{update}");
    match desk
        .reply_all(id, &text, mode == "solve", actor, now_ms())
        .await
    {
        Ok(done) if !done.is_empty() => {
            tracing::info!(incident = id, tickets = ?done, "resolved incident answered its tickets")
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(incident = id, error = %e, "answering a resolved incident's tickets failed")
        }
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
        Ok(()) => {
            let subject = format!("[maintenance] {}", row.title);
            let text = format!(
                "Scheduled maintenance / 计划维护: {} – {}{}",
                rfc3339(row.starts_ms),
                rfc3339(row.ends_ms),
                if row.chain.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", row.chain)
                }
            );
            broadcast(
                &s,
                &row.chain,
                &subject,
                &text,
                &format!("maintenance-{}", row.id),
            )
            .await;
            see_other("/status/manage")
        }
        Err(e) => super::error_page(c, ApiError::internal(e.kind(), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::xml;

    #[test]
    fn feed_text_is_escaped() {
        assert_eq!(xml("a<b>&\"\u{0}c"), "a&lt;b&gt;&amp;&quot;c");
    }
}
