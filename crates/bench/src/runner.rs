//! Runs the rounds of a plan: prepares and pre-signs, sends on schedule, tracks inclusion
//! block by block, samples the node and itself every second, and builds the report.

use crate::analysis;
use crate::config::{RateControl, RoundLimit, RoundSpec, WorkloadSpec};
use crate::report::{
    BlockSample, ErrorCount, ProcessStats, Report, RoundReport, SecondSample, Settings, StepReport,
    TargetInfo,
};
use crate::stats::Latency;
use crate::target::{ChainView, Prepared, TxId};
use crate::{BenchError, proc_stat};
use chainops_core::ports::RpcLog;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, watch};

pub use crate::options::RunOptions;

/// Receives progress; the CLI draws a bar or logs.
pub trait Progress: Send + Sync {
    /// A preparation step.
    fn phase(&self, message: &str);
    /// One second of a round.
    fn tick(&self, round: &str, sample: &SecondSample, planned: Option<u64>);
    /// A round ended.
    fn round_done(&self, round: &RoundReport);
}

/// Makes the requests a run sends (signing, or building reads).
#[async_trait::async_trait]
pub trait Source: Send {
    /// Prepares `n` more requests, continuing where the last call stopped (nonces, UTXOs).
    async fn produce(&mut self, n: usize) -> Result<Vec<Prepared>, BenchError>;
    /// Included transactions may revert (check receipts).
    fn may_revert(&self) -> bool;
}

/// Prepared requests waiting to be sent; unsent ones carry over to the next round.
struct Queue {
    source: Box<dyn Source>,
    items: VecDeque<Prepared>,
}

impl Queue {
    /// Prepares until at least `n` requests wait.
    async fn fill(&mut self, n: usize) -> Result<(), BenchError> {
        let missing = n.saturating_sub(self.items.len());
        if missing > 0 {
            let more = self.source.produce(missing).await?;
            self.items.extend(more);
        }
        Ok(())
    }

    fn pop(&mut self, n: usize) -> Vec<Prepared> {
        let n = n.min(self.items.len());
        self.items.drain(..n).collect()
    }

    fn len(&self) -> usize {
        self.items.len()
    }
}

/// The chain connection of a run.
pub struct Session {
    /// Read side.
    pub view: Arc<dyn ChainView>,
    /// Request source.
    pub source: Box<dyn Source>,
    /// What the report says about the target.
    pub target: TargetInfo,
    /// Background work for the run's length (e.g. the regtest miner); aborted at the end.
    pub background: Vec<tokio::task::JoinHandle<()>>,
}

/// Runs every round against a prepared session.
pub async fn run(
    session: Session,
    opts: &RunOptions,
    progress: Arc<dyn Progress>,
) -> Result<Report, BenchError> {
    let Session {
        view,
        source,
        target,
        background,
    } = session;
    let mut queue = Queue {
        source,
        items: VecDeque::new(),
    };
    let started_at = chainops_core::time::rfc3339(chainops_core::time::now_ms());
    let mut rounds = Vec::new();
    let mut total = Latency::new();
    for spec in &opts.rounds {
        let r = match &spec.rate {
            RateControl::MaxRate {
                start_tps,
                step_tps,
                max_tps,
            } => {
                let RoundLimit::Duration(step) = spec.limit else {
                    return Err(BenchError::Input(
                        "max-rate rounds need a duration per step".into(),
                    ));
                };
                max_rate(
                    &view, &mut queue, opts, &progress, spec, *start_tps, *step_tps, *max_tps, step,
                )
                .await?
            }
            _ => run_round(&view, &mut queue, opts, &progress, spec, opts.drain_timeout).await?,
        };
        let (r, hist) = r;
        total.merge(&hist);
        progress.round_done(&r);
        rounds.push(r);
    }
    for h in background {
        h.abort();
    }
    Ok(assemble(started_at, target, opts, rounds, &total))
}

