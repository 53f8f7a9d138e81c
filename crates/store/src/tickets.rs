//! The support desk's records: requesters (their personal data sealed under a key of their
//! own, so erasing the key erases them), tickets, messages, attachments, each ticket's event
//! history (what its SLA clocks are recomputed from) and the SLA notices already sent.

use crate::alerts::OutboxRow;
use crate::series::decode_err;
use crate::{Backend, Result, Store, StoreError};
use sqlx::Row;

/// A person who asks for help. Their name, email and address are in `sealed`, encrypted
/// under their own key (kept in a separate table); `email_index` is a keyed hash of the
/// address so mail from them finds them without the address being stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequesterRow {
    /// Id.
    pub id: String,
    /// Keyed hash of the normalised email (`None` once erased).
    pub email_index: Option<String>,
    /// Sealed personal data (`None` once erased).
    pub sealed: Option<String>,
    /// First seen, epoch ms.
    pub created_ms: i64,
    /// Erased at, epoch ms.
    pub erased_ms: Option<i64>,
}

/// Turns `secure_delete` off again on a connection of [`Store::secure_delete_conn`] before it
/// goes back to the pool.
async fn secure_delete_end(conn: &mut sqlx::AnyConnection, sqlite: bool) {
    if sqlite {
        let _ = sqlx::query("PRAGMA secure_delete = OFF")
            .execute(&mut *conn)
            .await;
    }
}

/// What a retention purge deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeCounts {
    /// Tickets.
    pub tickets: u64,
    /// Attachments.
    pub attachments: u64,
    /// Requesters left without tickets.
    pub requesters: u64,
    /// Survey answers.
    pub surveys: u64,
}

/// A ticket.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketRow {
    /// Ticket number (assigned by [`Store::create_ticket`]).
    pub id: i64,
    /// Optimistic-concurrency revision: a save names the revision it read.
    pub rev: i64,
    /// Subject.
    pub subject: String,
    /// Category.
    pub category: String,
    /// Affected chain (`""`: none named).
    pub chain: String,
    /// Affected node (`""`: none named).
    pub node: String,
    /// `P1`…`P4`.
    pub priority: String,
    /// State name.
    pub state: String,
    /// Team.
    pub team: String,
    /// Assigned user (`""`: nobody).
    pub assignee: String,
    /// Requester id.
    pub requester_id: String,
    /// Where it came from: `portal`, `staff`, `api`.
    pub channel: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Hash of the requester's private link token.
    pub link_hash: String,
    /// The token itself, sealed under the desk key (mail to the requester carries the link).
    pub link_sealed: String,
    /// Linked incident id (`""`: none).
    pub incident_id: String,
    /// Linked alert fingerprint (`""`: none).
    pub alert: String,
    /// The ticket this one was merged into.
    pub merged_into: Option<i64>,
    /// Opened, epoch ms.
    pub created_ms: i64,
    /// Last change, epoch ms.
    pub updated_ms: i64,
    /// The next SLA deadline of a running clock (cached by the SLA pass, for sorting).
    pub next_due_ms: Option<i64>,
    /// `ok`, `warning` or `breached` (cached by the SLA pass).
    pub sla: String,
}

/// A message on a ticket.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageRow {
    /// Id.
    pub id: String,
    /// Ticket.
    pub ticket_id: i64,
    /// Written, epoch ms.
    pub at_ms: i64,
    /// `requester`, `staff` or `system`.
    pub author_kind: String,
    /// User name for staff; requester id for requesters.
    pub author: String,
    /// Public reply (seen by the requester) or internal note.
    pub public: bool,
    /// Markdown.
    pub body: String,
    /// Email Message-ID it came in as or went out as (threading), `""` if none.
    pub email_id: String,
}

/// A file on a message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttachmentRow {
    /// Id.
    pub id: String,
    /// Ticket.
    pub ticket_id: i64,
    /// Message.
    pub message_id: String,
    /// File name as given (checked).
    pub name: String,
    /// Content type.
    pub content_type: String,
    /// Bytes (empty in listings).
    pub data: Vec<u8>,
    /// Size in bytes.
    pub size: i64,
}

/// One entry of a ticket's history.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketEventRow {
    /// Ticket.
    pub ticket_id: i64,
    /// When, epoch ms.
    pub at_ms: i64,
    /// `created`, `state`, `priority`, `assignee`, `team`, `tags`, `message`, `merged`,
    /// `link`, `escalated`, `sla`.
    pub kind: String,
    /// New value (`message`: `requester`, `public` or `internal`).
    pub value: String,
    /// Who (user name, `requester`, `system`).
    pub actor: String,
}

/// What a ticket list asks for.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    /// Only these states (all when empty).
    pub states: Vec<String>,
    /// Only this priority.
    pub priority: Option<String>,
    /// Only this assignee (`""`: unassigned).
    pub assignee: Option<String>,
    /// Only this team.
    pub team: Option<String>,
    /// Only this chain.
    pub chain: Option<String>,
    /// Only this requester.
    pub requester_id: Option<String>,
    /// Only tickets linked to this incident.
    pub incident_id: Option<String>,
    /// Subject contains this (case-insensitive for ASCII).
    pub text: Option<String>,
    /// Leave out tickets merged into another.
    pub hide_merged: bool,
}

