//! Timestamps as node clients write them.

use chainops_core::time::from_civil;

fn num(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Milliseconds of a fraction like `123`, `478632`, `5`.
fn frac_ms(f: &str) -> Option<i64> {
    if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let padded = format!("{f:0<3}");
    num(&padded[..3])
}

/// `HH:MM:SS[.fff]` → (h, m, s, ms).
fn clock(s: &str) -> Option<(i64, i64, i64, i64)> {
    let (hms, frac) = match s.split_once(['.', ',']) {
        Some((a, b)) => (a, frac_ms(b)?),
        None => (s, 0),
    };
    let mut it = hms.split(':');
    let (h, m, sec) = (num(it.next()?)?, num(it.next()?)?, num(it.next()?)?);
    if it.next().is_some() {
        return None;
    }
    Some((h, m, sec, frac))
}

/// `YYYY-MM-DD` → (y, m, d).
fn date(s: &str) -> Option<(i64, i64, i64)> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    Some((num(&s[0..4])?, num(&s[5..7])?, num(&s[8..10])?))
}

/// `2026-11-25T23:36:38.477623Z`, `2026-11-25T23:56:26Z`, `2026-11-25 23:48:28.314`
/// (no zone: UTC), `+08:00` offsets. Returns epoch ms and the length consumed.
pub fn parse_iso(s: &str) -> Option<(i64, usize)> {
    let (y, mo, d) = date(s.get(..10)?)?;
    let sep = *s.as_bytes().get(10)?;
    if sep != b'T' && sep != b' ' {
        return None;
    }
    let rest = &s[11..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.' || c == ','))
        .unwrap_or(rest.len());
    let (h, mi, se, ms) = clock(&rest[..end])?;
    let mut used = 11 + end;
    let mut offset_min = 0;
    let tail = &s[used..];
    if tail.starts_with('Z') {
        used += 1;
    } else if let Some(sign) = tail.chars().next().and_then(|c| match c {
        '+' => Some(1),
        '-' => Some(-1),
        _ => None,
    }) {
        // `+08:00`; byte slices through `get` so multi-byte text after the sign is no offset.
        // Anything else after the sign (`+08:中文`) is text, not an offset.
        if tail.as_bytes().get(3) == Some(&b':')
            && let (Some(h), Some(m)) = (tail.get(1..3).and_then(num), tail.get(4..6).and_then(num))
        {
            if h > 23 || m > 59 {
                return None;
            }
            offset_min = sign * (h * 60 + m);
            used += 6;
        }
    }
    let t = from_civil(y, mo, d, h, mi, se, ms)? - offset_min * 60_000;
    Some((t, used))
}

/// geth's `11-25|12:00:00.000` (no year: the year of `now_ms`, or the previous one if that
/// would be more than a day in the future).
pub fn parse_geth(s: &str, now_ms: i64) -> Option<i64> {
    let (md, hms) = s.split_once('|')?;
    let (mo, d) = md.split_once('-')?;
    let (h, mi, se, ms) = clock(hms)?;
    let year = year_of(now_ms);
    let t = from_civil(year, num(mo)?, num(d)?, h, mi, se, ms)?;
    if t > now_ms + 86_400_000 {
        from_civil(year - 1, num(mo)?, num(d)?, h, mi, se, ms)
    } else {
        Some(t)
    }
}

fn year_of(ms: i64) -> i64 {
    chainops_core::time::rfc3339(ms)
        .get(..4)
        .and_then(|y| y.parse().ok())
        .unwrap_or(1970)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_byte_text_after_a_time_is_not_an_offset() {
        // Issue 14: this line panicked with a byte slice inside `中`.
        let (t, used) = parse_iso("2026-11-25T23:36:38+08:中文 ERROR boom").expect("time");
        assert_eq!(used, 19);
        assert_eq!(chainops_core::time::rfc3339(t), "2026-11-25T23:36:38.000Z");
        for s in [
            "2026-11-25T23:36:38+中文",
            "2026-11-25T23:36:38-0é:00",
            "2026-11-25T中",
            "2026-11-2中",
        ] {
            let _ = parse_iso(s);
        }
    }

    #[test]
    fn the_formats_nodes_write() {
        assert_eq!(
            parse_iso("2026-11-25T23:36:38.477623Z  INFO x").map(|x| x.1),
            Some(27)
        );
        assert_eq!(
            parse_iso("2026-11-25T23:56:26Z").map(|x| x.0),
            chainops_core::time::parse_rfc3339("2026-11-25T23:56:26Z")
        );
        let mon = parse_iso("2026-11-25 23:48:28.314\t 7f1").expect("monerod");
        assert_eq!(
            chainops_core::time::rfc3339(mon.0),
            "2026-11-25T23:48:28.314Z"
        );
        let off = parse_iso("2026-11-26T07:00:00+08:00").expect("offset").0;
        assert_eq!(
            chainops_core::time::rfc3339(off),
            "2026-11-25T23:00:00.000Z"
        );
        assert_eq!(parse_iso("2026-13-25T00:00:00Z"), None);
        assert_eq!(parse_iso("2026-02-31T00:00:00Z"), None, "no 31 February");
        assert_eq!(
            parse_iso("2026-11-26T07:00:00+99:00"),
            None,
            "no 99 h offset"
        );
        let now = chainops_core::time::parse_rfc3339("2026-11-26T00:00:00Z").expect("now");
        assert_eq!(
            parse_geth("11-25|12:00:00.500", now)
                .map(chainops_core::time::rfc3339)
                .as_deref(),
            Some("2026-11-25T12:00:00.500Z")
        );
        assert_eq!(
            parse_geth("12-31|23:00:00.000", now)
                .map(chainops_core::time::rfc3339)
                .as_deref(),
            Some("2025-12-31T23:00:00.000Z"),
            "a date in the future is last year's"
        );
    }
}
