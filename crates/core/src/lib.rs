//! chainops-core: the domain vocabulary shared by every chainops crate.
//!
//! This crate performs no I/O. It holds configuration (parsing and pure validation),
//! node and block types, the coarse [`ErrorKind`] every crate maps its errors to, time
//! helpers, and the ports (traits) that feature crates implement or consume.

pub mod alerting_config;
pub mod audit_config;
pub mod backup_config;
pub mod bench_config;
pub mod config;
pub mod cron;
pub mod duration;
pub mod error;
pub mod exposition;
pub mod facts;
pub mod hex;
pub mod logs_config;
pub mod node;
pub mod node_config;
pub mod notifier_config;
pub mod ports;
pub mod quiet_hours;
pub mod rule_expr;
pub mod sealed;
pub mod secret;
pub mod section;
pub mod security_config;
pub mod severity;
pub mod task;
pub mod time;

pub use error::ErrorKind;
