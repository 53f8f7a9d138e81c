//! `[[notifiers]]`: the raw TOML mirror of a notification channel and its validation.

use super::quiet_hours::QuietHours;
use chainops_core::node_config::SecretSource;
use chainops_core::secret::{Secret, redact_url};
use chainops_core::section::Problems;
use chainops_core::severity::Severity;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

/// One `[[notifiers]]` entry as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawNotifier {
    /// Channel name.
    pub name: Option<String>,
    /// `webhook|slack|dingtalk|wecom|feishu|email|alertmanager`.
    pub kind: Option<String>,
    /// Destination URL (`smtp://` or `smtps://` for email).
    pub url: Option<String>,
    /// Signing secret (webhook, DingTalk, Feishu) or SMTP password (prefer `secret_file`).
    pub secret: Option<String>,
    /// File holding the secret.
    pub secret_file: Option<String>,
    /// Lowest severity sent to this channel.
    pub min_severity: Option<String>,
    /// Request timeout.
    pub timeout: Option<String>,
    /// Daily window holding non-critical notifications, e.g. `"22:00-07:00"`.
    pub quiet_hours: Option<String>,
    /// UTC offset of `quiet_hours`, e.g. `"+08:00"` (default `"+00:00"`).
    pub quiet_hours_utc_offset: Option<String>,
    /// IANA zone of `quiet_hours` (`"Europe/Berlin"`: follows daylight saving); replaces
    /// `quiet_hours_utc_offset`.
    pub quiet_hours_timezone: Option<String>,
    /// Re-notify a firing, unacknowledged alert this often (`"0s"` never).
    pub repeat_interval: Option<String>,
    /// Most messages a minute; more due messages are merged into one digest.
    pub rate_limit_per_minute: Option<u32>,
    /// Email sender address.
    pub from: Option<String>,
    /// Email recipients.
    pub to: Option<Vec<String>>,
    /// SMTP user name (the password is `secret`/`secret_file`).
    pub username: Option<String>,
    /// SMTP transport security: `starttls` (default), `tls` or `none`.
    pub tls: Option<String>,
}

/// Notifier kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifierKind {
    /// Generic JSON webhook signed with HMAC-SHA256.
    Webhook,
    /// Slack incoming webhook.
    Slack,
    /// DingTalk group robot (markdown; optional signing secret).
    Dingtalk,
    /// WeCom (企业微信) group robot (markdown, at most 4096 bytes).
    Wecom,
    /// Feishu/Lark bot (interactive card; optional signing secret).
    Feishu,
    /// Email over SMTP.
    Email,
    /// Prometheus Alertmanager v2 API (`url` is Alertmanager's base URL).
    Alertmanager,
}

impl NotifierKind {
    /// Every kind with its config spelling.
    pub const ALL: &'static [(&'static str, NotifierKind)] = &[
        ("webhook", NotifierKind::Webhook),
        ("slack", NotifierKind::Slack),
        ("dingtalk", NotifierKind::Dingtalk),
        ("wecom", NotifierKind::Wecom),
        ("feishu", NotifierKind::Feishu),
        ("email", NotifierKind::Email),
        ("alertmanager", NotifierKind::Alertmanager),
    ];

    /// Vendor limit on messages a minute (DingTalk and WeCom robots allow 20).
    pub fn default_rate_limit(self) -> Option<u32> {
        match self {
            NotifierKind::Dingtalk | NotifierKind::Wecom => Some(20),
            NotifierKind::Feishu | NotifierKind::Slack => Some(60),
            _ => None,
        }
    }

    /// Whether the channel is a human-facing chat or mail channel (reminders, digests).
    pub fn is_human(self) -> bool {
        !matches!(self, NotifierKind::Webhook | NotifierKind::Alertmanager)
    }
}

/// SMTP transport security.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (required).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption (local relays and tests only).
    None,
}

/// Email settings of an `email` notifier.
#[derive(Debug, Clone, Serialize)]
pub struct EmailConfig {
    /// Sender.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// SMTP user name.
    pub username: Option<String>,
    /// Transport security.
    pub tls: SmtpTls,
}

