//! The staff side of the support desk: `/tickets` (the queue, nearest SLA deadline first,
//! with filters) and `/tickets/{id}` (the conversation with internal notes, SLA clocks as
//! bars, properties, history, the requester's contact data for those who work tickets, and
//! for admins the requester's export and erasure). Forms post to the desk through the same
//! operations as the API.

use super::{Ctx, Page, page, render, see_other};
use crate::AppState;
use crate::error::ApiError;
use crate::ticket_routes::{ChangeBody, TicketQuery, desk, desk_err, number};
use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Form};
use chainops_auth::{Permission, Principal};
use chainops_core::time::{now_ms, rfc3339};
use chainops_desk::service::{Author, TicketView};
use chainops_desk::sla::Phase;
use chainops_desk::tickets::{Priority, State as TicketState};
use chainops_store::tickets::TicketRow;
use serde::Deserialize;

/// The routes.
pub static PAGE: Page = Page {
    routes: &[
        page(
            "GET",
            "/tickets",
            Permission::ReadTickets,
            None,
            "Console: the ticket queue (nearest SLA deadline first; filters)",
            || get(list),
        ),
        page(
            "GET",
            "/tickets/{id}",
            Permission::ReadTickets,
            None,
            "Console: one ticket with its conversation, SLA clocks, properties and history",
            || get(detail),
        ),
        page(
            "POST",
            "/tickets/known-issue",
            Permission::WorkTickets,
            Some("ticket.known_issue"),
            "Console form: one public reply to every active ticket linked to an incident (optionally solving them)",
            || post(known_issue),
        ),
        page(
            "POST",
            "/tickets/{id}/reply",
            Permission::WorkTickets,
            Some("ticket.reply"),
            "Console form: reply to the requester or add an internal note (multipart, attachments)",
            || {
                post(reply).layer(axum::extract::DefaultBodyLimit::max(
                    crate::limits::MAX_UPLOAD_BYTES,
                ))
            },
        ),
        page(
            "POST",
            "/tickets/{id}/change",
            Permission::WorkTickets,
            Some("ticket.change"),
            "Console form: change a ticket's state, priority, assignee, team, tags or incident",
            || post(change),
        ),
        page(
            "POST",
            "/tickets/{id}/merge",
            Permission::WorkTickets,
            Some("ticket.merge"),
            "Console form: merge a ticket into another",
            || post(merge),
        ),
        page(
            "POST",
            "/tickets/{id}/erase-requester",
            Permission::ManagePrivacy,
            Some("requester.erase"),
            "Console form: erase the ticket's requester (crypto-shredding)",
            || post(erase),
        ),
    ],
    nav: Some(("nav.tickets", "/tickets", Permission::ReadTickets)),
};

/// A row of the queue.
pub struct Row {
    /// Number.
    pub id: i64,
    /// Subject.
    pub subject: String,
    /// State name.
    pub state: String,
    /// Priority.
    pub priority: String,
    /// Category.
    pub category: String,
    /// Chain.
    pub chain: String,
    /// Team.
    pub team: String,
    /// Assignee.
    pub assignee: String,
    /// `ok`, `warning`, `breached`.
    pub sla: String,
    /// Catalog keys of the state and SLA verdict, and the category's label.
    pub keys: (String, String, String),
    /// Next deadline (RFC 3339) and how far (`in 25 min`, `40 min ago`).
    pub due: Option<(String, String)>,
    /// Last change.
    pub updated: String,
}

