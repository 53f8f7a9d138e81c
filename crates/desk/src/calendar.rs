//! Business-hours calendars for SLA clocks: an IANA zone, weekly working hours, holidays and
//! make-up working days (China's 调休: a Saturday or Sunday worked in exchange for a holiday),
//! or around the clock (24×7).
//!
//! Times are epoch milliseconds. A day's hours are wall-clock times in the zone, so a clock
//! follows daylight-saving changes: on the day the clocks go forward an hour, `09:00-18:00`
//! in New York holds 9 hours of business time like any other day (the jump is at 02:00), and
//! a span that starts in a skipped wall time starts when the wall clock reaches it.

use chainops_core::time::civil_from_days;
use jiff::tz::TimeZone;
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

const DAY_MS: i64 = 86_400_000;
/// How far [`Calendar::add_business`] looks ahead before deciding a calendar never works.
const HORIZON_DAYS: i64 = 3 * 366;
/// Days of converted hours kept per calendar.
const CACHE_DAYS: usize = 8_192;
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Minutes of a day, `[start, end)`, `end` at most 1440.
type Span = (u16, u16);

/// A working calendar. Build one with [`Calendar::always`] or [`Calendar::parse`].
#[derive(Debug)]
pub struct Calendar {
    /// `None`: 24×7.
    rules: Option<Rules>,
    /// Local day → that day's working intervals in epoch ms.
    cache: Mutex<HashMap<i64, Vec<(i64, i64)>>>,
}

#[derive(Debug)]
struct Rules {
    zone: TimeZone,
    /// Monday first.
    week: [Vec<Span>; 7],
    holidays: BTreeSet<i64>,
    makeup_days: BTreeSet<i64>,
    makeup_hours: Vec<Span>,
}

/// A calendar as written in `[support.calendars.NAME]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CalendarSpec {
    /// IANA zone (`Asia/Shanghai`).
    pub zone: String,
    /// Weekly hours: `"mon-fri 09:00-18:00"`, `"sat 10:00-12:00,13:00-15:00"`.
    pub hours: Vec<String>,
    /// Days off: `"2026-10-01"` or a range `"2026-10-01..2026-10-07"`.
    pub holidays: Vec<String>,
    /// Make-up working days (调休), same forms as holidays.
    pub makeup_days: Vec<String>,
    /// Hours of a make-up day (`"09:00-18:00"`); Monday's hours when empty.
    pub makeup_hours: Option<String>,
}

impl Calendar {
    /// Around the clock, every day.
    pub fn always() -> Calendar {
        Calendar {
            rules: None,
            cache: Mutex::default(),
        }
    }

    /// Builds a calendar, or every problem as `(field, message)`.
    pub fn parse(spec: &CalendarSpec) -> Result<Calendar, Vec<(String, String)>> {
        let mut problems = Vec::new();
        let zone = match chainops_core::cron::zone_named(spec.zone.trim()) {
            Ok(z) => Some(z),
            Err(m) => {
                problems.push(("zone".to_string(), m));
                None
            }
        };
        let mut week: [Vec<Span>; 7] = Default::default();
        if spec.hours.is_empty() {
            problems.push((
                "hours".into(),
                "is empty; give the working hours, e.g. [\"mon-fri 09:00-18:00\"] (or use calendar = \"24x7\")".into(),
            ));
        }
        for (i, line) in spec.hours.iter().enumerate() {
            match weekly_line(line) {
                Ok((days, spans)) => {
                    for d in days {
                        week[d].extend_from_slice(&spans);
                    }
                }
                Err(m) => problems.push((format!("hours[{i}]"), m)),
            }
        }
        for (d, spans) in week.iter_mut().enumerate() {
            if let Err(m) = normalise(spans) {
                problems.push(("hours".into(), format!("{}: {m}", WEEKDAYS[d])));
            }
        }
        let holidays = day_set("holidays", &spec.holidays, &mut problems);
        let makeup_days = day_set("makeup_days", &spec.makeup_days, &mut problems);
        if let Some(d) = holidays.intersection(&makeup_days).next() {
            problems.push((
                "makeup_days".into(),
                format!(
                    "{} is both a holiday and a make-up working day; keep it in one list",
                    date_text(*d)
                ),
            ));
        }
        let makeup_hours = match &spec.makeup_hours {
            Some(text) => match spans_of(text).and_then(|mut s| normalise(&mut s).map(|_| s)) {
                Ok(s) if !s.is_empty() => s,
                Ok(_) => {
                    problems.push(("makeup_hours".into(), "is empty".into()));
                    Vec::new()
                }
                Err(m) => {
                    problems.push(("makeup_hours".into(), m));
                    Vec::new()
                }
            },
            None => week[0].clone(),
        };
        if !makeup_days.is_empty() && makeup_hours.is_empty() {
            problems.push((
                "makeup_hours".into(),
                "make-up days are listed but Monday has no hours to copy; set makeup_hours = \"09:00-18:00\"".into(),
            ));
        }
        match zone {
            Some(zone) if problems.is_empty() => Ok(Calendar {
                rules: Some(Rules {
                    zone,
                    week,
                    holidays,
                    makeup_days,
                    makeup_hours,
                }),
                cache: Mutex::default(),
            }),
            _ => Err(problems),
        }
    }

