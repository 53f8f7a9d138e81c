//! Keys and sealing. A random 64-byte master key (32 for encryption, 32 for blob ids) is
//! wrapped by each key file with a key derived from its password by Argon2id, so passwords
//! can be added, changed and removed without re-encrypting data.

use crate::{BackupError, Result};
use chacha20poly1305::aead::{Aead, AeadInPlace, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chainops_core::hex;
use serde::{Deserialize, Serialize};

/// Id of a blob or object: keyed BLAKE3 of its plaintext.
pub type Id = [u8; 32];

/// What a sealed object is; bound as associated data so objects cannot be swapped across
/// kinds (a snapshot presented as a tree fails authentication).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Repository config.
    Config,
    /// Index file.
    Index,
    /// Snapshot.
    Snapshot,
    /// Pack header.
    PackHeader,
    /// File content chunk.
    Data,
    /// Directory listing.
    Tree,
    /// Lock file.
    Lock,
    /// Restore drill result.
    Drill,
}

impl Kind {
    fn aad(self) -> &'static [u8] {
        match self {
            Self::Config => b"chainops-backup/config",
            Self::Index => b"chainops-backup/index",
            Self::Snapshot => b"chainops-backup/snapshot",
            Self::PackHeader => b"chainops-backup/pack-header",
            Self::Data => b"chainops-backup/data",
            Self::Tree => b"chainops-backup/tree",
            Self::Lock => b"chainops-backup/lock",
            Self::Drill => b"chainops-backup/drill",
        }
    }
}

/// The repository master key.
#[derive(Clone)]
pub struct MasterKey {
    enc: [u8; 32],
    id: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([REDACTED])")
    }
}

const NONCE: usize = 24;

impl MasterKey {
    /// A new random key.
    pub fn generate() -> Self {
        Self {
            enc: rand::random(),
            id: rand::random(),
        }
    }

    /// The id (keyed BLAKE3) of plaintext.
    pub fn id_of(&self, data: &[u8]) -> Id {
        *blake3::keyed_hash(&self.id, data).as_bytes()
    }

    /// `nonce || ciphertext+tag`.
    pub fn seal(&self, kind: Kind, plain: &[u8]) -> Vec<u8> {
        let nonce: [u8; NONCE] = rand::random();
        let cipher = XChaCha20Poly1305::new((&self.enc).into());
        let ct = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plain,
                    aad: kind.aad(),
                },
            )
            .unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Appends `nonce || seal(marker || data) || tag` to `out`, encrypting in place (no
    /// intermediate copies on the hot path).
    pub fn seal_into(&self, kind: Kind, marker: u8, data: &[u8], out: &mut Vec<u8>) {
        let nonce: [u8; NONCE] = rand::random();
        out.extend_from_slice(&nonce);
        let start = out.len();
        out.push(marker);
        out.extend_from_slice(data);
        let cipher = XChaCha20Poly1305::new((&self.enc).into());
        match cipher.encrypt_in_place_detached(&XNonce::from(nonce), kind.aad(), &mut out[start..])
        {
            Ok(tag) => out.extend_from_slice(&tag),
            // Only fails for messages beyond 256 GiB.
            Err(_) => out.truncate(start - NONCE),
        }
    }

    /// Opens a sealed object; `name` is used in the error.
    pub fn open(&self, kind: Kind, sealed: &[u8], name: &str) -> Result<Vec<u8>> {
        if sealed.len() < NONCE + 16 {
            return Err(BackupError::corrupt(
                name,
                "too short to be a sealed object",
            ));
        }
        let (nonce, ct) = sealed.split_at(NONCE);
        let cipher = XChaCha20Poly1305::new((&self.enc).into());
        let nonce: [u8; NONCE] = nonce
            .try_into()
            .map_err(|_| BackupError::corrupt(name, "bad nonce"))?;
        cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ct,
                    aad: kind.aad(),
                },
            )
            .map_err(|_| BackupError::corrupt(name, "authentication failed (modified or damaged)"))
    }

    fn to_bytes(&self) -> [u8; 64] {
        let mut b = [0u8; 64];
        b[..32].copy_from_slice(&self.enc);
        b[32..].copy_from_slice(&self.id);
        b
    }

    fn from_bytes(b: &[u8]) -> Option<Self> {
        if b.len() != 64 {
            return None;
        }
        let mut enc = [0u8; 32];
        let mut id = [0u8; 32];
        enc.copy_from_slice(&b[..32]);
        id.copy_from_slice(&b[32..]);
        Some(Self { enc, id })
    }
}

/// A key file: the master key wrapped under a password.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyFile {
    /// Always `argon2id`.
    pub kdf: String,
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Lanes.
    pub p: u32,
    /// Salt, hex.
    pub salt: String,
    /// `nonce || sealed master key`, hex.
    pub wrapped: String,
    /// Creation time (epoch ms).
    pub created_ms: i64,
    /// Host that created it.
    pub host: String,
}

