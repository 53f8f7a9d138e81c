//! What every config section is made of: problems located by their path, the collector that
//! gathers them during validation, and the helpers sections share (URL checks, `config show`
//! serializers, walking string values, `${VAR}` interpolation). Each feature crate owns its
//! section (`chainops_alert::config`, `chainops_logs::config`, …) and validates it with these;
//! the binary assembles the whole file. Nothing here knows a section.

use crate::duration::{format_duration, parse_duration};
use crate::secret::redact_url;
use crate::severity::Severity;
use serde::Serializer;
use std::fmt;
use std::time::Duration;

/// One configuration problem, located by its path (`nodes[1].rpc_url`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Dotted path of the offending key.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem found in a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigProblem>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "{n} configuration problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.0 {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

/// Serializes a duration as `config show` prints it (`1m30s`).
pub fn ser_duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration(*d))
}

/// Serializes a URL with its credentials redacted.
pub fn ser_url<S: Serializer>(u: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url(u))
}

/// Serializes an optional URL with its credentials redacted.
pub fn ser_opt_url<S: Serializer>(u: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match u {
        Some(u) => s.serialize_str(&redact_url(u)),
        None => s.serialize_none(),
    }
}

/// True for an `http://` or `https://` URL that parses (WHATWG rules, via the url crate): a
/// host, a port that fits in 16 bits, brackets that close (`http://[::1` is refused).
pub fn is_http_url(u: &str) -> bool {
    if !(u.starts_with("http://") || u.starts_with("https://")) || u.contains(char::is_whitespace) {
        return false;
    }
    match url::Url::parse(u) {
        Ok(p) => {
            matches!(p.scheme(), "http" | "https") && p.host_str().is_some_and(|h| !h.is_empty())
        }
        Err(_) => false,
    }
}

/// Collects problems during validation.
#[derive(Default)]
pub struct Problems(pub Vec<ConfigProblem>);

impl Problems {
    /// Problems found so far (compare before and after validating an entry).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when nothing is wrong so far.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Records a problem at `path`.
    pub fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigProblem {
            path: path.into(),
            message: message.into(),
        });
    }

    /// A duration of at least `min`, `default` when absent or invalid (and then reported).
    pub fn duration(
        &mut self,
        path: &str,
        text: Option<&str>,
        default: Duration,
        min: Duration,
    ) -> Duration {
        let Some(text) = text else { return default };
        match parse_duration(text) {
            Ok(d) if d >= min => d,
            Ok(_) => {
                self.add(
                    path,
                    format!(
                        "\"{text}\" is shorter than the minimum {}",
                        format_duration(min)
                    ),
                );
                default
            }
            Err(e) => {
                self.add(path, e);
                default
            }
        }
    }

    /// A severity (`critical|warning|info`), `default` when absent.
    pub fn severity(&mut self, path: &str, value: Option<&str>, default: Severity) -> Severity {
        match value {
            None => default,
            Some(s) => Severity::parse(s).unwrap_or_else(|| {
                self.add(
                    path,
                    format!("\"{s}\" is not a severity; use critical, warning or info"),
                );
                default
            }),
        }
    }

    /// A required name of 1-64 letters, digits, '.', '_' or '-'.
    pub fn identifier(&mut self, path: &str, value: Option<&str>) -> Option<String> {
        match value {
            None => {
                self.add(path, "is missing");
                None
            }
            Some(v) if is_identifier(v) => Some(v.to_string()),
            Some(v) => {
                self.add(
                    path,
                    format!("\"{v}\" must be 1-64 characters of letters, digits, '.', '_' or '-'"),
                );
                None
            }
        }
    }
}

fn is_identifier(v: &str) -> bool {
    (1..=64).contains(&v.len())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Calls `f(path, string)` for every string value in `v`, with its dotted path.
pub fn walk_strings(v: &mut toml::Value, path: &str, f: &mut dyn FnMut(&str, &mut String)) {
    match v {
        toml::Value::String(s) => f(path, s),
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk_strings(item, &format!("{path}[{i}]"), f);
            }
        }
        toml::Value::Table(t) => {
            for (k, item) in t.iter_mut() {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk_strings(item, &p, f);
            }
        }
        _ => {}
    }
}

/// Parses a TOML fragment and validates it with a section's `validate` (for a section's
/// own tests and fuzz targets; the binary parses the whole file once).
pub fn parse_section<R: serde::de::DeserializeOwned, T>(
    text: &str,
    validate: impl FnOnce(R, &mut Problems) -> T,
) -> Result<T, ConfigErrors> {
    let raw: R = toml::from_str(text).map_err(|e| {
        ConfigErrors(vec![ConfigProblem {
            path: String::new(),
            message: e.to_string().trim_end().to_string(),
        }])
    })?;
    let mut p = Problems::default();
    let out = validate(raw, &mut p);
    if p.0.is_empty() {
        Ok(out)
    } else {
        Err(ConfigErrors(p.0))
    }
}
