//! The evaluation loop: every interval, read the fleet's facts, evaluate every rule on every
//! polled node, apply inhibition, step each alert's state machine and persist transitions
//! with their notifications in one transaction.
//!
//! Restart safety: active alerts (pending with their `active_since`, firing) are loaded from
//! the store at start, so a pending timer continues and a firing alert is not notified twice.

use crate::config::rule_expr::Eval;
use crate::labels::alert_labels;
use crate::lifecycle::{Clock, State, Step, step};
use crate::notify::{Notifier, payload};
use crate::rules::Rule;
use crate::template::fmt_value;
use crate::terms::{Compiled, NodeWindows};
use chainops_core::facts::{FactSource, NodeFacts};
use chainops_store::alerts::{AlertRow, OutboxRow};
use chainops_store::incidents::IncidentUpdate;
use chainops_store::{Store, StoreError};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// Stable identity of an alert: rule and node (`*` for a chain-scoped rule, whose
/// fingerprint also names the chain).
pub fn fingerprint(rule: &str, node: &str) -> String {
    format!("{rule}/{node}")
}

/// Fingerprint of a chain-scoped alert.
pub fn chain_fingerprint(rule: &str, chain: &str) -> String {
    format!("{rule}/{CHAIN_NODE}{chain}")
}

/// Counts of what one evaluation changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EvalReport {
    /// Alerts that started pending.
    pub pending: usize,
    /// Alerts that fired.
    pub fired: usize,
    /// Alerts that resolved.
    pub resolved: usize,
    /// Notifications enqueued.
    pub notifications: usize,
    /// Transitions whose notifications a silence suppressed.
    pub silenced: usize,
}

/// Evaluates rules and owns the alert states.
pub struct AlertEngine {
    rules: Vec<Rule>,
    /// For each rule, the indices of the rules that inhibit it.
    inhibitors: Vec<Vec<usize>>,
    /// For each rule, how long it stays inhibited after its inhibitor last held (ms): the
    /// time its counting windows take to refill ([`crate::terms::refill_time`]).
    refill_ms: Vec<i64>,
    /// By node: when each rule last held (`i64::MIN` if never), for the refill time.
    last_held: HashMap<String, Vec<i64>>,
    notifiers: Vec<Arc<Notifier>>,
    store: Store,
    source: Arc<dyn FactSource>,
    /// Pending and firing alerts by fingerprint.
    active: HashMap<String, AlertRow>,
    /// The rules' terms, compiled.
    compiled: Compiled,
    /// Indices of chain-scoped rules.
    chain_rules: Vec<usize>,
    /// Runbook link by rule name (reminders).
    runbooks: HashMap<String, String>,
    /// Window state by node.
    windows: HashMap<String, NodeWindows>,
    /// When reminders were last checked.
    last_reminders_ms: i64,
    /// When an evaluation last succeeded (read by the heartbeat).
    last_ok_ms: Arc<AtomicI64>,
    /// What `/metrics` shows of the alerting.
    metrics: Option<Arc<crate::metrics::AlertMetrics>>,
}

/// How often at most a firing alert's changing value is written back (the in-memory copy,
/// which reminders use, is current every cycle).
const REFRESH_WRITE_MS: i64 = 10_000;

/// The `node` of a chain-scoped alert (all nodes of the chain).
pub const CHAIN_NODE: &str = "*";

impl AlertEngine {
    /// An engine resuming the active alerts saved in `store`.
    pub async fn new(
        rules: Vec<Rule>,
        notifiers: Vec<Arc<Notifier>>,
        store: Store,
        source: Arc<dyn FactSource>,
    ) -> Result<Self, StoreError> {
        let active = store
            .active_alerts()
            .await?
            .into_iter()
            .map(|a| (a.fingerprint.clone(), a))
            .collect();
        let inhibitors = rules
            .iter()
            .map(|r| {
                r.inhibited_by
                    .iter()
                    .filter_map(|name| rules.iter().position(|x| &x.name == name))
                    .collect()
            })
            .collect();
        let compiled = Compiled::new(&rules);
        let refill_ms = rules
            .iter()
            .map(|r| crate::terms::refill_time(r).as_millis() as i64)
            .collect();
        let chain_rules = (0..rules.len())
            .filter(|&i| rules[i].expr.is_chain_scoped())
            .collect();
        let runbooks = rules
            .iter()
            .filter_map(|r| Some((r.name.clone(), r.runbook_url.clone()?)))
            .collect();
        Ok(Self {
            compiled,
            chain_rules,
            runbooks,
            windows: HashMap::new(),
            refill_ms,
            last_held: HashMap::new(),
            last_reminders_ms: 0,
            last_ok_ms: Arc::default(),
            metrics: None,
            rules,
            inhibitors,
            notifiers,
            store,
            source,
            active,
        })
    }

