//! Per-node tracking across polls: new blocks, block interval, tx/s, reorgs, chain-id
//! mismatch and client version changes.
//!
//! Reorg detection keeps the recent height→hash map of the chain we saw. A head that does
//! not extend it (parent mismatch, same height with another hash, a jump, or a step back)
//! starts a walk back on the node's current chain until a height whose hash we remember
//! matches: that is the fork point, and the depth is how many of our blocks were replaced.
//! If no remembered height matches within the walk limit, the node is on a different chain
//! altogether (e.g. a dev node restarted from genesis): a chain reset, not a reorg.

use chainops_core::node::{BlockRef, NodeSnapshot};
use chainops_core::ports::{ChainAdapter, ChainError, RpcLog};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Heights of hash history kept per node.
pub const KEEP_HEIGHTS: usize = 64;
/// Most blocks fetched when walking back to a fork point.
pub const MAX_WALK: u64 = 64;
/// Heights of history fetched when a node is first seen, so an early reorg has a fork point.
pub const BACKFILL: u64 = 32;

/// A detected reorganization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reorg {
    /// Blocks of our previously seen chain that were replaced.
    pub depth: u64,
    /// Last common height.
    pub fork_height: u64,
    /// Our head before the reorg.
    pub old_head: u64,
    /// Hash of our head before the reorg.
    pub old_hash: String,
    /// The node's head after it.
    pub new_head: u64,
    /// Hash of the new head.
    pub new_hash: String,
    /// When it was detected, epoch ms.
    pub at_ms: i64,
}

/// What one poll changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    /// Blocks the head advanced by (0 if unchanged or after a reorg/reset).
    pub new_blocks: u64,
    /// Seconds per block over the advance, from block timestamps.
    pub block_interval: Option<f64>,
    /// Transactions per second of the new head block.
    pub tx_per_second: Option<f64>,
    /// Set when a reorg was detected.
    pub reorg: Option<Reorg>,
    /// Set when the node is on an unrelated chain now (no common block found).
    pub chain_reset: Option<(u64, u64)>,
    /// `(old, new)` client version when it changed.
    pub version_change: Option<(String, String)>,
    /// `(expected, actual)` when a chain-id mismatch begins.
    pub chain_id_mismatch: Option<(String, String)>,
    /// The persisted state changed in a way worth saving now.
    pub state_changed: bool,
}

/// The small, shareable part of a tracker's state (copied into the fleet view each poll).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackerState {
    /// Last head seen.
    pub head: Option<BlockRef>,
    /// Reorgs detected so far.
    pub reorgs_total: u64,
    /// The most recent reorg.
    pub last_reorg: Option<Reorg>,
    /// Last client version seen.
    pub client_version: Option<String>,
    /// Client version changes seen.
    pub client_version_changes: u64,
    /// Whether the chain id currently differs from the configured one.
    pub chain_id_mismatch: bool,
}

/// Everything a tracker persists across daemon restarts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SavedTracker {
    /// Counters and identity.
    #[serde(flatten)]
    pub state: TrackerState,
    /// Recent height → hash of the chain we follow.
    #[serde(default)]
    pub recent: BTreeMap<u64, String>,
}

/// Follows one node from poll to poll.
#[derive(Debug, Clone, Default)]
pub struct NodeTracker {
    /// Counters and identity.
    pub state: TrackerState,
    /// Recent height → hash of the chain we follow (at most [`KEEP_HEIGHTS`]).
    pub recent: BTreeMap<u64, String>,
    expected_chain_id: Option<String>,
}

impl NodeTracker {
    /// A tracker resuming from `saved`, checking the chain id against `expected_chain_id`.
    pub fn new(saved: SavedTracker, expected_chain_id: Option<String>) -> Self {
        Self {
            state: saved.state,
            recent: saved.recent,
            expected_chain_id,
        }
    }

    /// What to persist.
    pub fn to_saved(&self) -> SavedTracker {
        SavedTracker {
            state: self.state.clone(),
            recent: self.recent.clone(),
        }
    }

