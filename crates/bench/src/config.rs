//! `[bench]`: the load-test plan `chainops bench run` executes (target, workload, rounds).
//!
//! A plan lives in the same config file as everything else, so a benchmark can name a
//! monitored node (`node = "anvil-1"`) instead of repeating its URL and credentials.

use chainops_core::node::NodeKind;
use chainops_core::section::Problems;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `[bench]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawBench {
    /// Target node from `[[nodes]]`.
    pub node: Option<String>,
    /// Target RPC URL (instead of `node`).
    pub rpc_url: Option<String>,
    /// `evm` or `bitcoin` when `rpc_url` is given (default evm).
    pub kind: Option<String>,
    /// Workload name.
    pub workload: Option<String>,
    /// Sender accounts (EVM).
    pub senders: Option<u32>,
    /// Mnemonic the senders derive from (default: the dev mnemonic).
    pub mnemonic: Option<String>,
    /// Confirmations counted for the second latency (default 1).
    pub confirmations: Option<u32>,
    /// Concurrent HTTP requests in flight.
    pub concurrency: Option<u32>,
    /// Transactions per JSON-RPC batch at most.
    pub batch_size: Option<u32>,
    /// EIP-1559 fee cap in gwei (default: max(10 × base fee, 1000 gwei)).
    pub max_fee_gwei: Option<f64>,
    /// EIP-1559 tip in gwei (default 1).
    pub priority_fee_gwei: Option<f64>,
    /// PID of a local node process whose CPU and RSS are sampled.
    pub node_pid: Option<u32>,
    /// Longest wait for outstanding transactions after the last send (default 30s).
    pub drain_timeout: Option<String>,
    /// Regtest only: mine a block this often (Bitcoin family).
    pub mine_interval: Option<String>,
    /// `contract-call`: contract address.
    pub contract: Option<String>,
    /// `contract-call`: function signature, e.g. `set(uint256)`.
    pub call: Option<String>,
    /// `contract-call`: arguments.
    pub args: Option<Vec<String>>,
    /// `contract-call`: gas limit per call (default 200000).
    pub gas: Option<u64>,
    /// `read`: `eth_getBalance` (default) or `eth_call` (with `contract` and `call`).
    pub read_method: Option<String>,
    /// Rounds, run in order.
    pub rounds: Option<Vec<RawRound>>,
}

/// `[[bench.rounds]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRound {
    /// Label in the report.
    pub label: Option<String>,
    /// `fixed-rate`, `linear-ramp`, `fixed-backlog` or `max-rate`.
    pub rate_control: Option<String>,
    /// fixed-rate: transactions per second.
    pub tps: Option<f64>,
    /// linear-ramp / max-rate: first rate.
    pub start_tps: Option<f64>,
    /// linear-ramp: last rate.
    pub end_tps: Option<f64>,
    /// max-rate: rate increase per step.
    pub step_tps: Option<f64>,
    /// max-rate: highest rate tried.
    pub max_tps: Option<f64>,
    /// fixed-backlog: unconfirmed transactions kept in flight.
    pub backlog: Option<u32>,
    /// Round length in transactions.
    pub count: Option<u64>,
    /// Round length in time (max-rate: per step).
    pub duration: Option<String>,
    /// composite: fixed-rate / linear-ramp phases, each with a duration, run in order.
    pub phases: Option<Vec<RawRound>>,
}

/// What the load consists of.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum WorkloadSpec {
    /// Plain value transfers between load accounts.
    EthTransfer,
    /// ERC-20 `transfer` on a token the run deploys.
    Erc20Transfer,
    /// A user-given contract call.
    ContractCall {
        /// Contract address.
        contract: String,
        /// Function signature.
        call: String,
        /// Arguments.
        args: Vec<String>,
        /// Gas limit.
        gas: u64,
    },
    /// Read-only requests (`eth_getBalance` or `eth_call`); latency is the RPC round trip.
    Read {
        /// `eth_getBalance` or `eth_call`.
        method: String,
        /// `eth_call` target.
        contract: Option<String>,
        /// `eth_call` function.
        call: Option<String>,
        /// `eth_call` arguments.
        args: Vec<String>,
    },
    /// Bitcoin-family raw transactions spending wallet UTXOs.
    BitcoinTransfer,
}

