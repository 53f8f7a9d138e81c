//! Feedback: CSAT answers (one per solved ticket, the latest counts) and NPS campaigns with
//! one invitation per requester, and the ticket facts the support reports are computed from.

use crate::alerts::OutboxRow;
use crate::series::decode_err;
use crate::{Result, Store, StoreError};
use sqlx::Row;

/// One survey answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SurveyRow {
    /// Id (`csat-<ticket>` for CSAT: a second answer replaces the first).
    pub id: String,
    /// `csat` or `nps`.
    pub kind: String,
    /// The ticket (CSAT), 0 for NPS.
    pub ticket_id: i64,
    /// The NPS campaign, `""` for CSAT.
    pub campaign: String,
    /// Who answered (`""` once erased).
    pub requester_id: String,
    /// 1–5 (CSAT) or 0–10 (NPS).
    pub score: i64,
    /// Comment (`""` once the requester is erased).
    pub comment: String,
    /// Answered, epoch ms.
    pub at_ms: i64,
}

/// An NPS campaign.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CampaignRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Started, epoch ms.
    pub created_ms: i64,
    /// By whom.
    pub created_by: String,
    /// Invitations sent.
    pub invited: i64,
}

/// What the support reports read of one ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportInput {
    /// Number.
    pub id: i64,
    /// Priority.
    pub priority: String,
    /// Category.
    pub category: String,
    /// Chain.
    pub chain: String,
    /// State.
    pub state: String,
    /// Opened, epoch ms.
    pub created_ms: i64,
    /// The clock-relevant history (as the SLA pass reads it).
    pub clock_log: String,
}

const SURVEY: &str = "id, kind, ticket_id, campaign, requester_id, score, comment, at_ms";

fn survey(r: &sqlx::any::AnyRow) -> Result<SurveyRow> {
    Ok(SurveyRow {
        id: r.try_get(0).map_err(decode_err)?,
        kind: r.try_get(1).map_err(decode_err)?,
        ticket_id: r.try_get(2).map_err(decode_err)?,
        campaign: r.try_get(3).map_err(decode_err)?,
        requester_id: r.try_get(4).map_err(decode_err)?,
        score: r.try_get(5).map_err(decode_err)?,
        comment: r.try_get(6).map_err(decode_err)?,
        at_ms: r.try_get(7).map_err(decode_err)?,
    })
}

