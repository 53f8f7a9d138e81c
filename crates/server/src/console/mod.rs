//! The web console: server-rendered pages (askama templates compiled in, `templates/`),
//! every string from the message catalogs ([`i18n`]), progressive enhancement with htmx and
//! charts with uPlot (vendored, [`assets`]). Pages are routes of the one route table: each
//! page module declares its [`Page`] (routes and navigation entry) and [`PAGES`] lists them.
//! The guard ([`crate::access::guard`]) enforces their permissions like any API route;
//! refusals become a redirect to the login form (401) or an error page (403), see [`refusal`].

pub mod alerts;
pub mod assets;
pub mod audit_trail;
pub mod backups;
pub mod contract_audit;
pub mod docs;
pub mod fleet;
pub mod i18n;
pub mod kb;
pub mod load_tests;
pub mod login;
pub mod logs;
pub mod node;
pub mod reports;
pub mod settings;
pub mod status;
pub mod support;
pub mod tickets;
pub mod users;

use crate::AppState;
use crate::api::Route;
use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chainops_auth::{Permission, Principal};
use i18n::{Catalog, Lang};

/// One page: its routes (a page and the fragments and form posts it owns) and its entry in
/// the navigation bar, if it has one.
pub struct Page {
    /// The page's routes.
    pub routes: &'static [Route],
    /// Navigation entry: catalog key of its label, link, and the permission that shows it.
    pub nav: Option<(&'static str, &'static str, Permission)>,
}

/// A console route: HTML (or a fragment of it), described for the route table but not for
/// the OpenAPI document, which is the API's.
pub const fn page(
    method: &'static str,
    path: &'static str,
    permission: Permission,
    audit: Option<&'static str>,
    summary: &'static str,
    handler: fn() -> axum::routing::MethodRouter<AppState>,
) -> Route {
    Route {
        method,
        path,
        permission,
        audit,
        summary,
        params: crate::schema::none,
        body: crate::schema::no_body,
        ok: 200,
        response: crate::schema::text,
        handler,
    }
}

/// Every page, in navigation order. A new page is one module plus one line here.
pub static PAGES: &[&Page] = &[
    &fleet::PAGE,
    &alerts::PAGE,
    &logs::PAGE,
    &backups::PAGE,
    &contract_audit::PAGE,
    &load_tests::PAGE,
    &status::PAGE,
    &reports::PAGE,
    &tickets::PAGE,
    &support::PAGE,
    &kb::PAGE,
    &users::PAGE,
    &audit_trail::PAGE,
    &settings::PAGE,
    &node::PAGE,
    &docs::PAGE,
    &login::PAGE,
    &assets::PAGE,
];

/// Every console route.
pub fn routes() -> impl Iterator<Item = &'static Route> {
    PAGES.iter().flat_map(|p| p.routes.iter())
}

/// Is `path` (a matched route pattern) a console page?
pub fn is_page(path: &str) -> bool {
    routes().any(|r| r.path == path)
}

/// Cookie remembering the chosen language.
pub const LANG_COOKIE: &str = "chainops_lang";
/// Cookie remembering the chosen theme (`light`, `dark`, `auto`).
pub const THEME_COOKIE: &str = "chainops_theme";

/// The session's CSRF token, put beside the principal by the guard for session requests.
#[derive(Debug, Clone)]
pub struct SessionCsrf(pub String);

/// A navigation link as the layout shows it.
pub struct NavLink {
    /// Label.
    pub label: &'static str,
    /// Target.
    pub href: &'static str,
    /// The current page?
    pub current: bool,
}

/// What every page template gets: language, theme, the viewer, their CSRF token, the
/// navigation the viewer's role may see and the current path.
pub struct Ctx {
    /// Catalog of the viewer's language.
    pub t: &'static Catalog,
    /// `light`, `dark` or `auto`.
    pub theme: &'static str,
    /// The logged-in viewer.
    pub user: Option<Principal>,
    /// Their CSRF token (hidden field of every form).
    pub csrf: String,
    /// The request path (and query), for the language and theme links.
    pub here: String,
    /// Navigation.
    pub nav: Vec<NavLink>,
    /// Version tag of the embedded assets (cache busting).
    pub asset_v: &'static str,
}