impl WorkloadSpec {
    /// The name used on the command line and in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Self::EthTransfer => "eth-transfer",
            Self::Erc20Transfer => "erc20-transfer",
            Self::ContractCall { .. } => "contract-call",
            Self::Read { .. } => "read",
            Self::BitcoinTransfer => "bitcoin-transfer",
        }
    }
}

/// How the send rate is decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RateControl {
    /// A constant rate.
    FixedRate {
        /// Transactions per second.
        tps: f64,
    },
    /// A rate moving linearly from `start_tps` to `end_tps` over the round.
    LinearRamp {
        /// First rate.
        start_tps: f64,
        /// Last rate.
        end_tps: f64,
    },
    /// Closed loop: keep this many sent-but-unconfirmed transactions.
    FixedBacklog {
        /// Transactions in flight.
        unconfirmed: u32,
    },
    /// Steps of fixed rate, raised until confirmations stop keeping up.
    MaxRate {
        /// First step.
        start_tps: f64,
        /// Increase per step.
        step_tps: f64,
        /// Highest rate tried.
        max_tps: f64,
    },
    /// Phases of fixed or ramped rate within one round (Caliper's composite rate).
    Composite {
        /// Phases in order.
        phases: Vec<Phase>,
    },
}

/// One phase of a composite rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// `fixed-rate` or `linear-ramp`.
    pub rate: RateControl,
    /// Length in seconds.
    pub seconds: f64,
}

impl RateControl {
    /// Transactions a time-driven rate wants sent `t` seconds into a stretch of `len`
    /// seconds (`None` for closed-loop control).
    pub fn scheduled_by(&self, t: f64, len: f64) -> Option<f64> {
        Some(match self {
            Self::FixedRate { tps } | Self::MaxRate { start_tps: tps, .. } => tps * t,
            Self::LinearRamp { start_tps, end_tps } => {
                let len = len.max(1e-3);
                let t = t.min(len);
                start_tps * t + (end_tps - start_tps) * t * t / (2.0 * len)
            }
            Self::FixedBacklog { .. } => return None,
            Self::Composite { phases } => {
                let (mut start, mut total) = (0.0, 0.0);
                for p in phases {
                    let inner = p
                        .rate
                        .scheduled_by((t - start).clamp(0.0, p.seconds), p.seconds)?;
                    total += inner;
                    start += p.seconds;
                    if t < start {
                        break;
                    }
                }
                total
            }
        })
    }

    /// Mean offered rate over `len` seconds (`None` for closed-loop control).
    pub fn mean_tps(&self, len: f64) -> Option<f64> {
        let len = match self {
            Self::Composite { phases } => phases.iter().map(|p| p.seconds).sum(),
            _ => len,
        };
        (len > 0.0)
            .then(|| self.scheduled_by(len, len).map(|n| n / len))
            .flatten()
    }
}

/// When a round ends.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundLimit {
    /// After this many transactions.
    Count(u64),
    /// After this long (per step for max-rate).
    #[serde(serialize_with = "chainops_core::section::ser_duration")]
    Duration(Duration),
}

/// One validated round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoundSpec {
    /// Label.
    pub label: String,
    /// Rate control.
    pub rate: RateControl,
    /// Length.
    pub limit: RoundLimit,
}

/// Validated `[bench]` (targets are resolved by the caller: `node` or `rpc_url`).
#[derive(Debug, Clone, Serialize)]
pub struct BenchConfig {
    /// Target node name.
    pub node: Option<String>,
    /// Target URL.
    #[serde(serialize_with = "chainops_core::section::ser_opt_url")]
    pub rpc_url: Option<String>,
    /// Node family for `rpc_url`.
    pub kind: NodeKind,
    /// Workload.
    pub workload: WorkloadSpec,
    /// Sender accounts.
    pub senders: u32,
    /// Mnemonic (redacted when shown).
    #[serde(skip)]
    pub mnemonic: Option<String>,
    /// Confirmations for the second latency.
    pub confirmations: u32,
    /// Concurrent requests.
    pub concurrency: u32,
    /// Largest batch.
    pub batch_size: u32,
    /// Fee cap override.
    pub max_fee_gwei: Option<f64>,
    /// Tip.
    pub priority_fee_gwei: f64,
    /// Sampled node process.
    pub node_pid: Option<u32>,
    /// Drain wait.
    #[serde(serialize_with = "chainops_core::section::ser_duration")]
    pub drain_timeout: Duration,
    /// Regtest mining interval.
    pub mine_interval: Option<u64>,
    /// Rounds.
    pub rounds: Vec<RoundSpec>,
}