#[allow(clippy::too_many_arguments)]
async fn max_rate(
    view: &Arc<dyn ChainView>,
    queue: &mut Queue,
    opts: &RunOptions,
    progress: &Arc<dyn Progress>,
    spec: &RoundSpec,
    start: f64,
    step: f64,
    max: f64,
    step_len: Duration,
) -> Result<(RoundReport, Latency), BenchError> {
    let mut steps = Vec::new();
    let mut all = Latency::new();
    let mut best: Option<f64> = None;
    let mut tps = start;
    let drain = opts.drain_timeout.min(Duration::from_secs(15));
    loop {
        let step_spec = RoundSpec {
            label: format!("{} @ {tps:.0} tx/s", spec.label),
            rate: RateControl::FixedRate { tps },
            limit: RoundLimit::Duration(step_len),
        };
        let (mut r, hist) = run_round(view, queue, opts, progress, &step_spec, drain).await?;
        all.merge(&hist);
        // Kept up: everything included, ≤ 1 % refused, the waiting transactions did not
        // grow while sending (by more than 3 % of the rate: a chain short of the offered
        // rate piles up the excess every second), and at most two blocks' worth waited
        // when sending stopped.
        let interval = analysis::median_interval(&r.blocks).unwrap_or(1.0);
        let sustained = r.unconfirmed == 0
            && r.rejected * 100 <= r.submitted
            && r.submitted > 0
            && analysis::backlog_growth(&r) <= 0.03 * tps
            && (r.outstanding_at_send_end as f64) <= 2.0 * tps * interval;
        steps.push(StepReport {
            tps,
            submitted: r.submitted,
            confirmed: r.confirmed,
            throughput: r.throughput,
            p95: r.latency.p95,
            sustained,
        });
        if sustained {
            best = Some(tps);
        }
        let next = tps + step;
        if !sustained || next > max + 1e-9 {
            r.label = spec.label.clone();
            r.rate_control = spec.rate.clone();
            r.steps = steps;
            r.max_sustained_tps = best;
            return Ok((r, all));
        }
        tps = next;
    }
}

/// Live state of a round, shared by the send, response, tracker and sampler tasks.
struct State {
    pending: HashMap<TxId, f64>,
    submitted: u64,
    confirmed: u64,
    rejected: u64,
    reverted: u64,
    read_failed: u64,
    first_submit: Option<f64>,
    last_submit: f64,
    last_confirm: f64,
    latency: Latency,
    confirmation_latency: Latency,
    waiting_confirmations: VecDeque<(u64, Vec<f64>)>,
    errors: BTreeMap<String, u64>,
    blocks: Vec<BlockSample>,
    second_latency: (f64, u64),
    head: u64,
}

impl State {
    fn new(head: u64) -> Self {
        Self {
            pending: HashMap::new(),
            submitted: 0,
            confirmed: 0,
            rejected: 0,
            reverted: 0,
            read_failed: 0,
            first_submit: None,
            last_submit: 0.0,
            last_confirm: 0.0,
            latency: Latency::new(),
            confirmation_latency: Latency::new(),
            waiting_confirmations: VecDeque::new(),
            errors: BTreeMap::new(),
            blocks: Vec::new(),
            second_latency: (0.0, 0),
            head,
        }
    }

    fn failed(&self) -> u64 {
        self.rejected + self.reverted + self.read_failed
    }

    fn outstanding(&self) -> u64 {
        self.pending.len() as u64
    }

    fn error(&mut self, message: &str, n: u64) {
        let mut m: String = message.chars().take(160).collect();
        if m.is_empty() {
            m = "unknown error".into();
        }
        *self.errors.entry(m).or_default() += n;
    }

