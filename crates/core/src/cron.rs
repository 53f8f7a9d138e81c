//! Cron schedules (five or six fields) for backups and drills, in UTC or an IANA time zone.
//!
//! `minute hour day-of-month month day-of-week` (or six fields with a leading `second`, as in
//! Quartz and croner) with `*`, lists (`1,15`), ranges (`1-5`),
//! steps (`*/15`, `0-30/10`), month and weekday names (`jan`, `mon`; `0` and `7` are Sunday)
//! and the macros `@hourly`, `@daily` (`@midnight`), `@weekly`, `@monthly`, `@yearly`
//! (`@annually`). As in Vixie cron, when both day fields are restricted a day matching
//! either one fires (`0 3 1 * mon`: the 1st of the month and every Monday).
//!
//! A schedule runs in UTC unless it starts with `TZ=<zone>` or `CRON_TZ=<zone>` (as in cronie),
//! or a zone is given with [`Cron::in_zone`] (`timezone` of a backup job). Fields then match
//! the zone's wall clock, with its daylight-saving changes (jiff and its bundled tz database):
//! a wall time the clocks skip does not fire that day, and a wall time that happens twice
//! fires once, the first time.

use crate::time::civil_from_days;
use jiff::tz::{AmbiguousOffset, TimeZone};

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// A parsed schedule; each field is a bit set of allowed values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    seconds: u64,
    minutes: u64,
    hours: u32,
    days: u32,
    months: u16,
    weekdays: u8,
    days_restricted: bool,
    weekdays_restricted: bool,
    source: String,
    tz: TimeZone,
}

impl std::fmt::Display for Cron {
    /// The schedule as written, with its zone in front when one was set apart from it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.tz.iana_name() {
            Some(name) if name != "UTC" && !self.source.contains("TZ=") => {
                write!(f, "TZ={name} {}", self.source)
            }
            _ => f.write_str(&self.source),
        }
    }
}

/// Parses one field into a bit set over `lo..=hi`.
fn field(text: &str, name: &str, lo: u32, hi: u32, names: &[&str]) -> Result<u64, String> {
    let value = |s: &str| -> Result<u32, String> {
        let lower = s.to_ascii_lowercase();
        if let Some(i) = names.iter().position(|n| *n == lower) {
            // Month names start at 1 (`lo`), weekday names at 0.
            return Ok(i as u32 + lo);
        }
        let v: u32 = s
            .parse()
            .map_err(|_| format!("{name}: \"{s}\" is not a number or name"))?;
        if v < lo || v > hi {
            return Err(format!("{name}: {s} is outside {lo}-{hi}"));
        }
        Ok(v)
    };
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("{name}: step \"{s}\" must be a positive number"))?;
                (r, step)
            }
            None => (part, 1),
        };
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a)?, value(b)?)
        } else {
            let v = value(range)?;
            (v, if step > 1 { hi } else { v })
        };
        if a > b {
            return Err(format!("{name}: range {range} runs backwards"));
        }
        // `step` may be any u32 (`*/4294967295`): stop at the first value past the range.
        for v in (a..=b).step_by(step as usize) {
            bits |= 1 << v;
        }
    }
    Ok(bits)
}

/// An IANA zone by name (`Asia/Shanghai`, `UTC`); the error says how to name one.
pub fn zone_named(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|_| {
        format!("\"{name}\" is not a time zone; use an IANA name such as \"UTC\", \"Europe/Berlin\" or \"Asia/Shanghai\"")
    })
}

/// The civil date-time of wall-clock seconds.
fn civil_of(wall: i64) -> Option<jiff::civil::DateTime> {
    let day = wall.div_euclid(86_400);
    let sod = wall.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(day);
    jiff::civil::DateTime::new(
        i16::try_from(y).ok()?,
        m as i8,
        d as i8,
        (sod / 3600) as i8,
        ((sod % 3600) / 60) as i8,
        (sod % 60) as i8,
        0,
    )
    .ok()
}