/// The names `--workload` accepts.
pub const WORKLOADS: &[&str] = &[
    "eth-transfer",
    "erc20-transfer",
    "contract-call",
    "read",
    "bitcoin-transfer",
];

/// The RPC methods the `read` workload can send.
pub const READ_METHODS: &[&str] = &["eth_getBalance", "eth_call"];

fn read_method_problem(m: &str) -> String {
    format!(
        "read method \"{m}\" is not supported; use {}",
        READ_METHODS.join(" or ")
    )
}

/// Builds a workload from its name and the contract-call/read fields.
pub fn workload_from(
    name: &str,
    contract: Option<String>,
    call: Option<String>,
    args: Vec<String>,
    gas: Option<u64>,
    read_method: Option<String>,
) -> Result<WorkloadSpec, String> {
    if let Some(m) = read_method.as_deref().filter(|m| !READ_METHODS.contains(m)) {
        return Err(read_method_problem(m));
    }
    Ok(match name {
        "eth-transfer" => WorkloadSpec::EthTransfer,
        "erc20-transfer" => WorkloadSpec::Erc20Transfer,
        "bitcoin-transfer" => WorkloadSpec::BitcoinTransfer,
        "contract-call" => {
            let (Some(contract), Some(call)) = (contract, call) else {
                return Err("contract-call needs `contract` (0x address) and `call` (e.g. \"set(uint256)\")".into());
            };
            WorkloadSpec::ContractCall {
                contract,
                call,
                args,
                gas: gas.unwrap_or(200_000),
            }
        }
        "read" => {
            let method = read_method.unwrap_or_else(|| READ_METHODS[0].into());
            if method == "eth_call" && (contract.is_none() || call.is_none()) {
                return Err("read with eth_call needs `contract` and `call`".into());
            }
            WorkloadSpec::Read {
                method,
                contract,
                call,
                args,
            }
        }
        other => {
            return Err(format!(
                "\"{other}\" is not a workload; use one of {}",
                WORKLOADS.join(", ")
            ));
        }
    })
}

