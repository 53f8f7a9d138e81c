//! Random secrets and their stored form. Tokens and session ids carry 256 bits of entropy,
//! so a fast hash (BLAKE3) is the right stored form: a slow hash adds nothing against
//! brute force and would cost every request.

use rand::RngCore;

/// Prefix of API tokens (recognizable in secret scanners and logs).
pub const TOKEN_PREFIX: &str = "chainops_";

/// `n` random bytes as lower-case hex.
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::rng().fill_bytes(&mut b);
    hex(&b)
}

pub use chainops_core::hex::{decode as unhex, encode as hex};

/// A new API token: `chainops_<id>_<secret>`; the id is public (lists, revocation).
pub fn new_token() -> (String, String) {
    let id = random_hex(6);
    let token = format!("{TOKEN_PREFIX}{id}_{}", random_hex(32));
    (id, token)
}

/// Stored hash of a token or session id.
pub fn digest(secret: &str) -> String {
    blake3::hash(secret.as_bytes()).to_hex().to_string()
}

/// Constant-time string equality (CSRF tokens).
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_prefixed_and_hex_round_trips() {
        let (id, t) = new_token();
        let (_, t2) = new_token();
        assert!(t.starts_with(&format!("chainops_{id}_")));
        assert_eq!(t.len(), "chainops_".len() + 12 + 1 + 64);
        assert_ne!(t, t2);
        assert_eq!(unhex(&hex(&[0, 15, 255])), Some(vec![0, 15, 255]));
        assert_eq!(unhex("0g"), None);
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