    /// Whether this calendar runs around the clock.
    pub fn is_always(&self) -> bool {
        self.rules.is_none()
    }

    /// Business milliseconds in `[from, to)` (0 when `to <= from`).
    pub fn business_ms(&self, from: i64, to: i64) -> i64 {
        if to <= from {
            return 0;
        }
        let Some(rules) = &self.rules else {
            return to - from;
        };
        let mut total = 0;
        let mut day = rules.local_day(from) - 1;
        loop {
            let mut past = false;
            self.with_day(rules, day, |spans| {
                for &(s, e) in spans {
                    if s >= to {
                        past = true;
                        break;
                    }
                    total += (e.min(to) - s.max(from)).max(0);
                }
            });
            // A local day starts at most 26 hours before its UTC midnight.
            if past || day_start_bound(day) > to {
                break;
            }
            day += 1;
        }
        total
    }

    /// The instant at which `amount` business milliseconds have passed since `from`, or `None`
    /// if the calendar holds fewer within three years (a calendar without hours). `amount <=
    /// 0` is `from` itself.
    pub fn add_business(&self, from: i64, amount: i64) -> Option<i64> {
        if amount <= 0 {
            return Some(from);
        }
        let Some(rules) = &self.rules else {
            return from.checked_add(amount);
        };
        let mut left = amount;
        let first = rules.local_day(from) - 1;
        for day in first..first + HORIZON_DAYS {
            let mut found = None;
            self.with_day(rules, day, |spans| {
                for &(s, e) in spans {
                    let s = s.max(from);
                    if e <= s {
                        continue;
                    }
                    if e - s >= left {
                        found = Some(s + left);
                        return;
                    }
                    left -= e - s;
                }
            });
            if found.is_some() {
                return found;
            }
        }
        None
    }

    /// Whether `t` falls in working time.
    pub fn is_open(&self, t: i64) -> bool {
        self.business_ms(t, t + 1) == 1
    }

    fn with_day(&self, rules: &Rules, day: i64, f: impl FnOnce(&[(i64, i64)])) {
        let Ok(mut cache) = self.cache.lock() else {
            return f(&rules.intervals(day));
        };
        if cache.len() >= CACHE_DAYS {
            cache.clear();
        }
        f(cache.entry(day).or_insert_with(|| rules.intervals(day)))
    }
}

impl Rules {
    /// The local day (days since 1970-01-01 on the zone's wall clock) of an instant.
    fn local_day(&self, t: i64) -> i64 {
        let offset = jiff::Timestamp::from_millisecond(t)
            .map(|ts| i64::from(self.zone.to_offset(ts).seconds()))
            .unwrap_or(0);
        (t + offset * 1000).div_euclid(DAY_MS)
    }

    fn spans(&self, day: i64) -> &[Span] {
        if self.holidays.contains(&day) {
            return &[];
        }
        if self.makeup_days.contains(&day) {
            return &self.makeup_hours;
        }
        // 1970-01-01 was a Thursday (index 3, Monday first).
        &self.week[(day + 3).rem_euclid(7) as usize]
    }

    /// A day's working intervals in epoch ms, in order.
    fn intervals(&self, day: i64) -> Vec<(i64, i64)> {
        let mut out: Vec<(i64, i64)> = Vec::new();
        for &(s, e) in self.spans(day) {
            let (Some(s), Some(e)) = (self.instant(day, s), self.instant(day, e)) else {
                continue;
            };
            if e <= s {
                continue;
            }
            match out.last_mut() {
                Some(last) if last.1 >= s => last.1 = last.1.max(e),
                _ => out.push((s, e)),
            }
        }
        out
    }

