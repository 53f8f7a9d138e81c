//! The knowledge base over the API: `GET /api/v1/kb` (search or list the published public
//! articles, one version each in the asked language), `GET /api/v1/kb/{id}` (an article's
//! versions), `POST /api/v1/kb` (save a language version; staff) and `DELETE /api/v1/kb/{id}`.
//! The rules are the desk's ([`chainops_desk::kb`]).

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::ticket_routes::{desk, desk_err};
use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chainops_auth::Principal;
use chainops_core::time::{now_ms, rfc3339};
use chainops_desk::kb::{Audience, lang_of};
use chainops_store::kb::ArticleRow;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// An article version as the API shows it.
pub(crate) fn article(a: &ArticleRow, body: bool) -> Value {
    let mut v = json!({
        "id": a.id, "lang": a.lang, "title": a.title, "category": a.category, "faq": a.faq,
        "public": a.public, "published": a.published, "updated": rfc3339(a.updated_ms),
        "url": format!("/kb/{}?lang={}", a.id, a.lang),
    });
    if body {
        v["body"] = json!(a.body);
    }
    v
}

crate::extract::list_query! {
    /// Knowledge-base search.
    KbQuery {
        /// Words to search for (English words, Chinese text); absent: every article.
        q: Option<String>,
        /// Preferred language (`en`, `zh-CN`; default `en`).
        lang: Option<String>,
        /// Only this category.
        category: Option<String>,
    }
}

pub(crate) async fn search(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<KbQuery>,
) -> Result<Response, ApiError> {
    let page = q.page(20, 50)?;
    let ix = desk(&s)?.kb().await.map_err(desk_err)?;
    let lang = lang_of(q.lang.as_deref().unwrap_or("en"));
    let text: String = q.q.as_deref().unwrap_or("").chars().take(200).collect();
    let mut found: Vec<(ArticleRow, Option<f64>)> = if text.trim().is_empty() {
        ix.one_per_article(lang, Audience::Public)
            .into_iter()
            .map(|a| (a.clone(), None))
            .collect()
    } else {
        ix.search(
            &text,
            lang,
            Audience::Public,
            chainops_desk::kb::MAX_RESULTS,
        )
        .into_iter()
        .map(|h| (h.article, Some(h.score)))
        .collect()
    };
    if let Some(c) = q.category.as_deref().filter(|c| !c.is_empty()) {
        found.retain(|(a, _)| a.category == c);
    }
    let total = found.len();
    let items: Vec<Value> = found
        .iter()
        .skip(page.offset)
        .take(page.limit)
        .map(|(a, score)| {
            let mut v = article(a, false);
            if let Some(sc) = score {
                v["score"] = json!((sc * 1000.0).round() / 1000.0);
            }
            v
        })
        .collect();
    Ok((
        [(crate::extract::TOTAL_COUNT, total.to_string())],
        Json(Value::Array(items)),
    )
        .into_response())
}

pub(crate) async fn get_one(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let ix = desk(&s)?.kb().await.map_err(desk_err)?;
    let versions = ix.versions(&id, Audience::Public);
    if versions.is_empty() {
        return Err(ApiError::not_found(format!(
            "there is no published article \"{}\"; GET /api/v1/kb lists them",
            id.chars().take(64).collect::<String>()
        )));
    }
    Ok(Json(json!({
        "id": id,
        "versions": versions.iter().map(|a| article(a, true)).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// An article's language version.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArticleBody {
    /// Id: 1-64 lower-case letters, digits and dashes, shared by the article's versions.
    id: String,
    /// `en` or `zh-CN`.
    lang: String,
    /// Title (at most 200 characters).
    title: String,
    /// Markdown.
    body: String,
    /// One of `[support] categories` (applies to every version).
    category: String,
    /// Listed as a frequently asked question (every version).
    #[serde(default)]
    faq: bool,
    /// Requesters see it (every version); `false`: staff only.
    #[serde(default = "yes")]
    public: bool,
    /// Published; `false`: a draft.
    #[serde(default)]
    published: bool,
}

fn yes() -> bool {
    true
}

pub(crate) async fn save(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiJson(b): ApiJson<ArticleBody>,
) -> Result<Response, ApiError> {
    let a = desk(&s)?
        .save_article(
            ArticleRow {
                id: b.id,
                lang: b.lang,
                title: b.title,
                body: b.body,
                category: b.category,
                faq: b.faq,
                public: b.public,
                published: b.published,
                ..Default::default()
            },
            &who.actor(),
            now_ms(),
        )
        .await
        .map_err(desk_err)?;
    Ok(Json(article(&a, true)).into_response())
}

pub(crate) async fn delete(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let gone = desk(&s)?
        .store()
        .delete_article(&id)
        .await
        .map_err(|e| desk_err(e.into()))?;
    if !gone {
        return Err(ApiError::not_found(format!(
            "there is no article \"{}\"",
            id.chars().take(64).collect::<String>()
        )));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
