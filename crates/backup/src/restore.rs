//! `restore`: recreate a snapshot (or part of it) in a directory, verifying every blob
//! (AEAD authentication, then keyed-hash id) before a byte is written.

use crate::crypto::parse_id;
use crate::repo::Repository;
use crate::tree::{Node, NodeKind};
use crate::{BackupError, Result};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Counts of one restore.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RestoreStats {
    /// Files written.
    pub files: u64,
    /// Directories created.
    pub dirs: u64,
    /// Symlinks created.
    pub symlinks: u64,
    /// Bytes written.
    pub bytes: u64,
}

struct FileJob {
    path: PathBuf,
    node: Node,
}

fn wanted(rel: &str, include: &[String]) -> bool {
    include.is_empty()
        || include.iter().any(|inc| {
            let inc = inc.trim_matches('/');
            rel == inc || rel.starts_with(&format!("{inc}/")) || inc.starts_with(&format!("{rel}/"))
        })
}

fn set_mtime(path: &Path, mtime_ns: i64) {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(mtime_ns.max(0) as u64);
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.set_modified(t);
    }
}

/// Restores snapshot `id` into `target`; `include` limits it to these paths (relative to the
/// snapshot root, e.g. `chaindata/000123.sst`).
pub fn restore(
    repo: &Repository,
    id: &str,
    target: &Path,
    include: &[String],
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<RestoreStats> {
    let (_, snap) = repo.snapshot(id)?;
    std::fs::create_dir_all(target).map_err(|e| BackupError::io(target, e))?;
    let mut stats = RestoreStats::default();
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    let root = repo.read_tree(&snap.tree)?;
    walk(
        repo,
        &root.nodes,
        target,
        "",
        include,
        &mut files,
        &mut dirs,
        &mut stats,
    )?;
    let total: u64 = files.iter().map(|f| f.node.size).sum();
    let done = AtomicU64::new(0);
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<BackupError>> = Mutex::new(None);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = files.get(k) else { return };
                    if let Err(e) = write_file(repo, job, &done, total, progress) {
                        let mut f = failure.lock().unwrap_or_else(|p| p.into_inner());
                        f.get_or_insert(e);
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    stats.files = files.len() as u64;
    stats.bytes = done.load(Ordering::Relaxed);
    // Directory times last (writing files inside changes them), deepest first.
    for (path, node) in dirs.iter().rev() {
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(node.mode));
        set_mtime(path, node.mtime_ns);
    }
    Ok(stats)
}

#[allow(clippy::too_many_arguments)]
fn walk(
    repo: &Repository,
    nodes: &[Node],
    dir: &Path,
    rel: &str,
    include: &[String],
    files: &mut Vec<FileJob>,
    dirs: &mut Vec<(PathBuf, Node)>,
    stats: &mut RestoreStats,
) -> Result<()> {
    for n in nodes {
        if n.name.contains('/') || n.name == ".." || n.name == "." || n.name.is_empty() {
            return Err(BackupError::corrupt(&n.name, "unsafe file name in a tree"));
        }
        let r = if rel.is_empty() {
            n.name.clone()
        } else {
            format!("{rel}/{}", n.name)
        };
        if !wanted(&r, include) {
            continue;
        }
        let path = dir.join(&n.name);
        match n.kind {
            NodeKind::Dir => {
                std::fs::create_dir_all(&path).map_err(|e| BackupError::io(&path, e))?;
                // Writable while filling; the recorded mode is applied at the end.
                let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700));
                stats.dirs += 1;
                if let Some(sub) = &n.subtree {
                    let t = repo.read_tree(sub)?;
                    walk(repo, &t.nodes, &path, &r, include, files, dirs, stats)?;
                }
                dirs.push((path, n.clone()));
            }
            NodeKind::Symlink => {
                let _ = std::fs::remove_file(&path);
                std::os::unix::fs::symlink(n.target.as_deref().unwrap_or(""), &path)
                    .map_err(|e| BackupError::io(&path, e))?;
                stats.symlinks += 1;
            }
            NodeKind::File => files.push(FileJob {
                path,
                node: n.clone(),
            }),
        }
    }
    Ok(())
}

fn write_file(
    repo: &Repository,
    job: &FileJob,
    done: &AtomicU64,
    total: u64,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<()> {
    let tmp = job
        .path
        .with_file_name(format!(".{}.chainops-restore", job.node.name));
    let mut f = std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(&tmp).map_err(|e| BackupError::io(&tmp, e))?,
    );
    let mut written = 0u64;
    for c in &job.node.content {
        let id = parse_id(c).ok_or_else(|| BackupError::corrupt(c, "bad blob id in a tree"))?;
        let data = repo.read_blob(&id).map_err(|e| match e {
            BackupError::Corrupt { object, detail } => {
                BackupError::corrupt(format!("{} ({object})", job.path.display()), detail)
            }
            other => other,
        })?;
        f.write_all(&data).map_err(|e| BackupError::io(&tmp, e))?;
        written += data.len() as u64;
        let d = done.fetch_add(data.len() as u64, Ordering::Relaxed) + data.len() as u64;
        progress(d, total);
    }
    let file = f
        .into_inner()
        .map_err(|e| BackupError::io(&tmp, e.into_error()))?;
    file.sync_all().map_err(|e| BackupError::io(&tmp, e))?;
    drop(file);
    if written != job.node.size {
        let _ = std::fs::remove_file(&tmp);
        return Err(BackupError::corrupt(
            job.path.display().to_string(),
            format!(
                "restored {written} bytes, the snapshot says {}",
                job.node.size
            ),
        ));
    }
    std::fs::rename(&tmp, &job.path).map_err(|e| BackupError::io(&job.path, e))?;
    std::fs::set_permissions(&job.path, std::fs::Permissions::from_mode(job.node.mode))
        .map_err(|e| BackupError::io(&job.path, e))?;
    set_mtime(&job.path, job.node.mtime_ns);
    Ok(())
}
