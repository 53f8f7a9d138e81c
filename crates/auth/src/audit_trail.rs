//! The audit trail: every mutating action (API or CLI) appended as a record that carries the
//! BLAKE3 hash of the previous one, with periodic checkpoints signed by an Ed25519 key kept
//! in the data dir (`audit-signing.key`, mode 0600).
//!
//! [`verify`] recomputes the chain and names the first record that was altered, deleted or
//! reordered; checkpoints catch a chain rewritten from scratch (the attacker lacks the key)
//! and records deleted from the end. Retention deletes old records only after signing a
//! checkpoint at the last deleted one, so the remaining chain stays verifiable.

use crate::AuthError;
use crate::secrets::{hex, unhex};
use chainops_store::audit::{AuditRow, CheckpointRow};
use chainops_store::{Store, StoreError};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use rand::RngCore;
use serde::Serialize;
use std::path::{Path, PathBuf};
use tokio::sync::Mutex;

/// Hash before the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// A checkpoint is signed after this many records…
pub const CHECKPOINT_EVERY: i64 = 100;
/// …or when the newest one is older than this and records were added.
pub const CHECKPOINT_AGE_MS: i64 = 10 * 60_000;
/// Key file name in the data dir.
pub const KEY_FILE: &str = "audit-signing.key";

/// What to record.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Who.
    pub actor: String,
    /// Their role.
    pub role: String,
    /// Source address or `local`.
    pub source: String,
    /// Action, e.g. `silence.create`.
    pub action: String,
    /// Target, e.g. the silence id.
    pub target: String,
    /// `ok`, `denied`, `failed` or an HTTP status.
    pub result: String,
    /// Details (JSON; never secrets).
    pub detail: serde_json::Value,
}

/// The hash of a record: BLAKE3 over its length-prefixed fields and the previous hash.
pub fn record_hash(r: &AuditRow) -> String {
    let mut h = blake3::Hasher::new();
    let seq = r.seq.to_string();
    let at = r.at_ms.to_string();
    for field in [
        seq.as_str(),
        at.as_str(),
        &r.actor,
        &r.role,
        &r.source,
        &r.action,
        &r.target,
        &r.result,
        &r.detail,
        &r.prev_hash,
    ] {
        h.update(&(field.len() as u64).to_le_bytes());
        h.update(field.as_bytes());
    }
    h.finalize().to_hex().to_string()
}

fn checkpoint_message(seq: i64, hash: &str, at_ms: i64) -> String {
    format!("chainops-audit-v1\n{seq}\n{hash}\n{at_ms}")
}

/// Loads the signing key from `path`, creating it (mode 0600) if missing.
pub fn load_or_create_key(path: &Path) -> Result<SigningKey, AuthError> {
    let crypto = |what: &str, e: std::io::Error| {
        AuthError::Crypto(format!("{what} {}: {e}", path.display()))
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let bytes = unhex(text.trim())
                .filter(|b| b.len() == 32)
                .ok_or_else(|| {
                    AuthError::Crypto(format!(
                        "{} is not a 32-byte hex key; restore it from backup",
                        path.display()
                    ))
                })?;
            let mut seed = [0u8; 32];
            seed.copy_from_slice(&bytes);
            Ok(SigningKey::from_bytes(&seed))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = [0u8; 32];
            rand::rng().fill_bytes(&mut seed);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| crypto("cannot create the directory of", e))?;
            }
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts.open(path).map_err(|e| crypto("cannot create", e))?;
            std::io::Write::write_all(&mut f, hex(&seed).as_bytes())
                .and_then(|_| f.sync_all())
                .map_err(|e| crypto("cannot write", e))?;
            tracing::info!(path = %path.display(), "created the audit signing key; back it up with the data dir");
            Ok(SigningKey::from_bytes(&seed))
        }
        Err(e) => Err(crypto("cannot read", e)),
    }
}

/// The public key of the key file at `path` (for `verify`).
pub fn public_key(path: &Path) -> Result<VerifyingKey, AuthError> {
    if !path.exists() {
        return Err(AuthError::Crypto(format!(
            "{} is missing; checkpoints cannot be verified without the data dir's key",
            path.display()
        )));
    }
    load_or_create_key(path).map(|k| k.verifying_key())
}

/// Appends records and signs checkpoints.
pub struct AuditTrail {
    store: Store,
    key: SigningKey,
    /// Serializes appends within this process (the store's primary key guards across).
    lock: Mutex<()>,
}

impl AuditTrail {
    /// The trail of `store`, signing with the key in `data_dir` (created on first use).
    pub fn open(store: Store, data_dir: &Path) -> Result<AuditTrail, AuthError> {
        let key = load_or_create_key(&key_path(data_dir))?;
        Ok(AuditTrail {
            store,
            key,
            lock: Mutex::new(()),
        })
    }

    /// The public half of the signing key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Verifies the trail with this trail's key.
    pub async fn verify(&self) -> Result<VerifyReport, AuthError> {
        verify(&self.store, &self.key.verifying_key()).await
    }

