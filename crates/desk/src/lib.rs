//! chainops-desk: user support. Today the public status page's logic ([`status`]: a chain's
//! state from the monitors and its quorum, uptime per day) and the rules of its incidents and
//! maintenance windows ([`notices`]); tickets with SLA clocks, the knowledge base and feedback
//! follow (issue 19).

pub mod calendar;
pub mod config;
pub mod notices;
pub mod privacy;
pub mod service;
pub mod sla;
pub mod status;
pub mod tickets;
