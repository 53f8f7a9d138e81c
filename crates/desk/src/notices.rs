//! What operators publish on the status page — incidents with their updates and post-mortem,
//! maintenance windows — and the checks their text and times pass.

/// The states of a public incident, in the order an incident usually moves through them.
pub const STATES: [&str; 4] = ["investigating", "identified", "monitoring", "resolved"];

/// Longest title.
pub const MAX_TITLE: usize = 200;
/// Longest update.
pub const MAX_BODY: usize = 10_000;
/// Longest post-mortem.
pub const MAX_POSTMORTEM: usize = 100_000;
/// Longest maintenance window (a month); longer ones are a mistake more often than a plan.
pub const MAX_WINDOW_MS: i64 = 31 * 86_400_000;

/// A reason a notice was refused, naming the field and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

/// `state` if it is one of [`STATES`].
pub fn state(state: &str) -> Result<&'static str, Refusal> {
    STATES
        .iter()
        .find(|s| **s == state.trim())
        .copied()
        .ok_or_else(|| {
            Refusal(format!(
                "state \"{}\" is not one of {}",
                shown(state),
                STATES.join(", ")
            ))
        })
}

/// `text` trimmed, non-empty, at most `max` characters, without control characters other
/// than line breaks and tabs.
pub fn text<'a>(field: &str, text: &'a str, max: usize) -> Result<&'a str, Refusal> {
    let t = text.trim();
    if t.is_empty() {
        return Err(Refusal(format!(
            "{field} is empty; write what readers should know"
        )));
    }
    let n = t.chars().count();
    if n > max {
        return Err(Refusal(format!(
            "{field} has {n} characters; at most {max}"
        )));
    }
    if t.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(Refusal(format!("{field} holds control characters")));
    }
    Ok(t)
}

/// A window from `starts_ms` to `ends_ms`, seen at `now_ms`: it must end in the future, after
/// it starts, and last at most [`MAX_WINDOW_MS`].
pub fn window(starts_ms: i64, ends_ms: i64, now_ms: i64) -> Result<(), Refusal> {
    if ends_ms <= starts_ms {
        return Err(Refusal("the window must end after it starts".into()));
    }
    if ends_ms <= now_ms {
        return Err(Refusal(
            "the window is over already; give one that ends later".into(),
        ));
    }
    if ends_ms - starts_ms > MAX_WINDOW_MS {
        return Err(Refusal("a maintenance window lasts at most 31 days".into()));
    }
    Ok(())
}

/// At most 80 characters of `s` for an error message, without control or bidirectional
/// formatting characters (which could reorder or hide the message around them).
pub(crate) fn shown(s: &str) -> String {
    s.chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .take(80)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_are_checked_with_reasons() {
        assert_eq!(state(" identified "), Ok("identified"));
        assert!(
            state("fixed")
                .unwrap_err()
                .0
                .contains("investigating, identified")
        );
        assert!(state(&"x".repeat(1000)).unwrap_err().0.len() < 200);
        assert_eq!(text("title", "  区块停止  ", 10), Ok("区块停止"));
        assert!(text("title", " \n ", 10).unwrap_err().0.contains("empty"));
        assert!(
            text("title", &"块".repeat(11), 10)
                .unwrap_err()
                .0
                .contains("11 characters")
        );
        assert!(text("title", "a\u{0}b", 10).is_err());
        assert!(text("body", "line\nline\tx", 100).is_ok());
        assert!(window(10, 20, 5).is_ok());
        assert!(window(20, 10, 5).is_err());
        assert!(window(1, 4, 5).unwrap_err().0.contains("over"));
        assert!(window(0, MAX_WINDOW_MS + 1, 0).is_err());
    }
}
