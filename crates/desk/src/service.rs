//! The desk's operations over the store: open a ticket (portal, email, staff), reply, change
//! a ticket's fields and state, merge, link; read a ticket with its clocks; the SLA pass;
//! a requester's export and erasure. HTTP, email and the console call these; none of them
//! touches the tables directly.

use crate::config::SupportConfig;
use crate::notices::Refusal;
use crate::privacy::{self, Personal, Vault};
use crate::sla::{self, Clock, Event, Happening, Phase};
use crate::tickets::{self, Priority, State};
use chainops_core::error::ErrorKind;
use chainops_store::alerts::OutboxRow;
use chainops_store::tickets::{
    AttachmentRow, MessageRow, RequesterRow, SlaNoticeKey, TicketEventRow, TicketFilter, TicketRow,
};
use chainops_store::{Store, StoreError};
use serde::Serialize;
use std::sync::Arc;

/// Why an operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// The input is refused; the message says why and how to fix it.
    #[error("{0}")]
    Invalid(String),
    /// No such ticket, requester or attachment.
    #[error("{0}")]
    NotFound(String),
    /// The ticket changed meanwhile, or the move is not allowed now.
    #[error("{0}")]
    Conflict(String),
    /// Too many requests; the message says when to try again.
    #[error("{0}")]
    Limited(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DeskError {
    /// The coarse kind (HTTP status, exit code).
    pub fn kind(&self) -> ErrorKind {
        match self {
            DeskError::Invalid(_) => ErrorKind::InvalidInput,
            DeskError::NotFound(_) => ErrorKind::NotFound,
            DeskError::Conflict(_) => ErrorKind::Conflict,
            DeskError::Limited(_) => ErrorKind::Limited,
            DeskError::Store(e) => e.kind(),
        }
    }
}

impl From<Refusal> for DeskError {
    fn from(r: Refusal) -> Self {
        DeskError::Invalid(r.0)
    }
}

/// Result of this module.
pub type Result<T, E = DeskError> = std::result::Result<T, E>;

/// Where a ticket or message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The public portal.
    Portal,
    /// Staff in the console.
    Staff,
    /// The API.
    Api,
    /// Mail to the support mailbox.
    Email,
}

impl Channel {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Portal => "portal",
            Channel::Staff => "staff",
            Channel::Api => "api",
            Channel::Email => "email",
        }
    }
}

/// A file attached to a message.
#[derive(Debug, Clone)]
pub struct Upload {
    /// File name as sent.
    pub name: String,
    /// Bytes.
    pub data: Vec<u8>,
}

/// A ticket to open.
#[derive(Debug, Clone)]
pub struct NewTicket {
    /// Subject.
    pub subject: String,
    /// Body (Markdown).
    pub body: String,
    /// Category (one of `support.categories`).
    pub category: String,
    /// Affected chain (`""`: none).
    pub chain: String,
    /// Affected node (`""`: none).
    pub node: String,
    /// Priority (`None`: P3, or what staff set).
    pub priority: Option<Priority>,
    /// Requester's email.
    pub email: String,
    /// Requester's name.
    pub name: String,
    /// Requester's address (portal).
    pub ip: String,
    /// Where it came from.
    pub channel: Channel,
    /// Attachments.
    pub attachments: Vec<Upload>,
    /// Tags.
    pub tags: Vec<String>,
    /// Who opened it for the requester (staff), `""` for the requester.
    pub actor: String,
    /// Message-ID of the mail it came in as.
    pub email_id: String,
}

/// A new ticket: its number and the requester's private link token (shown once).
#[derive(Debug, Clone, Serialize)]
pub struct Opened {
    /// Ticket number.
    pub id: i64,
    /// Private link token for `/support/t/{token}`.
    pub link_token: String,
    /// The requester.
    pub requester_id: String,
}

/// Who writes a message.
#[derive(Debug, Clone)]
pub enum Author {
    /// Staff member; `public`: a reply the requester sees, else an internal note.
    Staff {
        /// User name.
        user: String,
        /// Reply or note.
        public: bool,
    },
    /// The requester (portal link, email).
    Requester,
}

/// Changes to a ticket's fields; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// New state.
    pub state: Option<State>,
    /// New priority.
    pub priority: Option<Priority>,
    /// New assignee (`""`: nobody).
    pub assignee: Option<String>,
    /// New team.
    pub team: Option<String>,
    /// New tags (replace).
    pub tags: Option<Vec<String>>,
    /// Link to an incident (`""`: unlink).
    pub incident_id: Option<String>,
    /// Link to an alert fingerprint (`""`: unlink).
    pub alert: Option<String>,
    /// Affected chain.
    pub chain: Option<String>,
    /// Affected node.
    pub node: Option<String>,
}

/// A ticket as a page or the API shows it.
#[derive(Debug, Clone)]
pub struct TicketView {
    /// The ticket.
    pub ticket: TicketRow,
    /// Messages, oldest first.
    pub messages: Vec<MessageRow>,
    /// Attachments (without bytes).
    pub attachments: Vec<AttachmentRow>,
    /// History, oldest first.
    pub events: Vec<TicketEventRow>,
    /// SLA clocks now.
    pub clocks: Vec<Clock>,
    /// The policy's name (`None`: no policy for its priority).
    pub policy: Option<String>,
    /// The requester's personal data (`None` once erased).
    pub requester: Option<Personal>,
}

