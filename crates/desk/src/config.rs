//! `[support]`: the portal's limits, categories and teams, business-hours calendars
//! (`[support.calendars.NAME]`) and SLA policies (`[[support.sla]]`).
//!
//! ```toml
//! [support]
//! categories = ["general", "rpc", "node", "contract"]
//! teams = ["tier1", "tier2"]
//!
//! [support.calendars.office]
//! zone = "Asia/Shanghai"
//! hours = ["mon-fri 09:00-12:00,13:00-18:00"]
//! holidays = ["2026-10-01..2026-10-07"]
//! makeup_days = ["2026-09-27", "2026-10-10"]
//!
//! [[support.sla]]
//! priority = "P1"
//! calendar = "24x7"
//! first_response = "30m"
//! next_response = "1h"
//! resolution = "4h"
//! escalate_to = "tier2"
//! ```

use crate::calendar::{Calendar, CalendarSpec};
use crate::sla::{Policy, Targets};
use crate::tickets::Priority;
use chainops_core::duration::parse_duration;
use chainops_core::section::{Problems, parse_size};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Name of the around-the-clock calendar.
pub const ALWAYS: &str = "24x7";
/// Largest attachment a config may allow (the API refuses bodies over 16 MiB anyway).
pub const MAX_ATTACHMENT_LIMIT: u64 = 16 << 20;

/// `[support]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSupport {
    /// Whether the public portal at `/support` takes tickets (default true).
    pub portal: Option<bool>,
    /// Ticket categories requesters choose from.
    pub categories: Option<Vec<String>>,
    /// Teams tickets are assigned to; the first is where new tickets go.
    pub teams: Option<Vec<String>>,
    /// Largest attachment (`5MB`).
    pub max_attachment_size: Option<String>,
    /// Most attachments on one message.
    pub max_attachments: Option<u32>,
    /// File name extensions attachments may have.
    pub attachment_types: Option<Vec<String>>,
    /// Tickets one address (IP or email) may open on the portal per hour.
    pub portal_tickets_per_hour: Option<u32>,
    /// Notifiers SLA warnings and breaches go to (default: every notifier).
    pub notify: Option<Vec<String>>,
    /// Notifiers (webhooks of partners, chat groups) that receive every status-page incident
    /// update and scheduled maintenance (default: none).
    pub status_notify: Option<Vec<String>>,
    /// The email notifier whose SMTP server mails requesters (none: no mail to requesters).
    pub email_notifier: Option<String>,
    /// How long a private ticket link stays valid after the ticket closes.
    pub link_lifetime: Option<String>,
    /// The key that wraps requesters' keys (default `<data_dir>/support.key`).
    pub key_file: Option<String>,
    /// How often every active ticket's clocks are recomputed (default 30s).
    pub check_interval: Option<String>,
    /// Business-hours calendars by name.
    pub calendars: BTreeMap<String, RawCalendar>,
    /// SLA policies.
    pub sla: Option<Vec<RawPolicy>>,
    /// Canned replies staff pick from.
    pub canned: Option<Vec<RawCanned>>,
    /// The support mailbox polled over IMAP (none: no email in).
    pub mailbox: Option<RawMailbox>,
    /// How long each class of support data is kept.
    pub retention: Option<RawRetention>,
    /// When a status-page incident is resolved, its linked active tickets get its last
    /// update as a public reply (`notify`, the default), are also solved (`solve`), or
    /// nothing happens (`off`).
    pub on_incident_resolved: Option<String>,
}

/// `[support.retention]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRetention {
    /// Solved and closed tickets (messages, history, attachments, CSAT) this long after their
    /// last change.
    pub tickets: Option<String>,
    /// Attachments of solved and closed tickets this long after the ticket's last change.
    pub attachments: Option<String>,
    /// Survey answers (CSAT, NPS) and NPS invitations.
    pub surveys: Option<String>,
    /// `"cn"`: refuse any of them shorter than 180 days.
    pub compliance: Option<String>,
}

/// Validated `[support.retention]`: `None` keeps a class for ever.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Retention {
    /// Tickets.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_duration"
    )]
    pub tickets: Option<Duration>,
    /// Attachments.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_duration"
    )]
    pub attachments: Option<Duration>,
    /// Surveys.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_duration"
    )]
    pub surveys: Option<Duration>,
    /// Compliance profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compliance: Option<String>,
}

fn ser_opt_duration<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => chainops_core::section::ser_duration(d, s),
        None => s.serialize_none(),
    }
}

/// The shortest retention `compliance = "cn"` allows.
pub const CN_MIN_RETENTION: Duration = Duration::from_secs(180 * 86_400);

