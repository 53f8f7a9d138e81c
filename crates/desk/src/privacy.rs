//! Requesters' personal data at rest: each requester's name, email and address are sealed
//! (XChaCha20-Poly1305) under a key of their own; that key is stored wrapped by the desk's
//! key-encryption key (a file outside the database, `support.key_file`). Erasing a
//! requester destroys their key (crypto-shredding): their sealed data can no longer be read
//! by anyone, and tickets stay as an anonymous history.
//!
//! Mail from a requester finds them through a keyed BLAKE3 hash of the address (the
//! "email index"), so the address itself is never stored in the clear.

use crate::notices::Refusal;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A requester's personal data (what the seal protects).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Personal {
    /// Display name (may be empty).
    pub name: String,
    /// Email address (normalised by [`crate::tickets::email`]).
    pub email: String,
    /// Address the first ticket came from (empty for email and staff tickets).
    #[serde(default)]
    pub ip: String,
}

/// The desk's key-encryption key and what is derived from it.
#[derive(Clone)]
pub struct Vault {
    kek: [u8; 32],
    index_key: [u8; 32],
    link_key: [u8; 32],
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault([REDACTED])")
    }
}

/// Why the key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// Reading or creating the key file failed.
    #[error("support key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The file does not hold a key.
    #[error(
        "support key file {path} does not hold 64 hex characters; restore it from your backup (without it, requesters' personal data cannot be read)"
    )]
    Damaged {
        /// The file.
        path: String,
    },
}

impl Vault {
    /// A vault over a key.
    pub fn new(kek: [u8; 32]) -> Vault {
        let index_key = blake3::derive_key("chainops desk email index v1", &kek);
        let link_key = blake3::derive_key("chainops desk link tokens v1", &kek);
        Vault {
            kek,
            index_key,
            link_key,
        }
    }