/// An SLA warning or breach to send.
#[derive(Debug, Clone, Serialize)]
pub struct SlaNotice {
    /// Ticket number.
    pub ticket_id: i64,
    /// Subject.
    pub subject: String,
    /// Priority.
    pub priority: Priority,
    /// Which clock.
    pub metric: sla::Metric,
    /// Next-response exchange.
    pub cycle: u32,
    /// `warning` or `breach`.
    pub level: &'static str,
    /// When the clock crossed the line.
    pub at_ms: i64,
    /// Team after escalation.
    pub team: String,
    /// Chain the ticket concerns.
    pub chain: String,
}

/// What one SLA pass did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PassReport {
    /// Active tickets looked at.
    pub tickets: usize,
    /// Notices newly recorded (and their notifications enqueued).
    pub notices: usize,
    /// Tickets escalated to another team.
    pub escalated: usize,
}

/// Builds the notifications of a notice (the wiring knows the notifiers).
pub type NoticeRows<'a> = &'a (dyn Fn(&SlaNotice) -> Vec<OutboxRow> + Send + Sync);

/// The support desk.
#[derive(Debug, Clone)]
pub struct Desk {
    /// `[support]`.
    pub config: Arc<SupportConfig>,
    store: Store,
    vault: Vault,
    /// Portal tickets per key (client address, email index) in the last hour.
    opened: Arc<std::sync::Mutex<std::collections::HashMap<String, Vec<i64>>>>,
    /// Mail to requesters: the email notifier and the base of links (none: no mail).
    mail: Option<(String, String)>,
    /// The knowledge base's search index and the store version it was built from.
    pub(crate) kb_cache: Arc<std::sync::RwLock<Option<Arc<crate::search::Index>>>>,
}

/// What an hourly allowance of the public forms counts; each kind has its own
/// (`support.portal_tickets_per_hour` each), so asking for a sign-in link does not use up
/// the tickets a requester may open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowance {
    /// Tickets opened on the portal or by mail.
    Tickets,
    /// Sign-in links mailed.
    SignIn,
    /// Status-page subscriptions.
    Subscriptions,
}

/// The limiter keys of one request ([`Desk::allowance`]).
#[derive(Debug, Clone)]
pub struct AllowanceKeys {
    what: Allowance,
    keys: Vec<String>,
}

/// Most keys the portal's rate limit remembers (older entries are dropped first).
const MAX_RATE_KEYS: usize = 100_000;

fn id(prefix: &str) -> String {
    let mut b = [0u8; 12];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut b);
    format!("{prefix}{}", chainops_core::hex::encode(&b))
}

/// Checks an attachment's name and size against `[support]`; returns the content type.
pub fn check_upload(config: &SupportConfig, u: &Upload) -> Result<&'static str, Refusal> {
    let name = u.name.trim();
    if name.is_empty()
        || name.chars().count() > 200
        || name.contains(['/', '\\'])
        || name.chars().any(char::is_control)
        || name.starts_with('.')
    {
        return Err(Refusal(format!(
            "attachment name \"{}\" is not a plain file name",
            crate::notices::shown(name)
        )));
    }
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if !config.attachment_types.contains(&ext) {
        return Err(Refusal(format!(
            "attachment \"{}\": files of type .{ext} are not accepted; send one of {}",
            crate::notices::shown(name),
            config.attachment_types.join(", ")
        )));
    }
    if u.data.len() as u64 > config.max_attachment_size {
        return Err(Refusal(format!(
            "attachment \"{}\" has {} bytes; at most {}",
            crate::notices::shown(name),
            u.data.len(),
            config.max_attachment_size
        )));
    }
    if u.data.is_empty() {
        return Err(Refusal(format!(
            "attachment \"{}\" is empty",
            crate::notices::shown(name)
        )));
    }
    Ok(content_type(&ext, &u.data))
}

/// The content type served for an attachment: pictures only when their bytes are what the
/// extension says; anything else is a download.
fn content_type(ext: &str, data: &[u8]) -> &'static str {
    let starts = |m: &[u8]| data.starts_with(m);
    match ext {
        "png" if starts(b"\x89PNG\r\n\x1a\n") => "image/png",
        "jpg" | "jpeg" if starts(b"\xff\xd8\xff") => "image/jpeg",
        "gif" if starts(b"GIF87a") || starts(b"GIF89a") => "image/gif",
        "webp" if data.len() > 12 && &data[8..12] == b"WEBP" => "image/webp",
        "pdf" if starts(b"%PDF-") => "application/pdf",
        "txt" | "log" | "csv" if std::str::from_utf8(data).is_ok() => "text/plain; charset=utf-8",
        "json" if std::str::from_utf8(data).is_ok() => "application/json",
        _ => "application/octet-stream",
    }
}

/// The body of a message: trimmed, non-empty, bounded, no control characters but line
/// breaks and tabs.
fn body(text: &str) -> Result<String, Refusal> {
    crate::notices::text("body", text, tickets::MAX_BODY).map(str::to_string)
}

impl Desk {
    /// A desk over a store and a vault.
    pub fn new(config: Arc<SupportConfig>, store: Store, vault: Vault) -> Desk {
        Desk {
            config,
            store,
            vault,
            opened: Arc::default(),
            mail: None,
            kb_cache: Arc::default(),
        }
    }

    /// Mails requesters through the email notifier `channel` (its SMTP server and sender),
    /// with links under `base_url`: the private link when a ticket is opened, every public
    /// staff reply, and a solved ticket.
    pub fn with_mail(mut self, channel: &str, base_url: &str) -> Desk {
        self.mail = Some((
            channel.to_string(),
            base_url.trim_end_matches('/').to_string(),
        ));
        self
    }

