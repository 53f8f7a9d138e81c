//! chainops-logs: node logs from raw lines to searchable, secret-free entries.
//!
//! - [`parse`]: format parsers (anvil, geth, Bitcoin Core, monerod, ganache/hardhat, JSON
//!   lines, logfmt, generic), detection and multi-line grouping.
//! - [`redact`]: secret redaction before anything is stored or forwarded.
//! - [`ingest`]: redaction + storage with read positions in one transaction.
//! - [`tail`]: following files through rotation and truncation.
//! - [`entry`], [`timestamp`]: the entry model and client timestamp formats.

pub mod config;
pub mod entry;
pub mod ingest;
pub mod loki;
pub mod parse;
pub mod query;
pub mod redact;
pub mod service;
pub mod tail;
pub mod timestamp;