/// Validates one round; `at` is the path prefix for problems.
pub fn round_from(
    mut raw: RawRound,
    at: &str,
    index: usize,
) -> Result<RoundSpec, Vec<(String, String)>> {
    let mut errs = Vec::new();
    let mut errs_extra: Vec<(String, String)> = Vec::new();
    let mut err = |k: &str, m: String| errs.push((format!("{at}.{k}"), m));
    let positive = |v: Option<f64>, k: &str, err: &mut dyn FnMut(&str, String)| -> f64 {
        match v {
            Some(x) if x.is_finite() && x > 0.0 && x <= 1_000_000.0 => x,
            Some(x) => {
                err(
                    k,
                    format!("{x} is out of range; use a rate in (0, 1000000] tx/s"),
                );
                1.0
            }
            None => {
                err(k, "is missing".into());
                1.0
            }
        }
    };
    let control = raw
        .rate_control
        .as_deref()
        .unwrap_or(if raw.backlog.is_some() {
            "fixed-backlog"
        } else if raw.start_tps.is_some() && raw.end_tps.is_some() {
            "linear-ramp"
        } else {
            "fixed-rate"
        });
    let rate = match control {
        "fixed-rate" => RateControl::FixedRate {
            tps: positive(raw.tps, "tps", &mut err),
        },
        "linear-ramp" => RateControl::LinearRamp {
            start_tps: positive(raw.start_tps, "start_tps", &mut err),
            end_tps: positive(raw.end_tps, "end_tps", &mut err),
        },
        "fixed-backlog" => RateControl::FixedBacklog {
            unconfirmed: match raw.backlog {
                Some(n) if (1..=1_000_000).contains(&n) => n,
                _ => {
                    err(
                        "backlog",
                        "is missing or 0; give the transactions to keep in flight (e.g. 2000)"
                            .into(),
                    );
                    1
                }
            },
        },
        "composite" => {
            let mut phases = Vec::new();
            let list = raw.phases.take().unwrap_or_default();
            if list.is_empty() {
                err("phases", "composite needs phases, e.g. [{ tps = 100, duration = \"10s\" }, { start_tps = 100, end_tps = 500, duration = \"10s\" }]".into());
            }
            for (i, ph) in list.into_iter().enumerate() {
                let pat = format!("{at}.phases[{i}]");
                match round_from(ph, &pat, i) {
                    Ok(RoundSpec {
                        rate:
                            rate @ (RateControl::FixedRate { .. } | RateControl::LinearRamp { .. }),
                        limit: RoundLimit::Duration(d),
                        ..
                    }) => phases.push(Phase {
                        rate,
                        seconds: d.as_secs_f64(),
                    }),
                    Ok(_) => errs_extra.push((
                        pat,
                        "a phase is fixed-rate or linear-ramp with a duration".into(),
                    )),
                    Err(e) => errs_extra.extend(e),
                }
            }
            RateControl::Composite { phases }
        }
        "max-rate" => {
            let start_tps = positive(raw.start_tps.or(Some(100.0)), "start_tps", &mut err);
            let step_tps = positive(raw.step_tps.or(Some(start_tps)), "step_tps", &mut err);
            let max_tps = positive(raw.max_tps.or(Some(100_000.0)), "max_tps", &mut err);
            RateControl::MaxRate {
                start_tps,
                step_tps,
                max_tps,
            }
        }
        other => {
            err(
                "rate_control",
                format!(
                    "\"{other}\" is not a rate control; use fixed-rate, linear-ramp, fixed-backlog, max-rate or composite"
                ),
            );
            RateControl::FixedRate { tps: 1.0 }
        }
    };
    let limit = match (raw.count, raw.duration.as_deref()) {
        (Some(_), Some(_)) => {
            err(
                "count",
                "and duration are both set; a round ends by one of them".into(),
            );
            RoundLimit::Count(1)
        }
        (Some(0), None) => {
            err("count", "must be at least 1".into());
            RoundLimit::Count(1)
        }
        (Some(n), None) if matches!(rate, RateControl::MaxRate { .. }) => {
            let _ = n;
            err(
                "count",
                "max-rate steps are timed; set duration (per step) instead".into(),
            );
            RoundLimit::Count(1)
        }
        (Some(n), None) => RoundLimit::Count(n),
        (None, Some(d)) => match chainops_core::duration::parse_duration(d) {
            Ok(d) if d >= Duration::from_secs(1) && d <= Duration::from_secs(86_400) => {
                RoundLimit::Duration(d)
            }
            Ok(_) => {
                err("duration", format!("\"{d}\" is out of range; use 1s..24h"));
                RoundLimit::Count(1)
            }
            Err(m) => {
                err("duration", m);
                RoundLimit::Count(1)
            }
        },
        (None, None) if matches!(rate, RateControl::Composite { .. }) => {
            let secs: f64 = match &rate {
                RateControl::Composite { phases } => phases.iter().map(|p| p.seconds).sum(),
                _ => 0.0,
            };
            RoundLimit::Duration(Duration::from_secs_f64(secs.max(1.0)))
        }
        (None, None) => {
            err(
                "count",
                "a round needs count (transactions) or duration (e.g. \"30s\")".into(),
            );
            RoundLimit::Count(1)
        }
    };
    errs.extend(errs_extra);
    if errs.is_empty() {
        Ok(RoundSpec {
            label: raw.label.unwrap_or_else(|| format!("round-{}", index + 1)),
            rate,
            limit,
        })
    } else {
        Err(errs)
    }
}