fn retention(raw: RawRetention, p: &mut Problems) -> Retention {
    let mut class = |key: &str, v: Option<String>| -> Option<Duration> {
        let v = v?;
        let path = format!("support.retention.{key}");
        let d = p.duration(&path, Some(&v), Duration::ZERO, Duration::from_secs(86_400));
        if d.is_zero() {
            return None;
        }
        if raw.compliance.as_deref() == Some("cn") && d < CN_MIN_RETENTION {
            p.add(
                &path,
                "is shorter than 180d, which compliance = \"cn\" refuses (Cybersecurity Law art. 21, MLPS 2.0)",
            );
        }
        Some(d)
    };
    let r = Retention {
        tickets: class("tickets", raw.tickets),
        attachments: class("attachments", raw.attachments),
        surveys: class("surveys", raw.surveys),
        compliance: raw.compliance.clone(),
    };
    if let Some(c) = raw.compliance.as_deref().filter(|c| *c != "cn") {
        p.add(
            "support.retention.compliance",
            format!(
                "\"{}\" is not a profile; use \"cn\" or remove it",
                crate::notices::shown(c)
            ),
        );
    }
    if let (Some(t), Some(a)) = (r.tickets, r.attachments)
        && a > t
    {
        p.add(
            "support.retention.attachments",
            "is longer than support.retention.tickets; attachments go with their ticket",
        );
    }
    r
}

/// `[support.mailbox]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawMailbox {
    /// `imaps://host[:993]` or `imap://host[:143]`.
    pub url: Option<String>,
    /// `tls` (the default for `imaps://`), `starttls` (the default for `imap://`) or `none`.
    pub tls: Option<String>,
    /// IMAP user name.
    pub username: Option<String>,
    /// File holding the IMAP password.
    pub password_file: Option<String>,
    /// Folder polled (default `INBOX`).
    pub folder: Option<String>,
    /// The support address requesters write to: the `Reply-To` of mail to requesters; mail
    /// from it is never imported.
    pub address: Option<String>,
    /// Category of tickets opened by mail (default the first of `support.categories`).
    pub category: Option<String>,
    /// How often the mailbox is polled (default 60s).
    pub poll_interval: Option<String>,
    /// Largest mail imported (default 25MB); larger mail is left in the mailbox, unseen.
    pub max_message_size: Option<String>,
    /// Longest wait for one IMAP step before the poll is given up (default 60s).
    pub timeout: Option<String>,
}

/// IMAP transport security.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImapTls {
    /// TLS from the first byte (`imaps://`, port 993).
    Tls,
    /// A plain connection upgraded with STARTTLS (required).
    Starttls,
    /// No encryption (a mail server on the same host, tests).
    None,
}

/// Validated `[support.mailbox]`.
#[derive(Debug, Clone, Serialize)]
pub struct MailboxConfig {
    /// As written (for `config show`).
    pub url: String,
    /// Host.
    #[serde(skip)]
    pub host: String,
    /// Port.
    #[serde(skip)]
    pub port: u16,
    /// Transport security.
    pub tls: ImapTls,
    /// User name.
    pub username: String,
    /// Password file.
    pub password_file: std::path::PathBuf,
    /// Folder.
    pub folder: String,
    /// The support address (`""`: none).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub address: String,
    /// Category of mailed tickets.
    pub category: String,
    /// Poll interval.
    #[serde(serialize_with = "chainops_core::section::ser_duration")]
    pub poll_interval: Duration,
    /// Largest mail imported, bytes.
    #[serde(serialize_with = "ser_size")]
    pub max_message_size: u64,
    /// Longest wait for one IMAP step.
    #[serde(serialize_with = "chainops_core::section::ser_duration")]
    pub timeout: Duration,
}

/// Largest mail a config may allow.
pub const MAX_MESSAGE_LIMIT: u64 = 100 << 20;

