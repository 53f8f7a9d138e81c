//! The fleet by chain, across families: `GET /api/v1/chains`, and the chain summaries the
//! console's fleet page groups its tiles by. One place joins the monitor's per-chain view
//! ([`chainops_monitor::chains`]) with the chain's open alerts and its backup jobs' state.

use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use chainops_core::time::{now_ms, rfc3339};
use chainops_monitor::chains::{ChainReport, chain_reports};
use chainops_monitor::fleet::NodeReport;
use chainops_store::alerts::AlertState;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// One chain with its open alerts and backup state.
#[derive(Debug, Clone, Serialize)]
pub struct ChainSummary {
    /// Families, nodes, statuses, best height, quorum, lag distribution.
    #[serde(flatten)]
    pub report: ChainReport,
    /// Pending and firing alerts on the chain's nodes.
    pub open_alerts: AlertCounts,
    /// The backup jobs of the chain's nodes.
    pub backups: BackupState,
}

/// Open alerts of a chain.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct AlertCounts {
    /// Firing.
    pub firing: usize,
    /// Pending (waiting out `for`).
    pub pending: usize,
    /// Of those, critical.
    pub critical: usize,
    /// Of those, warning.
    pub warning: usize,
}

impl AlertCounts {
    /// Firing and pending.
    pub fn total(&self) -> usize {
        self.firing + self.pending
    }
}

/// Backup state of a chain's nodes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BackupState {
    /// The worst of its jobs: `failing` (a last backup or drill failed), `overdue` (no
    /// success in time), `never` (a job has not finished a backup yet), `ok`; `none` when no
    /// job backs up its nodes.
    pub state: &'static str,
    /// Jobs backing up its nodes.
    pub jobs: usize,
    /// Jobs whose last backup failed.
    pub failing: usize,
    /// Jobs past their `overdue_after`.
    pub overdue: usize,
    /// Jobs whose last restore drill failed.
    pub drill_failed: usize,
    /// Jobs with no finished backup yet.
    pub never_run: usize,
    /// The newest successful backup among the jobs whose last run succeeded, RFC 3339.
    pub last_success: Option<String>,
}

/// Summaries of every chain of `reports` (sorted by chain name).
pub async fn summaries(s: &AppState, reports: &[NodeReport]) -> Vec<ChainSummary> {
    let chain_of: HashMap<&str, &str> = reports
        .iter()
        .map(|r| (r.name.as_str(), r.chain.as_str()))
        .collect();
    let mut alerts: HashMap<String, AlertCounts> = HashMap::new();
    match s.store.active_alerts().await {
        Ok(rows) => {
            for a in rows {
                let c = alerts.entry(a.chain).or_default();
                match a.state {
                    AlertState::Firing => c.firing += 1,
                    AlertState::Pending => c.pending += 1,
                    _ => continue,
                }
                match a.severity.as_str() {
                    "critical" => c.critical += 1,
                    "warning" => c.warning += 1,
                    _ => {}
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "chains: cannot read alerts"),
    }
    let mut backups: HashMap<&str, BackupState> = HashMap::new();
    let jobs = s
        .live()
        .backups
        .as_ref()
        .map(|b| b.jobs(now_ms()))
        .unwrap_or_default();
    for j in &jobs {
        let Some(chain) = chain_of.get(j.node.as_str()) else {
            continue;
        };
        let b = backups.entry(chain).or_default();
        b.jobs += 1;
        match j.last_backup {
            Some((_, false, _)) => b.failing += 1,
            Some((at, true, _)) => {
                let at = rfc3339(at);
                if b.last_success.as_ref().is_none_or(|l| *l < at) {
                    b.last_success = Some(at);
                }
            }
            None => b.never_run += 1,
        }
        b.overdue += usize::from(j.overdue);
        b.drill_failed += usize::from(matches!(j.last_drill, Some((_, false, _))));
    }
    for b in backups.values_mut() {
        b.state = if b.failing + b.drill_failed > 0 {
            "failing"
        } else if b.overdue > 0 {
            "overdue"
        } else if b.never_run > 0 {
            "never"
        } else {
            "ok"
        };
    }
    chain_reports(reports)
        .into_iter()
        .map(|report| ChainSummary {
            open_alerts: alerts.get(&report.chain).copied().unwrap_or_default(),
            backups: backups
                .get(report.chain.as_str())
                .cloned()
                .unwrap_or(BackupState {
                    state: "none",
                    ..BackupState::default()
                }),
            report,
        })
        .collect()
}

/// `GET /api/v1/chains`: every chain across families.
pub(crate) async fn list_chains(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let reports = s.live().fleet.reports(now_ms());
    let chains = summaries(&s, &reports).await;
    Ok(Json(serde_json::to_value(chains).unwrap_or_default()))
}
