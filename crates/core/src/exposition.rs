//! The one Prometheus text exposition writer (format 0.0.4), shared by every part of
//! `/metrics`: monitor, alerting, logs, backups, tasks. Label values and help text are
//! escaped as the format requires, so a node or job name with `"`, `\\` or a newline cannot
//! break a scrape.

use std::fmt::Write;

/// Content type of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `# HELP` and `# TYPE` lines of a family (help text escaped).
pub fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    out.push_str("# HELP ");
    out.push_str(name);
    out.push(' ');
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('\n');
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// One sample `name{labels} value`.
pub fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    write_sample(out, name, "", labels, None, value);
}

/// A whole family: header, then one sample per row.
pub fn family<'a>(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    rows: impl IntoIterator<Item = (Vec<(&'a str, &'a str)>, f64)>,
) {
    header(out, name, kind, help);
    for (labels, v) in rows {
        sample(out, name, &labels, v);
    }
}

/// Writes one sample line without allocating (scrapes of thousands of nodes are large).
pub fn write_sample(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &[(&str, &str)],
    le: Option<f64>,
    value: f64,
) {
    out.push_str(name);
    out.push_str(suffix);
    if !labels.is_empty() || le.is_some() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(k);
            out.push_str("=\"");
            escape_into(out, v);
            out.push('"');
        }
        if let Some(le) = le {
            if !labels.is_empty() {
                out.push(',');
            }
            out.push_str("le=\"");
            write_value(out, le);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    write_value(out, value);
    out.push('\n');
}

/// Appends a label value escaped (`\\`, `"`, newline).
pub fn escape_into(out: &mut String, v: &str) {
    if !v.contains(['\\', '"', '\n']) {
        out.push_str(v);
        return;
    }
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Appends a sample value (`+Inf`, `-Inf`, `NaN`, integers without a fraction).
pub fn write_value(out: &mut String, v: f64) {
    if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v.is_nan() {
        out.push_str("NaN");
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        let _ = write!(out, "{}", v as i64);
    } else {
        let _ = write!(out, "{v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_and_help_are_escaped() {
        let mut out = String::new();
        family(
            &mut out,
            "chainops_x_total",
            "counter",
            "Help with \\ and\na newline.",
            [(vec![("job", "a\"b\\c\nd")], 3.0), (vec![], 0.5)],
        );
        assert_eq!(
            out,
            "# HELP chainops_x_total Help with \\\\ and\\na newline.\n# TYPE chainops_x_total counter\n\
             chainops_x_total{job=\"a\\\"b\\\\c\\nd\"} 3\nchainops_x_total 0.5\n"
        );
    }

    #[test]
    fn special_values() {
        let mut out = String::new();
        for v in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1e20, 2.0] {
            sample(&mut out, "m", &[], v);
        }
        assert_eq!(out, "m +Inf\nm -Inf\nm NaN\nm 100000000000000000000\nm 2\n");
    }
}