const TICKET: &str = "id, rev, subject, category, chain, node, priority, state, team, assignee, \
     requester_id, channel, tags, link_hash, incident_id, alert, merged_into, created_ms, \
     updated_ms, next_due_ms, sla, link_sealed";
const MESSAGE: &str = "id, ticket_id, at_ms, author_kind, author, public, body, email_id";

fn ticket(r: &sqlx::any::AnyRow) -> Result<TicketRow> {
    let tags: String = r.try_get(12).map_err(decode_err)?;
    Ok(TicketRow {
        id: r.try_get(0).map_err(decode_err)?,
        rev: r.try_get(1).map_err(decode_err)?,
        subject: r.try_get(2).map_err(decode_err)?,
        category: r.try_get(3).map_err(decode_err)?,
        chain: r.try_get(4).map_err(decode_err)?,
        node: r.try_get(5).map_err(decode_err)?,
        priority: r.try_get(6).map_err(decode_err)?,
        state: r.try_get(7).map_err(decode_err)?,
        team: r.try_get(8).map_err(decode_err)?,
        assignee: r.try_get(9).map_err(decode_err)?,
        requester_id: r.try_get(10).map_err(decode_err)?,
        channel: r.try_get(11).map_err(decode_err)?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        link_hash: r.try_get(13).map_err(decode_err)?,
        incident_id: r.try_get(14).map_err(decode_err)?,
        alert: r.try_get(15).map_err(decode_err)?,
        merged_into: r.try_get(16).map_err(decode_err)?,
        created_ms: r.try_get(17).map_err(decode_err)?,
        updated_ms: r.try_get(18).map_err(decode_err)?,
        next_due_ms: due_of(r.try_get(19).map_err(decode_err)?),
        sla: r.try_get(20).map_err(decode_err)?,
        link_sealed: r.try_get(21).map_err(decode_err)?,
    })
}

fn message(r: &sqlx::any::AnyRow) -> Result<MessageRow> {
    let public: i64 = r.try_get(5).map_err(decode_err)?;
    Ok(MessageRow {
        id: r.try_get(0).map_err(decode_err)?,
        ticket_id: r.try_get(1).map_err(decode_err)?,
        at_ms: r.try_get(2).map_err(decode_err)?,
        author_kind: r.try_get(3).map_err(decode_err)?,
        author: r.try_get(4).map_err(decode_err)?,
        public: public != 0,
        body: r.try_get(6).map_err(decode_err)?,
        email_id: r.try_get(7).map_err(decode_err)?,
    })
}

/// An attachment row (`id, ticket_id, message_id, name, content_type, size[, data]`).
fn attachment(r: &sqlx::any::AnyRow, with_data: bool) -> Result<AttachmentRow> {
    Ok(AttachmentRow {
        id: r.try_get(0).map_err(decode_err)?,
        ticket_id: r.try_get(1).map_err(decode_err)?,
        message_id: r.try_get(2).map_err(decode_err)?,
        name: r.try_get(3).map_err(decode_err)?,
        content_type: r.try_get(4).map_err(decode_err)?,
        size: r.try_get(5).map_err(decode_err)?,
        data: if with_data {
            r.try_get(6).map_err(decode_err)?
        } else {
            Vec::new()
        },
    })
}

fn event(r: &sqlx::any::AnyRow) -> Result<TicketEventRow> {
    Ok(TicketEventRow {
        ticket_id: r.try_get(0).map_err(decode_err)?,
        at_ms: r.try_get(1).map_err(decode_err)?,
        kind: r.try_get(2).map_err(decode_err)?,
        value: r.try_get(3).map_err(decode_err)?,
        actor: r.try_get(4).map_err(decode_err)?,
    })
}

/// What the SLA pass reads of an active ticket: one row, no join. `clock_log` is the
/// ticket's clock-relevant history (`created`, `state`, `message` entries) as
/// `kind=value@at_ms;` items, appended in the transaction that writes each history entry;
/// `sla_sent` lists the notices recorded as `metric/cycle/level;`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlaInput {
    /// Ticket.
    pub id: i64,
    /// Priority.
    pub priority: String,
    /// Category.
    pub category: String,
    /// Team.
    pub team: String,
    /// Subject.
    pub subject: String,
    /// Chain.
    pub chain: String,
    /// Cached next deadline.
    pub next_due_ms: Option<i64>,
    /// Cached verdict.
    pub sla: String,
    /// Clock-relevant history.
    pub clock_log: String,
    /// Notices recorded.
    pub sla_sent: String,
}

/// The `clock_log` item of a history entry, if the clocks care about its kind.
pub fn clock_item(kind: &str, value: &str, at_ms: i64) -> Option<String> {
    matches!(kind, "created" | "state" | "message").then(|| format!("{kind}={value}@{at_ms};"))
}

/// Which notice: one per ticket, clock, next-response exchange and level.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SlaNoticeKey {
    /// Ticket.
    pub ticket_id: i64,
    /// `first_response`, `next_response`, `resolution`.
    pub metric: String,
    /// Next-response exchange (0 for the others).
    pub cycle: i64,
    /// `warning` or `breach`.
    pub level: String,
}

/// What `next_due_ms` holds for a ticket without a running clock: a NOT NULL sort key puts
/// those last on both backends and lets the queue walk an index in order (NULLs sort first
/// on SQLite and last on PostgreSQL).
const NO_DUE: i64 = i64::MAX;

