//! `[alerting]`, `[[rules]]` and `[[notifiers]]`: raw TOML mirrors and their validation,
//! with the rule expression language ([`rule_expr`]), notifier channels ([`notifier`]) and
//! quiet hours ([`quiet_hours`]) they use.

pub mod notifier;
pub mod quiet_hours;
pub mod rule_expr;

use self::notifier::{NotifierConfig, RawNotifier};
use self::rule_expr::RuleExpr;
use chainops_core::section::Problems;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

pub use chainops_core::severity::Severity;

/// `[alerting]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAlerting {
    /// How often rules are evaluated.
    pub eval_interval: Option<String>,
    /// Load the built-in rule pack.
    pub default_rules: Option<bool>,
    /// Give up on a notification after this long (dead letter).
    pub give_up_after: Option<String>,
    /// Dead-man switch: URL pinged (GET) while rule evaluation runs.
    pub heartbeat_url: Option<String>,
    /// How often the heartbeat URL is pinged.
    pub heartbeat_interval: Option<String>,
}

/// One `[[rules]]` entry as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRule {
    /// Rule name (overrides a default rule of the same name).
    pub name: Option<String>,
    /// `false` disables the rule (useful for default rules).
    pub enabled: Option<bool>,
    /// `critical|warning|info`.
    pub severity: Option<String>,
    /// Condition, e.g. `head_age_seconds > stall_after_seconds`.
    pub expr: Option<String>,
    /// How long the condition must hold before firing.
    #[serde(rename = "for")]
    pub for_: Option<String>,
    /// How long to keep firing after the condition clears (flap damping).
    pub keep_firing_for: Option<String>,
    /// Summary template (`{{node}}`, `{{chain}}`, `{{value}}`, `{{rule}}`).
    pub summary: Option<String>,
    /// Description template.
    pub description: Option<String>,
    /// Runbook link.
    pub runbook_url: Option<String>,
    /// Extra labels.
    pub labels: Option<BTreeMap<String, String>>,
    /// Rules that, while their condition holds for the same node, silence this one.
    pub inhibited_by: Option<Vec<String>>,
}

/// Validated alerting settings.
#[derive(Debug, Clone, Serialize)]
pub struct AlertingConfig {
    /// Evaluation interval.
    #[serde(serialize_with = "chainops_core::section::ser_duration")]
    pub eval_interval: Duration,
    /// Whether the built-in pack is loaded.
    pub default_rules: bool,
    /// Give up delivering a notification after this long.
    #[serde(serialize_with = "chainops_core::section::ser_duration")]
    pub give_up_after: Duration,
    /// Dead-man switch URL (MonitorHeartbeat), credentials redacted when shown.
    #[serde(serialize_with = "chainops_core::section::ser_opt_url")]
    pub heartbeat_url: Option<String>,
    /// Heartbeat period.
    #[serde(serialize_with = "chainops_core::section::ser_duration")]
    pub heartbeat_interval: Duration,
    /// User rules (override default rules by name).
    pub rules: Vec<RuleConfig>,
    /// Notification channels.
    pub notifiers: Vec<NotifierConfig>,
}

/// A validated rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleConfig {
    /// Name.
    pub name: String,
    /// Disabled rules are dropped (and suppress a default of the same name).
    pub enabled: bool,
    /// Severity.
    pub severity: Severity,
    /// Condition (shown as written: `peers < 3`).
    #[serde(serialize_with = "ser_expr")]
    pub expr: Option<RuleExpr>,
    /// Pending time before firing.
    #[serde(
        rename = "for",
        serialize_with = "chainops_core::section::ser_duration"
    )]
    pub for_: Duration,
    /// Flap damping.
    #[serde(serialize_with = "chainops_core::section::ser_duration")]
    pub keep_firing_for: Duration,
    /// Summary template.
    pub summary: String,
    /// Description template.
    pub description: String,
    /// Runbook link.
    pub runbook_url: Option<String>,
    /// Extra labels.
    pub labels: BTreeMap<String, String>,
    /// Inhibiting rules.
    pub inhibited_by: Vec<String>,
}

