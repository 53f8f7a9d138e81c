//! `prune`: free the space of forgotten snapshots. Packs whose blobs are all unused are
//! deleted; packs with a large unused share are repacked (used blobs copied sealed, without
//! decrypting); one new index replaces the old ones.
//!
//! Crash safety comes from the order: new packs → new index → old indexes deleted → old
//! packs deleted. Killed anywhere, the repository is consistent: at worst it keeps packs no
//! index lists (the next `prune` deletes them; `check` notes them).

use crate::crypto::{Id, parse_id};
use crate::pack::{BlobEntry, PackRecord, Packer, pack_key};
use crate::repo::Repository;
use crate::tree::NodeKind;
use crate::{BackupError, Result};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// A pack is repacked when at least this share of its bytes is unused.
pub const REPACK_UNUSED_SHARE: f64 = 0.10;

/// What `prune` did (or would do with `dry_run`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PruneReport {
    /// Blobs still referenced.
    pub blobs_used: u64,
    /// Blobs dropped.
    pub blobs_removed: u64,
    /// Packs deleted whole.
    pub packs_deleted: u64,
    /// Packs rewritten.
    pub packs_repacked: u64,
    /// Packs no index listed (interrupted backups), deleted.
    pub packs_unreferenced: u64,
    /// Temporary objects of interrupted writes (`.tmp-<pid>-…`), deleted.
    pub temporary_removed: u64,
    /// Bytes freed (packs deleted minus packs written).
    pub bytes_freed: i64,
}

/// Every blob any snapshot references (trees and file contents).
pub fn used_blobs(repo: &Repository) -> Result<HashSet<Id>> {
    let mut used = HashSet::new();
    for (sid, snap) in repo.snapshots()? {
        let mut stack = vec![snap.tree.clone()];
        while let Some(tid) = stack.pop() {
            let id = parse_id(&tid).ok_or_else(|| BackupError::corrupt(&tid, "bad tree id"))?;
            if !used.insert(id) {
                continue; // shared subtree already walked
            }
            let tree = repo.read_tree(&tid).map_err(|e| {
                BackupError::corrupt(
                    format!("snapshot {sid}"),
                    format!("{e}; run `chainops backup check` — prune stops rather than lose data"),
                )
            })?;
            for n in tree.nodes {
                match n.kind {
                    NodeKind::Dir => stack.extend(n.subtree),
                    NodeKind::File => used.extend(n.content.iter().filter_map(|c| parse_id(c))),
                    NodeKind::Symlink => {}
                }
            }
        }
    }
    Ok(used)
}

/// Prunes; the caller holds the exclusive lock.
pub fn prune(repo: &mut Repository, dry_run: bool) -> Result<PruneReport> {
    let used = used_blobs(repo)?;
    let index_files = repo.backend().list("index/")?;
    // pack → blobs, keeping each blob's first location only.
    let mut packs: HashMap<String, Vec<BlobEntry>> = HashMap::new();
    let mut seen: HashSet<Id> = HashSet::new();
    let mut order: Vec<String> = Vec::new();
    for name in &index_files {
        for p in repo.read_index_file(name)? {
            if !packs.contains_key(&p.id) {
                order.push(p.id.clone());
            }
            let entry = packs.entry(p.id).or_default();
            for b in p.blobs {
                if let Some(id) = parse_id(&b.id)
                    && seen.insert(id)
                {
                    entry.push(b);
                }
            }
        }
    }
    let stored: Vec<String> = repo
        .backend()
        .list("data/")?
        .into_iter()
        .filter_map(|k| k.rsplit('/').next().map(str::to_string))
        .collect();
    let mut report = PruneReport::default();
    let mut keep: Vec<PackRecord> = Vec::new();
    let mut delete: Vec<String> = Vec::new();
    let mut repack: Vec<(String, Vec<BlobEntry>)> = Vec::new();
    let mut freed: i64 = 0;
    for id in &order {
        let blobs = packs.remove(id).unwrap_or_default();
        let is_used = |b: &BlobEntry| parse_id(&b.id).is_some_and(|i| used.contains(&i));
        let (live, dead): (Vec<BlobEntry>, Vec<BlobEntry>) =
            blobs.into_iter().partition(|b| is_used(b));
        report.blobs_used += live.len() as u64;
        report.blobs_removed += dead.len() as u64;
        let live_bytes: u64 = live.iter().map(|b| b.len).sum();
        let dead_bytes: u64 = dead.iter().map(|b| b.len).sum();
        if live.is_empty() {
            delete.push(id.clone());
            report.packs_deleted += 1;
            freed += dead_bytes as i64;
        } else if dead_bytes as f64 >= REPACK_UNUSED_SHARE * (live_bytes + dead_bytes) as f64 {
            report.packs_repacked += 1;
            freed += dead_bytes as i64;
            repack.push((id.clone(), live));
        } else {
            // Small waste: keep the pack; its unused blobs stay until it crosses the threshold.
            report.blobs_removed -= dead.len() as u64;
            report.blobs_used += dead.len() as u64;
            let mut all = live;
            all.extend(dead);
            keep.push(PackRecord {
                id: id.clone(),
                blobs: all,
            });
        }
    }
    let listed: HashSet<&String> = order.iter().collect();
    let unreferenced: Vec<String> = stored
        .iter()
        .filter(|p| !listed.contains(p))
        .cloned()
        .collect();
    report.packs_unreferenced = unreferenced.len() as u64;
    for id in &unreferenced {
        freed += repo.backend().size(&pack_key(id)).unwrap_or(0) as i64;
    }
    let leftovers = repo.backend().leftovers()?;
    report.temporary_removed = leftovers.len() as u64;
    for key in &leftovers {
        freed += repo.backend().size(key).unwrap_or(0) as i64;
    }
    if dry_run {
        report.bytes_freed = freed;
        return Ok(report);
    }
    // 1. New packs with the live blobs of repacked packs (copied sealed).
    let packer = Packer::new(repo.key().clone(), repo.backend().clone());
    for (id, live) in &repack {
        let bytes = repo.backend().read(&pack_key(id))?;
        for b in live {
            let end = (b.offset + b.len) as usize;
            let sealed = bytes
                .get(b.offset as usize..end)
                .ok_or_else(|| BackupError::corrupt(pack_key(id), "blob outside the pack"))?;
            packer.add_sealed(b.kind, &b.id, sealed, b.raw_len)?;
        }
    }
    packer.flush()?;
    let written = packer.records();
    freed -= packer.bytes_written() as i64;
    drop(packer);
    // 2. One index for everything that stays.
    keep.extend(written);
    repo.write_index(&keep)?;
    // 3. Old indexes.
    let new_index: HashSet<String> = repo
        .backend()
        .list("index/")?
        .into_iter()
        .filter(|n| !index_files.contains(n))
        .collect();
    for name in &index_files {
        if !new_index.contains(name) {
            repo.backend().delete(name)?;
        }
    }
    // 4. Old packs.
    for id in delete
        .iter()
        .chain(repack.iter().map(|(id, _)| id))
        .chain(unreferenced.iter())
    {
        repo.backend().delete(&pack_key(id))?;
    }
    // 5. What interrupted writes left (nobody else writes: the caller holds the lock).
    for key in &leftovers {
        repo.backend().delete(key)?;
    }
    repo.load_index()?;
    report.bytes_freed = freed;
    Ok(report)
}