fn due_of(stored: i64) -> Option<i64> {
    (stored != NO_DUE).then_some(stored)
}

fn due_key(due: Option<i64>) -> i64 {
    due.unwrap_or(NO_DUE)
}

/// Most subjects a search may match for SQLite to look them up through the trigram index
/// rather than walk the queue.
const SELECTIVE: i64 = 2_000;

/// Every ticket state (the desk's `State` names).
const STATES: [&str; 6] = ["new", "open", "pending", "on-hold", "solved", "closed"];

/// The states of a ticket that still needs work.
const ACTIVE: &str = "state IN ('new', 'open', 'pending', 'on-hold')";

type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

async fn commit(tx: Tx<'_>) -> Result<()> {
    tx.commit()
        .await
        .map_err(|e| StoreError::query("commit", e))
}

impl Store {
    /// Adds a requester with their wrapped key.
    pub async fn create_requester(&self, r: &RequesterRow, wrapped_key: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO desk_requesters (id, email_index, sealed, created_ms, erased_ms)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(r.id.as_str())
        .bind(r.email_index.as_deref())
        .bind(r.sealed.as_deref())
        .bind(r.created_ms)
        .bind(r.erased_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::query("insert requester", e))?;
        sqlx::query("INSERT INTO desk_requester_keys (requester_id, wrapped) VALUES ($1, $2)")
            .bind(r.id.as_str())
            .bind(wrapped_key)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::query("insert requester key", e))?;
        commit(tx).await
    }

    /// Replaces a requester's sealed data (a name or address learnt later).
    pub async fn update_requester(&self, id: &str, sealed: &str) -> Result<bool> {
        sqlx::query("UPDATE desk_requesters SET sealed = $1 WHERE id = $2 AND erased_ms IS NULL")
            .bind(sealed)
            .bind(id)
            .execute(self.pool())
            .await
            .map(|r| r.rows_affected() > 0)
            .map_err(|e| StoreError::query("update requester", e))
    }

    /// The requester with this email index.
    pub async fn requester_by_index(&self, index: &str) -> Result<Option<RequesterRow>> {
        self.requester_where("email_index = $1", index).await
    }

    /// A requester by id.
    pub async fn requester(&self, id: &str) -> Result<Option<RequesterRow>> {
        self.requester_where("id = $1", id).await
    }

    async fn requester_where(&self, cond: &str, v: &str) -> Result<Option<RequesterRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, email_index, sealed, created_ms, erased_ms FROM desk_requesters WHERE {cond}"
        )))
        .bind(v)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| StoreError::query("read requester", e))?;
        row.map(|r| {
            Ok(RequesterRow {
                id: r.try_get(0).map_err(decode_err)?,
                email_index: r.try_get(1).map_err(decode_err)?,
                sealed: r.try_get(2).map_err(decode_err)?,
                created_ms: r.try_get(3).map_err(decode_err)?,
                erased_ms: r.try_get(4).map_err(decode_err)?,
            })
        })
        .transpose()
    }

    /// A requester's wrapped key (`None` once erased).
    pub async fn requester_key(&self, id: &str) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT wrapped FROM desk_requester_keys WHERE requester_id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| StoreError::query("read requester key", e))
    }

    /// A connection of its own for deletes whose freed pages must not keep the data: on
    /// SQLite with `secure_delete` on (whether it is SQLite is the second value).
    async fn secure_delete_conn(&self) -> Result<(sqlx::pool::PoolConnection<sqlx::Any>, bool)> {
        let sqlite = self.backend() == Backend::Sqlite;
        let mut conn = self
            .pool()
            .acquire()
            .await
            .map_err(|e| StoreError::query("acquire", e))?;
        if sqlite {
            sqlx::query("PRAGMA secure_delete = ON")
                .execute(&mut *conn)
                .await
                .map_err(|e| StoreError::query("secure delete on", e))?;
        }
        Ok((conn, sqlite))
    }

    /// Crypto-shredding: destroys a requester's key and sealed data and records the erasure
    /// on their tickets' histories. On SQLite the freed pages are overwritten
    /// (`secure_delete`) and the write-ahead log is checkpointed and truncated, so no copy
    /// of the key stays in the data directory. `false` when there is no such requester.
    pub async fn erase_requester(&self, id: &str, at_ms: i64, actor: &str) -> Result<bool> {
        let (mut conn, sqlite) = self.secure_delete_conn().await?;
        let result = async {
            let mut tx = sqlx::Connection::begin(&mut *conn)
                .await
                .map_err(|e| StoreError::query("begin", e))?;
            let changed = sqlx::query(
                "UPDATE desk_requesters SET email_index = NULL, sealed = NULL, erased_ms = $1
                 WHERE id = $2 AND erased_ms IS NULL",
            )
            .bind(at_ms)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::query("erase requester", e))?
            .rows_affected();
            sqlx::query("DELETE FROM desk_requester_keys WHERE requester_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::query("delete requester key", e))?;
            // Survey scores stay (anonymous); what the requester wrote goes.
            sqlx::query(
                "UPDATE desk_surveys SET comment = '', requester_id = '' WHERE requester_id = $1",
            )
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::query("anonymise survey answers", e))?;
            sqlx::query("DELETE FROM desk_nps_invites WHERE requester_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::query("delete NPS invitations", e))?;
            sqlx::query("DELETE FROM desk_signins WHERE requester_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::query("delete sign-in links", e))?;
            sqlx::query("DELETE FROM status_subscribers WHERE requester_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::query("delete status-page subscriptions", e))?;
            let tickets: Vec<i64> =
                sqlx::query_scalar("SELECT id FROM desk_tickets WHERE requester_id = $1")
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(|e| StoreError::query("list requester tickets", e))?;
            for t in tickets {
                insert_event(
                    &mut tx,
                    &TicketEventRow {
                        ticket_id: t,
                        at_ms,
                        kind: "erased".into(),
                        value: String::new(),
                        actor: actor.into(),
                    },
                )
                .await?;
            }
            tx.commit()
                .await
                .map_err(|e| StoreError::query("commit", e))?;
            Ok::<bool, StoreError>(changed > 0)
        }
        .await;
        secure_delete_end(&mut conn, sqlite).await;
        if sqlite && result.is_ok() {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&mut *conn)
                .await
                .map_err(|e| StoreError::query("checkpoint after erasure", e))?;
        }
        result
    }

    /// Deletes support data past its retention (each cut-off an epoch ms; `None` keeps that
    /// class): solved and closed tickets last changed before `tickets` with everything of
    /// theirs, and requesters left without tickets (first seen before it); attachments of
    /// solved and closed tickets last changed before `attachments`; survey answers and NPS
    /// invitations older than `surveys`. On SQLite the freed pages are overwritten.
    pub async fn purge_support(
        &self,
        tickets: Option<i64>,
        attachments: Option<i64>,
        surveys: Option<i64>,
    ) -> Result<PurgeCounts> {
        const DONE: &str =
            "SELECT id FROM desk_tickets WHERE state IN ('solved', 'closed') AND updated_ms < $1";
        let (mut conn, sqlite) = self.secure_delete_conn().await?;
        let result = async {
            let mut tx = sqlx::Connection::begin(&mut *conn)
                .await
                .map_err(|e| StoreError::query("begin", e))?;
            let mut counts = PurgeCounts::default();
            let mut exec = async |sql: String, cut: i64| -> Result<u64> {
                Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(cut)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| StoreError::query("delete support data past its retention", e))?
                    .rows_affected())
            };
            if let Some(cut) = attachments {
                counts.attachments +=
                    exec(format!("DELETE FROM desk_attachments WHERE ticket_id IN ({DONE})"), cut).await?;
            }
            if let Some(cut) = tickets {
                counts.attachments +=
                    exec(format!("DELETE FROM desk_attachments WHERE ticket_id IN ({DONE})"), cut).await?;
                for table in ["desk_messages", "desk_events", "desk_sla_notices"] {
                    exec(format!("DELETE FROM {table} WHERE ticket_id IN ({DONE})"), cut).await?;
                }
                exec(
                    format!("DELETE FROM desk_surveys WHERE kind = 'csat' AND ticket_id IN ({DONE})"),
                    cut,
                )
                .await?;
                counts.tickets += exec(
                    "DELETE FROM desk_tickets WHERE state IN ('solved', 'closed') AND updated_ms < $1".into(),
                    cut,
                )
                .await?;
                const ORPHAN: &str = "SELECT id FROM desk_requesters WHERE created_ms < $1
                    AND id NOT IN (SELECT requester_id FROM desk_tickets)
                    AND id NOT IN (SELECT requester_id FROM status_subscribers)";
                for table in ["desk_requester_keys", "desk_nps_invites"] {
                    exec(format!("DELETE FROM {table} WHERE requester_id IN ({ORPHAN})"), cut).await?;
                }
                counts.requesters += exec(
                    "DELETE FROM desk_requesters WHERE created_ms < $1
                     AND id NOT IN (SELECT requester_id FROM desk_tickets)
                     AND id NOT IN (SELECT requester_id FROM status_subscribers)"
                        .into(),
                    cut,
                )
                .await?;
            }
            if let Some(cut) = surveys {
                counts.surveys += exec("DELETE FROM desk_surveys WHERE at_ms < $1".into(), cut).await?;
                exec("DELETE FROM desk_nps_invites WHERE sent_ms < $1".into(), cut).await?;
            }
            tx.commit()
                .await
                .map_err(|e| StoreError::query("commit the support purge", e))?;
            Ok(counts)
        }
        .await;
        secure_delete_end(&mut conn, sqlite).await;
        result
    }

    /// Opens a ticket with its first message, attachments, history and the notifications
    /// `outbox` makes for its number (mail to the requester), in one transaction; returns
    /// its number.
    pub async fn create_ticket(
        &self,
        t: &TicketRow,
        first: &MessageRow,
        attachments: &[AttachmentRow],
        outbox: &(dyn Fn(i64) -> Vec<OutboxRow> + Sync),
    ) -> Result<i64> {
        // Numbers are MAX + 1: on PostgreSQL two writers may pick the same one, so retry.
        let mut last = None;
        for _ in 0..5 {
            let mut tx = self.begin().await?;
            let id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM desk_tickets")
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| StoreError::query("next ticket number", e))?;
            let mut row = t.clone();
            row.id = id;
            row.rev = 1;
            if let Err(e) = insert_ticket(&mut tx, &row).await {
                last = Some(e);
                continue;
            }
            let mut m = first.clone();
            m.ticket_id = id;
            insert_message(&mut tx, &m, attachments).await?;
            for (kind, value) in [
                ("created", row.channel.as_str()),
                ("state", row.state.as_str()),
                ("message", if m.public { "requester" } else { "internal" }),
            ] {
                let actor = if m.author_kind == "requester" {
                    "requester"
                } else {
                    m.author.as_str()
                };
                insert_event(
                    &mut tx,
                    &TicketEventRow {
                        ticket_id: id,
                        at_ms: row.created_ms,
                        kind: kind.into(),
                        value: value.into(),
                        actor: actor.into(),
                    },
                )
                .await?;
            }
            for n in outbox(id) {
                crate::alerts::insert_outbox(&mut tx, &n).await?;
            }
            commit(tx).await?;
            return Ok(id);
        }
        Err(last.unwrap_or_else(|| StoreError::Conflict("no free ticket number".into())))
    }

    /// Imports tickets with their numbers, messages and histories in one transaction (a
    /// migration from another desk, or a benchmark's data set). A number already taken
    /// fails the whole import.
    pub async fn import_tickets(
        &self,
        batch: &[(TicketRow, Vec<MessageRow>, Vec<TicketEventRow>)],
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        for (t, messages, events) in batch {
            insert_ticket(&mut tx, t).await?;
            for m in messages {
                insert_message(&mut tx, m, &[]).await?;
            }
            let log: String = events
                .iter()
                .filter_map(|e| clock_item(&e.kind, &e.value, e.at_ms))
                .collect();
            sqlx::query("UPDATE desk_tickets SET clock_log = $1 WHERE id = $2")
                .bind(log)
                .bind(t.id)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::query("import ticket clock log", e))?;
            for (seq, e) in events.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO desk_events (ticket_id, seq, at_ms, kind, value, actor)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(e.ticket_id)
                .bind(seq as i64 + 1)
                .bind(e.at_ms)
                .bind(e.kind.as_str())
                .bind(e.value.as_str())
                .bind(e.actor.as_str())
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::query("import ticket event", e))?;
            }
        }
        commit(tx).await
    }

    /// Saves a changed ticket if nobody saved it since it was read (`rev` unchanged), with
    /// its new history entries, an optional message and the notifications it causes, in one
    /// transaction; `false` on a conflict (read again and retry).
    pub async fn save_ticket(
        &self,
        t: &TicketRow,
        events: &[TicketEventRow],
        message: Option<(&MessageRow, &[AttachmentRow])>,
        outbox: &[OutboxRow],
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let tags = serde_json::to_string(&t.tags).unwrap_or_else(|_| "[]".into());
        let changed = sqlx::query(
            "UPDATE desk_tickets SET rev = rev + 1, subject = $1, category = $2, chain = $3,
             node = $4, priority = $5, state = $6, team = $7, assignee = $8, tags = $9,
             incident_id = $10, alert = $11, merged_into = $12, updated_ms = $13,
             next_due_ms = $14, sla = $15
             WHERE id = $16 AND rev = $17",
        )
        .bind(t.subject.as_str())
        .bind(t.category.as_str())
        .bind(t.chain.as_str())
        .bind(t.node.as_str())
        .bind(t.priority.as_str())
        .bind(t.state.as_str())
        .bind(t.team.as_str())
        .bind(t.assignee.as_str())
        .bind(tags)
        .bind(t.incident_id.as_str())
        .bind(t.alert.as_str())
        .bind(t.merged_into)
        .bind(t.updated_ms)
        .bind(due_key(t.next_due_ms))
        .bind(t.sla.as_str())
        .bind(t.id)
        .bind(t.rev)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::query("update ticket", e))?
        .rows_affected();
        if changed == 0 {
            return Ok(false);
        }
        for e in events {
            insert_event(&mut tx, e).await?;
        }
        if let Some((m, files)) = message {
            insert_message(&mut tx, m, files).await?;
        }
        for n in outbox {
            crate::alerts::insert_outbox(&mut tx, n).await?;
        }
        commit(tx).await?;
        Ok(true)
    }

    /// Caches the SLA pass's verdict on a ticket (no revision bump: staff edits do not
    /// conflict with it).
    pub async fn set_ticket_sla(&self, id: i64, next_due_ms: Option<i64>, sla: &str) -> Result<()> {
        self.set_tickets_sla(&[(id, next_due_ms, sla.to_string())])
            .await
    }

    /// Caches many verdicts in one transaction: `(ticket, next deadline, verdict)`.
    pub async fn set_tickets_sla(&self, verdicts: &[(i64, Option<i64>, String)]) -> Result<()> {
        if verdicts.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        for (id, due, sla) in verdicts {
            sqlx::query("UPDATE desk_tickets SET next_due_ms = $1, sla = $2 WHERE id = $3")
                .bind(due_key(*due))
                .bind(sla.as_str())
                .bind(*id)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::query("cache ticket sla", e))?;
        }
        commit(tx).await
    }

    /// A ticket by number.
    pub async fn ticket(&self, id: i64) -> Result<Option<TicketRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TICKET} FROM desk_tickets WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| StoreError::query("read ticket", e))?;
        row.as_ref().map(ticket).transpose()
    }

    /// The ticket a private link token's hash opens.
    pub async fn ticket_by_link(&self, link_hash: &str) -> Result<Option<TicketRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TICKET} FROM desk_tickets WHERE link_hash = $1"
        )))
        .bind(link_hash)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| StoreError::query("read ticket by link", e))?;
        row.as_ref().map(ticket).transpose()
    }

    /// The ticket an email Message-ID belongs to (a reply's `In-Reply-To`; mail coming in
    /// is threaded by it).
    pub async fn ticket_by_email_id(&self, email_id: &str) -> Result<Option<i64>> {
        if email_id.is_empty() {
            return Ok(None);
        }
        sqlx::query_scalar("SELECT ticket_id FROM desk_messages WHERE email_id = $1 LIMIT 1")
            .bind(email_id)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| StoreError::query("find ticket by message id", e))
    }

    /// Stores a sign-in token (`link`: mailed, one use; `session`: a signed-in browser) with
    /// the outbox rows that mail it, in one transaction; expired tokens are dropped.
    pub async fn add_signin(
        &self,
        token_hash: &str,
        kind: &str,
        requester: &str,
        expires_ms: i64,
        now: i64,
        outbox: &[OutboxRow],
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM desk_signins WHERE expires_ms < $1")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::query("drop expired sign-ins", e))?;
        sqlx::query(
            "INSERT INTO desk_signins (token_hash, kind, requester_id, expires_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(kind)
        .bind(requester)
        .bind(expires_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::query("save a sign-in", e))?;
        crate::alerts::commit_with_outbox(tx, outbox, "commit a sign-in").await
    }

    /// The requester of a valid token of `kind`; a `link` is used up by this call (only one
    /// caller ever gets it).
    pub async fn use_signin(
        &self,
        token_hash: &str,
        kind: &str,
        now: i64,
    ) -> Result<Option<String>> {
        if kind == "link" {
            let n = sqlx::query(
                "UPDATE desk_signins SET used_ms = $1 WHERE token_hash = $2 AND kind = 'link'
                 AND used_ms IS NULL AND expires_ms >= $1",
            )
            .bind(now)
            .bind(token_hash)
            .execute(self.pool())
            .await
            .map_err(|e| StoreError::query("use a sign-in link", e))?
            .rows_affected();
            if n == 0 {
                return Ok(None);
            }
        }
        sqlx::query_scalar(
            "SELECT requester_id FROM desk_signins WHERE token_hash = $1 AND kind = $2 AND expires_ms >= $3",
        )
        .bind(token_hash)
        .bind(kind)
        .bind(now)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| StoreError::query("read a sign-in", e))
    }

    /// Where the mailbox `name` was read up to: its `UIDVALIDITY` and the last UID imported.
    pub async fn mailbox_cursor(&self, name: &str) -> Result<Option<(i64, i64)>> {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT uid_validity, last_uid FROM desk_mailbox WHERE name = $1")
                .bind(name)
                .fetch_optional(self.pool())
                .await
                .map_err(|e| StoreError::query("read the mailbox cursor", e))?;
        Ok(row)
    }

    /// Records that the mailbox `name` is read up to `last_uid` (of `uid_validity`).
    pub async fn set_mailbox_cursor(
        &self,
        name: &str,
        uid_validity: i64,
        last_uid: i64,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO desk_mailbox (name, uid_validity, last_uid, updated_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT (name) DO UPDATE SET uid_validity = excluded.uid_validity,
             last_uid = excluded.last_uid, updated_ms = excluded.updated_ms",
        )
        .bind(name)
        .bind(uid_validity)
        .bind(last_uid)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(|e| StoreError::query("save the mailbox cursor", e))?;
        Ok(())
    }

    /// Tickets matching `f`, most urgent deadline first then newest, with the total count.
    pub async fn list_tickets(
        &self,
        f: &TicketFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<TicketRow>, i64)> {
        let mut cond = vec!["1 = 1".to_string()];
        let mut binds: Vec<String> = Vec::new();
        fn bind(cond: &mut Vec<String>, binds: &mut Vec<String>, sql: &str, v: String) {
            binds.push(v);
            cond.push(sql.replace('?', &format!("${}", binds.len())));
        }
        if !f.states.is_empty() {
            // States are a closed set written into the SQL (so the queue's partial index
            // applies); anything else is refused, never spliced.
            let mut states: Vec<&str> = Vec::new();
            for s in &f.states {
                let known = STATES
                    .iter()
                    .find(|k| **k == s.as_str())
                    .ok_or_else(|| StoreError::Conflict(format!("unknown ticket state {s:?}")))?;
                if !states.contains(known) {
                    states.push(known);
                }
            }
            let active = ["new", "open", "pending", "on-hold"];
            if states.len() == active.len() && active.iter().all(|a| states.contains(a)) {
                cond.push(ACTIVE.to_string());
            } else {
                let list: Vec<String> = states.iter().map(|s| format!("'{s}'")).collect();
                cond.push(format!("state IN ({})", list.join(", ")));
            }
        }
        for (col, v) in [
            ("priority", &f.priority),
            ("assignee", &f.assignee),
            ("team", &f.team),
            ("chain", &f.chain),
            ("requester_id", &f.requester_id),
            ("incident_id", &f.incident_id),
        ] {
            if let Some(v) = v {
                bind(&mut cond, &mut binds, &format!("{col} = ?"), v.clone());
            }
        }
        if let Some(text) = f.text.as_ref().filter(|t| !t.trim().is_empty()) {
            let t = text.trim();
            // SQLite's trigram index answers a selective LIKE of three characters or more
            // without LIKE's own wildcards at once; a common word is faster found by walking
            // the queue's order until the page is full, and anything else scans.
            let indexed = self.backend() == Backend::Sqlite
                && t.chars().count() >= 3
                && !t.contains(['%', '_', '\\'])
                && self
                    .few_subjects_match(&crate::like_pattern(&t.to_lowercase()))
                    .await?;
            let sql = if indexed {
                "id IN (SELECT rowid FROM desk_subject_fts WHERE subject LIKE ?)"
            } else {
                "LOWER(subject) LIKE ? ESCAPE '\\'"
            };
            bind(
                &mut cond,
                &mut binds,
                sql,
                crate::like_pattern(&t.to_lowercase()),
            );
        }
        if f.hide_merged {
            cond.push("merged_into IS NULL".into());
        }
        let text_only = cond.len() == 2 && f.text.as_ref().is_some_and(|t| !t.trim().is_empty());
        let cond = cond.join(" AND ");
        // A search by subject alone is counted on PostgreSQL's narrow subject copy.
        let count_sql = if text_only && self.backend() == Backend::Postgres {
            "SELECT COUNT(*) FROM desk_subjects WHERE subject LIKE $1 ESCAPE '\\'".to_string()
        } else {
            format!("SELECT COUNT(*) FROM desk_tickets WHERE {cond}")
        };
        let mut count = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count_sql));
        for b in &binds {
            count = count.bind(b.as_str());
        }
        let total = count
            .fetch_one(self.pool())
            .await
            .map_err(|e| StoreError::query("count tickets", e))?;
        let n = binds.len();
        let sql = format!(
            "SELECT {TICKET} FROM desk_tickets WHERE {cond}
             ORDER BY next_due_ms, id
             LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in &binds {
            q = q.bind(b.as_str());
        }
        let rows = q
            .bind(limit)
            .bind(offset)
            .fetch_all(self.pool())
            .await
            .map_err(|e| StoreError::query("list tickets", e))?;
        Ok((rows.iter().map(ticket).collect::<Result<_>>()?, total))
    }

    /// Whether at most [`SELECTIVE`] subjects match `pattern` in SQLite's trigram index.
    async fn few_subjects_match(&self, pattern: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT rowid FROM desk_subject_fts WHERE subject LIKE $1 LIMIT $2)",
        )
        .bind(pattern)
        .bind(SELECTIVE + 1)
        .fetch_one(self.pool())
        .await
        .map_err(|e| StoreError::query("probe ticket search", e))?;
        Ok(n <= SELECTIVE)
    }

    /// A ticket's messages, oldest first (internal notes only when asked).
    pub async fn ticket_messages(&self, id: i64, internal: bool) -> Result<Vec<MessageRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MESSAGE} FROM desk_messages WHERE ticket_id = $1 AND (public = 1 OR $2 = 1)
             ORDER BY at_ms, id"
        )))
        .bind(id)
        .bind(i64::from(internal))
        .fetch_all(self.pool())
        .await
        .map_err(|e| StoreError::query("list ticket messages", e))?;
        rows.iter().map(message).collect()
    }

    /// A ticket's history, oldest first.
    pub async fn ticket_events(&self, id: i64) -> Result<Vec<TicketEventRow>> {
        let rows = sqlx::query(
            "SELECT ticket_id, at_ms, kind, value, actor FROM desk_events WHERE ticket_id = $1
             ORDER BY seq",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await
        .map_err(|e| StoreError::query("list ticket events", e))?;
        rows.iter().map(event).collect()
    }

    /// Every active (not solved or closed, not merged) ticket as the SLA pass reads it.
    pub async fn sla_inputs(&self) -> Result<Vec<SlaInput>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, priority, category, team, subject, chain, next_due_ms, sla, clock_log, sla_sent
             FROM desk_tickets WHERE {ACTIVE} AND merged_into IS NULL ORDER BY id"
        )))
        .fetch_all(self.pool())
        .await
        .map_err(|e| StoreError::query("list active tickets", e))?;
        rows.iter()
            .map(|r| {
                Ok(SlaInput {
                    id: r.try_get(0).map_err(decode_err)?,
                    priority: r.try_get(1).map_err(decode_err)?,
                    category: r.try_get(2).map_err(decode_err)?,
                    team: r.try_get(3).map_err(decode_err)?,
                    subject: r.try_get(4).map_err(decode_err)?,
                    chain: r.try_get(5).map_err(decode_err)?,
                    next_due_ms: due_of(r.try_get(6).map_err(decode_err)?),
                    sla: r.try_get(7).map_err(decode_err)?,
                    clock_log: r.try_get(8).map_err(decode_err)?,
                    sla_sent: r.try_get(9).map_err(decode_err)?,
                })
            })
            .collect()
    }

    /// An attachment with its bytes.
    pub async fn attachment(&self, id: &str) -> Result<Option<AttachmentRow>> {
        let row = sqlx::query(
            "SELECT id, ticket_id, message_id, name, content_type, size, data
             FROM desk_attachments WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| StoreError::query("read attachment", e))?;
        row.map(|r| attachment(&r, true)).transpose()
    }

    /// A ticket's attachments without their bytes.
    pub async fn ticket_attachments(&self, id: i64) -> Result<Vec<AttachmentRow>> {
        let rows = sqlx::query(
            "SELECT id, ticket_id, message_id, name, content_type, size
             FROM desk_attachments WHERE ticket_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await
        .map_err(|e| StoreError::query("list attachments", e))?;
        rows.iter().map(|r| attachment(r, false)).collect()
    }

    /// Records an SLA notice and enqueues its notifications in one transaction, once per
    /// `(ticket, metric, cycle, level)`: `false` when it was already recorded (after a
    /// restart, the same breach is found again and sends nothing).
    pub async fn record_sla_notice(
        &self,
        key: &SlaNoticeKey,
        at_ms: i64,
        notifications: &[OutboxRow],
        events: &[TicketEventRow],
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO desk_sla_notices (ticket_id, metric, cycle, level, at_ms)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(key.ticket_id)
        .bind(key.metric.as_str())
        .bind(key.cycle)
        .bind(key.level.as_str())
        .bind(at_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::query("record sla notice", e))?
        .rows_affected();
        if inserted == 0 {
            return Ok(false);
        }
        sqlx::query("UPDATE desk_tickets SET sla_sent = sla_sent || $1 WHERE id = $2")
            .bind(format!("{}/{}/{};", key.metric, key.cycle, key.level))
            .bind(key.ticket_id)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::query("record sla notice", e))?;
        for n in notifications {
            crate::alerts::insert_outbox(&mut tx, n).await?;
        }
        for e in events {
            insert_event(&mut tx, e).await?;
        }
        commit(tx).await?;
        Ok(true)
    }

    /// The SLA notices recorded for a ticket: `(metric, cycle, level, at_ms)`.
    pub async fn sla_notices(&self, ticket_id: i64) -> Result<Vec<(String, i64, String, i64)>> {
        let rows = sqlx::query(
            "SELECT metric, cycle, level, at_ms FROM desk_sla_notices WHERE ticket_id = $1
             ORDER BY at_ms, metric",
        )
        .bind(ticket_id)
        .fetch_all(self.pool())
        .await
        .map_err(|e| StoreError::query("list sla notices", e))?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0).map_err(decode_err)?,
                    r.try_get(1).map_err(decode_err)?,
                    r.try_get(2).map_err(decode_err)?,
                    r.try_get(3).map_err(decode_err)?,
                ))
            })
            .collect()
    }
}

