//! Email over SMTP (lettre). `url` is `smtp://host[:port]` or `smtps://host[:port]`; `tls`
//! selects STARTTLS (default, port 587), implicit TLS (port 465) or none (local relays).
//! Credentials: `username` plus `secret`/`secret_file` as the password.

use super::message::Message as Rendered;
use super::{Delivery, Notifier};
use crate::config::notifier::{EmailConfig, SmtpTls};
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Host and port of an `smtp(s)://` URL (credentials in the URL are ignored).
pub fn host_port(url: &str, tls: SmtpTls) -> Option<(String, u16)> {
    let rest = url
        .strip_prefix("smtp://")
        .or_else(|| url.strip_prefix("smtps://"))?;
    let authority = rest.split(['/', '?']).next()?;
    let host_port = authority.rsplit('@').next()?;
    let default_port = match tls {
        SmtpTls::Tls => 465,
        SmtpTls::Starttls => 587,
        SmtpTls::None => 25,
    };
    match host_port.rsplit_once(':') {
        Some((h, p)) => Some((h.to_string(), p.parse().ok()?)),
        None => Some((host_port.to_string(), default_port)),
    }
    .filter(|(h, _)| !h.is_empty())
}

fn build(e: &EmailConfig, m: &Rendered) -> Result<Message, String> {
    let mut b = Message::builder()
        .from(e.from.parse().map_err(|x| format!("from: {x}"))?)
        .subject(&m.title)
        .header(ContentType::TEXT_PLAIN);
    for to in &e.to {
        b = b.to(to.parse().map_err(|x| format!("to {to}: {x}"))?);
    }
    b.body(m.text.clone()).map_err(|x| x.to_string())
}

/// Mail to one requester: their address, the channel's sender, threading headers.
fn build_mail(e: &EmailConfig, to: &str, m: &chainops_core::mail::Mail) -> Result<Message, String> {
    let mut b = Message::builder()
        .from(e.from.parse().map_err(|x| format!("from: {x}"))?)
        .to(to
            .parse()
            .map_err(|x| format!("the requester's address: {x}"))?)
        .subject(&m.subject)
        .message_id(Some(m.message_id.clone()))
        .header(ContentType::TEXT_PLAIN);
    if !m.reply_to.is_empty() {
        b = b.reply_to(m.reply_to.parse().map_err(|x| format!("reply-to: {x}"))?);
    }
    if !m.in_reply_to.is_empty() {
        b = b
            .in_reply_to(m.in_reply_to.clone())
            .references(m.in_reply_to.clone());
    }
    b.body(m.text.clone()).map_err(|x| x.to_string())
}

pub(super) async fn send_mail(n: &Notifier, to: &str, m: &chainops_core::mail::Mail) -> Delivery {
    match build_mail_checked(n, to, m) {
        Ok(message) => transmit(n, message).await,
        Err(d) => d,
    }
}

fn build_mail_checked(
    n: &Notifier,
    to: &str,
    m: &chainops_core::mail::Mail,
) -> Result<Message, Delivery> {
    let Some(e) = &n.config.email else {
        return Err(Delivery::Retry {
            error: "email settings missing".into(),
            retry_after: None,
        });
    };
    build_mail(e, to, m).map_err(|x| Delivery::Retry {
        error: format!("cannot build the email: {x}"),
        retry_after: None,
    })
}

pub(super) async fn send(n: &Notifier, m: &Rendered) -> Delivery {
    let Some(e) = &n.config.email else {
        return Delivery::Retry {
            error: "email settings missing".into(),
            retry_after: None,
        };
    };
    match build(e, m) {
        Ok(message) => transmit(n, message).await,
        Err(x) => Delivery::Retry {
            error: format!("cannot build the email: {x}"),
            retry_after: None,
        },
    }
}

/// Sends a built message through the channel's SMTP server.
async fn transmit(n: &Notifier, message: Message) -> Delivery {
    let retry = |error: String| Delivery::Retry {
        error,
        retry_after: None,
    };
    let Some(e) = &n.config.email else {
        return retry("email settings missing".into());
    };
    let Some((host, port)) = host_port(&n.config.url, e.tls) else {
        return retry("url has no SMTP host".into());
    };
    let builder = match e.tls {
        SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            &host,
        )),
        SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host),
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&host),
    };
    let mut builder = match builder {
        Ok(b) => b.port(port).timeout(Some(n.config.timeout)),
        Err(x) => return retry(format!("SMTP TLS setup: {x}")),
    };
    if let (Some(user), Some(pass)) = (&e.username, &n.secret) {
        builder = builder.credentials(Credentials::new(user.clone(), pass.expose().to_string()));
    }
    match builder.build().send(message).await {
        Ok(_) => Delivery::Sent,
        Err(x) => retry(format!("SMTP {host}:{port}: {x}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_come_from_the_url_with_defaults_by_tls_mode() {
        assert_eq!(
            host_port("smtp://mail.example.com", SmtpTls::Starttls),
            Some(("mail.example.com".into(), 587))
        );
        assert_eq!(
            host_port("smtps://u:p@mail.example.com:2465/", SmtpTls::Tls),
            Some(("mail.example.com".into(), 2465))
        );
        assert_eq!(host_port("smtp://:25", SmtpTls::None), None);
        assert_eq!(host_port("smtp://h:x", SmtpTls::None), None);
    }
}
