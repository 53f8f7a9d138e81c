//! `chainops bench run|record|compare`: resolves the plan (config `[bench]` + flags), prepares
//! the session, shows progress, writes the summary, JSON and HTML reports, and records reports
//! with the daemon (`--record`, `bench record`).

use crate::api_client::ApiClient;
use crate::cli::{BenchCommand, BenchRunOpts, GlobalOpts};
use crate::config_load;
use crate::exit::KindError;
use crate::output::print;
use anyhow::Context;
use chainops_bench::config::{RawRound, round_from, workload_from};
use chainops_bench::report::{Report, RoundReport, SecondSample};
use chainops_bench::runner::{Progress, RunOptions};
use chainops_bench::{BenchError, analysis, compare, html};
use chainops_chain::rpc::JsonRpcClient;
use chainops_core::ErrorKind;
use chainops_core::node::NodeKind;
use chainops_core::secret::{Secret, redact_url};
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn invalid(m: impl Into<String>) -> anyhow::Error {
    KindError(ErrorKind::InvalidInput, m.into()).into()
}

fn bench_error(e: BenchError) -> anyhow::Error {
    KindError(e.kind(), e.to_string()).into()
}

/// Runs a `bench` subcommand.
pub fn run(g: &GlobalOpts, c: BenchCommand) -> anyhow::Result<()> {
    match c {
        BenchCommand::Run(o) => {
            crate::cli::init_logging(g)?;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(run_bench(g, *o))
        }
        BenchCommand::Record {
            files,
            server,
            json,
        } => {
            let client = ApiClient::for_cli(g, &server)?;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let mut recorded = Vec::new();
            for f in &files {
                let bytes = std::fs::read(f)
                    .with_context(|| format!("cannot read report {}", f.display()))?;
                let report =
                    Report::parse(&bytes).map_err(|e| invalid(format!("{}: {e}", f.display())))?;
                let run = rt
                    .block_on(record(&client, &report))
                    .with_context(|| format!("recording {}", f.display()))?;
                recorded.push(run);
            }
            if json {
                print(&serde_json::to_string_pretty(&recorded)?)
            } else {
                let lines: Vec<String> = recorded.iter().map(recorded_line).collect();
                print(&lines.join("\n"))
            }
        }
        BenchCommand::Compare { a, b, json } => {
            let load = |p: &std::path::Path| -> anyhow::Result<Report> {
                let bytes = std::fs::read(p)
                    .with_context(|| format!("cannot read report {}", p.display()))?;
                Report::parse(&bytes).map_err(|e| invalid(format!("{}: {e}", p.display())))
            };
            let c = compare::compare(&load(&a)?, &load(&b)?);
            let text = if json {
                serde_json::to_string_pretty(&c)?
            } else {
                compare::render(&c)
            };
            print(&text)
        }
    }
}