/// Validates the section, reporting every problem into `p`.
pub fn validate(raw: RawBench, node_names: &[String], p: &mut Problems) -> BenchConfig {
    if let Some(n) = &raw.node
        && !node_names.contains(n)
    {
        p.add(
            "bench.node",
            format!("\"{n}\" is not a configured node; add it to [[nodes]]"),
        );
    }
    if raw.node.is_some() && raw.rpc_url.is_some() {
        p.add("bench.rpc_url", "and bench.node are both set; keep one");
    }
    if let Some(u) = &raw.rpc_url
        && !chainops_core::section::is_http_url(u)
    {
        p.add("bench.rpc_url", "is not an http(s):// URL");
    }
    let kind = match raw.kind.as_deref() {
        None => chainops_chain::evm::KIND,
        Some(k) => chainops_chain::parse_kind(k).unwrap_or_else(|| {
            p.add(
                "bench.kind",
                format!(
                    "\"{k}\" is not a node kind; use {}",
                    chainops_chain::kind_names()
                ),
            );
            chainops_chain::evm::KIND
        }),
    };
    let default_workload = match chainops_chain::family(kind).bench_workload {
        Some(w) => w,
        None => {
            p.add(
                "bench.kind",
                format!(
                    "the load generator has no workload for {} nodes yet",
                    kind.as_str()
                ),
            );
            "eth-transfer"
        }
    };
    let read_method = match raw.read_method {
        Some(m) if !READ_METHODS.contains(&m.as_str()) => {
            p.add("bench.read_method", read_method_problem(&m));
            None
        }
        m => m,
    };
    let workload = workload_from(
        raw.workload.as_deref().unwrap_or(default_workload),
        raw.contract,
        raw.call,
        raw.args.unwrap_or_default(),
        raw.gas,
        read_method,
    )
    .unwrap_or_else(|m| {
        p.add("bench.workload", m);
        WorkloadSpec::EthTransfer
    });
    let mut count_in = |path: &str, v: Option<u32>, default: u32, max: u32| match v {
        None => default,
        Some(n) if (1..=max).contains(&n) => n,
        Some(n) => {
            p.add(path, format!("{n} is out of range; use 1..={max}"));
            default
        }
    };
    let senders = count_in("bench.senders", raw.senders, 64, 100_000);
    let confirmations = count_in("bench.confirmations", raw.confirmations, 1, 1000);
    let concurrency = count_in("bench.concurrency", raw.concurrency, 4, 1024);
    let batch_size = count_in("bench.batch_size", raw.batch_size, 200, 10_000);
    for (k, v) in [
        ("bench.max_fee_gwei", raw.max_fee_gwei),
        ("bench.priority_fee_gwei", raw.priority_fee_gwei),
    ] {
        if let Some(x) = v
            && !(x.is_finite() && (0.0..=1e9).contains(&x))
        {
            p.add(k, format!("{x} is out of range; use a gwei amount ≥ 0"));
        }
    }
    let drain_timeout = p.duration(
        "bench.drain_timeout",
        raw.drain_timeout.as_deref(),
        Duration::from_secs(30),
        Duration::from_secs(1),
    );
    let mine_interval = raw.mine_interval.as_deref().map(|s| {
        p.duration(
            "bench.mine_interval",
            Some(s),
            Duration::from_secs(1),
            Duration::from_millis(100),
        )
        .as_millis() as u64
    });
    let mut rounds = Vec::new();
    for (i, r) in raw.rounds.unwrap_or_default().into_iter().enumerate() {
        match round_from(r, &format!("bench.rounds[{i}]"), i) {
            Ok(r) => rounds.push(r),
            Err(errs) => {
                for (k, m) in errs {
                    p.add(k, m);
                }
            }
        }
    }
    BenchConfig {
        node: raw.node,
        rpc_url: raw.rpc_url,
        kind,
        workload,
        senders,
        mnemonic: raw.mnemonic,
        confirmations,
        concurrency,
        batch_size,
        max_fee_gwei: raw.max_fee_gwei,
        priority_fee_gwei: raw.priority_fee_gwei.unwrap_or(1.0),
        node_pid: raw.node_pid,
        drain_timeout,
        mine_interval,
        rounds,
    }
}

