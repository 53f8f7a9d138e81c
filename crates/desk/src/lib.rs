//! chainops-desk: user support — the public status page ([`status`], [`notices`]), tickets
//! with SLA clocks in business hours ([`calendar`], [`sla`], [`tickets`], [`service`]), email
//! in ([`mailbox`]), the knowledge base ([`kb`]), feedback and reports ([`feedback`]) and the requesters' personal data sealed per requester ([`privacy`]).

pub mod calendar;
pub mod config;
pub mod feedback;
pub mod kb;
pub mod mailbox;
pub mod notices;
pub mod privacy;
pub mod search;
pub mod service;
pub mod signin;
pub mod sla;
pub mod status;
pub mod subscriptions;
pub mod tickets;