use crate::session::cookie;

/// The viewer's language from the request.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    Lang::negotiate(
        cookie(headers, LANG_COOKIE),
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

impl Ctx {
    /// The context of a request whose guard already ran.
    pub fn of(parts: &Parts) -> Ctx {
        let t = lang_of(&parts.headers).catalog();
        let theme = match cookie(&parts.headers, THEME_COOKIE) {
            Some("light") => "light",
            Some("dark") => "dark",
            _ => "auto",
        };
        let user = parts.extensions.get::<Principal>().cloned();
        let csrf = parts
            .extensions
            .get::<SessionCsrf>()
            .map(|c| c.0.clone())
            .unwrap_or_default();
        let path = parts.uri.path();
        let nav = match &user {
            Some(p) => PAGES
                .iter()
                .filter_map(|pg| pg.nav)
                .filter(|(_, _, perm)| perm.allows(p.role))
                .map(|(key, href, _)| NavLink {
                    label: t.t(key),
                    href,
                    current: path == href || (href != "/" && path.starts_with(href)),
                })
                .collect(),
            None => Vec::new(),
        };
        Ctx {
            t,
            theme,
            user,
            csrf,
            here: parts
                .uri
                .path_and_query()
                .map_or_else(|| "/".to_string(), |p| p.as_str().to_string()),
            nav,
            asset_v: assets::version(),
        }
    }

    /// The context of a page that is the same for everyone (the status page, the support
    /// portal): no viewer, no navigation, no CSRF token, so nothing personal is rendered and
    /// it can be cached.
    pub fn public(mut self) -> Ctx {
        self.user = None;
        self.nav = Vec::new();
        self.csrf = String::new();
        self
    }

    /// May the viewer do what `perm` guards (shows or hides a control)?
    pub fn may(&self, perm: &Permission) -> bool {
        self.user.as_ref().is_some_and(|p| perm.allows(p.role))
    }

    /// May the viewer acknowledge and silence?
    pub fn may_operate(&self) -> bool {
        self.may(&Permission::OperateAlerts)
    }

    /// Link that switches the language and comes back here.
    pub fn lang_link(&self, lang: &str) -> String {
        format!("/prefs?lang={lang}&back={}", urlencode(&self.here))
    }

    /// Link that switches the theme and comes back here.
    pub fn theme_link(&self, theme: &str) -> String {
        format!("/prefs?theme={theme}&back={}", urlencode(&self.here))
    }

    /// The viewer's role name.
    pub fn role(&self) -> &'static str {
        self.user.as_ref().map_or("", |p| p.role.as_str())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Ctx::of(parts))
    }
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("v", s)])
        .map(|q| q[2..].to_string())
        .unwrap_or_default()
}

/// A local path to go back to (`/…`, not `//host` or `/\host`); anything else is `/`.
pub fn local_path(back: Option<&str>) -> String {
    match back {
        Some(b)
            if b.starts_with('/')
                && !b.starts_with("//")
                && !b.starts_with("/\\")
                && b.len() <= 2048
                && !b.chars().any(char::is_control) =>
        {
            b.to_string()
        }
        _ => "/".to_string(),
    }
}

/// Renders a template as HTML (a template error is logged and becomes a 500 page).
pub fn render(status: StatusCode, page: impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "console template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!doctype html><title>500</title><h1>500</h1>".to_string()),
            )
                .into_response()
        }
    }
}

/// Error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// Context.
    pub c: Ctx,
    /// HTTP status.
    pub status: u16,
    /// Catalog key of the heading.
    pub title: &'static str,
    /// What went wrong (from the API's error message, which names the fix).
    pub message: String,
}

