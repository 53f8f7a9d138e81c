//! `check`: the repository's structure (every snapshot's trees and blobs are indexed, every
//! indexed pack exists) and, with `--read-data`, every byte (pack names are content hashes;
//! each blob is authenticated and its id recomputed). Damage is reported as the snapshots
//! and files it affects.

use crate::Result;
use crate::crypto::{Id, parse_id};
use crate::pack::{BlobEntry, name_matches, open_blob, pack_key, read_header};
use crate::repo::Repository;
use crate::tree::NodeKind;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, HashSet};

/// A file a damaged or missing blob belongs to.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Damaged {
    /// Snapshot id.
    pub snapshot: String,
    /// Path inside the snapshot.
    pub path: String,
}

/// What `check` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    /// Snapshots checked.
    pub snapshots: usize,
    /// Packs indexed.
    pub packs: usize,
    /// Blobs indexed.
    pub blobs: usize,
    /// Packs read in full.
    pub packs_read: usize,
    /// Problems (empty when the repository is sound).
    pub errors: Vec<String>,
    /// Files affected by the problems.
    pub damaged: Vec<Damaged>,
    /// Packs no index lists (left by an interrupted `create`; `prune` removes them).
    pub unreferenced_packs: Vec<String>,
    /// Temporary objects (`.tmp-<pid>-…`) left by an interrupted write; `prune` removes them.
    pub temporary_files: Vec<String>,
}