fn mailbox(raw: RawMailbox, categories: &[String], p: &mut Problems) -> Option<MailboxConfig> {
    let at = |k: &str| format!("support.mailbox.{k}");
    let before = p.len();
    let url = raw.url.unwrap_or_default();
    let (scheme, rest) = url.split_once("://").unwrap_or(("", ""));
    let implicit = match scheme {
        "imaps" => true,
        "imap" => false,
        _ => {
            p.add(
                at("url"),
                format!(
                    "\"{}\" is not an IMAP URL; write imaps://mail.example.com (TLS, port 993) or imap://mail.example.com (STARTTLS, port 143)",
                    crate::notices::shown(&url)
                ),
            );
            true
        }
    };
    let authority = rest.trim_end_matches('/');
    let (host, port) = match authority
        .rsplit_once(':')
        .filter(|_| !authority.ends_with(']'))
    {
        Some((h, port)) => (h, port.parse::<u16>().ok().filter(|p| *p > 0)),
        None => (authority, Some(if implicit { 993 } else { 143 })),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
    if p.len() == before && (!host_ok || port.is_none() || authority.contains(['/', '@', '?'])) {
        p.add(
            at("url"),
            "needs a host and an optional port, nothing else (the user name is `username`, the password `password_file`)",
        );
    }
    let tls = match raw.tls.as_deref() {
        None if implicit => ImapTls::Tls,
        None | Some("starttls") => ImapTls::Starttls,
        Some("tls") => ImapTls::Tls,
        Some("none") => ImapTls::None,
        Some(t) => {
            p.add(
                at("tls"),
                format!(
                    "\"{}\" is not a TLS mode; use tls, starttls or none",
                    crate::notices::shown(t)
                ),
            );
            ImapTls::Tls
        }
    };
    if implicit && tls != ImapTls::Tls {
        p.add(
            at("tls"),
            "imaps:// is TLS from the first byte; drop tls, or write imap://",
        );
    }
    let username = raw.username.unwrap_or_default();
    if username.trim().is_empty() || username.chars().any(char::is_control) {
        p.add(
            at("username"),
            "is missing; the IMAP login of the support mailbox",
        );
    }
    let password_file = raw.password_file.unwrap_or_default();
    if password_file.trim().is_empty() {
        p.add(
            at("password_file"),
            "is missing; a file holding the IMAP password (passwords are not written in the config)",
        );
    }
    let folder = raw.folder.unwrap_or_else(|| "INBOX".into());
    if folder.is_empty()
        || folder.len() > 200
        || folder
            .chars()
            .any(|c| c.is_control() || c == '"' || c == '\\')
    {
        p.add(
            at("folder"),
            "must be a folder name such as INBOX (no quotes, backslashes or control characters)",
        );
    }
    let address = match raw.address {
        None => String::new(),
        Some(a) => match crate::tickets::email(&a) {
            Ok(a) => a,
            Err(e) => {
                p.add(at("address"), e.0);
                String::new()
            }
        },
    };
    let category = match raw.category {
        None => categories.first().cloned().unwrap_or_default(),
        Some(c) if categories.contains(&c) => c,
        Some(c) => {
            p.add(
                at("category"),
                format!(
                    "\"{}\" is not in support.categories ({})",
                    crate::notices::shown(&c),
                    categories.join(", ")
                ),
            );
            c
        }
    };
    let poll_interval = p.duration(
        &at("poll_interval"),
        raw.poll_interval.as_deref(),
        Duration::from_secs(60),
        Duration::from_secs(1),
    );
    let max_message_size = match raw.max_message_size.as_deref().map(parse_size) {
        None => 25 << 20,
        Some(Ok(n)) if (1024..=MAX_MESSAGE_LIMIT).contains(&n) => n,
        Some(Ok(_)) => {
            p.add(at("max_message_size"), "must be between 1KB and 100MB");
            25 << 20
        }
        Some(Err(m)) => {
            p.add(at("max_message_size"), m);
            25 << 20
        }
    };
    let timeout = p.duration(
        &at("timeout"),
        raw.timeout.as_deref(),
        Duration::from_secs(60),
        Duration::from_secs(1),
    );
    (p.len() == before).then(|| MailboxConfig {
        timeout,
        url: url.clone(),
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        port: port.unwrap_or(993),
        tls,
        username,
        password_file: std::path::PathBuf::from(password_file),
        folder,
        address,
        category,
        poll_interval,
        max_message_size,
    })
}

/// `[[support.canned]]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCanned {
    /// What staff see in the list.
    pub title: Option<String>,
    /// The reply (Markdown).
    pub body: Option<String>,
}

/// A canned reply.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Canned {
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
}

/// `[support.calendars.NAME]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCalendar {
    /// IANA zone.
    pub zone: Option<String>,
    /// Weekly hours (`"mon-fri 09:00-18:00"`).
    pub hours: Option<Vec<String>>,
    /// Days off.
    pub holidays: Option<Vec<String>>,
    /// Make-up working days (调休).
    pub makeup_days: Option<Vec<String>>,
    /// Hours of a make-up day (Monday's by default).
    pub makeup_hours: Option<String>,
}