/// An error page for `err` (a handler's [`crate::ApiError`]).
pub fn error_page(c: Ctx, err: crate::ApiError) -> Response {
    let status =
        StatusCode::from_u16(err.kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let title = match status.as_u16() {
        400 | 422 => "error.invalid",
        403 => "error.forbidden",
        404 => "error.not_found",
        409 => "error.conflict",
        413 => "error.too_large",
        429 => "error.limited",
        502 => "error.upstream",
        _ => "error.internal",
    };
    // A node's failure (502) is worth reading; an internal one is in the log only.
    let message = if status.is_server_error() && err.kind != chainops_core::ErrorKind::Upstream {
        c.t.t("error.internal_detail").to_string()
    } else {
        err.message
    };
    render(
        status,
        ErrorPage {
            c,
            status: status.as_u16(),
            title,
            message,
        },
    )
}

/// Turns a guard refusal of a page request into what a browser should see: no or expired
/// credentials → the login form with a way back (303 to `/?next=`); forbidden → a 403
/// page in the viewer's language, without navigation to what they may not see.
pub fn refusal(parts: &Parts, status: StatusCode, message: String) -> Response {
    if status == StatusCode::UNAUTHORIZED {
        let next = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        let to = if next == "/" {
            "/".to_string()
        } else {
            format!("/?next={}", urlencode(&next))
        };
        let mut r = Redirect::to(&to).into_response();
        // An expired session cookie would be refused again on the login page.
        r.headers_mut().insert(
            header::SET_COOKIE,
            header::HeaderValue::from_static(
                "chainops_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
            ),
        );
        return r;
    }
    let c = Ctx::of(parts);
    let title = if status == StatusCode::FORBIDDEN {
        "error.forbidden"
    } else {
        "error.invalid"
    };
    render(
        status,
        ErrorPage {
            c,
            status: status.as_u16(),
            title,
            message,
        },
    )
}

/// A form that carries nothing but the CSRF token (the guard checked it already).
#[derive(serde::Deserialize)]
pub struct CsrfOnly {
    #[serde(rename = "_csrf")]
    _csrf: Option<String>,
}

/// Time-range choices of a filter: (label, value, selected), the first when `chosen` is
/// none of them.
pub fn range_options(
    t: &Catalog,
    ranges: &[(&'static str, &'static str, i64)],
    chosen: &str,
) -> Vec<(String, &'static str, bool)> {
    let chosen = if ranges.iter().any(|r| r.1 == chosen) {
        chosen
    } else {
        ranges.first().map_or("", |r| r.1)
    };
    ranges
        .iter()
        .map(|(k, v, _)| (t.t(k).to_string(), *v, *v == chosen))
        .collect()
}

/// The milliseconds back of the range named `chosen` (the first range when none is).
pub fn range_ms(ranges: &[(&'static str, &'static str, i64)], chosen: &str) -> i64 {
    ranges
        .iter()
        .find(|r| r.1 == chosen)
        .or(ranges.first())
        .map_or(0, |r| r.2)
}

/// `?done=…` of a page a form redirects back to (what just happened).
#[derive(serde::Deserialize)]
pub struct DoneQuery {
    /// What happened.
    pub done: Option<String>,
}

/// The client's address without its port (the limiter's key for public forms).
pub fn client_ip(addr: &crate::session::ClientAddr) -> String {
    addr.0
        .parse::<std::net::SocketAddr>()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|_| addr.0.clone())
}

/// A private page (a link whose token is the credential): not cached anywhere, and the
/// link not sent on to other sites as a referrer.
pub fn private(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

/// A form post's redirect back to `to` (303, so the browser GETs it).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// `?format=` of a download.
#[derive(serde::Deserialize)]
pub struct FormatQuery {
    /// The format asked for.
    pub format: Option<String>,
}

/// A download: `body` as `ctype`, saved as `file` (a name we made, ASCII).
pub fn attachment(body: String, ctype: &str, file: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, ctype.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// The file a multipart form carries in `field`: (its file name, its bytes), or `None` when
/// the form has no such field or it is empty. The error names what could not be read.
pub async fn uploaded_file(
    mut form: axum::extract::Multipart,
    field: &str,
) -> Result<Option<(String, Vec<u8>)>, crate::ApiError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        crate::ApiError::invalid(format!("the upload could not be read: {}", e.body_text()))
    };
    while let Some(f) = form.next_field().await.map_err(bad)? {
        if f.name() == Some(field) {
            let name = f.file_name().unwrap_or_default().to_string();
            let bytes = f.bytes().await.map_err(bad)?;
            return Ok((!bytes.is_empty()).then(|| (name, bytes.to_vec())));
        }
    }
    Ok(None)
}