    /// Digests one successful poll; may fetch blocks from `adapter` to find a fork point.
    pub async fn observe(
        &mut self,
        snap: &NodeSnapshot,
        adapter: &dyn ChainAdapter,
        log: &mut RpcLog,
        now_ms: i64,
    ) -> Result<Observation, ChainError> {
        let mut obs = Observation::default();
        self.check_identity(snap, &mut obs);
        let Some(head) = snap.head.clone() else {
            return Ok(obs);
        };
        let prev = self.state.head.clone();
        match prev {
            None => {
                self.remember(&head);
                self.backfill(&head, adapter, log).await;
            }
            Some(prev) if prev.hash == head.hash => {}
            Some(prev) if head.number == prev.number + 1 && head.parent_hash == prev.hash => {
                obs.new_blocks = 1;
                self.rate(&prev, &head, 1, snap.head_tx_count, &mut obs);
                self.remember(&head);
            }
            Some(prev) => {
                self.reconcile(&prev, &head, snap, adapter, log, now_ms, &mut obs)
                    .await?
            }
        }
        Ok(obs)
    }

    #[allow(clippy::too_many_arguments)]
    async fn reconcile(
        &mut self,
        prev: &BlockRef,
        head: &BlockRef,
        snap: &NodeSnapshot,
        adapter: &dyn ChainAdapter,
        log: &mut RpcLog,
        now_ms: i64,
        obs: &mut Observation,
    ) -> Result<(), ChainError> {
        // Blocks of the node's current chain learned during the walk: height → (hash, parent).
        let mut chain: HashMap<u64, (String, String)> = HashMap::new();
        chain.insert(head.number, (head.hash.clone(), head.parent_hash.clone()));
        let mut h = prev.number.min(head.number);
        let lowest_known = self.recent.keys().next().copied().unwrap_or(prev.number);
        let mut fork = None;
        for _ in 0..=MAX_WALK {
            let hash = match chain
                .get(&(h + 1))
                .map(|(_, parent)| parent.clone())
                .or_else(|| chain.get(&h).map(|(hash, _)| hash.clone()))
            {
                Some(hash) => hash,
                None => {
                    let b = adapter.block_at(h, log).await?;
                    chain.insert(h, (b.hash.clone(), b.parent_hash.clone()));
                    b.hash
                }
            };
            match self.recent.get(&h) {
                Some(ours) if *ours == hash => {
                    fork = Some(h);
                    break;
                }
                None if h < lowest_known => break,
                _ => {}
            }
            if h == 0 || h <= lowest_known {
                break;
            }
            h -= 1;
        }
        match fork {
            Some(f) if f == prev.number => {
                // The head jumped ahead on the same chain.
                let n = head.number.saturating_sub(prev.number);
                obs.new_blocks = n;
                if n > 0 {
                    self.rate(prev, head, n, snap.head_tx_count, obs);
                }
            }
            Some(f) => {
                let reorg = Reorg {
                    depth: prev.number - f,
                    fork_height: f,
                    old_head: prev.number,
                    old_hash: prev.hash.clone(),
                    new_head: head.number,
                    new_hash: head.hash.clone(),
                    at_ms: now_ms,
                };
                self.state.reorgs_total += 1;
                self.state.last_reorg = Some(reorg.clone());
                obs.reorg = Some(reorg);
                obs.state_changed = true;
                self.recent.retain(|height, _| *height <= f);
            }
            None => {
                obs.chain_reset = Some((prev.number, head.number));
                obs.state_changed = true;
                self.recent.clear();
            }
        }
        for (height, (hash, _)) in chain {
            if fork.is_none_or(|f| height > f) {
                self.recent.insert(height, hash);
            }
        }
        self.remember(head);
        Ok(())
    }

