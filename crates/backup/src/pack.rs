//! Pack files: sealed blobs back to back, then a sealed header listing them, then the
//! header's length (u32 LE). Packs are named by the BLAKE3 of their sealed header and written
//! atomically, so a crash leaves whole packs or none.

use crate::backend::Backend;
use crate::crypto::{Id, Kind, MasterKey, id_hex, parse_id};
use crate::{BackupError, Result};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};

/// Target pack size.
pub const PACK_TARGET: usize = 8 * 1024 * 1024;

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

/// Full packs wait here for the writer thread (one waiting, one being written).
const WRITE_QUEUE: usize = 1;

/// Collects sealed blobs into packs; safe to share between worker threads. Full packs are
/// written (with fsync) by a writer thread so chunking never waits for the disk.
pub struct Packer {
    key: MasterKey,
    current: Mutex<Buffer>,
    queue: Mutex<Option<std::sync::mpsc::SyncSender<Buffer>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    shared: Arc<Written>,
}

#[derive(Default)]
struct Written {
    records: Mutex<Vec<PackRecord>>,
    error: Mutex<Option<BackupError>>,
    bytes: std::sync::atomic::AtomicU64,
}

impl Packer {
    /// A packer writing to `backend`.
    pub fn new(key: MasterKey, backend: Arc<dyn Backend>) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Buffer>(WRITE_QUEUE);
        let shared = Arc::new(Written::default());
        let w = shared.clone();
        let k = key.clone();
        let writer = std::thread::spawn(move || {
            for buf in rx {
                if w.error.lock().map(|e| e.is_some()).unwrap_or(true) {
                    continue;
                }
                match write_pack(&k, backend.as_ref(), buf) {
                    Ok((record, n)) => {
                        w.bytes.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                        w.records
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(record);
                    }
                    Err(e) => {
                        *w.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                    }
                }
            }
        });
        Self {
            key,
            current: Mutex::new(Buffer::default()),
            queue: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            shared,
        }
    }

    fn failed(&self) -> Result<()> {
        match self
            .shared
            .error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn send(&self, buf: Buffer) -> Result<()> {
        let tx = self.queue.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match tx {
            Some(tx) => tx
                .send(buf)
                .map_err(|_| BackupError::Input("the pack writer stopped".into())),
            None => Err(BackupError::Input("the packer is already finished".into())),
        }
    }

    /// Adds an already sealed blob (prune copies blobs between packs without opening them).
    pub fn add_sealed(&self, kind: BlobKind, id: &str, sealed: &[u8], raw_len: u64) -> Result<()> {
        let full = {
            let mut cur = self.current.lock().unwrap_or_else(|p| p.into_inner());
            let offset = cur.data.len() as u64;
            if cur.data.capacity() == 0 {
                cur.data.reserve(PACK_TARGET + PACK_TARGET / 8);
            }
            cur.data.extend_from_slice(sealed);
            cur.blobs.push(BlobEntry {
                id: id.to_string(),
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
            self.send(buf)?;
        }
        Ok(())
    }

    /// Writes the partial pack and waits until every pack is on disk.
    pub fn flush(&self) -> Result<()> {
        let buf = std::mem::take(&mut *self.current.lock().unwrap_or_else(|p| p.into_inner()));
        if !buf.blobs.is_empty() {
            self.send(buf)?;
        }
        drop(self.queue.lock().unwrap_or_else(|p| p.into_inner()).take());
        if let Some(h) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = h.join();
        }
        self.failed()
    }

    /// Packs written so far.
    pub fn records(&self) -> Vec<PackRecord> {
        self.shared
            .records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Bytes written to the backend.
    pub fn bytes_written(&self) -> u64 {
        self.shared.bytes.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Drop for Packer {
    fn drop(&mut self) {
        drop(self.queue.lock().unwrap_or_else(|p| p.into_inner()).take());
        if let Some(h) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = h.join();
        }
    }
}

/// A pack under construction owned by one worker thread: blobs are sealed straight into it
/// (no lock, no intermediate copies) and full packs go to the shared writer.
pub struct PackBuilder<'a> {
    packer: &'a Packer,
    buf: Buffer,
}

impl<'a> PackBuilder<'a> {
    /// A builder feeding `packer`.
    pub fn new(packer: &'a Packer) -> Self {
        Self {
            packer,
            buf: Buffer::default(),
        }
    }

    /// Seals `marker || data` as blob `id` into the pack.
    pub fn add(
        &mut self,
        kind: BlobKind,
        id: &Id,
        marker: u8,
        data: &[u8],
        raw_len: u64,
    ) -> Result<()> {
        self.packer.failed()?;
        if self.buf.data.capacity() == 0 {
            // A pack closes after the blob that crosses the target: room for one max chunk.
            self.buf.data.reserve(PACK_TARGET + 5 * 1024 * 1024);
        }
        let offset = self.buf.data.len() as u64;
        self.packer
            .key
            .seal_into(kind.seal_kind(), marker, data, &mut self.buf.data);
        self.buf.blobs.push(BlobEntry {
            id: id_hex(id),
            kind,
            offset,
            len: self.buf.data.len() as u64 - offset,
            raw_len,
        });
        if self.buf.data.len() >= PACK_TARGET {
            self.packer.send(std::mem::take(&mut self.buf))?;
        }
        Ok(())
    }

    /// Hands the partial pack to the writer.
    pub fn finish(mut self) -> Result<()> {
        let buf = std::mem::take(&mut self.buf);
        if buf.blobs.is_empty() {
            return Ok(());
        }
        self.packer.send(buf)
    }
}

/// Seals the header, names the pack by the BLAKE3 of its sealed header (which lists every
/// blob's id, place and length; each blob is authenticated on its own), writes it.
fn write_pack(
    key: &MasterKey,
    backend: &dyn Backend,
    mut buf: Buffer,
) -> Result<(PackRecord, u64)> {
    let header = serde_json::to_vec(&buf.blobs)
        .map_err(|e| BackupError::Input(format!("pack header: {e}")))?;
    let sealed = key.seal(Kind::PackHeader, &header);
    let id = blake3::hash(&sealed).to_hex().to_string();
    buf.data.extend_from_slice(&sealed);
    buf.data
        .extend_from_slice(&(sealed.len() as u32).to_le_bytes());
    backend.write(&pack_key(&id), &buf.data)?;
    Ok((
        PackRecord {
            id,
            blobs: buf.blobs,
        },
        buf.data.len() as u64,
    ))
}

/// True when a pack's sealed header hashes to its name.
pub fn name_matches(bytes: &[u8], id: &str) -> bool {
    sealed_header(bytes).is_some_and(|h| blake3::hash(h).to_hex().as_str() == id)
}

fn sealed_header(bytes: &[u8]) -> Option<&[u8]> {
    let (body, len) = bytes.split_at(bytes.len().checked_sub(4)?);
    let hlen = u32::from_le_bytes(len.try_into().ok()?) as usize;
    body.get(body.len().checked_sub(hlen)?..)
}

/// Parses a pack's header (without checking the name; see [`name_matches`]).
pub fn read_header(key: &MasterKey, bytes: &[u8], id: &str) -> Result<Vec<BlobEntry>> {
    let name = pack_key(id);
    let sealed = sealed_header(bytes)
        .ok_or_else(|| BackupError::corrupt(&name, "no header (truncated?)"))?;
    let plain = key.open(Kind::PackHeader, sealed, &name)?;
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
