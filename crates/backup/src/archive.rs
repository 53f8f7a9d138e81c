//! `create`: walk the sources, reuse unchanged files from the parent snapshot, chunk and
//! store the rest on all cores, then write trees, the index and finally the snapshot (the
//! commit point: a crash before it leaves only unreferenced packs, which `prune` removes).

use crate::chunk::{Compressor, chunks, encode};
use crate::crypto::{Id, id_hex, parse_id};
use crate::pack::{BlobKind, PackBuilder, Packer};
use crate::repo::{Repository, this_host};
use crate::tree::{CaptureMode, Node, NodeKind, NodeState, Snapshot, SnapshotStats, Tree};
use crate::{BackupError, Result};
use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

/// What `create` is asked to do.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    /// Source paths.
    pub sources: Vec<PathBuf>,
    /// Tags.
    pub tags: Vec<String>,
    /// Host recorded (default: this machine).
    pub host: Option<String>,
    /// Parent snapshot id; `None` picks the newest with the same host and sources.
    pub parent: Option<String>,
    /// Read every file even if unchanged.
    pub force: bool,
    /// Capture mode recorded.
    pub mode: CaptureMode,
    /// Node state recorded.
    pub node: Option<NodeState>,
    /// Worker threads (default: all cores).
    pub threads: Option<usize>,
}

/// Progress callback: (bytes done, bytes to read).
pub type ProgressFn<'a> = &'a (dyn Fn(u64, u64) + Sync);

enum Plan {
    Dir { node: Node, children: Vec<Plan> },
    File { node: Node, job: Option<usize> },
    Other(Node),
}

/// Most skipped paths listed in a snapshot's summary (the count is exact).
const SKIPPED_LISTED: usize = 100;

struct Job {
    path: PathBuf,
    size: u64,
}

struct Walker<'a> {
    repo: &'a Repository,
    /// Files may vanish (a live node compacting): skip them instead of failing.
    tolerate_vanished: bool,
    jobs: Vec<Job>,
    force: bool,
    stats: SnapshotStats,
}

fn mtime_ns(m: &std::fs::Metadata) -> i64 {
    m.mtime()
        .saturating_mul(1_000_000_000)
        .saturating_add(m.mtime_nsec())
}

fn node_of(name: String, m: &std::fs::Metadata, kind: NodeKind) -> Node {
    Node {
        name,
        kind,
        mode: m.mode() & 0o7777,
        mtime_ns: mtime_ns(m),
        size: if kind == NodeKind::File { m.len() } else { 0 },
        inode: m.ino(),
        content: Vec::new(),
        subtree: None,
        target: None,
    }
}

/// Notes a skipped path in the snapshot's summary.
fn skip(stats: &mut SnapshotStats, path: &Path, why: &str) {
    stats.skipped += 1;
    if stats.skipped_paths.len() < SKIPPED_LISTED {
        stats
            .skipped_paths
            .push(format!("{} ({why})", path.display()));
    }
}

fn vanished(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::NotFound
}