async fn insert_ticket(tx: &mut Tx<'_>, t: &TicketRow) -> Result<()> {
    let tags = serde_json::to_string(&t.tags).unwrap_or_else(|_| "[]".into());
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO desk_tickets ({TICKET}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
         $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)"
    )))
    .bind(t.id)
    .bind(t.rev)
    .bind(t.subject.as_str())
    .bind(t.category.as_str())
    .bind(t.chain.as_str())
    .bind(t.node.as_str())
    .bind(t.priority.as_str())
    .bind(t.state.as_str())
    .bind(t.team.as_str())
    .bind(t.assignee.as_str())
    .bind(t.requester_id.as_str())
    .bind(t.channel.as_str())
    .bind(tags)
    .bind(t.link_hash.as_str())
    .bind(t.incident_id.as_str())
    .bind(t.alert.as_str())
    .bind(t.merged_into)
    .bind(t.created_ms)
    .bind(t.updated_ms)
    .bind(due_key(t.next_due_ms))
    .bind(t.sla.as_str())
    .bind(t.link_sealed.as_str())
    .execute(&mut **tx)
    .await
    .map(|_| ())
    .map_err(|e| StoreError::query("insert ticket", e))
}

async fn insert_message(tx: &mut Tx<'_>, m: &MessageRow, files: &[AttachmentRow]) -> Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO desk_messages ({MESSAGE}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )))
    .bind(m.id.as_str())
    .bind(m.ticket_id)
    .bind(m.at_ms)
    .bind(m.author_kind.as_str())
    .bind(m.author.as_str())
    .bind(i64::from(m.public))
    .bind(m.body.as_str())
    .bind(m.email_id.as_str())
    .execute(&mut **tx)
    .await
    .map_err(|e| StoreError::query("insert ticket message", e))?;
    for f in files {
        sqlx::query(
            "INSERT INTO desk_attachments (id, ticket_id, message_id, name, content_type, data, size)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(f.id.as_str())
        .bind(m.ticket_id)
        .bind(m.id.as_str())
        .bind(f.name.as_str())
        .bind(f.content_type.as_str())
        .bind(f.data.as_slice())
        .bind(f.data.len() as i64)
        .execute(&mut **tx)
        .await
        .map_err(|e| StoreError::query("insert attachment", e))?;
    }
    Ok(())
}

async fn insert_event(tx: &mut Tx<'_>, e: &TicketEventRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO desk_events (ticket_id, seq, at_ms, kind, value, actor)
         VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM desk_events WHERE ticket_id = $1),
                 $2, $3, $4, $5)",
    )
    .bind(e.ticket_id)
    .bind(e.at_ms)
    .bind(e.kind.as_str())
    .bind(e.value.as_str())
    .bind(e.actor.as_str())
    .execute(&mut **tx)
    .await
    .map_err(|e| StoreError::query("insert ticket event", e))?;
    if let Some(item) = clock_item(&e.kind, &e.value, e.at_ms) {
        sqlx::query("UPDATE desk_tickets SET clock_log = clock_log || $1 WHERE id = $2")
            .bind(item)
            .bind(e.ticket_id)
            .execute(&mut **tx)
            .await
            .map_err(|e| StoreError::query("append ticket clock log", e))?;
    }
    Ok(())
}
