//! The collector: one poll loop per node. Each loop ticks at the node's interval (first tick
//! jittered across the interval so a fleet does not poll in lockstep), takes a permit from
//! a shared semaphore (bounded concurrency), polls with a hard timeout, digests the answer
//! with its [`NodeTracker`], updates the [`Fleet`], records history and events.
//!
//! A frozen node only ever delays its own loop: nothing is shared across loops but the
//! semaphore (held for at most the timeout) and short per-node locks.

use crate::fleet::{Fleet, failed_calls, gas_used_ratio};
use crate::history::History;
use crate::tracker::{NodeTracker, Observation, SavedTracker};
use chainops_core::node::{NodeSnapshot, RpcCall, RpcOutcome};
use chainops_core::node_config::NodeConfig;
use chainops_core::ports::{ChainAdapter, ChainError};
use chainops_core::task::spawn_supervised;
use chainops_core::time::now_ms;
use chainops_store::Store;
use chainops_store::events::NodeEvent;
use rand::Rng;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

pub use crate::history::METRICS;

/// How often tracker state is saved even without notable changes.
const SAVE_STATE_EVERY: Duration = Duration::from_secs(300);
/// Tracker-state loads or saves gathered into one statement: a cluster handing thousands
/// of nodes over at a time needs a handful of queries, not thousands.
const STATE_BATCH: usize = 500;

/// A request to the [`StateIo`] task.
enum StateOp {
    Load(String, tokio::sync::oneshot::Sender<SavedTracker>),
    Save(String, Box<SavedTracker>, tokio::sync::oneshot::Sender<()>),
}

/// Batches the poll loops' tracker-state loads and saves. The task ends when every loop
/// has (all senders dropped), after the last saves are written.
#[derive(Clone)]
struct StateIo(tokio::sync::mpsc::UnboundedSender<StateOp>);

impl StateIo {
    fn spawn(store: Store) -> (StateIo, JoinHandle<()>) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<StateOp>();
        let task = tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut ops = vec![first];
                while ops.len() < STATE_BATCH {
                    match rx.try_recv() {
                        Ok(op) => ops.push(op),
                        Err(_) => break,
                    }
                }
                let (mut loads, mut saves) = (Vec::new(), Vec::new());
                for op in ops {
                    match op {
                        StateOp::Load(n, reply) => loads.push((n, reply)),
                        StateOp::Save(n, st, done) => saves.push((n, st, done)),
                    }
                }
                if !saves.is_empty() {
                    let docs: Vec<(String, serde_json::Value)> = saves
                        .iter()
                        .filter_map(|(n, st, _)| {
                            serde_json::to_value(st).ok().map(|v| (n.clone(), v))
                        })
                        .collect();
                    if let Err(e) = store.save_node_states(&docs).await {
                        tracing::warn!(nodes = docs.len(), error = %e, "cannot save node states");
                    }
                    for (_, _, done) in saves {
                        let _ = done.send(());
                    }
                }
                if !loads.is_empty() {
                    let names: Vec<String> = loads.iter().map(|(n, _)| n.clone()).collect();
                    let mut found = match store.load_node_states(&names).await {
                        Ok(m) => m,
                        Err(e) => {
                            tracing::warn!(nodes = names.len(), error = %e, "cannot load saved node states; those nodes start afresh");
                            HashMap::new()
                        }
                    };
                    for (n, reply) in loads {
                        let saved = found
                            .remove(&n)
                            .and_then(|v| serde_json::from_value::<SavedTracker>(v).ok())
                            .unwrap_or_default();
                        let _ = reply.send(saved);
                    }
                }
            }
        });
        (StateIo(tx), task)
    }

    async fn load(&self, node: &str) -> SavedTracker {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.0.send(StateOp::Load(node.to_string(), tx)).is_err() {
            return SavedTracker::default();
        }
        rx.await.unwrap_or_default()
    }

    /// Queues a save without waiting for it (the periodic and on-change saves).
    fn save_soon(&self, node: &str, state: SavedTracker) {
        let (tx, _) = tokio::sync::oneshot::channel();
        let _ = self
            .0
            .send(StateOp::Save(node.to_string(), Box::new(state), tx));
    }

    /// Saves and waits until it is written (a handover, a shutdown: the next owner or the
    /// next start reads it).
    async fn save(&self, node: &str, state: SavedTracker) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self
            .0
            .send(StateOp::Save(node.to_string(), Box::new(state), tx))
            .is_ok()
        {
            let _ = rx.await;
        }
    }
}

/// Best height per chain, refreshed once a second (so polls never scan the fleet).
pub type ChainBest = Arc<RwLock<HashMap<String, u64>>>;