/// `[[support.sla]]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawPolicy {
    /// `P1` … `P4`.
    pub priority: Option<String>,
    /// Only tickets of this category.
    pub category: Option<String>,
    /// Calendar name or `24x7` (default).
    pub calendar: Option<String>,
    /// First response target.
    pub first_response: Option<String>,
    /// Next response target.
    pub next_response: Option<String>,
    /// Resolution target.
    pub resolution: Option<String>,
    /// Team a breached ticket moves to.
    pub escalate_to: Option<String>,
}

/// Validated `[support]`.
#[derive(Debug, Clone, Serialize)]
pub struct SupportConfig {
    /// The public portal takes tickets.
    pub portal: bool,
    /// Categories.
    pub categories: Vec<String>,
    /// Teams; the first takes new tickets.
    pub teams: Vec<String>,
    /// Largest attachment, bytes.
    #[serde(serialize_with = "ser_size")]
    pub max_attachment_size: u64,
    /// Most attachments per message.
    pub max_attachments: u32,
    /// Allowed extensions, lower case, without the dot.
    pub attachment_types: Vec<String>,
    /// Portal tickets per address per hour.
    pub portal_tickets_per_hour: u32,
    /// Notifier names for SLA notices (empty: all).
    pub notify: Vec<String>,
    /// Notifier names that receive status-page news (empty: none).
    pub status_notify: Vec<String>,
    /// The email notifier that mails requesters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_notifier: Option<String>,
    /// Private links stop working this long after the ticket closes.
    #[serde(serialize_with = "chainops_core::section::ser_duration")]
    pub link_lifetime: Duration,
    /// The key-encryption key's file (created by `serve` when missing).
    pub key_file: std::path::PathBuf,
    /// How often the SLA pass runs.
    #[serde(serialize_with = "chainops_core::section::ser_duration")]
    pub check_interval: Duration,
    /// Calendars as written (for `config show`).
    #[serde(serialize_with = "ser_calendars")]
    pub calendars: BTreeMap<String, CalendarSpec>,
    /// SLA policies.
    #[serde(serialize_with = "ser_policies")]
    pub sla: Vec<Policy>,
    /// Canned replies.
    pub canned: Vec<Canned>,
    /// The support mailbox (email in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mailbox: Option<MailboxConfig>,
    /// How long each class of support data is kept.
    pub retention: Retention,
    /// `notify`, `solve` or `off`.
    pub on_incident_resolved: String,
}

impl Default for SupportConfig {
    fn default() -> Self {
        let mut p = Problems::default();
        validate(RawSupport::default(), std::path::Path::new("."), &mut p)
    }
}

/// Default categories.
pub const CATEGORIES: [&str; 5] = ["general", "rpc", "node", "contract", "account"];
/// Default attachment extensions: pictures, text, logs, PDF, JSON, archives.
pub const ATTACHMENT_TYPES: [&str; 11] = [
    "png", "jpg", "jpeg", "gif", "webp", "pdf", "txt", "log", "json", "csv", "zip",
];

/// Default targets per priority, around the clock: (first response, next response,
/// resolution) in minutes.
const DEFAULT_TARGETS: [(Priority, i64, i64, i64); 4] = [
    (Priority::P1, 30, 60, 4 * 60),
    (Priority::P2, 2 * 60, 4 * 60, 24 * 60),
    (Priority::P3, 8 * 60, 24 * 60, 3 * 24 * 60),
    (Priority::P4, 24 * 60, 2 * 24 * 60, 7 * 24 * 60),
];

fn names(p: &mut Problems, path: &str, list: Option<Vec<String>>, default: &[&str]) -> Vec<String> {
    let list = list.unwrap_or_else(|| default.iter().map(|s| s.to_string()).collect());
    if list.is_empty() {
        p.add(path, "is empty; list at least one");
    }
    let mut out: Vec<String> = Vec::new();
    for (i, n) in list.iter().enumerate() {
        if let Some(n) = p.identifier(&format!("{path}[{i}]"), Some(n)) {
            if out.contains(&n) {
                p.add(format!("{path}[{i}]"), format!("\"{n}\" is listed twice"));
            } else {
                out.push(n);
            }
        }
    }
    out
}