    /// Best effort: learns the hashes of up to [`BACKFILL`] blocks below a first-seen head.
    async fn backfill(&mut self, head: &BlockRef, adapter: &dyn ChainAdapter, log: &mut RpcLog) {
        let mut h = head.number.saturating_sub(1);
        let stop = head.number.saturating_sub(BACKFILL);
        while h > stop {
            let Some(expected) = self.recent.get(&h).cloned() else {
                return;
            };
            match adapter.block_at(h, log).await {
                Ok(b) if b.hash == expected && !b.parent_hash.is_empty() => {
                    self.recent.insert(h - 1, b.parent_hash);
                }
                Ok(_) => return, // the chain moved under us; the next poll reconciles
                Err(e) => {
                    tracing::debug!(error = %e, "history backfill stopped");
                    return;
                }
            }
            h -= 1;
        }
    }

    fn rate(
        &self,
        prev: &BlockRef,
        head: &BlockRef,
        blocks: u64,
        head_txs: Option<u64>,
        obs: &mut Observation,
    ) {
        let dt = (head.timestamp - prev.timestamp) as f64;
        if dt >= 0.0 {
            obs.block_interval = Some(dt / blocks as f64);
        }
        if blocks == 1 && dt > 0.0 {
            obs.tx_per_second = head_txs.map(|t| t as f64 / dt);
        }
    }

    fn remember(&mut self, head: &BlockRef) {
        drop(self.recent.split_off(&head.number));
        self.recent.insert(head.number, head.hash.clone());
        if head.number > 0 && !head.parent_hash.is_empty() {
            self.recent
                .entry(head.number - 1)
                .or_insert_with(|| head.parent_hash.clone());
        }
        while self.recent.len() > KEEP_HEIGHTS {
            self.recent.pop_first();
        }
        self.state.head = Some(head.clone());
    }