/// The queue.
#[derive(Template)]
#[template(path = "tickets.html")]
pub struct ListPage {
    /// Context.
    pub c: Ctx,
    /// Rows.
    pub rows: Vec<Row>,
    /// All matching.
    pub total: i64,
    /// Filters as given: (state, priority, assignee, q).
    pub state: String,
    /// Priority filter.
    pub priority: String,
    /// Assignee filter.
    pub assignee: String,
    /// Text filter.
    pub q: String,
    /// Incident filter (a known issue: the bulk reply form shows).
    pub incident: String,
    /// May the viewer answer tickets?
    pub may_work: bool,
    /// Link to the next page, if any.
    pub next: Option<String>,
    /// Counts by verdict on this page: (ok, warning, breached).
    pub verdicts: (usize, usize, usize),
    /// State filter choices: (value, catalog key).
    pub states: Vec<(&'static str, String)>,
}

/// A clock as a bar.
pub struct ClockView {
    /// Catalog key of its name.
    pub name: &'static str,
    /// Next-response exchange.
    pub cycle: u32,
    /// `running`, `paused`, `met`, `breached`, `stopped`.
    pub phase: &'static str,
    /// Width of the bar, 0–100.
    pub pct: i64,
    /// Elapsed / target as text.
    pub text: String,
    /// Due (RFC 3339) if running.
    pub due: String,
}

/// One ticket.
#[derive(Template)]
#[template(path = "ticket.html")]
pub struct DetailPage {
    /// Context.
    pub c: Ctx,
    /// The ticket.
    pub t: TicketRow,
    /// Messages with internal notes.
    pub messages: Vec<super::MessageView>,
    /// Clocks.
    pub clocks: Vec<ClockView>,
    /// SLA policy name.
    pub policy: String,
    /// History: (at, kind, value, actor).
    pub history: Vec<(String, String, String, String)>,
    /// Requester: (name, email), or `None` when erased or not shown.
    pub requester: Option<(String, String)>,
    /// The requester was erased.
    pub erased: bool,
    /// May the viewer work the ticket?
    pub may_work: bool,
    /// May the viewer export and erase the requester?
    pub may_privacy: bool,
    /// Catalog keys of the state and SLA verdict, and the category's label.
    pub keys: (String, String, String),
    /// States to pick: (name, catalog key).
    pub states: Vec<(&'static str, String)>,
    /// Priorities.
    pub priorities: Vec<&'static str>,
    /// Teams.
    pub teams: Vec<String>,
    /// Canned replies: (index, title).
    pub canned: Vec<(usize, String)>,
}

/// The catalog key of a state's name.
pub fn state_key(state: &str) -> String {
    format!("tickets.state_{}", state.replace('-', "_"))
}

fn ago(t: i64, now: i64) -> String {
    let d = (t - now) / 1000;
    let text = super::fmt::age(Some(d.unsigned_abs() as f64));
    if d >= 0 {
        format!("+{text}")
    } else {
        format!("−{text}")
    }
}

fn row(t: TicketRow, now: i64, cat: &super::i18n::Catalog) -> Row {
    Row {
        id: t.id,
        due: t.next_due_ms.map(|d| (rfc3339(d), ago(d, now))),
        keys: (
            state_key(&t.state),
            format!("tickets.sla_{}", t.sla),
            super::category_label(cat, &t.category),
        ),
        subject: t.subject,
        state: t.state,
        priority: t.priority,
        category: t.category,
        chain: t.chain,
        team: t.team,
        assignee: t.assignee,
        sla: t.sla,
        updated: rfc3339(t.updated_ms),
    }
}

async fn list(
    State(s): State<AppState>,
    c: Ctx,
    axum::extract::Query(mut q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let state = q.remove("state").unwrap_or_else(|| "active".into());
    let parsed: Result<TicketQuery, _> = serde_json::from_value(serde_json::json!({
        "state": state,
        "priority": q.get("priority"),
        "assignee": q.get("assignee"),
        "q": q.get("q"),
        "incident": q.get("incident"),
        "offset": q.get("offset"),
    }));
    let result = match parsed {
        Ok(query) => query.run(&s, 50).await,
        Err(e) => Err(ApiError::invalid(e.to_string())),
    };
    let (rows, total, offset) = match result {
        Ok(x) => x,
        Err(e) => return super::error_page(c, e),
    };
    let now = now_ms();
    let rows: Vec<Row> = rows.into_iter().map(|t| row(t, now, c.t)).collect();
    let count = |v: &str| rows.iter().filter(|r| r.sla == v).count();
    let verdicts = (count("ok"), count("warning"), count("breached"));
    let text = |k: &str| q.get(k).cloned().unwrap_or_default();
    let next = (offset as i64 + (rows.len() as i64) < total).then(|| {
        format!(
            "/tickets?state={}&priority={}&assignee={}&q={}&incident={}&offset={}",
            super::urlencode(&state),
            super::urlencode(&text("priority")),
            super::urlencode(&text("assignee")),
            super::urlencode(&text("q")),
            super::urlencode(&text("incident")),
            offset + rows.len()
        )
    });
    let page = ListPage {
        rows,
        total,
        state,
        priority: text("priority"),
        assignee: text("assignee"),
        q: text("q"),
        incident: text("incident"),
        may_work: c.may(&Permission::WorkTickets),
        next,
        verdicts,
        states: TicketState::ALL
            .iter()
            .map(|s| (s.as_str(), state_key(s.as_str())))
            .collect(),
        c,
    };
    render(StatusCode::OK, page)
}

fn clock_view(c: &chainops_desk::sla::Clock) -> ClockView {
    let name = match c.metric {
        chainops_desk::sla::Metric::FirstResponse => "tickets.first_response",
        chainops_desk::sla::Metric::NextResponse => "tickets.next_response",
        chainops_desk::sla::Metric::Resolution => "tickets.resolution",
    };
    let phase = match c.phase {
        Phase::Running => "running",
        Phase::Paused => "paused",
        Phase::Met => "met",
        Phase::Breached => "breached",
        Phase::Stopped => "stopped",
    };
    let secs = |ms: i64| super::fmt::age(Some(ms as f64 / 1000.0));
    ClockView {
        name,
        cycle: c.cycle,
        phase,
        pct: (c.permille() / 10).min(100),
        text: format!("{} / {}", secs(c.elapsed_ms), secs(c.target_ms)),
        due: c.due_ms.map(rfc3339).unwrap_or_default(),
    }
}

fn detail_page(c: Ctx, v: TicketView, desk: &chainops_desk::service::Desk) -> DetailPage {
    let may_work = c.may(&Permission::WorkTickets);
    let may_privacy = c.may(&Permission::ManagePrivacy);
    let messages = super::message_views(&v.messages, &v.attachments);
    DetailPage {
        messages,
        clocks: v.clocks.iter().map(clock_view).collect(),
        policy: v.policy.clone().unwrap_or_default(),
        history: v
            .events
            .iter()
            .rev()
            .map(|e| {
                (
                    rfc3339(e.at_ms),
                    e.kind.clone(),
                    e.value.clone(),
                    e.actor.clone(),
                )
            })
            .collect(),
        requester: v
            .requester
            .as_ref()
            .filter(|_| may_work)
            .map(|p| (p.name.clone(), p.email.clone())),
        erased: v.requester.is_none(),
        may_work,
        may_privacy,
        keys: (
            state_key(&v.ticket.state),
            format!("tickets.sla_{}", v.ticket.sla),
            super::category_label(c.t, &v.ticket.category),
        ),
        states: TicketState::ALL
            .iter()
            .map(|s| (s.as_str(), state_key(s.as_str())))
            .collect(),
        priorities: Priority::ALL.iter().map(|p| p.as_str()).collect(),
        teams: desk.config.teams.clone(),
        canned: desk
            .config
            .canned
            .iter()
            .enumerate()
            .map(|(i, k)| (i, k.title.clone()))
            .collect(),
        t: v.ticket,
        c,
    }
}

async fn show(s: &AppState, c: Ctx, id: &str) -> Response {
    let result = async {
        let desk = desk(s)?;
        let v = desk
            .view(number(id)?, true, now_ms())
            .await
            .map_err(desk_err)?;
        Ok::<_, ApiError>((v, desk))
    }
    .await;
    match result {
        Ok((v, desk)) => render(StatusCode::OK, detail_page(c, v, &desk)),
        Err(e) => super::error_page(c, e),
    }
}

async fn detail(State(s): State<AppState>, c: Ctx, Path(id): Path<String>) -> Response {
    show(&s, c, &id).await
}

async fn reply(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    c: Ctx,
    Path(id): Path<String>,
    form: Multipart,
) -> Response {
    let result = async {
        let (fields, files) = super::read_form(form).await?;
        let desk = desk(&s)?;
        let field = |k: &str| super::field(&fields, k);
        let mut body = field("body");
        if let Some(k) = field("canned")
            .parse::<usize>()
            .ok()
            .and_then(|i| desk.config.canned.get(i))
        {
            body = if body.trim().is_empty() {
                k.body.clone()
            } else {
                format!("{}\n\n{body}", k.body)
            };
        }
        let author = Author::Staff {
            user: who.actor(),
            public: field("visibility") != "internal",
        };
        let n = number(&id)?;
        desk.reply(n, author, &body, &files, "", now_ms())
            .await
            .map_err(desk_err)?;
        Ok::<_, ApiError>(n)
    }
    .await;
    back_to_ticket(c, result)
}

/// After a form post: back to the ticket, or the error page.
fn back_to_ticket(c: Ctx, result: Result<i64, ApiError>) -> Response {
    match result {
        Ok(n) => see_other(&format!("/tickets/{n}")),
        Err(e) => super::error_page(c, e),
    }
}

/// The properties form (every field present; `tags` comma-separated).
#[derive(Deserialize)]
struct ChangeForm {
    #[serde(rename = "_csrf")]
    _csrf: Option<String>,
    state: Option<String>,
    priority: Option<String>,
    assignee: Option<String>,
    team: Option<String>,
    tags: Option<String>,
    incident: Option<String>,
}

async fn change(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    c: Ctx,
    Path(id): Path<String>,
    Form(f): Form<ChangeForm>,
) -> Response {
    let result = async {
        let body = ChangeBody {
            state: f.state,
            priority: f.priority,
            assignee: f.assignee,
            team: f.team,
            tags: f
                .tags
                .map(|t| t.split(',').map(|s| s.trim().to_string()).collect()),
            incident: f.incident,
            ..Default::default()
        };
        let n = number(&id)?;
        desk(&s)?
            .change(n, &body.change()?, &who.actor(), now_ms())
            .await
            .map_err(desk_err)?;
        Ok::<_, ApiError>(n)
    }
    .await;
    back_to_ticket(c, result)
}

#[derive(Deserialize)]
struct KnownIssueForm {
    #[serde(rename = "_csrf")]
    _csrf: Option<String>,
    incident: String,
    body: String,
    solve: Option<String>,
}

async fn known_issue(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    c: Ctx,
    Form(f): Form<KnownIssueForm>,
) -> Response {
    let result = match desk(&s) {
        Ok(d) => d
            .reply_all(
                &f.incident,
                &f.body,
                f.solve.is_some(),
                &who.actor(),
                now_ms(),
            )
            .await
            .map_err(desk_err),
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => see_other(&format!(
            "/tickets?state=&incident={}",
            super::urlencode(f.incident.trim())
        )),
        Err(e) => super::error_page(c, e),
    }
}

#[derive(Deserialize)]
struct MergeForm {
    #[serde(rename = "_csrf")]
    _csrf: Option<String>,
    into: String,
}

async fn merge(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    c: Ctx,
    Path(id): Path<String>,
    Form(f): Form<MergeForm>,
) -> Response {
    let result = async {
        let (from, into) = (number(&id)?, number(f.into.trim())?);
        desk(&s)?
            .merge(from, into, &who.actor(), now_ms())
            .await
            .map_err(desk_err)?;
        Ok::<_, ApiError>(into)
    }
    .await;
    back_to_ticket(c, result)
}

async fn erase(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    c: Ctx,
    Path(id): Path<String>,
    Form(_): Form<super::CsrfOnly>,
) -> Response {
    let result = async {
        let desk = desk(&s)?;
        let n = number(&id)?;
        let t = desk.ticket(n).await.map_err(desk_err)?;
        desk.erase_requester(&t.requester_id, &who.actor(), now_ms())
            .await
            .map_err(desk_err)?;
        Ok::<_, ApiError>(n)
    }
    .await;
    back_to_ticket(c, result)
}
