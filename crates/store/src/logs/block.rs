//! The compressed block format log rows are stored in (Loki/ClickHouse style): up to
//! [`super::BLOCK_ROWS`] rows per block, column by column, node/chain/source names once per
//! block, then zstd. A block costs one B-tree insert instead of three per row.
//!
//! Layout (before compression, after a version byte `0x01` that stays uncompressed):
//! row count, first id, first timestamp (varints); the string table (count, then
//! length-prefixed strings); per row id deltas, timestamp deltas (zig-zag), levels
//! (zig-zag), node/chain/source string indexes, message and field lengths; then all
//! messages, then all fields.

use crate::series::codec::{get_varint, put_varint, unzigzag, zigzag};
use std::collections::HashMap;
use std::ops::Range;

const VERSION: u8 = 1;
/// zstd level: 1 compresses node logs ~8× at several hundred MB/s.
const ZSTD_LEVEL: i32 = 1;
/// Largest decompressed block accepted (a guard against corrupt length fields).
const MAX_DECODED: usize = 256 << 20;

/// A row as the codec sees it (borrowed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct RowRef<'a> {
    pub id: i64,
    pub ts_ms: i64,
    pub level: i64,
    pub node: &'a str,
    pub chain: &'a str,
    pub source: &'a str,
    pub message: &'a str,
    pub fields: &'a str,
}

