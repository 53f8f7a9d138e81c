//! The knowledge base: Markdown articles in categories, FAQ entries, English and Chinese
//! versions of one article, drafts and internal articles, helpful votes, and a ranked
//! full-text search that reads Chinese.
//!
//! Search ([`crate::search`]) runs over an index built in memory from the store and rebuilt
//! when the store's articles change (count or newest change differ), so every daemon on a
//! shared store answers the same.

use crate::service::{Desk, DeskError};
use chainops_store::kb::{ArticleRow, Counter};
use std::sync::Arc;

/// The languages an article may be written in.
pub const LANGS: [&str; 2] = ["en", "zh-CN"];
/// Longest title.
pub const MAX_TITLE: usize = 200;
/// Longest body.
pub const MAX_BODY: usize = 200_000;
pub use crate::search::{Audience, Hit, Index, MAX_RESULTS, terms};

/// Whether `id` is an article id.
pub fn is_slug(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        // The console's own pages under /kb/.
        && !matches!(id, "manage" | "suggest")
}

/// The language of an `Accept-Language`-style tag: `zh-CN` for any Chinese, else `en`.
pub fn lang_of(tag: &str) -> &'static str {
    if tag.to_ascii_lowercase().starts_with("zh") {
        "zh-CN"
    } else {
        "en"
    }
}

/// The articles chainops ships: its own user guide for requesters, in both languages.
const SEEDS: [(&str, &str, &str); 10] = [
    (
        "en",
        "open-a-ticket",
        include_str!("../kb/en/open-a-ticket.md"),
    ),
    (
        "zh-CN",
        "open-a-ticket",
        include_str!("../kb/zh-CN/open-a-ticket.md"),
    ),
    ("en", "status-page", include_str!("../kb/en/status-page.md")),
    (
        "zh-CN",
        "status-page",
        include_str!("../kb/zh-CN/status-page.md"),
    ),
    (
        "en",
        "rpc-timeouts",
        include_str!("../kb/en/rpc-timeouts.md"),
    ),
    (
        "zh-CN",
        "rpc-timeouts",
        include_str!("../kb/zh-CN/rpc-timeouts.md"),
    ),
    (
        "en",
        "reply-by-email",
        include_str!("../kb/en/reply-by-email.md"),
    ),
    (
        "zh-CN",
        "reply-by-email",
        include_str!("../kb/zh-CN/reply-by-email.md"),
    ),
    ("en", "your-data", include_str!("../kb/en/your-data.md")),
    (
        "zh-CN",
        "your-data",
        include_str!("../kb/zh-CN/your-data.md"),
    ),
];

/// A seed file: `category: …` and `faq: true|false` lines, a blank line, `# Title`, body.
fn seed(lang: &str, id: &str, text: &str) -> ArticleRow {
    let (head, rest) = text.split_once("\n\n").unwrap_or(("", text));
    let field = |k: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_string()))
            .unwrap_or_default()
    };
    let (title, body) = rest.split_once('\n').unwrap_or((rest, ""));
    ArticleRow {
        id: id.into(),
        lang: lang.into(),
        title: title.trim_start_matches('#').trim().to_string(),
        body: body.trim().to_string(),
        category: field("category:"),
        faq: field("faq:") == "true",
        public: true,
        published: true,
        seeded: true,
        updated_ms: 0,
        updated_by: "chainops".into(),
    }
}

impl Desk {
    /// Seeds the knowledge base with the shipped user-guide articles (both languages), once
    /// per store: later edits and deletions stay. A seed's category that is not in
    /// `support.categories` becomes the first one.
    pub async fn seed_kb(&self, now: i64) -> Result<usize, DeskError> {
        if !self.store().claim_kb_seed(now).await? {
            return Ok(0);
        }
        let mut added = 0;
        for (lang, id, text) in SEEDS {
            let mut row = seed(lang, id, text);
            if !self.config.categories.contains(&row.category) {
                row.category = self.config.categories.first().cloned().unwrap_or_default();
            }
            row.updated_ms = now;
            if self.store().save_article(&row, true).await? {
                added += 1;
            }
        }
        Ok(added)
    }

    /// The index, rebuilt when the store's articles changed.
    pub async fn kb(&self) -> Result<Arc<Index>, DeskError> {
        let version = self.store().kb_version().await?;
        if let Some(ix) = self
            .kb_cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .filter(|ix| ix.version == version)
        {
            return Ok(ix.clone());
        }
        let rows = self.store().kb_articles().await?;
        let ix = Arc::new(Index::build(rows, version));
        *self.kb_cache.write().unwrap_or_else(|p| p.into_inner()) = Some(ix.clone());
        Ok(ix)
    }

    /// Saves an article version written by `actor` (its `seeded`, `updated_ms` and
    /// `updated_by` are set here).
    pub async fn save_article(
        &self,
        d: ArticleRow,
        actor: &str,
        now: i64,
    ) -> Result<ArticleRow, DeskError> {
        let bad = |m: String| Err(DeskError::Invalid(m));
        if !is_slug(&d.id) {
            return bad(format!(
                "article id \"{}\" must be 1-64 lower-case letters, digits and dashes (e.g. rpc-timeouts)",
                crate::notices::shown(&d.id)
            ));
        }
        if !LANGS.contains(&d.lang.as_str()) {
            return bad(format!(
                "language \"{}\" is not one of {}",
                crate::notices::shown(&d.lang),
                LANGS.join(", ")
            ));
        }
        let title = crate::notices::text("title", &d.title, MAX_TITLE)?.to_string();
        if d.body.trim().is_empty() || d.body.chars().count() > MAX_BODY {
            return bad(format!(
                "the body must hold the article (at most {MAX_BODY} characters)"
            ));
        }
        if !self.config.categories.contains(&d.category) {
            return bad(format!(
                "category \"{}\" is not in support.categories ({})",
                crate::notices::shown(&d.category),
                self.config.categories.join(", ")
            ));
        }
        let row = ArticleRow {
            title,
            body: d.body.replace("\r\n", "\n"),
            seeded: false,
            updated_ms: now,
            updated_by: actor.to_string(),
            ..d
        };
        self.store().save_article(&row, false).await?;
        Ok(row)
    }

