//! Email subscriptions to the status page, with double opt-in: a visitor gives an address
//! (and optionally one chain); a confirmation mail carries a private link; nothing else is
//! sent until it is confirmed; every later mail carries the same link to unsubscribe. The
//! address is sealed like a requester's (export and erasure cover it). Webhook subscribers
//! are the operator's `[[notifiers]]` named in `support.status_notify`, not anonymous URLs:
//! a public form that makes the daemon post to any address is a request-forgery tool.

use crate::privacy;
use crate::service::{Desk, DeskError};
use chainops_store::alerts::OutboxRow;
use chainops_store::status_page::SubscriberRow;

/// A subscription as its private link shows it.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// Id.
    pub id: String,
    /// Chain (`""`: every chain).
    pub chain: String,
    /// Confirmed.
    pub confirmed: bool,
}

fn chain_name(chain: &str) -> Result<String, DeskError> {
    let c = chain.trim();
    if c.chars().count() > 64 || c.chars().any(|ch| ch.is_control() || ch.is_whitespace()) {
        return Err(DeskError::Invalid(format!(
            "chain \"{}\" is not a chain name",
            crate::notices::shown(c)
        )));
    }
    Ok(c.to_string())
}

impl Desk {
    /// Subscribes `email` to the news of `chain` (`""`: every chain) and mails the
    /// confirmation link. Subscribing again sends a new link (the old one stops working); an
    /// address already confirmed stays confirmed.
    pub async fn subscribe(
        &self,
        email: &str,
        chain: &str,
        ip: &str,
        now: i64,
    ) -> Result<(), DeskError> {
        let chain = chain_name(chain)?;
        let Some(base) = self.mail_base().map(str::to_string) else {
            return Err(DeskError::Conflict(
                "email subscriptions need [support] email_notifier; follow the Atom feed instead"
                    .into(),
            ));
        };
        let requester = self.requester_for(email, "", ip, now).await?;
        let existing = self.store().subscriber_of(&requester, &chain).await?;
        let (token, hash) = privacy::new_link();
        let row = SubscriberRow {
            id: existing
                .as_ref()
                .map(|e| e.id.clone())
                .unwrap_or_else(|| format!("sub_{}", &hash[..24])),
            requester_id: requester.clone(),
            chain: chain.clone(),
            token_hash: hash,
            token_sealed: self.vault().seal_link(&token),
            created_ms: now,
            confirmed_ms: None,
        };
        let link = format!("{base}/status/subscriptions/{token}");
        let scope = if chain.is_empty() {
            "every chain / 所有链".to_string()
        } else {
            chain.clone()
        };
        let mail = chainops_core::mail::Mail {
            requester,
            subject: "Confirm your status-page subscription / 确认订阅状态页".into(),
            text: format!(
                "Someone (hopefully you) asked for mail about incidents and maintenance ({scope}). Open this link to confirm; nothing is sent until you do, and the same page unsubscribes you:\n\n有人（希望是您）申请订阅事件与维护通知（{scope}）。请打开以下链接确认；确认前不会发送任何邮件，该页面也可退订：\n\n{link}\n"
            ),
            message_id: format!("<{}-{now}@chainops>", row.id),
            in_reply_to: String::new(),
            reply_to: String::new(),
        };
        let outbox = self.outbox_mail(
            mail,
            format!("mail/{}/confirm-{now}", row.id),
            format!("status/{}", row.id),
            now,
        );
        self.store().add_subscriber(&row, &outbox).await?;
        Ok(())
    }

    async fn subscriber(&self, token: &str) -> Result<SubscriberRow, DeskError> {
        let gone = || {
            DeskError::NotFound(
                "this subscription link is not valid (a newer one may have replaced it)".into(),
            )
        };
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(gone());
        }
        self.store()
            .subscriber_by_token(&privacy::link_hash(token))
            .await?
            .ok_or_else(gone)
    }

    /// The subscription a private link belongs to.
    pub async fn subscription(&self, token: &str) -> Result<Subscription, DeskError> {
        let s = self.subscriber(token).await?;
        Ok(Subscription {
            id: s.id,
            chain: s.chain,
            confirmed: s.confirmed_ms.is_some(),
        })
    }

    /// Confirms the subscription of a private link.
    pub async fn confirm_subscription(&self, token: &str, now: i64) -> Result<(), DeskError> {
        let s = self.subscriber(token).await?;
        Ok(self.store().confirm_subscriber(&s.id, now).await?)
    }

    /// Ends the subscription of a private link.
    pub async fn unsubscribe(&self, token: &str) -> Result<(), DeskError> {
        let s = self.subscriber(token).await?;
        self.store().delete_subscriber(&s.id).await?;
        Ok(())
    }

    /// The mails announcing status-page news about `chain` (`""`: every chain) to its
    /// confirmed subscribers; `key` makes them once-only (the same news is one mail each).
    pub async fn announce(
        &self,
        chain: &str,
        subject: &str,
        text: &str,
        key: &str,
        now: i64,
    ) -> Result<Vec<OutboxRow>, DeskError> {
        let Some(base) = self.mail_base().map(str::to_string) else {
            return Ok(Vec::new());
        };
        let mut rows = Vec::new();
        for s in self.store().subscribers_for(chain).await? {
            let Some(token) = self.vault().open_link(&s.token_sealed) else {
                continue;
            };
            let mail = chainops_core::mail::Mail {
                requester: s.requester_id.clone(),
                subject: subject.to_string(),
                text: format!(
                    "{text}\n\n{base}/status\n\nUnsubscribe / 退订: {base}/status/subscriptions/{token}\n"
                ),
                message_id: format!("<{key}-{}@chainops>", s.id),
                in_reply_to: String::new(),
                reply_to: String::new(),
            };
            rows.extend(self.outbox_mail(
                mail,
                format!("mail/{key}/{}", s.id),
                format!("status/{key}"),
                now,
            ));
        }
        Ok(rows)
    }
}
