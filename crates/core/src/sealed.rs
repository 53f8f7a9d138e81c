//! Secrets encrypted at rest in the config: any string value written as `enc:v1:<base64>` is
//! decrypted at load time with the master key (XChaCha20-Poly1305; the base64 holds the
//! 24-byte nonce followed by the ciphertext and tag). `chainops secret encrypt` makes them.
//! The key reaches [`open_tree`] through the `CHAINOPS_MASTER_KEY` lookup (hex), which the
//! CLI fills from `CHAINOPS_MASTER_KEY_FILE`; this module does no I/O.

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// Prefix of sealed values.
pub const PREFIX: &str = "enc:v1:";
/// Lookup name of the master key (64 hex characters).
pub const KEY_VAR: &str = "CHAINOPS_MASTER_KEY";

/// Parses a 32-byte key from 64 hex characters.
pub fn parse_key(text: &str) -> Result<[u8; 32], String> {
    let t = text.trim();
    let bad = || {
        "the master key must be 64 hex characters (make one with `chainops secret keygen`)"
            .to_string()
    };
    crate::hex::decode(t)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(bad)
}

/// Encrypts `plaintext` under `key` with the caller's random `nonce`.
pub fn seal(key: &[u8; 32], nonce: &[u8; 24], plaintext: &str) -> String {
    let cipher = XChaCha20Poly1305::new(key.into());
    let ct = cipher
        .encrypt(&XNonce::from(*nonce), plaintext.as_bytes())
        .unwrap_or_default();
    let mut blob = nonce.to_vec();
    blob.extend_from_slice(&ct);
    format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(blob)
    )
}

/// Decrypts a sealed value.
pub fn open(key: &[u8; 32], sealed: &str) -> Result<String, String> {
    let b64 = sealed
        .strip_prefix(PREFIX)
        .ok_or("is not an enc:v1: value")?;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| "is an enc:v1: value whose base64 is damaged")?;
    if blob.len() < 24 + 16 {
        return Err("is an enc:v1: value that is too short".into());
    }
    let (nonce, ct) = blob.split_at(24);
    let nonce: [u8; 24] = nonce
        .try_into()
        .map_err(|_| "is an enc:v1: value that is too short")?;
    let plain = XChaCha20Poly1305::new(key.into())
        .decrypt(&XNonce::from(nonce), ct)
        .map_err(|_| "cannot be decrypted with this master key (wrong key or altered value)")?;
    String::from_utf8(plain).map_err(|_| "decrypts to bytes that are not UTF-8".to_string())
}

/// Decrypts every sealed string in `v`, reporting problems by path.
pub fn open_tree(
    v: &mut toml::Value,
    path: &str,
    key: &mut dyn FnMut() -> Result<[u8; 32], String>,
    problems: &mut Vec<crate::section::ConfigProblem>,
) {
    crate::section::walk_strings(v, path, &mut |path, s| {
        if !s.starts_with(PREFIX) {
            return;
        }
        let result = key()
            .map_err(|m| format!("is encrypted but {m}"))
            .and_then(|k| open(&k, s));
        match result {
            Ok(plain) => *s = plain,
            Err(message) => problems.push(crate::section::ConfigProblem {
                path: path.into(),
                message,
            }),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_round_trip_and_refuse_the_wrong_key_or_tampering() {
        let key = [7u8; 32];
        let s = seal(&key, &[1u8; 24], "hunter2");
        assert!(s.starts_with("enc:v1:") && !s.contains("hunter2"));
        assert_eq!(open(&key, &s).as_deref(), Ok("hunter2"));
        assert!(open(&[8u8; 32], &s).unwrap_err().contains("wrong key"));
        let mut tampered = s.clone();
        tampered.replace_range(
            s.len() - 4..s.len() - 3,
            if &s[s.len() - 4..s.len() - 3] == "A" {
                "B"
            } else {
                "A"
            },
        );
        assert!(open(&key, &tampered).is_err());
        assert!(parse_key(&"ab".repeat(32)).is_ok());
        assert!(parse_key("xyz").is_err());
        // 64 characters, but a sign is not a hex digit.
        assert!(parse_key(&format!("+f{}", "ab".repeat(31))).is_err());
        assert!(parse_key(&"é".repeat(32)).is_err());
    }
}