/// A validated notification channel.
#[derive(Debug, Clone, Serialize)]
pub struct NotifierConfig {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: NotifierKind,
    /// Destination (credentials redacted when shown).
    #[serde(serialize_with = "chainops_core::section::ser_url")]
    pub url: String,
    /// Signing secret or SMTP password.
    pub secret: Option<SecretSource>,
    /// Lowest severity sent.
    pub min_severity: Severity,
    /// Request timeout.
    #[serde(serialize_with = "chainops_core::section::ser_duration")]
    pub timeout: Duration,
    /// Non-critical notifications wait out this window.
    pub quiet_hours: Option<QuietHours>,
    /// Reminder interval for firing, unacknowledged alerts (zero: never).
    #[serde(serialize_with = "chainops_core::section::ser_duration")]
    pub repeat_interval: Duration,
    /// Messages a minute before due notifications are merged into a digest.
    pub rate_limit_per_minute: Option<u32>,
    /// Email settings (`email` only).
    pub email: Option<EmailConfig>,
}

fn is_smtp_url(u: &str) -> bool {
    ["smtp://", "smtps://"].iter().any(|s| {
        u.strip_prefix(s)
            .is_some_and(|r| !r.is_empty() && !r.starts_with(':'))
    })
}

fn is_address(a: &str) -> bool {
    let a = a.trim();
    let addr = match (a.find('<'), a.strip_suffix('>')) {
        (Some(i), Some(inner)) => &inner[i + 1..],
        _ => a,
    };
    matches!(addr.split_once('@'), Some((l, d)) if !l.is_empty() && d.contains('.') && !addr.contains(char::is_whitespace))
}

/// Validates one `[[notifiers]]` entry (`names` catches duplicates).
pub(crate) fn validate_notifier(
    i: usize,
    n: RawNotifier,
    names: &mut HashSet<String>,
    p: &mut Problems,
) -> Option<NotifierConfig> {
    let at = |k: &str| format!("notifiers[{i}].{k}");
    let start = p.len();
    let name = p.identifier(&at("name"), n.name.as_deref());
    if let Some(nm) = &name
        && !names.insert(nm.clone())
    {
        p.add(
            at("name"),
            format!("\"{nm}\" is used by another notifier; names must be unique"),
        );
    }
    let kinds = NotifierKind::ALL
        .iter()
        .map(|(s, _)| *s)
        .collect::<Vec<_>>()
        .join(", ");
    let kind = match n.kind.as_deref() {
        Some(k) => {
            let found = NotifierKind::ALL.iter().find(|(s, _)| *s == k).map(|x| x.1);
            if found.is_none() {
                p.add(
                    at("kind"),
                    format!("\"{k}\" is not a supported notifier kind; use one of: {kinds}"),
                );
            }
            found
        }
        None => {
            p.add(at("kind"), format!("is missing; set one of: {kinds}"));
            None
        }
    };
    let email_kind = kind == Some(NotifierKind::Email);
    let url = match n.url {
        Some(u) if email_kind && is_smtp_url(&u) => Some(u),
        Some(u) if !email_kind && chainops_core::section::is_http_url(&u) => Some(u),
        Some(u) => {
            let want = if email_kind {
                "an smtp:// or smtps:// URL, e.g. \"smtp://mail.example.com:587\""
            } else {
                "an http(s) URL"
            };
            p.add(at("url"), format!("\"{}\" is not {want}", redact_url(&u)));
            None
        }
        None => {
            p.add(at("url"), "is missing");
            None
        }
    };
    let secret = match (n.secret, n.secret_file) {
        (Some(_), Some(_)) => {
            p.add(
                at("secret"),
                "and secret_file are both set; keep only secret_file",
            );
            None
        }
        (Some(s), None) => Some(SecretSource::Inline(Secret::new(s))),
        (None, Some(f)) => Some(SecretSource::File(PathBuf::from(f))),
        (None, None) => None,
    };
    let min_severity = p.severity(
        &at("min_severity"),
        n.min_severity.as_deref(),
        Severity::Info,
    );
    let timeout = p.duration(
        &at("timeout"),
        n.timeout.as_deref(),
        Duration::from_secs(10),
        Duration::from_millis(100),
    );
    let human = kind.is_some_and(NotifierKind::is_human);
    let repeat_interval = p.duration(
        &at("repeat_interval"),
        n.repeat_interval.as_deref(),
        if human {
            Duration::from_secs(4 * 3600)
        } else {
            Duration::ZERO
        },
        Duration::ZERO,
    );
    if !repeat_interval.is_zero() && repeat_interval < Duration::from_secs(60) {
        p.add(
            at("repeat_interval"),
            "is shorter than 1m; reminders that often are noise (use \"0s\" to disable)",
        );
    }
    let rate_limit_per_minute = match n.rate_limit_per_minute {
        Some(0) => {
            p.add(
                at("rate_limit_per_minute"),
                "is 0; set at least 2 (one message plus the digest) or remove it",
            );
            None
        }
        Some(r) => Some(r),
        None => kind.and_then(NotifierKind::default_rate_limit),
    };
    let quiet_hours = match n.quiet_hours.as_deref() {
        None => {
            for (key, set) in [
                ("quiet_hours_utc_offset", n.quiet_hours_utc_offset.is_some()),
                ("quiet_hours_timezone", n.quiet_hours_timezone.is_some()),
            ] {
                if set {
                    p.add(
                        at(key),
                        "only applies with quiet_hours; set quiet_hours or remove it",
                    );
                }
            }
            None
        }
        Some(_) if n.quiet_hours_utc_offset.is_some() && n.quiet_hours_timezone.is_some() => {
            p.add(
                at("quiet_hours_timezone"),
                "set either quiet_hours_timezone or quiet_hours_utc_offset, not both",
            );
            None
        }
        Some(w) => QuietHours::parse(w, n.quiet_hours_utc_offset.as_deref().unwrap_or("+00:00"))
            .map_err(|m| p.add(at("quiet_hours"), m))
            .ok()
            .and_then(|q| match n.quiet_hours_timezone.as_deref() {
                None => Some(q),
                Some(z) => chainops_core::cron::zone_named(z)
                    .map(|z| q.in_zone(z))
                    .map_err(|e| p.add(at("quiet_hours_timezone"), e))
                    .ok(),
            }),
    };
    let email = email_settings(email_kind, &n.from, &n.to, n.username, n.tls, &at, p);
    if p.len() != start {
        return None;
    }
    Some(NotifierConfig {
        name: name?,
        kind: kind?,
        url: url?,
        secret,
        min_severity,
        timeout,
        quiet_hours,
        repeat_interval,
        rate_limit_per_minute,
        email,
    })
}

