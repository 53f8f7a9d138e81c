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

/// Parses `512MB`, `20GB`, `1.5TB`, `1000000` (bytes; powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("\"{s}\" is not a size; write e.g. 512MB or 20GB"))?;
    let mult: f64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "KB" | "KIB" | "K" => 1024.0,
        "MB" | "MIB" | "M" => 1024.0 * 1024.0,
        "GB" | "GIB" | "G" => 1024.0 * 1024.0 * 1024.0,
        "TB" | "TIB" | "T" => 1024.0_f64.powi(4),
        u => {
            return Err(format!(
                "\"{u}\" is not a size unit; use B, KB, MB, GB or TB"
            ));
        }
    };
    Ok((n * mult) as u64)
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

/// Most problems one deserialization pass reports before it gives up (each removes one key).
const MAX_SHAPE_PROBLEMS: usize = 200;

/// Deserializes `value` into a section's raw mirror, reporting **every** unknown key and
/// wrongly typed value with its full path (`nodes[2].block_time`, `monitor.poll_intervall`)
/// instead of stopping at the first. serde stops at the first error, so each pass reports
/// one problem, removes the offending key and tries again; the keys that remain are
/// deserialized, so the section's validation can still report everything else. Returns
/// `None` only when a problem cannot be located (then the caller stops there).
pub fn deserialize_all<R: serde::de::DeserializeOwned>(
    mut value: toml::Value,
    problems: &mut Vec<ConfigProblem>,
) -> Option<R> {
    for _ in 0..MAX_SHAPE_PROBLEMS {
        let err = match serde_path_to_error::deserialize::<_, R>(value.clone()) {
            Ok(raw) => return Some(raw),
            Err(e) => e,
        };
        let mut segments: Vec<String> = Vec::new();
        let mut located = true;
        for seg in err.path().iter() {
            match seg {
                serde_path_to_error::Segment::Seq { index } => segments.push(format!("[{index}]")),
                serde_path_to_error::Segment::Map { key }
                | serde_path_to_error::Segment::Enum { variant: key } => segments.push(key.clone()),
                serde_path_to_error::Segment::Unknown => located = false,
            }
        }
        let message = err.inner().to_string();
        // toml appends "in `path`"; the path is ours to print.
        let message = message
            .split_once("\nin `")
            .map_or(message.as_str(), |(m, _)| m)
            .trim_end();
        let message = match unknown_field(message) {
            Some((field, expected)) => {
                if segments.last().map(String::as_str) != Some(field) {
                    segments.push(field.to_string());
                }
                unknown_key_message(field, &expected)
            }
            None => type_message(message),
        };
        problems.push(ConfigProblem {
            path: join_path(&segments),
            message,
        });
        if !(located && remove_path(&mut value, &segments)) {
            return None;
        }
    }
    problems.push(ConfigProblem {
        path: String::new(),
        message: format!("more than {MAX_SHAPE_PROBLEMS} problems; fix these first"),
    });
    None
}

/// `a`, `[2]`, `b` → `a[2].b`.
fn join_path(segments: &[String]) -> String {
    let mut out = String::new();
    for s in segments {
        if !out.is_empty() && !s.starts_with('[') {
            out.push('.');
        }
        out.push_str(s);
    }
    out
}

/// serde's "unknown field `x`, expected one of `a`, `b`" → (`x`, [`a`, `b`]).
fn unknown_field(message: &str) -> Option<(&str, Vec<&str>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let end = rest.find('`')?;
    let expected = rest[end + 1..]
        .split('`')
        .skip(1)
        .step_by(2)
        .collect::<Vec<_>>();
    Some((&rest[..end], expected))
}

