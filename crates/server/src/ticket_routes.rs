//! Support tickets over the API: `GET/POST /api/v1/tickets`, `GET /api/v1/tickets/{id}`,
//! replies, changes and merges, attachments, and a requester's subject-access export and
//! erasure. What a ticket may do is the desk's ([`chainops_desk::service`]); these handlers
//! only translate HTTP. The console's ticket pages and the portal share the helpers here.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, list_query};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chainops_auth::{Permission, Principal};
use chainops_core::time::{now_ms, rfc3339};
use chainops_desk::service::{Author, Change, Channel, Desk, DeskError, NewTicket, TicketView};
use chainops_desk::sla::Clock;
use chainops_desk::tickets::{Priority, State as TicketState};
use chainops_store::tickets::{TicketFilter, TicketRow};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// The desk in force, or 503 when this daemon serves none.
pub(crate) fn desk(s: &AppState) -> Result<Arc<Desk>, ApiError> {
    s.live().desk.clone().ok_or_else(|| ApiError {
        kind: chainops_core::ErrorKind::Unavailable,
        message: "this daemon runs no support desk".into(),
    })
}

/// A desk error as an API error (store failures logged, not shown).
pub(crate) fn desk_err(e: DeskError) -> ApiError {
    match e {
        DeskError::Store(e) => ApiError::internal(e.kind(), e),
        e => ApiError {
            kind: e.kind(),
            message: e.to_string(),
        },
    }
}

/// A ticket number from the path.
pub(crate) fn number(id: &str) -> Result<i64, ApiError> {
    id.trim_start_matches('#')
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "\"{}\" is not a ticket number; GET /api/v1/tickets lists them",
                id.chars().take(40).collect::<String>()
            ))
        })
}

/// A ticket's summary as lists show it.
pub(crate) fn summary(t: &TicketRow) -> Value {
    json!({
        "id": t.id, "subject": t.subject, "state": t.state, "priority": t.priority,
        "category": t.category, "chain": t.chain, "node": t.node, "team": t.team,
        "assignee": t.assignee, "tags": t.tags, "channel": t.channel,
        "incident": t.incident_id, "alert": t.alert, "merged_into": t.merged_into,
        "created": rfc3339(t.created_ms), "updated": rfc3339(t.updated_ms),
        "next_due": t.next_due_ms.map(rfc3339), "sla": t.sla,
    })
}

/// A clock as the API shows it.
pub(crate) fn clock(c: &Clock) -> Value {
    json!({
        "metric": c.metric, "cycle": c.cycle, "phase": c.phase,
        "target_seconds": c.target_ms / 1000, "elapsed_seconds": c.elapsed_ms / 1000,
        "permille": c.permille(), "started": rfc3339(c.started_ms),
        "stopped": c.stopped_ms.map(rfc3339), "due": c.due_ms.map(rfc3339),
        "warned": c.warned_ms.map(rfc3339), "breached": c.breached_ms.map(rfc3339),
    })
}