/// Validates the section, reporting every problem into `p`.
pub fn validate(raw: RawSupport, data_dir: &std::path::Path, p: &mut Problems) -> SupportConfig {
    let categories = names(p, "support.categories", raw.categories, &CATEGORIES);
    let teams = names(p, "support.teams", raw.teams, &["support"]);
    let max_attachment_size = match raw.max_attachment_size.as_deref().map(parse_size) {
        None => 5 << 20,
        Some(Ok(n)) if (1..=MAX_ATTACHMENT_LIMIT).contains(&n) => n,
        Some(Ok(_)) => {
            p.add(
                "support.max_attachment_size",
                "must be between 1 byte and 16MB",
            );
            5 << 20
        }
        Some(Err(m)) => {
            p.add("support.max_attachment_size", m);
            5 << 20
        }
    };
    let max_attachments = raw.max_attachments.unwrap_or(5);
    if max_attachments > 20 {
        p.add("support.max_attachments", "at most 20");
    }
    let attachment_types = raw
        .attachment_types
        .unwrap_or_else(|| ATTACHMENT_TYPES.iter().map(|s| s.to_string()).collect())
        .into_iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let t = t.trim().trim_start_matches('.').to_ascii_lowercase();
            let ok = (1..=10).contains(&t.len()) && t.chars().all(|c| c.is_ascii_alphanumeric());
            if !ok {
                p.add(
                    format!("support.attachment_types[{i}]"),
                    format!("\"{t}\" is not a file extension such as png or pdf"),
                );
            }
            ok.then_some(t)
        })
        .collect();
    let portal_tickets_per_hour = raw.portal_tickets_per_hour.unwrap_or(5);
    if !(1..=10_000).contains(&portal_tickets_per_hour) {
        p.add(
            "support.portal_tickets_per_hour",
            "must be between 1 and 10000",
        );
    }
    let link_lifetime = p.duration(
        "support.link_lifetime",
        raw.link_lifetime.as_deref(),
        Duration::from_secs(30 * 86_400),
        Duration::from_secs(3600),
    );
    let mut calendars = BTreeMap::new();
    let mut built: BTreeMap<String, Arc<Calendar>> = BTreeMap::new();
    built.insert(ALWAYS.into(), Arc::new(Calendar::always()));
    for (name, c) in raw.calendars {
        let path = format!("support.calendars.{name}");
        if name == ALWAYS {
            p.add(
                &path,
                "\"24x7\" is the built-in around-the-clock calendar; pick another name",
            );
            continue;
        }
        if p.identifier(&path, Some(&name)).is_none() {
            continue;
        }
        let spec = CalendarSpec {
            zone: c.zone.unwrap_or_default(),
            hours: c.hours.unwrap_or_default(),
            holidays: c.holidays.unwrap_or_default(),
            makeup_days: c.makeup_days.unwrap_or_default(),
            makeup_hours: c.makeup_hours,
        };
        match Calendar::parse(&spec) {
            Ok(cal) => {
                built.insert(name.clone(), Arc::new(cal));
            }
            Err(problems) => {
                for (field, m) in problems {
                    p.add(format!("{path}.{field}"), m);
                }
            }
        }
        calendars.insert(name, spec);
    }
    let sla = match raw.sla {
        None => DEFAULT_TARGETS
            .iter()
            .map(|&(priority, f, n, r)| Policy {
                name: priority.as_str().to_string(),
                priority,
                category: None,
                targets: Targets {
                    first_response: Some(f * 60_000),
                    next_response: Some(n * 60_000),
                    resolution: Some(r * 60_000),
                },
                calendar: Arc::new(Calendar::always()),
                calendar_name: ALWAYS.into(),
                escalate_to: None,
            })
            .collect(),
        Some(list) => policies(list, &built, &categories, &teams, p),
    };
    let mut canned = Vec::new();
    for (i, c) in raw.canned.unwrap_or_default().into_iter().enumerate() {
        let at = |k: &str| format!("support.canned[{i}].{k}");
        let title = c.title.unwrap_or_default();
        let body = c.body.unwrap_or_default();
        if title.trim().is_empty() || title.chars().count() > 100 {
            p.add(at("title"), "must be 1-100 characters");
        }
        if body.trim().is_empty() || body.chars().count() > crate::tickets::MAX_BODY {
            p.add(
                at("body"),
                "must hold the reply (at most 50,000 characters)",
            );
        }
        canned.push(Canned {
            title: title.trim().to_string(),
            body,
        });
    }
    let mailbox = raw.mailbox.and_then(|m| mailbox(m, &categories, p));
    let on_incident_resolved = raw.on_incident_resolved.unwrap_or_else(|| "notify".into());
    if !["notify", "solve", "off"].contains(&on_incident_resolved.as_str()) {
        p.add(
            "support.on_incident_resolved",
            format!(
                "\"{}\" is not one of notify, solve, off",
                crate::notices::shown(&on_incident_resolved)
            ),
        );
    }
    SupportConfig {
        on_incident_resolved,
        retention: retention(raw.retention.unwrap_or_default(), p),
        mailbox,
        canned,
        portal: raw.portal.unwrap_or(true),
        categories,
        teams,
        max_attachment_size,
        max_attachments,
        attachment_types,
        portal_tickets_per_hour,
        notify: raw.notify.unwrap_or_default(),
        status_notify: raw.status_notify.unwrap_or_default(),
        email_notifier: raw.email_notifier,
        link_lifetime,
        check_interval: p.duration(
            "support.check_interval",
            raw.check_interval.as_deref(),
            Duration::from_secs(30),
            Duration::from_secs(1),
        ),
        key_file: match raw.key_file.filter(|f| !f.trim().is_empty()) {
            Some(f) => std::path::PathBuf::from(f),
            None => data_dir.join("support.key"),
        },
        calendars,
        sla,
    }
}

