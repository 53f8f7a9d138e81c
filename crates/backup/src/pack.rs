//! Pack files: sealed blobs back to back, then a sealed header listing them, then the
//! header's length (u32 LE). Packs are named by the BLAKE3 of their bytes and written
//! atomically, so a crash leaves whole packs or none.

use crate::backend::Backend;
use crate::crypto::{Id, Kind, MasterKey, id_hex, parse_id};
use crate::{BackupError, Result};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};

/// Target pack size.
pub const PACK_TARGET: usize = 16 * 1024 * 1024;

/// Blob type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobKind {
    /// File content.
    Data,
    /// Directory listing.
    Tree,
}

impl BlobKind {
    /// The sealing kind.
    pub fn seal_kind(self) -> Kind {
        match self {
            Self::Data => Kind::Data,
            Self::Tree => Kind::Tree,
        }
    }
}

/// Where a blob sits in its pack.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlobEntry {
    /// Blob id (hex).
    pub id: String,
    /// Type.
    pub kind: BlobKind,
    /// Offset in the pack.
    pub offset: u64,
    /// Sealed length.
    pub len: u64,
    /// Plaintext length.
    pub raw_len: u64,
}

/// A written pack and its blobs (what an index file records).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackRecord {
    /// Pack name (hex BLAKE3 of its bytes).
    pub id: String,
    /// Blobs in it.
    pub blobs: Vec<BlobEntry>,
}

/// Object name of a pack.
pub fn pack_key(id: &str) -> String {
    format!("data/{}/{id}", id.get(..2).unwrap_or("00"))
}

#[derive(Default)]
struct Buffer {
    data: Vec<u8>,
    blobs: Vec<BlobEntry>,
}

/// Collects sealed blobs into packs; safe to share between worker threads.
pub struct Packer {
    key: MasterKey,
    backend: Arc<dyn Backend>,
    current: Mutex<Buffer>,
    written: Mutex<Vec<PackRecord>>,
    bytes_written: std::sync::atomic::AtomicU64,
}

impl Packer {
    /// A packer writing to `backend`.
    pub fn new(key: MasterKey, backend: Arc<dyn Backend>) -> Self {
        Self {
            key,
            backend,
            current: Mutex::new(Buffer::default()),
            written: Mutex::new(Vec::new()),
            bytes_written: 0.into(),
        }
    }

    /// Adds a blob (already encoded, not yet sealed); writes a pack when one is full.
    pub fn add(&self, kind: BlobKind, id: &Id, encoded: &[u8], raw_len: u64) -> Result<()> {
        let sealed = self.key.seal(kind.seal_kind(), encoded);
        let full = {
            let mut cur = self.current.lock().unwrap_or_else(|p| p.into_inner());
            let offset = cur.data.len() as u64;
            cur.data.extend_from_slice(&sealed);
            cur.blobs.push(BlobEntry {
                id: id_hex(id),
                kind,
                offset,
                len: sealed.len() as u64,
                raw_len,
            });
            if cur.data.len() >= PACK_TARGET {
                Some(std::mem::take(&mut *cur))
            } else {
                None
            }
        };
        if let Some(buf) = full {
            self.write(buf)?;
        }
        Ok(())
    }

    /// Writes the partial pack, if any.
    pub fn flush(&self) -> Result<()> {
        let buf = std::mem::take(&mut *self.current.lock().unwrap_or_else(|p| p.into_inner()));
        if !buf.blobs.is_empty() {
            self.write(buf)?;
        }
        Ok(())
    }

    /// Packs written so far.
    pub fn records(&self) -> Vec<PackRecord> {
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Bytes written to the backend.
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn write(&self, mut buf: Buffer) -> Result<()> {
        let header = serde_json::to_vec(&buf.blobs)
            .map_err(|e| BackupError::Input(format!("pack header: {e}")))?;
        let sealed = self.key.seal(Kind::PackHeader, &header);
        buf.data.extend_from_slice(&sealed);
        buf.data
            .extend_from_slice(&(sealed.len() as u32).to_le_bytes());
        let id = blake3::hash(&buf.data).to_hex().to_string();
        self.backend.write(&pack_key(&id), &buf.data)?;
        self.bytes_written
            .fetch_add(buf.data.len() as u64, std::sync::atomic::Ordering::Relaxed);
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(PackRecord {
                id,
                blobs: buf.blobs,
            });
        Ok(())
    }
}

/// True when a pack's bytes hash to its name.
pub fn name_matches(bytes: &[u8], id: &str) -> bool {
    blake3::hash(bytes).to_hex().as_str() == id
}

/// Parses a pack's header (without checking the name; see [`name_matches`]).
pub fn read_header(key: &MasterKey, bytes: &[u8], id: &str) -> Result<Vec<BlobEntry>> {
    let name = pack_key(id);
    if bytes.len() < 4 {
        return Err(BackupError::corrupt(&name, "too short"));
    }
    let (body, len) = bytes.split_at(bytes.len() - 4);
    let hlen = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
    if hlen > body.len() {
        return Err(BackupError::corrupt(&name, "header length out of range"));
    }
    let plain = key.open(Kind::PackHeader, &body[body.len() - hlen..], &name)?;
    serde_json::from_slice(&plain).map_err(|e| BackupError::corrupt(&name, format!("header: {e}")))
}

/// Opens one blob's sealed bytes, decodes it and checks its id.
pub fn open_blob(key: &MasterKey, entry: &BlobEntry, sealed: &[u8], pack: &str) -> Result<Vec<u8>> {
    let name = format!("blob {} in pack {pack}", entry.id);
    let encoded = key.open(entry.kind.seal_kind(), sealed, &name)?;
    let plain = crate::chunk::decode(&encoded, entry.raw_len as usize, &name)?;
    let want = parse_id(&entry.id).ok_or_else(|| BackupError::corrupt(&name, "bad id"))?;
    if key.id_of(&plain) != want {
        return Err(BackupError::corrupt(&name, "content does not match its id"));
    }
    Ok(plain)
}