/// The plan after merging flags over `[bench]`.
fn plan(g: &GlobalOpts, o: &BenchRunOpts) -> anyhow::Result<(RunOptions, JsonRpcClient, NodeKind)> {
    let config = config_load::load(g)?;
    let b = config.bench.clone();
    let http = chainops_chain::http_client().map_err(|e| anyhow::anyhow!("{e}"))?;
    let timeout = Duration::from_secs(30);
    let (rpc, url, kind) = match (&o.rpc, &o.node, &b.rpc_url, &b.node) {
        (Some(url), _, _, _) | (None, None, Some(url), _) => {
            if !chainops_core::section::is_http_url(url) {
                return Err(invalid(format!(
                    "--rpc \"{}\" is not an http(s):// URL",
                    redact_url(url)
                )));
            }
            let kind = match &o.kind {
                None => b.kind,
                Some(k) => chainops_chain::parse_kind(k).ok_or_else(|| {
                    invalid(format!(
                        "--kind \"{k}\": use {}",
                        chainops_chain::kind_names()
                    ))
                })?,
            };
            let auth = o.rpc_user.clone().map(|u| {
                (
                    u,
                    Secret::new(std::env::var("CHAINOPS_BENCH_RPC_PASSWORD").unwrap_or_default()),
                )
            });
            (
                JsonRpcClient::new(http, url.clone(), auth, timeout),
                url.clone(),
                kind,
            )
        }
        (None, Some(name), _, _) | (None, None, None, Some(name)) => {
            let node = config.node(name).ok_or_else(|| {
                invalid(format!(
                    "node \"{name}\" is not in the config; add it to [[nodes]] or use --rpc"
                ))
            })?;
            let rpc =
                chainops_chain::rpc_client_for(node, &http).map_err(|e| anyhow::anyhow!("{e}"))?;
            (rpc, node.rpc_url.clone(), node.kind)
        }
        (None, None, None, None) => {
            return Err(invalid(
                "no target: give --rpc URL or --node NAME, or set [bench] node / rpc_url in the config",
            ));
        }
    };
    let fam = chainops_chain::family(kind);
    let Some(family_workload) = fam.bench_workload else {
        return Err(invalid(format!(
            "the load generator has no workload for {} nodes yet",
            fam.kind.as_str()
        )));
    };
    let workload = if o.workload.is_some() || o.contract.is_some() || o.call.is_some() {
        let name = o
            .workload
            .clone()
            .unwrap_or_else(|| b.workload.name().to_string());
        workload_from(
            &name,
            o.contract.clone(),
            o.call.clone(),
            o.args.clone(),
            o.gas,
            o.read_method.clone(),
        )
        .map_err(|m| invalid(format!("--workload: {m}")))?
    } else if Some(b.workload.name())
        == chainops_chain::family(chainops_chain::evm::KIND).bench_workload
    {
        // The plan's default workload is the target family's own default.
        workload_from(family_workload, None, None, Vec::new(), None, None).map_err(invalid)?
    } else {
        b.workload.clone()
    };
    let round_flags = o.rate_control.is_some()
        || o.rate.is_some()
        || o.start_tps.is_some()
        || o.end_tps.is_some()
        || o.step_tps.is_some()
        || o.max_tps.is_some()
        || o.backlog.is_some()
        || o.count.is_some()
        || o.duration.is_some();
    let rounds = if round_flags {
        let raw = RawRound {
            label: Some("cli".into()),
            rate_control: o.rate_control.clone(),
            tps: o.rate,
            start_tps: o.start_tps,
            end_tps: o.end_tps,
            step_tps: o.step_tps,
            max_tps: o.max_tps,
            backlog: o.backlog,
            count: o.count,
            duration: o.duration.clone(),
            phases: None,
        };
        let r = round_from(raw, "flags", 0).map_err(|errs| {
            let list: Vec<String> = errs
                .into_iter()
                .map(|(p, m)| {
                    let key = p.trim_start_matches("flags.");
                    let flag = if key == "tps" {
                        "rate".to_string()
                    } else {
                        key.replace('_', "-")
                    };
                    format!("--{flag} {m}")
                })
                .collect();
            invalid(list.join("; "))
        })?;
        vec![r]
    } else {
        b.rounds.clone()
    };
    if rounds.is_empty() {
        return Err(invalid(
            "nothing to run: give --rate and --count (or --duration), or [[bench.rounds]] in the config",
        ));
    }
    let mnemonic = match &o.mnemonic_file {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .with_context(|| format!("cannot read --mnemonic-file {}", p.display()))?
                .trim()
                .to_string(),
        ),
        None => b.mnemonic.clone(),
    };
    let range = |name: &str, v: Option<u32>, default: u32, max: u32| -> anyhow::Result<u32> {
        match v {
            None => Ok(default),
            Some(n) if (1..=max).contains(&n) => Ok(n),
            Some(n) => Err(invalid(format!(
                "--{name} {n} is out of range; use 1..={max}"
            ))),
        }
    };
    let dur = |name: &str, v: &Option<String>, default: Duration| -> anyhow::Result<Duration> {
        match v {
            None => Ok(default),
            Some(s) => chainops_core::duration::parse_duration(s)
                .map_err(|m| invalid(format!("--{name}: {m}"))),
        }
    };
    for (name, v) in [
        ("max-fee-gwei", o.max_fee_gwei),
        ("priority-fee-gwei", o.priority_fee_gwei),
    ] {
        if let Some(x) = v
            && !(x.is_finite() && x >= 0.0)
        {
            return Err(invalid(format!("--{name} {x}: use a gwei amount ≥ 0")));
        }
    }
    let opts = RunOptions {
        url: redact_url(&url),
        workload,
        rounds,
        senders: range("senders", o.senders, b.senders, 100_000)?,
        mnemonic,
        confirmations: range("confirmations", o.confirmations, b.confirmations, 1000)?,
        concurrency: range("concurrency", o.concurrency, b.concurrency, 1024)?,
        batch_size: range("batch-size", o.batch_size, b.batch_size, 10_000)?,
        max_fee_gwei: o.max_fee_gwei.or(b.max_fee_gwei),
        priority_fee_gwei: o.priority_fee_gwei.unwrap_or(b.priority_fee_gwei),
        node_pid: o.node_pid.or(b.node_pid),
        drain_timeout: dur("drain-timeout", &o.drain_timeout, b.drain_timeout)?,
        mine_interval: match &o.mine_interval {
            Some(_) => Some(dur(
                "mine-interval",
                &o.mine_interval,
                Duration::from_secs(1),
            )?),
            None => b.mine_interval.map(Duration::from_millis),
        },
    };
    Ok((opts, rpc, kind))
}

