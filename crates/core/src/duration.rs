//! Human durations in config and query strings: `500ms`, `1s`, `5m`, `48h`, `30d`, `2w`, `2y`, `1h30m`.

use std::time::Duration;

/// The longest duration accepted: 100 years.
const MAX_MS: u128 = 100 * 365 * 86_400_000;

/// Parses a human duration; `y` is 365 days. Returns a message naming the problem.
pub fn parse_duration(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err("is empty; use a duration like \"1s\", \"5m\", \"48h\"".into());
    }
    let mut total_ms: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return Err(format!(
                "\"{input}\" is not a duration; use a number followed by ms, s, m, h, d, w or y (e.g. \"30s\")"
            ));
        }
        let n: u128 = rest[..digits]
            .parse()
            .map_err(|_| format!("\"{input}\" has a number that is too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.chars().take_while(|c| c.is_ascii_alphabetic()).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let ms_per = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "y" => 365 * 86_400_000,
            "" => {
                return Err(format!(
                    "\"{input}\" lacks a unit; write e.g. \"{n}s\" (units: ms, s, m, h, d, w, y)"
                ));
            }
            other => {
                return Err(format!(
                    "\"{input}\" has unknown unit \"{other}\" (units: ms, s, m, h, d, w, y)"
                ));
            }
        };
        total_ms = total_ms.saturating_add(n.saturating_mul(ms_per));
    }
    // Nothing chainops waits for is longer than a century; longer values are typos (and
    // would overflow the epoch-millisecond arithmetic they feed).
    if total_ms > MAX_MS {
        return Err(format!("\"{input}\" is too long; at most 100y"));
    }
    Ok(Duration::from_millis(total_ms as u64))
}

/// Formats a duration in the largest exact unit (`90s` → `90s`, `3600s` → `1h`).
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    for (unit, size) in [
        ("y", 365 * 86_400_000u128),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_compounds() {
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(
            parse_duration("2y"),
            Ok(Duration::from_secs(2 * 365 * 86_400))
        );
    }

    #[test]
    fn rejects_with_guidance() {
        assert!(parse_duration("10").unwrap_err().contains("lacks a unit"));
        assert!(parse_duration("3 parsecs").is_err());
        assert!(parse_duration("5x").unwrap_err().contains("unknown unit"));
    }

    #[test]
    fn formats_in_largest_exact_unit() {
        assert_eq!(format_duration(Duration::from_secs(3600)), "1h");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
    }
}
