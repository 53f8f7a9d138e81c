//! The knowledge base: `/kb` (search, FAQ and articles by category, for everyone),
//! `/kb/{id}` (an article in the reader's language, "was this helpful?"), the portal's
//! suggestions while a requester types a subject (`/kb/suggest`, an htmx fragment; opening
//! one and saying it answered counts a deflected ticket), and for staff `/kb/manage` (every
//! article with its counters, drafts and internal ones included) and the editor.

use super::{Ctx, Page, page, render, see_other};
use crate::AppState;
use crate::ticket_routes::{desk, desk_err};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Form};
use chainops_auth::{Permission, Principal};
use chainops_core::time::{now_ms, rfc3339};
use chainops_desk::kb::{Audience, LANGS};
use chainops_store::kb::{ArticleRow, Counter};
use serde::Deserialize;

/// The routes.
pub static PAGE: Page = Page {
    routes: &[
        page(
            "GET",
            "/kb",
            Permission::Public,
            None,
            "Knowledge base: search, FAQ and articles by category",
            || get(home),
        ),
        page(
            "GET",
            "/kb/suggest",
            Permission::Public,
            None,
            "Knowledge base: articles matching a ticket subject (an HTML fragment for the portal)",
            || get(suggest),
        ),
        page(
            "GET",
            "/kb/manage",
            Permission::WorkTickets,
            None,
            "Console: every knowledge-base article with its counters; the editor",
            || get(manage),
        ),
        page(
            "POST",
            "/kb/manage",
            Permission::WorkTickets,
            Some("kb.save"),
            "Console form: save an article's language version",
            || post(save),
        ),
        page(
            "POST",
            "/kb/manage/delete",
            Permission::WorkTickets,
            Some("kb.delete"),
            "Console form: delete an article (every language)",
            || post(delete),
        ),
        page(
            "GET",
            "/kb/{id}",
            Permission::Public,
            None,
            "Knowledge base: one article in the reader's language",
            || get(article),
        ),
        page(
            "POST",
            "/kb/{id}/vote",
            Permission::Public,
            Some("kb.vote"),
            "Knowledge base form: was this article helpful (yes/no)",
            || post(vote),
        ),
    ],
    nav: Some(("nav.kb", "/kb/manage", Permission::WorkTickets)),
};

/// An article in a list.
pub struct Item {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Language of this version.
    pub lang: String,
    /// Category label.
    pub category: String,
}

/// Articles of one category.
pub struct Section {
    /// Category label.
    pub label: String,
    /// Its articles.
    pub items: Vec<Item>,
}

/// `/kb`.
#[derive(Template)]
#[template(path = "kb.html")]
pub struct HomePage {
    /// Context (public).
    pub c: Ctx,
    /// The search.
    pub q: String,
    /// Search results (`None`: no search).
    pub results: Option<Vec<Item>>,
    /// FAQ.
    pub faq: Vec<Item>,
    /// By category.
    pub sections: Vec<Section>,
}

/// `/kb/{id}`.
#[derive(Template)]
#[template(path = "kb_article.html")]
pub struct ArticlePage {
    /// Context (public).
    pub c: Ctx,
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Body as HTML.
    pub html: String,
    /// Language shown.
    pub lang: String,
    /// Other languages (tag, link).
    pub others: Vec<(String, String)>,
    /// Shown in the other language than the reader's (no version in theirs).
    pub fallback: bool,
    /// Category label.
    pub category: String,
    /// Last change.
    pub updated: String,
    /// Opened from the portal's suggestions.
    pub from_portal: bool,
    /// Just voted.
    pub voted: bool,
}

/// `/kb/manage`.
#[derive(Template)]
#[template(path = "kb_manage.html")]
pub struct ManagePage {
    /// Context.
    pub c: Ctx,
    /// Rows: article, its counters (views, helpful, unhelpful, suggested, deflected).
    pub rows: Vec<(ArticleRow, [i64; 5])>,
    /// The editor's values.
    pub edit: ArticleRow,
    /// Categories (value, label).
    pub categories: Vec<(String, String)>,
    /// Languages.
    pub langs: &'static [&'static str],
    /// Why the last save was refused.
    pub error: Option<String>,
}

fn item(c: &Ctx, a: &ArticleRow) -> Item {
    Item {
        id: a.id.clone(),
        title: a.title.clone(),
        lang: a.lang.clone(),
        category: super::category_label(c.t, &a.category),
    }
}

