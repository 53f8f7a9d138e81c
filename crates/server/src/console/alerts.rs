//! Alerts and incidents: every alert with its state (pending, firing, resolved) and whether
//! it is acknowledged or silenced, the incidents with their timelines, and the operator's
//! forms — acknowledge with a comment and expiry, silence an alert, expire a silence. The
//! lists refresh themselves (`/ui/alerts`); `console.js` holds a refresh while a form in
//! them is being filled in.

use super::{Ctx, Page, page, render, see_other};
use crate::AppState;
use crate::error::ApiError;
use crate::routes::{AlertMarks, RESOLVED_VISIBLE_MS, SilenceBody, acknowledge, expire, silence};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Form};
use chainops_auth::{Permission, Principal};
use chainops_core::time::{now_ms, rfc3339};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The routes.
pub static PAGE: Page = Page {
    routes: &[
        page(
            "GET",
            "/alerts",
            Permission::ReadAlerts,
            None,
            "Console: alerts, incidents and silences",
            || get(alerts_page),
        ),
        page(
            "GET",
            "/ui/alerts",
            Permission::ReadAlerts,
            None,
            "Console fragment: the alert, incident and silence lists (auto-refresh)",
            || get(fragment),
        ),
        page(
            "POST",
            "/incidents/{id}/ack",
            Permission::OperateAlerts,
            Some("incident.ack"),
            "Console form: acknowledge an incident",
            || post(ack),
        ),
        page(
            "POST",
            "/silences",
            Permission::OperateAlerts,
            Some("silence.create"),
            "Console form: silence an alert (its rule on its node)",
            || post(create_silence),
        ),
        page(
            "POST",
            "/silences/{id}/expire",
            Permission::OperateAlerts,
            Some("silence.expire"),
            "Console form: end a silence now",
            || post(expire_silence),
        ),
    ],
    nav: Some(("nav.alerts", "/alerts", Permission::ReadAlerts)),
};

/// An alert as the list shows it.
pub struct AlertItem {
    /// Rule.
    pub rule: String,
    /// Node.
    pub node: String,
    /// Chain.
    pub chain: String,
    /// Severity.
    pub severity: String,
    /// `pending`, `firing`, `resolved`.
    pub state: &'static str,
    /// Summary.
    pub summary: String,
    /// Since (RFC 3339).
    pub since: String,
    /// Acknowledged by (and until), if so.
    pub ack: Option<(String, String)>,
    /// Silenced until (RFC 3339), if so.
    pub silenced_until: Option<String>,
    /// The rule inhibiting it (it stays firing without notifications), if any.
    pub inhibited_by: Option<String>,
}

/// An incident.
pub struct IncidentItem {
    /// Id.
    pub id: String,
    /// Node.
    pub node: String,
    /// Chain.
    pub chain: String,
    /// `open` or `resolved`.
    pub state: String,
    /// Opened (RFC 3339).
    pub opened: String,
    /// Acknowledgement: by, comment, until.
    pub ack: Option<(String, String, String)>,
    /// Timeline: at, kind, detail.
    pub timeline: Vec<(String, String, String)>,
}

/// A silence in force.
pub struct SilenceItem {
    /// Id.
    pub id: String,
    /// `k=v, …`.
    pub matchers: String,
    /// Comment.
    pub comment: String,
    /// Creator.
    pub by: String,
    /// End (RFC 3339).
    pub ends: String,
}

/// What the lists show.
pub struct Lists {
    /// Alerts, unresolved first.
    pub alerts: Vec<AlertItem>,
    /// Incidents, open first.
    pub incidents: Vec<IncidentItem>,
    /// Silences.
    pub silences: Vec<SilenceItem>,
}

/// The page.
#[derive(Template)]
#[template(path = "alerts.html")]
pub struct AlertsPage {
    /// Context.
    pub c: Ctx,
    /// Lists.
    pub d: Lists,
}

/// The refresh fragment.
#[derive(Template)]
#[template(path = "alerts_lists.html")]
pub struct AlertsFragment {
    /// Context.
    pub c: Ctx,
    /// Lists.
    pub d: Lists,
}

fn short(s: &str) -> String {
    s.chars().take(200).collect()
}