/// A multipart form's text fields and files (`attachments`), bounded: at most 64 fields.
pub(crate) async fn read_form(
    mut form: axum::extract::Multipart,
) -> Result<(Vec<(String, String)>, Vec<chainops_desk::service::Upload>), crate::ApiError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return crate::ApiError {
                kind: chainops_core::ErrorKind::TooLarge,
                message: format!(
                    "the form is larger than {} MB; attach smaller files or fewer of them",
                    crate::limits::MAX_UPLOAD_BYTES >> 20
                ),
            };
        }
        crate::ApiError::invalid(format!("the form could not be read: {}", e.body_text()))
    };
    let mut fields = Vec::new();
    let mut files = Vec::new();
    let mut n = 0;
    while let Some(f) = form.next_field().await.map_err(bad)? {
        n += 1;
        if n > 64 {
            return Err(crate::ApiError::invalid("the form has too many fields"));
        }
        let name = f.name().unwrap_or_default().to_string();
        if name == "attachments" {
            let file_name = f.file_name().unwrap_or_default().to_string();
            let bytes = f.bytes().await.map_err(bad)?;
            if !bytes.is_empty() || !file_name.is_empty() {
                files.push(chainops_desk::service::Upload {
                    name: file_name,
                    data: bytes.to_vec(),
                });
            }
        } else {
            let text = f.text().await.map_err(bad)?;
            fields.push((name, text));
        }
    }
    Ok((fields, files))
}

