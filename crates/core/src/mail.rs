//! Mail to a support requester as it travels through the notification outbox: the desk
//! writes it, the email channel sends it. The address is not in it — the requester's id is,
//! resolved when the mail is sent through [`Recipients`] — so no stored payload holds an
//! address, and an erased requester is sent nothing.

use serde::{Deserialize, Serialize};

/// The outbox event of a mail (deliveries of other events are alert notifications).
pub const EVENT: &str = "mail";

/// The outbox payload field a mail travels under.
pub const FIELD: &str = "mail";

/// One mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    /// The requester it goes to.
    pub requester: String,
    /// Subject (`[#42] …`: the ticket number lets a reply find its ticket).
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// `Message-ID` (`<…@…>`).
    pub message_id: String,
    /// `In-Reply-To` and `References` (the ticket's first mail), `""` for none.
    #[serde(default)]
    pub in_reply_to: String,
    /// `Reply-To` (the support mailbox, so replies come back as ticket messages), `""` for none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reply_to: String,
}

/// Finds a requester's address when their mail is sent.
#[async_trait::async_trait]
pub trait Recipients: Send + Sync {
    /// The address, `Ok(None)` for an unknown or erased requester (nothing is ever sent),
    /// or why it cannot be read right now (the mail is retried).
    async fn address(&self, requester: &str) -> Result<Option<String>, String>;
}