impl CheckReport {
    /// True when nothing is wrong.
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Checks the repository; `read_data` is the share of packs (0–1] to read in full.
pub fn check(
    repo: &Repository,
    read_data: Option<f64>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<CheckReport> {
    let mut report = CheckReport::default();
    let mut packs: HashMap<String, Vec<BlobEntry>> = HashMap::new();
    for name in repo.backend().list("index/")? {
        match repo.read_index_file(&name) {
            Ok(list) => {
                for p in list {
                    packs.entry(p.id).or_default().extend(p.blobs);
                }
            }
            Err(e) => report.errors.push(format!("index {name}: {e}")),
        }
    }
    report.packs = packs.len();
    report.blobs = packs.values().map(Vec::len).sum();
    let stored: HashSet<String> = repo
        .backend()
        .list("data/")?
        .into_iter()
        .filter_map(|k| k.rsplit('/').next().map(str::to_string))
        .collect();
    let keys: HashMap<String, String> = repo
        .backend()
        .list("data/")?
        .into_iter()
        .filter_map(|k| Some((k.rsplit('/').next()?.to_string(), k)))
        .collect();
    let mut bad: HashSet<Id> = HashSet::new();
    for (id, blobs) in &packs {
        if !stored.contains(id) {
            report
                .errors
                .push(format!("pack {id} is indexed but missing"));
            bad.extend(blobs.iter().filter_map(|b| parse_id(&b.id)));
            continue;
        }
        // A truncated pack is found without reading it: its size must cover every blob the
        // index places in it.
        let needed = blobs
            .iter()
            .map(|b| b.offset.saturating_add(b.len))
            .max()
            .unwrap_or(0);
        if let Some(key) = keys.get(id) {
            match repo.backend().size(key) {
                Ok(size) if size < needed => {
                    report.errors.push(format!(
                        "pack {id} is truncated: {size} bytes, the index needs at least {needed}"
                    ));
                    bad.extend(
                        blobs
                            .iter()
                            .filter(|b| b.offset.saturating_add(b.len) > size)
                            .filter_map(|b| parse_id(&b.id)),
                    );
                }
                Ok(_) => {}
                Err(e) => report.errors.push(format!("pack {id}: {e}")),
            }
        }
    }
    // Temporary objects of an interrupted write (kill -9 during `create` or `prune`).
    report.temporary_files = repo.backend().leftovers()?;
    let mut unreferenced: Vec<String> = stored
        .iter()
        .filter(|p| !packs.contains_key(*p))
        .cloned()
        .collect();
    unreferenced.sort();
    report.unreferenced_packs = unreferenced;

    if let Some(share) = read_data {
        let mut chosen: Vec<(&String, &Vec<BlobEntry>)> = packs
            .iter()
            .filter(|(id, _)| stored.contains(*id) && selected(id, share))
            .collect();
        chosen.sort_by(|a, b| a.0.cmp(b.0));
        let total = chosen.len() as u64;
        for (i, (id, blobs)) in chosen.into_iter().enumerate() {
            read_pack(repo, id, blobs, &mut report, &mut bad)?;
            report.packs_read += 1;
            progress(i as u64 + 1, total);
        }
    }

    let mut damaged = BTreeSet::new();
    let snapshots = repo.snapshots()?;
    report.snapshots = snapshots.len();
    for (sid, snap) in &snapshots {
        let mut stack = vec![(snap.tree.clone(), String::new())];
        while let Some((tree_id, prefix)) = stack.pop() {
            let tree = match parse_id(&tree_id).filter(|t| !bad.contains(t)) {
                Some(_) => repo.read_tree(&tree_id).map_err(|e| e.to_string()),
                None => Err(format!("tree {tree_id} is damaged")),
            };
            let tree = match tree {
                Ok(t) => t,
                Err(e) => {
                    report
                        .errors
                        .push(format!("snapshot {sid}: directory /{prefix}: {e}"));
                    damaged.insert(Damaged {
                        snapshot: sid.clone(),
                        path: format!("/{prefix}"),
                    });
                    continue;
                }
            };
            for n in &tree.nodes {
                let path = if prefix.is_empty() {
                    n.name.clone()
                } else {
                    format!("{prefix}/{}", n.name)
                };
                match n.kind {
                    NodeKind::Dir => {
                        if let Some(sub) = &n.subtree {
                            stack.push((sub.clone(), path));
                        }
                    }
                    NodeKind::File => {
                        for c in &n.content {
                            let id = parse_id(c);
                            let missing = id.is_none_or(|i| repo.locate(&i).is_none());
                            if missing || id.is_some_and(|i| bad.contains(&i)) {
                                if missing {
                                    report.errors.push(format!(
                                        "snapshot {sid}: /{path}: blob {c} is not in the index"
                                    ));
                                }
                                damaged.insert(Damaged {
                                    snapshot: sid.clone(),
                                    path: format!("/{path}"),
                                });
                                break;
                            }
                        }
                    }
                    NodeKind::Symlink => {}
                }
            }
        }
    }
    report.damaged = damaged.into_iter().collect();
    Ok(report)
}

/// Deterministic subset: a pack is read when its name's first 4 bytes fall below `share`.
fn selected(id: &str, share: f64) -> bool {
    if share >= 1.0 {
        return true;
    }
    let v = id
        .get(..8)
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .unwrap_or(0);
    (f64::from(v) / f64::from(u32::MAX)) < share
}

fn read_pack(
    repo: &Repository,
    id: &str,
    indexed: &[BlobEntry],
    report: &mut CheckReport,
    bad: &mut HashSet<Id>,
) -> Result<()> {
    let key = pack_key(id);
    let bytes = match repo.backend().read(&key) {
        Ok(b) => b,
        Err(e) => {
            report.errors.push(format!("pack {id}: {e}"));
            bad.extend(indexed.iter().filter_map(|b| parse_id(&b.id)));
            return Ok(());
        }
    };
    if !name_matches(&bytes, id) {
        report.errors.push(format!(
            "pack {id}: content does not match its name (modified or damaged)"
        ));
    }
    if let Err(e) = read_header(repo.key(), &bytes, id) {
        report.errors.push(format!("pack {id}: header: {e}"));
    }
    // Verify every indexed blob individually so damage is narrowed to the blobs it hit.
    for b in indexed {
        let end = b.offset.saturating_add(b.len);
        let ok = end <= bytes.len() as u64
            && open_blob(repo.key(), b, &bytes[b.offset as usize..end as usize], id).is_ok();
        if !ok {
            report
                .errors
                .push(format!("pack {id}: blob {} is damaged", b.id));
            if let Some(i) = parse_id(&b.id) {
                bad.insert(i);
            }
        }
    }
    Ok(())
}
