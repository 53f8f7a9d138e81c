//! What a run produces: a versioned JSON document, also rendered as text and HTML.

use crate::config::RateControl;
use crate::stats::{Bucket, LatencyStats};
use serde::{Deserialize, Serialize};

/// Report format version (bump on incompatible changes).
pub const REPORT_VERSION: u32 = 1;

/// A whole run. Top-level counts and latencies cover all rounds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Format version.
    pub version: u32,
    /// RFC 3339 start time.
    pub started_at: String,
    /// The node under test.
    pub target: TargetInfo,
    /// Workload name.
    pub workload: String,
    /// Settings that shape the numbers.
    pub settings: Settings,
    /// Transactions sent.
    pub submitted: u64,
    /// Included in a block and succeeded.
    pub confirmed: u64,
    /// Rejected by the node, reverted, or never included.
    pub failed: u64,
    /// `confirmed ÷ submitted`.
    pub success_rate: f64,
    /// Submitted per second of sending.
    pub send_rate: f64,
    /// Confirmed ÷ (last confirmation − first submission), tx/s.
    pub throughput: f64,
    /// Submit → inclusion latency.
    pub latency: LatencyStats,
    /// Median submit → inclusion (s); same as `latency.p50`.
    pub p50: f64,
    /// 95th percentile (s).
    pub p95: f64,
    /// 99th percentile (s).
    pub p99: f64,
    /// Rounds in order.
    pub rounds: Vec<RoundReport>,
}

/// Most rounds a report read from outside may hold.
const MAX_ROUNDS: usize = 1_000;

impl Report {
    /// Reads a report as `bench run --json` or `--out` wrote it. The error names what is wrong
    /// (not JSON, a missing field, another format version, an absurd round count).
    pub fn parse(bytes: &[u8]) -> Result<Report, String> {
        let r: Report = serde_json::from_slice(bytes).map_err(|e| {
            format!(
                "not a chainops bench report ({e}); use the output of `bench run --json` or --out"
            )
        })?;
        if r.version != REPORT_VERSION {
            return Err(format!(
                "report format version {} is not {REPORT_VERSION}; record it with the chainops that made it",
                r.version
            ));
        }
        if r.rounds.is_empty() || r.rounds.len() > MAX_ROUNDS {
            return Err(format!(
                "a report has 1 to {MAX_ROUNDS} rounds; this one has {}",
                r.rounds.len()
            ));
        }
        Ok(r)
    }

    /// What limited the last round (`none` when nothing did).
    pub fn bottleneck(&self) -> &str {
        self.rounds
            .last()
            .map_or("none", |r| r.bottleneck.primary.as_str())
    }
}

/// The node under test.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetInfo {
    /// RPC URL (credentials removed).
    pub url: String,
    /// `evm` or `bitcoin`.
    pub kind: String,
    /// Chain id (EVM) or chain name (Bitcoin family).
    pub chain: String,
    /// Client version string.
    pub client: String,
}

/// Settings recorded with the results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Sender accounts.
    pub senders: u32,
    /// Confirmations for `confirmation_latency`.
    pub confirmations: u32,
    /// Concurrent requests.
    pub concurrency: u32,
    /// Largest batch.
    pub batch_size: u32,
    /// Fee cap (gwei, EVM).
    pub max_fee_gwei: Option<f64>,
    /// Tip (gwei, EVM).
    pub priority_fee_gwei: Option<f64>,
    /// Sampled node PID.
    pub node_pid: Option<u32>,
}