fn policies(
    list: Vec<RawPolicy>,
    calendars: &BTreeMap<String, Arc<Calendar>>,
    categories: &[String],
    teams: &[String],
    p: &mut Problems,
) -> Vec<Policy> {
    let mut out: Vec<Policy> = Vec::new();
    for (i, r) in list.into_iter().enumerate() {
        let at = |k: &str| format!("support.sla[{i}].{k}");
        let priority = match r.priority.as_deref().map(Priority::parse) {
            Some(Ok(pr)) => Some(pr),
            Some(Err(e)) => {
                p.add(at("priority"), e.0);
                None
            }
            None => {
                p.add(at("priority"), "is missing; use P1, P2, P3 or P4");
                None
            }
        };
        if let Some(c) = r.category.as_ref().filter(|c| !categories.contains(c)) {
            p.add(
                at("category"),
                format!(
                    "\"{c}\" is not in support.categories ({})",
                    categories.join(", ")
                ),
            );
        }
        let cal_name = r.calendar.unwrap_or_else(|| ALWAYS.to_string());
        let calendar = calendars.get(&cal_name).cloned();
        if calendar.is_none() {
            let known: Vec<&str> = calendars.keys().map(String::as_str).collect();
            p.add(
                at("calendar"),
                format!(
                    "\"{cal_name}\" is not a calendar; define [support.calendars.{cal_name}] or use one of {}",
                    known.join(", ")
                ),
            );
        }
        let mut target = |key: &str, v: Option<String>| -> Option<i64> {
            let v = v?;
            match parse_duration(&v) {
                Ok(d) if d >= Duration::from_secs(1) && d <= Duration::from_secs(366 * 86_400) => {
                    i64::try_from(d.as_millis()).ok()
                }
                Ok(_) => {
                    p.add(at(key), format!("\"{v}\" must be between 1s and 366d"));
                    None
                }
                Err(m) => {
                    p.add(at(key), m);
                    None
                }
            }
        };
        let targets = Targets {
            first_response: target("first_response", r.first_response),
            next_response: target("next_response", r.next_response),
            resolution: target("resolution", r.resolution),
        };
        if targets == Targets::default() {
            p.add(
                format!("support.sla[{i}]"),
                "sets no target; give first_response, next_response or resolution",
            );
        }
        if let Some(t) = r.escalate_to.as_ref().filter(|t| !teams.contains(t)) {
            p.add(
                at("escalate_to"),
                format!("\"{t}\" is not in support.teams ({})", teams.join(", ")),
            );
        }
        let (Some(priority), Some(calendar)) = (priority, calendar) else {
            continue;
        };
        if out
            .iter()
            .any(|o| o.priority == priority && o.category == r.category)
        {
            p.add(
                format!("support.sla[{i}]"),
                format!(
                    "a second policy for {} and {}; keep one",
                    priority.as_str(),
                    r.category.as_deref().unwrap_or("every category")
                ),
            );
            continue;
        }
        let name = match &r.category {
            Some(c) => format!("{}/{c}", priority.as_str()),
            None => priority.as_str().to_string(),
        };
        out.push(Policy {
            name,
            priority,
            category: r.category,
            targets,
            calendar,
            calendar_name: cal_name,
            escalate_to: r.escalate_to,
        });
    }
    out
}

/// A size as `[support]` takes it back (a string: `5242880` is bytes).
fn ser_size<S: Serializer>(n: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&n.to_string())
}

fn ser_calendars<S: Serializer>(
    c: &BTreeMap<String, CalendarSpec>,
    s: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Shown<'a> {
        zone: &'a str,
        hours: &'a [String],
        holidays: &'a [String],
        makeup_days: &'a [String],
        #[serde(skip_serializing_if = "Option::is_none")]
        makeup_hours: Option<&'a str>,
    }
    s.collect_map(c.iter().map(|(k, v)| {
        (
            k,
            Shown {
                zone: &v.zone,
                hours: &v.hours,
                holidays: &v.holidays,
                makeup_days: &v.makeup_days,
                makeup_hours: v.makeup_hours.as_deref(),
            },
        )
    }))
}