/// Sends a report to the daemon; its answer names the recorded run.
async fn record(client: &ApiClient, report: &Report) -> anyhow::Result<serde_json::Value> {
    client
        .post("/api/v1/bench/runs", &serde_json::to_value(report)?)
        .await
}

/// `recorded <workload> as run <id>: <url>`.
fn recorded_line(run: &serde_json::Value) -> String {
    format!(
        "recorded {} as run {}: {}",
        run["workload"].as_str().unwrap_or("?"),
        run["id"].as_str().unwrap_or("?"),
        run["url"].as_str().unwrap_or("")
    )
}

async fn run_bench(g: &GlobalOpts, o: BenchRunOpts) -> anyhow::Result<()> {
    // Ask the daemon before a run that is to be recorded, not after it.
    let recorder = if o.record {
        let client = ApiClient::for_cli(g, &o.server)?;
        client
            .get("/api/v1/bench/runs?limit=1")
            .await
            .context("--record: the daemon must answer before the run starts")?;
        Some(client)
    } else {
        None
    };
    let (mut opts, rpc, kind) = plan(g, &o)?;
    let progress: Arc<dyn Progress> = Arc::new(Reporter::new());
    let session = chainops_bench::sessions::session(kind, rpc, &mut opts, progress.clone())
        .await
        .map_err(bench_error)?;
    let report = chainops_bench::run(session, &opts, progress.clone())
        .await
        .map_err(bench_error)?;
    let json = serde_json::to_string_pretty(&report)?;
    if let Some(p) = &o.out {
        std::fs::write(p, &json).with_context(|| format!("cannot write --out {}", p.display()))?;
    }
    if let Some(p) = &o.html {
        std::fs::write(p, html::render(&report))
            .with_context(|| format!("cannot write --html {}", p.display()))?;
    }
    if o.json {
        print(&json)?;
    } else {
        print(&summary(&report))?;
    }
    let Some(client) = recorder else {
        return Ok(());
    };
    match record(&client, &report).await {
        Ok(run) => {
            eprintln!("{}", recorded_line(&run));
            Ok(())
        }
        Err(e) => {
            // The run is not lost: keep the report where `bench record` can pick it up.
            let kept = match &o.out {
                Some(p) => p.clone(),
                None => {
                    let p = std::path::PathBuf::from(format!(
                        "chainops-bench-{}.json",
                        chainops_core::time::now_ms()
                    ));
                    std::fs::write(&p, &json)
                        .with_context(|| format!("cannot keep the report in {}", p.display()))?;
                    p
                }
            };
            Err(e.context(format!(
                "the run finished but was not recorded; the report is in {} (record it with `chainops bench record {}`)",
                kept.display(),
                kept.display()
            )))
        }
    }
}