pub(crate) fn field(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// A category's name in the viewer's language (a category of the config without a
/// catalog entry shows as written).
pub fn category_label(t: &Catalog, category: &str) -> String {
    let key = format!("support.cat_{category}");
    if t.has(&key) {
        t.t(&key).to_string()
    } else {
        category.to_string()
    }
}

/// A ticket message as the requester's and the staff's pages show it.
pub struct MessageView {
    /// Written by staff (or the system), not the requester.
    pub staff: bool,
    /// The staff member's name (empty for the requester).
    pub author: String,
    /// A public reply (not an internal note).
    pub public: bool,
    /// When (RFC 3339).
    pub at: String,
    /// The body rendered from Markdown and sanitised.
    pub html: String,
    /// Its files: (id, name, size for people).
    pub files: Vec<(String, String, String)>,
}

/// The messages of a ticket with their files.
pub fn message_views(
    messages: &[chainops_store::tickets::MessageRow],
    files: &[chainops_store::tickets::AttachmentRow],
) -> Vec<MessageView> {
    messages
        .iter()
        .map(|m| MessageView {
            staff: m.author_kind != "requester",
            author: if m.author_kind == "requester" {
                String::new()
            } else {
                m.author.clone()
            },
            public: m.public,
            at: chainops_core::time::rfc3339(m.at_ms),
            html: crate::status_routes::markdown(&m.body),
            files: files
                .iter()
                .filter(|a| a.message_id == m.id)
                .map(|a| (a.id.clone(), a.name.clone(), fmt::bytes(a.size)))
                .collect(),
        })
        .collect()
}

/// The page parts shared by templates: formats for numbers and ages.
pub mod fmt {
    /// A height or count with thin grouping (`1 234 567`), or `–`.
    pub fn num(v: Option<u64>) -> String {
        let Some(v) = v else {
            return "–".into();
        };
        let s = v.to_string();
        let mut out = String::with_capacity(s.len() + s.len() / 3);
        for (i, ch) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push('\u{202f}');
            }
            out.push(ch);
        }
        out
    }

    /// Seconds as `4.2 s`, `3 min`, `2.5 h`, `3 d`, or `–`.
    pub fn age(v: Option<f64>) -> String {
        match v {
            None => "–".into(),
            Some(s) if !s.is_finite() => "–".into(),
            Some(s) if s < 60.0 => format!("{s:.1} s"),
            Some(s) if s < 3600.0 => format!("{:.0} min", s / 60.0),
            Some(s) if s < 86_400.0 => format!("{:.1} h", s / 3600.0),
            Some(s) => format!("{:.1} d", s / 86_400.0),
        }
    }

    /// An event's details for people: its summary if it has one, `by: comment` for an
    /// acknowledgement, else `key=value …` without empty values.
    pub fn detail(v: &serde_json::Value) -> String {
        let Some(o) = v.as_object() else {
            return v.to_string();
        };
        if let Some(s) = o.get("summary").and_then(|s| s.as_str()) {
            return match o.get("silenced_by").and_then(|s| s.as_str()) {
                Some(by) => format!("{s} (silenced by {by})"),
                None => s.to_string(),
            };
        }
        if let (Some(by), Some(c)) = (
            o.get("by").and_then(|s| s.as_str()),
            o.get("comment").and_then(|s| s.as_str()),
        ) {
            return format!("{by}: {c}");
        }
        o.iter()
            .filter(|(_, v)| !v.is_null() && v.as_str() != Some(""))
            .map(|(k, v)| match v.as_str() {
                Some(s) => format!("{k}={s}"),
                None => format!("{k}={v}"),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A size in bytes for people: `512 B`, `12 KB`, `5.0 MB`.
    pub fn bytes(n: i64) -> String {
        let n = n.max(0) as f64;
        if n >= 1_048_576.0 {
            format!("{:.1} MB", n / 1_048_576.0)
        } else if n >= 1024.0 {
            format!("{:.0} KB", (n / 1024.0).ceil())
        } else {
            format!("{n} B")
        }
    }

    /// A ratio or float with up to 3 significant decimals, or `–`.
    pub fn float(v: Option<f64>) -> String {
        match v {
            Some(x) if x.is_finite() => {
                let s = format!("{x:.3}");
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            }
            _ => "–".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_links_stay_on_this_site() {
        assert_eq!(local_path(Some("/alerts?x=1")), "/alerts?x=1");
        for evil in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example",
            "",
            "/a\nSet-Cookie: x",
        ] {
            assert_eq!(local_path(Some(evil)), "/", "{evil:?}");
        }
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn numbers_group_and_ages_scale() {
        assert_eq!(fmt::num(Some(1_234_567)), "1\u{202f}234\u{202f}567");
        assert_eq!(fmt::num(Some(12)), "12");
        assert_eq!(fmt::num(None), "–");
        assert_eq!(fmt::age(Some(4.25)), "4.2 s");
        assert_eq!(fmt::age(Some(7200.0)), "2.0 h");
        assert_eq!(fmt::age(Some(f64::NAN)), "–");
        assert_eq!(fmt::float(Some(0.5)), "0.5");
        let v = serde_json::json!({"rule": "HeadStalled", "summary": "no block for 9 s", "silenced_by": null});
        assert_eq!(fmt::detail(&v), "no block for 9 s");
        let v = serde_json::json!({"by": "user:alice", "comment": "on it", "until": "x"});
        assert_eq!(fmt::detail(&v), "user:alice: on it");
        let v = serde_json::json!({"depth": 2, "old": "0xab", "note": ""});
        assert_eq!(fmt::detail(&v), "depth=2 old=0xab");
        assert_eq!(fmt::detail(&serde_json::json!({})), "");
    }

    /// Templates hold no text of their own: everything a person reads comes from the catalog.
    #[test]
    fn templates_hold_no_literal_text() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        for entry in std::fs::read_dir(dir).expect("templates dir") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("read");
            // Drop template tags, expressions and comments (also inside HTML tags), then
            // HTML tags; what remains is text a person reads.
            let mut visible = String::new();
            let mut in_tag = false;
            let mut rest = text.as_str();
            while let Some(c) = rest.chars().next() {
                let close = ["{{", "{%", "{#"]
                    .iter()
                    .position(|o| rest.starts_with(o))
                    .map(|i| ["}}", "%}", "#}"][i]);
                if let Some(close) = close {
                    rest = rest[2..].find(close).map_or("", |j| &rest[2 + j + 2..]);
                    continue;
                }
                match c {
                    '<' => in_tag = true,
                    '>' if in_tag => in_tag = false,
                    _ if !in_tag => visible.push(c),
                    _ => {}
                }
                rest = &rest[c.len_utf8()..];
            }
            let words: Vec<&str> = visible
                .split_whitespace()
                .filter(|w| w.chars().any(char::is_alphabetic))
                .collect();
            assert!(
                words.is_empty(),
                "{}: literal text {words:?}; put it in the catalogs (crates/server/i18n)",
                path.display()
            );
        }
    }
}