fn ser_policies<S: Serializer>(list: &[Policy], s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Shown {
        priority: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        category: Option<String>,
        calendar: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        first_response: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        next_response: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        resolution: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        escalate_to: Option<String>,
    }
    let d = |ms: Option<i64>| {
        ms.map(|ms| {
            chainops_core::duration::format_duration(Duration::from_millis(ms.max(0) as u64))
        })
    };
    s.collect_seq(list.iter().map(|p| Shown {
        priority: p.priority.as_str(),
        category: p.category.clone(),
        calendar: p.calendar_name.clone(),
        first_response: d(p.targets.first_response),
        next_response: d(p.targets.next_response),
        resolution: d(p.targets.resolution),
        escalate_to: p.escalate_to.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SupportConfig, Vec<String>> {
        #[derive(Deserialize)]
        struct File {
            #[serde(default)]
            support: RawSupport,
        }
        let file: File = toml::from_str(text).map_err(|e| vec![e.to_string()])?;
        let mut p = Problems::default();
        let c = validate(file.support, std::path::Path::new("/data"), &mut p);
        if p.is_empty() {
            Ok(c)
        } else {
            Err(p
                .0
                .into_iter()
                .map(|x| format!("{}: {}", x.path, x.message))
                .collect())
        }
    }

    #[test]
    fn defaults_measure_every_priority_around_the_clock() {
        let c = parse("").expect("defaults");
        assert!(c.portal);
        assert_eq!(c.sla.len(), 4);
        assert!(c.sla.iter().all(|p| p.calendar.is_always()));
        assert_eq!(c.sla[0].targets.first_response, Some(30 * 60_000));
        assert_eq!(c.max_attachment_size, 5 << 20);
    }

    #[test]
    fn a_china_office_calendar_and_policies() {
        let c = parse(
            r#"
[support]
teams = ["tier1", "tier2"]
[support.calendars.office]
zone = "Asia/Shanghai"
hours = ["mon-fri 09:00-12:00,13:00-18:00"]
holidays = ["2026-10-01..2026-10-07"]
makeup_days = ["2026-09-27", "2026-10-10"]
[[support.sla]]
priority = "P1"
first_response = "30m"
resolution = "4h"
escalate_to = "tier2"
[[support.sla]]
priority = "P3"
calendar = "office"
first_response = "8h"
"#,
        )
        .expect("valid");
        assert_eq!(c.sla.len(), 2);
        assert!(!c.sla[1].calendar.is_always());
        assert_eq!(c.sla[1].targets.next_response, None);
        let shown = toml::to_string(&c).expect("show");
        assert!(shown.contains("calendar = \"office\""), "{shown}");
        assert!(
            shown.contains("makeup_days = [\"2026-09-27\", \"2026-10-10\"]"),
            "{shown}"
        );
    }

    #[test]
    fn every_problem_is_named() {
        let e = parse(
            r#"
[support]
categories = ["rpc", "rpc", "bad name"]
teams = []
max_attachment_size = "1TB"
attachment_types = ["png", "../exe"]
portal_tickets_per_hour = 0
[support.calendars.24x7]
zone = "UTC"
[support.calendars.bad]
zone = "Nowhere/City"
hours = ["mon-fri 9-5"]
[[support.sla]]
priority = "P9"
calendar = "missing"
first_response = "400d"
escalate_to = "nobody"
category = "billing"
[[support.sla]]
priority = "P2"
[[support.sla]]
priority = "P1"
resolution = "1h"
[[support.sla]]
priority = "P1"
resolution = "2h"
"#,
        )
        .expect_err("refused");
        for key in [
            "support.categories[1]",
            "support.categories[2]",
            "support.teams:",
            "support.max_attachment_size",
            "support.attachment_types[1]",
            "support.portal_tickets_per_hour",
            "support.calendars.24x7",
            "support.calendars.bad.zone",
            "support.calendars.bad.hours[0]",
            "support.sla[0].priority",
            "support.sla[0].calendar",
            "support.sla[0].first_response",
            "support.sla[0].escalate_to",
            "support.sla[0].category",
            "support.sla[1]: sets no target",
            "support.sla[3]: a second policy",
        ] {
            assert!(
                e.iter().any(|m| m.starts_with(key)),
                "{key} missing in {e:#?}"
            );
        }
    }

    #[test]
    fn the_mailbox_is_checked_and_shows_back() {
        let c = parse(
            r#"
[support]
[support.mailbox]
url = "imaps://imap.example.cn"
username = "support@example.cn"
password_file = "/etc/chainops/imap.pass"
address = "Support@Example.CN"
"#,
        )
        .expect("valid");
        let m = c.mailbox.as_ref().expect("mailbox");
        assert_eq!(
            (m.host.as_str(), m.port, m.tls),
            ("imap.example.cn", 993, ImapTls::Tls)
        );
        assert_eq!(
            (m.folder.as_str(), m.category.as_str()),
            ("INBOX", "general")
        );
        assert_eq!(m.address, "Support@example.cn");
        let shown = toml::to_string(&c).expect("show");
        let raw: RawSupport = toml::from_str(&shown).expect("pastes back");
        let mut p = Problems::default();
        let again = validate(raw, std::path::Path::new("/data"), &mut p);
        assert!(p.is_empty(), "{shown}");
        assert_eq!(
            again.mailbox.map(|m| (m.url, m.port, m.poll_interval)),
            Some((m.url.clone(), 993, m.poll_interval))
        );
        let plain = parse(
            "[support.mailbox]\nurl = \"imap://[::1]\"\nusername = \"u\"\npassword_file = \"p\"\n",
        )
        .expect("IPv6");
        let m = plain.mailbox.expect("mailbox");
        assert_eq!(
            (m.host.as_str(), m.port, m.tls),
            ("::1", 143, ImapTls::Starttls)
        );
        let e = parse(
            r#"
[support.mailbox]
url = "pop3://mail.example.com"
tls = "maybe"
username = ""
folder = "In\"box"
address = "not mail"
category = "billing"
poll_interval = "0s"
max_message_size = "1GB"
"#,
        )
        .expect_err("refused");
        for key in [
            "url",
            "tls",
            "username",
            "password_file",
            "folder",
            "address",
            "category",
            "poll_interval",
            "max_message_size",
        ] {
            assert!(
                e.iter()
                    .any(|m| m.starts_with(&format!("support.mailbox.{key}"))),
                "{key} missing in {e:#?}"
            );
        }
        for url in [
            "imaps://user:pw@host",
            "imaps://host:99999",
            "imaps://",
            "imaps://host/INBOX",
        ] {
            let e = parse(&format!(
                "[support.mailbox]\nurl = \"{url}\"\nusername = \"u\"\npassword_file = \"p\"\n"
            ))
            .expect_err(url);
            assert!(
                e.iter().any(|m| m.starts_with("support.mailbox.url")),
                "{url}: {e:?}"
            );
        }
        let e = parse("[support.mailbox]\nurl = \"imaps://h\"\ntls = \"none\"\nusername = \"u\"\npassword_file = \"p\"\n").expect_err("imaps without TLS");
        assert!(
            e.iter().any(|m| m.starts_with("support.mailbox.tls")),
            "{e:?}"
        );
    }

    #[test]
    fn retention_per_class_and_the_china_profile() {
        let c = parse("[support.retention]\ntickets = \"3y\"\nattachments = \"1y\"\nsurveys = \"2y\"\ncompliance = \"cn\"\n")
            .expect("valid");
        assert_eq!(
            c.retention.tickets,
            Some(Duration::from_secs(3 * 365 * 86_400))
        );
        let shown = toml::to_string(&c).expect("show");
        assert!(
            shown.contains("[retention]") && shown.contains("compliance = \"cn\""),
            "{shown}"
        );
        assert_eq!(
            parse("").expect("default").retention,
            Retention::default(),
            "kept for ever"
        );
        let e = parse(
            "[support.retention]\ntickets = \"soon\"\nsurveys = \"1h\"\ncompliance = \"eu\"\n",
        )
        .expect_err("refused");
        for key in ["tickets", "surveys", "compliance"] {
            assert!(
                e.iter()
                    .any(|m| m.starts_with(&format!("support.retention.{key}"))),
                "{key}: {e:?}"
            );
        }
        let e = parse("[support.retention]\ntickets = \"90d\"\nattachments = \"200d\"\n")
            .expect_err("longer");
        assert!(
            e.iter()
                .any(|m| m.starts_with("support.retention.attachments")),
            "{e:?}"
        );
        let e =
            parse("[support.retention]\ntickets = \"90d\"\ncompliance = \"cn\"\n").expect_err("cn");
        assert!(e.iter().any(|m| m.contains("180d")), "{e:?}");
    }
}
