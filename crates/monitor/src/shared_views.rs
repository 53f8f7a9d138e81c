//! Node views shared between cluster members: each member publishes, once a second, the
//! views of the nodes it polls that changed, and copies in the views the others published,
//! so the API, the console and the leader's alert engine see every node on any member.
//!
//! What travels is the part of a [`NodeView`] the API and the alert facts read (status,
//! snapshot, tracker, intervals, latency, the count of failed calls); histograms and
//! per-method RPC statistics stay with the member that polls and are exported by its
//! `/metrics`.

use crate::cluster::Membership;
use crate::fleet::{Fleet, NodeView, RemoteView};
use crate::tracker::TrackerState;
use chainops_core::node::NodeSnapshot;
use chainops_store::Store;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often views are published and read.
pub const EVERY: Duration = Duration::from_secs(1);
/// Rows published up to this long before the last read are read again: a publish that
/// committed late is still seen (re-applying a view is harmless).
const OVERLAP_MS: i64 = 500;

/// The shared part of a node's view.
#[derive(Debug, Serialize, Deserialize)]
struct SharedView {
    up: bool,
    polled: bool,
    last_poll_ms: Option<i64>,
    last_success_ms: Option<i64>,
    last_error: Option<String>,
    snapshot: Option<NodeSnapshot>,
    tracker: TrackerState,
    last_block_interval: Option<f64>,
    tx_per_second: Option<f64>,
    poll_seconds: Option<f64>,
    rpc_errors_total: u64,
}

impl SharedView {
    fn of(v: &NodeView) -> Self {
        Self {
            up: v.up,
            polled: v.polled,
            last_poll_ms: v.last_poll_ms,
            last_success_ms: v.last_success_ms,
            last_error: v.last_error.clone(),
            snapshot: v.snapshot.clone(),
            tracker: v.tracker.clone(),
            last_block_interval: v.last_block_interval,
            tx_per_second: v.tx_per_second,
            poll_seconds: v.poll_seconds,
            rpc_errors_total: v.rpc_errors_total(),
        }
    }

    fn apply(self, v: &mut NodeView, member: &str) {
        v.up = self.up;
        v.polled = self.polled;
        v.last_poll_ms = self.last_poll_ms;
        v.last_success_ms = self.last_success_ms;
        v.last_error = self.last_error;
        v.snapshot = self.snapshot;
        v.tracker = self.tracker;
        v.last_block_interval = self.last_block_interval;
        v.tx_per_second = self.tx_per_second;
        v.poll_seconds = self.poll_seconds;
        v.remote = Some(RemoteView {
            member: Some(member.to_string()),
            rpc_errors_total: self.rpc_errors_total,
        });
    }
}

/// Publishes and copies in views until `stop`.
pub struct ViewSync {
    store: Store,
    member: String,
    fleet: Arc<Fleet>,
    membership: Arc<Membership>,
    /// Per node: the last poll time published.
    published: Vec<Option<i64>>,
    /// Per node: the publish time of the view applied last.
    applied: Vec<i64>,
    cursor_ms: i64,
}

impl ViewSync {
    /// A sync for `member` over `fleet`.
    pub fn new(
        store: Store,
        member: String,
        fleet: Arc<Fleet>,
        membership: Arc<Membership>,
    ) -> Self {
        let n = fleet.len();
        Self {
            store,
            member,
            fleet,
            membership,
            published: vec![None; n],
            applied: vec![i64::MIN; n],
            cursor_ms: 0,
        }
    }

    /// Runs a publish and a read every [`EVERY`] until `stop`.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            if let Err(e) = self.publish().await {
                tracing::warn!(error = %e, "cannot publish node views to the cluster; retrying");
            }
            if let Err(e) = self.read().await {
                tracing::warn!(error = %e, "cannot read the cluster's node views; retrying");
            }
        }
    }

    /// Publishes the views of owned nodes polled since they were last published.
    pub async fn publish(&mut self) -> Result<usize, chainops_store::StoreError> {
        let mut batch = Vec::new();
        let mut marks = Vec::new();
        for i in 0..self.fleet.len() {
            let v = self.fleet.lock(i);
            if v.remote.is_some()
                || !v.polled
                || v.last_poll_ms == self.published[i]
                || !self.membership.owns(&v.config.name)
            {
                continue;
            }
            match serde_json::to_string(&SharedView::of(&v)) {
                Ok(doc) => {
                    batch.push((v.config.name.clone(), doc));
                    marks.push((i, v.last_poll_ms));
                }
                Err(e) => {
                    tracing::warn!(node = %v.config.name, error = %e, "cannot encode a node view")
                }
            }
        }
        if batch.is_empty() {
            return Ok(0);
        }
        self.store
            .cluster_publish_views(&self.member, &batch)
            .await?;
        for (i, at) in marks {
            self.published[i] = at;
        }
        Ok(batch.len())
    }

    /// Copies in the views other members published since the last read, for nodes this
    /// member does not poll.
    pub async fn read(&mut self) -> Result<usize, chainops_store::StoreError> {
        let rows = self
            .store
            .cluster_views_since(self.cursor_ms - OVERLAP_MS, &self.member)
            .await?;
        let mut applied = 0;
        for row in rows {
            self.cursor_ms = self.cursor_ms.max(row.updated_ms);
            let Some(i) = self.fleet.index_of(&row.node) else {
                continue;
            };
            if row.updated_ms <= self.applied[i] || self.membership.owns(&row.node) {
                continue;
            }
            match serde_json::from_str::<SharedView>(&row.view) {
                Ok(view) => {
                    view.apply(&mut self.fleet.lock(i), &row.member);
                    self.applied[i] = row.updated_ms;
                    applied += 1;
                }
                Err(e) => {
                    tracing::warn!(node = %row.node, member = %row.member, error = %e, "ignoring an unreadable node view (a member on another version?)")
                }
            }
        }
        Ok(applied)
    }
}
