//! Schema migrations: numbered, applied in order inside a transaction each, recorded in
//! `schema_migrations`. SQL is shared by both backends; `{blob}` is replaced per backend.

use crate::{Backend, Result, Store, StoreError};
use chainops_core::time::now_ms;
use sqlx::AssertSqlSafe;

/// One migration step.
pub struct Migration {
    /// Monotonic version number.
    pub version: i64,
    /// Short name.
    pub name: &'static str,
    /// Statements, run in order.
    pub statements: &'static [&'static str],
}

/// Every migration, oldest first. Append only: never edit a released step.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "series, events, node state",
        statements: &[
            "CREATE TABLE series_raw (
            node TEXT NOT NULL, metric TEXT NOT NULL,
            start_ms BIGINT NOT NULL, end_ms BIGINT NOT NULL, count BIGINT NOT NULL,
            data {blob} NOT NULL,
            PRIMARY KEY (node, metric, start_ms))",
            "CREATE INDEX series_raw_end ON series_raw (end_ms)",
            "CREATE TABLE series_1m (
            node TEXT NOT NULL, metric TEXT NOT NULL, bucket_ms BIGINT NOT NULL,
            min DOUBLE PRECISION NOT NULL, max DOUBLE PRECISION NOT NULL,
            sum DOUBLE PRECISION NOT NULL, count BIGINT NOT NULL,
            last DOUBLE PRECISION NOT NULL, last_ms BIGINT NOT NULL,
            PRIMARY KEY (node, metric, bucket_ms))",
            "CREATE INDEX series_1m_bucket ON series_1m (bucket_ms)",
            "CREATE TABLE series_1h (
            node TEXT NOT NULL, metric TEXT NOT NULL, bucket_ms BIGINT NOT NULL,
            min DOUBLE PRECISION NOT NULL, max DOUBLE PRECISION NOT NULL,
            sum DOUBLE PRECISION NOT NULL, count BIGINT NOT NULL,
            last DOUBLE PRECISION NOT NULL, last_ms BIGINT NOT NULL,
            PRIMARY KEY (node, metric, bucket_ms))",
            "CREATE INDEX series_1h_bucket ON series_1h (bucket_ms)",
            "CREATE TABLE node_events (
            id TEXT PRIMARY KEY, node TEXT NOT NULL, chain TEXT NOT NULL,
            at_ms BIGINT NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL)",
            "CREATE INDEX node_events_node_at ON node_events (node, at_ms)",
            "CREATE TABLE node_state (
            node TEXT PRIMARY KEY, state TEXT NOT NULL, updated_ms BIGINT NOT NULL)",
        ],
    },
    Migration {
        version: 2,
        name: "alerts and notification outbox",
        statements: &[
            "CREATE TABLE alerts (
                fingerprint TEXT PRIMARY KEY, rule TEXT NOT NULL, node TEXT NOT NULL,
                chain TEXT NOT NULL, severity TEXT NOT NULL, state TEXT NOT NULL,
                value DOUBLE PRECISION NOT NULL, summary TEXT NOT NULL, description TEXT NOT NULL,
                labels TEXT NOT NULL, active_since_ms BIGINT NOT NULL, fired_at_ms BIGINT,
                last_true_ms BIGINT NOT NULL, resolved_at_ms BIGINT, updated_ms BIGINT NOT NULL)",
            "CREATE INDEX alerts_state ON alerts (state)",
            "CREATE TABLE notification_outbox (
                id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, channel TEXT NOT NULL,
                event TEXT NOT NULL, payload TEXT NOT NULL, created_ms BIGINT NOT NULL,
                attempts BIGINT NOT NULL, next_attempt_ms BIGINT NOT NULL, state TEXT NOT NULL,
                last_error TEXT, done_ms BIGINT)",
            "CREATE INDEX notification_outbox_due ON notification_outbox (state, next_attempt_ms)",
        ],
    },
    Migration {
        version: 3,
        name: "silences",
        statements: &["CREATE TABLE silences (
                id TEXT PRIMARY KEY, matchers TEXT NOT NULL, comment TEXT NOT NULL,
                created_by TEXT NOT NULL, starts_ms BIGINT NOT NULL, ends_ms BIGINT NOT NULL,
                created_ms BIGINT NOT NULL)"],
    },
    Migration {
        version: 4,
        name: "incidents",
        statements: &[
            "CREATE TABLE incidents (
                id TEXT PRIMARY KEY, chain TEXT NOT NULL, node TEXT NOT NULL, state TEXT NOT NULL,
                opened_ms BIGINT NOT NULL, resolved_ms BIGINT, ack_by TEXT, ack_comment TEXT,
                ack_until_ms BIGINT, updated_ms BIGINT NOT NULL)",
            "CREATE INDEX incidents_node_state ON incidents (chain, node, state)",
            "CREATE TABLE incident_events (
                id TEXT PRIMARY KEY, incident_id TEXT NOT NULL, at_ms BIGINT NOT NULL,
                kind TEXT NOT NULL, detail TEXT NOT NULL)",
            "CREATE INDEX incident_events_incident ON incident_events (incident_id, at_ms)",
        ],
    },
    Migration {
        version: 5,
        name: "users, tokens, sessions, audit trail",
        statements: &[
            "CREATE TABLE users (
                name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,
                created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL)",
            "CREATE TABLE api_tokens (
                id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
                created_by TEXT NOT NULL, created_ms BIGINT NOT NULL, expires_ms BIGINT,
                revoked_ms BIGINT, last_used_ms BIGINT)",
            "CREATE TABLE sessions (
                id_hash TEXT PRIMARY KEY, user_name TEXT NOT NULL, csrf TEXT NOT NULL,
                created_ms BIGINT NOT NULL, expires_ms BIGINT NOT NULL, last_seen_ms BIGINT NOT NULL)",
            "CREATE TABLE audit_log (
                seq BIGINT PRIMARY KEY, at_ms BIGINT NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL,
                source TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, result TEXT NOT NULL,
                detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)",
            "CREATE INDEX audit_log_at ON audit_log (at_ms)",
            "CREATE TABLE audit_checkpoints (
                seq BIGINT PRIMARY KEY, hash TEXT NOT NULL, at_ms BIGINT NOT NULL,
                public_key TEXT NOT NULL, signature TEXT NOT NULL)",
        ],
    },
    Migration {
        version: 6,
        name: "node logs with full-text search, read positions",
        statements: &[
            "sqlite:CREATE TABLE logs (
                id INTEGER PRIMARY KEY AUTOINCREMENT, ts_ms BIGINT NOT NULL, node TEXT NOT NULL,
                chain TEXT NOT NULL, level BIGINT NOT NULL, message TEXT NOT NULL,
                fields TEXT NOT NULL, source TEXT NOT NULL)",
            "postgres:CREATE TABLE logs (
                id BIGSERIAL PRIMARY KEY, ts_ms BIGINT NOT NULL, node TEXT NOT NULL,
                chain TEXT NOT NULL, level BIGINT NOT NULL, message TEXT NOT NULL,
                fields TEXT NOT NULL, source TEXT NOT NULL)",
            "CREATE INDEX logs_ts ON logs (ts_ms, id)",
            "CREATE INDEX logs_node_ts ON logs (node, ts_ms)",
            // Contentless trigram index without positions: every term is matched as the AND
            // of its trigrams, then rechecked with LIKE on the row (see `logs::search_logs`).
            "sqlite:CREATE VIRTUAL TABLE logs_fts USING fts5(
                message, content='', contentless_delete=1, tokenize='trigram', detail=none)",
            "sqlite:INSERT INTO logs_fts (logs_fts, rank) VALUES ('automerge', 16)",
            "postgres:CREATE EXTENSION IF NOT EXISTS pg_trgm",
            "postgres:CREATE INDEX logs_text_trgm ON logs USING gin ((message || ' ' || fields) gin_trgm_ops)",
            "CREATE TABLE log_positions (
                source TEXT PRIMARY KEY, file_id TEXT NOT NULL, byte_offset BIGINT NOT NULL,
                updated_ms BIGINT NOT NULL)",
        ],
    },
    Migration {
        version: 7,
        name: "backup and drill runs",
        statements: &[
            "CREATE TABLE backup_runs (
                id TEXT PRIMARY KEY, job TEXT NOT NULL, node TEXT NOT NULL, kind TEXT NOT NULL,
                started_ms BIGINT NOT NULL, finished_ms BIGINT NOT NULL, ok BIGINT NOT NULL,
                error TEXT, snapshot TEXT, bytes_read BIGINT NOT NULL,
                bytes_added BIGINT NOT NULL, files BIGINT NOT NULL, detail TEXT NOT NULL)",
            "CREATE INDEX backup_runs_job ON backup_runs (job, kind, started_ms)",
        ],
    },
    Migration {
        version: 8,
        name: "node logs in compressed blocks, chunk index",
        statements: &[
            // Rows of 6–7 are moved into blocks by `logs::convert_legacy` after migrating.
            "sqlite:CREATE TABLE log_blocks (
                id INTEGER PRIMARY KEY, min_id BIGINT NOT NULL, max_id BIGINT NOT NULL,
                row_count BIGINT NOT NULL, ts_min BIGINT NOT NULL, ts_max BIGINT NOT NULL,
                level_min BIGINT NOT NULL, level_max BIGINT NOT NULL, nodes TEXT NOT NULL,
                chains TEXT NOT NULL, data BLOB NOT NULL)",
            "postgres:CREATE TABLE log_blocks (
                id BIGINT PRIMARY KEY, min_id BIGINT NOT NULL, max_id BIGINT NOT NULL,
                row_count BIGINT NOT NULL, ts_min BIGINT NOT NULL, ts_max BIGINT NOT NULL,
                level_min BIGINT NOT NULL, level_max BIGINT NOT NULL, nodes TEXT NOT NULL,
                chains TEXT NOT NULL, data BYTEA NOT NULL)",
            "CREATE INDEX log_blocks_ts ON log_blocks (ts_max, id)",
            "CREATE INDEX log_blocks_max_id ON log_blocks (max_id)",
            "CREATE TABLE log_seq (one BIGINT PRIMARY KEY, next_id BIGINT NOT NULL)",
            "INSERT INTO log_seq (one, next_id) SELECT 1, COALESCE(MAX(id), 0) + 1 FROM logs",
            // One document per chunk of rows (see `logs::index`): trigram tokens for FTS5's
            // ascii tokenizer on SQLite, distinct words under pg_trgm on PostgreSQL.
            "sqlite:CREATE VIRTUAL TABLE log_index USING fts5(
                doc, content='', contentless_delete=1, tokenize='ascii', detail=none)",
            "postgres:CREATE TABLE log_index (first_id BIGINT PRIMARY KEY, doc TEXT NOT NULL)",
            "postgres:CREATE INDEX log_index_trgm ON log_index USING gin (doc gin_trgm_ops)",
        ],
    },
    Migration {
        version: 9,
        name: "login lockouts survive a restart",
        statements: &[
            "CREATE TABLE login_locks (lock_key TEXT PRIMARY KEY, until_ms BIGINT NOT NULL)",
        ],
    },
    Migration {
        version: 10,
        name: "contract audit reports made in the console",
        statements: &[
            "CREATE TABLE audit_reports (id TEXT PRIMARY KEY, created_ms BIGINT NOT NULL, actor TEXT NOT NULL,
             name TEXT NOT NULL, high BIGINT NOT NULL, medium BIGINT NOT NULL, low BIGINT NOT NULL,
             errors BIGINT NOT NULL, source TEXT NOT NULL, report TEXT NOT NULL, sarif TEXT NOT NULL)",
            "CREATE INDEX audit_reports_by_time ON audit_reports (created_ms)",
        ],
    },
    Migration {
        version: 11,
        name: "a firing alert superseded by a higher one is inhibited, not resolved",
        statements: &["ALTER TABLE alerts ADD COLUMN inhibited_by TEXT"],
    },
    Migration {
        version: 12,
        name: "load-test runs recorded with the daemon",
        statements: &[
            "CREATE TABLE bench_runs (id TEXT PRIMARY KEY, created_ms BIGINT NOT NULL, actor TEXT NOT NULL,
             started_at TEXT NOT NULL, workload TEXT NOT NULL, target TEXT NOT NULL, chain TEXT NOT NULL,
             client TEXT NOT NULL, rounds BIGINT NOT NULL, submitted BIGINT NOT NULL,
             confirmed BIGINT NOT NULL, failed BIGINT NOT NULL, throughput DOUBLE PRECISION NOT NULL,
             p95 DOUBLE PRECISION NOT NULL, bottleneck TEXT NOT NULL, report TEXT NOT NULL)",
            "CREATE INDEX bench_runs_by_time ON bench_runs (created_ms)",
        ],
    },
    Migration {
        version: 13,
        name: "the public status page: incidents with updates, maintenance windows",
        statements: &[
            "CREATE TABLE status_incidents (id TEXT PRIMARY KEY, chain TEXT NOT NULL, title TEXT NOT NULL,
             state TEXT NOT NULL, created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL,
             resolved_ms BIGINT, postmortem TEXT NOT NULL, created_by TEXT NOT NULL)",
            "CREATE INDEX status_incidents_by_update ON status_incidents (updated_ms)",
            "CREATE TABLE status_updates (incident_id TEXT NOT NULL, seq BIGINT NOT NULL,
             at_ms BIGINT NOT NULL, state TEXT NOT NULL, body TEXT NOT NULL, author TEXT NOT NULL,
             PRIMARY KEY (incident_id, seq))",
            "CREATE TABLE maintenance (id TEXT PRIMARY KEY, chain TEXT NOT NULL, title TEXT NOT NULL,
             starts_ms BIGINT NOT NULL, ends_ms BIGINT NOT NULL, silence_id TEXT NOT NULL,
             created_by TEXT NOT NULL)",
            "CREATE INDEX maintenance_by_end ON maintenance (ends_ms)",
        ],
    },
    Migration {
        version: 14,
        name: "support desk: requesters (sealed), tickets, messages, attachments, history, SLA notices",
        statements: &[
            "CREATE TABLE desk_requesters (id TEXT PRIMARY KEY, email_index TEXT, sealed TEXT,
             created_ms BIGINT NOT NULL, erased_ms BIGINT)",
            "CREATE UNIQUE INDEX desk_requesters_email ON desk_requesters (email_index)",
            "CREATE TABLE desk_requester_keys (requester_id TEXT PRIMARY KEY, wrapped TEXT NOT NULL)",
            "CREATE TABLE desk_tickets (id BIGINT PRIMARY KEY, rev BIGINT NOT NULL,
             subject TEXT NOT NULL, category TEXT NOT NULL, chain TEXT NOT NULL, node TEXT NOT NULL,
             priority TEXT NOT NULL, state TEXT NOT NULL, team TEXT NOT NULL, assignee TEXT NOT NULL,
             requester_id TEXT NOT NULL, channel TEXT NOT NULL, tags TEXT NOT NULL,
             link_hash TEXT NOT NULL, link_sealed TEXT NOT NULL, incident_id TEXT NOT NULL,
             alert TEXT NOT NULL,
             merged_into BIGINT, created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL,
             next_due_ms BIGINT NOT NULL, sla TEXT NOT NULL,
             clock_log TEXT NOT NULL DEFAULT '', sla_sent TEXT NOT NULL DEFAULT '')",
            "CREATE INDEX desk_tickets_by_state ON desk_tickets (state, next_due_ms, id)",
            "CREATE INDEX desk_tickets_by_due ON desk_tickets (next_due_ms, id)",
            // The queue (every ticket that still needs work) in its order, counted from the index.
            "CREATE INDEX desk_tickets_queue ON desk_tickets (next_due_ms, id)
             WHERE state IN ('new', 'open', 'pending', 'on-hold')",
            "CREATE INDEX desk_tickets_by_priority ON desk_tickets (priority, next_due_ms, id)",
            "CREATE INDEX desk_tickets_by_requester ON desk_tickets (requester_id)",
            "CREATE INDEX desk_tickets_by_incident ON desk_tickets (incident_id)",
            "CREATE UNIQUE INDEX desk_tickets_by_link ON desk_tickets (link_hash)",
            // Subject search (`LIKE '%…%'`) through trigrams on PostgreSQL (pg_trgm, created by
            // migration 6); SQLite scans, which the benchmark shows is fast enough there.
            "postgres:CREATE INDEX desk_tickets_subject_trgm ON desk_tickets USING gin (LOWER(subject) gin_trgm_ops)",
            // On SQLite a trigram FTS5 index over subjects, kept by triggers.
            "sqlite:CREATE VIRTUAL TABLE desk_subject_fts USING fts5(
                subject, content='desk_tickets', content_rowid='id', tokenize='trigram')",
            "sqlite:CREATE TRIGGER desk_tickets_fts_insert AFTER INSERT ON desk_tickets BEGIN
                INSERT INTO desk_subject_fts (rowid, subject) VALUES (new.id, new.subject); END",
            "sqlite:CREATE TRIGGER desk_tickets_fts_delete AFTER DELETE ON desk_tickets BEGIN
                INSERT INTO desk_subject_fts (desk_subject_fts, rowid, subject)
                VALUES ('delete', old.id, old.subject); END",
            "sqlite:CREATE TRIGGER desk_tickets_fts_update AFTER UPDATE OF subject ON desk_tickets
                WHEN old.subject <> new.subject BEGIN
                INSERT INTO desk_subject_fts (desk_subject_fts, rowid, subject)
                VALUES ('delete', old.id, old.subject);
                INSERT INTO desk_subject_fts (rowid, subject) VALUES (new.id, new.subject); END",
            "CREATE TABLE desk_messages (id TEXT PRIMARY KEY, ticket_id BIGINT NOT NULL,
             at_ms BIGINT NOT NULL, author_kind TEXT NOT NULL, author TEXT NOT NULL,
             public BIGINT NOT NULL, body TEXT NOT NULL, email_id TEXT NOT NULL)",
            "CREATE INDEX desk_messages_by_ticket ON desk_messages (ticket_id, at_ms)",
            "CREATE INDEX desk_messages_by_email_id ON desk_messages (email_id)",
            "CREATE TABLE desk_attachments (id TEXT PRIMARY KEY, ticket_id BIGINT NOT NULL,
             message_id TEXT NOT NULL, name TEXT NOT NULL, content_type TEXT NOT NULL,
             data {blob} NOT NULL, size BIGINT NOT NULL)",
            "CREATE INDEX desk_attachments_by_ticket ON desk_attachments (ticket_id)",
            "CREATE TABLE desk_events (ticket_id BIGINT NOT NULL, seq BIGINT NOT NULL,
             at_ms BIGINT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, actor TEXT NOT NULL,
             PRIMARY KEY (ticket_id, seq))",
            "CREATE TABLE desk_sla_notices (ticket_id BIGINT NOT NULL, metric TEXT NOT NULL,
             cycle BIGINT NOT NULL, level TEXT NOT NULL, at_ms BIGINT NOT NULL,
             PRIMARY KEY (ticket_id, metric, cycle, level))",
        ],
    },
    Migration {
        version: 15,
        name: "support desk: the mailbox cursor (email in), knowledge base, surveys, status-page subscribers, requester sign-in",
        statements: &[
            "CREATE TABLE desk_mailbox (name TEXT PRIMARY KEY, uid_validity BIGINT NOT NULL,
             last_uid BIGINT NOT NULL, updated_ms BIGINT NOT NULL)",
            "CREATE TABLE kb_articles (id TEXT NOT NULL, lang TEXT NOT NULL, title TEXT NOT NULL,
             body TEXT NOT NULL, category TEXT NOT NULL, faq BIGINT NOT NULL,
             public BIGINT NOT NULL, published BIGINT NOT NULL, seeded BIGINT NOT NULL,
             updated_ms BIGINT NOT NULL, updated_by TEXT NOT NULL, PRIMARY KEY (id, lang))",
            "CREATE TABLE kb_stats (id TEXT PRIMARY KEY, views BIGINT NOT NULL,
             helpful BIGINT NOT NULL, unhelpful BIGINT NOT NULL, suggested BIGINT NOT NULL,
             deflected BIGINT NOT NULL)",
            // Once-only facts of the knowledge base (`seeded`: the shipped articles were added).
            "CREATE TABLE kb_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            // Feedback: CSAT per solved ticket, NPS answers per campaign invitation.
            "CREATE TABLE desk_surveys (id TEXT PRIMARY KEY, kind TEXT NOT NULL,
             ticket_id BIGINT NOT NULL, campaign TEXT NOT NULL, requester_id TEXT NOT NULL,
             score BIGINT NOT NULL, comment TEXT NOT NULL, at_ms BIGINT NOT NULL)",
            "CREATE INDEX desk_surveys_by_time ON desk_surveys (kind, at_ms)",
            "CREATE INDEX desk_surveys_by_requester ON desk_surveys (requester_id)",
            "CREATE TABLE desk_nps_campaigns (id TEXT PRIMARY KEY, name TEXT NOT NULL,
             created_ms BIGINT NOT NULL, created_by TEXT NOT NULL, invited BIGINT NOT NULL)",
            "CREATE TABLE desk_nps_invites (token_hash TEXT PRIMARY KEY, campaign TEXT NOT NULL,
             requester_id TEXT NOT NULL, sent_ms BIGINT NOT NULL)",
            "CREATE INDEX desk_nps_invites_by_requester ON desk_nps_invites (requester_id)",
            // Email subscribers of the status page (their address sealed as a requester's).
            "CREATE TABLE status_subscribers (id TEXT PRIMARY KEY, requester_id TEXT NOT NULL,
             chain TEXT NOT NULL, token_hash TEXT NOT NULL, token_sealed TEXT NOT NULL,
             created_ms BIGINT NOT NULL, confirmed_ms BIGINT)",
            "CREATE UNIQUE INDEX status_subscribers_by_token ON status_subscribers (token_hash)",
            "CREATE UNIQUE INDEX status_subscribers_one ON status_subscribers (requester_id, chain)",
            // Requesters' emailed one-time sign-in links and the sessions they start.
            "CREATE TABLE desk_signins (token_hash TEXT PRIMARY KEY, kind TEXT NOT NULL,
             requester_id TEXT NOT NULL, expires_ms BIGINT NOT NULL, used_ms BIGINT)",
            "CREATE INDEX desk_signins_by_requester ON desk_signins (requester_id)",
            // PostgreSQL: a narrow copy of the lower-cased subjects, kept by a trigger, so the
            // exact count of a common-word search (and of two-character Chinese words, below a
            // trigram's reach) scans a few MB instead of the wide ticket rows.
            "postgres:CREATE TABLE desk_subjects (id BIGINT PRIMARY KEY, subject TEXT NOT NULL)",
            "postgres:INSERT INTO desk_subjects (id, subject) SELECT id, LOWER(subject) FROM desk_tickets",
            "postgres:CREATE INDEX desk_subjects_trgm ON desk_subjects USING gin (subject gin_trgm_ops)",
            "postgres:CREATE FUNCTION desk_subjects_sync() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               IF TG_OP = 'DELETE' THEN
                 DELETE FROM desk_subjects WHERE id = OLD.id;
                 RETURN OLD;
               END IF;
               INSERT INTO desk_subjects (id, subject) VALUES (NEW.id, LOWER(NEW.subject))
                 ON CONFLICT (id) DO UPDATE SET subject = excluded.subject;
               RETURN NEW;
             END $$",
            "postgres:CREATE TRIGGER desk_subjects_insert AFTER INSERT ON desk_tickets
             FOR EACH ROW EXECUTE FUNCTION desk_subjects_sync()",
            "postgres:CREATE TRIGGER desk_subjects_update AFTER UPDATE OF subject ON desk_tickets
             FOR EACH ROW WHEN (OLD.subject IS DISTINCT FROM NEW.subject)
             EXECUTE FUNCTION desk_subjects_sync()",
            "postgres:CREATE TRIGGER desk_subjects_delete AFTER DELETE ON desk_tickets
             FOR EACH ROW EXECUTE FUNCTION desk_subjects_sync()",
        ],
    },
    Migration {
        version: 16,
        name: "daemon cluster: members, the leader lease, node assignments, shared node views",
        statements: &[
            // `audit_key`: the public half of the member's audit-trail signing key (members
            // must share one, or checkpoints signed by one fail verification on another).
            "CREATE TABLE cluster_members (member TEXT PRIMARY KEY, addr TEXT NOT NULL,
             version TEXT NOT NULL, audit_key TEXT NOT NULL, started_ms BIGINT NOT NULL,
             seen_ms BIGINT NOT NULL)",
            // One row (id 1): who leads, since when, until when, and the fencing epoch that
            // grows with every change of leader.
            "CREATE TABLE cluster_leader (id BIGINT PRIMARY KEY, member TEXT NOT NULL,
             epoch BIGINT NOT NULL, since_ms BIGINT NOT NULL, expires_ms BIGINT NOT NULL)",
            "CREATE TABLE cluster_assignments (node TEXT PRIMARY KEY, member TEXT NOT NULL,
             epoch BIGINT NOT NULL, assigned_ms BIGINT NOT NULL)",
            "CREATE TABLE cluster_node_views (node TEXT PRIMARY KEY, member TEXT NOT NULL,
             view TEXT NOT NULL, updated_ms BIGINT NOT NULL)",
            "CREATE INDEX cluster_node_views_updated ON cluster_node_views (updated_ms)",
        ],
    },
];