/// Rewrites a serialized [`BenchConfig`] into the keys `[bench]` takes (the workload's
/// name and fields, each round's rate control and limit), for `config show`.
pub fn file_shape(bench: &mut toml::Table) {
    use toml::Value;
    if let Some(Value::Table(w)) = bench.remove("workload") {
        for (k, v) in w {
            let key = match k.as_str() {
                "name" => "workload".to_string(),
                "method" => "read_method".to_string(),
                _ => k,
            };
            bench.insert(key, v);
        }
    }
    if let Some(Value::Array(rounds)) = bench.get_mut("rounds") {
        for r in rounds.iter_mut().filter_map(Value::as_table_mut) {
            if let Some(Value::Table(rate)) = r.remove("rate") {
                for (k, v) in rate {
                    r.insert(
                        if k == "kind" {
                            "rate_control".into()
                        } else {
                            k
                        },
                        v,
                    );
                }
            }
            if let Some(Value::Table(limit)) = r.remove("limit") {
                r.extend(limit);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(toml_text: &str) -> Result<RoundSpec, Vec<(String, String)>> {
        let raw: RawRound = toml::from_str(toml_text).expect("toml");
        round_from(raw, "bench.rounds[0]", 0)
    }

    #[test]
    fn rate_control_is_inferred_and_validated() {
        let r = round("tps = 100\ncount = 10").expect("ok");
        assert_eq!(r.rate, RateControl::FixedRate { tps: 100.0 });
        assert_eq!(r.limit, RoundLimit::Count(10));
        let r = round("start_tps = 10\nend_tps = 50\nduration = \"10s\"").expect("ok");
        assert!(matches!(r.rate, RateControl::LinearRamp { .. }));
        let r = round("backlog = 500\nduration = \"5s\"").expect("ok");
        assert_eq!(r.rate, RateControl::FixedBacklog { unconfirmed: 500 });
        let e = round("tps = -1\ncount = 5\nduration = \"1s\"").expect_err("bad");
        let paths: Vec<&str> = e.iter().map(|(p, _)| p.as_str()).collect();
        assert!(paths.contains(&"bench.rounds[0].tps"), "{e:?}");
        assert!(paths.contains(&"bench.rounds[0].count"), "{e:?}");
        let e = round("rate_control = \"max-rate\"\ncount = 5").expect_err("bad");
        assert!(e[0].1.contains("duration"), "{e:?}");
        let e = round("rate_control = \"warp\"\ncount = 5").expect_err("bad");
        assert!(e[0].1.contains("fixed-rate"), "{e:?}");
    }

    #[test]
    fn composite_phases_add_up() {
        let r = round(
            "rate_control = \"composite\"\nphases = [{ tps = 10, duration = \"10s\" }, { start_tps = 10, end_tps = 30, duration = \"10s\" }]",
        )
        .expect("ok");
        assert_eq!(r.limit, RoundLimit::Duration(Duration::from_secs(20)));
        // 100 in the first phase, then the ramp's mean 20/s for 10 s.
        assert_eq!(r.rate.scheduled_by(10.0, 20.0), Some(100.0));
        assert_eq!(r.rate.scheduled_by(20.0, 20.0), Some(300.0));
        assert_eq!(
            r.rate.scheduled_by(15.0, 20.0),
            Some(100.0 + 10.0 * 5.0 + 20.0 * 25.0 / 20.0)
        );
        assert_eq!(r.rate.mean_tps(20.0), Some(15.0));
        let e = round("rate_control = \"composite\"\nphases = [{ tps = 10, count = 5 }]")
            .expect_err("bad");
        assert!(e[0].0.contains("phases[0]"), "{e:?}");
        let e = round("rate_control = \"composite\"").expect_err("bad");
        assert!(e[0].1.contains("phases"), "{e:?}");
    }

    #[test]
    fn workloads_need_their_fields() {
        assert!(workload_from("contract-call", None, None, vec![], None, None).is_err());
        assert!(workload_from("read", None, None, vec![], None, Some("eth_call".into())).is_err());
        let e = workload_from("mint", None, None, vec![], None, None).expect_err("unknown");
        assert!(e.contains("eth-transfer"), "{e}");
    }
}