    /// Appends one record (retrying if another process appended at the same time) and
    /// signs a checkpoint when one is due.
    pub async fn record(&self, e: Entry, now_ms: i64) -> Result<AuditRow, AuthError> {
        let _guard = self.lock.lock().await;
        let detail = e.detail.to_string();
        let mut attempts = 0;
        let row = loop {
            let build = |last_seq: i64, last_hash: Option<String>| {
                let mut row = AuditRow {
                    seq: last_seq + 1,
                    at_ms: now_ms,
                    actor: e.actor.clone(),
                    role: e.role.clone(),
                    source: e.source.clone(),
                    action: e.action.clone(),
                    target: e.target.clone(),
                    result: e.result.clone(),
                    detail: detail.clone(),
                    prev_hash: last_hash.unwrap_or_else(|| GENESIS.to_string()),
                    hash: String::new(),
                };
                row.hash = record_hash(&row);
                row
            };
            match self.store.append_audit(build).await {
                Ok(row) => break row,
                Err(StoreError::Conflict(_)) if attempts < 10 => attempts += 1,
                Err(err) => return Err(err.into()),
            }
        };
        let last = self
            .store
            .last_checkpoint()
            .await?
            .map(|c| (c.seq, c.at_ms));
        let due = match last {
            None => true,
            Some((seq, at)) => {
                row.seq - seq >= CHECKPOINT_EVERY || now_ms - at >= CHECKPOINT_AGE_MS
            }
        };
        if due {
            self.sign(row.seq, &row.hash, now_ms).await?;
        }
        Ok(row)
    }

    /// Signs a checkpoint at the current head (at shutdown, or on demand).
    pub async fn checkpoint(&self, now_ms: i64) -> Result<Option<CheckpointRow>, AuthError> {
        let _guard = self.lock.lock().await;
        let Some(head) = self.store.audit_head().await? else {
            return Ok(None);
        };
        Ok(Some(self.sign(head.seq, &head.hash, now_ms).await?))
    }

    async fn sign(&self, seq: i64, hash: &str, now_ms: i64) -> Result<CheckpointRow, AuthError> {
        let sig = self
            .key
            .sign(checkpoint_message(seq, hash, now_ms).as_bytes());
        let row = CheckpointRow {
            seq,
            hash: hash.to_string(),
            at_ms: now_ms,
            public_key: hex(self.key.verifying_key().as_bytes()),
            signature: hex(&sig.to_bytes()),
        };
        self.store.add_checkpoint(&row).await?;
        Ok(row)
    }

    /// Deletes records older than `before_ms` after verifying them and signing a checkpoint
    /// at the last one deleted. Returns how many were deleted.
    pub async fn prune(&self, before_ms: i64, now_ms: i64) -> Result<u64, AuthError> {
        let report = verify(&self.store, &self.key.verifying_key()).await?;
        if let Some(bad) = report.first_bad {
            return Err(AuthError::Crypto(format!(
                "refusing to prune a trail that does not verify: {}",
                bad.reason
            )));
        }
        let _guard = self.lock.lock().await;
        let Some(last_old) = self.store.last_audit_before(before_ms).await? else {
            return Ok(0);
        };
        self.sign(last_old.seq, &last_old.hash, now_ms).await?;
        Ok(self.store.prune_audit(last_old.seq).await?)
    }
}

/// Path of the signing key in a data dir.
pub fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEY_FILE)
}

/// The first problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadRecord {
    /// Sequence number of the first bad record (or checkpoint).
    pub seq: i64,
    /// What is wrong.
    pub reason: String,
}

/// Outcome of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Records checked.
    pub records: i64,
    /// First and last sequence numbers present.
    pub first_seq: Option<i64>,
    /// Last sequence number present.
    pub last_seq: Option<i64>,
    /// Checkpoints whose signature and hash were checked.
    pub checkpoints: usize,
    /// The first problem, if any.
    pub first_bad: Option<BadRecord>,
}

impl VerifyReport {
    /// Whether the trail is intact.
    pub fn ok(&self) -> bool {
        self.first_bad.is_none()
    }
}

