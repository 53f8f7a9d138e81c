//! chainops-auth: who may do what, and a record of what they did.
//!
//! - [`roles`]: roles, permissions and the one permission matrix.
//! - [`password`]: Argon2id hashing and the password policy.
//! - [`secrets`]: random secrets (tokens, session ids) and their stored hashes.
//! - [`lockout`]: login rate limiting and temporary lockout.
//! - [`service`]: [`Auth`](service::Auth), users, tokens and sessions over the store.
//! - [`audit_trail`]: the append-only, BLAKE3 hash-chained audit log with Ed25519-signed
//!   checkpoints, its verification and export.

pub mod audit_trail;
pub mod config;
pub mod error;
pub mod lockout;
pub mod password;
pub mod roles;
pub mod secrets;
pub mod service;

pub use error::AuthError;
pub use roles::{Permission, Role};
pub use service::{Auth, Principal};
