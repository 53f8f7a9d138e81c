//! The shipped Grafana dashboards against a real Prometheus (Debian's `prometheus`) scraping
//! a daemon that monitors a managed anvil and a litecoind, backs the anvil up and drills it,
//! and pages a webhook about a dead node: every panel's query returns data
//! (`chainops dashboards check`), and the copies in `deploy/grafana` are what the generator
//! writes today.

use crate::harness::*;
use crate::litecoin::Litecoind;
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn the_shipped_files_are_what_the_generator_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Built-in defaults (no config file): what `deploy/grafana` was generated with.
    let out = Command::new(env!("CARGO_BIN_EXE_chainops"))
        .args(["dashboards", "export", "--json", "--out-dir"])
        .arg(dir.path())
        .current_dir(dir.path())
        .env_remove("CHAINOPS_CONFIG")
        .output()
        .expect("export");
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let files = v["files"].as_array().expect("files");
    assert_eq!(files.len(), 7, "{v}");
    let shipped = workspace_root().join("deploy/grafana");
    for f in files {
        let path = std::path::PathBuf::from(f.as_str().expect("path"));
        let name = path.file_name().expect("name");
        let fresh = std::fs::read_to_string(&path).expect("generated");
        let kept = std::fs::read_to_string(shipped.join(name)).unwrap_or_default();
        assert!(
            fresh == kept,
            "deploy/grafana/{} is stale: regenerate with `chainops dashboards export --out-dir deploy/grafana` (from a directory without chainops.toml)",
            name.to_string_lossy()
        );
    }
    // The rule file beside them is valid for promtool.
    let promtool = tool("promtool", "CHAINOPS_TEST_PROMTOOL", ".tools/bin/promtool");
    let out = Command::new(promtool)
        .args(["check", "rules"])
        .arg(shipped.join("chainops-rules.yml"))
        .output()
        .expect("promtool");
    assert!(out.status.success(), "{out:?}");
    // A bad --prometheus is named.
    let out = chainops(&["dashboards", "check", "--prometheus", "not a url"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--prometheus"));
}

#[test]
fn every_dashboard_query_returns_data_from_a_real_prometheus() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ltc = Litecoind::start_opts(&dir.path().join("ltc"), "raw(51)", false);
    ltc.rpc("generatetodescriptor", serde_json::json!([3, "raw(51)"]));
    let secret = dir.path().join("ltc.secret");
    std::fs::write(&secret, crate::litecoin::AUTH.1).expect("secret");
    let rx = Receiver::start();
    let (port, dead) = (free_port(), free_port());
    let anvil_dir = dir.path().join("anvil-data");
    std::fs::create_dir_all(&anvil_dir).expect("mkdir");
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "pw\n").expect("password file");
    let config = format!(
        "{anvil}{dead}\
         [[nodes]]\nname = \"ltc-1\"\nchain = \"ltc-regtest\"\nkind = \"bitcoin\"\nrpc_url = \"{ltc}\"\nrpc_user = \"{user}\"\nrpc_password_file = \"{secret}\"\nstall_after = \"1h\"\ntimeout = \"2s\"\n\
         [alerting]\neval_interval = \"500ms\"\n[[notifiers]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{hook}\"\nsecret = \"s\"\n\
         [[backups]]\nname = \"anvil-dump\"\nnode = \"anvil-1\"\nschedule = \"*/3 * * * * *\"\ncapture = \"dump\"\nrepo = \"{repo}\"\npassword_file = \"{pw}\"\nkeep_last = 2\ndrill_schedule = \"*/7 * * * * *\"\ndrill_command = \"{bin}\"\n",
        anvil = evm_node(
            "anvil-1",
            &format!("http://127.0.0.1:{port}"),
            &format!(
                "managed = true\ncommand = \"{}\"\nargs = [\"--host\", \"127.0.0.1\", \"--port\", \"{port}\", \"--block-time\", \"1\"]\ndata_dir = \"{}\"\nstall_after = \"1h\"",
                anvil_bin().display(),
                anvil_dir.display()
            )
        ),
        dead = evm_node("gone", &format!("http://127.0.0.1:{dead}"), ""),
        ltc = ltc.url(),
        user = crate::litecoin::AUTH.0,
        secret = secret.display(),
        hook = rx.url,
        repo = dir.path().join("repo").display(),
        pw = pw.display(),
        bin = anvil_bin().display(),
    );
    let d = Daemon::start(dir.path(), &config);
    let target = d.base.trim_start_matches("http://").to_string();

    let prom_port = free_port();
    let prom_cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &prom_cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: chainops\n    metrics_path: /metrics\n    authorization:\n      type: Bearer\n      credentials: {token}\n    static_configs:\n      - targets: [\"{target}\"]\n",
            token = d.token
        ),
    )
    .expect("prometheus.yml");
    let prometheus = tool(
        "prometheus",
        "CHAINOPS_TEST_PROMETHEUS",
        ".tools/bin/prometheus",
    );
    let child = Command::new(prometheus)
        .arg(format!("--config.file={}", prom_cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("prometheus.log")).expect("log"))
        .spawn()
        .expect("spawn prometheus");
    let _prom = Proc {
        child,
        name: "prometheus".into(),
    };
    let url = format!("http://127.0.0.1:{prom_port}");

    // Until every query has data: a scrape or two for the gauges, a drill, a delivered
    // NodeDown page, rate windows with two points.
    let mut last = Value::Null;
    let ok = wait_for_opt(Duration::from_secs(150), || {
        let out = chainops(&["dashboards", "check", "--json", "--prometheus", &url]);
        last = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        out.status.success().then_some(())
    });
    let empty: Vec<String> = last["queries"]
        .as_array()
        .map(|q| {
            q.iter()
                .filter(|r| r["series"].as_u64().is_none_or(|n| n == 0))
                .map(|r| {
                    format!(
                        "{} / {}: {} {}",
                        r["dashboard"], r["panel"], r["expr"], r["error"]
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert!(
        ok.is_some(),
        "panels without data after 150 s:\n{}",
        empty.join("\n")
    );
    assert!(
        last["queries"].as_array().is_some_and(|q| q.len() > 30),
        "{last}"
    );
    // The dead node is paged too (NodeDown waits out its 15 s).
    wait_for("NodeDown paged", Duration::from_secs(60), || {
        (rx.count("NodeDown", "firing") >= 1).then_some(())
    });
}
