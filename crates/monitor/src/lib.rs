//! chainops-monitor: watches nodes and keeps what it learns.
//!
//! - [`collector`]: one poll loop per node (timeout, jitter, bounded concurrency).
//! - [`tracker`]: turns successive snapshots into derived facts — new blocks, intervals,
//!   tx/s, reorgs (with fork-point walk-back), chain-id mismatch, client version changes.
//! - [`fleet`]: the live, shared view of every node; computes status and lag.
//! - [`chains`]: the fleet by chain (families, quorum, lag distribution).
//! - [`history`]: buffers samples and writes them to the series store each minute.
//! - [`remote_write`]: the same samples to a Prometheus-compatible TSDB, queued on disk;
//!   [`prom_read`] reads them back (`[history] backend = "prometheus"`).
//! - [`exposition`]: Prometheus text format for `/metrics`.
//! - [`dashboards`]: the Grafana dashboards over it.
//! - [`histogram`]: the fixed-bucket histogram behind the exposition.
//! - [`cluster`]: several daemons on one PostgreSQL store (membership, leader lease, node
//!   assignment); [`shared_views`] gives every member every node's view.

pub mod chains;
pub mod cluster;
pub mod collector;
pub mod config;
pub mod dashboards;
pub mod disk;
pub mod exposition;
pub mod fleet;
pub mod histogram;
pub mod history;
pub mod names;
pub mod prom_read;
pub mod remote_write;
pub mod shared_views;
pub mod tracker;

pub use collector::Monitor;
