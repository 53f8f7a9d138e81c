//! Backup repository objects. A small real repository (two files, one snapshot) is made once;
//! each input replaces one of its objects — config, key file, index, snapshot, a tree blob or a
//! whole pack — and the repository is then opened, listed, restored and checked with
//! `--read-data`, the paths a `chainops backup` job takes over a damaged or hostile
//! repository. Inputs are sealed with the repository key where the object is sealed, so they
//! reach the decoders behind authentication (a writer with the key, or another version).

use crate::Target;
use chainops_backup::archive::{CreateOptions, create};
use chainops_backup::backend::{Backend, LocalDir};
use chainops_backup::chunk::RAW;
use chainops_backup::crypto::{Kind, id_hex};
use chainops_backup::pack::{BlobKind, PackBuilder, Packer};
use chainops_backup::repo::Repository;
use chainops_backup::tree::CaptureMode;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

pub const CONFIG: Target = Target {
    name: "backup-config",
    about: "the repository config object (sealed JSON)",
    seeds: || seed_of(|r| r.config.clone()),
    run: |d| with_object(d, Obj::Config),
};

pub const KEYFILE: Target = Target {
    name: "backup-keyfile",
    about: "key files (plain JSON: KDF cost, salt, wrapped key)",
    seeds: || seed_of(|r| r.keyfile.clone()),
    run: |d| with_object(d, Obj::KeyFile),
};

pub const INDEX: Target = Target {
    name: "backup-index",
    about: "index files (sealed JSON: packs and their blobs)",
    seeds: || seed_of(|r| r.index.clone()),
    run: |d| with_object(d, Obj::Index),
};

pub const SNAPSHOT: Target = Target {
    name: "backup-snapshot",
    about: "snapshot objects (sealed JSON)",
    seeds: || seed_of(|r| r.snapshot.clone()),
    run: |d| with_object(d, Obj::Snapshot),
};

pub const TREE: Target = Target {
    name: "backup-tree",
    about: "tree blobs (file names, kinds, sizes, content ids) in a pack of their own",
    seeds: || seed_of(|r| r.tree.clone()),
    run: |d| with_object(d, Obj::Tree),
};

pub const PACK: Target = Target {
    name: "backup-pack",
    about: "whole pack files (sealed blobs, sealed header, header length)",
    seeds: || seed_of(|r| r.pack.clone()),
    run: |d| with_object(d, Obj::Pack),
};

const PASSWORD: &str = "fuzz";

#[derive(Clone, Copy)]
enum Obj {
    Config,
    KeyFile,
    Index,
    Snapshot,
    Tree,
    Pack,
}

/// The repository and the plaintext of each object, as seeds.
struct Rig {
    _dir: tempfile::TempDir,
    repo_dir: PathBuf,
    restore_dir: PathBuf,
    /// Object name → original bytes, put back after every input.
    originals: Vec<(String, Vec<u8>)>,
    key_name: String,
    index_name: String,
    snapshot_name: String,
    pack_name: String,
    config: Vec<u8>,
    keyfile: Vec<u8>,
    index: Vec<u8>,
    snapshot: Vec<u8>,
    tree: Vec<u8>,
    pack: Vec<u8>,
    lock: Mutex<()>,
    /// Ids of this run's repository (random keys give random ids), in order of first
    /// appearance; seeds carry `#NN#` in their place so kept crashers replay on any run.
    ids: Vec<String>,
}