    /// The instant of a wall-clock minute of a local day (a skipped wall time maps to the
    /// instant the clocks jumped to; a repeated one to its first occurrence).
    fn instant(&self, day: i64, minute: u16) -> Option<i64> {
        let (day, minute) = if minute >= 1440 {
            (day + 1, minute - 1440)
        } else {
            (day, minute)
        };
        let (y, m, d) = civil_from_days(day);
        let dt = jiff::civil::DateTime::new(
            i16::try_from(y).ok()?,
            m as i8,
            d as i8,
            (minute / 60) as i8,
            (minute % 60) as i8,
            0,
            0,
        )
        .ok()?;
        let ts = self.zone.to_ambiguous_timestamp(dt).compatible().ok()?;
        Some(ts.as_millisecond())
    }
}

/// An instant no earlier than any working time of local `day` (UTC offsets are within ±26 h).
fn day_start_bound(day: i64) -> i64 {
    day * DAY_MS - 26 * 3_600_000
}

/// `"mon-fri 09:00-18:00"` → the weekdays (Monday 0) and their spans.
fn weekly_line(line: &str) -> Result<(Vec<usize>, Vec<Span>), String> {
    let line = line.trim();
    let Some((days, hours)) = line.split_once(char::is_whitespace) else {
        return Err(format!(
            "\"{line}\" is not DAYS HOURS; write e.g. \"mon-fri 09:00-18:00\""
        ));
    };
    let mut out = Vec::new();
    for part in days.split(',') {
        let part = part.trim().to_ascii_lowercase();
        let (a, b) = part.split_once('-').unwrap_or((&part, &part));
        let idx = |d: &str| {
            WEEKDAYS.iter().position(|w| *w == d).ok_or_else(|| {
                format!(
                    "\"{d}\" is not a weekday; use {} (ranges like mon-fri)",
                    WEEKDAYS.join(", ")
                )
            })
        };
        let (a, b) = (idx(a)?, idx(b)?);
        if b < a {
            return Err(format!(
                "\"{part}\" runs backwards; write the earlier day first (weeks start on Monday)"
            ));
        }
        out.extend(a..=b);
    }
    Ok((out, spans_of(hours)?))
}

/// `"09:00-12:00,13:00-18:00"` → spans.
fn spans_of(text: &str) -> Result<Vec<Span>, String> {
    let mut out = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let bad = || format!("\"{part}\" is not HH:MM-HH:MM (e.g. 09:00-18:00; 24:00 ends a day)");
        let (a, b) = part.split_once('-').ok_or_else(bad)?;
        let (a, b) = (minute_of(a).ok_or_else(bad)?, minute_of(b).ok_or_else(bad)?);
        if b <= a {
            return Err(format!(
                "\"{part}\" ends before it starts; a span cannot cross midnight, split it in two days"
            ));
        }
        out.push((a, b));
    }
    Ok(out)
}

fn minute_of(text: &str) -> Option<u16> {
    let (h, m) = text.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    let minute = h * 60 + m;
    (m < 60 && minute <= 1440).then_some(minute)
}

/// Sorts spans and refuses overlaps.
fn normalise(spans: &mut [Span]) -> Result<(), String> {
    spans.sort_unstable();
    for w in spans.windows(2) {
        if w[1].0 < w[0].1 {
            return Err(format!(
                "{} and {} overlap",
                span_text(w[0]),
                span_text(w[1])
            ));
        }
    }
    Ok(())
}

fn span_text((a, b): Span) -> String {
    format!("{:02}:{:02}-{:02}:{:02}", a / 60, a % 60, b / 60, b % 60)
}

/// Days of `"YYYY-MM-DD"` and `"YYYY-MM-DD..YYYY-MM-DD"` entries.
fn day_set(field: &str, items: &[String], problems: &mut Vec<(String, String)>) -> BTreeSet<i64> {
    let mut out = BTreeSet::new();
    for (i, item) in items.iter().enumerate() {
        let item = item.trim();
        let (a, b) = item.split_once("..").unwrap_or((item, item));
        match (day_of(a), day_of(b)) {
            (Some(a), Some(b)) if a <= b && b - a <= 366 => out.extend(a..=b),
            (Some(_), Some(_)) => problems.push((
                format!("{field}[{i}]"),
                format!("\"{item}\" must run forwards and span at most a year"),
            )),
            _ => problems.push((
                format!("{field}[{i}]"),
                format!("\"{item}\" is not a date YYYY-MM-DD or a range YYYY-MM-DD..YYYY-MM-DD"),
            )),
        }
    }
    out
}

