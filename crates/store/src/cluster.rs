//! The daemon cluster's shared state: members and their heartbeats, the leader lease (with a
//! fencing epoch), which member polls which node, and the node views members publish for
//! each other. Every time here is the database's clock, so members with skewed clocks still
//! agree on who is alive and when a lease ends.

use crate::series::decode_err;
use crate::{Backend, Result, Store, StoreError};
use sqlx::Row;

/// A member as recorded by its last heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MemberRow {
    /// The member's name (`[cluster] member`).
    pub member: String,
    /// The address its API answers on.
    pub addr: String,
    /// The chainops version it runs.
    pub version: String,
    /// The public key it signs audit-trail checkpoints with (hex).
    pub audit_key: String,
    /// When it joined, epoch ms (database clock).
    pub started_ms: i64,
    /// Its last heartbeat, epoch ms (database clock).
    pub seen_ms: i64,
}

/// The leader lease.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LeaderRow {
    /// Who holds (or last held) the lease.
    pub member: String,
    /// Grows by one with every change of leader: the fencing token of leader-only writes.
    pub epoch: i64,
    /// When this member took the lease.
    pub since_ms: i64,
    /// When the lease ends unless renewed.
    pub expires_ms: i64,
}

/// One node's published view.
#[derive(Debug, Clone)]
pub struct ViewRow {
    /// The node.
    pub node: String,
    /// The member that polled it.
    pub member: String,
    /// The view document (owned by the monitor).
    pub view: String,
    /// When it was published (database clock).
    pub updated_ms: i64,
}

/// Rows per multi-row statement (3 parameters each, well under both engines' limits).
const CHUNK: usize = 500;

