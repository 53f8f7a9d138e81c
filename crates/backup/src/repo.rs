//! A repository: config, keys, the in-memory index, snapshots and blob reads.

use crate::backend::Backend;
use crate::chunk::ChunkParams;
use crate::crypto::{DEFAULT_COST, Id, KeyFile, Kind, MasterKey, id_hex, parse_id};
use crate::pack::{BlobEntry, BlobKind, PackRecord, open_blob, pack_key};
use crate::tree::{Snapshot, Tree};
use crate::{BackupError, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// Repository format version.
pub const FORMAT_VERSION: u32 = 1;

/// The sealed `config` object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RepoConfig {
    /// Format version.
    pub version: u32,
    /// Random repository id.
    pub id: String,
    /// Chunker parameters (fixed for the repository's life: changing them loses dedup).
    pub chunker: ChunkParams,
    /// Creation time.
    pub created_ms: i64,
}

/// Where a blob is.
#[derive(Debug, Clone)]
pub struct Location {
    /// Pack id.
    pub pack: Arc<str>,
    /// Entry.
    pub entry: BlobEntry,
}

/// An open repository.
pub struct Repository {
    backend: Arc<dyn Backend>,
    key: MasterKey,
    key_name: String,
    /// Config.
    pub config: RepoConfig,
    index: HashMap<Id, Location>,
}

/// A listed key file.
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    /// Key file name.
    pub id: String,
    /// Created.
    pub created_ms: i64,
    /// Host.
    pub host: String,
    /// True for the key that opened this session.
    pub current: bool,
}

/// This machine's name as recorded in snapshots, keys and locks.
pub fn this_host() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

fn json<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

impl Repository {
    /// Creates a repository.
    pub fn init(
        backend: Arc<dyn Backend>,
        password: &str,
        cost: Option<(u32, u32, u32)>,
    ) -> Result<Self> {
        if backend.exists("config")? {
            return Err(BackupError::AlreadyExists(backend.location()));
        }
        let key = MasterKey::generate();
        let kf = KeyFile::wrap(&key, password, cost.unwrap_or(DEFAULT_COST), &this_host())?;
        let key_name = id_hex(&rand::random());
        backend.write(&format!("keys/{key_name}"), &json(&kf))?;
        let config = RepoConfig {
            version: FORMAT_VERSION,
            id: id_hex(&rand::random()),
            chunker: ChunkParams::default(),
            created_ms: chainops_core::time::now_ms(),
        };
        backend.write("config", &key.seal(Kind::Config, &json(&config)))?;
        Ok(Self {
            backend,
            key,
            key_name,
            config,
            index: HashMap::new(),
        })
    }

