//! The knowledge base: articles (one row per language version) and their counters (views,
//! helpful votes, portal suggestions opened, tickets deflected).

use crate::series::decode_err;
use crate::{Result, Store, StoreError};
use sqlx::Row;

/// One language version of an article.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArticleRow {
    /// Article id (a slug, shared by its language versions).
    pub id: String,
    /// `en` or `zh-CN`.
    pub lang: String,
    /// Title.
    pub title: String,
    /// Body (Markdown).
    pub body: String,
    /// Category.
    pub category: String,
    /// Listed as a frequently asked question.
    pub faq: bool,
    /// Shown to requesters (else staff only).
    pub public: bool,
    /// Published (else a draft).
    pub published: bool,
    /// Shipped with chainops (seeded), not yet edited.
    pub seeded: bool,
    /// Last change, epoch ms.
    pub updated_ms: i64,
    /// Who changed it last (`chainops` for seeds).
    pub updated_by: String,
}

/// An article's counters (all languages).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArticleStats {
    /// Article id.
    pub id: String,
    /// Times opened.
    pub views: i64,
    /// "Yes, this helped".
    pub helpful: i64,
    /// "No".
    pub unhelpful: i64,
    /// Opened from the portal's suggestions.
    pub suggested: i64,
    /// Requesters who said it answered them instead of opening a ticket.
    pub deflected: i64,
}

/// A counter of [`ArticleStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// Views.
    View,
    /// Helpful.
    Helpful,
    /// Unhelpful.
    Unhelpful,
    /// Opened from a suggestion.
    Suggested,
    /// Deflected a ticket.
    Deflected,
}

const COLUMNS: &str =
    "id, lang, title, body, category, faq, public, published, seeded, updated_ms, updated_by";

fn article(r: &sqlx::any::AnyRow) -> Result<ArticleRow> {
    let flag = |i: usize| -> Result<bool> { Ok(r.try_get::<i64, _>(i).map_err(decode_err)? != 0) };
    Ok(ArticleRow {
        id: r.try_get(0).map_err(decode_err)?,
        lang: r.try_get(1).map_err(decode_err)?,
        title: r.try_get(2).map_err(decode_err)?,
        body: r.try_get(3).map_err(decode_err)?,
        category: r.try_get(4).map_err(decode_err)?,
        faq: flag(5)?,
        public: flag(6)?,
        published: flag(7)?,
        seeded: flag(8)?,
        updated_ms: r.try_get(9).map_err(decode_err)?,
        updated_by: r.try_get(10).map_err(decode_err)?,
    })
}

impl Store {
    /// Every article version (the desk indexes them in memory; a knowledge base is hundreds
    /// of articles, not millions).
    pub async fn kb_articles(&self) -> Result<Vec<ArticleRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM kb_articles ORDER BY id, lang"
        )))
        .fetch_all(self.pool())
        .await
        .map_err(|e| StoreError::query("read knowledge base articles", e))?;
        rows.iter().map(article).collect()
    }

    /// What changes when any article changes: the count and the newest change.
    pub async fn kb_version(&self) -> Result<(i64, i64)> {
        sqlx::query_as("SELECT COUNT(*), COALESCE(MAX(updated_ms), 0) FROM kb_articles")
            .fetch_one(self.pool())
            .await
            .map_err(|e| StoreError::query("read the knowledge base version", e))
    }

    /// Saves a version; the article's category, FAQ and public flags apply to all of its
    /// versions. `insert_only`: keep an existing row (seeding never overwrites an edit).
    pub async fn save_article(&self, a: &ArticleRow, insert_only: bool) -> Result<bool> {
        let mut tx = self.begin().await?;
        let conflict = if insert_only {
            "DO NOTHING"
        } else {
            "DO UPDATE SET title = excluded.title, body = excluded.body, category = excluded.category,
             faq = excluded.faq, public = excluded.public, published = excluded.published,
             seeded = excluded.seeded, updated_ms = excluded.updated_ms, updated_by = excluded.updated_by"
        };
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO kb_articles ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (id, lang) {conflict}"
        )))
        .bind(&a.id)
        .bind(&a.lang)
        .bind(&a.title)
        .bind(&a.body)
        .bind(&a.category)
        .bind(i64::from(a.faq))
        .bind(i64::from(a.public))
        .bind(i64::from(a.published))
        .bind(i64::from(a.seeded))
        .bind(a.updated_ms)
        .bind(&a.updated_by)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::query("save an article", e))?
        .rows_affected()
            > 0;
        if done && !insert_only {
            sqlx::query(
                "UPDATE kb_articles SET category = $1, faq = $2, public = $3 WHERE id = $4",
            )
            .bind(&a.category)
            .bind(i64::from(a.faq))
            .bind(i64::from(a.public))
            .bind(&a.id)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::query("save an article's shared fields", e))?;
        }
        tx.commit()
            .await
            .map_err(|e| StoreError::query("commit an article", e))?;
        Ok(done)
    }

    /// Deletes an article (every version, its counters); whether there was one.
    pub async fn delete_article(&self, id: &str) -> Result<bool> {
        let n = sqlx::query("DELETE FROM kb_articles WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(|e| StoreError::query("delete an article", e))?
            .rows_affected();
        sqlx::query("DELETE FROM kb_stats WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(|e| StoreError::query("delete an article's counters", e))?;
        Ok(n > 0)
    }

    /// Adds one to a counter of article `id`.
    pub async fn count_article(&self, id: &str, c: Counter) -> Result<()> {
        let col = match c {
            Counter::View => "views",
            Counter::Helpful => "helpful",
            Counter::Unhelpful => "unhelpful",
            Counter::Suggested => "suggested",
            Counter::Deflected => "deflected",
        };
        sqlx::query(
            "INSERT INTO kb_stats (id, views, helpful, unhelpful, suggested, deflected)
             VALUES ($1, 0, 0, 0, 0, 0) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(|e| StoreError::query("count an article", e))?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE kb_stats SET {col} = {col} + 1 WHERE id = $1"
        )))
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(|e| StoreError::query("count an article", e))?;
        Ok(())
    }

    /// Claims the one-time seeding of the knowledge base: true for the first caller ever on
    /// this store (so deleting every article does not bring the shipped ones back).
    pub async fn claim_kb_seed(&self, now: i64) -> Result<bool> {
        let n = sqlx::query(
            "INSERT INTO kb_meta (key, value) VALUES ('seeded', $1) ON CONFLICT (key) DO NOTHING",
        )
        .bind(now.to_string())
        .execute(self.pool())
        .await
        .map_err(|e| StoreError::query("claim the knowledge base seeding", e))?
        .rows_affected();
        Ok(n > 0)
    }

    /// Every article's counters.
    pub async fn kb_stats(&self) -> Result<Vec<ArticleStats>> {
        let rows = sqlx::query(
            "SELECT id, views, helpful, unhelpful, suggested, deflected FROM kb_stats ORDER BY id",
        )
        .fetch_all(self.pool())
        .await
        .map_err(|e| StoreError::query("read article counters", e))?;
        rows.iter()
            .map(|r| {
                Ok(ArticleStats {
                    id: r.try_get(0).map_err(decode_err)?,
                    views: r.try_get(1).map_err(decode_err)?,
                    helpful: r.try_get(2).map_err(decode_err)?,
                    unhelpful: r.try_get(3).map_err(decode_err)?,
                    suggested: r.try_get(4).map_err(decode_err)?,
                    deflected: r.try_get(5).map_err(decode_err)?,
                })
            })
            .collect()
    }
}