/// Public pages are the same for everyone of a language: cached briefly.
fn cacheable(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    r.headers_mut().insert(
        header::VARY,
        HeaderValue::from_static("Accept-Language, Cookie"),
    );
    r
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

async fn home(State(s): State<AppState>, c: Ctx, Query(q): Query<SearchQuery>) -> Response {
    let c = c.public();
    let d = match desk(&s) {
        Ok(d) => d,
        Err(e) => return super::error_page(c, e),
    };
    let ix = match d.kb().await {
        Ok(ix) => ix,
        Err(e) => return super::error_page(c, desk_err(e)),
    };
    let lang = c.t.lang.tag();
    let q =
        q.q.unwrap_or_default()
            .chars()
            .take(200)
            .collect::<String>();
    let results = (!q.trim().is_empty()).then(|| {
        ix.search(&q, lang, Audience::Public, 20)
            .iter()
            .map(|h| item(&c, &h.article))
            .collect()
    });
    let chosen = ix.one_per_article(lang, Audience::Public);
    let faq = chosen
        .iter()
        .filter(|a| a.faq)
        .map(|a| item(&c, a))
        .collect();
    let sections = d
        .config
        .categories
        .iter()
        .map(|cat| Section {
            label: super::category_label(c.t, cat),
            items: chosen
                .iter()
                .filter(|a| &a.category == cat)
                .map(|a| item(&c, a))
                .collect(),
        })
        .filter(|s| !s.items.is_empty())
        .collect();
    cacheable(render(
        StatusCode::OK,
        HomePage {
            c,
            q,
            results,
            faq,
            sections,
        },
    ))
}

/// The portal's suggestions for a subject.
#[derive(Template)]
#[template(path = "kb_suggest.html")]
pub struct Suggestions {
    /// Context (public).
    pub c: Ctx,
    /// Up to five articles.
    pub items: Vec<Item>,
}

#[derive(Deserialize)]
struct SuggestQuery {
    subject: Option<String>,
}

async fn suggest(State(s): State<AppState>, c: Ctx, Query(q): Query<SuggestQuery>) -> Response {
    let c = c.public();
    let subject: String = q.subject.unwrap_or_default().chars().take(200).collect();
    let items = match desk(&s) {
        Ok(d) => match d.kb().await {
            Ok(ix) => ix
                .search(&subject, c.t.lang.tag(), Audience::Public, 5)
                .iter()
                .map(|h| item(&c, &h.article))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "knowledge base suggestions");
                Vec::new()
            }
        },
        Err(_) => Vec::new(),
    };
    render(StatusCode::OK, Suggestions { c, items })
}

#[derive(Deserialize)]
struct ArticleQuery {
    lang: Option<String>,
    from: Option<String>,
    voted: Option<String>,
}

async fn article(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<String>,
    Query(q): Query<ArticleQuery>,
) -> Response {
    let c = c.public();
    let d = match desk(&s) {
        Ok(d) => d,
        Err(e) => return super::error_page(c, e),
    };
    let ix = match d.kb().await {
        Ok(ix) => ix,
        Err(e) => return super::error_page(c, desk_err(e)),
    };
    let versions = ix.versions(&id, Audience::Public);
    let reader = c.t.lang.tag();
    let want = q
        .lang
        .as_deref()
        .filter(|l| LANGS.contains(l))
        .unwrap_or(reader);
    let Some(a) = versions
        .iter()
        .find(|a| a.lang == want)
        .or(versions.first())
        .copied()
    else {
        return super::error_page(
            c,
            crate::error::ApiError::not_found(format!(
                "there is no article \"{}\"; see /kb",
                id.chars().take(64).collect::<String>()
            )),
        );
    };
    let from_portal = q.from.as_deref() == Some("portal");
    let counted = if from_portal {
        Counter::Suggested
    } else {
        Counter::View
    };
    if q.voted.is_none()
        && let Err(e) = d.count_article(&a.id, counted).await
    {
        tracing::warn!(error = %e, "count an article view");
    }
    let page = ArticlePage {
        id: a.id.clone(),
        title: a.title.clone(),
        html: crate::status_routes::markdown(&a.body),
        lang: a.lang.clone(),
        others: versions
            .iter()
            .filter(|v| v.lang != a.lang)
            .map(|v| (v.lang.clone(), format!("/kb/{}?lang={}", v.id, v.lang)))
            .collect(),
        fallback: a.lang != reader,
        category: super::category_label(c.t, &a.category),
        updated: rfc3339(a.updated_ms),
        from_portal,
        voted: q.voted.is_some(),
        c,
    };
    let r = render(StatusCode::OK, page);
    if from_portal { r } else { cacheable(r) }
}

#[derive(Deserialize)]
struct VoteForm {
    helpful: String,
    from: Option<String>,
}