/// A node's saved tracker state, or a fresh one if there is none or it cannot be read.
async fn load_saved(store: &Store, name: &str) -> SavedTracker {
    match store.load_node_state(name).await {
        Ok(Some(v)) => serde_json::from_value::<SavedTracker>(v).unwrap_or_else(|e| {
            tracing::warn!(node = %name, error = %e, "ignoring unreadable saved node state");
            SavedTracker::default()
        }),
        Ok(None) => SavedTracker::default(),
        Err(e) => {
            tracing::warn!(node = %name, error = %e, "cannot load saved node state");
            SavedTracker::default()
        }
    }
}

/// The monitoring engine: fleet view, history and the poll loops.
pub struct Monitor {
    fleet: Arc<Fleet>,
    history: Arc<History>,
    store: Store,
    adapters: Vec<Arc<dyn ChainAdapter>>,
    saved: Vec<SavedTracker>,
    chain_best: ChainBest,
    membership: Arc<crate::cluster::Membership>,
}

impl Monitor {
    /// Builds the engine and restores each node's tracker state from the store.
    pub async fn new(
        fleet: Arc<Fleet>,
        adapters: Vec<Arc<dyn ChainAdapter>>,
        store: Store,
        history: Arc<History>,
    ) -> Self {
        let names: Vec<String> = (0..fleet.len())
            .map(|i| fleet.lock(i).config.name.clone())
            .collect();
        let mut found = store.load_node_states(&names).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot load saved node states; nodes start afresh");
            HashMap::new()
        });
        let mut saved = Vec::with_capacity(fleet.len());
        for (i, name) in names.iter().enumerate() {
            let state = found
                .remove(name)
                .map(|v| {
                    serde_json::from_value::<SavedTracker>(v).unwrap_or_else(|e| {
                        tracing::warn!(node = %name, error = %e, "ignoring unreadable saved node state");
                        SavedTracker::default()
                    })
                })
                .unwrap_or_default();
            fleet.lock(i).tracker = state.state.clone();
            saved.push(state);
        }
        Self {
            fleet,
            history,
            store,
            adapters,
            saved,
            chain_best: Arc::new(RwLock::new(HashMap::new())),
            membership: crate::cluster::Membership::standalone(),
        }
    }

    /// Polls only the nodes `membership` owns, and records chain-wide series only while it
    /// leads (a cluster member; the default is a standalone daemon).
    pub fn with_membership(mut self, membership: Arc<crate::cluster::Membership>) -> Self {
        if membership.is_clustered() {
            // A member loads a node's state when it starts polling it (the previous owner
            // may have saved a newer one); holding every node's hashes meanwhile would cost
            // ~8 KB a node it never polls.
            self.saved = vec![SavedTracker::default(); self.saved.len()];
        }
        self.membership = membership;
        self
    }

    /// The live fleet view.
    pub fn fleet(&self) -> &Arc<Fleet> {
        &self.fleet
    }

    /// Starts the poll loops, the chain-best refresher and the history writer.
    pub fn spawn(
        &self,
        max_concurrent_polls: usize,
        shutdown: watch::Receiver<bool>,
    ) -> Vec<JoinHandle<()>> {
        let semaphore = Arc::new(Semaphore::new(max_concurrent_polls));
        let (state_io, state_task) = StateIo::spawn(self.store.clone());
        let mut handles = Vec::with_capacity(self.adapters.len() + 2);
        for (i, adapter) in self.adapters.iter().enumerate() {
            let ctx = PollContext {
                index: i,
                fleet: self.fleet.clone(),
                adapter: adapter.clone(),
                history: self.history.clone(),
                store: self.store.clone(),
                semaphore: semaphore.clone(),
                chain_best: self.chain_best.clone(),
                membership: self.membership.clone(),
                state_io: state_io.clone(),
            };
            let saved = self.saved.get(i).cloned().unwrap_or_default();
            let name = format!("poll:{}", self.fleet.lock(i).config.name);
            let stop = shutdown.clone();
            // A restarted loop resumes from the state it last saved to the store.
            let store = self.store.clone();
            let mut first = Some(saved);
            handles.push(spawn_supervised(name, move || {
                let (ctx, stop, store) = (ctx.clone(), stop.clone(), store.clone());
                let saved = first.take();
                async move {
                    let saved = match saved {
                        Some(s) => s,
                        None => {
                            let node = ctx.fleet.lock(ctx.index).config.name.clone();
                            load_saved(&store, &node).await
                        }
                    };
                    poll_loop(ctx, saved, stop).await;
                }
            }));
        }
        let (fleet, best, stop, history, membership) = (
            self.fleet.clone(),
            self.chain_best.clone(),
            shutdown.clone(),
            self.history.clone(),
            self.membership.clone(),
        );
        // Each second: the chains' best heights, and whether each chain has its quorum
        // (recorded as `chain_quorum`, whose averages are the status page's uptime).
        handles.push(spawn_supervised("chain-best", move || {
            let (fleet, best, mut stop, history, membership) = (
                fleet.clone(),
                best.clone(),
                stop.clone(),
                history.clone(),
                membership.clone(),
            );
            async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                loop {
                    tokio::select! {
                        _ = tick.tick() => {
                            let fresh = fleet.best_heights();
                            let now = now_ms();
                            // Chain series are the leader's (one writer per series).
                            let quorum = if membership.is_leader() {
                                fleet.quorum(&fresh, now)
                            } else {
                                Vec::new()
                            };
                            for (chain, up) in quorum {
                                history.record(
                                    &crate::history::chain_series(&chain),
                                    now,
                                    &[("chain_quorum", f64::from(u8::from(up)))],
                                );
                            }
                            *best.write().unwrap_or_else(|p| p.into_inner()) = fresh;
                        }
                        _ = stop.changed() => return,
                    }
                }
            }
        }));
        let history = self.history.clone();
        // The state task ends after the poll loops (it holds no sender itself).
        handles.push(state_task);
        handles.push(spawn_supervised("history", move || {
            let (history, stop) = (history.clone(), shutdown.clone());
            async move { history.run(stop).await }
        }));
        handles
    }
}

