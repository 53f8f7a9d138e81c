//! The search language: `level>=warn node=anvil-1 height=123 "nonce too low" timeout`.
//!
//! - `level=L`, `level>=L`, `level<=L`, `level>L`, `level<L` (trace, debug, info, warn, error, fatal)
//! - `node=N`, `chain=C` (repeat for several)
//! - any other `key=value`: a structured field equals the value
//! - `"quoted phrase"` or bare words: substrings of the message (all must occur; case-insensitive)

use crate::entry::Level;
use chainops_store::logs::LogQuery;

/// Splits into tokens, keeping `"quoted phrases"` (and `key="quoted value"`) whole.
fn tokens(q: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in q.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if quoted {
        return Err("a quote is not closed; write \"nonce too low\"".into());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

fn unquote(s: &str) -> String {
    s.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(s)
        .to_string()
}

/// Parses a query into `q` (time range and paging are the caller's).
pub fn parse(text: &str, q: &mut LogQuery) -> Result<(), String> {
    for t in tokens(text)? {
        if t.starts_with('"') {
            let phrase = unquote(&t);
            if !phrase.is_empty() {
                q.text.push(phrase);
            }
            continue;
        }
        let op_at = t.find(['=', '<', '>']);
        let Some(i) = op_at.filter(|&i| i > 0) else {
            q.text.push(t);
            continue;
        };
        let key = &t[..i];
        let rest = &t[i..];
        let (op, value) = ["<=", ">=", "=", "<", ">"]
            .iter()
            .find_map(|op| rest.strip_prefix(op).map(|v| (*op, unquote(v))))
            .ok_or_else(|| format!("\"{t}\" has no value after the operator"))?;
        if value.is_empty() {
            return Err(format!("\"{t}\" has no value; write {key}=VALUE"));
        }
        match key {
            "level" => {
                let l = Level::parse(&value).ok_or_else(|| {
                    format!(
                        "\"{value}\" is not a level; use trace, debug, info, warn, error or fatal"
                    )
                })?;
                let n = l.number();
                match op {
                    "=" => {
                        q.min_level = Some(n);
                        q.max_level = Some(n);
                    }
                    ">=" => q.min_level = Some(n),
                    ">" => q.min_level = Some(n + 1),
                    "<=" => q.max_level = Some(n),
                    _ => q.max_level = Some(n - 1),
                }
            }
            _ if op != "=" => {
                return Err(format!(
                    "\"{t}\": only level takes <, <=, >, >=; use {key}=VALUE"
                ));
            }
            "node" => q.nodes.push(value),
            "chain" => q.chains.push(value),
            _ => {
                if !key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
                {
                    return Err(format!("\"{key}\" is not a field name"));
                }
                q.fields.push((key.to_string(), value));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses() {
        let mut q = LogQuery::default();
        parse(
            r#"level>=warn node=anvil-1 "nonce too low" height=123 timeout"#,
            &mut q,
        )
        .expect("parses");
        assert_eq!(q.min_level, Some(3));
        assert_eq!(q.nodes, vec!["anvil-1"]);
        assert_eq!(q.text, vec!["nonce too low", "timeout"]);
        assert_eq!(q.fields, vec![("height".to_string(), "123".to_string())]);
    }

    #[test]
    fn errors_say_what_to_write() {
        let e = |s: &str| parse(s, &mut LogQuery::default()).unwrap_err();
        assert!(e("level>=loud").contains("not a level"));
        assert!(e("\"open").contains("not closed"));
        assert!(e("node>=x").contains("only level"));
        assert!(e("height=").contains("no value"));
    }
}