fn day_of(text: &str) -> Option<i64> {
    let d: jiff::civil::Date = text.trim().parse().ok()?;
    let ms = chainops_core::time::from_civil(
        i64::from(d.year()),
        i64::from(d.month()),
        i64::from(d.day()),
        0,
        0,
        0,
        0,
    )?;
    Some(ms.div_euclid(DAY_MS))
}

fn date_text(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chainops_core::time::parse_rfc3339;
    use proptest::prelude::*;

    fn at(s: &str) -> i64 {
        parse_rfc3339(s).expect("test time")
    }

    fn cal(zone: &str, hours: &[&str], holidays: &[&str], makeup: &[&str]) -> Calendar {
        Calendar::parse(&CalendarSpec {
            zone: zone.into(),
            hours: hours.iter().map(|s| s.to_string()).collect(),
            holidays: holidays.iter().map(|s| s.to_string()).collect(),
            makeup_days: makeup.iter().map(|s| s.to_string()).collect(),
            makeup_hours: None,
        })
        .expect("test calendar")
    }

    /// China's National Day week of 2026: 1–7 October off, Saturday 10 October worked.
    fn shanghai() -> Calendar {
        cal(
            "Asia/Shanghai",
            &["mon-fri 09:00-12:00,13:00-18:00"],
            &["2026-10-01..2026-10-07"],
            &["2026-10-10"],
        )
    }

    const H: i64 = 3_600_000;

    #[test]
    fn office_hours_holidays_and_a_make_up_saturday() {
        let c = shanghai();
        // Wednesday 30 September 2026, 17:00 Shanghai → one working hour that day.
        let from = at("2026-09-30T09:00:00Z");
        // Thursday 8 October 09:00 Shanghai: the holiday week in between holds nothing.
        let to = at("2026-10-08T01:00:00Z");
        assert_eq!(c.business_ms(from, to), H);
        // Four hours from Wednesday 17:00 → 1 h Wednesday, then 3 h on Thursday 8 October:
        // 09:00–12:00 Shanghai.
        assert_eq!(
            c.add_business(from, 4 * H),
            Some(at("2026-10-08T04:00:00Z"))
        );
        // The lunch break holds nothing: from 11:00 Thursday, two hours end at 14:00.
        assert_eq!(
            c.add_business(at("2026-10-08T03:00:00Z"), 2 * H),
            Some(at("2026-10-08T06:00:00Z"))
        );
        // Saturday 10 October is worked (Monday's hours); Saturday 17 October is not.
        assert_eq!(
            c.business_ms(at("2026-10-09T16:00:00Z"), at("2026-10-10T16:00:00Z")),
            8 * H
        );
        assert_eq!(
            c.business_ms(at("2026-10-16T16:00:00Z"), at("2026-10-17T16:00:00Z")),
            0
        );
        assert!(c.is_open(at("2026-10-10T01:30:00Z")));
        assert!(!c.is_open(at("2026-10-10T04:30:00Z")), "lunch");
        assert!(!c.is_open(at("2026-10-01T02:00:00Z")), "National Day");
    }

    #[test]
    fn daylight_saving_days_keep_their_wall_clock_hours() {
        // New York springs forward on 8 March 2026 and falls back on 1 November 2026.
        let c = cal("America/New_York", &["mon-sun 00:00-24:00"], &[], &[]);
        let spring = c.business_ms(at("2026-03-08T05:00:00Z"), at("2026-03-09T04:00:00Z"));
        assert_eq!(spring, 23 * H, "the day the clocks go forward has 23 hours");
        let fall = c.business_ms(at("2026-11-01T04:00:00Z"), at("2026-11-02T05:00:00Z"));
        assert_eq!(fall, 25 * H, "the day the clocks go back has 25 hours");
        // Working 01:30–03:30 on the spring day: 02:00–03:00 does not exist → 1 hour.
        let c = cal("America/New_York", &["sun 01:30-03:30"], &[], &[]);
        assert_eq!(
            c.business_ms(at("2026-03-08T00:00:00Z"), at("2026-03-09T00:00:00Z")),
            H
        );
        // Lord Howe Island moves its clocks by half an hour.
        let c = cal("Australia/Lord_Howe", &["mon-sun 00:00-24:00"], &[], &[]);
        let day = c.business_ms(at("2026-10-03T13:30:00Z"), at("2026-10-04T13:00:00Z"));
        assert_eq!(day, 23 * H + H / 2);
    }

    #[test]
    fn a_calendar_without_hours_never_reaches_a_target() {
        let c = cal(
            "UTC",
            &["sat 10:00-11:00"],
            &["2026-01-01..2026-12-31"],
            &[],
        );
        assert_eq!(
            c.add_business(at("2026-01-01T00:00:00Z"), H),
            Some(at("2027-01-02T11:00:00Z"))
        );
        let all_year = (0..4)
            .map(|y| format!("{}-01-01..{}-12-31", 2026 + y, 2026 + y))
            .collect::<Vec<_>>();
        let refs = all_year.iter().map(String::as_str).collect::<Vec<_>>();
        let c = cal("UTC", &["sat 10:00-11:00"], &refs, &[]);
        assert_eq!(c.add_business(at("2026-01-01T00:00:00Z"), H), None);
        let always = Calendar::always();
        assert_eq!(
            always.add_business(5, i64::MAX),
            None,
            "overflow is not an instant"
        );
        assert_eq!(always.business_ms(10, 5), 0);
    }

    #[test]
    fn bad_calendars_name_every_problem() {
        let spec = CalendarSpec {
            zone: "Mars/Olympus".into(),
            hours: vec![
                "mon-fri".into(),
                "fri-mon 09:00-18:00".into(),
                "mon 18:00-09:00".into(),
                "tue 09:00-13:00,12:00-18:00".into(),
                "wed 25:00-26:00".into(),
                "星期一 09:00-18:00".into(),
            ],
            holidays: vec!["2026-02-30".into(), "2027-01-01..2026-01-01".into()],
            makeup_days: vec!["2026-10-01".into()],
            makeup_hours: Some("9-18".into()),
        };
        let mut spec2 = spec.clone();
        spec2.holidays.push("2026-10-01".into());
        let problems = Calendar::parse(&spec2).expect_err("refused");
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        for f in [
            "zone",
            "hours[0]",
            "hours[1]",
            "hours[2]",
            "hours",
            "hours[4]",
            "hours[5]",
            "holidays[0]",
            "holidays[1]",
            "makeup_days",
            "makeup_hours",
        ] {
            assert!(fields.contains(&f), "{f} missing in {problems:?}");
        }
        assert!(
            problems.iter().any(|(_, m)| m.contains("星期一")),
            "{problems:?}"
        );
        let empty = CalendarSpec {
            zone: "UTC".into(),
            ..Default::default()
        };
        let problems = Calendar::parse(&empty).expect_err("no hours");
        assert!(problems[0].1.contains("24x7"), "{problems:?}");
    }

    fn zones() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "UTC",
            "Asia/Shanghai",
            "America/New_York",
            "Europe/London",
            "Australia/Lord_Howe",
        ])
    }

    /// A random calendar around the DST changes of 2026 with holidays and make-up days.
    fn calendars() -> impl Strategy<Value = Calendar> {
        (
            zones(),
            prop::collection::vec((0usize..7, 0u16..96, 1u16..40), 1..6),
            prop::collection::vec(0i64..60, 0..6),
            prop::collection::vec(0i64..60, 0..3),
        )
            .prop_map(|(zone, spans, holidays, makeup)| {
                let hours = spans
                    .into_iter()
                    .map(|(d, start, len)| {
                        let s = start * 15;
                        let e = (s + len * 15).min(1440);
                        let t = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
                        format!("{} {}-{}", WEEKDAYS[d], t(s), t(e.max(s + 15)))
                    })
                    .collect::<Vec<_>>();
                let day = |n: i64| date_text(at("2026-03-01T00:00:00Z") / DAY_MS + n);
                let holidays: BTreeSet<i64> = holidays.into_iter().collect();
                let makeup: Vec<i64> = makeup
                    .into_iter()
                    .filter(|d| !holidays.contains(d))
                    .collect();
                // Spans of one weekday may overlap in random input: merge them by day.
                let mut week: [Vec<Span>; 7] = Default::default();
                for line in &hours {
                    if let Ok((days, spans)) = weekly_line(line) {
                        for d in days {
                            week[d].extend(spans.iter().copied());
                        }
                    }
                }
                let hours = week
                    .iter_mut()
                    .enumerate()
                    .filter(|(_, s)| !s.is_empty())
                    .map(|(d, s)| {
                        s.sort_unstable();
                        let mut merged: Vec<Span> = Vec::new();
                        for &(a, b) in s.iter() {
                            match merged.last_mut() {
                                Some(l) if l.1 >= a => l.1 = l.1.max(b),
                                _ => merged.push((a, b)),
                            }
                        }
                        let text: Vec<String> = merged.into_iter().map(span_text).collect();
                        format!("{} {}", WEEKDAYS[d], text.join(","))
                    })
                    .collect();
                Calendar::parse(&CalendarSpec {
                    zone: zone.into(),
                    hours,
                    holidays: holidays.iter().map(|d| day(*d)).collect(),
                    makeup_days: makeup.into_iter().map(day).collect(),
                    makeup_hours: Some("10:00-16:00".into()),
                })
                .expect("generated calendar is valid")
            })
    }

    /// Whether an instant is working time, decided from its wall-clock date and time in the
    /// zone (independent of how the calendar converts hours to instants).
    fn open_by_wall_clock(c: &Calendar, t: i64) -> bool {
        let rules = c.rules.as_ref().expect("rules");
        let ts = jiff::Timestamp::from_millisecond(t).expect("instant");
        let dt = rules.zone.to_datetime(ts);
        let day = day_of(&dt.date().to_string()).expect("date");
        let minute = dt.hour() as u16 * 60 + dt.minute() as u16;
        rules
            .spans(day)
            .iter()
            .any(|&(s, e)| s <= minute && minute < e)
    }

    /// How many times the zone's offset changes in `[from, to)`, probed every minute.
    fn offset_changes(c: &Calendar, from: i64, to: i64) -> i64 {
        let rules = c.rules.as_ref().expect("rules");
        let off = |t: i64| {
            rules
                .zone
                .to_offset(jiff::Timestamp::from_millisecond(t).expect("instant"))
        };
        let mut n = 0;
        let mut t = from;
        while t + 60_000 < to {
            n += i64::from(off(t) != off(t + 60_000));
            t += 60_000;
        }
        n
    }

    const START: i64 = 1_772_323_200_000; // 2026-03-01T00:00:00Z

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// The clock never runs outside business hours: over any span, business time is the
        /// count of working minutes in it (checked minute by minute against the rules).
        #[test]
        fn business_time_is_the_working_minutes(c in calendars(), a in 0i64..(60 * 1440), len in 0i64..(4 * 1440)) {
            let from = START + a * 60_000;
            let to = from + len * 60_000;
            let minutes = (0..len).filter(|m| open_by_wall_clock(&c, from + m * 60_000 + 30_000)).count() as i64;
            let got = c.business_ms(from, to);
            prop_assert!(got <= to - from);
            // Only a daylight-saving change may make a span's wall-clock hours differ from
            // the instants it holds (a repeated hour counts once at a span's end).
            let slack = offset_changes(&c, from, to) * 3_600_000;
            prop_assert!((got - minutes * 60_000).abs() <= slack, "{got} vs {minutes} min");
        }

        /// Splitting a span anywhere (pausing and resuming) neither loses nor gains time, and
        /// adding business time lands exactly where that much has passed.
        #[test]
        fn pauses_neither_lose_nor_gain_time(c in calendars(), a in 0i64..(60 * 86_400), cuts in prop::collection::vec(0i64..(20 * 86_400), 0..8), need in 1i64..(40 * 3600)) {
            let from = START + a * 1000;
            let mut points: Vec<i64> = cuts.into_iter().map(|c| from + c * 1000).collect();
            points.push(from);
            points.push(from + 20 * 86_400_000);
            points.sort_unstable();
            let whole = c.business_ms(from, *points.last().unwrap_or(&from));
            let parts: i64 = points.windows(2).map(|w| c.business_ms(w[0], w[1])).sum();
            prop_assert_eq!(whole, parts);
            // Alternate running and paused segments: both together are the whole.
            let running: i64 = points.windows(2).step_by(2).map(|w| c.business_ms(w[0], w[1])).sum();
            let paused: i64 = points.windows(2).skip(1).step_by(2).map(|w| c.business_ms(w[0], w[1])).sum();
            prop_assert_eq!(running + paused, whole);
            if let Some(due) = c.add_business(from, need * 1000) {
                prop_assert_eq!(c.business_ms(from, due), need * 1000);
                prop_assert!(c.is_open(due - 1), "the target is reached in working time");
            }
        }
    }
}