fn weekdays(bits: u64) -> u8 {
    ((bits | (bits >> 7)) & 0x7f) as u8
}

impl Cron {
    /// Parses a schedule; the error names the field and what is wrong.
    pub fn parse(text: &str) -> Result<Cron, String> {
        let trimmed = text.trim();
        let (tz, rest) = match trimmed
            .strip_prefix("CRON_TZ=")
            .or_else(|| trimmed.strip_prefix("TZ="))
        {
            Some(r) => {
                let (zone, rest) = r.split_once(char::is_whitespace).unwrap_or((r, ""));
                (zone_named(zone)?, rest.trim())
            }
            None => (TimeZone::UTC, trimmed),
        };
        let mut c = Self::parse_fields(rest, text)?;
        c.tz = tz;
        Ok(c)
    }

    /// The same schedule on the wall clock of `tz`.
    pub fn in_zone(mut self, tz: TimeZone) -> Cron {
        self.tz = tz;
        self
    }

    fn parse_fields(rest: &str, text: &str) -> Result<Cron, String> {
        let expanded = match rest {
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            "@yearly" | "@annually" => "0 0 1 1 *",
            t if t.starts_with('@') => {
                return Err(format!(
                    "unknown macro {t}: use @hourly, @daily, @weekly, @monthly or @yearly"
                ));
            }
            t => t,
        };
        let mut f: Vec<&str> = expanded.split_whitespace().collect();
        if f.len() != 5 && f.len() != 6 {
            return Err(format!(
                "\"{text}\" has {} fields; a schedule has 5: minute hour day-of-month month day-of-week (e.g. \"0 3 * * *\"), or 6 with a leading second",
                f.len()
            ));
        }
        let seconds = if f.len() == 6 {
            field(f.remove(0), "second", 0, 59, &[])?
        } else {
            1
        };
        Ok(Cron {
            seconds,
            minutes: field(f[0], "minute", 0, 59, &[])?,
            hours: field(f[1], "hour", 0, 23, &[])? as u32,
            days: field(f[2], "day of month", 1, 31, &[])? as u32,
            months: field(f[3], "month", 1, 12, &MONTHS)? as u16,
            // 7 is Sunday too: fold bit 7 onto bit 0.
            weekdays: weekdays(field(f[4], "day of week", 0, 7, &DAYS)?),
            days_restricted: f[2] != "*",
            weekdays_restricted: f[4] != "*",
            source: text.trim().to_string(),
            tz: TimeZone::UTC,
        })
    }

