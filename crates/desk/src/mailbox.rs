//! Email in: the support mailbox (`[support.mailbox]`) polled over IMAP. A new mail opens a
//! ticket; a reply threads onto its ticket by `In-Reply-To`/`References` (the desk's
//! `<ticket-N…@chainops>` Message-IDs) or the `[#N]` subject token — only when it comes from
//! that ticket's requester, so knowing a ticket number is not enough to write into it.
//!
//! Nothing is lost or imported twice: the last imported UID (with the folder's
//! `UIDVALIDITY`) is stored after each mail, mail is read with `BODY.PEEK` and marked
//! `\Seen` once imported, and a Message-ID already on a ticket is not imported again (a crash
//! between import and cursor). The first poll of a folder reads its unseen mail only.
//! Automatic mail (bounces, out-of-office, lists) and mail from the support address itself
//! are skipped, so two auto-responders cannot loop through the desk.

use crate::config::{ImapTls, MailboxConfig};
use crate::service::{Allowance, Author, Channel, Desk, DeskError, NewTicket, Upload};
use crate::tickets::{self, State};
use futures_util::TryStreamExt;
use mail_parser::{MessageParser, MimeHeaders};
use std::fmt::Debug;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// Most mails imported in one poll (the rest wait for the next).
pub const BATCH: usize = 50;

/// A mail as the desk reads it.
#[derive(Debug, Clone, Default)]
pub struct Incoming {
    /// Sender.s address (domain in lower case).
    pub from: String,
    /// Sender's display name.
    pub name: String,
    /// Subject (`(no subject)` when empty).
    pub subject: String,
    /// Text (HTML converted), quoted history removed.
    pub body: String,
    /// `Message-ID` with angle brackets (`""` when the mail has none).
    pub message_id: String,
    /// `In-Reply-To` and `References` ids, with angle brackets.
    pub references: Vec<String>,
    /// Attached files.
    pub attachments: Vec<Upload>,
    /// Why it is automatic mail (never imported), if it is.
    pub automatic: Option<&'static str>,
}

/// What became of one mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A new ticket.
    Opened(i64),
    /// A requester's message on a ticket.
    Replied(i64),
    /// Already imported (onto this ticket).
    Duplicate(i64),
    /// Not imported, and why.
    Skipped(String),
}

/// Counts of one poll.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Tickets opened.
    pub opened: u32,
    /// Replies threaded.
    pub replied: u32,
    /// Mail already imported.
    pub duplicates: u32,
    /// Mail skipped (automatic, too large, unreadable, over the rate limit).
    pub skipped: u32,
}

/// Why a poll failed (retried at the next poll; nothing is lost).
#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    /// Connecting, TLS or the IMAP conversation.
    #[error("{0}")]
    Imap(String),
    /// The desk could not store a mail.
    #[error(transparent)]
    Desk(#[from] DeskError),
}