fn unknown_key_message(field: &str, expected: &[&str]) -> String {
    let closest = expected
        .iter()
        .map(|k| (strsim::damerau_levenshtein(field, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min();
    match (closest, expected.is_empty()) {
        (Some((_, k)), _) => format!("is not a known key; did you mean `{k}`?"),
        (None, false) => format!(
            "is not a known key; the keys allowed here are {}",
            expected.join(", ")
        ),
        (None, true) => "is not a known key; this section takes no keys".into(),
    }
}

/// serde's "invalid type: integer `5`, expected a string" reads as "is an integer (5) …".
fn type_message(message: &str) -> String {
    match message.strip_prefix("invalid type: ") {
        Some(rest) => format!("has the wrong type: {rest}"),
        None => message.to_string(),
    }
}

/// Removes the key at `segments` (a list element removes the list holding it, so the
/// indices of the others stay as written). False when the path is not in `value`.
fn remove_path(value: &mut toml::Value, segments: &[String]) -> bool {
    let Some(last_key) = segments.iter().rposition(|s| !s.starts_with('[')) else {
        return false;
    };
    let mut cur = value;
    for s in &segments[..last_key] {
        let next = match (s.strip_prefix('[').and_then(|i| i.strip_suffix(']')), cur) {
            (Some(i), toml::Value::Array(a)) => i.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            (None, toml::Value::Table(t)) => t.get_mut(s.as_str()),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return false,
        }
    }
    match cur {
        toml::Value::Table(t) => t.remove(segments[last_key].as_str()).is_some(),
        _ => false,
    }
}

/// Parses a TOML fragment and validates it with a section's `validate` (for a section's
/// own tests and fuzz targets; the binary parses the whole file once).
pub fn parse_section<R: serde::de::DeserializeOwned, T>(
    text: &str,
    validate: impl FnOnce(R, &mut Problems) -> T,
) -> Result<T, ConfigErrors> {
    let value: toml::Value = toml::from_str(text).map_err(|e| {
        ConfigErrors(vec![ConfigProblem {
            path: String::new(),
            message: e.to_string().trim_end().to_string(),
        }])
    })?;
    let mut shape = Vec::new();
    let Some(raw) = deserialize_all::<R>(value, &mut shape) else {
        return Err(ConfigErrors(shape));
    };
    let mut p = Problems(shape);
    let out = validate(raw, &mut p);
    if p.0.is_empty() {
        Ok(out)
    } else {
        Err(ConfigErrors(p.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, Default)]
    #[serde(deny_unknown_fields, default)]
    struct Inner {
        block_time: Option<String>,
        name: Option<String>,
    }

    #[derive(Debug, serde::Deserialize, Default)]
    #[serde(deny_unknown_fields, default)]
    struct Outer {
        poll_interval: Option<String>,
        nodes: Vec<Inner>,
    }

    fn problems(text: &str) -> (Option<Outer>, Vec<String>) {
        let mut p = Vec::new();
        let v: toml::Value = toml::from_str(text).expect("toml");
        let out = deserialize_all::<Outer>(v, &mut p);
        (out, p.iter().map(|p| p.to_string()).collect())
    }

    #[test]
    fn every_unknown_key_and_type_error_is_reported_with_its_full_path() {
        let (out, lines) = problems(
            "poll_intervall = \"5s\"\nfoo = 1\nbar = 2\n[[nodes]]\nname = \"a\"\n[[nodes]]\nname = \"b\"\n[[nodes]]\nname = \"c\"\nblock_time = 5\nblok_time = \"1s\"\n",
        );
        assert_eq!(lines.len(), 5, "{lines:?}");
        assert!(
            lines.contains(
                &"poll_intervall: is not a known key; did you mean `poll_interval`?".to_string()
            ),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("foo: is not a known key")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("bar: is not a known key")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("nodes[2].block_time: has the wrong type")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("nodes[2].blok_time: ") && l.contains("block_time")),
            "{lines:?}"
        );
        // What was right is still there for the section's validation.
        let out = out.expect("rest deserialized");
        assert_eq!(out.nodes.len(), 3);
        assert_eq!(out.nodes[2].name.as_deref(), Some("c"));
    }

    #[test]
    fn messages_carry_no_second_path_or_stray_key() {
        let (_, lines) = problems("poll_intervall = 1\n[[nodes]]\nblock_time = 5\n");
        assert!(lines.iter().all(|l| !l.contains("\nin `")), "{lines:?}");
        assert!(
            lines
                .iter()
                .any(|l| l == "poll_intervall: is not a known key; did you mean `poll_interval`?"),
            "{lines:?}"
        );
    }

    #[test]
    fn a_wrongly_typed_list_element_removes_only_its_list() {
        let (out, lines) = problems("[[nodes]]\nname = [1]\n");
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with("nodes[0].name: has the wrong type"),
            "{lines:?}"
        );
        assert!(out.is_some());
        let (out, lines) = problems("nodes = 5\n");
        assert!(
            lines[0].starts_with("nodes: has the wrong type"),
            "{lines:?}"
        );
        assert!(out.is_some());
    }

    #[test]
    fn hundreds_of_unknown_keys_end_in_a_bounded_report() {
        let text: String = (0..500).map(|i| format!("k{i} = 1\n")).collect();
        let (out, lines) = problems(&text);
        assert!(out.is_none());
        assert_eq!(lines.len(), MAX_SHAPE_PROBLEMS + 1);
    }
}