    /// The outbox row of a mail about ticket `t` (none when the desk sends no mail or the
    /// link cannot be opened).
    fn mail_row(&self, t: &TicketRow, key: &str, text: &str, now: i64) -> Vec<OutboxRow> {
        let Some((_, base)) = &self.mail else {
            return Vec::new();
        };
        let Some(token) = self.vault.open_link(&t.link_sealed) else {
            return Vec::new();
        };
        let link = format!("{base}/support/t/{token}");
        let thread = format!("<ticket-{}@chainops>", t.id);
        let (message_id, in_reply_to) = if key == "opened" {
            (thread, String::new())
        } else {
            (format!("<ticket-{}-{key}@chainops>", t.id), thread)
        };
        let mail = chainops_core::mail::Mail {
            requester: t.requester_id.clone(),
            subject: format!("[#{}] {}", t.id, t.subject),
            text: format!("{text}\n\n{link}\n"),
            message_id,
            in_reply_to,
            reply_to: String::new(),
        };
        self.outbox_mail(
            mail,
            format!("mail/{}/{key}", t.id),
            format!("ticket/{}", t.id),
            now,
        )
    }

    /// The key that seals requesters' data and link tokens.
    pub(crate) fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The base of links in mail to requesters (none: the desk sends no mail).
    pub(crate) fn mail_base(&self) -> Option<&str> {
        self.mail.as_ref().map(|(_, base)| base.as_str())
    }

    /// The outbox row of `mail` (its `Reply-To` the support mailbox), none when the desk
    /// sends no mail.
    pub(crate) fn outbox_mail(
        &self,
        mut mail: chainops_core::mail::Mail,
        id: String,
        fingerprint: String,
        now: i64,
    ) -> Vec<OutboxRow> {
        let Some((channel, _)) = &self.mail else {
            return Vec::new();
        };
        mail.reply_to = self
            .config
            .mailbox
            .as_ref()
            .map(|m| m.address.clone())
            .unwrap_or_default();
        let payload = serde_json::json!({
            "version": "1", "id": id, "status": chainops_core::mail::EVENT, "source": "support",
            chainops_core::mail::FIELD: mail,
        });
        vec![OutboxRow {
            id,
            fingerprint,
            channel: channel.clone(),
            event: chainops_core::mail::EVENT.into(),
            payload: payload.to_string(),
            created_ms: now,
            attempts: 0,
            next_attempt_ms: now,
            state: chainops_store::alerts::DeliveryState::Pending,
            last_error: None,
            done_ms: None,
        }]
    }

    /// The hourly allowance of `what` for a client address and an email address (`""`
    /// for either: not counted). Keys hold the email's index, never the address.
    pub fn allowance(&self, what: Allowance, ip: &str, email: &str) -> AllowanceKeys {
        let prefix = match what {
            Allowance::Tickets => "",
            Allowance::SignIn => "signin:",
            Allowance::Subscriptions => "subscribe:",
        };
        AllowanceKeys {
            what,
            keys: [ip.to_string(), self.email_key(email)]
                .into_iter()
                .filter(|k| !k.is_empty())
                .map(|k| format!("{prefix}{k}"))
                .collect(),
        }
    }

    /// Refuses when one of the keys was counted `support.portal_tickets_per_hour` times in
    /// the last hour. Only what succeeded counts ([`Desk::count`]): a form refused for a typo
    /// does not use the allowance up.
    pub fn admit(&self, a: &AllowanceKeys, now: i64) -> Result<()> {
        let limit = self.config.portal_tickets_per_hour as usize;
        let mut map = self.opened.lock().unwrap_or_else(|p| p.into_inner());
        for k in &a.keys {
            let Some(times) = map.get_mut(k) else {
                continue;
            };
            times.retain(|t| now - t < 3_600_000);
            if times.len() >= limit {
                let wait = times.first().map_or(0, |t| 3_600_000 - (now - t)) / 60_000 + 1;
                let what = match a.what {
                    Allowance::Tickets => "tickets",
                    Allowance::SignIn => "sign-in links",
                    Allowance::Subscriptions => "subscriptions",
                };
                let hint = if a.what == Allowance::Tickets {
                    ", or reply on a ticket you already opened"
                } else {
                    ""
                };
                return Err(DeskError::Limited(format!(
                    "too many {what} from this address or email in the last hour; try again in {wait} minutes{hint}"
                )));
            }
        }
        Ok(())
    }

    /// Counts one use of an allowance.
    pub fn count(&self, a: &AllowanceKeys, now: i64) {
        let mut map = self.opened.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_RATE_KEYS {
            map.retain(|_, times| times.iter().any(|t| now - t < 3_600_000));
        }
        for k in &a.keys {
            map.entry(k.clone()).or_default().push(now);
        }
    }

    /// The rate-limit key of an email address (its index, so the limiter holds no address).
    fn email_key(&self, email: &str) -> String {
        tickets::email(email)
            .map(|e| self.vault.email_index(&e))
            .unwrap_or_default()
    }

