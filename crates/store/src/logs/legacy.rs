//! Moves rows of the pre-block `logs` table (schema 6–7) into blocks, batch by batch in
//! transactions (an interrupted conversion resumes where it stopped), keeping every row's
//! id, and drops the old table and its index once empty.

use super::NewLog;
use super::block::RowRef;
use crate::series::decode_err;
use crate::{Backend, Result, Store, StoreError};
use sqlx::Row;

/// Converts the legacy `logs` table if there is one.
pub(crate) async fn convert_legacy(store: &Store) -> Result<()> {
    let exists_sql = match store.backend() {
        Backend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'logs'"
        }
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'logs'"
        }
    };
    let exists: i64 = sqlx::query_scalar(exists_sql)
        .fetch_one(store.pool())
        .await
        .map_err(|e| StoreError::query("look for legacy log rows", e))?;
    if exists == 0 {
        return Ok(());
    }
    let mut moved = 0u64;
    loop {
        let mut tx = store
            .pool()
            .begin()
            .await
            .map_err(|e| StoreError::query("convert legacy log rows", e))?;
        let rows = sqlx::query(
            "SELECT id, ts_ms, node, chain, level, message, fields, source FROM logs ORDER BY id LIMIT $1",
        )
        .bind(super::BLOCK_ROWS as i64)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| StoreError::query("read legacy log rows", e))?;
        if rows.is_empty() {
            for stmt in ["DROP TABLE logs", "DROP TABLE IF EXISTS logs_fts"] {
                sqlx::query(stmt)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| StoreError::query("drop legacy log table", e))?;
            }
            tx.commit()
                .await
                .map_err(|e| StoreError::query("drop legacy log table", e))?;
            if moved > 0 {
                tracing::info!(rows = moved, "converted stored logs to blocks");
            }
            return Ok(());
        }
        let owned: Vec<(i64, NewLog)> = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get(0).map_err(decode_err)?,
                    NewLog {
                        ts_ms: r.try_get(1).map_err(decode_err)?,
                        node: r.try_get(2).map_err(decode_err)?,
                        chain: r.try_get(3).map_err(decode_err)?,
                        level: r.try_get(4).map_err(decode_err)?,
                        message: r.try_get(5).map_err(decode_err)?,
                        fields: r.try_get(6).map_err(decode_err)?,
                        source: r.try_get(7).map_err(decode_err)?,
                    },
                ))
            })
            .collect::<Result<_>>()?;
        let refs: Vec<RowRef<'_>> = owned.iter().map(|(id, r)| r.with_id(*id)).collect();
        let last = refs[refs.len() - 1].id;
        store.write_block(&mut tx, refs[0].id, &refs, false).await?;
        store.index_rows(&mut tx, &refs).await?;
        sqlx::query("DELETE FROM logs WHERE id <= $1")
            .bind(last)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::query("delete converted log rows", e))?;
        tx.commit()
            .await
            .map_err(|e| StoreError::query("convert legacy log rows", e))?;
        moved += refs.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;
    use crate::logs::LogQuery;

    /// A store written by schema 6–7 keeps every row (same ids, searchable) after upgrading.
    #[tokio::test]
    async fn legacy_rows_move_into_blocks_with_their_ids() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}/c.db", dir.path().display());
        let store = Store::open(&url).await.expect("open");
        // Recreate the old table as schema 6 made it, with rows and a gap in the ids.
        sqlx::query(
            "CREATE TABLE logs (
                id INTEGER PRIMARY KEY AUTOINCREMENT, ts_ms BIGINT NOT NULL, node TEXT NOT NULL,
                chain TEXT NOT NULL, level BIGINT NOT NULL, message TEXT NOT NULL,
                fields TEXT NOT NULL, source TEXT NOT NULL)",
        )
        .execute(store.pool())
        .await
        .expect("legacy table");
        for id in (1..=1500).filter(|i| i % 100 != 0) {
            sqlx::query("INSERT INTO logs VALUES ($1, $2, 'geth-1', 'dev', 2, $3, '{}', 'file:x')")
                .bind(id)
                .bind(1_000 + id)
                .bind(format!("old line marker{id:05}z"))
                .execute(store.pool())
                .await
                .expect("legacy row");
        }
        sqlx::query("UPDATE log_seq SET next_id = 1501")
            .execute(store.pool())
            .await
            .expect("seq");
        store.close().await;

        let store = Store::open(&url).await.expect("reopen converts");
        assert_eq!(store.count_logs().await.expect("count"), 1485);
        let find = |t: &str| LogQuery {
            from_ms: 0,
            to_ms: i64::MAX,
            text: vec![t.into()],
            limit: 10,
            ..LogQuery::default()
        };
        let hit = store
            .search_logs(&find("marker01234z"))
            .await
            .expect("search");
        assert_eq!(hit.iter().map(|r| r.id).collect::<Vec<_>>(), [1234]);
        assert!(
            store
                .search_logs(&find("marker01200z"))
                .await
                .expect("gap")
                .is_empty()
        );
        store
            .insert_logs(
                &[crate::logs::NewLog {
                    ts_ms: 5_000,
                    node: "geth-1".into(),
                    chain: "dev".into(),
                    level: 2,
                    message: "new line".into(),
                    fields: "{}".into(),
                    source: "file:x".into(),
                }],
                None,
                0,
            )
            .await
            .expect("insert after conversion");
        assert_eq!(store.last_log_id().await.expect("last"), 1501);
        let tables: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('logs', 'logs_fts')",
        )
        .fetch_one(store.pool())
        .await
        .expect("tables");
        assert_eq!(tables, 0, "the old table and its index are gone");
    }
}