async fn lists(s: &AppState) -> Result<Lists, ApiError> {
    let now = now_ms();
    let since = now - RESOLVED_VISIBLE_MS;
    let internal = |e: chainops_store::StoreError| ApiError::internal(e.kind(), e);
    let rows = s.store.list_alerts(since).await.map_err(internal)?;
    let incidents = s.store.list_incidents(since).await.map_err(internal)?;
    let marks = AlertMarks::with(s, &incidents, now).await?;
    let mut alerts: Vec<AlertItem> = rows
        .iter()
        .map(|a| AlertItem {
            rule: a.rule.clone(),
            node: a.node.clone(),
            chain: a.chain.clone(),
            severity: a.severity.clone(),
            state: a.state.as_str(),
            summary: short(&a.summary),
            since: rfc3339(a.active_since_ms),
            ack: marks.ack_of(a).map(|(by, until, _)| (by, rfc3339(until))),
            silenced_until: marks.silence_of(a).map(|s| rfc3339(s.ends_ms)),
            inhibited_by: a.inhibited_by.clone(),
        })
        .collect();
    alerts.sort_by_key(|a| (a.state == "resolved", std::cmp::Reverse(a.since.clone())));
    let silences = marks.silences();
    let mut incidents: Vec<IncidentItem> = incidents
        .into_iter()
        .map(|i| IncidentItem {
            ack: i.ack_by.clone().map(|by| {
                (
                    by,
                    i.ack_comment.clone().unwrap_or_default(),
                    i.ack_until_ms.map(rfc3339).unwrap_or_default(),
                )
            }),
            timeline: i
                .events
                .iter()
                .map(|e| {
                    (
                        rfc3339(e.at_ms),
                        e.kind.clone(),
                        short(&e.detail.to_string()),
                    )
                })
                .collect(),
            opened: rfc3339(i.opened_ms),
            id: i.id,
            node: i.node,
            chain: i.chain,
            state: i.state,
        })
        .collect();
    incidents.sort_by_key(|i| (i.state != "open", std::cmp::Reverse(i.opened.clone())));
    let silences = silences
        .into_iter()
        .map(|s| SilenceItem {
            matchers: s
                .matchers
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", "),
            id: s.id,
            comment: s.comment,
            by: s.created_by,
            ends: rfc3339(s.ends_ms),
        })
        .collect();
    Ok(Lists {
        alerts,
        incidents,
        silences,
    })
}

async fn alerts_page(State(s): State<AppState>, c: Ctx) -> Response {
    match lists(&s).await {
        Ok(d) => render(StatusCode::OK, AlertsPage { c, d }),
        Err(e) => super::error_page(c, e),
    }
}

async fn fragment(State(s): State<AppState>, c: Ctx) -> Response {
    match lists(&s).await {
        Ok(d) => render(StatusCode::OK, AlertsFragment { c, d }),
        Err(e) => super::error_page(c, e),
    }
}

/// The acknowledge form.
#[derive(Deserialize)]
pub struct AckForm {
    comment: String,
    expires: Option<String>,
    #[serde(rename = "_csrf")]
    _csrf: Option<String>,
}

async fn ack(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    c: Ctx,
    Path(id): Path<String>,
    Form(f): Form<AckForm>,
) -> Response {
    match acknowledge(&s, &who, &id, &f.comment, f.expires.as_deref()).await {
        Ok(_) => see_other("/alerts"),
        Err(e) => super::error_page(c, e),
    }
}

/// The silence form: silences one rule on one node.
#[derive(Deserialize)]
pub struct SilenceForm {
    rule: String,
    node: String,
    comment: String,
    duration: String,
    #[serde(rename = "_csrf")]
    _csrf: Option<String>,
}

async fn create_silence(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    c: Ctx,
    Form(f): Form<SilenceForm>,
) -> Response {
    let body = SilenceBody {
        matchers: BTreeMap::from([("alertname".into(), f.rule), ("node".into(), f.node)]),
        comment: f.comment,
        duration: Some(f.duration),
        starts_at: None,
        ends_at: None,
        allow_unknown_labels: None,
    };
    match silence(&s, &who, body).await {
        Ok(_) => see_other("/alerts"),
        Err(e) => super::error_page(c, e),
    }
}

async fn expire_silence(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<String>,
    Form(_f): Form<super::CsrfOnly>,
) -> Response {
    match expire(&s, &id).await {
        Ok(()) => see_other("/alerts"),
        Err(e) => super::error_page(c, e),
    }
}