impl Store {
    /// Saves an answer (an answer with the same id replaces it).
    pub async fn save_survey(&self, s: &SurveyRow) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO desk_surveys ({SURVEY}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (id) DO UPDATE SET score = excluded.score, comment = excluded.comment,
             at_ms = excluded.at_ms"
        )))
        .bind(&s.id)
        .bind(&s.kind)
        .bind(s.ticket_id)
        .bind(&s.campaign)
        .bind(&s.requester_id)
        .bind(s.score)
        .bind(&s.comment)
        .bind(s.at_ms)
        .execute(self.pool())
        .await
        .map_err(|e| StoreError::query("save a survey answer", e))?;
        Ok(())
    }

    /// The answer with this id.
    pub async fn survey(&self, id: &str) -> Result<Option<SurveyRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SURVEY} FROM desk_surveys WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| StoreError::query("read a survey answer", e))?;
        row.as_ref().map(survey).transpose()
    }

    /// Answers of `kind` given in `[from, to)`.
    pub async fn surveys(&self, kind: &str, from: i64, to: i64) -> Result<Vec<SurveyRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SURVEY} FROM desk_surveys WHERE kind = $1 AND at_ms >= $2 AND at_ms < $3
             ORDER BY at_ms"
        )))
        .bind(kind)
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await
        .map_err(|e| StoreError::query("read survey answers", e))?;
        rows.iter().map(survey).collect()
    }

    /// Requesters (not erased) who opened a ticket since `since`.
    pub async fn recent_requesters(&self, since: i64) -> Result<Vec<String>> {
        sqlx::query_scalar(
            "SELECT DISTINCT t.requester_id FROM desk_tickets t
             JOIN desk_requesters r ON r.id = t.requester_id
             WHERE t.created_ms >= $1 AND r.erased_ms IS NULL ORDER BY t.requester_id",
        )
        .bind(since)
        .fetch_all(self.pool())
        .await
        .map_err(|e| StoreError::query("list recent requesters", e))
    }

    /// Starts an NPS campaign: the campaign, one invitation per `(requester, token hash)`
    /// and their mails, in one transaction.
    pub async fn create_campaign(
        &self,
        c: &CampaignRow,
        invites: &[(String, String)],
        outbox: &[OutboxRow],
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO desk_nps_campaigns (id, name, created_ms, created_by, invited)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&c.id)
        .bind(&c.name)
        .bind(c.created_ms)
        .bind(&c.created_by)
        .bind(c.invited)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::query("save an NPS campaign", e))?;
        for (requester, hash) in invites {
            sqlx::query(
                "INSERT INTO desk_nps_invites (token_hash, campaign, requester_id, sent_ms)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(hash)
            .bind(&c.id)
            .bind(requester)
            .bind(c.created_ms)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::query("save an NPS invitation", e))?;
        }
        crate::alerts::commit_with_outbox(tx, outbox, "commit an NPS campaign").await
    }

    /// The campaign id, its name and the requester of an invitation.
    pub async fn nps_invite(&self, token_hash: &str) -> Result<Option<(String, String, String)>> {
        sqlx::query_as(
            "SELECT i.campaign, COALESCE(c.name, ''), i.requester_id FROM desk_nps_invites i
             LEFT JOIN desk_nps_campaigns c ON c.id = i.campaign WHERE i.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| StoreError::query("read an NPS invitation", e))
    }

    /// NPS campaigns, newest first.
    pub async fn campaigns(&self) -> Result<Vec<CampaignRow>> {
        let rows = sqlx::query(
            "SELECT id, name, created_ms, created_by, invited FROM desk_nps_campaigns
             ORDER BY created_ms DESC LIMIT 100",
        )
        .fetch_all(self.pool())
        .await
        .map_err(|e| StoreError::query("list NPS campaigns", e))?;
        rows.iter()
            .map(|r| {
                Ok(CampaignRow {
                    id: r.try_get(0).map_err(decode_err)?,
                    name: r.try_get(1).map_err(decode_err)?,
                    created_ms: r.try_get(2).map_err(decode_err)?,
                    created_by: r.try_get(3).map_err(decode_err)?,
                    invited: r.try_get(4).map_err(decode_err)?,
                })
            })
            .collect()
    }

    /// The tickets a report over `[from, to)` reads: opened before `to` and either still
    /// active or changed since `from` (merged ones left out).
    pub async fn report_inputs(&self, from: i64, to: i64) -> Result<Vec<ReportInput>> {
        let rows = sqlx::query(
            "SELECT id, priority, category, chain, state, created_ms, clock_log FROM desk_tickets
             WHERE created_ms < $2 AND merged_into IS NULL
             AND (state IN ('new', 'open', 'pending', 'on-hold') OR updated_ms >= $1)
             ORDER BY id",
        )
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await
        .map_err(|e| StoreError::query("read tickets for a report", e))?;
        rows.iter()
            .map(|r| {
                Ok(ReportInput {
                    id: r.try_get(0).map_err(decode_err)?,
                    priority: r.try_get(1).map_err(decode_err)?,
                    category: r.try_get(2).map_err(decode_err)?,
                    chain: r.try_get(3).map_err(decode_err)?,
                    state: r.try_get(4).map_err(decode_err)?,
                    created_ms: r.try_get(5).map_err(decode_err)?,
                    clock_log: r.try_get(6).map_err(decode_err)?,
                })
            })
            .collect()
    }
}
