//! `restore`: recreate a snapshot (or part of it) in a directory, verifying every blob
//! (AEAD authentication, then keyed-hash id) before a byte is written.
//!
//! Nothing below the target is reached by path: every directory is opened relative to its
//! verified parent with `O_NOFOLLOW | O_DIRECTORY`, files are created with
//! `O_NOFOLLOW | O_EXCL` next to their final name and renamed over it (a rename replaces a
//! link, it never follows one), so a symbolic link already in the target — or one swapped in
//! while restore runs — cannot send a byte outside it. Such a link is refused, by path. The
//! target itself may be a link: the caller named it.
//!
//! A damaged file does not stop the others: every intact file is restored, the damaged ones
//! are listed and the restore fails at the end, with no temporary file left behind.

use crate::crypto::parse_id;
use crate::repo::Repository;
use crate::tree::{Node, NodeKind};
use crate::{BackupError, Result};
use nix::errno::Errno;
use nix::fcntl::{OFlag, openat, renameat};
use nix::sys::stat::{Mode, fchmod, futimens, mkdirat};
use nix::sys::time::TimeSpec;
use nix::unistd::{UnlinkatFlags, symlinkat, unlinkat};
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

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

/// A directory being filled: its descriptor and its path (for messages).
struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

struct FileJob {
    dir: Arc<Dir>,
    node: Node,
}

impl FileJob {
    fn path(&self) -> PathBuf {
        self.dir.path.join(&self.node.name)
    }
}

fn wanted(rel: &str, include: &[String]) -> bool {
    include.is_empty()
        || include.iter().any(|inc| {
            let inc = inc.trim_matches('/');
            rel == inc || rel.starts_with(&format!("{inc}/")) || inc.starts_with(&format!("{rel}/"))
        })
}

fn io(path: &Path, e: Errno) -> BackupError {
    BackupError::io(path, std::io::Error::from(e))
}

/// A symbolic link (or other non-directory) where restore needs a directory.
fn refused(path: &Path) -> BackupError {
    let what = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => match std::fs::read_link(path) {
            Ok(t) => format!("is a symbolic link to {}", t.display()),
            Err(_) => "is a symbolic link".to_string(),
        },
        _ => "is not a directory".to_string(),
    };
    BackupError::Input(format!(
        "refusing {}: it {what} already in the target, and restore never follows a link it did not create; remove it or restore into an empty directory",
        path.display()
    ))
}

fn times(mtime_ns: i64) -> (TimeSpec, TimeSpec) {
    let t = TimeSpec::from_duration(std::time::Duration::from_nanos(mtime_ns.max(0) as u64));
    (t, t)
}

fn mode_of(node: &Node) -> Mode {
    Mode::from_bits_truncate(node.mode & 0o7777)
}

/// Opens (creating if needed) directory `name` in `parent` without following a link.
fn open_dir(parent: &Dir, name: &str) -> Result<Dir> {
    let path = parent.path.join(name);
    match mkdirat(parent.fd.as_fd(), name, Mode::S_IRWXU) {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(io(&path, e)),
    }
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let fd = openat(parent.fd.as_fd(), name, flags, Mode::empty()).map_err(|e| match e {
        Errno::ELOOP | Errno::ENOTDIR => refused(&path),
        e => io(&path, e),
    })?;
    // Writable while filling; the recorded mode is applied at the end.
    fchmod(fd.as_fd(), Mode::S_IRWXU).map_err(|e| io(&path, e))?;
    Ok(Dir { fd, path })
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
    let root_fd = nix::fcntl::open(
        target,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| io(target, e))?;
    let root = Arc::new(Dir {
        fd: root_fd,
        path: target.to_path_buf(),
    });
    let mut stats = RestoreStats::default();
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    let tree = repo.read_tree(&snap.tree)?;
    walk(
        repo,
        &tree.nodes,
        &root,
        "",
        include,
        &mut files,
        &mut dirs,
        &mut stats,
    )?;
    let total: u64 = files.iter().map(|f| f.node.size).sum();
    let done = AtomicU64::new(0);
    let next = AtomicUsize::new(0);
    let damaged: Mutex<Vec<(PathBuf, BackupError)>> = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = files.get(k) else { return };
                    if let Err(e) = write_file(repo, job, &done, total, progress) {
                        damaged
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push((job.path(), e));
                    }
                }
            });
        }
    });
    // Directory modes and times last (writing files inside changes them), deepest first.
    for (dir, node) in dirs.iter().rev() {
        let _ = fchmod(dir.fd.as_fd(), mode_of(node));
        let (a, m) = times(node.mtime_ns);
        let _ = futimens(dir.fd.as_fd(), &a, &m);
    }
    let mut damaged = damaged.into_inner().unwrap_or_else(|p| p.into_inner());
    stats.files = files.len() as u64 - damaged.len() as u64;
    stats.bytes = done.load(Ordering::Relaxed);
    if damaged.is_empty() {
        return Ok(stats);
    }
    damaged.sort_by(|a, b| a.0.cmp(&b.0));
    if damaged.len() == 1 {
        return Err(damaged.remove(0).1);
    }
    let list: Vec<String> = damaged
        .iter()
        .take(20)
        .map(|(p, e)| format!("  {}: {e}", p.display()))
        .collect();
    Err(BackupError::corrupt(
        format!("{} files", damaged.len()),
        format!(
            "could not be restored ({} other files were); `backup check --read-data` shows what is damaged:\n{}{}",
            stats.files,
            list.join("\n"),
            if damaged.len() > 20 { "\n  …" } else { "" }
        ),
    ))
}

