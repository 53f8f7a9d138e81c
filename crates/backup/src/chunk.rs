//! Content-defined chunking (FastCDC 2020) and the compress-or-not decision.

use crate::{BackupError, Result};

/// Chunk size bounds in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChunkParams {
    /// Smallest chunk.
    pub min: u32,
    /// Target average.
    pub avg: u32,
    /// Largest chunk.
    pub max: u32,
}

impl Default for ChunkParams {
    /// 512 KiB / 1 MiB / 8 MiB: big enough that per-chunk overhead (id, index entry, AEAD tag)
    /// stays negligible on multi-GiB node data, small enough that a 2 % change re-stores little.
    fn default() -> Self {
        Self {
            min: 512 * 1024,
            avg: 1024 * 1024,
            max: 8 * 1024 * 1024,
        }
    }
}

/// Calls `f` with each chunk of `reader`.
pub fn chunks<R: std::io::Read>(
    reader: R,
    params: ChunkParams,
    path: &std::path::Path,
    mut f: impl FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let cdc = fastcdc::v2020::StreamCDC::new(reader, params.min, params.avg, params.max);
    for c in cdc {
        let c = c.map_err(|e| match e {
            fastcdc::v2020::Error::IoError(io) => BackupError::io(path, io),
            other => BackupError::io(path, std::io::Error::other(other.to_string())),
        })?;
        f(&c.data)?;
    }
    Ok(())
}

/// First byte of a stored blob's plaintext: how the rest is encoded.
pub const RAW: u8 = 0;
/// zstd-compressed.
pub const ZSTD: u8 = 1;

/// Bytes tried first: if they do not shrink by 10 %, the chunk is stored raw (compressed
/// SST blocks, snappy freezer bodies) without spending CPU on the rest.
const TRIAL: usize = 64 * 1024;

/// Encodes a chunk: `[ZSTD] + zstd level 1` when it pays, else `[RAW] + data`.
pub fn encode(data: &[u8]) -> Vec<u8> {
    let trial = &data[..data.len().min(TRIAL)];
    let pays = match zstd::bulk::compress(trial, 1) {
        Ok(c) => (c.len() as f64) < trial.len() as f64 * 0.9,
        Err(_) => false,
    };
    if pays
        && let Ok(c) = zstd::bulk::compress(data, 1)
        && c.len() + 1 < data.len() * 97 / 100
    {
        let mut out = Vec::with_capacity(c.len() + 1);
        out.push(ZSTD);
        out.extend_from_slice(&c);
        return out;
    }
    let mut out = Vec::with_capacity(data.len() + 1);
    out.push(RAW);
    out.extend_from_slice(data);
    out
}

/// Decodes what [`encode`] made; `raw_len` bounds decompression.
pub fn decode(stored: &[u8], raw_len: usize, name: &str) -> Result<Vec<u8>> {
    match stored.split_first() {
        Some((&RAW, rest)) => Ok(rest.to_vec()),
        Some((&ZSTD, rest)) => zstd::bulk::decompress(rest, raw_len)
            .map_err(|e| BackupError::corrupt(name, format!("zstd: {e}"))),
        _ => Err(BackupError::corrupt(name, "unknown blob encoding")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressible_and_random_data() {
        let text = b"block 17000000 hash 0xabc peers 12\n".repeat(5000);
        let e = encode(&text);
        assert_eq!(e[0], ZSTD);
        assert!(e.len() < text.len() / 5);
        assert_eq!(decode(&e, text.len(), "t").expect("decode"), text);
        let noise: Vec<u8> = (0..200_000).map(|_| rand::random::<u8>()).collect();
        let e = encode(&noise);
        assert_eq!(e[0], RAW);
        assert_eq!(decode(&e, noise.len(), "t").expect("decode"), noise);
        assert!(decode(&[9, 1], 1, "t").is_err());
    }

    #[test]
    fn chunking_is_content_defined() {
        let data: Vec<u8> = (0..3_000_000).map(|_| rand::random::<u8>()).collect();
        let p = ChunkParams {
            min: 16 * 1024,
            avg: 64 * 1024,
            max: 256 * 1024,
        };
        let mut a = Vec::new();
        chunks(&data[..], p, std::path::Path::new("x"), |c| {
            a.push(c.to_vec());
            Ok(())
        })
        .expect("chunks");
        assert_eq!(a.concat(), data);
        // Insert bytes at the front: most chunks after the first boundary are unchanged.
        let mut shifted = vec![7u8; 100];
        shifted.extend_from_slice(&data);
        let mut b = Vec::new();
        chunks(&shifted[..], p, std::path::Path::new("x"), |c| {
            b.push(c.to_vec());
            Ok(())
        })
        .expect("chunks");
        let same = b.iter().filter(|c| a.contains(c)).count();
        assert!(same + 3 >= a.len(), "{same} of {} chunks reused", a.len());
    }
}
