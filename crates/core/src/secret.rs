//! A string that never shows up in logs, `Debug` output or serialized config.

use std::fmt;

/// A secret value (password, token). `Debug`/`Display` print `[REDACTED]`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret string.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is sent to its destination.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// Query parameters whose values are credentials (robot tokens, API keys, signatures).
/// Path segments after which a webhook URL's path is its secret.
const HOOK_SEGMENTS: &[&str] = &["services", "hook", "hooks", "webhooks"];

const SECRET_PARAMS: &[&str] = &[
    "x_api_key",
    "access_key",
    "private_token",
    "access_token",
    "token",
    "key",
    "secret",
    "sign",
    "signature",
    "password",
    "apikey",
    "api_key",
    "auth",
    "sig",
];

/// Redacts credentials in a URL for display: `user:password@` becomes `user:[REDACTED]@`,
/// secret-looking query values (`access_token`, `key`, …) and long random path segments
/// (Slack `/services/T…/B…/…`, Feishu `/hook/<uuid>`) become `[REDACTED]`.
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = redact_userinfo(base);
    if let Some(i) = out.find("://") {
        let (head, rest) = out.split_at(i + 3);
        let mut segs = rest.split('/');
        let authority = segs.next().unwrap_or("").to_string();
        // Webhook URLs whose path *is* the secret: everything after `services` (Slack),
        // `hook`/`hooks` (Feishu, Lark, Mattermost), `webhooks` (Discord) goes.
        let mut secret_rest = false;
        let path: Vec<String> = segs
            .map(|seg| {
                let random = seg.len() >= 16
                    && seg
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    && seg.chars().any(|c| c.is_ascii_digit());
                let out = if (secret_rest && !seg.is_empty()) || random {
                    "[REDACTED]".to_string()
                } else {
                    seg.to_string()
                };
                if HOOK_SEGMENTS.contains(&seg.to_ascii_lowercase().as_str()) {
                    secret_rest = true;
                }
                out
            })
            .collect();
        out = if path.is_empty() {
            format!("{head}{authority}")
        } else {
            format!("{head}{authority}/{}", path.join("/"))
        };
    }
    if let Some(q) = query {
        let params: Vec<String> = q
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _))
                    if SECRET_PARAMS
                        .contains(&k.to_ascii_lowercase().replace('-', "_").as_str()) =>
                {
                    format!("{k}=[REDACTED]")
                }
                _ => kv.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

fn redact_userinfo(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let user = userinfo.split(':').next().unwrap_or("");
            let redacted = if userinfo.contains(':') {
                format!("{user}:[REDACTED]")
            } else {
                "[REDACTED]".to_string()
            };
            format!("{}://{}@{}", &url[..scheme_end], redacted, &rest[at + 1..])
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "[REDACTED] [REDACTED]");
    }

    #[test]
    fn url_credentials_are_redacted() {
        assert_eq!(
            redact_url("postgres://ops:pw@db:5432/x"),
            "postgres://ops:[REDACTED]@db:5432/x"
        );
        assert_eq!(redact_url("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
        assert_eq!(redact_url("https://tok@h/p"), "https://[REDACTED]@h/p");
        assert_eq!(
            redact_url("https://oapi.dingtalk.com/robot/send?access_token=abc123&x=1"),
            "https://oapi.dingtalk.com/robot/send?access_token=[REDACTED]&x=1"
        );
        assert_eq!(
            redact_url(
                "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX1"
            ),
            // Issue 16: the workspace and channel ids are part of the secret path too.
            "https://hooks.slack.com/services/[REDACTED]/[REDACTED]/[REDACTED]"
        );
        assert_eq!(
            redact_url(
                "https://open.feishu.cn/open-apis/bot/v2/hook/0f3c9a2e-1b7d-4c55-9e8a-5d6f7a8b9c0d"
            ),
            "https://open.feishu.cn/open-apis/bot/v2/hook/[REDACTED]"
        );
    }

    #[test]
    fn webhook_paths_and_api_key_parameters_are_redacted() {
        for (url, secret) in [
            (
                "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX",
                "XXXXXXXX",
            ),
            (
                "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX",
                "B000",
            ),
            (
                "https://open.feishu.cn/open-apis/bot/v2/hook/abcdef-ghijkl",
                "abcdef",
            ),
            (
                "https://discord.com/api/webhooks/123/tokentoken",
                "tokentoken",
            ),
            ("https://api.example.com/push?api-key=s3cr3t&x=1", "s3cr3t"),
            ("https://api.example.com/push?API_KEY=s3cr3t", "s3cr3t"),
        ] {
            let shown = redact_url(url);
            assert!(!shown.contains(secret), "{url} → {shown}");
            assert!(shown.contains("[REDACTED]"), "{shown}");
        }
        assert_eq!(
            redact_url("http://127.0.0.1:8545/rpc"),
            "http://127.0.0.1:8545/rpc"
        );
    }
}
