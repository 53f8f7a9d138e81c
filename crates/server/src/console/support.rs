//! The public support portal, for the chain's users (no staff account): `/support` opens a
//! ticket (subject, Markdown body, category, affected chain, attachments, contact email),
//! and the private link `/support/t/{token}` it leads to follows the ticket and takes the
//! requester's replies. Tokens stay out of the audit trail (replies post the token in the
//! form, not the path) and out of other sites' logs (`Referrer-Policy: no-referrer`); the
//! pages are never cached. Abuse limits: `support.portal_tickets_per_hour` per client
//! address and per email, the attachment type allow-list and size limits of `[support]`.

use super::{Ctx, Page, page, private, render, see_other};
use crate::AppState;
use crate::error::ApiError;
use crate::session::ClientAddr;
use crate::ticket_routes::{desk, desk_err};
use askama::Template;
use axum::Extension;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use chainops_auth::Permission;
use chainops_core::time::{now_ms, rfc3339};
use chainops_desk::service::{Allowance, Author, Channel, NewTicket};

/// The routes.
pub static PAGE: Page = Page {
    routes: &[
        page(
            "GET",
            "/support",
            Permission::Public,
            None,
            "Support portal: open a ticket (no account needed)",
            || get(portal),
        ),
        page(
            "POST",
            "/support/tickets",
            Permission::Public,
            Some("ticket.portal"),
            "Support portal form: open a ticket (multipart, attachments allowed by [support])",
            || {
                post(open).layer(axum::extract::DefaultBodyLimit::max(
                    crate::limits::MAX_UPLOAD_BYTES,
                ))
            },
        ),
        page(
            "GET",
            "/support/t/{token}",
            Permission::Public,
            None,
            "Support portal: a requester's ticket through its private link",
            || get(ticket_page),
        ),
        page(
            "POST",
            "/support/reply",
            Permission::Public,
            Some("ticket.requester_reply"),
            "Support portal form: the requester replies (the private link's token is a form field)",
            || {
                post(reply).layer(axum::extract::DefaultBodyLimit::max(
                    crate::limits::MAX_UPLOAD_BYTES,
                ))
            },
        ),
        page(
            "POST",
            "/support/csat",
            Permission::Public,
            Some("ticket.csat"),
            "Support portal form: the requester rates a solved ticket (1-5 and a comment; the link's token is a form field)",
            || post(csat),
        ),
        page(
            "GET",
            "/support/nps/{token}",
            Permission::Public,
            None,
            "Support portal: an NPS survey through its mailed private link",
            || get(nps_page),
        ),
        page(
            "POST",
            "/support/nps",
            Permission::Public,
            Some("survey.nps"),
            "Support portal form: an NPS answer (0-10 and a comment; the link's token is a form field)",
            || post(nps_answer),
        ),
        page(
            "POST",
            "/support/signin",
            Permission::Public,
            Some("ticket.signin_request"),
            "Support portal form: mail a one-time sign-in link to a requester's address (the answer is the same for unknown addresses)",
            || post(signin_request),
        ),
        page(
            "GET",
            "/support/signin/{token}",
            Permission::Public,
            None,
            "Support portal: a mailed sign-in link's page (a button uses it, so mail scanners do not)",
            || get(signin_page),
        ),
        page(
            "POST",
            "/support/signin/use",
            Permission::Public,
            Some("ticket.signin"),
            "Support portal form: use a sign-in link (the token is a form field); starts a 24-hour requester session",
            || post(signin_use),
        ),
        page(
            "GET",
            "/support/mine",
            Permission::Public,
            None,
            "Support portal: a signed-in requester's tickets",
            || get(mine),
        ),
        page(
            "GET",
            "/support/t/{token}/files/{id}",
            Permission::Public,
            None,
            "Support portal: an attachment of the requester's ticket",
            || get(file),
        ),
    ],
    nav: None,
};

/// What the form held, shown again with the reason when it is refused.
#[derive(Debug, Default, Clone)]
pub struct FormValues {
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// Category.
    pub category: String,
    /// Chain.
    pub chain: String,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
}