#[derive(Clone)]
struct PollContext {
    index: usize,
    fleet: Arc<Fleet>,
    adapter: Arc<dyn ChainAdapter>,
    history: Arc<History>,
    store: Store,
    semaphore: Arc<Semaphore>,
    chain_best: ChainBest,
    membership: Arc<crate::cluster::Membership>,
    state_io: StateIo,
}

impl PollContext {
    async fn save(&self, node: &str, tracker: &NodeTracker) {
        self.state_io.save(node, tracker.to_saved()).await;
    }

    async fn load(&self, node: &str) -> SavedTracker {
        self.state_io.load(node).await
    }
}

/// A node's poll loop. In a cluster it polls only while this member owns the node: on
/// losing it the tracker state is saved for the next owner; on (re)gaining it the state
/// is loaded from the store, where the previous owner left it.
async fn poll_loop(ctx: PollContext, saved: SavedTracker, mut shutdown: watch::Receiver<bool>) {
    let cfg = ctx.fleet.lock(ctx.index).config.clone();
    let mut tracker = NodeTracker::new(saved, cfg.chain_id.clone());
    let jitter = Duration::from_millis(
        rand::rng().random_range(0..cfg.poll_interval.as_millis().max(1) as u64),
    );
    let mut tick =
        tokio::time::interval_at(tokio::time::Instant::now() + jitter, cfg.poll_interval);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let hard_timeout = cfg.timeout * 2 + Duration::from_secs(1);
    let mut last_save = Instant::now();
    let mut changes = ctx.membership.changes();
    let mut owned = ctx.membership.owns(&cfg.name);
    loop {
        if !ctx.membership.owns(&cfg.name) {
            if owned {
                ctx.save(&cfg.name, &tracker).await;
                tracing::info!(node = %cfg.name, "another cluster member polls this node now");
                tracker = NodeTracker::new(SavedTracker::default(), cfg.chain_id.clone());
            }
            owned = false;
            {
                let mut view = ctx.fleet.lock(ctx.index);
                if view.remote.is_none() {
                    view.remote = Some(crate::fleet::RemoteView {
                        member: None,
                        rpc_errors_total: 0,
                    });
                }
            }
            tokio::select! {
                _ = changes.changed() => continue,
                _ = shutdown.changed() => return,
            }
        }
        if !owned {
            owned = true;
            tracker = NodeTracker::new(ctx.load(&cfg.name).await, cfg.chain_id.clone());
            ctx.fleet.lock(ctx.index).remote = None;
            tick.reset_immediately();
            tracing::info!(node = %cfg.name, "this cluster member polls the node now");
        }
        tokio::select! {
            _ = tick.tick() => {}
            _ = changes.changed() => continue,
            _ = shutdown.changed() => break,
        }
        let Ok(_permit) = ctx.semaphore.acquire().await else {
            break;
        };
        let now = now_ms();
        let started = Instant::now();
        let mut log = Vec::new();
        let polled = match tokio::time::timeout(hard_timeout, ctx.adapter.poll(&mut log)).await {
            Ok(r) => r,
            Err(_) => Err(ChainError::Timeout(hard_timeout.as_millis() as u64)),
        };
        let elapsed = started.elapsed().as_secs_f64();
        let result = match polled {
            Ok(snap) => {
                let obs = match tracker
                    .observe(&snap, ctx.adapter.as_ref(), &mut log, now)
                    .await
                {
                    Ok(obs) => obs,
                    Err(e) => {
                        tracing::warn!(node = %cfg.name, error = %e, "cannot walk back to check for a reorg; retrying next poll");
                        Observation::default()
                    }
                };
                Ok((snap, obs))
            }
            Err(e) => Err(e),
        };
        drop(_permit);
        let best = ctx
            .chain_best
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&cfg.chain)
            .copied();
        let obs = apply(&ctx, &cfg, &tracker, result, &log, now, elapsed, best);
        if let Some(obs) = obs {
            record_events(&ctx.store, &cfg, &obs, now).await;
            if obs.state_changed || last_save.elapsed() >= SAVE_STATE_EVERY {
                // Not awaited: a slow or unreachable store must not hold up the next poll.
                ctx.state_io.save_soon(&cfg.name, tracker.to_saved());
                last_save = Instant::now();
            }
        }
    }
    if owned {
        ctx.save(&cfg.name, &tracker).await;
    }
}