fn email_settings(
    email_kind: bool,
    from: &Option<String>,
    to: &Option<Vec<String>>,
    username: Option<String>,
    tls: Option<String>,
    at: &dyn Fn(&str) -> String,
    p: &mut Problems,
) -> Option<EmailConfig> {
    if !email_kind {
        for (key, set) in [
            ("from", from.is_some()),
            ("to", to.is_some()),
            ("username", username.is_some()),
            ("tls", tls.is_some()),
        ] {
            if set {
                p.add(at(key), "only applies to kind = \"email\"; remove it");
            }
        }
        return None;
    }
    let from = match from {
        Some(f) if is_address(f) => Some(f.clone()),
        Some(f) => {
            p.add(at("from"), format!("\"{f}\" is not an email address"));
            None
        }
        None => {
            p.add(
                at("from"),
                "is missing; set the sender, e.g. \"chainops@example.com\"",
            );
            None
        }
    };
    let to = match to.as_deref() {
        None | Some([]) => {
            p.add(at("to"), "is missing; list at least one recipient");
            None
        }
        Some(list) => {
            for (j, a) in list.iter().enumerate() {
                if !is_address(a) {
                    p.add(
                        at(&format!("to[{j}]")),
                        format!("\"{a}\" is not an email address"),
                    );
                }
            }
            Some(list.to_vec())
        }
    };
    let tls = match tls.as_deref() {
        None | Some("starttls") => SmtpTls::Starttls,
        Some("tls") => SmtpTls::Tls,
        Some("none") => SmtpTls::None,
        Some(t) => {
            p.add(
                at("tls"),
                format!("\"{t}\" is not a TLS mode; use starttls, tls or none"),
            );
            SmtpTls::Starttls
        }
    };
    Some(EmailConfig {
        from: from?,
        to: to?,
        username,
        tls,
    })
}