impl Store {
    /// The database's clock as an SQL expression (epoch ms).
    fn now_sql(&self) -> &'static str {
        match self.backend() {
            Backend::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
            Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
        }
    }

    /// The database's clock, epoch ms.
    pub async fn db_now_ms(&self) -> Result<i64> {
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!("SELECT {}", self.now_sql())))
            .fetch_one(self.pool())
            .await
            .map_err(|e| StoreError::query("read the database clock", e))
    }

    /// Records a member's heartbeat (joining if new); returns the database time it was seen.
    pub async fn cluster_heartbeat(&self, me: &MemberRow) -> Result<i64> {
        let now = self.now_sql();
        let sql = format!(
            "INSERT INTO cluster_members (member, addr, version, audit_key, started_ms, seen_ms)
             VALUES ($1, $2, $3, $4, {now}, {now})
             ON CONFLICT (member) DO UPDATE SET addr = excluded.addr, version = excluded.version,
                audit_key = excluded.audit_key, seen_ms = excluded.seen_ms
             RETURNING seen_ms"
        );
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
            .bind(me.member.as_str())
            .bind(me.addr.as_str())
            .bind(me.version.as_str())
            .bind(me.audit_key.as_str())
            .fetch_one(self.pool())
            .await
            .map_err(|e| StoreError::query("record a cluster heartbeat", e))
    }

    /// Every member ever seen (the caller decides who is alive from `seen_ms`), by name.
    pub async fn cluster_members(&self) -> Result<Vec<MemberRow>> {
        let rows = sqlx::query(
            "SELECT member, addr, version, audit_key, started_ms, seen_ms FROM cluster_members ORDER BY member",
        )
        .fetch_all(self.pool())
        .await
        .map_err(|e| StoreError::query("list cluster members", e))?;
        rows.iter()
            .map(|r| {
                Ok(MemberRow {
                    member: r.try_get(0).map_err(decode_err)?,
                    addr: r.try_get(1).map_err(decode_err)?,
                    version: r.try_get(2).map_err(decode_err)?,
                    audit_key: r.try_get(3).map_err(decode_err)?,
                    started_ms: r.try_get(4).map_err(decode_err)?,
                    seen_ms: r.try_get(5).map_err(decode_err)?,
                })
            })
            .collect()
    }

    /// Removes members not seen since `before_ms` (database clock); returns how many.
    pub async fn cluster_forget(&self, before_ms: i64) -> Result<u64> {
        sqlx::query("DELETE FROM cluster_members WHERE seen_ms < $1")
            .bind(before_ms)
            .execute(self.pool())
            .await
            .map(|r| r.rows_affected())
            .map_err(|e| StoreError::query("forget cluster members", e))
    }

    /// A member leaving on purpose: its row goes and, if it leads, its lease ends now so a
    /// successor need not wait for it to run out.
    pub async fn cluster_leave(&self, member: &str) -> Result<()> {
        let fail = |e| StoreError::query("leave the cluster", e);
        sqlx::query("DELETE FROM cluster_members WHERE member = $1")
            .bind(member)
            .execute(self.pool())
            .await
            .map_err(fail)?;
        sqlx::query("UPDATE cluster_leader SET expires_ms = 0 WHERE id = 1 AND member = $1")
            .bind(member)
            .execute(self.pool())
            .await
            .map_err(fail)?;
        Ok(())
    }

    /// Takes the leader lease if it is free or expired, or renews it if `member` holds it,
    /// for `lease_ms`; returns the lease as it stands afterwards (held by someone else when
    /// the attempt lost).
    pub async fn cluster_try_lead(&self, member: &str, lease_ms: i64) -> Result<LeaderRow> {
        let now = self.now_sql();
        let sql = format!(
            "INSERT INTO cluster_leader (id, member, epoch, since_ms, expires_ms)
             VALUES (1, $1, 1, {now}, {now} + $2)
             ON CONFLICT (id) DO UPDATE SET
                member = excluded.member,
                epoch = CASE WHEN cluster_leader.member = excluded.member
                        THEN cluster_leader.epoch ELSE cluster_leader.epoch + 1 END,
                since_ms = CASE WHEN cluster_leader.member = excluded.member
                        THEN cluster_leader.since_ms ELSE excluded.since_ms END,
                expires_ms = excluded.expires_ms
             WHERE cluster_leader.member = excluded.member
                OR cluster_leader.expires_ms < excluded.since_ms"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(member)
            .bind(lease_ms)
            .execute(self.pool())
            .await
            .map_err(|e| StoreError::query("take the leader lease", e))?;
        self.cluster_leader()
            .await?
            .ok_or_else(|| StoreError::Corrupt {
                context: "cluster_leader",
                detail: "the lease row is missing right after it was written".into(),
            })
    }

    /// The leader lease, if any member ever took it.
    pub async fn cluster_leader(&self) -> Result<Option<LeaderRow>> {
        let row = sqlx::query(
            "SELECT member, epoch, since_ms, expires_ms FROM cluster_leader WHERE id = 1",
        )
        .fetch_optional(self.pool())
        .await
        .map_err(|e| StoreError::query("read the leader lease", e))?;
        row.map(|r| {
            Ok(LeaderRow {
                member: r.try_get(0).map_err(decode_err)?,
                epoch: r.try_get(1).map_err(decode_err)?,
                since_ms: r.try_get(2).map_err(decode_err)?,
                expires_ms: r.try_get(3).map_err(decode_err)?,
            })
        })
        .transpose()
    }

    /// Every node's assigned member.
    pub async fn cluster_assignments(&self) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT node, member FROM cluster_assignments ORDER BY node")
            .fetch_all(self.pool())
            .await
            .map_err(|e| StoreError::query("read node assignments", e))?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0).map_err(decode_err)?,
                    r.try_get(1).map_err(decode_err)?,
                ))
            })
            .collect()
    }

    /// Writes node assignments as the leader of `epoch`: `set` (node → member) replaces
    /// those nodes' rows, `remove` deletes rows of nodes no longer configured. Fenced: if
    /// `leader` no longer holds the lease at `epoch`, nothing is written and `false` returns.
    pub async fn cluster_assign(
        &self,
        leader: &str,
        epoch: i64,
        set: &[(String, String)],
        remove: &[String],
    ) -> Result<bool> {
        let fail = |e| StoreError::query("write node assignments", e);
        let mut tx = self.begin().await?;
        // The lease row is locked for the transaction (PostgreSQL) so a successor cannot
        // take over between the check and the writes.
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let holder = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT member, epoch FROM cluster_leader WHERE id = 1{lock}"
        )))
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?;
        let holds = match holder {
            Some(r) => {
                let m: String = r.try_get(0).map_err(decode_err)?;
                let e: i64 = r.try_get(1).map_err(decode_err)?;
                m == leader && e == epoch
            }
            None => false,
        };
        if !holds {
            return Ok(false);
        }
        let now = self.now_sql();
        for chunk in set.chunks(CHUNK) {
            let values = crate::values_rows(chunk.len(), 3, now);
            let sql = format!(
                "INSERT INTO cluster_assignments (node, member, epoch, assigned_ms) VALUES {values}
                 ON CONFLICT (node) DO UPDATE SET member = excluded.member, epoch = excluded.epoch,
                    assigned_ms = excluded.assigned_ms"
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (node, member) in chunk {
                q = q.bind(node.as_str()).bind(member.as_str()).bind(epoch);
            }
            q.execute(&mut *tx).await.map_err(fail)?;
        }
        for node in remove {
            sqlx::query("DELETE FROM cluster_assignments WHERE node = $1")
                .bind(node.as_str())
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        tx.commit().await.map_err(fail)?;
        Ok(true)
    }

    /// Publishes `member`'s views of the nodes it polls (node → document).
    pub async fn cluster_publish_views(
        &self,
        member: &str,
        views: &[(String, String)],
    ) -> Result<()> {
        let now = self.now_sql();
        for chunk in views.chunks(CHUNK) {
            let values = crate::values_rows(chunk.len(), 3, now);
            let sql = format!(
                "INSERT INTO cluster_node_views (node, member, view, updated_ms) VALUES {values}
                 ON CONFLICT (node) DO UPDATE SET member = excluded.member, view = excluded.view,
                    updated_ms = excluded.updated_ms"
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (node, view) in chunk {
                q = q.bind(node.as_str()).bind(member).bind(view.as_str());
            }
            q.execute(self.pool())
                .await
                .map_err(|e| StoreError::query("publish node views", e))?;
        }
        Ok(())
    }

    /// Views other members published at or after `since_ms` (database clock), oldest first.
    pub async fn cluster_views_since(
        &self,
        since_ms: i64,
        not_member: &str,
    ) -> Result<Vec<ViewRow>> {
        let rows = sqlx::query(
            "SELECT node, member, view, updated_ms FROM cluster_node_views
             WHERE updated_ms >= $1 AND member <> $2 ORDER BY updated_ms",
        )
        .bind(since_ms)
        .bind(not_member)
        .fetch_all(self.pool())
        .await
        .map_err(|e| StoreError::query("read node views", e))?;
        rows.iter()
            .map(|r| {
                Ok(ViewRow {
                    node: r.try_get(0).map_err(decode_err)?,
                    member: r.try_get(1).map_err(decode_err)?,
                    view: r.try_get(2).map_err(decode_err)?,
                    updated_ms: r.try_get(3).map_err(decode_err)?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("c.db").display());
        let s = Store::open(&url).await.unwrap();
        (dir, s)
    }

    #[tokio::test]
    async fn the_lease_goes_to_one_member_and_passes_on_only_when_it_ends() {
        let (_d, s) = store().await;
        let a = s.cluster_try_lead("a", 60_000).await.unwrap();
        assert_eq!((a.member.as_str(), a.epoch), ("a", 1));
        let b = s.cluster_try_lead("b", 60_000).await.unwrap();
        assert_eq!(b.member, "a", "b cannot take a live lease");
        let renewed = s.cluster_try_lead("a", 60_000).await.unwrap();
        assert_eq!(
            (renewed.epoch, renewed.since_ms),
            (1, a.since_ms),
            "renewal keeps the epoch"
        );
        assert!(renewed.expires_ms >= a.expires_ms);
        s.cluster_leave("a").await.unwrap();
        let b = s.cluster_try_lead("b", 60_000).await.unwrap();
        assert_eq!(
            (b.member.as_str(), b.epoch),
            ("b", 2),
            "a new leader gets a new epoch"
        );
        // A fenced write by the old leader is refused; the new one's goes through.
        let set = vec![("n1".to_string(), "a".to_string())];
        assert!(!s.cluster_assign("a", 1, &set, &[]).await.unwrap());
        assert!(s.cluster_assignments().await.unwrap().is_empty());
        let set = vec![
            ("n1".to_string(), "b".to_string()),
            ("n2".to_string(), "b".to_string()),
        ];
        assert!(s.cluster_assign("b", 2, &set, &[]).await.unwrap());
        assert!(s.cluster_assign("b", 2, &[], &["n2".into()]).await.unwrap());
        assert_eq!(
            s.cluster_assignments().await.unwrap(),
            vec![("n1".into(), "b".into())]
        );
    }

    #[tokio::test]
    async fn heartbeats_views_and_forgetting() {
        let (_d, s) = store().await;
        let row = |m: &str| MemberRow {
            member: m.into(),
            addr: "127.0.0.1:1".into(),
            version: "1.0".into(),
            audit_key: "ab".into(),
            started_ms: 0,
            seen_ms: 0,
        };
        let seen = s.cluster_heartbeat(&row("a")).await.unwrap();
        s.cluster_heartbeat(&row("b")).await.unwrap();
        let db = s.db_now_ms().await.unwrap();
        assert!((db - seen).abs() < 60_000, "the database clock is epoch ms");
        assert_eq!(s.cluster_members().await.unwrap().len(), 2);
        let views: Vec<(String, String)> = (0..1200)
            .map(|i| (format!("n{i}"), format!("{{\"i\":{i}}}")))
            .collect();
        s.cluster_publish_views("a", &views).await.unwrap();
        assert!(
            s.cluster_views_since(0, "a").await.unwrap().is_empty(),
            "own views are skipped"
        );
        let got = s.cluster_views_since(0, "b").await.unwrap();
        assert_eq!(got.len(), 1200);
        assert!(got.iter().all(|v| v.member == "a"));
        assert_eq!(s.cluster_forget(db + 1).await.unwrap(), 2);
    }
}