/// The portal's form page.
#[derive(Template)]
#[template(path = "support.html")]
pub struct PortalPage {
    /// Context (public: no viewer).
    pub c: Ctx,
    /// Categories: (value, label).
    pub categories: Vec<(String, String)>,
    /// Chains.
    pub chains: Vec<String>,
    /// Allowed attachment types, for the hint and the file input.
    pub types: String,
    /// Allowed types, largest size and most files, for the hint.
    pub attach_hint: String,
    /// Values to show again.
    pub form: FormValues,
    /// Why the last attempt was refused.
    pub error: Option<String>,
    /// The portal takes tickets.
    pub open: bool,
}

/// A requester's view of their ticket.
#[derive(Template)]
#[template(path = "support_ticket.html")]
pub struct RequesterPage {
    /// Context (public).
    pub c: Ctx,
    /// The link token (for the reply form and file links).
    pub token: String,
    /// Number.
    pub id: i64,
    /// Subject.
    pub subject: String,
    /// State name.
    pub state: String,
    /// Catalog key of the state.
    pub state_key: String,
    /// Opened.
    pub opened: String,
    /// Public messages.
    pub messages: Vec<super::MessageView>,
    /// May the requester still write (not closed)?
    pub writable: bool,
    /// Just opened (show the keep-this-link notice).
    pub fresh: bool,
    /// Why the last reply was refused.
    pub error: Option<String>,
    /// Allowed attachment types.
    pub types: String,
    /// Solved or closed: the requester may rate it.
    pub ratable: bool,
    /// The rating given (score, comment).
    pub rating: Option<(i64, String)>,
}

/// The requester's sign-in pages: `form` (ask for a link), `sent`, `continue` (use the
/// link), `mine` (their tickets).
#[derive(Template)]
#[template(path = "support_signin.html")]
pub struct SigninPage {
    /// Context (public).
    pub c: Ctx,
    /// Which page.
    pub mode: &'static str,
    /// The mailed link's token (`continue`).
    pub token: String,
    /// Tickets: number, subject, state key, updated, private link.
    pub tickets: Vec<(i64, String, String, String, String)>,
}

/// The cookie of a signed-in requester (their tickets only; staff sessions are another).
const REQUESTER_COOKIE: &str = "chainops_requester";

/// An NPS survey.
#[derive(Template)]
#[template(path = "support_nps.html")]
pub struct NpsPage {
    /// Context (public).
    pub c: Ctx,
    /// The link token (a form field).
    pub token: String,
    /// The campaign's name.
    pub campaign: String,
    /// Answered.
    pub done: bool,
    /// Why the answer was refused.
    pub error: Option<String>,
}

async fn portal_page(
    s: &AppState,
    c: Ctx,
    form: FormValues,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let desk = match desk(s) {
        Ok(d) => d,
        Err(e) => return super::error_page(c.public(), e),
    };
    let cfg = &desk.config;
    let chains = s.live().fleet.chains();
    let t = c.t;
    let page = PortalPage {
        c: c.public(),
        categories: cfg
            .categories
            .iter()
            .map(|k| (k.clone(), super::category_label(t, k)))
            .collect(),
        chains,
        types: cfg
            .attachment_types
            .iter()
            .map(|t| format!(".{t}"))
            .collect::<Vec<_>>()
            .join(","),
        attach_hint: format!(
            "{} · ≤ {} · ≤ {}",
            cfg.attachment_types.join(" "),
            super::fmt::bytes(cfg.max_attachment_size as i64),
            cfg.max_attachments
        ),
        form,
        error,
        open: cfg.portal,
    };
    private(render(status, page))
}

async fn portal(State(s): State<AppState>, c: Ctx) -> Response {
    portal_page(&s, c, FormValues::default(), None, StatusCode::OK).await
}