    /// The store (for the routes' own reads).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The requester with this email, created if new (their personal data sealed under a
    /// new key). A known requester's name is filled in if they give one for the first time.
    pub async fn requester_for(
        &self,
        email: &str,
        name: &str,
        ip: &str,
        now: i64,
    ) -> Result<String> {
        let email = tickets::email(email)?;
        let name = name.trim();
        if name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err(DeskError::Invalid(
                "name has more than 200 characters or control characters".into(),
            ));
        }
        let index = self.vault.email_index(&email);
        if let Some(r) = self.store.requester_by_index(&index).await? {
            if !name.is_empty()
                && let Some(mut p) = self.personal(&r.id).await?
                && p.name.is_empty()
                && let Some(key) = self.key_of(&r.id).await?
            {
                p.name = name.to_string();
                self.store
                    .update_requester(&r.id, &privacy::seal(&key, &p))
                    .await?;
            }
            return Ok(r.id);
        }
        let (key, wrapped) = self.vault.new_key();
        let personal = Personal {
            name: name.to_string(),
            email,
            ip: ip.to_string(),
        };
        let row = RequesterRow {
            id: id("rq_"),
            email_index: Some(index.clone()),
            sealed: Some(privacy::seal(&key, &personal)),
            created_ms: now,
            erased_ms: None,
        };
        match self.store.create_requester(&row, &wrapped).await {
            Ok(()) => Ok(row.id),
            // Two first tickets from one address at once: the other one won.
            Err(e) => match self.store.requester_by_index(&index).await? {
                Some(r) => Ok(r.id),
                None => Err(e.into()),
            },
        }
    }

    async fn key_of(&self, requester_id: &str) -> Result<Option<[u8; 32]>> {
        match self.store.requester_key(requester_id).await? {
            None => Ok(None),
            Some(w) => Ok(Some(self.vault.unwrap_key(&w)?)),
        }
    }

    /// A requester's personal data (`None` once erased or unknown).
    pub async fn personal(&self, requester_id: &str) -> Result<Option<Personal>> {
        let Some(r) = self.store.requester(requester_id).await? else {
            return Ok(None);
        };
        let (Some(sealed), Some(key)) = (r.sealed, self.key_of(requester_id).await?) else {
            return Ok(None);
        };
        Ok(Some(privacy::open(&key, &sealed)?))
    }

    /// The requester id of an email address, if known.
    pub async fn requester_by_email(&self, email: &str) -> Result<Option<String>> {
        let email = tickets::email(email)?;
        Ok(self
            .store
            .requester_by_index(&self.vault.email_index(&email))
            .await?
            .map(|r| r.id))
    }

    fn files(
        &self,
        list: &[Upload],
        ticket_id: i64,
        message_id: &str,
    ) -> Result<Vec<AttachmentRow>> {
        if list.len() > self.config.max_attachments as usize {
            return Err(DeskError::Invalid(format!(
                "{} attachments; at most {} per message",
                list.len(),
                self.config.max_attachments
            )));
        }
        list.iter()
            .map(|u| {
                let ct = check_upload(&self.config, u)?;
                Ok(AttachmentRow {
                    id: id("at_"),
                    ticket_id,
                    message_id: message_id.to_string(),
                    name: u.name.trim().to_string(),
                    content_type: ct.to_string(),
                    size: u.data.len() as i64,
                    data: u.data.clone(),
                })
            })
            .collect()
    }

    fn check_chain_and_category(&self, category: &str) -> Result<()> {
        if !self.config.categories.iter().any(|c| c == category) {
            return Err(DeskError::Invalid(format!(
                "category \"{}\" is not one of {}",
                crate::notices::shown(category),
                self.config.categories.join(", ")
            )));
        }
        Ok(())
    }

    /// Opens a ticket.
    pub async fn open_ticket(&self, t: NewTicket, now: i64) -> Result<Opened> {
        let subject = crate::notices::text("subject", &t.subject, tickets::MAX_SUBJECT)?;
        let text = body(&t.body)?;
        self.check_chain_and_category(t.category.trim())?;
        let tags = tickets::tags(&t.tags)?;
        for (field, v) in [("chain", &t.chain), ("node", &t.node)] {
            if v.chars().count() > 64 || v.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(DeskError::Invalid(format!(
                    "{field} \"{}\" is not a name",
                    crate::notices::shown(v)
                )));
            }
        }
        let message_id = id("msg_");
        let files = self.files(&t.attachments, 0, &message_id)?;
        let requester_id = self.requester_for(&t.email, &t.name, &t.ip, now).await?;
        let (token, hash) = privacy::new_link();
        let staff = !t.actor.is_empty();
        let row = TicketRow {
            subject: subject.to_string(),
            category: t.category.trim().to_string(),
            chain: t.chain.trim().to_string(),
            node: t.node.trim().to_string(),
            priority: t.priority.unwrap_or(Priority::P3).as_str().into(),
            state: State::New.as_str().into(),
            team: self.config.teams.first().cloned().unwrap_or_default(),
            requester_id: requester_id.clone(),
            channel: t.channel.as_str().into(),
            tags,
            link_hash: hash,
            link_sealed: self.vault.seal_link(&token),
            created_ms: now,
            updated_ms: now,
            sla: "ok".into(),
            ..Default::default()
        };
        let first = MessageRow {
            id: message_id,
            at_ms: now,
            author_kind: "requester".into(),
            author: if staff {
                t.actor.clone()
            } else {
                requester_id.clone()
            },
            public: true,
            body: text,
            email_id: t.email_id,
            ..Default::default()
        };
        let ack = |id: i64| {
            let mut t = row.clone();
            t.id = id;
            self.mail_row(
                &t,
                "opened",
                "We received your request and will answer here; follow it and reply on this page (no account needed). Keep this mail: the link is private.\n\n我们已收到您的工单，将在此页面回复；无需账户即可查看和回复。请保存此邮件：链接是私密的。",
                now,
            )
        };
        let id = self.store.create_ticket(&row, &first, &files, &ack).await?;
        self.refresh_sla(id, now).await?;
        Ok(Opened {
            id,
            link_token: token,
            requester_id,
        })
    }

    /// A ticket, or not found.
    pub async fn ticket(&self, id: i64) -> Result<TicketRow> {
        self.store
            .ticket(id)
            .await?
            .ok_or_else(|| DeskError::NotFound(format!("there is no ticket #{id}")))
    }

    /// The ticket a private link opens (closed tickets' links expire after
    /// `support.link_lifetime`).
    pub async fn ticket_by_link(&self, token: &str, now: i64) -> Result<TicketRow> {
        let gone = || {
            DeskError::NotFound("this ticket link is not valid (or has expired); open the newest email about your ticket, or open a new ticket".into())
        };
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(gone());
        }
        let t = self
            .store
            .ticket_by_link(&privacy::link_hash(token))
            .await?
            .ok_or_else(gone)?;
        let lifetime = self.config.link_lifetime.as_millis() as i64;
        if t.state == State::Closed.as_str() && now - t.updated_ms > lifetime {
            return Err(gone());
        }
        Ok(t)
    }

    /// Adds a message. A requester's message reopens a pending or solved ticket; a staff
    /// reply opens a new one. Closed tickets take no messages.
    pub async fn reply(
        &self,
        ticket_id: i64,
        author: Author,
        text: &str,
        uploads: &[Upload],
        email_id: &str,
        now: i64,
    ) -> Result<MessageRow> {
        let text = body(text)?;
        for _ in 0..5 {
            let mut t = self.ticket(ticket_id).await?;
            let state = State::parse(&t.state)?;
            if state == State::Closed {
                return Err(DeskError::Conflict(format!(
                    "ticket #{ticket_id} is closed; open a new ticket"
                )));
            }
            let message_id = id("msg_");
            let files = self.files(uploads, ticket_id, &message_id)?;
            let (kind, who, public, value, next) = match &author {
                Author::Requester => (
                    "requester",
                    t.requester_id.clone(),
                    true,
                    "requester",
                    matches!(state, State::Pending | State::Solved).then_some(State::Open),
                ),
                Author::Staff { user, public } => (
                    "staff",
                    user.clone(),
                    *public,
                    if *public { "public" } else { "internal" },
                    (*public && state == State::New).then_some(State::Open),
                ),
            };
            let actor = if kind == "requester" {
                "requester".to_string()
            } else {
                who.clone()
            };
            let ev = |kind: &str, value: &str| TicketEventRow {
                ticket_id,
                at_ms: now,
                kind: kind.into(),
                value: value.into(),
                actor: actor.clone(),
            };
            let mut events = vec![ev("message", value)];
            if let Some(s) = next {
                events.push(ev("state", s.as_str()));
                t.state = s.as_str().into();
            }
            t.updated_ms = now;
            let m = MessageRow {
                id: message_id,
                ticket_id,
                at_ms: now,
                author_kind: kind.into(),
                author: who,
                public,
                body: text.clone(),
                email_id: email_id.to_string(),
            };
            let outbox = if kind == "staff" && public {
                self.mail_row(&t, &m.id, &text, now)
            } else {
                Vec::new()
            };
            if self
                .store
                .save_ticket(&t, &events, Some((&m, &files)), &outbox)
                .await?
            {
                self.refresh_sla(ticket_id, now).await?;
                return Ok(m);
            }
        }
        Err(DeskError::Conflict(format!(
            "ticket #{ticket_id} kept changing; try again"
        )))
    }

    /// Applies a change by `actor`; every changed field is one history entry.
    pub async fn change(
        &self,
        ticket_id: i64,
        c: &Change,
        actor: &str,
        now: i64,
    ) -> Result<TicketRow> {
        if let Some(team) = &c.team
            && !self.config.teams.contains(team)
        {
            return Err(DeskError::Invalid(format!(
                "team \"{}\" is not one of {}",
                crate::notices::shown(team),
                self.config.teams.join(", ")
            )));
        }
        for (field, v) in [
            ("assignee", &c.assignee),
            ("incident", &c.incident_id),
            ("alert", &c.alert),
            ("chain", &c.chain),
            ("node", &c.node),
        ] {
            if let Some(v) = v
                && (v.chars().count() > 200 || v.chars().any(char::is_control))
            {
                return Err(DeskError::Invalid(format!(
                    "{field} is longer than 200 characters or holds control characters"
                )));
            }
        }
        let tags = c.tags.as_deref().map(tickets::tags).transpose()?;
        for _ in 0..5 {
            let mut t = self.ticket(ticket_id).await?;
            let mut events = Vec::new();
            let mut set = |kind: &str, field: &mut String, v: &str| {
                if field != v {
                    *field = v.to_string();
                    events.push(TicketEventRow {
                        ticket_id,
                        at_ms: now,
                        kind: kind.into(),
                        value: v.into(),
                        actor: actor.into(),
                    });
                }
            };
            if let Some(s) = c.state {
                let from = State::parse(&t.state)?;
                if from != s {
                    from.may_become(s)?;
                }
                set("state", &mut t.state, s.as_str());
            }
            if let Some(p) = c.priority {
                set("priority", &mut t.priority, p.as_str());
            }
            if let Some(v) = &c.assignee {
                set("assignee", &mut t.assignee, v.trim());
            }
            if let Some(v) = &c.team {
                set("team", &mut t.team, v);
            }
            if let Some(v) = &c.incident_id {
                set("link", &mut t.incident_id, v.trim());
            }
            if let Some(v) = &c.alert {
                set("alert", &mut t.alert, v.trim());
            }
            if let Some(v) = &c.chain {
                set("chain", &mut t.chain, v.trim());
            }
            if let Some(v) = &c.node {
                set("node", &mut t.node, v.trim());
            }
            if let Some(tags) = &tags
                && &t.tags != tags
            {
                t.tags = tags.clone();
                events.push(TicketEventRow {
                    ticket_id,
                    at_ms: now,
                    kind: "tags".into(),
                    value: tags.join(","),
                    actor: actor.into(),
                });
            }
            if events.is_empty() {
                return Ok(t);
            }
            t.updated_ms = now;
            let solved = c.state == Some(State::Solved) && events.iter().any(|e| e.kind == "state");
            let outbox = if solved {
                self.mail_row(
                    &t,
                    &format!("solved-{now}"),
                    "We consider your request solved. If it is not, reply on the page and the ticket opens again. How did we do? Rate our answer (1-5) on the same page.\n\n我们认为您的问题已解决。如未解决，请在页面上回复，工单将重新打开。欢迎在同一页面为我们的答复评分（1-5 分）。",
                    now,
                )
            } else {
                Vec::new()
            };
            if self.store.save_ticket(&t, &events, None, &outbox).await? {
                self.refresh_sla(ticket_id, now).await?;
                return self.ticket(ticket_id).await;
            }
        }
        Err(DeskError::Conflict(format!(
            "ticket #{ticket_id} kept changing; try again"
        )))
    }

    /// A known issue: answers every active ticket linked to `incident` with the same public
    /// reply (each requester is mailed, like any reply) and, with `solve`, sets them solved.
    /// Returns the tickets answered. A ticket that fails (closed meanwhile) is skipped and
    /// the rest go on.
    pub async fn reply_all(
        &self,
        incident: &str,
        text: &str,
        solve: bool,
        actor: &str,
        now: i64,
    ) -> Result<Vec<i64>> {
        let incident = incident.trim();
        if incident.is_empty() || incident.chars().count() > 200 {
            return Err(DeskError::Invalid(
                "incident must name the incident the tickets are linked to (1-200 characters)"
                    .into(),
            ));
        }
        body(text)?;
        let filter = TicketFilter {
            states: ["new", "open", "pending", "on-hold"]
                .map(String::from)
                .to_vec(),
            incident_id: Some(incident.to_string()),
            ..Default::default()
        };
        let (tickets, _) = self.store.list_tickets(&filter, 10_000, 0).await?;
        let mut done = Vec::new();
        for t in tickets {
            let author = Author::Staff {
                user: actor.to_string(),
                public: true,
            };
            if let Err(e) = self.reply(t.id, author, text, &[], "", now).await {
                tracing::warn!(ticket = t.id, error = %e, "known-issue reply skipped");
                continue;
            }
            if solve {
                let c = Change {
                    state: Some(State::Solved),
                    ..Default::default()
                };
                if let Err(e) = self.change(t.id, &c, actor, now).await {
                    tracing::warn!(ticket = t.id, error = %e, "known-issue solve skipped");
                }
            }
            done.push(t.id);
        }
        Ok(done)
    }

    /// Merges `from` into `into`: `from` is closed with a note pointing at `into`, and
    /// `into` gets an internal note naming `from`. Merging a ticket into itself, into a
    /// merged or closed ticket, is refused.
    pub async fn merge(&self, from: i64, into: i64, actor: &str, now: i64) -> Result<()> {
        if from == into {
            return Err(DeskError::Invalid(
                "a ticket cannot be merged into itself".into(),
            ));
        }
        let target = self.ticket(into).await?;
        if target.merged_into.is_some() || target.state == State::Closed.as_str() {
            return Err(DeskError::Conflict(format!(
                "ticket #{into} is closed or merged; merge into an active ticket"
            )));
        }
        let mut t = self.ticket(from).await?;
        if t.merged_into.is_some() {
            return Err(DeskError::Conflict(format!(
                "ticket #{from} is already merged"
            )));
        }
        t.merged_into = Some(into);
        t.state = State::Closed.as_str().into();
        t.updated_ms = now;
        let ev = |ticket_id: i64, kind: &str, value: String| TicketEventRow {
            ticket_id,
            at_ms: now,
            kind: kind.into(),
            value,
            actor: actor.into(),
        };
        let note = MessageRow {
            id: id("msg_"),
            ticket_id: from,
            at_ms: now,
            author_kind: "system".into(),
            author: actor.into(),
            public: true,
            body: format!("Merged into ticket #{into}. / 已合并到工单 #{into}。"),
            email_id: String::new(),
        };
        let events = [
            ev(from, "merged", into.to_string()),
            ev(from, "state", "closed".into()),
        ];
        if !self
            .store
            .save_ticket(&t, &events, Some((&note, &[])), &[])
            .await?
        {
            return Err(DeskError::Conflict(format!(
                "ticket #{from} changed meanwhile; try again"
            )));
        }
        self.reply(
            into,
            Author::Staff {
                user: actor.into(),
                public: false,
            },
            &format!("Ticket #{from} was merged into this one."),
            &[],
            "",
            now,
        )
        .await?;
        Ok(())
    }

    /// A ticket with its messages; for staff also internal notes, the history, the clocks and
    /// the requester's personal data.
    pub async fn view(&self, ticket_id: i64, staff: bool, now: i64) -> Result<TicketView> {
        let ticket = self.ticket(ticket_id).await?;
        let messages = self.store.ticket_messages(ticket_id, staff).await?;
        let mut attachments = self.store.ticket_attachments(ticket_id).await?;
        if !staff {
            attachments.retain(|a| messages.iter().any(|m| m.id == a.message_id));
        }
        // The requester's page shows neither the history nor the clocks: not read for it.
        let (events, clocks, policy, requester) = if staff {
            let events = self.store.ticket_events(ticket_id).await?;
            let (clocks, policy) = self.clocks_of(&ticket, &events, now);
            let requester = self.personal(&ticket.requester_id).await?;
            (events, clocks, policy, requester)
        } else {
            (Vec::new(), Vec::new(), None, None)
        };
        Ok(TicketView {
            ticket,
            messages,
            attachments,
            events,
            clocks,
            policy,
            requester,
        })
    }

    /// The clocks of a ticket from its history, with its policy's name.
    pub fn clocks_of(
        &self,
        t: &TicketRow,
        events: &[TicketEventRow],
        now: i64,
    ) -> (Vec<Clock>, Option<String>) {
        let Ok(priority) = Priority::parse(&t.priority) else {
            return (Vec::new(), None);
        };
        let Some(policy) = sla::policy_for(&self.config.sla, priority, &t.category) else {
            return (Vec::new(), None);
        };
        (
            sla::clocks(&happenings(events), policy, now),
            Some(policy.name.clone()),
        )
    }

    async fn refresh_sla(&self, ticket_id: i64, now: i64) -> Result<()> {
        let t = self.ticket(ticket_id).await?;
        let events = self.store.ticket_events(ticket_id).await?;
        let (clocks, _) = self.clocks_of(&t, &events, now);
        let (due, verdict) = verdict(&clocks);
        self.store.set_ticket_sla(ticket_id, due, verdict).await?;
        Ok(())
    }

    /// Recomputes every active ticket's clocks from its history, records the warnings and
    /// breaches not yet recorded (each once: see [`Store::record_sla_notice`]) with their
    /// notifications, and moves breached tickets to their policy's escalation team.
    pub async fn sla_pass(&self, now: i64, rows: NoticeRows<'_>) -> Result<PassReport> {
        let mut report = PassReport::default();
        let mut changed = Vec::new();
        for t in self.store.sla_inputs().await? {
            report.tickets += 1;
            let Ok(priority) = Priority::parse(&t.priority) else {
                continue;
            };
            let Some(policy) = sla::policy_for(&self.config.sla, priority, &t.category) else {
                continue;
            };
            let clocks = sla::clocks(&happenings_of_log(&t.clock_log), policy, now);
            let (due, v) = verdict(&clocks);
            if t.next_due_ms != due || t.sla != v {
                changed.push((t.id, due, v.to_string()));
            }
            for c in &clocks {
                // A breach found late (the daemon was down) makes its warning moot.
                let level = match (c.breached_ms, c.warned_ms) {
                    (Some(at), _) => ("breach", at),
                    (None, Some(at)) => ("warning", at),
                    _ => continue,
                };
                let key = SlaNoticeKey {
                    ticket_id: t.id,
                    metric: c.metric.as_str().to_string(),
                    cycle: i64::from(c.cycle),
                    level: level.0.to_string(),
                };
                let sent = format!("{}/{}/{};", key.metric, key.cycle, key.level);
                if t.sla_sent.split_inclusive(';').any(|s| s == sent) {
                    continue;
                }
                let escalate = policy
                    .escalate_to
                    .as_ref()
                    .filter(|team| level.0 == "breach" && **team != t.team);
                let notice = SlaNotice {
                    ticket_id: t.id,
                    subject: t.subject.clone(),
                    priority,
                    metric: c.metric,
                    cycle: c.cycle,
                    level: level.0,
                    at_ms: level.1,
                    team: escalate.cloned().unwrap_or_else(|| t.team.clone()),
                    chain: t.chain.clone(),
                };
                let mut history = vec![TicketEventRow {
                    ticket_id: t.id,
                    at_ms: now,
                    kind: "sla".into(),
                    value: format!("{} {}", c.metric.as_str(), level.0),
                    actor: "system".into(),
                }];
                if escalate.is_some() {
                    history.push(TicketEventRow {
                        ticket_id: t.id,
                        at_ms: now,
                        kind: "escalated".into(),
                        value: notice.team.clone(),
                        actor: "system".into(),
                    });
                }
                let new = self
                    .store
                    .record_sla_notice(&key, level.1, &rows(&notice), &history)
                    .await?;
                if new {
                    report.notices += 1;
                    if let Some(team) = escalate {
                        let change = Change {
                            team: Some(team.clone()),
                            ..Default::default()
                        };
                        // The history already says why; the change itself is by the system.
                        if self.change(t.id, &change, "system", now).await.is_ok() {
                            report.escalated += 1;
                        }
                    }
                }
            }
        }
        self.store.set_tickets_sla(&changed).await?;
        Ok(report)
    }

    /// Everything kept about a requester, for a subject-access request: their personal data
    /// Deletes what `[support.retention]` no longer keeps (nothing when it keeps all).
    pub async fn purge(&self, now: i64) -> Result<chainops_store::tickets::PurgeCounts> {
        let r = &self.config.retention;
        let cut = |d: Option<std::time::Duration>| d.map(|d| now - d.as_millis() as i64);
        if r.tickets.is_none() && r.attachments.is_none() && r.surveys.is_none() {
            return Ok(Default::default());
        }
        Ok(self
            .store
            .purge_support(cut(r.tickets), cut(r.attachments), cut(r.surveys))
            .await?)
    }

    /// (opened), tickets and the messages they wrote.
    pub async fn export_requester(&self, requester_id: &str) -> Result<serde_json::Value> {
        let r =
            self.store.requester(requester_id).await?.ok_or_else(|| {
                DeskError::NotFound(format!("there is no requester {requester_id}"))
            })?;
        let personal = self.personal(requester_id).await?;
        let filter = TicketFilter {
            requester_id: Some(requester_id.to_string()),
            ..Default::default()
        };
        let (tickets, _) = self.store.list_tickets(&filter, 10_000, 0).await?;
        let mut out = Vec::new();
        for t in tickets {
            let messages: Vec<serde_json::Value> = self
                .store
                .ticket_messages(t.id, false)
                .await?
                .into_iter()
                .map(|m| {
                    serde_json::json!({
                        "at": chainops_core::time::rfc3339(m.at_ms),
                        "from": if m.author_kind == "requester" { "requester" } else { "support" },
                        "body": m.body,
                    })
                })
                .collect();
            out.push(serde_json::json!({
                "ticket": t.id, "subject": t.subject, "state": t.state, "category": t.category,
                "chain": t.chain, "created": chainops_core::time::rfc3339(t.created_ms),
                "messages": messages,
            }));
        }
        Ok(serde_json::json!({
            "requester": requester_id,
            "created": chainops_core::time::rfc3339(r.created_ms),
            "erased": r.erased_ms.map(chainops_core::time::rfc3339),
            "personal_data": personal,
            "tickets": out,
        }))
    }

    /// Crypto-shredding: destroys the requester's key and sealed data.
    pub async fn erase_requester(&self, requester_id: &str, actor: &str, now: i64) -> Result<()> {
        if self.store.requester(requester_id).await?.is_none() {
            return Err(DeskError::NotFound(format!(
                "there is no requester {requester_id}"
            )));
        }
        if !self.store.erase_requester(requester_id, now, actor).await? {
            return Err(DeskError::Conflict(format!(
                "requester {requester_id} is already erased"
            )));
        }
        Ok(())
    }
}

