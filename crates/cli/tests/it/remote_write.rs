//! `[history] remote_write` against real TSDBs: Debian's `victoria-metrics` and `prometheus`
//! (remote-write receiver). After monitoring a real anvil, `chainops_block_height` in the TSDB
//! holds exactly the embedded store's samples; VictoriaMetrics stopped for 30 s and started
//! again loses none of them (the on-disk queue holds them meanwhile).

use crate::harness::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

fn start_vm(dir: &Path, port: u16) -> Proc {
    let child = Command::new(tool(
        "victoria-metrics",
        "CHAINOPS_TEST_VICTORIA_METRICS",
        ".tools/bin/victoria-metrics",
    ))
    .arg(format!("-storageDataPath={}", dir.display()))
    .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
    .arg("-retentionPeriod=1")
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("spawn victoria-metrics");
    let p = Proc {
        child,
        name: "victoria-metrics".into(),
    };
    wait_for("victoria-metrics up", T, || {
        http()
            .get(format!("http://127.0.0.1:{port}/health"))
            .send()
            .ok()
            .filter(|r| r.status().is_success())
    });
    p
}

/// The embedded store's raw `height` points of `node` older than `before_ms`.
fn embedded(d: &Daemon, node: &str, before_ms: i64) -> BTreeSet<(i64, u64)> {
    let s = d.json(&format!(
        "/api/v1/series?node={node}&metric=height&from=now-30m&step=raw"
    ));
    s["points"]
        .as_array()
        .expect("points")
        .iter()
        .filter_map(|p| Some((p["t"].as_i64()?, p["v"].as_f64()? as u64)))
        .filter(|(t, _)| *t < before_ms)
        .collect()
}

/// `chainops_block_height{node}` samples in VictoriaMetrics (export API: raw samples).
fn in_vm(port: u16, node: &str) -> BTreeSet<(i64, u64)> {
    // Recent samples become searchable after an in-memory flush: ask for one.
    let _ = http()
        .get(format!("http://127.0.0.1:{port}/internal/force_flush"))
        .send();
    let url = format!(
        "http://127.0.0.1:{port}/api/v1/export?match[]=chainops_block_height{{node=\"{node}\"}}"
    );
    let Ok(text) = http().get(url).send().and_then(|r| r.text()) else {
        return BTreeSet::new();
    };
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("export line");
        assert_eq!(v["metric"]["chain"], "devnet", "{v}");
        let (ts, vals) = (
            v["timestamps"].as_array().expect("ts"),
            v["values"].as_array().expect("values"),
        );
        for (t, x) in ts.iter().zip(vals) {
            out.insert((t.as_i64().expect("t"), x.as_f64().expect("v") as u64));
        }
    }
    out
}

/// Waits until every embedded sample older than `before_ms` is in `got()`.
fn all_arrive(
    d: &Daemon,
    before_ms: i64,
    what: &str,
    mut got: impl FnMut() -> BTreeSet<(i64, u64)>,
) -> usize {
    let want = embedded(d, "anvil-1", before_ms);
    assert!(want.len() >= 5, "too few samples to compare: {want:?}");
    let mut missing = Vec::new();
    let ok = wait_for_opt(T, || {
        let have = got();
        missing = want.difference(&have).copied().collect();
        missing.is_empty().then_some(())
    });
    assert!(
        ok.is_some(),
        "{what}: {} of {} samples missing, e.g. {:?}",
        missing.len(),
        want.len(),
        &missing[..missing.len().min(5)]
    );
    want.len()
}

fn remote_config(anvil: &Anvil, url: &str) -> String {
    format!(
        "[history]\n[[history.remote_write]]\nname = \"tsdb\"\nurl = \"{url}\"\nflush_interval = \"300ms\"\ntimeout = \"2s\"\n{}",
        evm_node("anvil-1", &anvil.url(), "poll_interval = \"500ms\"")
    )
}

