//! Compact encoding of a run of `(timestamp_ms, value)` samples for one series.
//!
//! Format v1: `0x01`, then per sample a zig-zag varint timestamp delta (first sample: delta
//! from the chunk's `start_ms`) and a value. Values that are whole numbers in ±2^53 are
//! written as tag `0` + zig-zag varint delta from the previous whole value (heights, peers
//! and counters take 1–2 bytes); anything else as tag `1` + 8 little-endian bytes.

const VERSION: u8 = 1;
const TAG_INT: u8 = 0;
const TAG_F64: u8 = 1;
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

/// Encodes samples (sorted by time) relative to `start_ms`.
pub fn encode(start_ms: i64, samples: &[(i64, f64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + samples.len() * 3);
    out.push(VERSION);
    let mut prev_ts = start_ms;
    let mut prev_int: i64 = 0;
    for &(ts, v) in samples {
        put_varint(&mut out, zigzag(ts - prev_ts));
        prev_ts = ts;
        if v.fract() == 0.0 && v.abs() < MAX_EXACT {
            let iv = v as i64;
            out.push(TAG_INT);
            put_varint(&mut out, zigzag(iv.wrapping_sub(prev_int)));
            prev_int = iv;
        } else {
            out.push(TAG_F64);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

/// Decodes a chunk written by [`encode`]; `None` if the bytes are malformed.
pub fn decode(start_ms: i64, data: &[u8]) -> Option<Vec<(i64, f64)>> {
    let (&version, mut rest) = data.split_first()?;
    if version != VERSION {
        return None;
    }
    let mut out = Vec::new();
    let mut prev_ts = start_ms;
    let mut prev_int: i64 = 0;
    while !rest.is_empty() {
        let (d, r) = get_varint(rest)?;
        prev_ts = prev_ts.checked_add(unzigzag(d))?;
        let (&tag, r) = r.split_first()?;
        let value = match tag {
            TAG_INT => {
                let (d, r2) = get_varint(r)?;
                prev_int = prev_int.wrapping_add(unzigzag(d));
                rest = r2;
                prev_int as f64
            }
            TAG_F64 => {
                let bytes: [u8; 8] = r.get(..8)?.try_into().ok()?;
                rest = &r[8..];
                f64::from_le_bytes(bytes)
            }
            _ => return None,
        };
        out.push((prev_ts, value));
    }
    Some(out)
}

pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub(crate) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn get_varint(data: &[u8]) -> Option<(u64, &[u8])> {
    let mut v: u64 = 0;
    for (i, &b) in data.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, &data[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_integers_floats_and_specials() {
        let s = vec![
            (1_000, 100.0),
            (2_000, 101.0),
            (3_005, 101.0),
            (3_900, 0.125),
            (5_000, -7.0),
            (6_000, 1e300),
            (7_000, f64::INFINITY),
            (8_000, 2.0f64.powi(60)),
        ];
        let enc = encode(1_000, &s);
        assert_eq!(decode(1_000, &enc), Some(s));
    }

    #[test]
    fn a_height_series_takes_about_three_bytes_per_sample() {
        let s: Vec<(i64, f64)> = (0..60)
            .map(|i| (i * 1000, 19_000_000.0 + i as f64))
            .collect();
        let enc = encode(0, &s);
        assert!(enc.len() < 60 * 4 + 8, "{} bytes", enc.len());
    }

    #[test]
    fn malformed_input_is_rejected_not_panicking() {
        assert_eq!(decode(0, &[]), None);
        assert_eq!(decode(0, &[9, 1, 2]), None);
        assert_eq!(decode(0, &[1, 0x80]), None);
        assert_eq!(decode(0, &[1, 2, 1, 0, 0]), None);
    }
}