/// A ticket with everything staff see. The requester's contact data only for those who work
/// tickets.
fn detail(v: &TicketView, contact: bool) -> Value {
    let mut out = summary(&v.ticket);
    out["messages"] = v
        .messages
        .iter()
        .map(|m| {
            json!({
                "id": m.id, "at": rfc3339(m.at_ms), "from": m.author_kind,
                "author": if m.author_kind == "requester" { "requester" } else { m.author.as_str() },
                "public": m.public, "body": m.body,
                "attachments": v.attachments.iter().filter(|a| a.message_id == m.id).map(|a| json!({
                    "id": a.id, "name": a.name, "size": a.size, "content_type": a.content_type,
                    "url": format!("/api/v1/attachments/{}", a.id),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    out["history"] = v
        .events
        .iter()
        .map(
            |e| json!({"at": rfc3339(e.at_ms), "kind": e.kind, "value": e.value, "actor": e.actor}),
        )
        .collect();
    out["clocks"] = v.clocks.iter().map(clock).collect();
    out["policy"] = json!(v.policy);
    out["requester"] = match (&v.requester, contact) {
        (Some(p), true) => json!({"id": v.ticket.requester_id, "name": p.name, "email": p.email}),
        (None, true) => json!({"id": v.ticket.requester_id, "erased": true}),
        (_, false) => json!({"id": v.ticket.requester_id}),
    };
    out
}

list_query! {
    /// Ticket list filters.
    TicketQuery {
        /// Only these states, comma-separated (`new,open`); `active` = not solved or closed.
        state: Option<String>,
        /// Only this priority (`P1`…`P4`).
        priority: Option<String>,
        /// Only this assignee (`-`: unassigned).
        assignee: Option<String>,
        /// Only this team.
        team: Option<String>,
        /// Only this chain.
        chain: Option<String>,
        /// Only tickets linked to this incident.
        incident: Option<String>,
        /// Subject contains this text.
        q: Option<String>,
    }
}

impl TicketQuery {
    /// The store filter, checked.
    pub(crate) fn filter(&self) -> Result<TicketFilter, ApiError> {
        let mut states = Vec::new();
        for s in self
            .state
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
        {
            match s {
                "" => {}
                "active" => states.extend(["new", "open", "pending", "on-hold"].map(String::from)),
                s => states.push(
                    TicketState::parse(s)
                        .map_err(|r| ApiError::invalid(r.0))?
                        .as_str()
                        .to_string(),
                ),
            }
        }
        let priority = self
            .priority
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(|p| Priority::parse(p).map(|p| p.as_str().to_string()))
            .transpose()
            .map_err(|r| ApiError::invalid(r.0))?;
        let bounded = |v: &Option<String>| -> Result<Option<String>, ApiError> {
            match v.as_deref().filter(|v| !v.is_empty()) {
                Some(v) if v.chars().count() > 200 => Err(ApiError::invalid(
                    "a filter value has more than 200 characters",
                )),
                v => Ok(v.map(str::to_string)),
            }
        };
        Ok(TicketFilter {
            states,
            priority,
            assignee: bounded(&self.assignee)?.map(|a| if a == "-" { String::new() } else { a }),
            team: bounded(&self.team)?,
            chain: bounded(&self.chain)?,
            requester_id: None,
            incident_id: bounded(&self.incident)?,
            text: bounded(&self.q)?,
            hide_merged: false,
        })
    }
}

impl TicketQuery {
    /// The page of tickets asked for (`max` per page), with the total and the offset.
    pub(crate) async fn run(
        &self,
        s: &AppState,
        max: usize,
    ) -> Result<(Vec<TicketRow>, i64, usize), ApiError> {
        let page = self.page(50, max)?;
        let filter = self.filter()?;
        let (rows, total) = desk(s)?
            .store()
            .list_tickets(&filter, page.limit as i64, page.offset as i64)
            .await
            .map_err(|e| ApiError::internal(e.kind(), e))?;
        Ok((rows, total, page.offset))
    }
}

/// `GET /api/v1/tickets`.
pub(crate) async fn list(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<TicketQuery>,
) -> Result<Response, ApiError> {
    let (rows, total, _) = q.run(&s, 500).await?;
    Ok((
        [(crate::extract::TOTAL_COUNT, total.to_string())],
        Json(Value::Array(rows.iter().map(summary).collect())),
    )
        .into_response())
}

/// A ticket opened by staff or a client on a requester's behalf.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TicketBody {
    /// Subject (at most 200 characters).
    subject: String,
    /// First message (Markdown).
    body: String,
    /// One of `[support] categories`.
    category: String,
    /// The requester's email.
    email: String,
    /// The requester's name.
    #[serde(default)]
    name: String,
    /// Affected chain.
    #[serde(default)]
    chain: String,
    /// Affected node.
    #[serde(default)]
    node: String,
    /// `P1`…`P4` (default P3).
    #[serde(default)]
    priority: Option<String>,
    /// Tags.
    #[serde(default)]
    tags: Vec<String>,
}

/// `POST /api/v1/tickets`.
pub(crate) async fn create(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiJson(b): ApiJson<TicketBody>,
) -> Result<Response, ApiError> {
    let desk = desk(&s)?;
    let priority = b
        .priority
        .as_deref()
        .map(Priority::parse)
        .transpose()
        .map_err(|r| ApiError::invalid(r.0))?;
    let opened = desk
        .open_ticket(
            NewTicket {
                subject: b.subject,
                body: b.body,
                category: b.category,
                chain: b.chain,
                node: b.node,
                priority,
                email: b.email,
                name: b.name,
                ip: String::new(),
                channel: Channel::Api,
                attachments: Vec::new(),
                tags: b.tags,
                actor: who.actor(),
                email_id: String::new(),
            },
            now_ms(),
        )
        .await
        .map_err(desk_err)?;
    let t = desk.ticket(opened.id).await.map_err(desk_err)?;
    let mut v = summary(&t);
    v["url"] = json!(format!("/tickets/{}", t.id));
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// `GET /api/v1/tickets/{id}`.
pub(crate) async fn get_one(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let desk = desk(&s)?;
    let view = desk
        .view(number(&id)?, true, now_ms())
        .await
        .map_err(desk_err)?;
    Ok(Json(detail(&view, Permission::WorkTickets.allows(who.role))).into_response())
}

/// A staff message.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MessageBody {
    /// Markdown.
    body: String,
    /// A reply the requester sees (default) or an internal note (`false`).
    #[serde(default = "yes")]
    public: bool,
}

fn yes() -> bool {
    true
}

/// `POST /api/v1/tickets/{id}/messages`.
pub(crate) async fn reply(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<MessageBody>,
) -> Result<Response, ApiError> {
    let desk = desk(&s)?;
    let author = Author::Staff {
        user: who.actor(),
        public: b.public,
    };
    let m = desk
        .reply(number(&id)?, author, &b.body, &[], "", now_ms())
        .await
        .map_err(desk_err)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": m.id, "at": rfc3339(m.at_ms), "public": m.public})),
    )
        .into_response())
}

/// Fields to change; absent ones stay.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangeBody {
    /// `new`, `open`, `pending`, `on-hold`, `solved`, `closed`.
    pub(crate) state: Option<String>,
    /// `P1`…`P4`.
    pub(crate) priority: Option<String>,
    /// User name (`""`: nobody).
    pub(crate) assignee: Option<String>,
    /// One of `[support] teams`.
    pub(crate) team: Option<String>,
    /// Tags (replace the ticket's).
    pub(crate) tags: Option<Vec<String>>,
    /// Incident id (`""`: unlink).
    pub(crate) incident: Option<String>,
    /// Alert fingerprint (`""`: unlink).
    pub(crate) alert: Option<String>,
    /// Chain.
    pub(crate) chain: Option<String>,
    /// Node.
    pub(crate) node: Option<String>,
}

impl ChangeBody {
    /// The desk's change, checked.
    pub(crate) fn change(self) -> Result<Change, ApiError> {
        let bad = |r: chainops_desk::notices::Refusal| ApiError::invalid(r.0);
        let none_if_empty = |v: Option<String>| v.filter(|s| !s.is_empty());
        Ok(Change {
            state: none_if_empty(self.state)
                .map(|s| TicketState::parse(&s))
                .transpose()
                .map_err(bad)?,
            priority: none_if_empty(self.priority)
                .map(|p| Priority::parse(&p))
                .transpose()
                .map_err(bad)?,
            assignee: self.assignee,
            team: none_if_empty(self.team),
            tags: self.tags,
            incident_id: self.incident,
            alert: self.alert,
            chain: self.chain,
            node: self.node,
        })
    }
}

/// `POST /api/v1/tickets/{id}/changes`.
pub(crate) async fn change(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ChangeBody>,
) -> Result<Response, ApiError> {
    let desk = desk(&s)?;
    let t = desk
        .change(number(&id)?, &b.change()?, &who.actor(), now_ms())
        .await
        .map_err(desk_err)?;
    Ok(Json(summary(&t)).into_response())
}

/// A reply to every active ticket of a known issue.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct KnownIssueBody {
    /// The incident id the tickets are linked to.
    incident: String,
    /// The public reply (Markdown), mailed to each requester.
    body: String,
    /// Also set the tickets solved.
    #[serde(default)]
    solve: bool,
}

/// `POST /api/v1/tickets/known-issue`.
pub(crate) async fn known_issue(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiJson(b): ApiJson<KnownIssueBody>,
) -> Result<Response, ApiError> {
    let done = desk(&s)?
        .reply_all(&b.incident, &b.body, b.solve, &who.actor(), now_ms())
        .await
        .map_err(desk_err)?;
    Ok(Json(json!({"incident": b.incident.trim(), "answered": done})).into_response())
}

/// Where to merge a ticket.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MergeBody {
    /// The ticket that stays.
    into: i64,
}

/// `POST /api/v1/tickets/{id}/merge`.
pub(crate) async fn merge(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<MergeBody>,
) -> Result<Response, ApiError> {
    let desk = desk(&s)?;
    let from = number(&id)?;
    desk.merge(from, b.into, &who.actor(), now_ms())
        .await
        .map_err(desk_err)?;
    Ok(Json(json!({"merged": from, "into": b.into})).into_response())
}

/// An attachment as a download: never rendered inline unless it is a checked picture, with
/// `nosniff` and a sandboxing CSP.
pub(crate) fn download(a: chainops_store::tickets::AttachmentRow) -> Response {
    let inline = a.content_type.starts_with("image/");
    let name: String = a
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "{}; filename=\"{name}\"; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        serde_urlencoded::to_string([("v", a.name.as_str())])
            .map(|q| q[2..].replace('+', "%20"))
            .unwrap_or_default()
    );
    (
        [
            (header::CONTENT_TYPE, a.content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'".to_string(),
            ),
        ],
        a.data,
    )
        .into_response()
}