impl Walker<'_> {
    /// `Err` unless a vanished file may be skipped (then `Ok(None)`, noted).
    fn gone(&mut self, path: &Path, e: std::io::Error) -> Result<Option<Plan>> {
        if self.tolerate_vanished && vanished(&e) {
            tracing::warn!(path = %path.display(), "file vanished during the backup; skipped");
            skip(&mut self.stats, path, "vanished");
            return Ok(None);
        }
        Err(BackupError::io(path, e))
    }

    fn walk(&mut self, path: &Path, name: String, parent: Option<&Node>) -> Result<Option<Plan>> {
        let m = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) => return self.gone(path, e),
        };
        let ft = m.file_type();
        if ft.is_symlink() {
            let mut node = node_of(name, &m, NodeKind::Symlink);
            node.target = Some(
                std::fs::read_link(path)
                    .map_err(|e| BackupError::io(path, e))?
                    .to_string_lossy()
                    .to_string(),
            );
            return Ok(Some(Plan::Other(node)));
        }
        if ft.is_dir() {
            self.stats.dirs += 1;
            let node = node_of(name, &m, NodeKind::Dir);
            let parent_tree = match parent.and_then(|p| p.subtree.as_deref()) {
                Some(id) => self.repo.read_tree(id).ok(),
                None => None,
            };
            let entries = match std::fs::read_dir(path) {
                Ok(r) => r,
                Err(e) => return self.gone(path, e),
            };
            let mut names: Vec<(String, PathBuf)> = entries
                .map(|e| {
                    e.map(|e| (e.file_name().to_string_lossy().to_string(), e.path()))
                        .map_err(|err| BackupError::io(path, err))
                })
                .collect::<Result<_>>()?;
            names.sort();
            let mut children = Vec::with_capacity(names.len());
            for (n, p) in names {
                let prev = parent_tree.as_ref().and_then(|t| t.get(&n)).cloned();
                children.extend(self.walk(&p, n, prev.as_ref())?);
            }
            return Ok(Some(Plan::Dir { node, children }));
        }
        if ft.is_file() {
            self.stats.files += 1;
            self.stats.total_bytes += m.len();
            let mut node = node_of(name, &m, NodeKind::File);
            if !self.force
                && let Some(p) = parent
                && p.kind == NodeKind::File
                && p.size == node.size
                && p.mtime_ns == node.mtime_ns
                && p.inode == node.inode
                && p.content
                    .iter()
                    .all(|c| parse_id(c).is_some_and(|id| self.repo.locate(&id).is_some()))
            {
                node.content = p.content.clone();
                return Ok(Some(Plan::File { node, job: None }));
            }
            self.jobs.push(Job {
                path: path.to_path_buf(),
                size: m.len(),
            });
            return Ok(Some(Plan::File {
                node,
                job: Some(self.jobs.len() - 1),
            }));
        }
        // A FIFO, socket or device has no content to keep; restoring it as an empty regular
        // file would be a lie, so it is left out of the snapshot and listed as skipped.
        tracing::warn!(path = %path.display(), "skipping special file (socket, fifo or device)");
        skip(&mut self.stats, path, "special file");
        Ok(None)
    }
}

/// Shared state of the chunk workers.
struct Store<'a> {
    repo: &'a Repository,
    tolerate_vanished: bool,
    packer: Packer,
    known: Mutex<HashSet<Id>>,
    params: crate::chunk::ChunkParams,
    bytes_read: AtomicU64,
    chunks_added: AtomicU64,
    bytes_added: AtomicU64,
}

/// One thread's pack and compression state.
struct Worker<'p> {
    pack: PackBuilder<'p>,
    z: Compressor,
    scratch: Vec<u8>,
    window: Vec<u8>,
}

impl<'p> Worker<'p> {
    fn new(packer: &'p Packer) -> Self {
        Self {
            pack: PackBuilder::new(packer),
            z: Compressor::new(),
            scratch: Vec::new(),
            window: Vec::new(),
        }
    }
}

