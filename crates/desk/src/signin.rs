//! A requester's emailed one-time sign-in link: they give their address on the portal; if
//! it has tickets, a link valid for 30 minutes and for one use is mailed; using it starts a
//! browser session of 24 hours that lists their tickets (each with its private link). The
//! portal answers the same whether or not the address is known, so it tells no one who has
//! tickets.

use crate::privacy;
use crate::service::{Desk, DeskError};
use chainops_store::tickets::{TicketFilter, TicketRow};

/// How long a mailed link works.
pub const LINK_LIFETIME_MS: i64 = 30 * 60_000;
/// How long a signed-in session lasts.
pub const SESSION_MS: i64 = 24 * 3_600_000;

fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Desk {
    /// Mails a sign-in link to `email` when it is a requester with tickets (silently nothing
    /// otherwise; a malformed address is refused).
    pub async fn request_signin(&self, email: &str, now: i64) -> Result<(), DeskError> {
        let email = crate::tickets::email(email)?;
        let Some(base) = self.mail_base().map(str::to_string) else {
            return Err(DeskError::Conflict(
                "sign-in links go by mail, which this desk does not send; use the private link of your ticket".into(),
            ));
        };
        let Some(requester) = self.requester_by_email(&email).await? else {
            return Ok(());
        };
        let filter = TicketFilter {
            requester_id: Some(requester.clone()),
            ..Default::default()
        };
        if self.store().list_tickets(&filter, 1, 0).await?.1 == 0 {
            return Ok(());
        }
        let (token, hash) = privacy::new_link();
        let mail = chainops_core::mail::Mail {
            requester: requester.clone(),
            subject: "Your sign-in link / 您的登录链接".into(),
            text: format!(
                "Open this link within 30 minutes to see all your tickets; it works once. If you did not ask for it, ignore this mail.\n\n请在 30 分钟内打开以下链接查看您的全部工单；链接仅可使用一次。如非本人操作，请忽略此邮件。\n\n{base}/support/signin/{token}\n"
            ),
            message_id: format!("<signin-{}@chainops>", &hash[..24]),
            in_reply_to: String::new(),
            reply_to: String::new(),
        };
        let outbox = self.outbox_mail(
            mail,
            format!("mail/signin/{}", &hash[..24]),
            format!("signin/{requester}"),
            now,
        );
        self.store()
            .add_signin(
                &hash,
                "link",
                &requester,
                now + LINK_LIFETIME_MS,
                now,
                &outbox,
            )
            .await?;
        Ok(())
    }

    /// Uses a mailed link (once): a new session token and when it ends.
    pub async fn use_signin_link(&self, token: &str, now: i64) -> Result<(String, i64), DeskError> {
        let gone = || {
            DeskError::NotFound(
                "this sign-in link is not valid, was used already or has expired; ask for a new one on the support page".into(),
            )
        };
        if !well_formed(token) {
            return Err(gone());
        }
        let requester = self
            .store()
            .use_signin(&privacy::link_hash(token), "link", now)
            .await?
            .ok_or_else(gone)?;
        let (session, hash) = privacy::new_link();
        let expires = now + SESSION_MS;
        self.store()
            .add_signin(&hash, "session", &requester, expires, now, &[])
            .await?;
        Ok((session, expires))
    }

    /// The requester a session token belongs to (none: not signed in).
    pub async fn signed_in(&self, session: &str, now: i64) -> Result<Option<String>, DeskError> {
        if !well_formed(session) {
            return Ok(None);
        }
        Ok(self
            .store()
            .use_signin(&privacy::link_hash(session), "session", now)
            .await?)
    }

    /// A requester's tickets, newest first, each with its private link token.
    pub async fn tickets_of(&self, requester: &str) -> Result<Vec<(TicketRow, String)>, DeskError> {
        let filter = TicketFilter {
            requester_id: Some(requester.to_string()),
            ..Default::default()
        };
        let (rows, _) = self.store().list_tickets(&filter, 200, 0).await?;
        let mut out: Vec<(TicketRow, String)> = rows
            .into_iter()
            .filter_map(|t| {
                let token = self.vault().open_link(&t.link_sealed)?;
                Some((t, token))
            })
            .collect();
        out.sort_by_key(|t| std::cmp::Reverse(t.0.created_ms));
        Ok(out)
    }
}