    /// Evaluates every rule once at `now_ms`.
    pub async fn evaluate(&mut self, now_ms: i64) -> Result<EvalReport, StoreError> {
        let facts = self.source.facts(now_ms);
        let mut report = EvalReport::default();
        let mut seen = HashSet::new();
        let chain_values = self.compiled.chain_values(&facts);
        // Chain-scoped rules: one evaluation per chain, shared by its nodes for inhibition.
        let mut chain_conds: HashMap<&str, Vec<Eval>> = HashMap::new();
        for f in facts.iter().filter(|f| f.polled) {
            if chain_conds.contains_key(f.chain.as_str()) || self.chain_rules.is_empty() {
                continue;
            }
            let cv = chain_values.get(&f.chain);
            let conds = (0..self.rules.len())
                .map(|ri| {
                    if self.rules[ri].expr.is_chain_scoped() {
                        self.compiled.eval(&self.rules[ri], ri, f, &[], cv)
                    } else {
                        Eval::False
                    }
                })
                .collect();
            chain_conds.insert(&f.chain, conds);
        }
        for f in &facts {
            if !f.polled {
                // Not polled yet (e.g. just after a restart): keep its alerts as they are.
                for r in &self.rules {
                    seen.insert(fingerprint(&r.name, &f.node));
                }
                continue;
            }
            // Look up before inserting: no key allocation per node per cycle.
            if !self.windows.contains_key(&f.node) {
                self.windows.insert(f.node.clone(), NodeWindows::default());
            }
            let wv = match self.windows.get_mut(&f.node) {
                Some(windows) => self.compiled.observe(windows, f, now_ms),
                None => Vec::new(),
            };
            let cv = chain_values.get(&f.chain);
            let cc = chain_conds.get(f.chain.as_str());
            let conds: Vec<Eval> = (0..self.rules.len())
                .map(|ri| match cc {
                    Some(c) if self.rules[ri].expr.is_chain_scoped() => c[ri],
                    _ => self.compiled.eval(&self.rules[ri], ri, f, &wv, cv),
                })
                .collect();
            if !self.last_held.contains_key(&f.node) {
                self.last_held
                    .insert(f.node.clone(), vec![i64::MIN; self.rules.len()]);
            }
            if let Some(held) = self.last_held.get_mut(&f.node) {
                for (j, c) in conds.iter().enumerate() {
                    if matches!(c, Eval::True(_)) {
                        held[j] = now_ms;
                    }
                }
            }
            for ri in 0..self.rules.len() {
                if self.rules[ri].expr.is_chain_scoped() {
                    continue;
                }
                let fp = fingerprint(&self.rules[ri].name, &f.node);
                seen.insert(fp.clone());
                let held = self.last_held.get(&f.node);
                let by = self.inhibitors[ri].iter().copied().find(|&j| {
                    matches!(conds[j], Eval::True(_))
                        || held.is_some_and(|h| now_ms.saturating_sub(h[j]) < self.refill_ms[ri])
                });
                // What a resolved notification reports: the value now.
                let firing = self
                    .active
                    .get(&fp)
                    .is_some_and(|a| a.state == State::Firing);
                let current = if firing && conds[ri].value().is_none() {
                    self.compiled
                        .lhs_value(&self.rules[ri], ri, f, &wv, chain_values.get(&f.chain))
                } else {
                    None
                };
                self.apply(ri, f, fp, conds[ri], by, current, now_ms, &mut report)
                    .await?;
            }
        }
        for (chain, conds) in &chain_conds {
            let Some(first) = facts.iter().find(|f| f.chain == *chain) else {
                continue;
            };
            let chain_facts = NodeFacts {
                node: CHAIN_NODE.into(),
                chain: chain.to_string(),
                kind: first.kind,
                polled: true,
                values: Default::default(),
            };
            for ri in self.chain_rules.clone() {
                let fp = chain_fingerprint(&self.rules[ri].name, chain);
                seen.insert(fp.clone());
                self.apply(
                    ri,
                    &chain_facts,
                    fp,
                    conds[ri],
                    None,
                    None,
                    now_ms,
                    &mut report,
                )
                .await?;
            }
        }
        // Alerts of nodes or rules that are gone resolve (or cancel) now.
        let gone: Vec<String> = self
            .active
            .keys()
            .filter(|fp| !seen.contains(*fp))
            .cloned()
            .collect();
        for fp in gone {
            if let Some(mut row) = self.active.remove(&fp) {
                let before = row.clone();
                let written = if row.state == State::Firing {
                    self.transition(&mut row, State::Resolved, None, now_ms, &mut report)
                        .await
                } else {
                    row.state = State::Inactive;
                    row.updated_ms = now_ms;
                    self.store.save_alert(&row, &[], None).await
                };
                if let Err(e) = written {
                    self.active.insert(fp, before);
                    return Err(e);
                }
            }
        }
        if now_ms - self.last_reminders_ms >= crate::reminders::CHECK_EVERY_MS {
            self.last_reminders_ms = now_ms;
            report.notifications += crate::reminders::enqueue(
                &self.store,
                &self.notifiers,
                self.active.values(),
                &self.runbooks,
                now_ms,
            )
            .await?;
        }
        Ok(report)
    }

