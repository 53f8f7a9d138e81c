//! chainops-alert: from facts to notifications.
//!
//! - [`rules`]: the effective rule set (the default pack, overridden by config by name).
//! - [`lifecycle`]: the pure state machine inactive → pending → firing → resolved.
//! - [`engine`]: evaluates rules over a [`FactSource`](chainops_core::facts::FactSource) each
//!   interval, applies inhibition, and writes every transition together with its
//!   notifications (the outbox) in one store transaction.
//! - [`delivery`]: drains the outbox with retries, backoff and a dead-letter state.
//! - [`notify`]: the notifiers (webhook, Slack, DingTalk, WeCom, Feishu, email, Alertmanager)
//!   and payloads.
//! - [`intake`]: Alertmanager webhook payloads turned into our notifications.
//! - [`metrics`]: the alerting's part of `/metrics`.

pub mod anomaly;
pub mod config;
pub mod delivery;
pub mod engine;
pub mod export;
pub mod heartbeat;
pub mod intake;
pub mod labels;
pub mod lifecycle;
pub mod metrics;
pub mod notify;
pub mod reminders;
pub mod rules;
pub mod template;
pub mod terms;

pub use engine::AlertEngine;
