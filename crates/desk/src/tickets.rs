//! Tickets' vocabulary and rules: states and the moves between them, priorities, and the
//! checks a ticket's fields pass before they are stored.

use crate::notices::Refusal;
use serde::Serialize;

/// A ticket's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Not looked at yet.
    New,
    /// Being worked.
    Open,
    /// Waiting on the requester (SLA clocks pause).
    Pending,
    /// Waiting on a third party (clocks run).
    OnHold,
    /// Answered; the requester can still reopen it by replying.
    Solved,
    /// Final.
    Closed,
}

impl State {
    /// Every state, in workflow order.
    pub const ALL: [State; 6] = [
        State::New,
        State::Open,
        State::Pending,
        State::OnHold,
        State::Solved,
        State::Closed,
    ];

    /// Stable name (`new`, `open`, `pending`, `on-hold`, `solved`, `closed`).
    pub fn as_str(self) -> &'static str {
        match self {
            State::New => "new",
            State::Open => "open",
            State::Pending => "pending",
            State::OnHold => "on-hold",
            State::Solved => "solved",
            State::Closed => "closed",
        }
    }

    /// Parses a name; the error lists the states.
    pub fn parse(text: &str) -> Result<State, Refusal> {
        State::ALL
            .into_iter()
            .find(|s| s.as_str() == text.trim())
            .ok_or_else(|| {
                Refusal(format!(
                    "state \"{}\" is not one of {}",
                    crate::notices::shown(text),
                    State::ALL.map(State::as_str).join(", ")
                ))
            })
    }

    /// Whether the ticket still needs work (not solved or closed).
    pub fn is_active(self) -> bool {
        !matches!(self, State::Solved | State::Closed)
    }

    /// Whether staff may move a ticket from this state to `to`. Closed is final; a new
    /// ticket cannot go back to new.
    pub fn may_become(self, to: State) -> Result<(), Refusal> {
        match (self, to) {
            (a, b) if a == b => Err(Refusal(format!("the ticket is already {}", a.as_str()))),
            (State::Closed, _) => Err(Refusal(
                "the ticket is closed; closed tickets are final (open a new one and link it)"
                    .into(),
            )),
            (_, State::New) => Err(Refusal(
                "a ticket cannot go back to new; set it to open".into(),
            )),
            _ => Ok(()),
        }
    }
}

/// A ticket's priority, P1 (most urgent) to P4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Priority {
    /// Urgent: production down.
    P1,
    /// High.
    P2,
    /// Normal.
    P3,
    /// Low.
    P4,
}

impl Priority {
    /// Every priority, most urgent first.
    pub const ALL: [Priority; 4] = [Priority::P1, Priority::P2, Priority::P3, Priority::P4];

    /// `P1` … `P4`.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::P1 => "P1",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
            Priority::P4 => "P4",
        }
    }

    /// Parses `P1`…`P4` (any case).
    pub fn parse(text: &str) -> Result<Priority, Refusal> {
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| {
                Refusal(format!(
                    "priority \"{}\" is not one of P1, P2, P3, P4",
                    crate::notices::shown(text)
                ))
            })
    }

    /// The alert severity an SLA notice of this priority goes out with.
    pub fn severity(self) -> &'static str {
        match self {
            Priority::P1 => "critical",
            Priority::P2 => "warning",
            Priority::P3 | Priority::P4 => "info",
        }
    }
}

/// Longest subject.
pub const MAX_SUBJECT: usize = 200;
/// Longest message body.
pub const MAX_BODY: usize = 50_000;
/// Most tags on a ticket.
pub const MAX_TAGS: usize = 20;
/// Longest email address (RFC 5321 path limit).
pub const MAX_EMAIL: usize = 254;

/// A checked email address, lower-cased domain. Deliberately simple: one `@`, a dot in the
/// domain, no spaces or control characters, no quoting; what a mail server would bounce
/// anyway is refused here with a reason.
pub fn email(text: &str) -> Result<String, Refusal> {
    let t = text.trim();
    let bad = |why: &str| {
        Refusal(format!(
            "email \"{}\" {why}; write it as name@example.com",
            crate::notices::shown(t)
        ))
    };
    if t.is_empty() {
        return Err(Refusal(
            "email is empty; write it as name@example.com".into(),
        ));
    }
    if t.len() > MAX_EMAIL {
        return Err(bad("is too long"));
    }
    if t.chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ',' | ';'))
    {
        return Err(bad("holds spaces or characters an address cannot have"));
    }
    let Some((local, domain)) = t.rsplit_once('@') else {
        return Err(bad("has no @"));
    };
    if local.is_empty() || local.contains('@') {
        return Err(bad("has no single name before the @"));
    }
    if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
        return Err(bad("has no domain such as example.com after the @"));
    }
    Ok(format!("{local}@{}", domain.to_lowercase()))
}

/// Tags: trimmed, lower-case, 1–40 characters of letters, digits, `-`, `_`, `.`, `:`, at most
/// [`MAX_TAGS`], duplicates dropped.
pub fn tags(list: &[String]) -> Result<Vec<String>, Refusal> {
    let mut out: Vec<String> = Vec::new();
    for t in list {
        let t = t.trim().to_lowercase();
        if t.is_empty() {
            continue;
        }
        let n = t.chars().count();
        if n > 40
            || !t
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        {
            return Err(Refusal(format!(
                "tag \"{}\" must be 1–40 letters, digits, -, _, . or :",
                crate::notices::shown(&t)
            )));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(Refusal(format!("{} tags; at most {MAX_TAGS}", out.len())));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_move_as_a_desk_expects() {
        assert!(State::New.may_become(State::Open).is_ok());
        assert!(State::Solved.may_become(State::Open).is_ok(), "reopen");
        assert!(State::Closed.may_become(State::Open).is_err());
        assert!(State::Open.may_become(State::New).is_err());
        assert!(State::Open.may_become(State::Open).is_err());
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()).ok(), Some(s));
        }
        let e = State::parse("resolved\u{202e}").expect_err("unknown");
        assert!(
            e.0.contains("on-hold") && !e.0.contains('\u{202e}'),
            "{}",
            e.0
        );
        assert_eq!(Priority::parse(" p2 ").ok(), Some(Priority::P2));
        assert!(Priority::parse("P5").is_err());
    }

    #[test]
    fn emails_and_tags_are_checked() {
        assert_eq!(
            email(" Dev@Example.COM ").ok().as_deref(),
            Some("Dev@example.com")
        );
        assert_eq!(
            email("张三@例子.中国").ok().as_deref(),
            Some("张三@例子.中国")
        );
        for bad in [
            "",
            "a",
            "a@b",
            "@b.com",
            "a b@c.com",
            "a@b.com\r\nBcc: x@y.z",
            "<a@b.com>",
            "a@.com",
            &format!("{}@b.com", "x".repeat(300)),
        ] {
            assert!(email(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            tags(&["RPC".into(), "rpc".into(), " ".into(), "链-故障".into()]).ok(),
            Some(vec!["rpc".to_string(), "链-故障".to_string()])
        );
        assert!(tags(&["a b".into()]).is_err());
        assert!(tags(&(0..30).map(|i| format!("t{i}")).collect::<Vec<_>>()).is_err());
    }
}