    fn confirm(&mut self, latency: f64, now: f64) {
        self.confirmed += 1;
        self.last_confirm = now;
        self.latency.record(latency);
        self.second_latency.0 += latency;
        self.second_latency.1 += 1;
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

struct Clock(Instant);

impl Clock {
    fn now(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}

/// Transactions the rate control wants sent by `t` (seconds into the round).
fn scheduled(rate: &RateControl, t: f64, round_len: f64, sent: u64, outstanding: u64) -> u64 {
    match rate {
        RateControl::FixedBacklog { unconfirmed } => {
            sent + u64::from(*unconfirmed).saturating_sub(outstanding)
        }
        other => other.scheduled_by(t, round_len).unwrap_or(0.0) as u64,
    }
}

/// Expected length of a round (the ramp's slope needs it for count-bound rounds).
fn expected_len(rate: &RateControl, limit: RoundLimit) -> f64 {
    match (limit, rate) {
        (RoundLimit::Duration(d), _) => d.as_secs_f64(),
        (_, RateControl::Composite { phases }) => phases.iter().map(|p| p.seconds).sum(),
        (RoundLimit::Count(n), RateControl::FixedRate { tps }) => n as f64 / tps,
        (RoundLimit::Count(n), RateControl::LinearRamp { start_tps, end_tps }) => {
            2.0 * n as f64 / (start_tps + end_tps)
        }
        (RoundLimit::Count(_), _) => f64::INFINITY,
    }
}

/// Requests to prepare before a round starts.
pub fn budget(rate: &RateControl, limit: RoundLimit) -> usize {
    match limit {
        RoundLimit::Count(n) => n as usize,
        RoundLimit::Duration(d) => {
            let s = d.as_secs_f64();
            let n = match rate {
                RateControl::FixedBacklog { unconfirmed } => f64::from(*unconfirmed) * 2.0,
                other => other.scheduled_by(s, s).unwrap_or(0.0),
            };
            n.ceil() as usize + 1
        }
    }
}

async fn run_round(
    view: &Arc<dyn ChainView>,
    queue: &mut Queue,
    opts: &RunOptions,
    progress: &Arc<dyn Progress>,
    spec: &RoundSpec,
    drain_timeout: Duration,
) -> Result<(RoundReport, Latency), BenchError> {
    let planned = budget(&spec.rate, spec.limit);
    progress.phase(&format!("{}: preparing {planned} requests", spec.label));
    queue.fill(planned).await?;
    let head = view
        .head()
        .await
        .map_err(|e| BenchError::node("reading the head", e))?;
    let state = Arc::new(Mutex::new(State::new(head)));
    let clock = Arc::new(Clock(Instant::now()));
    let (stop_tx, stop_rx) = watch::channel(false);
    let receipts = queue.source.may_revert();
    let confirmations = u64::from(opts.confirmations.max(1));
    let tracker = tokio::spawn(track(
        view.clone(),
        state.clone(),
        clock.clone(),
        stop_rx.clone(),
        receipts,
        confirmations,
    ));
    let planned_count = match spec.limit {
        RoundLimit::Count(n) => Some(n),
        RoundLimit::Duration(_) => None,
    };
    let sampler = tokio::spawn(sample(
        view.clone(),
        state.clone(),
        clock.clone(),
        stop_rx.clone(),
        opts.node_pid,
        progress.clone(),
        spec.label.clone(),
        planned_count,
    ));

    let send = send_loop(view, queue, opts, spec, &state, &clock).await;
    let send_end = clock.now();
    let outstanding_at_send_end = lock(&state).outstanding();
    // Drain: wait for outstanding transactions, bounded.
    loop {
        let outstanding = lock(&state).outstanding();
        if outstanding == 0 || clock.now() - send_end >= drain_timeout.as_secs_f64() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // One more look at the chain so a block mined just now counts.
    let _ = stop_tx.send(true);
    let _ = tracker.await;
    let series = sampler.await.unwrap_or_default();
    let (behind, busy_ratio) = send?;
    let duration = clock.now();
    let st = lock(&state);
    let mut report = round_report(spec, &st, series, duration, behind, busy_ratio);
    report.outstanding_at_send_end = outstanding_at_send_end;
    report.bottleneck = analysis::analyze(&report, opts, drain_timeout);
    Ok((report, st.latency.clone()))
}

/// Sends on schedule; returns (most transactions behind schedule, share of busy ticks).
async fn send_loop(
    view: &Arc<dyn ChainView>,
    queue: &mut Queue,
    opts: &RunOptions,
    spec: &RoundSpec,
    state: &Arc<Mutex<State>>,
    clock: &Arc<Clock>,
) -> Result<(u64, f64), BenchError> {
    let slots = Arc::new(Semaphore::new(opts.concurrency.max(1) as usize));
    let round_len = expected_len(&spec.rate, spec.limit);
    let (limit_count, limit_time) = match spec.limit {
        RoundLimit::Count(n) => (n, f64::INFINITY),
        RoundLimit::Duration(d) => (u64::MAX, d.as_secs_f64()),
    };
    let batch_size = opts.batch_size.max(1) as u64;
    let refill = budget(&spec.rate, RoundLimit::Duration(Duration::from_secs(1))).max(100);
    let mut sent = 0u64;
    let mut behind_max = 0u64;
    let (mut ticks, mut busy_ticks) = (0u64, 0u64);
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let t = clock.now();
        if sent >= limit_count || t >= limit_time {
            break;
        }
        let outstanding = lock(state).outstanding();
        let want = scheduled(&spec.rate, t, round_len, sent, outstanding).min(limit_count);
        let mut due = want.saturating_sub(sent);
        behind_max = behind_max.max(due.saturating_sub(batch_size * u64::from(opts.concurrency)));
        ticks += 1;
        while due > 0 {
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                busy_ticks += 1;
                break;
            };
            let n = due.min(batch_size) as usize;
            if queue.len() < n {
                queue.fill(n.max(refill)).await?;
            }
            let batch = queue.pop(n);
            if batch.is_empty() {
                drop(permit);
                break;
            }
            let now = clock.now();
            {
                let mut st = lock(state);
                for p in &batch {
                    if let Some(id) = p.id {
                        st.pending.insert(id, now);
                    }
                }
                st.submitted += batch.len() as u64;
                st.first_submit.get_or_insert(now);
                st.last_submit = now;
            }
            sent += batch.len() as u64;
            due = due.saturating_sub(batch.len() as u64);
            let rpc = view.rpc().clone();
            let state = state.clone();
            let clock = clock.clone();
            tokio::spawn(async move {
                submit(rpc, batch, now, state, clock).await;
                drop(permit);
            });
        }
        if queue.len() == 0 && matches!(spec.limit, RoundLimit::Count(_)) && sent < limit_count {
            queue.fill(refill).await?;
        }
    }
    // Wait for every answer.
    let _all = slots
        .acquire_many(opts.concurrency.max(1))
        .await
        .map_err(|e| BenchError::Input(e.to_string()))?;
    Ok((
        behind_max,
        if ticks == 0 {
            0.0
        } else {
            busy_ticks as f64 / ticks as f64
        },
    ))
}

async fn submit(
    rpc: chainops_chain::rpc::JsonRpcClient,
    batch: Vec<Prepared>,
    sent_at: f64,
    state: Arc<Mutex<State>>,
    clock: Arc<Clock>,
) {
    let ids: Vec<Option<TxId>> = batch.iter().map(|p| p.id).collect();
    let calls: Vec<_> = batch.into_iter().map(|p| p.call).collect();
    let mut log = RpcLog::default();
    let answers = rpc.batch(&calls, &mut log).await;
    let now = clock.now();
    let mut st = lock(&state);
    match answers {
        Err(e) => {
            // Transactions may still land: they stay pending; reads failed.
            let reads = ids.iter().filter(|i| i.is_none()).count() as u64;
            st.read_failed += reads;
            st.error(&format!("request failed: {e}"), ids.len() as u64);
        }
        Ok(answers) => {
            for (id, a) in ids.into_iter().zip(answers) {
                match (id, a) {
                    (None, Ok(_)) => st.confirm(now - sent_at, now),
                    (None, Err(e)) => {
                        st.read_failed += 1;
                        st.error(&e.message, 1);
                    }
                    (Some(_), Ok(_)) => {}
                    (Some(id), Err(e)) => {
                        if st.pending.remove(&id).is_some() {
                            st.rejected += 1;
                        }
                        st.error(&e.message, 1);
                    }
                }
            }
        }
    }
}

async fn track(
    view: Arc<dyn ChainView>,
    state: Arc<Mutex<State>>,
    clock: Arc<Clock>,
    mut stop: watch::Receiver<bool>,
    receipts: bool,
    confirmations: u64,
) {
    let mut last = lock(&state).head;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut stopping = false;
    loop {
        if !stopping {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => stopping = true,
            }
        }
        if let Ok(head) = view.head().await
            && head > last
        {
            let to = head.min(last + 20);
            if let Ok(blocks) = view.blocks(last + 1, to, receipts).await {
                let now = clock.now();
                let mut st = lock(&state);
                st.head = to;
                for b in blocks {
                    absorb(&mut st, b, now, confirmations);
                }
                last = to;
                if to < head {
                    continue;
                }
            }
        }
        if stopping {
            return;
        }
    }
}

fn absorb(st: &mut State, b: crate::target::Block, now: f64, confirmations: u64) {
    let mut ours = 0u64;
    let mut submits = Vec::new();
    for id in &b.txs {
        if let Some(at) = st.pending.remove(id) {
            ours += 1;
            if b.reverted.contains(id) {
                st.reverted += 1;
                st.error("transaction reverted", 1);
            } else {
                st.confirm(now - at, now);
                submits.push(at);
            }
        }
    }
    if confirmations <= 1 {
        for at in &submits {
            st.confirmation_latency.record(now - at);
        }
    } else if !submits.is_empty() {
        st.waiting_confirmations.push_back((b.number, submits));
    }
    while let Some((n, _)) = st.waiting_confirmations.front() {
        if b.number + 1 < n + confirmations {
            break;
        }
        if let Some((_, list)) = st.waiting_confirmations.pop_front() {
            for at in list {
                st.confirmation_latency.record(now - at);
            }
        }
    }
    let fullness = match (b.gas_used, b.gas_limit) {
        (Some(u), Some(l)) if l > 0 => Some(u as f64 / l as f64),
        _ => None,
    };
    st.blocks.push(BlockSample {
        number: b.number,
        seen_s: now,
        timestamp: b.timestamp,
        txs: b.txs.len() as u64,
        ours,
        fullness,
        base_fee_gwei: b.base_fee.map(|f| f as f64 / 1e9),
    });
}

#[allow(clippy::too_many_arguments)]
async fn sample(
    view: Arc<dyn ChainView>,
    state: Arc<Mutex<State>>,
    clock: Arc<Clock>,
    mut stop: watch::Receiver<bool>,
    node_pid: Option<u32>,
    progress: Arc<dyn Progress>,
    label: String,
    planned: Option<u64>,
) -> Vec<SecondSample> {
    let mut series = Vec::new();
    let mut prev_self = proc_stat::sample(None);
    let mut prev_node = node_pid.and_then(|p| proc_stat::sample(Some(p)));
    let mut prev_t = clock.now();
    let mut prev_confirmed = 0u64;
    let mut pool_supported = true;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            _ = stop.changed() => true,
        };
        let pool = if pool_supported {
            let p = view.pool_depth().await;
            pool_supported = p.is_some();
            p
        } else {
            None
        };
        let t = clock.now();
        let dt = (t - prev_t).max(1e-3);
        let cur_self = proc_stat::sample(None);
        let generator_cpu = match (prev_self, cur_self) {
            (Some(a), Some(b)) => (b.cpu_seconds - a.cpu_seconds) / dt,
            _ => 0.0,
        };
        let cur_node = node_pid.and_then(|p| proc_stat::sample(Some(p)));
        let node_cpu = match (prev_node, cur_node) {
            (Some(a), Some(b)) => Some((b.cpu_seconds - a.cpu_seconds) / dt),
            _ => None,
        };
        let s = {
            let mut st = lock(&state);
            let (sum, n) = std::mem::take(&mut st.second_latency);
            let s = SecondSample {
                t,
                submitted: st.submitted,
                confirmed: st.confirmed,
                failed: st.failed(),
                tps: (st.confirmed - prev_confirmed) as f64 / dt,
                latency_avg: (n > 0).then(|| sum / n as f64),
                outstanding: st.outstanding(),
                pool,
                node_cpu,
                node_rss: cur_node.map(|n| n.rss_bytes),
                generator_cpu,
            };
            prev_confirmed = st.confirmed;
            s
        };
        progress.tick(&label, &s, planned);
        series.push(s);
        prev_self = cur_self;
        prev_node = cur_node;
        prev_t = t;
        if stopping {
            return series;
        }
    }
}