/// One round.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoundReport {
    /// Label.
    pub label: String,
    /// Rate control.
    pub rate_control: RateControl,
    /// Mean offered rate (tx/s) for rate-driven rounds.
    pub offered_tps: Option<f64>,
    /// Most transactions the sender was ever behind its schedule.
    pub behind_schedule_max: u64,
    /// Share of send ticks on which every request slot was busy.
    pub slots_busy_ratio: f64,
    /// Transactions sent but not yet included when sending ended.
    pub outstanding_at_send_end: u64,
    /// Transactions sent.
    pub submitted: u64,
    /// Included and succeeded.
    pub confirmed: u64,
    /// Rejected + reverted + unconfirmed.
    pub failed: u64,
    /// Refused by the node at submission.
    pub rejected: u64,
    /// Included but reverted.
    pub reverted: u64,
    /// Never seen in a block before the round ended.
    pub unconfirmed: u64,
    /// `confirmed ÷ submitted`.
    pub success_rate: f64,
    /// Submitted per second of sending.
    pub send_rate: f64,
    /// Confirmed ÷ (last confirmation − first submission).
    pub throughput: f64,
    /// Seconds from round start to end (drain included).
    pub duration_s: f64,
    /// Seconds from round start of the first and last submission and last confirmation.
    pub first_submit_s: f64,
    /// Last submission.
    pub last_submit_s: f64,
    /// Last confirmation.
    pub last_confirm_s: f64,
    /// Submit → inclusion.
    pub latency: LatencyStats,
    /// Submit → N confirmations (N = settings.confirmations).
    pub confirmation_latency: LatencyStats,
    /// Inclusion latency distribution.
    pub distribution: Vec<Bucket>,
    /// One sample per second.
    pub series: Vec<SecondSample>,
    /// Blocks produced during the round.
    pub blocks: Vec<BlockSample>,
    /// Error messages and how often they occurred.
    pub errors: Vec<ErrorCount>,
    /// Node process (when a PID was given).
    pub node_process: Option<ProcessStats>,
    /// This generator.
    pub generator: ProcessStats,
    /// Max-rate search steps.
    pub steps: Vec<StepReport>,
    /// Max-rate: highest rate the chain sustained.
    pub max_sustained_tps: Option<f64>,
    /// Transactions the round was planned to send (a round ended by `count`).
    #[serde(default)]
    pub planned: Option<u64>,
    /// Seconds the round was planned to send for (a round ended by `duration`).
    #[serde(default)]
    pub planned_seconds: Option<f64>,
    /// What limited the round.
    pub bottleneck: Verdict,
}

/// One second of a round (counters are cumulative since the round started).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SecondSample {
    /// Seconds since round start.
    pub t: f64,
    /// Submitted so far.
    pub submitted: u64,
    /// Confirmed so far.
    pub confirmed: u64,
    /// Failed so far.
    pub failed: u64,
    /// Confirmed during this second.
    pub tps: f64,
    /// Mean inclusion latency of transactions confirmed this second.
    pub latency_avg: Option<f64>,
    /// Sent, not yet included.
    pub outstanding: u64,
    /// Node pool depth.
    pub pool: Option<u64>,
    /// Node CPU, cores.
    pub node_cpu: Option<f64>,
    /// Node RSS bytes.
    pub node_rss: Option<u64>,
    /// Generator CPU, cores.
    pub generator_cpu: f64,
}

/// A block seen during the round.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BlockSample {
    /// Height.
    pub number: u64,
    /// Seconds since round start when seen.
    pub seen_s: f64,
    /// Block timestamp.
    pub timestamp: u64,
    /// Transactions in it.
    pub txs: u64,
    /// Of which this run's.
    pub ours: u64,
    /// Gas used ÷ gas limit.
    pub fullness: Option<f64>,
    /// Base fee, gwei.
    pub base_fee_gwei: Option<f64>,
}

/// An error message and its count.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorCount {
    /// Message.
    pub message: String,
    /// Occurrences.
    pub count: u64,
}

/// CPU and memory of a process over the round.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProcessStats {
    /// Mean CPU in cores (1.0 = one core busy).
    pub cpu_avg: f64,
    /// Highest one-second CPU.
    pub cpu_max: f64,
    /// Highest RSS.
    pub rss_max_bytes: u64,
}

/// One max-rate step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepReport {
    /// Offered rate.
    pub tps: f64,
    /// Sent.
    pub submitted: u64,
    /// Confirmed.
    pub confirmed: u64,
    /// Confirmed per second.
    pub throughput: f64,
    /// p95 inclusion latency.
    pub p95: f64,
    /// The chain kept up.
    pub sustained: bool,
}

/// The bottleneck verdict.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Verdict {
    /// The main limit (a finding kind, or `none`).
    pub primary: String,
    /// One sentence for people.
    pub summary: String,
    /// Every limit found, with evidence.
    pub findings: Vec<Finding>,
}

/// One limit with its evidence.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    /// `block_stalled`, `gas_limit`, `txpool_growing`, `node_cpu`, `rpc_errors`,
    /// `fee_cap`, `generator`.
    pub kind: String,
    /// Numbers that show it.
    pub evidence: String,
}