    /// Opens a repository with a password and loads its index.
    pub fn open(backend: Arc<dyn Backend>, password: &str) -> Result<Self> {
        if !backend.exists("config")? {
            return Err(BackupError::NotARepository(backend.location()));
        }
        let mut opened = None;
        for name in backend.list("keys/")? {
            let Ok(kf) = serde_json::from_slice::<KeyFile>(&backend.read(&name)?) else {
                tracing::warn!(key = %name, "unreadable key file skipped");
                continue;
            };
            if let Some(k) = kf.unwrap(password) {
                opened = Some((k, name.trim_start_matches("keys/").to_string()));
                break;
            }
        }
        let (key, key_name) = opened.ok_or(BackupError::WrongPassword)?;
        let config: RepoConfig =
            serde_json::from_slice(&key.open(Kind::Config, &backend.read("config")?, "config")?)
                .map_err(|e| BackupError::corrupt("config", e.to_string()))?;
        if config.version != FORMAT_VERSION {
            return Err(BackupError::Input(format!(
                "repository format {} is not supported by this chainops (format {FORMAT_VERSION})",
                config.version
            )));
        }
        let mut repo = Self {
            backend,
            key,
            key_name,
            config,
            index: HashMap::new(),
        };
        repo.load_index()?;
        Ok(repo)
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// The master key.
    pub fn key(&self) -> &MasterKey {
        &self.key
    }

    /// Reloads every index file.
    pub fn load_index(&mut self) -> Result<()> {
        self.index.clear();
        for name in self.backend.list("index/")? {
            for pack in self.read_index_file(&name)? {
                let pack_id: Arc<str> = Arc::from(pack.id.as_str());
                for entry in pack.blobs {
                    if let Some(id) = parse_id(&entry.id) {
                        self.index.insert(
                            id,
                            Location {
                                pack: pack_id.clone(),
                                entry,
                            },
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// The packs an index file lists.
    pub fn read_index_file(&self, name: &str) -> Result<Vec<PackRecord>> {
        let plain = self
            .key
            .open(Kind::Index, &self.backend.read(name)?, name)?;
        serde_json::from_slice(&plain).map_err(|e| BackupError::corrupt(name, e.to_string()))
    }

    /// Writes an index file for new packs (after the packs themselves).
    pub fn write_index(&mut self, packs: &[PackRecord]) -> Result<()> {
        if packs.is_empty() {
            return Ok(());
        }
        let name = format!("index/{}", id_hex(&rand::random()));
        self.backend
            .write(&name, &self.key.seal(Kind::Index, &json(&packs)))?;
        for pack in packs {
            let pack_id: Arc<str> = Arc::from(pack.id.as_str());
            for entry in &pack.blobs {
                if let Some(id) = parse_id(&entry.id) {
                    self.index.insert(
                        id,
                        Location {
                            pack: pack_id.clone(),
                            entry: entry.clone(),
                        },
                    );
                }
            }
        }
        Ok(())
    }

    /// Ids of every indexed blob.
    pub fn known_blobs(&self) -> impl Iterator<Item = &Id> {
        self.index.keys()
    }

    /// Where a blob is.
    pub fn locate(&self, id: &Id) -> Option<&Location> {
        self.index.get(id)
    }

    /// Reads, authenticates, decodes and id-checks a blob.
    pub fn read_blob(&self, id: &Id) -> Result<Vec<u8>> {
        let loc = self
            .index
            .get(id)
            .ok_or_else(|| BackupError::NotFound(format!("blob {}", id_hex(id))))?;
        let sealed =
            self.backend
                .read_range(&pack_key(&loc.pack), loc.entry.offset, loc.entry.len)?;
        open_blob(&self.key, &loc.entry, &sealed, &loc.pack)
    }

    /// Reads a tree blob.
    pub fn read_tree(&self, id: &str) -> Result<Tree> {
        let parsed = parse_id(id).ok_or_else(|| BackupError::corrupt(id, "bad tree id"))?;
        let loc = self.index.get(&parsed);
        if let Some(l) = loc
            && l.entry.kind != BlobKind::Tree
        {
            return Err(BackupError::corrupt(id, "not a tree blob"));
        }
        let plain = self.read_blob(&parsed)?;
        serde_json::from_slice(&plain)
            .map_err(|e| BackupError::corrupt(format!("tree {id}"), e.to_string()))
    }

    /// Stores a snapshot; returns its id.
    pub fn save_snapshot(&self, s: &Snapshot) -> Result<String> {
        let plain = json(s);
        let id = id_hex(&self.key.id_of(&plain));
        self.backend.write(
            &format!("snapshots/{id}"),
            &self.key.seal(Kind::Snapshot, &plain),
        )?;
        Ok(id)
    }

    /// Every snapshot, oldest first.
    pub fn snapshots(&self) -> Result<Vec<(String, Snapshot)>> {
        let mut out = Vec::new();
        for name in self.backend.list("snapshots/")? {
            let plain = self
                .key
                .open(Kind::Snapshot, &self.backend.read(&name)?, &name)?;
            let s: Snapshot = serde_json::from_slice(&plain)
                .map_err(|e| BackupError::corrupt(&name, e.to_string()))?;
            out.push((name.trim_start_matches("snapshots/").to_string(), s));
        }
        out.sort_by_key(|(_, s)| s.time_ms);
        Ok(out)
    }

    /// A snapshot by id or unique id prefix (`latest` for the newest).
    pub fn snapshot(&self, id: &str) -> Result<(String, Snapshot)> {
        let all = self.snapshots()?;
        if id == "latest" {
            return all.into_iter().next_back().ok_or_else(|| {
                BackupError::NotFound("latest snapshot (the repository is empty)".into())
            });
        }
        let mut hits: Vec<_> = all
            .into_iter()
            .filter(|(sid, _)| sid.starts_with(id))
            .collect();
        match hits.len() {
            0 => Err(BackupError::NotFound(format!("snapshot {id}"))),
            1 => Ok(hits.remove(0)),
            n => Err(BackupError::Input(format!(
                "snapshot prefix {id} matches {n} snapshots; give more digits"
            ))),
        }
    }

    /// Records a restore drill result (any JSON); returns its object name.
    pub fn save_drill(&self, result: &serde_json::Value) -> Result<String> {
        let name = format!(
            "drills/{}-{}",
            chainops_core::time::now_ms(),
            id_hex(&rand::random())
        );
        self.backend
            .write(&name, &self.key.seal(Kind::Drill, &json(result)))?;
        Ok(name)
    }

    /// Recorded drill results, oldest first.
    pub fn drills(&self) -> Result<Vec<serde_json::Value>> {
        let mut out = Vec::new();
        for name in self.backend.list("drills/")? {
            let plain = self
                .key
                .open(Kind::Drill, &self.backend.read(&name)?, &name)?;
            out.push(
                serde_json::from_slice(&plain)
                    .map_err(|e| BackupError::corrupt(&name, e.to_string()))?,
            );
        }
        Ok(out)
    }

    /// Key files.
    pub fn keys(&self) -> Result<Vec<KeyInfo>> {
        let mut out = Vec::new();
        for name in self.backend.list("keys/")? {
            let kf: KeyFile = serde_json::from_slice(&self.backend.read(&name)?)
                .map_err(|e| BackupError::corrupt(&name, e.to_string()))?;
            let id = name.trim_start_matches("keys/").to_string();
            out.push(KeyInfo {
                current: id == self.key_name,
                id,
                created_ms: kf.created_ms,
                host: kf.host,
            });
        }
        Ok(out)
    }

    /// Adds a key file for another password; returns its id.
    pub fn add_key(&self, password: &str, cost: Option<(u32, u32, u32)>) -> Result<String> {
        let kf = KeyFile::wrap(
            &self.key,
            password,
            cost.unwrap_or(DEFAULT_COST),
            &this_host(),
        )?;
        let name = id_hex(&rand::random());
        self.backend.write(&format!("keys/{name}"), &json(&kf))?;
        Ok(name)
    }

    /// Removes a key file (not the one in use, never the last).
    pub fn remove_key(&self, id: &str) -> Result<()> {
        let keys = self.keys()?;
        let hits: Vec<&KeyInfo> = keys.iter().filter(|k| k.id.starts_with(id)).collect();
        let k = match hits.as_slice() {
            [one] => *one,
            [] => return Err(BackupError::NotFound(format!("key {id}"))),
            _ => return Err(BackupError::Input(format!("key prefix {id} is ambiguous"))),
        };
        if k.current {
            return Err(BackupError::Input(
                "this is the key you opened the repository with; open with another password to remove it".into(),
            ));
        }
        self.backend.delete(&format!("keys/{}", k.id))
    }

    /// Replaces the current key's password.
    pub fn change_password(
        &mut self,
        new_password: &str,
        cost: Option<(u32, u32, u32)>,
    ) -> Result<String> {
        let new = self.add_key(new_password, cost)?;
        let old = std::mem::replace(&mut self.key_name, new.clone());
        self.backend.delete(&format!("keys/{old}"))?;
        Ok(new)
    }
}