/// Verifies the whole trail against the signing key's public half.
pub async fn verify(store: &Store, key: &VerifyingKey) -> Result<VerifyReport, AuthError> {
    let checkpoints = store.checkpoints().await?;
    let mut report = VerifyReport {
        records: 0,
        first_seq: None,
        last_seq: None,
        checkpoints: 0,
        first_bad: None,
    };
    let bad = |seq: i64, reason: String, report: &mut VerifyReport| {
        if report.first_bad.is_none() {
            report.first_bad = Some(BadRecord { seq, reason });
        }
    };
    // Signatures first: an invalid checkpoint is a forgery attempt.
    let mut valid = Vec::new();
    for c in &checkpoints {
        let sig = unhex(&c.signature)
            .and_then(|b| <[u8; 64]>::try_from(b.as_slice()).ok())
            .map(|b| Signature::from_bytes(&b));
        let ok = sig.is_some_and(|s| {
            key.verify(checkpoint_message(c.seq, &c.hash, c.at_ms).as_bytes(), &s)
                .is_ok()
        });
        if ok {
            valid.push(c);
        } else {
            bad(
                c.seq,
                format!(
                    "checkpoint at record {} has an invalid signature (forged or made with another key)",
                    c.seq
                ),
                &mut report,
            );
        }
    }
    report.checkpoints = valid.len();
    let mut expected: Option<(i64, String)> = None;
    let mut after = i64::MIN;
    loop {
        let page = store.audit_records(after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for r in &page {
            report.records += 1;
            report.last_seq = Some(r.seq);
            let (want_seq, want_prev) = match &expected {
                Some((s, h)) => (*s, h.clone()),
                None => {
                    report.first_seq = Some(r.seq);
                    if r.seq == 1 {
                        (1, GENESIS.to_string())
                    } else {
                        // Older records were pruned: a signed checkpoint must vouch for the link.
                        match valid.iter().find(|c| c.seq == r.seq - 1) {
                            Some(c) => (r.seq, c.hash.clone()),
                            None => {
                                bad(
                                    1,
                                    format!(
                                        "records 1 to {} are missing and no signed checkpoint covers their removal",
                                        r.seq - 1
                                    ),
                                    &mut report,
                                );
                                (r.seq, r.prev_hash.clone())
                            }
                        }
                    }
                }
            };
            if r.seq != want_seq {
                bad(
                    want_seq,
                    format!(
                        "record {want_seq} is missing (deleted); the next present is {}",
                        r.seq
                    ),
                    &mut report,
                );
            } else if r.prev_hash != want_prev {
                bad(
                    r.seq,
                    format!(
                        "record {} does not link to record {} (reordered, replaced or the previous one altered)",
                        r.seq,
                        r.seq - 1
                    ),
                    &mut report,
                );
            } else if record_hash(r) != r.hash {
                bad(
                    r.seq,
                    format!(
                        "record {} was altered (its hash does not match its content)",
                        r.seq
                    ),
                    &mut report,
                );
            }
            expected = Some((r.seq + 1, r.hash.clone()));
        }
    }
    for c in &valid {
        match report.last_seq {
            Some(last) if c.seq > last => bad(
                last + 1,
                format!(
                    "records {} to {} were deleted from the end (a signed checkpoint covers record {})",
                    last + 1,
                    c.seq,
                    c.seq
                ),
                &mut report,
            ),
            None => bad(
                1,
                format!(
                    "every record was deleted (a signed checkpoint covers record {})",
                    c.seq
                ),
                &mut report,
            ),
            _ => {}
        }
    }
    if report.first_bad.is_none() {
        // Every retained record a checkpoint covers must carry the signed hash (catches a
        // chain rewritten consistently by someone without the key).
        for c in &valid {
            if report.first_seq.is_some_and(|f| c.seq >= f) {
                let r = store.audit_records(c.seq - 1, 1).await?;
                if r.first().is_none_or(|r| r.seq != c.seq || r.hash != c.hash) {
                    bad(
                        c.seq,
                        format!(
                            "record {} differs from its signed checkpoint (the chain was rewritten)",
                            c.seq
                        ),
                        &mut report,
                    );
                }
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    async fn trail(dir: &tempfile::TempDir) -> (Store, AuditTrail, String) {
        let url = format!("sqlite://{}/a.db", dir.path().display());
        let store = Store::open(&url).await.expect("store");
        let t = AuditTrail::open(store.clone(), dir.path()).expect("trail");
        (store, t, url)
    }

    fn entry(i: usize) -> Entry {
        Entry {
            actor: "alice".into(),
            role: "operator".into(),
            source: "127.0.0.1:5000".into(),
            action: "silence.create".into(),
            target: format!("s{i}"),
            result: "ok".into(),
            detail: json!({"i": i}),
        }
    }

    async fn fill(t: &AuditTrail, n: usize) {
        for i in 0..n {
            t.record(entry(i), 1_000 + i as i64).await.expect("record");
        }
    }

    async fn check(store: &Store, dir: &tempfile::TempDir) -> VerifyReport {
        let key = public_key(&key_path(dir.path())).expect("key");
        verify(store, &key).await.expect("verify")
    }

    #[tokio::test]
    async fn an_intact_trail_verifies_and_the_key_file_is_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, t, _) = trail(&dir).await;
        fill(&t, 5).await;
        let r = check(&store, &dir).await;
        assert!(r.ok(), "{r:?}");
        assert_eq!((r.records, r.checkpoints), (5, 1));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(key_path(dir.path()))
                .expect("key")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[tokio::test]
    async fn pruning_keeps_the_rest_verifiable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, t, _) = trail(&dir).await;
        fill(&t, 10).await;
        assert_eq!(t.prune(1_004, 5_000).await.expect("prune"), 4);
        let r = check(&store, &dir).await;
        assert!(r.ok(), "{r:?}");
        assert_eq!((r.first_seq, r.records), (Some(5), 6));
    }
}