    fn check_identity(&mut self, snap: &NodeSnapshot, obs: &mut Observation) {
        if let Some(v) = &snap.client_version {
            match &self.state.client_version {
                Some(old) if old != v => {
                    obs.version_change = Some((old.clone(), v.clone()));
                    self.state.client_version_changes += 1;
                    self.state.client_version = Some(v.clone());
                    obs.state_changed = true;
                }
                None => {
                    self.state.client_version = Some(v.clone());
                    obs.state_changed = true;
                }
                _ => {}
            }
        }
        if let (Some(expected), Some(actual)) = (&self.expected_chain_id, &snap.chain_id) {
            let mismatch = expected != actual;
            if mismatch && !self.state.chain_id_mismatch {
                obs.chain_id_mismatch = Some((expected.clone(), actual.clone()));
            }
            if mismatch != self.state.chain_id_mismatch {
                self.state.chain_id_mismatch = mismatch;
                obs.state_changed = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A chain held in memory to walk back on; real-node behaviour is covered end to end.
    struct ScriptedChain(Mutex<Vec<BlockRef>>);

    impl ScriptedChain {
        fn new(blocks: Vec<BlockRef>) -> Self {
            Self(Mutex::new(blocks))
        }
    }

    #[async_trait::async_trait]
    impl ChainAdapter for ScriptedChain {
        fn family(&self) -> &'static str {
            "scripted"
        }
        async fn poll(&self, _log: &mut RpcLog) -> Result<NodeSnapshot, ChainError> {
            Ok(NodeSnapshot::default())
        }
        async fn block_at(&self, height: u64, _log: &mut RpcLog) -> Result<BlockRef, ChainError> {
            let found = self
                .0
                .lock()
                .ok()
                .and_then(|c| c.iter().find(|b| b.number == height).cloned());
            found.ok_or_else(|| ChainError::Transport("no block".into()))
        }
    }

    /// Blocks 0..=n where blocks above `fork` carry `tag` in their hash.
    fn chain(n: u64, fork: u64, tag: &str) -> Vec<BlockRef> {
        let hash = |h: u64| {
            if h > fork {
                format!("{tag}{h}")
            } else {
                format!("c{h}")
            }
        };
        (0..=n)
            .map(|h| BlockRef {
                number: h,
                hash: hash(h),
                parent_hash: if h == 0 { String::new() } else { hash(h - 1) },
                timestamp: h as i64,
            })
            .collect()
    }

    fn snap(b: &BlockRef) -> NodeSnapshot {
        NodeSnapshot {
            head: Some(b.clone()),
            head_tx_count: Some(4),
            ..NodeSnapshot::default()
        }
    }

    async fn follow(t: &mut NodeTracker, adapter: &ScriptedChain, b: &BlockRef) -> Observation {
        t.observe(&snap(b), adapter, &mut Vec::new(), 0)
            .await
            .expect("observe")
    }

    #[tokio::test]
    async fn a_depth_three_reorg_is_found_at_its_fork_point() {
        let old = chain(10, 10, "a");
        let adapter = ScriptedChain::new(old.clone());
        let mut t = NodeTracker::default();
        for b in &old[..=10] {
            follow(&mut t, &adapter, b).await;
        }
        let new = chain(11, 7, "b");
        *adapter.0.lock().expect("lock") = new.clone();
        let obs = follow(&mut t, &adapter, &new[11]).await;
        let r = obs.reorg.expect("reorg");
        assert_eq!(
            (r.depth, r.fork_height, r.old_head, r.new_head),
            (3, 7, 10, 11)
        );
        assert_eq!(t.state.reorgs_total, 1);
        assert_eq!(
            follow(&mut t, &adapter, &new[11]).await,
            Observation::default()
        );
    }

    #[tokio::test]
    async fn same_height_replacement_and_jumps_are_told_apart() {
        let old = chain(5, 5, "a");
        let adapter = ScriptedChain::new(old.clone());
        let mut t = NodeTracker::default();
        follow(&mut t, &adapter, &old[3]).await;
        let obs = follow(&mut t, &adapter, &old[5]).await;
        assert_eq!((obs.new_blocks, obs.reorg.is_none()), (2, true));
        assert_eq!(obs.block_interval, Some(1.0));
        let new = chain(5, 4, "b");
        *adapter.0.lock().expect("lock") = new.clone();
        let obs = follow(&mut t, &adapter, &new[5]).await;
        assert_eq!(obs.reorg.map(|r| r.depth), Some(1));
    }

    #[tokio::test]
    async fn an_unrelated_chain_is_a_reset_not_a_reorg() {
        let old = chain(20, 20, "a");
        let adapter = ScriptedChain::new(old.clone());
        let mut t = NodeTracker::default();
        for b in &old {
            follow(&mut t, &adapter, b).await;
        }
        let fresh: Vec<BlockRef> = chain(2, 0, "z")
            .into_iter()
            .map(|mut b| {
                if b.number == 0 {
                    b.hash = "z0".into()
                }
                if b.number == 1 {
                    b.parent_hash = "z0".into()
                }
                b
            })
            .collect();
        *adapter.0.lock().expect("lock") = fresh.clone();
        let obs = follow(&mut t, &adapter, &fresh[2]).await;
        assert_eq!((obs.reorg, obs.chain_reset), (None, Some((20, 2))));
        assert_eq!(t.state.reorgs_total, 0);
    }

    #[tokio::test]
    async fn chain_id_mismatch_and_version_change_are_reported_once() {
        let adapter = ScriptedChain::new(vec![]);
        let mut t = NodeTracker::new(SavedTracker::default(), Some("1".into()));
        let mut s = NodeSnapshot {
            chain_id: Some("31337".into()),
            client_version: Some("anvil/v1".into()),
            ..NodeSnapshot::default()
        };
        let o = t
            .observe(&s, &adapter, &mut Vec::new(), 0)
            .await
            .expect("observe");
        assert_eq!(o.chain_id_mismatch, Some(("1".into(), "31337".into())));
        let o = t
            .observe(&s, &adapter, &mut Vec::new(), 0)
            .await
            .expect("observe");
        assert_eq!(o.chain_id_mismatch, None);
        assert!(t.state.chain_id_mismatch);
        s.client_version = Some("anvil/v2".into());
        let o = t
            .observe(&s, &adapter, &mut Vec::new(), 0)
            .await
            .expect("observe");
        assert_eq!(
            o.version_change,
            Some(("anvil/v1".into(), "anvil/v2".into()))
        );
    }
}