    /// Counts a view, vote, suggestion click or deflection of a public article (unknown
    /// ids count nothing).
    pub async fn count_article(&self, id: &str, c: Counter) -> Result<bool, DeskError> {
        let ix = self.kb().await?;
        if ix.versions(id, Audience::Public).is_empty() {
            return Ok(false);
        }
        self.store().count_article(id, c).await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, lang: &str, title: &str, body: &str) -> ArticleRow {
        ArticleRow {
            id: id.into(),
            lang: lang.into(),
            title: title.into(),
            body: body.into(),
            public: true,
            published: true,
            ..Default::default()
        }
    }

    fn index() -> Index {
        let mut rows: Vec<ArticleRow> = SEEDS.iter().map(|(l, id, t)| seed(l, id, t)).collect();
        rows.push(ArticleRow {
            published: false,
            ..row("draft", "en", "Draft about timeouts", "timeouts timeouts")
        });
        rows.push(ArticleRow {
            public: false,
            ..row("internal", "en", "Internal runbook timeouts", "haproxy")
        });
        Index::build(rows, (0, 0))
    }

    #[test]
    fn chinese_is_found_by_its_words_without_spaces() {
        let ix = index();
        let hits = ix.search("节点超时", "zh-CN", Audience::Public, 5);
        assert_eq!(
            hits.first().map(|h| h.article.id.as_str()),
            Some("rpc-timeouts"),
            "{hits:?}"
        );
        assert_eq!(hits[0].article.lang, "zh-CN");
        let hits = ix.search("状态", "zh-CN", Audience::Public, 5);
        assert_eq!(
            hits.first().map(|h| h.article.id.as_str()),
            Some("status-page")
        );
        assert!(
            !ix.search("链", "zh-CN", Audience::Public, 5).is_empty(),
            "one character"
        );
    }

    #[test]
    fn english_ranks_titles_and_completes_the_word_being_typed() {
        let ix = index();
        let hits = ix.search("rpc time", "en", Audience::Public, 5);
        assert_eq!(
            hits.first().map(|h| h.article.id.as_str()),
            Some("rpc-timeouts"),
            "{hits:?}"
        );
        assert_eq!(hits[0].article.lang, "en");
        let hits = ix.search("reply by ema", "en", Audience::Public, 5);
        assert_eq!(
            hits.first().map(|h| h.article.id.as_str()),
            Some("reply-by-email")
        );
        // A Chinese reader searching in English still gets the Chinese version when there is one.
        let hits = ix.search("status", "zh-CN", Audience::Public, 5);
        let status = hits.iter().find(|h| h.article.id == "status-page");
        assert_eq!(
            status.map(|h| h.article.lang.as_str()),
            Some("zh-CN"),
            "{hits:?}"
        );
    }

    #[test]
    fn drafts_and_internal_articles_are_for_staff() {
        let ix = index();
        let public: Vec<String> = ix
            .search("timeouts", "en", Audience::Public, 50)
            .into_iter()
            .map(|h| h.article.id)
            .collect();
        assert!(
            !public.contains(&"draft".to_string()) && !public.contains(&"internal".to_string())
        );
        let staff: Vec<String> = ix
            .search("timeouts", "en", Audience::Staff, 50)
            .into_iter()
            .map(|h| h.article.id)
            .collect();
        assert!(staff.contains(&"draft".to_string()) && staff.contains(&"internal".to_string()));
    }

    #[test]
    fn hostile_queries_find_nothing_and_do_not_panic() {
        let ix = index();
        for q in [
            "",
            " ",
            "%",
            "'; DROP TABLE kb_articles; --",
            "\u{0}\u{202e}",
            "a",
            &"长".repeat(10_000),
            "🙂🙂",
        ] {
            let _ = ix.search(q, "en", Audience::Public, 5);
        }
        assert!(ix.search("", "en", Audience::Public, 5).is_empty());
        assert!(
            Index::default()
                .search("rpc", "en", Audience::Public, 5)
                .is_empty()
        );
    }

    #[test]
    fn terms_cover_words_and_cjk_bigrams() {
        assert_eq!(
            terms("RPC 超时了"),
            vec!["rpc", "超", "时", "了", "超时", "时了"]
        );
        assert!(terms("a b").is_empty());
        assert!(
            is_slug("rpc-timeouts")
                && !is_slug("-x")
                && !is_slug("A")
                && !is_slug("a/b")
                && !is_slug("")
                && !is_slug("manage")
        );
        assert_eq!(
            (lang_of("zh-TW"), lang_of("en-US"), lang_of("")),
            ("zh-CN", "en", "en")
        );
    }

    #[test]
    fn every_seed_has_a_title_a_category_and_both_languages() {
        for (lang, id, text) in SEEDS {
            let r = seed(lang, id, text);
            assert!(
                !r.title.is_empty() && !r.body.is_empty() && !r.category.is_empty(),
                "{lang}/{id}"
            );
            assert!(
                SEEDS.iter().any(|(l, i, _)| *i == id && *l != lang),
                "{id} in one language"
            );
        }
    }
}
