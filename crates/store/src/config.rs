//! `[store]`: the raw TOML mirror and its validation.

use chainops_core::secret::redact_url;
use chainops_core::section::{Problems, ser_url};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// `[store]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawStore {
    /// `sqlite://…` or `postgres://…`.
    pub url: Option<String>,
}

/// `[store]`.
#[derive(Debug, Clone, Serialize)]
pub struct StoreConfig {
    /// Database URL; credentials are redacted when shown.
    #[serde(serialize_with = "ser_url")]
    pub url: String,
}

impl StoreConfig {
    /// The engine the URL names.
    pub fn backend(&self) -> crate::Backend {
        if self.url.starts_with("postgres") {
            crate::Backend::Postgres
        } else {
            crate::Backend::Sqlite
        }
    }
}

/// Validates `[store]`; without a URL the embedded SQLite file lives in `data_dir`.
pub fn validate(raw: RawStore, data_dir: &Path, p: &mut Problems) -> StoreConfig {
    let url = match raw.url {
        Some(u) => {
            if !(u.starts_with("sqlite:")
                || u.starts_with("postgres://")
                || u.starts_with("postgresql://"))
            {
                p.add(
                    "store.url",
                    format!(
                        "\"{}\" is not a sqlite:// or postgres:// URL",
                        redact_url(&u)
                    ),
                );
            }
            u
        }
        None => format!("sqlite://{}", data_dir.join("chainops.db").display()),
    };
    StoreConfig { url }
}