/// Rewrites a serialized [`NotifierConfig`] into the keys `[[notifiers]]` takes (secret,
/// quiet hours, email settings), for `config show`, whose output must paste back.
pub fn file_shape(n: &mut toml::Table) {
    use toml::Value;
    let secret = n.remove("secret");
    chainops_core::node_config::secret_file_shape(n, secret.as_ref(), "secret", "secret_file");
    if let Some(Value::Table(q)) = n.remove("quiet_hours") {
        let hm = |k: &str| q.get(k).and_then(Value::as_integer).unwrap_or(0);
        let fmt = |m: i64| format!("{:02}:{:02}", m / 60, m % 60);
        n.insert(
            "quiet_hours".into(),
            Value::String(format!("{}-{}", fmt(hm("start_min")), fmt(hm("end_min")))),
        );
        match q.get("zone") {
            Some(z) => {
                n.insert("quiet_hours_timezone".into(), z.clone());
            }
            None => {
                let off = hm("utc_offset_min");
                let sign = if off < 0 { '-' } else { '+' };
                n.insert(
                    "quiet_hours_utc_offset".into(),
                    Value::String(format!("{sign}{}", fmt(off.abs()))),
                );
            }
        }
    }
    if let Some(Value::Table(email)) = n.remove("email") {
        n.extend(email);
    }
}

#[cfg(test)]
mod tests {
    use crate::config::from_toml;

    fn problems(toml: &str) -> String {
        match from_toml(toml) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn every_kind_validates_with_its_own_requirements() {
        let ok = r#"
[[notifiers]]
name = "ding"
kind = "dingtalk"
url = "https://oapi.dingtalk.com/robot/send?access_token=x"
secret = "SEC123"
[[notifiers]]
name = "mail"
kind = "email"
url = "smtp://127.0.0.1:2525"
from = "chainops@example.com"
to = ["ops@example.com", "On Call <oncall@example.com>"]
tls = "none"
"#;
        let c = from_toml(ok).expect("valid");
        let n = &c.notifiers;
        assert_eq!(n[0].rate_limit_per_minute, Some(20));
        assert_eq!(n[0].repeat_interval.as_secs(), 4 * 3600);
        assert_eq!(n[1].email.as_ref().map(|e| e.to.len()), Some(2));
    }

    #[test]
    fn errors_name_the_field_and_the_fix() {
        let e = problems(
            r#"
[[notifiers]]
name = "mail"
kind = "email"
url = "http://x"
to = ["nobody"]
[[notifiers]]
name = "hook"
kind = "webhook"
url = "http://x"
from = "a@b.c"
repeat_interval = "5s"
[[notifiers]]
name = "x"
kind = "pager"
url = "http://x"
"#,
        );
        for want in [
            "notifiers[0].url: \"http://x\" is not an smtp:// or smtps:// URL",
            "notifiers[0].from: is missing",
            "notifiers[0].to[0]: \"nobody\" is not an email address",
            "notifiers[1].from: only applies to kind = \"email\"",
            "notifiers[1].repeat_interval: is shorter than 1m",
            "notifiers[2].kind: \"pager\" is not a supported notifier kind; use one of: webhook, slack",
        ] {
            assert!(e.contains(want), "missing {want:?} in:\n{e}");
        }
    }

    #[test]
    fn quiet_hours_in_a_time_zone() {
        let hook = |extra: &str| {
            format!(
                "[[notifiers]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://x\"\n{extra}"
            )
        };
        let c = from_toml(&hook(
            "quiet_hours = \"22:00-07:00\"\nquiet_hours_timezone = \"Europe/Berlin\"\n",
        ))
        .expect("valid");
        let q = c.notifiers[0].quiet_hours.as_ref().expect("window");
        assert_eq!(
            q.zone.as_ref().and_then(|z| z.iana_name()),
            Some("Europe/Berlin")
        );
        let e = problems(&hook(
            "quiet_hours = \"22:00-07:00\"\nquiet_hours_timezone = \"Nowhere/Land\"\n",
        ));
        assert!(
            e.contains("notifiers[0].quiet_hours_timezone: \"Nowhere/Land\" is not a time zone"),
            "{e}"
        );
        let e = problems(&hook(
            "quiet_hours = \"22:00-07:00\"\nquiet_hours_timezone = \"UTC\"\nquiet_hours_utc_offset = \"+01:00\"\n",
        ));
        assert!(e.contains("not both"), "{e}");
        let e = problems(&hook("quiet_hours_timezone = \"UTC\"\n"));
        assert!(
            e.contains("notifiers[0].quiet_hours_timezone: only applies with quiet_hours"),
            "{e}"
        );
    }
}