async fn vote(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<String>,
    Form(f): Form<VoteForm>,
) -> Response {
    let d = match desk(&s) {
        Ok(d) => d,
        Err(e) => return super::error_page(c.public(), e),
    };
    let yes = f.helpful == "yes";
    let mut counters = vec![if yes {
        Counter::Helpful
    } else {
        Counter::Unhelpful
    }];
    if yes && f.from.as_deref() == Some("portal") {
        counters.push(Counter::Deflected);
    }
    for k in counters {
        match d.count_article(&id, k).await {
            Ok(true) => {}
            Ok(false) => {
                return super::error_page(
                    c.public(),
                    crate::error::ApiError::not_found("there is no such article; see /kb"),
                );
            }
            Err(e) => return super::error_page(c.public(), desk_err(e)),
        }
    }
    see_other(&format!("/kb/{}?voted=1", super::urlencode(&id)))
}

#[derive(Deserialize)]
struct EditQuery {
    id: Option<String>,
    lang: Option<String>,
}

async fn manage_page(
    s: &AppState,
    c: Ctx,
    edit: ArticleRow,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let d = match desk(s) {
        Ok(d) => d,
        Err(e) => return super::error_page(c, e),
    };
    let (ix, stats) = match (d.kb().await, d.store().kb_stats().await) {
        (Ok(ix), Ok(st)) => (ix, st),
        (Err(e), _) => return super::error_page(c, desk_err(e)),
        (_, Err(e)) => return super::error_page(c, desk_err(e.into())),
    };
    let rows = ix
        .all(Audience::Staff)
        .into_iter()
        .map(|a| {
            let n = stats.iter().find(|st| st.id == a.id).map_or([0; 5], |st| {
                [
                    st.views,
                    st.helpful,
                    st.unhelpful,
                    st.suggested,
                    st.deflected,
                ]
            });
            (a.clone(), n)
        })
        .collect();
    let categories = d
        .config
        .categories
        .iter()
        .map(|k| (k.clone(), super::category_label(c.t, k)))
        .collect();
    render(
        status,
        ManagePage {
            c,
            rows,
            edit,
            categories,
            langs: &LANGS,
            error,
        },
    )
}

async fn manage(State(s): State<AppState>, c: Ctx, Query(q): Query<EditQuery>) -> Response {
    let mut edit = ArticleRow {
        lang: q.lang.unwrap_or_else(|| c.t.lang.tag().to_string()),
        public: true,
        ..Default::default()
    };
    if let Some(id) = q.id
        && let Ok(d) = desk(&s)
        && let Ok(ix) = d.kb().await
    {
        let versions = ix.versions(&id, Audience::Staff);
        match versions.iter().find(|v| v.lang == edit.lang) {
            Some(v) => edit = (*v).clone(),
            None => {
                // A new translation starts from the article's shared fields.
                if let Some(v) = versions.first() {
                    edit.category = v.category.clone();
                    edit.faq = v.faq;
                    edit.public = v.public;
                }
                edit.id = id;
            }
        }
    }
    manage_page(&s, c, edit, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct SaveForm {
    #[serde(rename = "_csrf")]
    _csrf: Option<String>,
    id: String,
    lang: String,
    title: String,
    body: String,
    category: String,
    faq: Option<String>,
    public: Option<String>,
    published: Option<String>,
}

async fn save(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    c: Ctx,
    Form(f): Form<SaveForm>,
) -> Response {
    let written = ArticleRow {
        id: f.id.trim().to_string(),
        lang: f.lang,
        title: f.title,
        body: f.body,
        category: f.category,
        faq: f.faq.is_some(),
        public: f.public.is_some(),
        published: f.published.is_some(),
        ..Default::default()
    };
    let result = match desk(&s) {
        Ok(d) => d
            .save_article(written.clone(), &who.actor(), now_ms())
            .await
            .map_err(desk_err),
        Err(e) => Err(e),
    };
    match result {
        Ok(a) => see_other(&format!(
            "/kb/manage?id={}&lang={}",
            super::urlencode(&a.id),
            super::urlencode(&a.lang)
        )),
        Err(e) => {
            let status = e.status();
            manage_page(&s, c, written, Some(e.message), status).await
        }
    }
}

#[derive(Deserialize)]
struct DeleteForm {
    #[serde(rename = "_csrf")]
    _csrf: Option<String>,
    id: String,
}

async fn delete(State(s): State<AppState>, c: Ctx, Form(f): Form<DeleteForm>) -> Response {
    let result = match desk(&s) {
        Ok(d) => d
            .store()
            .delete_article(&f.id)
            .await
            .map_err(|e| desk_err(e.into())),
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => see_other("/kb/manage"),
        Err(e) => super::error_page(c, e),
    }
}