/// The terminal summary table.
fn summary(r: &Report) -> String {
    let mut s = format!(
        "{} on {} ({} chain {}, {})\n\n{:<14} {:>9} {:>9} {:>7} {:>8} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8}\n",
        r.workload,
        r.target.url,
        r.target.kind,
        r.target.chain,
        r.target.client,
        "round",
        "submitted",
        "confirmed",
        "failed",
        "success",
        "send tx/s",
        "tput tx/s",
        "p50 s",
        "p95 s",
        "p99 s",
        "max s"
    );
    for x in &r.rounds {
        s.push_str(&format!(
            "{:<14} {:>9} {:>9} {:>7} {:>7.1}% {:>10.1} {:>10.1} {:>8.3} {:>8.3} {:>8.3} {:>8.3}\n",
            truncate(&x.label, 14),
            x.submitted,
            x.confirmed,
            x.failed,
            x.success_rate * 100.0,
            x.send_rate,
            x.throughput,
            x.latency.p50,
            x.latency.p95,
            x.latency.p99,
            x.latency.max
        ));
    }
    for x in &r.rounds {
        s.push_str(&format!("\n[{}] {}\n", x.label, x.bottleneck.summary));
        if let Some(gap) = chainops_bench::html::gap_explanation(x) {
            s.push_str(&format!("  {gap}\n"));
        }
        for f in x
            .bottleneck
            .findings
            .iter()
            .filter(|f| f.kind != x.bottleneck.primary)
        {
            s.push_str(&format!(
                "  also {}: {}\n",
                analysis::title(&f.kind),
                f.evidence
            ));
        }
        if let Some(best) = x.max_sustained_tps {
            s.push_str(&format!("  highest sustained rate: {best:.0} tx/s\n"));
        }
        let gen_cpu = x.generator.cpu_avg;
        s.push_str(&format!(
            "  generator CPU {:.1} % of one core (peak {:.1} %)",
            gen_cpu * 100.0,
            x.generator.cpu_max * 100.0
        ));
        if let Some(n) = &x.node_process {
            s.push_str(&format!(
                ", node CPU {:.2} cores (peak {:.2}), node RSS {:.0} MiB",
                n.cpu_avg,
                n.cpu_max,
                n.rss_max_bytes as f64 / 1048576.0
            ));
        }
        s.push('\n');
    }
    s
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Progress: a live line on a terminal, structured log lines otherwise.
struct Reporter {
    bar: Option<indicatif::ProgressBar>,
    last: Mutex<Option<String>>,
}

impl Reporter {
    fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::new_spinner();
            b.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {elapsed_precise} {wide_msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        Self {
            bar,
            last: Mutex::new(None),
        }
    }
}

impl Progress for Reporter {
    fn phase(&self, message: &str) {
        match &self.bar {
            Some(b) => b.set_message(message.to_string()),
            None => tracing::info!(phase = message, "bench"),
        }
    }

    fn tick(&self, round: &str, s: &SecondSample, planned: Option<u64>) {
        let of = planned.map_or(String::new(), |p| format!("/{p}"));
        let line = format!(
            "{round}: sent {}{of} confirmed {} failed {} waiting {} · {:.0} tx/s · latency {} · gen CPU {:.0}%",
            s.submitted,
            s.confirmed,
            s.failed,
            s.outstanding,
            s.tps,
            s.latency_avg.map_or("-".into(), |l| format!("{l:.2}s")),
            s.generator_cpu * 100.0
        );
        match &self.bar {
            Some(b) => b.set_message(line),
            None => {
                tracing::info!(
                    round,
                    t = format!("{:.0}", s.t),
                    submitted = s.submitted,
                    confirmed = s.confirmed,
                    failed = s.failed,
                    outstanding = s.outstanding,
                    tps = format!("{:.0}", s.tps),
                    "bench progress"
                );
                if let Ok(mut l) = self.last.lock() {
                    *l = Some(line);
                }
            }
        }
    }

    fn round_done(&self, r: &RoundReport) {
        match &self.bar {
            Some(b) => b.println(format!("{}: {}", r.label, r.bottleneck.summary)),
            None => {
                tracing::info!(round = %r.label, confirmed = r.confirmed, failed = r.failed, verdict = %r.bottleneck.primary, "round done")
            }
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