/// A history entry as an SLA happening, if the clocks care about it.
fn happening(kind: &str, value: &str, at: i64) -> Option<Event> {
    let what = match (kind, value) {
        ("created", _) => Happening::Created,
        ("state", s) => Happening::State(State::parse(s).ok()?),
        ("message", "requester") => Happening::RequesterMessage,
        ("message", "public") => Happening::StaffReply,
        _ => return None,
    };
    Some(Event { at, what })
}

#[async_trait::async_trait]
impl chainops_core::mail::Recipients for Desk {
    async fn address(&self, requester: &str) -> Result<Option<String>, String> {
        self.personal(requester)
            .await
            .map(|p| p.map(|p| p.email))
            .map_err(|e| format!("cannot read the requester's address: {e}"))
    }
}

/// A ticket's history as SLA happenings.
pub fn happenings(events: &[TicketEventRow]) -> Vec<Event> {
    events
        .iter()
        .filter_map(|e| happening(&e.kind, &e.value, e.at_ms))
        .collect()
}

/// A ticket's `clock_log` (`kind=value@at_ms;` items) as SLA happenings; a damaged item is
/// skipped.
pub fn happenings_of_log(log: &str) -> Vec<Event> {
    log.split(';')
        .filter_map(|item| {
            let (kv, at) = item.rsplit_once('@')?;
            let (kind, value) = kv.split_once('=')?;
            happening(kind, value, at.parse().ok()?)
        })
        .collect()
}