async fn open(
    State(s): State<AppState>,
    Extension(addr): Extension<ClientAddr>,
    c: Ctx,
    form: Multipart,
) -> Response {
    let (fields, files) = match super::read_form(form).await {
        Ok(x) => x,
        Err(e) => {
            return portal_page(
                &s,
                c,
                FormValues::default(),
                Some(e.message),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let values = FormValues {
        subject: super::field(&fields, "subject"),
        body: super::field(&fields, "body"),
        category: super::field(&fields, "category"),
        chain: super::field(&fields, "chain"),
        email: super::field(&fields, "email"),
        name: super::field(&fields, "name"),
    };
    let desk = match desk(&s) {
        Ok(d) => d,
        Err(e) => return super::error_page(c.public(), e),
    };
    if !desk.config.portal {
        return portal_page(&s, c, values, None, StatusCode::FORBIDDEN).await;
    }
    // A filled honeypot field is a form robot: answer as if accepted, store nothing.
    if !super::field(&fields, "website").is_empty() {
        return see_other("/support");
    }
    let now = now_ms();
    let ip = super::client_ip(&addr);
    let allowance = desk.allowance(Allowance::Tickets, &ip, &values.email);
    if let Err(e) = desk.admit(&allowance, now) {
        let e = desk_err(e);
        return portal_page(
            &s,
            c,
            values,
            Some(e.message),
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
    }
    let t = NewTicket {
        subject: values.subject.clone(),
        body: values.body.clone(),
        category: values.category.clone(),
        chain: values.chain.clone(),
        node: String::new(),
        priority: None,
        email: values.email.clone(),
        name: values.name.clone(),
        ip: ip.clone(),
        channel: Channel::Portal,
        attachments: files,
        tags: Vec::new(),
        actor: String::new(),
        email_id: String::new(),
    };
    match desk.open_ticket(t, now).await {
        Ok(opened) => {
            desk.count(&allowance, now);
            private(see_other(&format!(
                "/support/t/{}?new=1",
                opened.link_token
            )))
        }
        Err(e) => {
            let e = desk_err(e);
            let status = e.status();
            portal_page(&s, c, values, Some(e.message), status).await
        }
    }
}

async fn requester_page(
    s: &AppState,
    c: Ctx,
    token: &str,
    fresh: bool,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let c = c.public();
    let desk = match desk(s) {
        Ok(d) => d,
        Err(e) => return super::error_page(c, e),
    };
    let now = now_ms();
    let t = match desk.ticket_by_link(token, now).await {
        Ok(t) => t,
        Err(e) => return private(super::error_page(c, desk_err(e))),
    };
    let view = match desk.view(t.id, false, now).await {
        Ok(v) => v,
        Err(e) => return private(super::error_page(c, desk_err(e))),
    };
    let rating = match desk.rating(t.id).await {
        Ok(r) => r.map(|r| (r.score, r.comment)),
        Err(e) => return private(super::error_page(c, desk_err(e))),
    };
    let page = RequesterPage {
        ratable: matches!(t.state.as_str(), "solved" | "closed"),
        rating,
        token: token.to_string(),
        id: t.id,
        subject: t.subject.clone(),
        state: t.state.clone(),
        state_key: format!("tickets.state_{}", t.state.replace('-', "_")),
        opened: rfc3339(t.created_ms),
        messages: super::message_views(&view.messages, &view.attachments),
        writable: t.state != "closed",
        fresh,
        error,
        types: desk
            .config
            .attachment_types
            .iter()
            .map(|t| format!(".{t}"))
            .collect::<Vec<_>>()
            .join(","),
        c,
    };
    private(render(status, page))
}

#[derive(serde::Deserialize)]
struct NewQuery {
    new: Option<String>,
}

async fn ticket_page(
    State(s): State<AppState>,
    c: Ctx,
    Path(token): Path<String>,
    axum::extract::Query(q): axum::extract::Query<NewQuery>,
) -> Response {
    requester_page(&s, c, &token, q.new.is_some(), None, StatusCode::OK).await
}

async fn reply(State(s): State<AppState>, c: Ctx, form: Multipart) -> Response {
    let (desk, fields, files, token) = match portal_form(&s, form).await {
        Ok(x) => x,
        Err(e) => return super::error_page(c.public(), e),
    };
    let now = now_ms();
    let t = match desk.ticket_by_link(&token, now).await {
        Ok(t) => t,
        Err(e) => return private(super::error_page(c.public(), desk_err(e))),
    };
    match desk
        .reply(
            t.id,
            Author::Requester,
            &super::field(&fields, "body"),
            &files,
            "",
            now,
        )
        .await
    {
        Ok(_) => private(see_other(&format!("/support/t/{token}"))),
        Err(e) => {
            let e = desk_err(e);
            let status = e.status();
            requester_page(&s, c, &token, false, Some(e.message), status).await
        }
    }
}

/// A requester's form post: the desk, its fields and files, and the token it carries.
type PortalForm = (
    std::sync::Arc<chainops_desk::service::Desk>,
    Vec<(String, String)>,
    Vec<chainops_desk::service::Upload>,
    String,
);

/// Reads a requester's form post (multipart) and the desk that answers it.
async fn portal_form(s: &AppState, form: Multipart) -> Result<PortalForm, ApiError> {
    let (fields, files) = super::read_form(form).await?;
    let token = super::field(&fields, "token");
    Ok((desk(s)?, fields, files, token))
}

async fn csat(State(s): State<AppState>, c: Ctx, form: Multipart) -> Response {
    let (desk, fields, _, token) = match portal_form(&s, form).await {
        Ok(x) => x,
        Err(e) => return super::error_page(c.public(), e),
    };
    let score = super::field(&fields, "score").parse::<i64>().unwrap_or(0);
    match desk
        .rate(&token, score, &super::field(&fields, "comment"), now_ms())
        .await
    {
        Ok(_) => private(see_other(&format!("/support/t/{token}#csat"))),
        Err(e) => {
            let e = desk_err(e);
            let status = e.status();
            if e.kind == chainops_core::ErrorKind::NotFound {
                return private(super::error_page(c.public(), e));
            }
            requester_page(&s, c, &token, false, Some(e.message), status).await
        }
    }
}

fn signin_view(c: Ctx, mode: &'static str, token: String) -> Response {
    private(render(
        StatusCode::OK,
        SigninPage {
            c: c.public(),
            mode,
            token,
            tickets: Vec::new(),
        },
    ))
}

#[derive(serde::Deserialize)]
struct SigninForm {
    email: String,
    #[serde(default)]
    website: String,
}

async fn signin_request(
    State(s): State<AppState>,
    Extension(addr): Extension<ClientAddr>,
    c: Ctx,
    axum::Form(f): axum::Form<SigninForm>,
) -> Response {
    if !f.website.is_empty() {
        return signin_view(c, "sent", String::new());
    }
    let desk = match desk(&s) {
        Ok(d) => d,
        Err(e) => return super::error_page(c.public(), e),
    };
    let now = now_ms();
    let allowance = desk.allowance(Allowance::SignIn, &super::client_ip(&addr), &f.email);
    if let Err(e) = desk.admit(&allowance, now) {
        return super::error_page(c.public(), desk_err(e));
    }
    match desk.request_signin(&f.email, now).await {
        Ok(()) => {
            desk.count(&allowance, now);
            signin_view(c, "sent", String::new())
        }
        Err(e) => super::error_page(c.public(), desk_err(e)),
    }
}

async fn signin_page(Path(token): Path<String>, c: Ctx) -> Response {
    signin_view(c, "continue", token)
}

#[derive(serde::Deserialize)]
struct TokenField {
    token: String,
}

async fn signin_use(
    State(s): State<AppState>,
    c: Ctx,
    axum::Form(f): axum::Form<TokenField>,
) -> Response {
    let desk = match desk(&s) {
        Ok(d) => d,
        Err(e) => return super::error_page(c.public(), e),
    };
    match desk.use_signin_link(&f.token, now_ms()).await {
        Ok((session, expires)) => {
            let secure = if s.security.tls { "; Secure" } else { "" };
            let cookie = format!(
                "{REQUESTER_COOKIE}={session}; HttpOnly; SameSite=Lax; Path=/support; Max-Age={}{secure}",
                (expires - now_ms()) / 1000
            );
            let mut r = private(see_other("/support/mine"));
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Err(e) => private(super::error_page(c.public(), desk_err(e))),
    }
}

async fn mine(State(s): State<AppState>, headers: axum::http::HeaderMap, c: Ctx) -> Response {
    let desk = match desk(&s) {
        Ok(d) => d,
        Err(e) => return super::error_page(c.public(), e),
    };
    let session = crate::session::cookie(&headers, REQUESTER_COOKIE).unwrap_or_default();
    let requester = match desk.signed_in(session, now_ms()).await {
        Ok(Some(r)) => r,
        Ok(None) => return signin_view(c, "form", String::new()),
        Err(e) => return private(super::error_page(c.public(), desk_err(e))),
    };
    let tickets = match desk.tickets_of(&requester).await {
        Ok(t) => t,
        Err(e) => return private(super::error_page(c.public(), desk_err(e))),
    };
    private(render(
        StatusCode::OK,
        SigninPage {
            c: c.public(),
            mode: "mine",
            token: String::new(),
            tickets: tickets
                .into_iter()
                .map(|(t, token)| {
                    (
                        t.id,
                        t.subject,
                        format!("tickets.state_{}", t.state.replace('-', "_")),
                        rfc3339(t.updated_ms),
                        format!("/support/t/{token}"),
                    )
                })
                .collect(),
        },
    ))
}

async fn nps_view(
    s: &AppState,
    c: Ctx,
    token: &str,
    done: bool,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let c = c.public();
    let desk = match desk(s) {
        Ok(d) => d,
        Err(e) => return super::error_page(c, e),
    };
    match desk.nps_campaign(token).await {
        Ok((_, campaign)) => private(render(
            status,
            NpsPage {
                c,
                token: token.to_string(),
                campaign,
                done,
                error,
            },
        )),
        Err(e) => private(super::error_page(c, desk_err(e))),
    }
}

async fn nps_page(
    State(s): State<AppState>,
    c: Ctx,
    Path(token): Path<String>,
    axum::extract::Query(q): axum::extract::Query<super::DoneQuery>,
) -> Response {
    nps_view(&s, c, &token, q.done.is_some(), None, StatusCode::OK).await
}

async fn nps_answer(State(s): State<AppState>, c: Ctx, form: Multipart) -> Response {
    let (desk, fields, _, token) = match portal_form(&s, form).await {
        Ok(x) => x,
        Err(e) => return super::error_page(c.public(), e),
    };
    let score = super::field(&fields, "score").parse::<i64>().unwrap_or(-1);
    match desk
        .answer_nps(&token, score, &super::field(&fields, "comment"), now_ms())
        .await
    {
        Ok(()) => private(see_other(&format!("/support/nps/{token}?done=1"))),
        Err(e) => {
            let e = desk_err(e);
            if e.kind == chainops_core::ErrorKind::NotFound {
                return private(super::error_page(c.public(), e));
            }
            nps_view(
                &s,
                c,
                &token,
                false,
                Some(e.message),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

async fn file(
    State(s): State<AppState>,
    c: Ctx,
    Path((token, id)): Path<(String, String)>,
) -> Response {
    let c = c.public();
    let desk = match desk(&s) {
        Ok(d) => d,
        Err(e) => return super::error_page(c, e),
    };
    let now = now_ms();
    let found = async {
        let t = desk.ticket_by_link(&token, now).await.map_err(desk_err)?;
        let a = desk
            .store()
            .attachment(&id)
            .await
            .map_err(|e| ApiError::internal(e.kind(), e))?
            .filter(|a| a.ticket_id == t.id)
            .ok_or_else(|| ApiError::not_found("no such file on this ticket"))?;
        // Only files of messages the requester sees (not of internal notes).
        let public = desk
            .store()
            .ticket_messages(t.id, false)
            .await
            .map_err(|e| ApiError::internal(e.kind(), e))?;
        if !public.iter().any(|m| m.id == a.message_id) {
            return Err(ApiError::not_found("no such file on this ticket"));
        }
        Ok::<_, ApiError>(a)
    }
    .await;
    match found {
        Ok(a) => private(crate::ticket_routes::download(a)),
        Err(e) => private(super::error_page(c, e)),
    }
}
