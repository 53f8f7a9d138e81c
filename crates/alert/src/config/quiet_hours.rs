//! Quiet hours: a daily window (in a fixed UTC offset, or an IANA time zone with its
//! daylight-saving changes) during which a channel holds non-critical notifications until the
//! window ends, so informational alerts do not page anyone at 3 am. Written `"22:00-07:00"`;
//! windows may wrap midnight.

use jiff::tz::TimeZone;
use serde::{Serialize, Serializer};

const DAY_MS: i64 = 86_400_000;

/// A validated daily window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuietHours {
    /// Start, minutes after local midnight.
    pub start_min: i64,
    /// End, minutes after local midnight.
    pub end_min: i64,
    /// Local time = UTC + this many minutes (when no zone is set).
    pub utc_offset_min: i64,
    /// The zone whose wall clock the window follows, if set (overrides the offset).
    #[serde(serialize_with = "ser_zone")]
    pub zone: Option<TimeZone>,
}

fn ser_zone<S: Serializer>(z: &Option<TimeZone>, s: S) -> Result<S::Ok, S::Error> {
    match z.as_ref().and_then(TimeZone::iana_name) {
        Some(n) => s.serialize_str(n),
        None => s.serialize_none(),
    }
}

impl QuietHours {
    /// Parses `"HH:MM-HH:MM"` and an offset `"+08:00"`.
    pub fn parse(window: &str, offset: &str) -> Result<QuietHours, String> {
        let hm = |t: &str| -> Option<i64> {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
            ((0..24).contains(&h) && (0..60).contains(&m)).then(|| h * 60 + m)
        };
        let (a, b) = window
            .split_once('-')
            .ok_or_else(|| format!("\"{window}\" is not a window; write \"22:00-07:00\""))?;
        let (start_min, end_min) = match (hm(a), hm(b)) {
            (Some(s), Some(e)) if s != e => (s, e),
            (Some(_), Some(_)) => {
                return Err(format!("\"{window}\" starts and ends at the same time"));
            }
            _ => {
                return Err(format!(
                    "\"{window}\" is not a window; times are HH:MM, e.g. \"22:00-07:00\""
                ));
            }
        };
        let sign = match offset.chars().next() {
            Some('+') => 1,
            Some('-') => -1,
            _ => {
                return Err(format!(
                    "offset \"{offset}\" must look like \"+08:00\" or \"-05:00\""
                ));
            }
        };
        let utc_offset_min = hm(&offset[1..])
            .filter(|m| *m <= 14 * 60)
            .map(|m| sign * m)
            .ok_or_else(|| {
                format!("offset \"{offset}\" must look like \"+08:00\" or \"-05:00\"")
            })?;
        Ok(QuietHours {
            start_min,
            end_min,
            utc_offset_min,
            zone: None,
        })
    }

    /// The same window on the wall clock of `zone` (DST included).
    pub fn in_zone(mut self, zone: TimeZone) -> QuietHours {
        self.zone = Some(zone);
        self
    }

    /// Minutes local time is ahead of UTC at `ms`.
    fn offset_min_at(&self, ms: i64) -> i64 {
        match (&self.zone, jiff::Timestamp::from_millisecond(ms)) {
            (Some(z), Ok(ts)) => i64::from(z.to_offset(ts).seconds()) / 60,
            _ => self.utc_offset_min,
        }
    }

    /// If `now_ms` falls inside the window, the epoch ms at which it ends; else `None`.
    pub fn release_at(&self, now_ms: i64) -> Option<i64> {
        let offset = self.offset_min_at(now_ms);
        let local = now_ms + offset * 60_000;
        let day_start = local - local.rem_euclid(DAY_MS);
        let minute = local.rem_euclid(DAY_MS) / 60_000;
        let inside = if self.start_min < self.end_min {
            (self.start_min..self.end_min).contains(&minute)
        } else {
            minute >= self.start_min || minute < self.end_min
        };
        if !inside {
            return None;
        }
        let end_today = day_start + self.end_min * 60_000;
        let end_local = if end_today > local {
            end_today
        } else {
            end_today + DAY_MS
        };
        // The end's own offset: a clock change inside the window moves the UTC end.
        let guess = end_local - offset * 60_000;
        Some(end_local - self.offset_min_at(guess) * 60_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    #[test]
    fn a_window_over_midnight_holds_until_morning_in_local_time() {
        let q = QuietHours::parse("22:00-07:00", "+08:00").unwrap();
        // 19:00 UTC = 03:00 at +08:00: inside; released at 07:00 local = 23:00 UTC.
        assert_eq!(q.release_at(19 * H), Some(23 * H));
        // 01:00 UTC = 09:00 local: outside.
        assert_eq!(q.release_at(H), None);
        // 14:30 UTC = 22:30 local: inside; released next morning 07:00 local = 23:00 UTC.
        assert_eq!(q.release_at(14 * H + H / 2), Some(23 * H));
    }

    #[test]
    fn a_zone_window_follows_daylight_saving() {
        let berlin = chainops_core::cron::zone_named("Europe/Berlin").expect("zone");
        let q = QuietHours::parse("22:00-07:00", "+00:00")
            .expect("window")
            .in_zone(berlin);
        let at = |s: &str| chainops_core::time::parse_rfc3339(s).expect("time");
        // Winter (UTC+1): 23:30 local is 22:30Z; the window ends 07:00 local = 06:00Z.
        assert_eq!(
            q.release_at(at("2026-01-10T22:30:00Z")),
            Some(at("2026-01-11T06:00:00Z"))
        );
        // Summer (UTC+2): 07:00 local = 05:00Z.
        assert_eq!(
            q.release_at(at("2026-07-10T22:30:00Z")),
            Some(at("2026-07-11T05:00:00Z"))
        );
        // The night the clocks go forward (2026-03-29): 23:00 (UTC+1) until 07:00 (UTC+2).
        assert_eq!(
            q.release_at(at("2026-03-28T22:00:00Z")),
            Some(at("2026-03-29T05:00:00Z"))
        );
        // Outside the window.
        assert_eq!(q.release_at(at("2026-07-10T12:00:00Z")), None);
    }

    #[test]
    fn a_daytime_window_and_bad_input() {
        let q = QuietHours::parse("12:00-13:00", "+00:00").unwrap();
        assert_eq!(q.release_at(12 * H + 1), Some(13 * H));
        assert_eq!(q.release_at(13 * H), None);
        assert!(QuietHours::parse("25:00-07:00", "+00:00").is_err());
        assert!(QuietHours::parse("22:00", "+00:00").is_err());
        assert!(QuietHours::parse("22:00-07:00", "08:00").is_err());
        assert!(QuietHours::parse("07:00-07:00", "+00:00").is_err());
        // Found by fuzzing: the range check ran after an overflowing multiplication.
        assert!(QuietHours::parse("220000000000000000:00-07:00", "+00:00").is_err());
        assert!(QuietHours::parse("22:00-07:00", "+9223372036854775807:00").is_err());
    }
}