impl Store<'_> {
    /// Stores a blob unless known; returns its id.
    fn put(&self, w: &mut Worker<'_>, kind: BlobKind, data: &[u8]) -> Result<Id> {
        let id = self.repo.key().id_of(data);
        let new = self
            .known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id);
        if new {
            let (marker, body) = encode(data, &mut w.z, &mut w.scratch);
            w.pack.add(kind, &id, marker, body, data.len() as u64)?;
            if kind == BlobKind::Data {
                self.chunks_added.fetch_add(1, Ordering::Relaxed);
                self.bytes_added
                    .fetch_add(data.len() as u64, Ordering::Relaxed);
            }
        }
        Ok(id)
    }

    fn file(
        &self,
        w: &mut Worker<'_>,
        job: &Job,
        progress: ProgressFn<'_>,
        total: u64,
    ) -> Result<Option<Vec<String>>> {
        let f = match std::fs::File::open(&job.path) {
            Ok(f) => f,
            Err(e) if self.tolerate_vanished && vanished(&e) => return Ok(None),
            Err(e) => return Err(BackupError::io(&job.path, e)),
        };
        let mut ids = Vec::new();
        let mut read = 0u64;
        let mut window = std::mem::take(&mut w.window);
        let result = chunks(f, self.params, &job.path, &mut window, |c| {
            ids.push(id_hex(&self.put(w, BlobKind::Data, c)?));
            read += c.len() as u64;
            let done =
                self.bytes_read.fetch_add(c.len() as u64, Ordering::Relaxed) + c.len() as u64;
            progress(done, total);
            Ok(())
        });
        w.window = window;
        result?;
        if read != job.size {
            tracing::warn!(path = %job.path.display(), expected = job.size, read, "file changed while it was read");
        }
        Ok(Some(ids))
    }

    /// Stores the trees of `plan`; false when the plan's file vanished before it was read.
    fn trees(
        &self,
        w: &mut Worker<'_>,
        plan: &mut Plan,
        results: &[Mutex<Option<Vec<String>>>],
        vanished: &[std::sync::atomic::AtomicBool],
    ) -> Result<bool> {
        match plan {
            Plan::File { node, job: Some(j) } => {
                if vanished[*j].load(Ordering::Relaxed) {
                    return Ok(false);
                }
                node.content = results[*j]
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take()
                    .unwrap_or_default();
                Ok(true)
            }
            Plan::Dir { node, children } => {
                let mut tree = Tree::default();
                for c in children.iter_mut() {
                    if self.trees(w, c, results, vanished)? {
                        tree.nodes.push(plan_node(c).clone());
                    }
                }
                let data =
                    serde_json::to_vec(&tree).map_err(|e| BackupError::Input(e.to_string()))?;
                node.subtree = Some(id_hex(&self.put(w, BlobKind::Tree, &data)?));
                Ok(true)
            }
            _ => Ok(true),
        }
    }
}

fn plan_node(p: &Plan) -> &Node {
    match p {
        Plan::Dir { node, .. } | Plan::File { node, .. } | Plan::Other(node) => node,
    }
}