/// Reads a raw RFC 5322 mail. Charsets (UTF-8, GBK, GB18030, Big5, ISO-8859-x, …), encoded
/// words and HTML-only bodies are decoded; an unreadable mail is an error naming why.
pub fn parse(raw: &[u8]) -> Result<Incoming, String> {
    let m = MessageParser::default()
        .parse(raw)
        .ok_or("not an email message")?;
    let sender = m
        .from()
        .and_then(|a| a.first())
        .ok_or("the mail has no From address")?;
    let from = tickets::email(sender.address().unwrap_or_default())
        .map_err(|e| format!("From: {}", e.0))?;
    let name: String = sender
        .name()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let subject = one_line(m.subject().unwrap_or_default(), tickets::MAX_SUBJECT);
    let text = m.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
    let mut body = strip_quoted(&text);
    if body.chars().count() > tickets::MAX_BODY - 100 {
        body = body.chars().take(tickets::MAX_BODY - 100).collect();
        body.push_str("\n\n[…] (the mail was longer; the rest was cut)");
    }
    let ids = |v: &mail_parser::HeaderValue| -> Vec<String> {
        match v {
            mail_parser::HeaderValue::Text(t) => vec![t.to_string()],
            mail_parser::HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
            _ => Vec::new(),
        }
    };
    let mut references: Vec<String> = ids(m.in_reply_to());
    references.extend(ids(m.references()));
    let references = references
        .into_iter()
        .filter(|r| r.len() <= 250)
        .map(|r| format!("<{r}>"))
        .collect();
    let attachments = m
        .attachments()
        .filter(|p| !p.is_message())
        .map(|p| Upload {
            name: p.attachment_name().unwrap_or("attachment").to_string(),
            data: p.contents().to_vec(),
        })
        .collect();
    let header = |h: &str| m.header_raw(h).map(|v| v.trim().to_ascii_lowercase());
    let automatic = if header("auto-submitted").is_some_and(|v| v != "no") {
        Some("Auto-Submitted (an automatic reply or notification)")
    } else if header("precedence").is_some_and(|v| matches!(v.as_str(), "bulk" | "junk" | "list")) {
        Some("Precedence: bulk/junk/list")
    } else if header("x-autoreply").is_some() || header("x-autorespond").is_some() {
        Some("an auto-responder's mail")
    } else if m.header_raw("List-Id").is_some() {
        Some("mailing-list mail (List-Id)")
    } else if ["mailer-daemon@", "postmaster@"]
        .iter()
        .any(|p| from.to_ascii_lowercase().starts_with(p))
    {
        Some("a delivery report (mailer-daemon)")
    } else if m
        .content_type()
        .and_then(|c| c.subtype())
        .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    {
        Some("a delivery report (multipart/report)")
    } else {
        None
    };
    Ok(Incoming {
        from,
        name,
        subject: if subject.is_empty() {
            "(no subject)".into()
        } else {
            subject
        },
        body,
        message_id: m
            .message_id()
            .filter(|id| !id.is_empty() && id.len() <= 250)
            .map(|id| format!("<{id}>"))
            .unwrap_or_default(),
        references,
        attachments,
        automatic,
    })
}

/// `text` on one line (controls and line breaks become spaces), at most `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    flat.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max)
        .collect()
}

/// The new text of a reply: everything from the quote header of the mail it answers on
/// (`On … wrote:`, `在 … 写道：`, `-----Original Message-----`, Outlook's `From:` block)
/// and trailing `>` lines are dropped.
pub fn strip_quoted(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut end = lines.len();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim();
        let header = (t.starts_with("On ") && t.ends_with("wrote:"))
            || (t.starts_with('在') && (t.ends_with("写道：") || t.ends_with("写道:")))
            || t.contains("-----Original Message-----")
            || t.contains("-----原始邮件-----")
            || ((t.starts_with("From:") || t.starts_with("发件人:") || t.starts_with("发件人："))
                && i > 0
                && lines[i - 1].trim().is_empty()
                && lines
                    .get(i + 1)
                    .is_some_and(|n| n.contains(':') || n.contains('：')));
        if header {
            end = i;
            break;
        }
    }
    while end > 0 && {
        let t = lines[end - 1].trim();
        t.is_empty() || t.starts_with('>')
    } {
        end -= 1;
    }
    let kept = lines[..end].join("\n").trim().to_string();
    if kept.is_empty() {
        // A reply that is all quote (or a mail with no text): keep what there was.
        text.trim().to_string()
    } else {
        kept
    }
}