/// `GET /api/v1/attachments/{id}`.
pub(crate) async fn attachment(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let desk = desk(&s)?;
    let a = desk
        .store()
        .attachment(&id)
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?
        .ok_or_else(|| ApiError::not_found("no such attachment"))?;
    Ok(download(a))
}

/// `GET /api/v1/requesters/{id}/export`: everything kept about a requester (JSON).
pub(crate) async fn export_requester(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let desk = desk(&s)?;
    let v = desk.export_requester(&id).await.map_err(desk_err)?;
    let name = format!(
        "attachment; filename=\"requester-{}.json\"",
        id.chars()
            .filter(char::is_ascii_alphanumeric)
            .take(40)
            .collect::<String>()
    );
    Ok(([(header::CONTENT_DISPOSITION, name)], Json(v)).into_response())
}

/// `POST /api/v1/requesters/{id}/erase`: crypto-shredding.
pub(crate) async fn erase_requester(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let desk = desk(&s)?;
    desk.erase_requester(&id, &who.actor(), now_ms())
        .await
        .map_err(desk_err)?;
    Ok(Json(json!({"erased": id})).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_download_keeps_any_file_name_out_of_the_header_syntax() {
        let a = chainops_store::tickets::AttachmentRow {
            name: "报告 \"final\"; x=1\r\n.log".into(),
            content_type: "text/plain; charset=utf-8".into(),
            data: b"ok".to_vec(),
            ..Default::default()
        };
        let r = download(a);
        let d = r.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .expect("ascii header");
        assert!(d.starts_with("attachment; filename=\"___"), "{d}");
        assert!(!d.contains('\r') && !d.contains("\"final"), "{d}");
        assert!(d.contains("filename*=UTF-8''%E6%8A%A5%E5%91%8A%20"), "{d}");
        assert_eq!(r.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let png = chainops_store::tickets::AttachmentRow {
            name: "shot.png".into(),
            content_type: "image/png".into(),
            ..Default::default()
        };
        let inline = download(png);
        assert!(
            inline.headers()[header::CONTENT_DISPOSITION]
                .to_str()
                .expect("h")
                .starts_with("inline")
        );
        assert!(
            inline.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .expect("h")
                .contains("sandbox")
        );
    }
}

/// The report's window.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportQuery {
    /// Days back from now (1-366, default 30).
    days: Option<String>,
}

pub(crate) async fn report(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Response, ApiError> {
    let days = match q.days.as_deref() {
        None => 30,
        Some(d) => d.parse::<i64>().map_err(|_| {
            ApiError::invalid(format!(
                "days \"{}\" is not a number of days (1-366)",
                d.chars().take(20).collect::<String>()
            ))
        })?,
    };
    let r = desk(&s)?.report(days, now_ms()).await.map_err(desk_err)?;
    let mut v = json!(r);
    v["from"] = json!(rfc3339(r.from_ms));
    v["to"] = json!(rfc3339(r.to_ms));
    v["csat_percent"] = json!(r.csat_percent());
    v["nps_score"] = json!(r.nps_score());
    v["backlog"] = r
        .backlog
        .iter()
        .map(|(day, n)| json!({"day": rfc3339(*day), "active": n}))
        .collect();
    v["by_category"] = r
        .by_category
        .iter()
        .map(|(k, n)| json!({"category": k, "tickets": n}))
        .collect();
    v["by_chain"] = r
        .by_chain
        .iter()
        .map(|(k, n)| json!({"chain": k, "tickets": n}))
        .collect();
    v["csat"] = json!({"answers": r.csat.0, "satisfied": r.csat.1});
    v["nps"] = json!({"promoters": r.nps.0, "passives": r.nps.1, "detractors": r.nps.2});
    if let Some(o) = v.as_object_mut() {
        o.remove("from_ms");
        o.remove("to_ms");
    }
    Ok(Json(v).into_response())
}

/// An NPS campaign to start.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CampaignBody {
    /// Name (at most 100 characters).
    name: String,
    /// Requesters who opened a ticket in this many days are invited (1-366).
    days: i64,
}

pub(crate) async fn start_nps(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiJson(b): ApiJson<CampaignBody>,
) -> Result<Response, ApiError> {
    let c = desk(&s)?
        .start_nps(&b.name, b.days, &who.actor(), now_ms())
        .await
        .map_err(desk_err)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": c.id, "name": c.name, "invited": c.invited, "created": rfc3339(c.created_ms)})),
    )
        .into_response())
}