    /// Reads the key file, creating it (mode 0600, 256 random bits) when `create` and it is
    /// missing. The daemon creates it beside its database; jobs only read it.
    pub fn open_file(path: &Path, create: bool) -> Result<Vault, VaultError> {
        let shown = path.display().to_string();
        let io = |source| VaultError::Io {
            path: shown.clone(),
            source,
        };
        match read_small(path) {
            Ok(text) => chainops_core::sealed::parse_key(&text)
                .map(Vault::new)
                .map_err(|_| VaultError::Damaged {
                    path: shown.clone(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
                let mut f = opts.open(path).map_err(io)?;
                std::io::Write::write_all(
                    &mut f,
                    format!("{}\n", chainops_core::hex::encode(&key)).as_bytes(),
                )
                .and_then(|_| f.sync_all())
                .map_err(io)?;
                Ok(Vault::new(key))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// The email index of a normalised address (lower-cased before hashing).
    pub fn email_index(&self, email: &str) -> String {
        blake3::keyed_hash(&self.index_key, email.trim().to_lowercase().as_bytes())
            .to_hex()
            .to_string()
    }

    /// A private link token sealed for storage (mail to the requester carries the link).
    pub fn seal_link(&self, token: &str) -> String {
        seal_with(&self.link_key, token)
    }

    /// A sealed link token opened.
    pub fn open_link(&self, sealed: &str) -> Option<String> {
        chainops_core::sealed::open(&self.link_key, sealed).ok()
    }

    /// A new requester key and its wrapped (stored) form.
    pub fn new_key(&self) -> ([u8; 32], String) {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        let wrapped = seal_with(&self.kek, &chainops_core::hex::encode(&key));
        (key, wrapped)
    }

    /// Unwraps a stored requester key.
    pub fn unwrap_key(&self, wrapped: &str) -> Result<[u8; 32], Refusal> {
        let hex = chainops_core::sealed::open(&self.kek, wrapped)
            .map_err(|m| Refusal(format!("a requester key {m}")))?;
        chainops_core::sealed::parse_key(&hex).map_err(Refusal)
    }
}

/// At most 4 KiB of a regular file (a key file is 65 bytes): a directory, a FIFO or
/// `/dev/zero` named by mistake is an error, not a hang.
fn read_small(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let f = std::fs::File::open(path)?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "is not a regular file",
        ));
    }
    let mut text = String::new();
    f.take(4096).read_to_string(&mut text)?;
    Ok(text)
}

fn seal_with(key: &[u8; 32], text: &str) -> String {
    let mut nonce = [0u8; 24];
    rand::rng().fill_bytes(&mut nonce);
    chainops_core::sealed::seal(key, &nonce, text)
}

/// Seals personal data under a requester's key.
pub fn seal(key: &[u8; 32], p: &Personal) -> String {
    seal_with(key, &serde_json::to_string(p).unwrap_or_default())
}

/// Opens sealed personal data.
pub fn open(key: &[u8; 32], sealed: &str) -> Result<Personal, Refusal> {
    let text = chainops_core::sealed::open(key, sealed)
        .map_err(|m| Refusal(format!("a requester's data {m}")))?;
    serde_json::from_str(&text).map_err(|e| Refusal(format!("a requester's data is damaged: {e}")))
}

/// A new private link token (256 bits, URL-safe) and its stored hash.
pub fn new_link() -> (String, String) {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    let token = chainops_core::hex::encode(&b);
    let hash = link_hash(&token);
    (token, hash)
}

/// The stored hash of a link token.
pub fn link_hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_data_round_trips_and_dies_with_its_key() {
        let v = Vault::new([7; 32]);
        let (key, wrapped) = v.new_key();
        assert_eq!(v.unwrap_key(&wrapped).ok(), Some(key));
        let p = Personal {
            name: "李雷".into(),
            email: "li.lei@example.cn".into(),
            ip: "203.0.113.9".into(),
        };
        let sealed = seal(&key, &p);
        assert!(!sealed.contains("li.lei") && !sealed.contains("203.0.113"));
        assert_eq!(open(&key, &sealed).ok(), Some(p));
        // Another key (the one left after a shredding is none at all) reads nothing.
        let (other, _) = v.new_key();
        assert!(open(&other, &sealed).is_err());
        assert!(Vault::new([8; 32]).unwrap_key(&wrapped).is_err());
        assert!(open(&key, "enc:v1:AAAA").is_err());
    }

    #[test]
    fn the_email_index_is_keyed_and_case_blind() {
        let v = Vault::new([1; 32]);
        assert_eq!(
            v.email_index("A@Example.com"),
            v.email_index(" a@example.com")
        );
        assert_ne!(
            v.email_index("a@example.com"),
            Vault::new([2; 32]).email_index("a@example.com")
        );
        assert!(!v.email_index("a@example.com").contains("example"));
        let (token, hash) = new_link();
        assert_eq!((token.len(), link_hash(&token)), (64, hash));
        let sealed = v.seal_link(&token);
        assert!(!sealed.contains(&token));
        assert_eq!(v.open_link(&sealed).as_deref(), Some(token.as_str()));
        assert_eq!(Vault::new([2; 32]).open_link(&sealed), None);
    }

    #[test]
    fn the_key_file_is_created_once_private_and_checked() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("sub/desk.key");
        assert!(matches!(
            Vault::open_file(&path, false),
            Err(VaultError::Io { .. })
        ));
        let a = Vault::open_file(&path, true).expect("created");
        let b = Vault::open_file(&path, true).expect("read back");
        assert_eq!(a.email_index("x@y.z"), b.email_index("x@y.z"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A directory, a symlink to one, and an endless device are refused with the path.
        for odd in [
            dir.path().to_path_buf(),
            std::path::PathBuf::from("/dev/zero"),
        ] {
            let e = Vault::open_file(&odd, true).expect_err("not a key file");
            assert!(e.to_string().contains(&odd.display().to_string()), "{e}");
        }
        #[cfg(unix)]
        {
            let link = dir.path().join("link.key");
            std::os::unix::fs::symlink(dir.path(), &link).expect("symlink");
            assert!(Vault::open_file(&link, true).is_err());
        }
        std::fs::write(&path, "not a key").expect("damage");
        let e = Vault::open_file(&path, true).expect_err("damaged");
        assert!(e.to_string().contains("restore it from your backup"), "{e}");
    }
}