/// Every 64-digit hex run in `text`, in order of first appearance.
fn hex_ids(text: &[u8], ids: &mut Vec<String>) {
    let mut i = 0;
    while i < text.len() {
        let run = text[i..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        if run == 64 {
            let id = String::from_utf8_lossy(&text[i..i + 64]).into_owned();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        i += run.max(1);
    }
}

impl Rig {
    fn placeholders(&self, data: &[u8]) -> Vec<u8> {
        let mut s = String::from_utf8_lossy(data).into_owned();
        for (i, id) in self.ids.iter().enumerate() {
            s = s.replace(id.as_str(), &format!("#{i:02}#"));
        }
        s.into_bytes()
    }

    fn with_ids(&self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len());
        let mut i = 0;
        while i < data.len() {
            if data[i] == b'#'
                && let Some(n) = data
                    .get(i + 1..i + 3)
                    .and_then(|d| std::str::from_utf8(d).ok())
                    .and_then(|d| d.parse::<usize>().ok())
                && data.get(i + 3) == Some(&b'#')
                && let Some(id) = self.ids.get(n)
            {
                out.extend_from_slice(id.as_bytes());
                i += 4;
            } else {
                out.push(data[i]);
                i += 1;
            }
        }
        out
    }
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    panic!("fuzz rig: {what}: {e}")
}

fn rig() -> &'static Rig {
    static R: OnceLock<Rig> = OnceLock::new();
    R.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap_or_else(|e| fail("temp dir", e));
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("chaindata")).unwrap_or_else(|e| fail("src", e));
        std::fs::write(
            src.join("chaindata/000001.log"),
            b"block 1 hash 0xabc\n".repeat(50),
        )
        .unwrap_or_else(|e| fail("src", e));
        std::fs::write(src.join("nodekey"), b"x").unwrap_or_else(|e| fail("src", e));
        let repo_dir = dir.path().join("repo");
        let backend: Arc<dyn Backend> = Arc::new(LocalDir::new(&repo_dir));
        let mut repo = Repository::init(backend.clone(), PASSWORD, Some((8, 1, 1)))
            .unwrap_or_else(|e| fail("init", e));
        let opts = CreateOptions {
            sources: vec![src],
            tags: Vec::new(),
            host: Some("fuzz".into()),
            parent: None,
            force: false,
            mode: CaptureMode::Live,
            node: None,
            threads: Some(1),
        };
        create(&mut repo, &opts, &|_, _| {}).unwrap_or_else(|e| fail("create", e));
        let list = |p: &str| backend.list(p).unwrap_or_else(|e| fail("list", e));
        let first = |p: &str| {
            list(p)
                .into_iter()
                .next()
                .unwrap_or_else(|| fail(p, "empty"))
        };
        let read = |n: &str| backend.read(n).unwrap_or_else(|e| fail("read", e));
        let key = repo.key().clone();
        let open = |kind: Kind, n: &str| key.open(kind, &read(n), n).unwrap_or_else(|e| fail(n, e));
        let (key_name, index_name, snapshot_name) =
            (first("keys/"), first("index/"), first("snapshots/"));
        let pack_name = first("data/");
        let (_, snap) = repo
            .snapshot("latest")
            .unwrap_or_else(|e| fail("snapshot", e));
        let tree = serde_json::to_vec(
            &repo
                .read_tree(&snap.tree)
                .unwrap_or_else(|e| fail("tree", e)),
        )
        .unwrap_or_default();
        let index_plain = open(Kind::Index, &index_name);
        let snapshot_plain = open(Kind::Snapshot, &snapshot_name);
        let mut originals = Vec::new();
        for n in ["config".to_string()]
            .into_iter()
            .chain(list("keys/"))
            .chain(list("index/"))
            .chain(list("snapshots/"))
            .chain(list("data/"))
        {
            originals.push((n.clone(), read(&n)));
        }
        let mut ids = Vec::new();
        for text in [&index_plain, &snapshot_plain, &tree] {
            hex_ids(text, &mut ids);
        }
        Rig {
            ids,
            restore_dir: dir.path().join("restore"),
            config: open(Kind::Config, "config"),
            keyfile: read(&key_name),
            index: index_plain,
            snapshot: snapshot_plain,
            pack: read(&pack_name),
            tree,
            originals,
            key_name,
            index_name,
            snapshot_name,
            pack_name,
            repo_dir,
            _dir: dir,
            lock: Mutex::new(()),
        }
    })
}

fn seed_of(f: fn(&Rig) -> Vec<u8>) -> Vec<Vec<u8>> {
    let r = rig();
    vec![r.placeholders(&f(r))]
}

fn with_object(data: &[u8], obj: Obj) {
    let r = rig();
    let data = &r.with_ids(data)[..];
    let _guard = r.lock.lock().unwrap_or_else(|p| p.into_inner());
    let backend: Arc<dyn Backend> = Arc::new(LocalDir::new(&r.repo_dir));
    // The key is the same every run: open once with the original objects.
    let Ok(repo) = Repository::open(backend.clone(), PASSWORD) else {
        fail("open", "the original repository no longer opens");
    };
    let key = repo.key().clone();
    let mut extra: Vec<String> = Vec::new();
    let written = match obj {
        Obj::Config => backend.write("config", &key.seal(Kind::Config, data)),
        Obj::KeyFile => backend.write(&r.key_name, data),
        Obj::Index => backend.write(&r.index_name, &key.seal(Kind::Index, data)),
        Obj::Snapshot => backend.write(&r.snapshot_name, &key.seal(Kind::Snapshot, data)),
        Obj::Pack => backend.write(&r.pack_name, data),
        Obj::Tree => {
            // A new pack holding the input as a tree blob, its index, and a snapshot of it.
            let packer = Packer::new(key.clone(), backend.clone());
            let id = key.id_of(data);
            let mut b = PackBuilder::new(&packer);
            let mut snap =
                serde_json::from_slice::<serde_json::Value>(&r.snapshot).unwrap_or_default();
            snap["tree"] = serde_json::Value::String(id_hex(&id));
            snap["time_ms"] = serde_json::json!(i64::MAX / 2);
            let before = backend.list("").unwrap_or_default();
            let res = b
                .add(BlobKind::Tree, &id, RAW, data, data.len() as u64)
                .and_then(|()| b.finish())
                .and_then(|()| packer.flush())
                .and_then(|()| {
                    let mut repo = Repository::open(backend.clone(), PASSWORD)?;
                    repo.write_index(&packer.records())?;
                    repo.save_snapshot(
                        &serde_json::from_value(snap)
                            .map_err(|e| chainops_backup::BackupError::Input(e.to_string()))?,
                    )
                })
                .map(|_| ());
            extra = backend
                .list("")
                .unwrap_or_default()
                .into_iter()
                .filter(|n| !before.contains(n))
                .collect();
            res
        }
    };
    if written.is_ok()
        && let Ok(repo) = Repository::open(backend.clone(), PASSWORD)
    {
        let _ = repo.snapshots();
        let _ = std::fs::remove_dir_all(&r.restore_dir);
        let _ = chainops_backup::restore::restore(&repo, "latest", &r.restore_dir, &[], &|_, _| {});
        let _ = chainops_backup::check::check(&repo, Some(1.0), &|_, _| {});
    }
    for n in extra {
        let _ = backend.delete(&n);
    }
    for (n, bytes) in &r.originals {
        if let Err(e) = backend.write(n, bytes) {
            fail("put back", e);
        }
    }
}