/// The ticket a mail refers to: a `<ticket-N…@chainops>` id in `In-Reply-To`/`References`,
/// else a `[#N]` token in the subject.
pub fn ticket_ref(m: &Incoming) -> Option<i64> {
    let from_id = m.references.iter().find_map(|r| {
        let rest = r.strip_prefix("<ticket-")?.strip_suffix("@chainops>")?;
        let n = rest.split('-').next()?;
        n.parse::<i64>().ok()
    });
    from_id.or_else(|| {
        let mut s = m.subject.as_str();
        while let Some(i) = s.find("[#") {
            let rest = &s[i + 2..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if !digits.is_empty() && rest[digits.len()..].starts_with(']') {
                return digits.parse().ok();
            }
            s = rest;
        }
        None
    })
}

impl Desk {
    /// Imports one mail: a reply onto its ticket when it refers to one of the sender's
    /// tickets, else a new ticket (the `support.mailbox.category`, the hourly limit of the
    /// portal per sender). Attachments the portal would refuse are left out and named.
    pub async fn receive_mail(&self, m: Incoming, now: i64) -> Result<Received, DeskError> {
        let Some(cfg) = self.config.mailbox.clone() else {
            return Ok(Received::Skipped(
                "no [support.mailbox] is configured".into(),
            ));
        };
        if let Some(why) = m.automatic {
            return Ok(Received::Skipped(format!("automatic mail: {why}")));
        }
        if !cfg.address.is_empty() && m.from == cfg.address {
            return Ok(Received::Skipped(
                "sent by the support address itself".into(),
            ));
        }
        if let Some(t) = self.store().ticket_by_email_id(&m.message_id).await? {
            return Ok(Received::Duplicate(t));
        }
        let (uploads, refused) = self.accept_attachments(&m.attachments);
        let mut body = m.body.clone();
        if !refused.is_empty() {
            body.push_str("\n\n");
            body.push_str(&refused.join("\n"));
        }
        if body.chars().count() > tickets::MAX_BODY {
            body = body.chars().take(tickets::MAX_BODY - 40).collect();
            body.push_str("\n\n[…] (cut to the longest message)");
        }
        if body.trim().is_empty() {
            body = "(no text)".into();
        }
        let sender = self.requester_by_email(&m.from).await?;
        let mut follow_up = None;
        if let Some(n) = ticket_ref(&m)
            && let Ok(mut t) = self.ticket(n).await
        {
            // A merged ticket's replies go to the ticket it was merged into.
            for _ in 0..4 {
                match t.merged_into {
                    Some(into) => match self.ticket(into).await {
                        Ok(next) => t = next,
                        Err(_) => break,
                    },
                    None => break,
                }
            }
            if sender.as_deref() == Some(t.requester_id.as_str()) {
                if t.state != State::Closed.as_str() {
                    self.reply(t.id, Author::Requester, &body, &uploads, &m.message_id, now)
                        .await?;
                    return Ok(Received::Replied(t.id));
                }
                follow_up = Some(t.id);
            }
        }
        let allowance = self.allowance(Allowance::Tickets, "", &m.from);
        if self.admit(&allowance, now).is_err() {
            return Ok(Received::Skipped(format!(
                "more than {} tickets from this sender in the last hour",
                self.config.portal_tickets_per_hour
            )));
        }
        if let Some(n) = follow_up {
            body = format!("(follow-up to the closed ticket #{n})\n\n{body}");
        }
        let opened = self
            .open_ticket(
                NewTicket {
                    subject: m.subject,
                    body,
                    category: cfg.category.clone(),
                    chain: String::new(),
                    node: String::new(),
                    priority: None,
                    email: m.from,
                    name: m.name,
                    ip: String::new(),
                    channel: Channel::Email,
                    attachments: uploads,
                    tags: vec!["email".into()],
                    actor: String::new(),
                    email_id: m.message_id,
                },
                now,
            )
            .await?;
        self.count(&allowance, now);
        Ok(Received::Opened(opened.id))
    }

    /// The attachments a message may keep (type, size and count as on the portal) and a
    /// line naming each one left out.
    fn accept_attachments(&self, files: &[Upload]) -> (Vec<Upload>, Vec<String>) {
        let mut kept = Vec::new();
        let mut refused = Vec::new();
        for f in files {
            let shown = crate::notices::shown(&f.name);
            if kept.len() >= self.config.max_attachments as usize {
                refused.push(format!(
                    "(attachment \"{shown}\" was left out: at most {} files per message)",
                    self.config.max_attachments
                ));
                continue;
            }
            match crate::service::check_upload(&self.config, f) {
                Ok(_) => kept.push(f.clone()),
                Err(e) => refused.push(format!("(attachment \"{shown}\" was left out: {})", e.0)),
            }
        }
        (kept, refused)
    }
}

/// A connection IMAP runs over: plain TCP or TLS.
trait Io: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> Io for T {}

/// One IMAP step, given up on after `limit` (a server that stops answering, or a
/// half-open connection, ends the poll with a reason; the next poll tries again).
async fn step<T, E: std::fmt::Display>(
    limit: Duration,
    what: &str,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, MailboxError> {
    match tokio::time::timeout(limit, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(MailboxError::Imap(format!("{what}: {e}"))),
        Err(_) => Err(MailboxError::Imap(format!(
            "{what}: no answer in {}s",
            limit.as_secs()
        ))),
    }
}

async fn tls(limit: Duration, host: &str, tcp: Box<dyn Io>) -> Result<Box<dyn Io>, MailboxError> {
    use rustls_platform_verifier::ConfigVerifierExt;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = rustls::ClientConfig::with_platform_verifier()
        .map_err(|e| MailboxError::Imap(format!("TLS setup: {e}")))?;
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| MailboxError::Imap(format!("\"{host}\" is not a TLS server name: {e}")))?;
    let stream = step(
        limit,
        "TLS handshake",
        tokio_rustls::TlsConnector::from(std::sync::Arc::new(config)).connect(name, tcp),
    )
    .await?;
    Ok(Box::new(stream))
}

/// Reads the server's greeting (a server that closes or says nothing ends the poll).
async fn greeting(
    limit: Duration,
    client: &mut async_imap::Client<Box<dyn Io>>,
) -> Result<(), MailboxError> {
    step(limit, "read the greeting", async {
        client
            .read_response()
            .await?
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed"))
    })
    .await?;
    Ok(())
}

/// The name the mailbox's cursor is stored under (another server, user or folder starts
/// afresh).
fn cursor_name(cfg: &MailboxConfig) -> String {
    format!("{}@{}:{}/{}", cfg.username, cfg.host, cfg.port, cfg.folder)
}

/// Polls the mailbox once: imports up to [`BATCH`] new mails through `desk`.
pub async fn poll(
    desk: &Desk,
    cfg: &MailboxConfig,
    password: &str,
    now: &(dyn Fn() -> i64 + Sync),
) -> Result<PollReport, MailboxError> {
    let limit = cfg.timeout;
    let tcp = step(
        limit,
        &format!("connect to {}:{}", cfg.host, cfg.port),
        tokio::net::TcpStream::connect((cfg.host.as_str(), cfg.port)),
    )
    .await?;
    let tcp: Box<dyn Io> = Box::new(tcp);
    let stream = match cfg.tls {
        ImapTls::Tls => tls(limit, &cfg.host, tcp).await?,
        ImapTls::None => tcp,
        ImapTls::Starttls => {
            let mut client = async_imap::Client::new(tcp);
            greeting(limit, &mut client).await?;
            step(
                limit,
                "STARTTLS",
                client.run_command_and_check_ok("STARTTLS", None),
            )
            .await?;
            tls(limit, &cfg.host, client.into_inner()).await?
        }
    };
    let mut client = async_imap::Client::new(stream);
    if cfg.tls != ImapTls::Starttls {
        greeting(limit, &mut client).await?;
    }
    let mut session = match tokio::time::timeout(limit, client.login(&cfg.username, password)).await
    {
        Ok(Ok(s)) => s,
        Ok(Err((e, _))) => {
            return Err(MailboxError::Imap(format!(
                "log in as {}: {e} (check support.mailbox.username and password_file)",
                cfg.username
            )));
        }
        Err(_) => return Err(MailboxError::Imap("log in: no answer".into())),
    };
    let result = import(desk, cfg, &mut session, now).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), session.logout()).await;
    result
}