#[test]
fn victoria_metrics_gets_every_sample_even_across_a_30_s_outage() {
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let vm_dir = dir.path().join("vm");
    let port = free_port();
    let mut vm = start_vm(&vm_dir, port);
    let d = Daemon::start(
        dir.path(),
        &remote_config(&anvil, &format!("http://127.0.0.1:{port}/api/v1/write")),
    );
    std::thread::sleep(Duration::from_secs(6));
    let n = all_arrive(&d, chainops_now_ms() - 1500, "before the outage", || {
        in_vm(port, "anvil-1")
    });
    assert!(n >= 5);

    // Stopped for 30 s: the daemon queues on disk and says so.
    assert!(vm.terminate().success());
    std::thread::sleep(Duration::from_secs(30));
    let text = d.metrics();
    let queued = metric_value(
        &text,
        "chainops_remote_write_queue_bytes",
        &[("target", "tsdb")],
    )
    .expect("queue metric");
    assert!(queued > 0.0, "nothing queued during the outage");
    let _vm = start_vm(&vm_dir, port);
    let n = all_arrive(&d, chainops_now_ms() - 1500, "after the outage", || {
        in_vm(port, "anvil-1")
    });
    assert!(n >= 60, "the outage's samples are compared too ({n})");
    // A second daemon reads its history from VictoriaMetrics: the same raw samples as the
    // first one's store, and minute rollups from it.
    let dir2 = tempfile::tempdir().expect("tempdir");
    let d2 = Daemon::start(
        dir2.path(),
        &format!(
            "[history]\nbackend = \"prometheus\"\n[history.prometheus]\nurl = \"http://127.0.0.1:{port}\"\n{}",
            evm_node("anvil-1", &anvil.url(), "poll_interval = \"1h\"")
        ),
    );
    let cut = chainops_now_ms() - 3000;
    let want = embedded(&d, "anvil-1", cut);
    let from_vm = wait_for("the VM-backed series API has every sample", T, || {
        let have = embedded(&d2, "anvil-1", cut);
        (have == want).then_some(have)
    });
    assert!(from_vm.len() >= 60);
    let minutes = d2.json("/api/v1/series?node=anvil-1&metric=height&from=now-10m&step=1m");
    let pts = minutes["points"].as_array().expect("points");
    assert!(!pts.is_empty(), "{minutes}");
    for p in pts {
        let (v, min, max) = (
            p["v"].as_f64().expect("v"),
            p["min"].as_f64().expect("min"),
            p["max"].as_f64().expect("max"),
        );
        assert!(min <= v && v <= max && p["last"].is_number(), "{p}");
    }
    // A TSDB that is down is a clear upstream error, not an empty chart.
    drop(_vm);
    let r = d2.get("/api/v1/series?node=anvil-1&metric=height&from=now-5m");
    assert_eq!(r.status(), 502, "{:?}", r.text());

    let text = d.metrics();
    for outcome in ["dropped", "rejected"] {
        assert_eq!(
            metric_value(
                &text,
                "chainops_remote_write_samples_total",
                &[("target", "tsdb"), ("outcome", outcome)]
            ),
            Some(0.0),
            "{outcome}"
        );
    }
}

#[test]
fn prometheus_remote_write_receiver_gets_the_same_samples() {
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(&cfg, "global:\n  scrape_interval: 1m\n").expect("config");
    let child = Command::new(tool(
        "prometheus",
        "CHAINOPS_TEST_PROMETHEUS",
        ".tools/bin/prometheus",
    ))
    .arg(format!("--config.file={}", cfg.display()))
    .arg(format!(
        "--storage.tsdb.path={}",
        dir.path().join("tsdb").display()
    ))
    .arg(format!("--web.listen-address=127.0.0.1:{port}"))
    .arg("--web.enable-remote-write-receiver")
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("spawn prometheus");
    let _prom = Proc {
        child,
        name: "prometheus".into(),
    };
    wait_for("prometheus ready", T, || {
        http()
            .get(format!("http://127.0.0.1:{port}/-/ready"))
            .send()
            .ok()
            .filter(|r| r.status().is_success())
    });
    let d = Daemon::start(
        dir.path(),
        &remote_config(&anvil, &format!("http://127.0.0.1:{port}/api/v1/write")),
    );
    std::thread::sleep(Duration::from_secs(6));
    let got = || {
        let url = format!(
            "http://127.0.0.1:{port}/api/v1/query?query=chainops_block_height%7Bnode%3D%22anvil-1%22%7D%5B30m%5D"
        );
        let v: Value = http()
            .get(url)
            .send()
            .and_then(|r| r.json())
            .unwrap_or(Value::Null);
        v["data"]["result"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s["values"].as_array().cloned().unwrap_or_default())
            .filter_map(|p| {
                let t = (p[0].as_f64()? * 1000.0).round() as i64;
                let v: f64 = p[1].as_str()?.parse().ok()?;
                Some((t, v as u64))
            })
            .collect::<BTreeSet<_>>()
    };
    all_arrive(&d, chainops_now_ms() - 1500, "in Prometheus", got);
}

fn chainops_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
