//! Settings (read-only): the effective configuration as `chainops config show` prints it
//! (secrets redacted), and the notification channels with a "send test" button for those
//! who may test them. The configuration is shown to admins and auditors only.

use super::{Ctx, Page, page, render};
use crate::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use chainops_auth::Permission;
use chainops_core::secret::redact_url;

/// The routes.
pub static PAGE: Page = Page {
    routes: &[
        page(
            "GET",
            "/settings",
            Permission::ReadAlerts,
            None,
            "Console: the effective configuration (secrets redacted) and notifiers",
            || get(settings_page),
        ),
        page(
            "POST",
            "/notifiers/{name}/test",
            Permission::OperateAlerts,
            Some("notifier.test"),
            "Console form: send a test notification",
            || post(test_notifier),
        ),
    ],
    nav: Some(("nav.settings", "/settings", Permission::ReadAlerts)),
};

/// A channel as the page shows it.
pub struct Channel {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// URL, credentials and secret paths redacted.
    pub url: String,
    /// Lowest severity sent.
    pub min_severity: String,
}

/// The page.
#[derive(Template)]
#[template(path = "settings.html")]
pub struct SettingsPage {
    /// Context.
    pub c: Ctx,
    /// Redacted TOML, for those who may read the audit trail (admins, auditors).
    pub config: Option<String>,
    /// Channels.
    pub channels: Vec<Channel>,
    /// Result of a test just sent: (channel, error if it failed).
    pub tested: Option<(String, Option<String>)>,
    /// The cluster as this member sees it, when it is a member.
    pub cluster: Option<ClusterView>,
}

/// The cluster section.
pub struct ClusterView {
    /// This member.
    pub me: String,
    /// The lease's epoch.
    pub epoch: i64,
    /// Nodes no live member polls.
    pub unassigned: usize,
    /// Members: (name, address, leads, alive, nodes, last heartbeat).
    pub members: Vec<(String, String, bool, bool, usize, String)>,
}

fn cluster_view(s: &AppState) -> Option<ClusterView> {
    let st = s.cluster.as_ref()?.status();
    let leader = st.leader.as_ref().map(|l| l.member.clone());
    Some(ClusterView {
        epoch: st.leader.as_ref().map_or(0, |l| l.epoch),
        unassigned: st.unassigned_nodes,
        members: st
            .members
            .iter()
            .map(|m| {
                (
                    m.row.member.clone(),
                    m.row.addr.clone(),
                    leader.as_deref() == Some(m.row.member.as_str()),
                    m.alive,
                    m.nodes,
                    chainops_core::time::rfc3339(m.row.seen_ms),
                )
            })
            .collect(),
        me: st.member,
    })
}

fn page_of(s: &AppState, c: Ctx, tested: Option<(String, Option<String>)>) -> Response {
    let channels = s
        .live()
        .notifiers
        .iter()
        .map(|n| Channel {
            name: n.config.name.clone(),
            kind: serde_json::to_value(n.config.kind)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            url: redact_url(&n.config.url),
            min_severity: n.config.min_severity.as_str().to_string(),
        })
        .collect();
    render(
        StatusCode::OK,
        SettingsPage {
            config: c
                .may(&Permission::ReadAudit)
                .then(|| s.live().settings.as_ref().clone()),
            channels,
            tested,
            cluster: cluster_view(s),
            c,
        },
    )
}

async fn settings_page(State(s): State<AppState>, c: Ctx) -> Response {
    page_of(&s, c, None)
}

async fn test_notifier(
    State(s): State<AppState>,
    c: Ctx,
    Path(name): Path<String>,
    Form(_f): Form<super::CsrfOnly>,
) -> Response {
    match crate::notify_routes::send_test(&s, &name).await {
        Ok(error) => page_of(&s, c, Some((name, error))),
        Err(e) => super::error_page(c, e),
    }
}