async fn import(
    desk: &Desk,
    cfg: &MailboxConfig,
    session: &mut async_imap::Session<Box<dyn Io>>,
    now: &(dyn Fn() -> i64 + Sync),
) -> Result<PollReport, MailboxError> {
    let limit = cfg.timeout;
    let folder = step(
        limit,
        &format!("select {}", cfg.folder),
        session.select(&cfg.folder),
    )
    .await?;
    let validity = i64::from(folder.uid_validity.unwrap_or(0));
    let name = cursor_name(cfg);
    let cursor = desk
        .store()
        .mailbox_cursor(&name)
        .await
        .map_err(DeskError::from)?;
    let last = match cursor {
        Some((v, last)) if v == validity => Some(last),
        _ => None,
    };
    let query = match last {
        Some(last) => format!("UID {}:*", last + 1),
        None => "UNSEEN".to_string(),
    };
    let found = step(limit, "search", session.uid_search(&query)).await?;
    let mut uids: Vec<u32> = found
        .into_iter()
        .filter(|u| last.is_none_or(|l| i64::from(*u) > l))
        .collect();
    uids.sort_unstable();
    uids.truncate(BATCH);
    let mut report = PollReport::default();
    for uid in uids {
        let size = step(limit, "fetch the size", async {
            let f: Vec<_> = session
                .uid_fetch(uid.to_string(), "(UID RFC822.SIZE)")
                .await?
                .try_collect()
                .await?;
            Ok::<_, async_imap::error::Error>(f.first().and_then(|f| f.size).unwrap_or(0))
        })
        .await?;
        let outcome = if u64::from(size) > cfg.max_message_size {
            Received::Skipped(format!(
                "{size} bytes is over support.mailbox.max_message_size; left unread in the mailbox"
            ))
        } else {
            let raw = step(limit, "fetch the mail", async {
                let f: Vec<_> = session
                    .uid_fetch(uid.to_string(), "BODY.PEEK[]")
                    .await?
                    .try_collect()
                    .await?;
                Ok::<_, async_imap::error::Error>(
                    f.first()
                        .and_then(|f| f.body())
                        .map(<[u8]>::to_vec)
                        .unwrap_or_default(),
                )
            })
            .await?;
            match parse(&raw) {
                // Only a store failure stops the poll (the mail is read again next time); a
                // mail the desk refuses is skipped with the reason, never retried for ever.
                Ok(m) => match desk.receive_mail(m, now()).await {
                    Ok(r) => r,
                    Err(DeskError::Store(e)) => return Err(DeskError::Store(e).into()),
                    Err(e) => Received::Skipped(format!("refused: {e}")),
                },
                Err(e) => Received::Skipped(format!("unreadable: {e}")),
            }
        };
        match &outcome {
            Received::Opened(_) => report.opened += 1,
            Received::Replied(_) => report.replied += 1,
            Received::Duplicate(_) => report.duplicates += 1,
            Received::Skipped(why) => {
                report.skipped += 1;
                tracing::warn!(uid, folder = %cfg.folder, why = %why, "support mailbox: mail not imported");
            }
        }
        if !matches!(&outcome, Received::Skipped(w) if w.contains("max_message_size")) {
            step(limit, "mark the mail seen", async {
                let _: Vec<_> = session
                    .uid_store(uid.to_string(), "+FLAGS (\\Seen)")
                    .await?
                    .try_collect()
                    .await?;
                Ok::<_, async_imap::error::Error>(())
            })
            .await?;
        }
        desk.store()
            .set_mailbox_cursor(&name, validity, i64::from(uid), now())
            .await
            .map_err(DeskError::from)?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_history_is_cut_in_english_and_chinese() {
        let en = "Thanks, that fixed it.\n\nOn Mon, 7 Dec 2026 at 10:00, Support <s@x> wrote:\n> We restarted the node.\n";
        assert_eq!(strip_quoted(en), "Thanks, that fixed it.");
        let zh = "好的，谢谢。\n\n在 2026年12月7日 10:00，Support 写道：\n> 我们重启了节点。";
        assert_eq!(strip_quoted(zh), "好的，谢谢。");
        let outlook = "Still failing.\n\n-----Original Message-----\nFrom: Support\nSent: today";
        assert_eq!(strip_quoted(outlook), "Still failing.");
        let trailing = "see below\n> old\n> older\n";
        assert_eq!(strip_quoted(trailing), "see below");
        assert_eq!(strip_quoted("> only a quote"), "> only a quote");
    }

    #[test]
    fn ticket_numbers_come_from_ids_then_subject_tokens() {
        let mut m = Incoming {
            subject: "Re: [#12] RPC down".into(),
            ..Default::default()
        };
        assert_eq!(ticket_ref(&m), Some(12));
        m.references = vec!["<ticket-7-msg_ab@chainops>".into()];
        assert_eq!(ticket_ref(&m), Some(7));
        m.references = vec!["<ticket-x@chainops>".into(), "<other@host>".into()];
        assert_eq!(ticket_ref(&m), Some(12));
        for s in [
            "[#] x",
            "[#12 x",
            "[#99999999999999999999999] x",
            "#12",
            "[ #12]",
        ] {
            m.subject = s.into();
            assert_eq!(ticket_ref(&m), None, "{s}");
        }
        m.subject = "[#a] [#5] 两个".into();
        assert_eq!(ticket_ref(&m), Some(5));
    }

    #[test]
    fn real_mail_shapes_parse() {
        let gbk = b"From: =?GBK?B?1cXI/Q==?= <Zhang@Example.CN>\r\nTo: support@ops.example\r\nSubject: =?GBK?B?UlBDIM7et6jBrL3T?=\r\nMessage-ID: <abc@example.cn>\r\nContent-Type: text/plain; charset=GBK\r\nContent-Transfer-Encoding: base64\r\n\r\n0rvWsc7et6jBrL3Tvdq14w==\r\n";
        let m = parse(gbk).expect("GBK mail");
        assert_eq!(
            m.from, "Zhang@example.cn",
            "the domain is folded, the local part kept"
        );
        assert_eq!(m.name, "张三");
        assert_eq!(m.subject, "RPC 无法连接");
        assert_eq!(m.message_id, "<abc@example.cn>");
        assert!(m.automatic.is_none());
        let html = b"From: a@b.io\r\nSubject: hi\r\nContent-Type: text/html\r\n\r\n<p>Node <b>down</b></p><script>x</script>";
        let m = parse(html).expect("html mail");
        assert!(m.body.contains("Node down"), "{}", m.body);
        let bounce = b"From: MAILER-DAEMON@mx.example\r\nSubject: Undelivered\r\n\r\nsorry";
        assert!(parse(bounce).expect("bounce").automatic.is_some());
        let ooo =
            b"From: a@b.io\r\nAuto-Submitted: auto-replied\r\nSubject: Out of office\r\n\r\naway";
        assert!(parse(ooo).expect("ooo").automatic.is_some());
        for bad in [
            &b""[..],
            b"\x00\x01\x02",
            b"Subject: no sender\r\n\r\nbody",
            b"From: not an address\r\n\r\nx",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let long_subject = format!("From: a@b.io\r\nSubject: {}\r\n\r\nx", "长".repeat(5000));
        let m = parse(long_subject.as_bytes()).expect("long subject");
        assert_eq!(m.subject.chars().count(), tickets::MAX_SUBJECT);
    }
}
