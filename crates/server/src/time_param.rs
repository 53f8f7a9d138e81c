//! Time parameters in queries: RFC 3339, epoch milliseconds, `now`, `now-1h` or `now+1h`.

use chainops_core::duration::parse_duration;
use chainops_core::time::parse_rfc3339;

/// Parses a time parameter relative to `now_ms`.
pub fn parse_time(name: &str, s: &str, now_ms: i64) -> Result<i64, String> {
    let s = s.trim();
    if s == "now" {
        return Ok(now_ms);
    }
    if let Some(ago) = s.strip_prefix("now-") {
        return parse_duration(ago)
            .map(|d| now_ms - d.as_millis() as i64)
            .map_err(|e| format!("{name}: {e}"));
    }
    if let Some(ahead) = s.strip_prefix("now+") {
        return parse_duration(ahead)
            .map(|d| now_ms.saturating_add(d.as_millis() as i64))
            .map_err(|e| format!("{name}: {e}"));
    }
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    parse_rfc3339(s).ok_or_else(|| {
        format!("{name}: \"{s}\" is not a time; use RFC 3339 (2026-11-26T00:00:00Z), epoch milliseconds, \"now\", \"now-1h\" or \"now+1h\"")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_forms() {
        assert_eq!(
            parse_time("from", "now-1h", 10_000_000),
            Ok(10_000_000 - 3_600_000)
        );
        assert_eq!(
            parse_time("from", "1700000000000", 0),
            Ok(1_700_000_000_000)
        );
        assert_eq!(parse_time("from", "1970-01-01T00:00:01Z", 0), Ok(1000));
        assert_eq!(parse_time("starts", "now+2h", 1000), Ok(1000 + 7_200_000));
        assert!(
            parse_time("from", "yesterday", 0)
                .unwrap_err()
                .starts_with("from: ")
        );
    }
}
