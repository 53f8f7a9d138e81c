//! Passwords: Argon2id (19 MiB, 2 passes, 1 lane: the OWASP baseline) in PHC format, and a
//! policy that refuses what attackers try first.

use crate::AuthError;
use argon2::Argon2;
use password_hash::rand_core::OsRng;
use password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Minimum length.
pub const MIN_LEN: usize = 12;

/// Passwords seen in vendor defaults and breach lists; refused whatever their length.
const COMMON: &[&str] = &[
    "password",
    "123456",
    "12345678",
    "123456789",
    "qwerty",
    "abc123",
    "admin",
    "admin123",
    "abcd1234",
    "a123456",
    "passw0rd",
    "letmein",
    "welcome",
    "changeme",
    "chainops",
];

/// Checks the policy: at least [`MIN_LEN`] characters, three of lower/upper/digit/other
/// classes, not containing the user name, not a known default or common password.
pub fn check_policy(user: &str, password: &str) -> Result<(), AuthError> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(AuthError::Invalid(format!(
            "password is {n} characters; use at least {MIN_LEN}"
        )));
    }
    if n > 1024 {
        return Err(AuthError::Invalid(
            "password is longer than 1024 characters".into(),
        ));
    }
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if classes < 3 {
        return Err(AuthError::Invalid(
            "password needs three of: lower-case, upper-case, digits, other characters".into(),
        ));
    }
    let lower = password.to_lowercase();
    if !user.is_empty() && lower.contains(&user.to_lowercase()) {
        return Err(AuthError::Invalid("password contains the user name".into()));
    }
    if COMMON.iter().any(|c| lower.contains(c)) {
        return Err(AuthError::Invalid(
            "password contains a common or vendor-default password".into(),
        ));
    }
    Ok(())
}

/// Hashes a password with a fresh salt.
pub fn hash(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Crypto(format!("hashing the password failed: {e}")))
}

/// Whether `password` matches the stored PHC `hash` (constant time).
pub fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the user does not exist, so a login for an unknown name
/// takes as long as one for a known name (no user enumeration by timing).
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("dummy-Password-1!").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_refuses_short_simple_personal_and_default_passwords() {
        assert!(check_policy("alice", "Tr0ub4dor&3x!").is_ok());
        let err = |u: &str, p: &str| check_policy(u, p).unwrap_err().to_string();
        assert!(err("alice", "Short1!").contains("at least 12"));
        assert!(err("alice", "alllowercaseletters").contains("three of"));
        assert!(err("alice", "Alice-Password-9").contains("user name"));
        assert!(err("bob", "MyAbcd1234-Console").contains("vendor-default"));
    }

    #[test]
    fn hashes_are_salted_argon2id_and_verify() {
        let a = hash("Tr0ub4dor&3x!").unwrap();
        let b = hash("Tr0ub4dor&3x!").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "salted");
        assert!(verify("Tr0ub4dor&3x!", &a));
        assert!(!verify("Tr0ub4dor&3x?", &a));
        assert!(!verify("x", "not a phc string"));
    }
}