/// Encodes rows (ids ascending) into a compressed block.
pub(super) fn encode(rows: &[RowRef<'_>]) -> std::io::Result<Vec<u8>> {
    let mut strings: Vec<&str> = Vec::new();
    let mut index: HashMap<&str, u64> = HashMap::new();
    let mut intern = |s| {
        *index.entry(s).or_insert_with(|| {
            strings.push(s);
            strings.len() as u64 - 1
        })
    };
    let refs: Vec<[u64; 3]> = rows
        .iter()
        .map(|r| [intern(r.node), intern(r.chain), intern(r.source)])
        .collect();
    let text: usize = rows.iter().map(|r| r.message.len() + r.fields.len()).sum();
    let mut out = Vec::with_capacity(64 + rows.len() * 16 + text);
    let first = rows.first();
    put_varint(&mut out, rows.len() as u64);
    put_varint(&mut out, zigzag(first.map_or(0, |r| r.id)));
    put_varint(&mut out, zigzag(first.map_or(0, |r| r.ts_ms)));
    put_varint(&mut out, strings.len() as u64);
    for s in &strings {
        put_varint(&mut out, s.len() as u64);
        out.extend_from_slice(s.as_bytes());
    }
    let (mut id, mut ts) = (first.map_or(0, |r| r.id), first.map_or(0, |r| r.ts_ms));
    for r in rows {
        put_varint(&mut out, zigzag(r.id.wrapping_sub(id)));
        id = r.id;
    }
    for r in rows {
        put_varint(&mut out, zigzag(r.ts_ms.wrapping_sub(ts)));
        ts = r.ts_ms;
    }
    for r in rows {
        put_varint(&mut out, zigzag(r.level));
    }
    for ids in &refs {
        for &i in ids {
            put_varint(&mut out, i);
        }
    }
    for r in rows {
        put_varint(&mut out, r.message.len() as u64);
        put_varint(&mut out, r.fields.len() as u64);
    }
    for r in rows {
        out.extend_from_slice(r.message.as_bytes());
    }
    for r in rows {
        out.extend_from_slice(r.fields.as_bytes());
    }
    let z = zstd::bulk::compress(&out, ZSTD_LEVEL)?;
    let mut data = Vec::with_capacity(z.len() + 1);
    data.push(VERSION);
    data.extend_from_slice(&z);
    Ok(data)
}

/// A decoded block: columns, with all messages and fields in one string.
#[derive(Debug)]
pub(super) struct Block {
    strings: Vec<String>,
    ids: Vec<i64>,
    ts: Vec<i64>,
    levels: Vec<i64>,
    refs: Vec<[u32; 3]>,
    text: String,
    messages: Vec<Range<usize>>,
    fields: Vec<Range<usize>>,
}

/// Why a block could not be decoded.
pub(super) type DecodeError = &'static str;

impl Block {
    /// Decodes a block written by [`encode`].
    pub fn decode(data: &[u8]) -> Result<Block, DecodeError> {
        let (&version, z) = data.split_first().ok_or("empty block")?;
        if version != VERSION {
            return Err("unknown block version");
        }
        let mut raw = zstd::bulk::decompress(z, MAX_DECODED).map_err(|_| "bad zstd frame")?;
        let mut r = Reader { data: &raw, pos: 0 };
        let bound = raw.len();
        let n = r.len(bound)?;
        let first_id = unzigzag(r.varint()?);
        let first_ts = unzigzag(r.varint()?);
        let count = r.len(bound)?;
        let mut strings = Vec::with_capacity(count);
        for _ in 0..count {
            let len = r.len(bound)?;
            let bytes = r.take(len)?;
            strings.push(String::from_utf8(bytes.to_vec()).map_err(|_| "name is not UTF-8")?);
        }
        let mut deltas = |start: i64| -> Result<Vec<i64>, DecodeError> {
            let mut v = start;
            (0..n)
                .map(|_| {
                    v = v.wrapping_add(unzigzag(r.varint()?));
                    Ok(v)
                })
                .collect()
        };
        let ids = deltas(first_id)?;
        let ts = deltas(first_ts)?;
        let levels = (0..n)
            .map(|_| Ok(unzigzag(r.varint()?)))
            .collect::<Result<Vec<_>, DecodeError>>()?;
        let mut refs = Vec::with_capacity(n);
        for _ in 0..n {
            let mut three = [0u32; 3];
            for slot in &mut three {
                let i = r.varint()?;
                if i >= strings.len() as u64 {
                    return Err("string index out of range");
                }
                *slot = i as u32;
            }
            refs.push(three);
        }
        let mut lens = Vec::with_capacity(n);
        for _ in 0..n {
            lens.push((r.len(bound)?, r.len(bound)?));
        }
        let text_start = r.pos;
        let text = String::from_utf8(raw.split_off(text_start)).map_err(|_| "text is not UTF-8")?;
        let mut pos = 0usize;
        let mut range = |len: usize| -> Result<Range<usize>, DecodeError> {
            let end = pos.checked_add(len).ok_or("length out of range")?;
            if end > text.len() || !text.is_char_boundary(end) {
                return Err("text out of range");
            }
            let r = pos..end;
            pos = end;
            Ok(r)
        };
        let messages = lens
            .iter()
            .map(|&(m, _)| range(m))
            .collect::<Result<Vec<_>, _>>()?;
        let fields = lens
            .iter()
            .map(|&(_, f)| range(f))
            .collect::<Result<Vec<_>, _>>()?;
        if pos != text.len() {
            return Err("trailing bytes");
        }
        Ok(Block {
            strings,
            ids,
            ts,
            levels,
            refs,
            text,
            messages,
            fields,
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Row `i`'s id.
    pub fn id(&self, i: usize) -> i64 {
        self.ids[i]
    }

    /// Row `i`'s timestamp.
    pub fn ts(&self, i: usize) -> i64 {
        self.ts[i]
    }

    /// Row `i`, borrowed.
    pub fn row(&self, i: usize) -> RowRef<'_> {
        let [node, chain, source] = self.refs[i].map(|k| self.strings[k as usize].as_str());
        RowRef {
            id: self.ids[i],
            ts_ms: self.ts[i],
            level: self.levels[i],
            node,
            chain,
            source,
            message: &self.text[self.messages[i].clone()],
            fields: &self.text[self.fields[i].clone()],
        }
    }
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, DecodeError> {
        let rest = self.data.get(self.pos..).ok_or("truncated block")?;
        let (v, after) = get_varint(rest).ok_or("truncated block")?;
        self.pos = self.data.len() - after.len();
        Ok(v)
    }

    /// A count or length, bounded by the buffer size.
    fn len(&mut self, bound: usize) -> Result<usize, DecodeError> {
        let v = self.varint()?;
        usize::try_from(v)
            .ok()
            .filter(|&v| v <= bound)
            .ok_or("length out of range")
    }

    /// The next `n` bytes.
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or("length out of range")?;
        let bytes = self.data.get(self.pos..end).ok_or("truncated block")?;
        self.pos = end;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<RowRef<'static>> {
        vec![
            RowRef {
                id: 7,
                ts_ms: 1_700_000_000_000,
                level: 2,
                node: "geth-1",
                chain: "mainnet",
                source: "file:/var/log/geth.log",
                message: "Imported new chain segment",
                fields: r#"{"number":"100"}"#,
            },
            RowRef {
                id: 9,
                ts_ms: 1_699_999_999_000,
                level: 4,
                node: "btc-1",
                chain: "mainnet",
                source: "managed:btc-1",
                message: "同步失败：节点连接超时",
                fields: "{}",
            },
            RowRef {
                id: 10,
                ts_ms: 1_700_000_000_500,
                level: 0,
                node: "geth-1",
                chain: "mainnet",
                source: "file:/var/log/geth.log",
                message: "",
                fields: "{}",
            },
        ]
    }

    #[test]
    fn rows_round_trip_including_unicode_and_unordered_times() {
        let want = rows();
        let b = Block::decode(&encode(&want).expect("encode")).expect("decode");
        assert_eq!(b.len(), 3);
        let got: Vec<RowRef<'_>> = (0..b.len()).map(|i| b.row(i)).collect();
        assert_eq!(got, want);
        let empty = Block::decode(&encode(&[]).expect("encode")).expect("empty");
        assert_eq!(empty.len(), 0);
    }

    #[test]
    fn corrupt_blocks_are_errors_not_panics() {
        let good = encode(&rows()).expect("encode");
        assert!(Block::decode(&[]).is_err());
        assert!(Block::decode(&[2, 0]).is_err());
        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        assert!(Block::decode(&flipped).is_err());
        // Valid zstd around invalid contents: a string index past the table.
        let mut raw = Vec::new();
        for v in [1u64, 0, 0, 1, 1, b'x' as u64, 0, 0, 0, 5, 0, 0, 0, 0] {
            put_varint(&mut raw, v);
        }
        let mut bad = vec![VERSION];
        bad.extend(zstd::bulk::compress(&raw, 1).expect("compress"));
        assert!(Block::decode(&bad).is_err());
    }
}
