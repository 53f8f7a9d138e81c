//! chainops-core: the domain vocabulary shared by every chainops crate.
//!
//! This crate performs no I/O. It holds the shared vocabulary: what config sections are made
//! of ([`section`]: problems with paths, validation helpers; [`secret`], [`sealed`],
//! [`duration`], [`cron`]), the node identity every section refers to ([`node_config`]), node
//! and block types, the coarse [`ErrorKind`] every crate maps its errors to, time helpers, and
//! the ports (traits) that feature crates implement or consume. Each feature crate owns its
//! own config section; the binary assembles the file.

pub mod cron;
pub mod duration;
pub mod error;
pub mod exposition;
pub mod facts;
pub mod hex;
pub mod mail;
pub mod node;
pub mod node_config;
pub mod ports;
pub mod sealed;
pub mod secret;
pub mod section;
pub mod severity;
pub mod task;
pub mod time;

pub use error::ErrorKind;