fn process_stats(values: impl Iterator<Item = (f64, Option<u64>)>) -> Option<ProcessStats> {
    let v: Vec<(f64, Option<u64>)> = values.collect();
    if v.is_empty() {
        return None;
    }
    Some(ProcessStats {
        cpu_avg: v.iter().map(|x| x.0).sum::<f64>() / v.len() as f64,
        cpu_max: v.iter().map(|x| x.0).fold(0.0, f64::max),
        rss_max_bytes: v.iter().filter_map(|x| x.1).max().unwrap_or(0),
    })
}

fn round_report(
    spec: &RoundSpec,
    st: &State,
    series: Vec<SecondSample>,
    duration: f64,
    behind: u64,
    busy_ratio: f64,
) -> RoundReport {
    let unconfirmed = st.outstanding();
    let failed = st.failed() + unconfirmed;
    let first = st.first_submit.unwrap_or(0.0);
    let send_span = (st.last_submit - first).max(1e-3);
    let confirm_span = (st.last_confirm - first).max(1e-3);
    let offered_tps = match &spec.rate {
        RateControl::MaxRate { .. } | RateControl::FixedBacklog { .. } => None,
        rate => rate.mean_tps(expected_len(rate, spec.limit)),
    };
    let self_cpu = process_stats(series.iter().map(|s| (s.generator_cpu, None)));
    let mut generator = self_cpu.unwrap_or_default();
    generator.rss_max_bytes = proc_stat::sample(None).map_or(0, |s| s.rss_bytes);
    let node_process = process_stats(
        series
            .iter()
            .filter_map(|s| s.node_cpu.map(|c| (c, s.node_rss))),
    );
    let mut errors: Vec<ErrorCount> = st
        .errors
        .iter()
        .map(|(m, c)| ErrorCount {
            message: m.clone(),
            count: *c,
        })
        .collect();
    errors.sort_by_key(|e| std::cmp::Reverse(e.count));
    if unconfirmed > 0 {
        errors.push(ErrorCount {
            message: "not included before the round ended".into(),
            count: unconfirmed,
        });
    }
    RoundReport {
        label: spec.label.clone(),
        rate_control: spec.rate.clone(),
        offered_tps,
        behind_schedule_max: behind,
        slots_busy_ratio: busy_ratio,
        outstanding_at_send_end: 0,
        submitted: st.submitted,
        confirmed: st.confirmed,
        failed,
        rejected: st.rejected,
        reverted: st.reverted,
        unconfirmed,
        success_rate: ratio(st.confirmed, st.submitted),
        send_rate: if st.submitted > 1 {
            st.submitted as f64 / send_span
        } else {
            st.submitted as f64
        },
        throughput: if st.confirmed > 0 {
            st.confirmed as f64 / confirm_span
        } else {
            0.0
        },
        duration_s: duration,
        first_submit_s: first,
        last_submit_s: st.last_submit,
        last_confirm_s: st.last_confirm,
        latency: st.latency.stats(),
        confirmation_latency: st.confirmation_latency.stats(),
        distribution: st.latency.distribution(40),
        series,
        blocks: st.blocks.clone(),
        errors,
        node_process,
        generator,
        steps: Vec::new(),
        max_sustained_tps: None,
        planned: match spec.limit {
            crate::config::RoundLimit::Count(n) => Some(n),
            crate::config::RoundLimit::Duration(_) => None,
        },
        planned_seconds: match spec.limit {
            crate::config::RoundLimit::Duration(d) => Some(d.as_secs_f64()),
            crate::config::RoundLimit::Count(_) => None,
        },
        bottleneck: Default::default(),
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn assemble(
    started_at: String,
    target: TargetInfo,
    opts: &RunOptions,
    rounds: Vec<RoundReport>,
    total: &Latency,
) -> Report {
    let submitted: u64 = rounds.iter().map(|r| r.submitted).sum();
    let confirmed: u64 = rounds.iter().map(|r| r.confirmed).sum();
    let failed: u64 = rounds.iter().map(|r| r.failed).sum();
    let send_time: f64 = rounds
        .iter()
        .map(|r| (r.last_submit_s - r.first_submit_s).max(0.0))
        .sum();
    let confirm_time: f64 = rounds
        .iter()
        .map(|r| (r.last_confirm_s - r.first_submit_s).max(0.0))
        .sum();
    let latency = total.stats();
    let evm = !matches!(opts.workload, WorkloadSpec::BitcoinTransfer);
    Report {
        version: crate::report::REPORT_VERSION,
        started_at,
        target,
        workload: opts.workload.name().to_string(),
        settings: Settings {
            senders: opts.senders,
            confirmations: opts.confirmations,
            concurrency: opts.concurrency,
            batch_size: opts.batch_size,
            max_fee_gwei: if evm { opts.max_fee_gwei } else { None },
            priority_fee_gwei: evm.then_some(opts.priority_fee_gwei),
            node_pid: opts.node_pid,
        },
        submitted,
        confirmed,
        failed,
        success_rate: ratio(confirmed, submitted),
        send_rate: if send_time > 0.0 {
            submitted as f64 / send_time
        } else {
            0.0
        },
        throughput: if confirm_time > 0.0 {
            confirmed as f64 / confirm_time
        } else {
            0.0
        },
        p50: latency.p50,
        p95: latency.p95,
        p99: latency.p99,
        latency,
        rounds,
    }
}
