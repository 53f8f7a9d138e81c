//! `{{name}}` substitution in summaries and descriptions.

/// Replaces `{{key}}` with its value; unknown keys are left as written.
pub fn render(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let key = after[..end].trim();
                match vars.iter().find(|(k, _)| *k == key) {
                    Some((_, v)) => out.push_str(v),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Formats a value for humans: integers without decimals, others with up to 3.
pub fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_known_keys_only() {
        assert_eq!(
            render(
                "{{node}} at {{ value }} {{nope}} {{",
                &[("node", "a"), ("value", "3")]
            ),
            "a at 3 {{nope}} {{"
        );
        assert_eq!(fmt_value(12.0), "12");
        assert_eq!(fmt_value(1.23456), "1.235");
    }
}