    fn day_matches(&self, day: u32, weekday: u32) -> bool {
        let d = self.days & (1 << day) != 0;
        let w = self.weekdays & (1 << weekday) != 0;
        match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => d || w,
            (true, false) => d,
            (false, true) => w,
            (false, false) => true,
        }
    }

    /// The first firing time strictly after `after_ms` (epoch ms, second resolution), or
    /// `None` if the schedule never fires (e.g. `0 0 31 2 *`) within eight years.
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        let after_s = after_ms.div_euclid(1000);
        // Wall-clock seconds (civil time counted like UTC) of the instant in the zone.
        let wall = |s: i64| -> Option<i64> {
            let ts = jiff::Timestamp::from_second(s).ok()?;
            Some(s + i64::from(self.tz.to_offset(ts).seconds()))
        };
        let mut from = wall(after_s)?;
        let limit = from + 8 * 366 * 86_400;
        while from < limit {
            let local = self.next_wall(from, limit)?;
            let dt = civil_of(local)?;
            let instant = match self.tz.to_ambiguous_timestamp(dt).offset() {
                AmbiguousOffset::Unambiguous { offset } => local - i64::from(offset.seconds()),
                // Skipped by the clocks (spring forward): no firing at this wall time.
                AmbiguousOffset::Gap { .. } => {
                    from = local;
                    continue;
                }
                // Happens twice (fall back): the first time only.
                AmbiguousOffset::Fold { before, .. } => local - i64::from(before.seconds()),
            };
            if instant > after_s {
                return Some(instant * 1000);
            }
            from = local;
        }
        None
    }

    /// The first matching wall-clock second strictly after `after` (before `limit`).
    fn next_wall(&self, after: i64, limit: i64) -> Option<i64> {
        let mut second = after + 1;
        while second < limit {
            let minute = second.div_euclid(60);
            let day = minute.div_euclid(1440);
            let (_, month, dom) = civil_from_days(day);
            // 1970-01-01 was a Thursday.
            let weekday = (day + 4).rem_euclid(7) as u32;
            if self.months & (1 << month) == 0 || !self.day_matches(dom as u32, weekday) {
                second = (day + 1) * 86_400;
                continue;
            }
            let m = minute.rem_euclid(1440);
            let (h, mi) = (m / 60, m % 60);
            if self.hours & (1 << h) == 0 {
                second = (day * 1440 + (h + 1) * 60) * 60;
                continue;
            }
            if self.minutes & (1 << mi) == 0 {
                second = (minute + 1) * 60;
                continue;
            }
            // The first allowed second at or after this one, else the next minute.
            let from = second.rem_euclid(60);
            let later = self.seconds >> from;
            if later == 0 {
                second = (minute + 1) * 60;
                continue;
            }
            return Some(second + i64::from(later.trailing_zeros()));
        }
        None
    }

    /// The longest gap between two consecutive firings over the next `horizon` firings from
    /// `from_ms` (how late a run may be before it counts as overdue).
    pub fn longest_gap_ms(&self, from_ms: i64, horizon: usize) -> Option<i64> {
        let mut t = self.next_after(from_ms)?;
        let mut gap = 0;
        for _ in 0..horizon {
            let n = self.next_after(t)?;
            gap = gap.max(n - t);
            t = n;
        }
        Some(gap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{from_civil, rfc3339};

    fn at(s: &str) -> i64 {
        crate::time::parse_rfc3339(s).expect("time")
    }

    fn next(expr: &str, after: &str) -> String {
        rfc3339(
            Cron::parse(expr)
                .expect("parse")
                .next_after(at(after))
                .expect("fires"),
        )
    }

    #[test]
    fn next_firing_times() {
        assert_eq!(
            next("0 3 * * *", "2026-11-26T08:00:00Z"),
            "2026-11-27T03:00:00.000Z"
        );
        assert_eq!(
            next("*/15 * * * *", "2026-11-26T08:07:59Z"),
            "2026-11-26T08:15:00.000Z"
        );
        assert_eq!(
            next("*/15 * * * *", "2026-11-26T08:15:00Z"),
            "2026-11-26T08:30:00.000Z"
        );
        assert_eq!(
            next("@monthly", "2026-12-15T00:00:00Z"),
            "2027-01-01T00:00:00.000Z"
        );
        // 2026-11-26 is a Thursday; next Sunday 05:00.
        assert_eq!(
            next("0 5 * * sun", "2026-11-26T08:00:00Z"),
            "2026-11-29T05:00:00.000Z"
        );
        assert_eq!(
            next("0 5 * * 7", "2026-11-26T08:00:00Z"),
            "2026-11-29T05:00:00.000Z"
        );
        assert_eq!(
            next("0 5 * * 5-7", "2026-11-26T08:00:00Z"),
            "2026-11-27T05:00:00.000Z"
        );
        assert_eq!(
            next("30 1-3 * * mon-fri", "2026-11-27T03:30:00Z"),
            "2026-11-30T01:30:00.000Z"
        );
        assert_eq!(
            next("0 0 29 feb *", "2026-03-01T00:00:00Z"),
            "2028-02-29T00:00:00.000Z"
        );
        // Both day fields restricted: either matches (the 1st, or a Monday).
        assert_eq!(
            next("0 0 1 * mon", "2026-11-26T00:00:00Z"),
            "2026-11-30T00:00:00.000Z"
        );
        assert_eq!(
            next("0 12 * jan,jul *", "2026-11-26T00:00:00Z"),
            "2027-01-01T12:00:00.000Z"
        );
        // Six fields: seconds first.
        assert_eq!(
            next("*/5 * * * * *", "2026-11-26T08:00:03.500Z"),
            "2026-11-26T08:00:05.000Z"
        );
        assert_eq!(
            next("30 0 3 * * *", "2026-11-26T03:00:30Z"),
            "2026-11-27T03:00:30.000Z"
        );
    }

    #[test]
    fn zoned_schedules_follow_the_wall_clock_through_daylight_saving() {
        // 03:00 in Shanghai (UTC+8, no DST) is 19:00 UTC the day before.
        assert_eq!(
            next("TZ=Asia/Shanghai 0 3 * * *", "2026-11-26T08:00:00Z"),
            "2026-11-26T19:00:00.000Z"
        );
        let berlin = || zone_named("Europe/Berlin").expect("zone");
        let at_in = |expr: &str, after: &str| {
            rfc3339(
                Cron::parse(expr)
                    .expect("parse")
                    .in_zone(berlin())
                    .next_after(at(after))
                    .expect("fires"),
            )
        };
        // 03:00 local in winter (UTC+1) and in summer (UTC+2).
        assert_eq!(
            at_in("0 3 * * *", "2026-01-10T12:00:00Z"),
            "2026-01-11T02:00:00.000Z"
        );
        assert_eq!(
            at_in("0 3 * * *", "2026-07-10T12:00:00Z"),
            "2026-07-11T01:00:00.000Z"
        );
        // 2026-03-29 02:30 does not exist in Berlin: that day is skipped.
        assert_eq!(
            at_in("30 2 * * *", "2026-03-28T12:00:00Z"),
            "2026-03-30T00:30:00.000Z"
        );
        // 2026-10-25 02:30 happens twice: it fires once, at the first (UTC+2).
        assert_eq!(
            at_in("30 2 * * *", "2026-10-24T12:00:00Z"),
            "2026-10-25T00:30:00.000Z"
        );
        assert_eq!(
            at_in("30 2 * * *", "2026-10-25T00:30:00Z"),
            "2026-10-26T01:30:00.000Z"
        );
        assert!(Cron::parse("CRON_TZ=Mars/Olympus 0 3 * * *").is_err_and(|e| e.contains("IANA")));
    }

    #[test]
    fn bad_schedules_name_the_field() {
        // Found by fuzzing: a huge step overflowed the field walk.
        assert_eq!(
            Cron::parse("0 */4294967295 * * *").map(|c| c.next_after(0).is_some()),
            Ok(true)
        );
        for (expr, needle) in [
            ("0 3 * *", "has 4 fields"),
            ("61 0 3 * * *", "second"),
            ("60 * * * *", "minute: 60 is outside 0-59"),
            ("0 24 * * *", "hour"),
            ("0 0 0 * *", "day of month"),
            ("0 0 * 13 *", "month"),
            ("0 0 * * fun", "day of week"),
            ("*/0 * * * *", "step"),
            ("5-1 * * * *", "backwards"),
            ("@often", "unknown macro"),
        ] {
            let e = Cron::parse(expr).expect_err(expr);
            assert!(e.contains(needle), "{expr}: {e}");
        }
        assert_eq!(
            Cron::parse("0 0 31 2 *").expect("parses").next_after(0),
            None
        );
    }

    #[test]
    fn longest_gap_covers_uneven_schedules() {
        let from = from_civil(2026, 11, 26, 0, 0, 0, 0).expect("time");
        let daily = Cron::parse("@daily").expect("parse");
        assert_eq!(daily.longest_gap_ms(from, 5), Some(86_400_000));
        let weekdays = Cron::parse("0 2 * * mon-fri").expect("parse");
        assert_eq!(weekdays.longest_gap_ms(from, 10), Some(3 * 86_400_000));
    }
}