#[allow(clippy::too_many_arguments)]
fn walk(
    repo: &Repository,
    nodes: &[Node],
    dir: &Arc<Dir>,
    rel: &str,
    include: &[String],
    files: &mut Vec<FileJob>,
    dirs: &mut Vec<(Arc<Dir>, Node)>,
    stats: &mut RestoreStats,
) -> Result<()> {
    for n in nodes {
        if n.name.contains(['/', '\0']) || n.name == ".." || n.name == "." || n.name.is_empty() {
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
        match n.kind {
            NodeKind::Dir => {
                let sub = Arc::new(open_dir(dir, &n.name)?);
                stats.dirs += 1;
                if let Some(id) = &n.subtree {
                    let t = repo.read_tree(id)?;
                    walk(repo, &t.nodes, &sub, &r, include, files, dirs, stats)?;
                }
                dirs.push((sub, n.clone()));
            }
            NodeKind::Symlink => {
                let path = dir.path.join(&n.name);
                // Removes a file or link of that name (never what a link points to).
                match unlinkat(dir.fd.as_fd(), n.name.as_str(), UnlinkatFlags::NoRemoveDir) {
                    Ok(()) | Err(Errno::ENOENT) => {}
                    Err(Errno::EISDIR) => return Err(refused(&path)),
                    Err(e) => return Err(io(&path, e)),
                }
                symlinkat(
                    n.target.as_deref().unwrap_or(""),
                    dir.fd.as_fd(),
                    n.name.as_str(),
                )
                .map_err(|e| io(&path, e))?;
                stats.symlinks += 1;
            }
            NodeKind::File => files.push(FileJob {
                dir: dir.clone(),
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
    let dirfd = job.dir.fd.as_fd();
    let tmp = format!(".{}.chainops-restore", job.node.name);
    let tmp_path = job.dir.path.join(&tmp);
    // A stale temporary file (or a link planted under its name) goes first.
    let _ = unlinkat(dirfd, tmp.as_str(), UnlinkatFlags::NoRemoveDir);
    let flags =
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let fd = openat(dirfd, tmp.as_str(), flags, Mode::S_IRUSR | Mode::S_IWUSR)
        .map_err(|e| io(&tmp_path, e))?;
    let written = fill(
        repo,
        job,
        std::fs::File::from(fd),
        &tmp_path,
        done,
        total,
        progress,
    );
    let outcome = written.and_then(|file| {
        let _ = fchmod(file.as_fd(), mode_of(&job.node));
        let (a, m) = times(job.node.mtime_ns);
        let _ = futimens(file.as_fd(), &a, &m);
        renameat(dirfd, tmp.as_str(), dirfd, job.node.name.as_str()).map_err(|e| io(&job.path(), e))
    });
    if outcome.is_err() {
        let _ = unlinkat(dirfd, tmp.as_str(), UnlinkatFlags::NoRemoveDir);
    }
    outcome
}

/// Writes the file's verified content into `file`; returns it synced.
fn fill(
    repo: &Repository,
    job: &FileJob,
    file: std::fs::File,
    tmp_path: &Path,
    done: &AtomicU64,
    total: u64,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<std::fs::File> {
    let mut f = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut written = 0u64;
    for c in &job.node.content {
        let id = parse_id(c).ok_or_else(|| BackupError::corrupt(c, "bad blob id in a tree"))?;
        let data = repo.read_blob(&id).map_err(|e| match e {
            BackupError::Corrupt { object, detail } => {
                BackupError::corrupt(format!("{} ({object})", job.path().display()), detail)
            }
            other => other,
        })?;
        f.write_all(&data)
            .map_err(|e| BackupError::io(tmp_path, e))?;
        written += data.len() as u64;
        let d = done.fetch_add(data.len() as u64, Ordering::Relaxed) + data.len() as u64;
        progress(d, total);
    }
    let file = f
        .into_inner()
        .map_err(|e| BackupError::io(tmp_path, e.into_error()))?;
    file.sync_all().map_err(|e| BackupError::io(tmp_path, e))?;
    if written != job.node.size {
        return Err(BackupError::corrupt(
            job.path().display().to_string(),
            format!(
                "restored {written} bytes, the snapshot says {}",
                job.node.size
            ),
        ));
    }
    Ok(file)
}