/// Validates `[alerting]`, `[[rules]]` and `[[notifiers]]`.
pub fn validate(
    a: RawAlerting,
    rules: Vec<RawRule>,
    notifiers: Vec<RawNotifier>,
    p: &mut Problems,
) -> AlertingConfig {
    let eval_interval = p.duration(
        "alerting.eval_interval",
        a.eval_interval.as_deref(),
        Duration::from_secs(1),
        Duration::from_millis(100),
    );
    let give_up_after = p.duration(
        "alerting.give_up_after",
        a.give_up_after.as_deref(),
        Duration::from_secs(24 * 3600),
        Duration::from_secs(60),
    );
    let heartbeat_interval = p.duration(
        "alerting.heartbeat_interval",
        a.heartbeat_interval.as_deref(),
        Duration::from_secs(60),
        Duration::from_secs(5),
    );
    let heartbeat_url = match a.heartbeat_url {
        Some(u) if chainops_core::section::is_http_url(&u) => Some(u),
        Some(u) => {
            p.add(
                "alerting.heartbeat_url",
                format!(
                    "\"{}\" is not an http(s) URL; give your dead-man switch's ping URL",
                    chainops_core::secret::redact_url(&u)
                ),
            );
            None
        }
        None => None,
    };
    let mut names = HashSet::new();
    let rules = rules
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| validate_rule(i, r, &mut names, p))
        .collect();
    let mut names = HashSet::new();
    let notifiers = notifiers
        .into_iter()
        .enumerate()
        .filter_map(|(i, n)| notifier::validate_notifier(i, n, &mut names, p))
        .collect();
    AlertingConfig {
        eval_interval,
        default_rules: a.default_rules.unwrap_or(true),
        give_up_after,
        heartbeat_url,
        heartbeat_interval,
        rules,
        notifiers,
    }
}

fn validate_rule(
    i: usize,
    r: RawRule,
    names: &mut HashSet<String>,
    p: &mut Problems,
) -> Option<RuleConfig> {
    let at = |k: &str| format!("rules[{i}].{k}");
    let start = p.len();
    let name = p.identifier(&at("name"), r.name.as_deref());
    if let Some(n) = &name
        && !names.insert(n.clone())
    {
        p.add(
            at("name"),
            format!("\"{n}\" is used by another rule; names must be unique"),
        );
    }
    let enabled = r.enabled.unwrap_or(true);
    let severity = p.severity(&at("severity"), r.severity.as_deref(), Severity::Warning);
    let expr = match r.expr.as_deref() {
        None if enabled => {
            p.add(
                at("expr"),
                "is missing; write a condition like \"head_age_seconds > stall_after_seconds\"",
            );
            None
        }
        None => None,
        Some(e) => RuleExpr::parse(e).map_err(|m| p.add(at("expr"), m)).ok(),
    };
    let for_ = p.duration(
        &at("for"),
        r.for_.as_deref(),
        Duration::ZERO,
        Duration::ZERO,
    );
    let keep_firing_for = p.duration(
        &at("keep_firing_for"),
        r.keep_firing_for.as_deref(),
        Duration::ZERO,
        Duration::ZERO,
    );
    if p.len() != start {
        return None;
    }
    let name = name?;
    Some(RuleConfig {
        summary: r
            .summary
            .unwrap_or_else(|| format!("{name} on {{{{node}}}} ({{{{chain}}}}): {{{{value}}}}")),
        name,
        enabled,
        severity,
        expr,
        for_,
        keep_firing_for,
        description: r.description.unwrap_or_default(),
        runbook_url: r.runbook_url,
        labels: r.labels.unwrap_or_default(),
        inhibited_by: r.inhibited_by.unwrap_or_default(),
    })
}

/// The alerting part of a config file, for [`from_toml`].
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawAlertingFile {
    alerting: RawAlerting,
    rules: Vec<RawRule>,
    notifiers: Vec<RawNotifier>,
}

/// Parses and validates the alerting sections of a TOML text, ignoring other sections (for
/// tests, examples and fuzzing; the binary validates the whole file at once).
pub fn from_toml(text: &str) -> Result<AlertingConfig, chainops_core::section::ConfigErrors> {
    chainops_core::section::parse_section(text, |raw: RawAlertingFile, p| {
        validate(raw.alerting, raw.rules, raw.notifiers, p)
    })
}

/// Serializes a rule condition as its text, as the config file writes it.
fn ser_expr<S: serde::Serializer>(e: &Option<RuleExpr>, s: S) -> Result<S::Ok, S::Error> {
    match e {
        Some(e) => s.serialize_str(&e.to_string()),
        None => s.serialize_none(),
    }
}