/// Argon2id cost (64 MiB, 3 passes): ~0.2 s per open on this machine.
pub const DEFAULT_COST: (u32, u32, u32) = (64 * 1024, 3, 1);

/// The largest key-derivation cost a key file may ask for (4 GiB of memory, 64 passes, 64
/// lanes). A key file is plain JSON that anyone with write access to the repository location
/// can replace; without a bound, one asking for 2^32 KiB would abort every `open` on an
/// allocation failure, or keep it busy for hours.
pub const MAX_COST: (u32, u32, u32) = (4 * 1024 * 1024, 64, 64);

fn kek(password: &[u8], salt: &[u8], (m, t, p): (u32, u32, u32)) -> Result<[u8; 32]> {
    if m > MAX_COST.0 || t > MAX_COST.1 || p > MAX_COST.2 {
        return Err(BackupError::Input(format!(
            "key derivation cost m={m} KiB, t={t}, p={p} is beyond the limit m={} KiB, t={}, p={}",
            MAX_COST.0, MAX_COST.1, MAX_COST.2
        )));
    }
    let params = argon2::Params::new(m, t, p, Some(32))
        .map_err(|e| BackupError::Input(format!("key derivation parameters: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    argon
        .hash_password_into(password, salt, &mut out)
        .map_err(|e| BackupError::Input(format!("key derivation: {e}")))?;
    Ok(out)
}

impl KeyFile {
    /// Wraps `master` under `password`.
    pub fn wrap(
        master: &MasterKey,
        password: &str,
        cost: (u32, u32, u32),
        host: &str,
    ) -> Result<Self> {
        if password.is_empty() {
            return Err(BackupError::Input(
                "the repository password is empty; set CHAINOPS_BACKUP_PASSWORD or --password-file"
                    .into(),
            ));
        }
        let salt: [u8; 16] = rand::random();
        let k = kek(password.as_bytes(), &salt, cost)?;
        let wrapper = MasterKey {
            enc: k,
            id: [0; 32],
        };
        let sealed = wrapper.seal(Kind::Config, &master.to_bytes());
        Ok(Self {
            kdf: "argon2id".into(),
            m_kib: cost.0,
            t: cost.1,
            p: cost.2,
            salt: hex::encode(&salt),
            wrapped: hex::encode(&sealed),
            created_ms: chainops_core::time::now_ms(),
            host: host.to_string(),
        })
    }

    /// The master key if `password` opens this key file.
    pub fn unwrap(&self, password: &str) -> Option<MasterKey> {
        let salt = hex::decode(&self.salt)?;
        let sealed = hex::decode(&self.wrapped)?;
        let k = kek(password.as_bytes(), &salt, (self.m_kib, self.t, self.p)).ok()?;
        let wrapper = MasterKey {
            enc: k,
            id: [0; 32],
        };
        let plain = wrapper.open(Kind::Config, &sealed, "key").ok()?;
        MasterKey::from_bytes(&plain)
    }
}

/// Hex of an id.
pub fn id_hex(id: &Id) -> String {
    hex::encode(id)
}

/// Parses a full 64-digit hex id.
pub fn parse_id(s: &str) -> Option<Id> {
    hex::decode(s)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: (u32, u32, u32) = (1024, 1, 1);

    #[test]
    fn seal_open_and_kind_binding() {
        let k = MasterKey::generate();
        let s = k.seal(Kind::Data, b"chunk");
        assert_eq!(k.open(Kind::Data, &s, "x").expect("open"), b"chunk");
        assert!(k.open(Kind::Tree, &s, "x").is_err(), "kinds are bound");
        let mut bad = s.clone();
        bad[30] ^= 1;
        assert!(k.open(Kind::Data, &bad, "x").is_err());
        assert_ne!(
            k.id_of(b"a"),
            MasterKey::generate().id_of(b"a"),
            "ids are keyed"
        );
    }

    #[test]
    fn key_files_wrap_the_master() {
        let k = MasterKey::generate();
        let f = KeyFile::wrap(&k, "pw", CHEAP, "h").expect("wrap");
        let back = f.unwrap("pw").expect("unwrap");
        assert_eq!(back.id_of(b"x"), k.id_of(b"x"));
        assert!(f.unwrap("nope").is_none());
        assert!(KeyFile::wrap(&k, "", CHEAP, "h").is_err());
        // A key file edited to ask for 2^32 KiB is refused, not allocated.
        let mut absurd = f.clone();
        absurd.m_kib = u32::MAX;
        assert!(absurd.unwrap("pw").is_none());
        absurd.m_kib = f.m_kib;
        absurd.t = u32::MAX;
        assert!(absurd.unwrap("pw").is_none());
        assert!(KeyFile::wrap(&k, "pw", (u32::MAX, 1, 1), "h").is_err());
    }
}