/// The cached verdict of a ticket's clocks: the next deadline and `ok`/`warning`/`breached`.
pub fn verdict(clocks: &[Clock]) -> (Option<i64>, &'static str) {
    let due = sla::next_due(clocks);
    let live = |c: &&Clock| matches!(c.phase, Phase::Running | Phase::Paused | Phase::Breached);
    let v = if clocks
        .iter()
        .filter(live)
        .any(|c| c.breached_ms.is_some() && c.stopped_ms.is_none())
    {
        "breached"
    } else if clocks
        .iter()
        .filter(live)
        .any(|c| c.warned_ms.is_some() && c.stopped_ms.is_none())
    {
        "warning"
    } else {
        "ok"
    };
    (due, v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chainops_store::tickets::clock_item;

    #[test]
    fn the_clock_log_reads_as_the_history_it_caches() {
        let ev = |at: i64, kind: &str, value: &str| TicketEventRow {
            ticket_id: 1,
            at_ms: at,
            kind: kind.into(),
            value: value.into(),
            actor: "x".into(),
        };
        let history = [
            ev(1, "created", "portal"),
            ev(1, "state", "new"),
            ev(1, "message", "requester"),
            ev(2, "assignee", "alice"),
            ev(3, "message", "internal"),
            ev(4, "message", "public"),
            ev(5, "state", "on-hold"),
            ev(6, "state", "solved"),
        ];
        let log: String = history
            .iter()
            .filter_map(|e| clock_item(&e.kind, &e.value, e.at_ms))
            .collect();
        assert_eq!(happenings_of_log(&log), happenings(&history));
        assert_eq!(happenings(&history).len(), 6);
        // Damaged items are skipped, never a panic.
        let damaged = "garbage;;state=bogus@5;state=open@x;message=public@-3;=@;@@;state=open@9";
        assert_eq!(
            happenings_of_log(damaged),
            vec![
                Event {
                    at: -3,
                    what: Happening::StaffReply
                },
                Event {
                    at: 9,
                    what: Happening::State(State::Open)
                },
            ]
        );
    }
}