    /// Steps one alert. `by` is the rule inhibiting it now, `current` the rule's value now
    /// when it does not hold (for the resolved notification).
    #[allow(clippy::too_many_arguments)]
    async fn apply(
        &mut self,
        ri: usize,
        f: &NodeFacts,
        fp: String,
        cond: Eval,
        by: Option<usize>,
        current: Option<f64>,
        now_ms: i64,
        report: &mut EvalReport,
    ) -> Result<(), StoreError> {
        let state = self
            .active
            .get(&fp)
            .map(|a| a.state)
            .unwrap_or(State::Inactive);
        if let Some(j) = by {
            return self.inhibit(ri, f, &fp, cond, j, state, now_ms).await;
        }
        if let Some(a) = self.active.get_mut(&fp)
            && a.inhibited_by.take().is_some()
        {
            // No longer inhibited: the alert steps on from here (stays, or resolves now).
            a.updated_ms = now_ms;
            let row = a.clone();
            self.store.save_alert(&row, &[], None).await?;
        }
        // Unknown (a window warming up, e.g. after a restart): keep the alert as it is.
        let cond = match cond {
            Eval::Unknown => return Ok(()),
            c => c.value(),
        };
        let rule = &self.rules[ri];
        let current_row = self.active.get(&fp);
        let clock = current_row.map(|a| Clock {
            active_since_ms: a.active_since_ms,
            last_true_ms: a.last_true_ms,
        });
        match step(
            state,
            clock,
            cond.is_some(),
            now_ms,
            rule.for_,
            rule.keep_firing_for,
        ) {
            Step::Stay => {
                if let Some(v) = cond {
                    self.refresh(ri, f, &fp, v, now_ms).await?;
                }
            }
            Step::StartPending => {
                let row =
                    self.new_row(ri, f, &fp, cond.unwrap_or_default(), now_ms, State::Pending);
                self.store.save_alert(&row, &[], None).await?;
                self.active.insert(fp, row);
                report.pending += 1;
            }
            Step::CancelPending => {
                if let Some(mut row) = self.active.remove(&fp) {
                    row.state = State::Inactive;
                    row.updated_ms = now_ms;
                    self.store.save_alert(&row, &[], None).await?;
                }
            }
            Step::Fire => {
                let before = self.active.remove(&fp);
                let mut row = match before.clone() {
                    Some(r) => r,
                    None => {
                        self.new_row(ri, f, &fp, cond.unwrap_or_default(), now_ms, State::Pending)
                    }
                };
                let value = cond.unwrap_or(row.value);
                self.render(ri, f, &mut row, value);
                // On a failed write keep the previous state so the next cycle retries.
                if let Err(e) = self
                    .transition(&mut row, State::Firing, Some(ri), now_ms, report)
                    .await
                {
                    if let Some(prev) = before {
                        self.active.insert(fp, prev);
                    }
                    return Err(e);
                }
                self.active.insert(fp, row);
            }
            Step::Resolve => {
                if let Some(mut row) = self.active.remove(&fp) {
                    let before = row.clone();
                    if let Some(v) = current {
                        self.render(ri, f, &mut row, v);
                    }
                    if let Err(e) = self
                        .transition(&mut row, State::Resolved, Some(ri), now_ms, report)
                        .await
                    {
                        self.active.insert(fp, before);
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    }

    /// Rule `j` inhibits alert `fp`: nothing new starts and a pending one is cancelled; a
    /// firing one stays firing without notifications, marked with its inhibitor, and the
    /// incident timeline says so once (escalation and outages do not look like recovery).
    #[allow(clippy::too_many_arguments)]
    async fn inhibit(
        &mut self,
        ri: usize,
        f: &NodeFacts,
        fp: &str,
        cond: Eval,
        j: usize,
        state: State,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        match state {
            State::Pending => {
                if let Some(mut row) = self.active.remove(fp) {
                    row.state = State::Inactive;
                    row.updated_ms = now_ms;
                    self.store.save_alert(&row, &[], None).await?;
                }
            }
            State::Firing => {
                // Its value and summary stay current while it is held.
                if let Some(v) = cond.value() {
                    self.refresh(ri, f, fp, v, now_ms).await?;
                }
                let by = self.rules[j].name.clone();
                let Some(a) = self.active.get_mut(fp) else {
                    return Ok(());
                };
                if a.inhibited_by.as_deref() == Some(by.as_str()) {
                    return Ok(());
                }
                a.inhibited_by = Some(by.clone());
                a.updated_ms = now_ms;
                let Some(row) = self.active.get(fp) else {
                    return Ok(());
                };
                tracing::info!(alert = %row.fingerprint, inhibited_by = %by, "inhibited: stays firing, no notifications");
                let incident = IncidentUpdate {
                    chain: row.chain.clone(),
                    node: row.node.clone(),
                    kind: "inhibited".into(),
                    detail: serde_json::json!({"rule": row.rule, "severity": row.severity, "by": by, "summary": row.summary}),
                    close: false,
                    at_ms: now_ms,
                };
                self.store.save_alert(row, &[], Some(&incident)).await?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Keeps a firing or pending alert's value and summary current (reminders and the API
    /// show what holds now); written to the store at most every [`REFRESH_WRITE_MS`].
    async fn refresh(
        &mut self,
        ri: usize,
        f: &NodeFacts,
        fp: &str,
        v: f64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let Some(old) = self.active.get(fp).map(|a| a.value) else {
            return Ok(());
        };
        // Rendered only when the value changed; the row is copied only to be written.
        let text = (old != v).then(|| self.rendered(ri, f, v));
        let Some(a) = self.active.get_mut(fp) else {
            return Ok(());
        };
        a.last_true_ms = now_ms;
        let Some((summary, description)) = text else {
            return Ok(());
        };
        a.value = v;
        a.summary = summary;
        a.description = description;
        if now_ms - a.updated_ms >= REFRESH_WRITE_MS {
            a.updated_ms = now_ms;
            let row = a.clone();
            self.store.save_alert(&row, &[], None).await?;
        }
        Ok(())
    }

    /// Sets the value and renders the summary and description with it.
    fn render(&self, ri: usize, f: &NodeFacts, row: &mut AlertRow, value: f64) {
        row.value = value;
        (row.summary, row.description) = self.rendered(ri, f, value);
    }

    /// The summary and description of rule `ri` on `f` with `value`.
    fn rendered(&self, ri: usize, f: &NodeFacts, value: f64) -> (String, String) {
        let rule = &self.rules[ri];
        (
            self.summary(ri, f, value),
            render_vars(&rule.description, &vars(rule, f, value)),
        )
    }

    /// Moves `row` to firing or resolved and enqueues the notifications in the same write.
    async fn transition(
        &self,
        row: &mut AlertRow,
        to: State,
        rule: Option<usize>,
        now_ms: i64,
        report: &mut EvalReport,
    ) -> Result<(), StoreError> {
        row.state = to;
        row.updated_ms = now_ms;
        if to == State::Firing {
            row.fired_at_ms = Some(now_ms);
            row.last_true_ms = now_ms;
            row.resolved_at_ms = None;
            report.fired += 1;
        } else {
            row.resolved_at_ms = Some(now_ms);
            report.resolved += 1;
        }
        let severity = crate::config::Severity::parse(&row.severity)
            .unwrap_or(crate::config::Severity::Critical);
        let runbook = rule.and_then(|i| self.rules[i].runbook_url.clone());
        let event = to.as_str();
        // Silences are read only when a transition needs them (rare), not every cycle.
        let labels = alert_labels(row);
        let silenced_by = self
            .store
            .active_silences(now_ms)
            .await?
            .into_iter()
            .find(|s| s.matches(&labels))
            .map(|s| s.id);
        if let Some(id) = &silenced_by {
            tracing::info!(alert = %row.fingerprint, state = event, silence = %id, "silenced: no notification");
            report.silenced += 1;
        }
        let notes: Vec<OutboxRow> = self
            .notifiers
            .iter()
            .filter(|n| silenced_by.is_none() && n.accepts(severity))
            .map(|n| {
                // Deterministic id: the same event can never be enqueued twice.
                let id = format!(
                    "{}/{}/{}/{}",
                    row.fingerprint,
                    row.fired_at_ms.unwrap_or(0),
                    event,
                    n.config.name
                );
                let body = payload::build(&id, event, row, runbook.as_deref()).to_string();
                OutboxRow {
                    id,
                    fingerprint: row.fingerprint.clone(),
                    channel: n.config.name.clone(),
                    event: event.into(),
                    payload: body,
                    created_ms: now_ms,
                    attempts: 0,
                    // Quiet hours hold non-critical notifications until the window ends.
                    next_attempt_ms: n.first_attempt_ms(severity, now_ms),
                    state: chainops_store::alerts::DeliveryState::Pending,
                    last_error: None,
                    done_ms: None,
                }
            })
            .collect();
        report.notifications += notes.len();
        tracing::info!(alert = %row.fingerprint, state = event, severity = %row.severity, notifications = notes.len(), "{}", row.summary);
        let others_firing = self.active.values().any(|a| {
            a.fingerprint != row.fingerprint
                && a.node == row.node
                && a.chain == row.chain
                && a.state == State::Firing
        });
        let incident = IncidentUpdate {
            chain: row.chain.clone(),
            node: row.node.clone(),
            kind: event.into(),
            detail: serde_json::json!({"rule": row.rule, "severity": row.severity, "summary": row.summary, "silenced_by": silenced_by}),
            close: to == State::Resolved && !others_firing,
            at_ms: now_ms,
        };
        self.store.save_alert(row, &notes, Some(&incident)).await
    }

    fn new_row(
        &self,
        ri: usize,
        f: &NodeFacts,
        fp: &str,
        value: f64,
        now_ms: i64,
        state: State,
    ) -> AlertRow {
        let rule = &self.rules[ri];
        let (summary, description) = self.rendered(ri, f, value);
        let mut labels = serde_json::Map::new();
        for (k, v) in &rule.labels {
            labels.insert(k.clone(), serde_json::Value::String(v.clone()));
        }
        AlertRow {
            fingerprint: fp.to_string(),
            rule: rule.name.clone(),
            node: f.node.clone(),
            chain: f.chain.clone(),
            severity: rule.severity.as_str().into(),
            state,
            value,
            summary,
            description,
            labels: serde_json::Value::Object(labels),
            active_since_ms: now_ms,
            fired_at_ms: None,
            last_true_ms: now_ms,
            resolved_at_ms: None,
            updated_ms: now_ms,
            inhibited_by: None,
        }
    }

    fn summary(&self, ri: usize, f: &NodeFacts, value: f64) -> String {
        let rule = &self.rules[ri];
        render_vars(&rule.summary, &vars(rule, f, value))
    }

    /// Epoch ms of the last successful evaluation in [`run`](Self::run) (for the heartbeat).
    pub fn last_ok(&self) -> Arc<AtomicI64> {
        self.last_ok_ms.clone()
    }

    /// Records successful evaluations in `cell` (so a rebuilt engine keeps feeding the
    /// heartbeat that watches the first one).
    pub fn with_last_ok(mut self, cell: Arc<AtomicI64>) -> Self {
        self.last_ok_ms = cell;
        self
    }

    /// Records each evaluation of [`run`](Self::run) and the alerts active after it in `m`.
    pub fn with_metrics(mut self, m: Arc<crate::metrics::AlertMetrics>) -> Self {
        self.metrics = Some(m);
        self
    }

    /// Evaluates every `interval` until `shutdown` turns true.
    pub async fn run(mut self, interval: Duration, mut shutdown: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => return,
            }
            let now = chainops_core::time::now_ms();
            let ok = match self.evaluate(now).await {
                Ok(_) => {
                    self.last_ok_ms.store(now, Ordering::Relaxed);
                    true
                }
                Err(e) => {
                    tracing::warn!(error = %e, "alert evaluation failed; retrying next interval");
                    false
                }
            };
            if let Some(m) = &self.metrics {
                m.evaluated(
                    now,
                    ok.then(|| {
                        self.active
                            .values()
                            .map(|a| (a.state.as_str(), a.severity.as_str()))
                    }),
                );
            }
        }
    }
}

fn vars(rule: &Rule, f: &NodeFacts, value: f64) -> Vec<(&'static str, String)> {
    vec![
        ("rule", rule.name.clone()),
        ("node", f.node.clone()),
        ("chain", f.chain.clone()),
        ("value", fmt_value(value)),
        ("severity", rule.severity.as_str().to_string()),
    ]
}

fn render_vars(template: &str, vars: &[(&'static str, String)]) -> String {
    let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    crate::template::render(template, &pairs)
}