/// Updates the fleet view and history with one poll's result. Returns the observation on success.
#[allow(clippy::too_many_arguments)]
fn apply(
    ctx: &PollContext,
    cfg: &NodeConfig,
    tracker: &NodeTracker,
    result: Result<(NodeSnapshot, Observation), ChainError>,
    log: &[RpcCall],
    now: i64,
    elapsed: f64,
    best: Option<u64>,
) -> Option<Observation> {
    let mut samples: Vec<(&'static str, f64)> = Vec::with_capacity(METRICS.len());
    // The disk is measured once per poll, before the view is locked (statvfs is I/O).
    let disk = cfg.data_dir.as_deref().and_then(crate::disk::usage);
    let mut view = ctx.fleet.lock(ctx.index);
    view.polled = true;
    view.last_poll_ms = Some(now);
    view.record_rpc(log);
    let was_up = view.up;
    let out = match result {
        Ok((snap, obs)) => {
            if !was_up {
                tracing::info!(node = %cfg.name, "node is up");
            }
            view.up = true;
            view.last_success_ms = Some(now);
            view.last_error = None;
            view.poll_seconds = Some(elapsed);
            view.tracker = tracker.state.clone();
            if let Some(dt) = obs.block_interval {
                for _ in 0..obs.new_blocks.clamp(1, 64) {
                    view.block_intervals.observe(dt);
                }
                view.last_block_interval = Some(dt);
                samples.push(("block_interval_seconds", dt));
            }
            if let Some(tps) = obs.tx_per_second {
                view.tx_per_second = Some(tps);
                samples.push(("tx_per_second", tps));
            }
            samples.push(("up", 1.0));
            samples.push(("rpc_latency_seconds", elapsed));
            samples.extend(method_latencies(log));
            if let Some(h) = &snap.head {
                samples.push(("height", h.number as f64));
                samples.push((
                    "head_age_seconds",
                    ((now - h.timestamp * 1000) as f64 / 1000.0).max(0.0),
                ));
                if let Some(b) = best {
                    samples.push(("blocks_behind", b.saturating_sub(h.number) as f64));
                }
            }
            let opt = [
                ("peers", snap.peers.map(|v| v as f64)),
                ("txpool_pending", snap.txpool.map(|t| t.pending as f64)),
                ("txpool_queued", snap.txpool.map(|t| t.queued as f64)),
                ("gas_price_wei", snap.gas_price_wei.map(|v| v as f64)),
                ("base_fee_wei", snap.base_fee_wei.map(|v| v as f64)),
                ("gas_used_ratio", gas_used_ratio(&snap)),
            ];
            samples.extend(opt.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
            view.snapshot = Some(snap);
            Some(obs)
        }
        Err(e) => {
            let message = e.to_string();
            // Log each distinct failure once, not every poll.
            if was_up || view.last_error.as_deref() != Some(message.as_str()) {
                tracing::warn!(node = %cfg.name, error = %e, failed_calls = failed_calls(log), "poll failed; node is down");
            }
            view.up = false;
            view.last_error = Some(message);
            samples.push(("up", 0.0));
            None
        }
    };
    // Derived gauges: what the status page, the console and the forecasting rules read.
    samples.push(("status", view.status(best, now).code()));
    let derived = [
        (
            "syncing",
            view.snapshot
                .as_ref()
                .and_then(|s| s.sync.as_ref())
                .map(|s| f64::from(u8::from(s.syncing))),
        ),
        ("finality_lag_seconds", view.finality_lag_seconds()),
        ("datadir_free_bytes", disk.map(|d| d.free_bytes as f64)),
        ("datadir_used_ratio", disk.map(|d| d.used_ratio())),
        (
            "mempool_bytes",
            view.snapshot
                .as_ref()
                .and_then(|s| s.mempool_bytes)
                .map(|b| b as f64),
        ),
        (
            "difficulty",
            view.snapshot.as_ref().and_then(|s| s.difficulty),
        ),
        (
            "chain_db_bytes",
            view.snapshot
                .as_ref()
                .and_then(|s| s.chain_db_bytes)
                .map(|b| b as f64),
        ),
    ];
    // A node that is down reports nothing new; only its disk is still measured.
    let up = view.up;
    samples.extend(
        derived
            .into_iter()
            .filter(|(k, _)| up || k.starts_with("datadir_"))
            .filter_map(|(k, v)| v.map(|v| (k, v))),
    );
    drop(view);
    ctx.history.record(&cfg.name, now, &samples);
    out
}

async fn record_events(store: &Store, cfg: &NodeConfig, obs: &Observation, now: i64) {
    let mut events = Vec::new();
    if let Some(r) = &obs.reorg {
        tracing::warn!(node = %cfg.name, depth = r.depth, fork_height = r.fork_height, old_head = r.old_head, new_head = r.new_head, "reorg detected");
        events.push(("reorg", serde_json::to_value(r).unwrap_or_default()));
    }
    if let Some((old, new)) = obs.chain_reset {
        tracing::warn!(node = %cfg.name, old_head = old, new_head = new, "node is on a different chain now (no common block with what we saw)");
        events.push(("chain_reset", json!({"old_head": old, "new_head": new})));
    }
    if let Some((old, new)) = &obs.version_change {
        tracing::info!(node = %cfg.name, old = %old, new = %new, "client version changed");
        events.push(("client_version_changed", json!({"old": old, "new": new})));
    }
    if let Some((expected, actual)) = &obs.chain_id_mismatch {
        tracing::error!(node = %cfg.name, expected = %expected, actual = %actual, "chain id does not match the config");
        events.push((
            "chain_id_mismatch",
            json!({"expected": expected, "actual": actual}),
        ));
    }
    for (kind, detail) in events {
        let ev = NodeEvent {
            node: cfg.name.clone(),
            chain: cfg.chain.clone(),
            at_ms: now,
            kind: kind.into(),
            detail,
        };
        if let Err(e) = store.record_event(&ev).await {
            tracing::warn!(node = %cfg.name, kind, error = %e, "cannot record node event");
        }
    }
}

/// The mean round-trip seconds of each method's answered calls in one poll, as per-method
/// series (`rpc_method_latency_seconds:<method>`).
fn method_latencies(log: &[RpcCall]) -> Vec<(&'static str, f64)> {
    let mut by_method: Vec<(&'static str, f64, u32)> = Vec::new();
    for c in log.iter().filter(|c| c.outcome == RpcOutcome::Ok) {
        let secs = c.duration.as_secs_f64();
        match by_method.iter_mut().find(|(m, _, _)| *m == c.method) {
            Some((_, sum, n)) => {
                *sum += secs;
                *n += 1;
            }
            None => by_method.push((c.method, secs, 1)),
        }
    }
    by_method
        .into_iter()
        .filter_map(|(m, sum, n)| {
            crate::history::rpc_method_metric(m).map(|name| (name, sum / f64::from(n)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_latencies_average_answered_calls_per_method() {
        let call = |method, ms, outcome| RpcCall {
            method,
            duration: Duration::from_millis(ms),
            outcome,
        };
        let log = [
            call("eth_blockNumber", 10, RpcOutcome::Ok),
            call("eth_blockNumber", 30, RpcOutcome::Ok),
            call("eth_getBlockByNumber", 50, RpcOutcome::Ok),
            call("net_peerCount", 900, RpcOutcome::Timeout),
            call("bad name", 5, RpcOutcome::Ok),
        ];
        let got = method_latencies(&log);
        assert_eq!(
            got,
            vec![
                ("rpc_method_latency_seconds:eth_blockNumber", 0.02),
                ("rpc_method_latency_seconds:eth_getBlockByNumber", 0.05),
            ],
            "failed calls and impossible names are left out"
        );
    }
}