/// Takes a snapshot of `opts.sources`; returns its id and the snapshot.
pub fn create(
    repo: &mut Repository,
    opts: &CreateOptions,
    progress: ProgressFn<'_>,
) -> Result<(String, Snapshot)> {
    let started = Instant::now();
    if opts.sources.is_empty() {
        return Err(BackupError::Input(
            "create needs at least one SOURCE path".into(),
        ));
    }
    let mut sources = Vec::new();
    let mut names = HashSet::new();
    for s in &opts.sources {
        let abs = std::fs::canonicalize(s).map_err(|e| BackupError::io(s, e))?;
        let name = abs
            .file_name()
            .map_or_else(|| "root".to_string(), |n| n.to_string_lossy().to_string());
        if !names.insert(name.clone()) {
            return Err(BackupError::Input(format!(
                "two sources are named {name:?}; back them up in separate snapshots"
            )));
        }
        sources.push((abs, name));
    }
    let host = opts.host.clone().unwrap_or_else(this_host);
    let source_strings: Vec<String> = sources
        .iter()
        .map(|(p, _)| p.display().to_string())
        .collect();
    let parent = match &opts.parent {
        Some(id) => Some(repo.snapshot(id)?),
        None => repo
            .snapshots()?
            .into_iter()
            .rev()
            .find(|(_, s)| s.host == host && s.sources == source_strings),
    };
    let parent_root = match &parent {
        Some((_, s)) => repo.read_tree(&s.tree).ok(),
        None => None,
    };
    let mut walker = Walker {
        repo,
        // Only a live copy tolerates a vanishing file; stopped, dump and hook captures
        // promise a consistent copy, so a vanished file there is a failure.
        tolerate_vanished: opts.mode == CaptureMode::Live,
        jobs: Vec::new(),
        force: opts.force,
        stats: SnapshotStats::default(),
    };
    let mut plans = Vec::new();
    for (abs, name) in &sources {
        let prev = parent_root.as_ref().and_then(|t| t.get(name)).cloned();
        plans.extend(walker.walk(abs, name.clone(), prev.as_ref())?);
    }
    let tolerate_vanished = walker.tolerate_vanished;
    let jobs = std::mem::take(&mut walker.jobs);
    let mut stats = walker.stats;
    stats.files_read = jobs.len() as u64;
    let total: u64 = jobs.iter().map(|j| j.size).sum();

    let store = Store {
        repo,
        tolerate_vanished,
        packer: Packer::new(repo.key().clone(), repo.backend().clone()),
        known: Mutex::new(repo.known_blobs().copied().collect()),
        params: repo.config.chunker,
        bytes_read: 0.into(),
        chunks_added: 0.into(),
        bytes_added: 0.into(),
    };
    let results: Vec<Mutex<Option<Vec<String>>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    let gone: Vec<std::sync::atomic::AtomicBool> = jobs.iter().map(|_| false.into()).collect();
    // Biggest files first so the last worker does not finish alone on a huge file.
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(jobs[*i].size));
    let next = AtomicUsize::new(0);
    let threads = opts
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let failure: Mutex<Option<BackupError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut w = Worker::new(&store.packer);
                let fail = |e: BackupError| {
                    failure
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert(e);
                };
                loop {
                    if failure.lock().map(|f| f.is_some()).unwrap_or(true) {
                        return;
                    }
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&i) = order.get(k) else { break };
                    match store.file(&mut w, &jobs[i], progress, total) {
                        Ok(Some(ids)) => {
                            *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(ids);
                        }
                        Ok(None) => gone[i].store(true, Ordering::Relaxed),
                        Err(e) => return fail(e),
                    }
                }
                if let Err(e) = w.pack.finish() {
                    fail(e);
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        // Packs written so far stay unreferenced until `prune`; nothing else changed.
        store.packer.flush()?;
        return Err(e);
    }
    let mut root = Tree::default();
    let mut w = Worker::new(&store.packer);
    for p in plans.iter_mut() {
        if store.trees(&mut w, p, &results, &gone)? {
            root.nodes.push(plan_node(p).clone());
        }
    }
    for (job, g) in jobs.iter().zip(&gone) {
        if g.load(Ordering::Relaxed) {
            tracing::warn!(path = %job.path.display(), "file vanished during the backup; skipped");
            skip(&mut stats, &job.path, "vanished");
            stats.files = stats.files.saturating_sub(1);
            stats.files_read = stats.files_read.saturating_sub(1);
            stats.total_bytes = stats.total_bytes.saturating_sub(job.size);
        }
    }
    root.nodes.sort_by(|a, b| a.name.cmp(&b.name));
    let root_data = serde_json::to_vec(&root).map_err(|e| BackupError::Input(e.to_string()))?;
    let root_id = store.put(&mut w, BlobKind::Tree, &root_data)?;
    w.pack.finish()?;
    store.packer.flush()?;
    stats.bytes_read = store.bytes_read.load(Ordering::Relaxed);
    stats.chunks_added = store.chunks_added.load(Ordering::Relaxed);
    stats.bytes_added = store.bytes_added.load(Ordering::Relaxed);
    stats.bytes_stored = store.packer.bytes_written();
    let records = store.packer.records();
    drop(store);
    repo.write_index(&records)?;
    stats.duration_ms = started.elapsed().as_millis() as u64;
    let snapshot = Snapshot {
        time_ms: chainops_core::time::now_ms(),
        host,
        sources: source_strings,
        tags: opts.tags.clone(),
        tree: id_hex(&root_id),
        parent: parent.map(|(id, _)| id),
        mode: opts.mode,
        node: opts.node.clone(),
        stats,
    };
    let id = repo.save_snapshot(&snapshot)?;
    Ok((id, snapshot))
}