/// Whether a chainops schema is there (any migration applied).
pub(crate) async fn exists(store: &Store) -> bool {
    sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(version) FROM schema_migrations")
        .fetch_one(&store.pool)
        .await
        .ok()
        .flatten()
        .is_some()
}

/// Applies every migration newer than the database's version. On PostgreSQL the members of
/// a cluster may start together: a session advisory lock makes them migrate one at a time
/// (the second finds the work done).
pub async fn apply(store: &Store) -> Result<()> {
    if store.backend() != Backend::Postgres {
        return apply_unlocked(store).await;
    }
    let lock = |e| StoreError::query("take the migration lock", e);
    let mut conn = store.pool().acquire().await.map_err(lock)?;
    sqlx::query("SELECT pg_advisory_lock(7262001)")
        .execute(&mut *conn)
        .await
        .map_err(lock)?;
    let result = apply_unlocked(store).await;
    let _ = sqlx::query("SELECT pg_advisory_unlock(7262001)")
        .execute(&mut *conn)
        .await;
    result
}

async fn apply_unlocked(store: &Store) -> Result<()> {
    let pool = store.pool();
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)",
    )
    .execute(pool)
    .await
    .map_err(|e| StoreError::query("create schema_migrations", e))?;

    let current: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
        .fetch_one(pool)
        .await
        .map_err(|e| StoreError::query("read schema version", e))?;
    let current = current.unwrap_or(0);
    let supported = MIGRATIONS.last().map(|m| m.version).unwrap_or(0);
    if current > supported {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported,
        });
    }
    let blob = match store.backend() {
        Backend::Sqlite => "BLOB",
        Backend::Postgres => "BYTEA",
    };
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        let fail = |e| StoreError::Migration {
            version: m.version,
            name: m.name,
            source: e,
        };
        let mut tx = pool.begin().await.map_err(fail)?;
        for stmt in m.statements {
            // `sqlite:`/`postgres:` prefixes mark statements for one backend only.
            let stmt = match (stmt.split_once(':'), store.backend()) {
                (Some(("sqlite", rest)), Backend::Sqlite) => rest,
                (Some(("postgres", rest)), Backend::Postgres) => rest,
                (Some(("sqlite" | "postgres", _)), _) => continue,
                _ => stmt,
            };
            sqlx::query(AssertSqlSafe(stmt.replace("{blob}", blob)))
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        tracing::info!(
            version = m.version,
            name = m.name,
            "applied store migration"
        );
    }
    Ok(())
}

/// The schema version the database is at.
pub async fn version(store: &Store) -> Result<i64> {
    let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
        .fetch_one(store.pool())
        .await
        .map_err(|e| StoreError::query("read schema version", e))?;
    Ok(v.unwrap_or(0))
}
