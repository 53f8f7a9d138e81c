//! Scheduled `[[backups]]` in the daemon against a real anvil: jobs run on their cron
//! schedule, every run is recorded (API, CLI, metrics), retention keeps what it should,
//! drills boot the snapshot, a failing job raises `BackupFailed` at a webhook, and a managed
//! node is stopped for the copy and started again with its state.

use crate::harness::*;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

fn runs(d: &Daemon, job: &str) -> Vec<Value> {
    d.json(&format!("/api/v1/backups/runs?job={job}&limit=100"))["runs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn count(runs: &[Value], kind: &str, ok: bool) -> usize {
    runs.iter()
        .filter(|r| r["kind"] == kind && r["ok"] == ok)
        .count()
}

fn chainops(args: &[&str], config: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_chainops"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env("CHAINOPS_BACKUP_PASSWORD", "pw")
        .env_remove("CHAINOPS_BACKUP_REPO")
        .output()
        .expect("run chainops")
}

#[test]
fn scheduled_backups_are_recorded_retained_drilled_and_failures_alert() {
    let anvil = Anvil::start(&[]);
    let rx = Receiver::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let (repo, pw) = (dir.path().join("repo"), dir.path().join("pw"));
    std::fs::write(&pw, "pw\n").expect("password file");
    let config = format!(
        "{node}[alerting]\neval_interval = \"500ms\"\n[[notifiers]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{hook}\"\nsecret = \"s\"\n\
         [[backups]]\nname = \"anvil-dump\"\nnode = \"anvil-1\"\nschedule = \"*/2 * * * * *\"\ncapture = \"dump\"\nrepo = \"{repo}\"\npassword_file = \"{pw}\"\nkeep_last = 2\ndrill_schedule = \"*/7 * * * * *\"\ndrill_command = \"{anvil}\"\n\
         [[backups]]\nname = \"broken\"\nnode = \"anvil-1\"\nschedule = \"*/2 * * * * *\"\ncapture = \"dump\"\nrepo = \"{repo2}\"\npassword_file = \"{missing}\"\n",
        node = evm_node("anvil-1", &anvil.url(), ""),
        anvil = anvil_bin().display(),
        hook = rx.url,
        repo = repo.display(),
        pw = pw.display(),
        repo2 = dir.path().join("repo2").display(),
        missing = dir.path().join("no-such-password").display(),
    );
    let mut d = Daemon::start(dir.path(), &config);

    let done = wait_for("3 backups and a drill", T, || {
        let r = runs(&d, "anvil-dump");
        (count(&r, "backup", true) >= 3 && count(&r, "drill", true) >= 1).then_some(r)
    });
    assert_eq!(count(&done, "backup", false), 0, "{done:?}");
    let backup = done
        .iter()
        .find(|r| r["kind"] == "backup")
        .expect("a backup");
    assert!(backup["snapshot"].as_str().is_some_and(|s| s.len() == 64));
    assert!(backup["bytes_read"].as_i64().is_some_and(|b| b > 0));
    assert_eq!(backup["detail"]["mode"], "dump");
    assert!(backup["detail"]["height"].is_u64());
    let drill = done.iter().find(|r| r["kind"] == "drill").expect("a drill");
    assert_eq!(
        drill["detail"]["expected_hash"],
        drill["detail"]["found_hash"]
    );

    // The broken job fails, says why, and raises BackupFailed at the webhook.
    let broken = wait_for("a failed run", T, || {
        runs(&d, "broken").into_iter().find(|r| r["ok"] == false)
    });
    assert!(
        broken["error"]
            .as_str()
            .is_some_and(|e| e.contains("password file")),
        "{broken}"
    );
    wait_for("BackupFailed notification", T, || {
        (rx.count("BackupFailed", "firing") >= 1).then_some(())
    });

    let m = d.metrics();
    let ok = metric_value(
        &m,
        "chainops_backup_runs_total",
        &[("job", "anvil-dump"), ("kind", "backup"), ("result", "ok")],
    )
    .expect("runs metric");
    assert!(ok >= 3.0, "{ok}");
    assert_eq!(
        metric_value(&m, "chainops_backup_failed", &[("job", "broken")]),
        Some(1.0)
    );
    assert_eq!(
        metric_value(&m, "chainops_backup_failed", &[("job", "anvil-dump")]),
        Some(0.0)
    );
    assert!(
        metric_value(
            &m,
            "chainops_backup_last_success_timestamp_seconds",
            &[("job", "anvil-dump")]
        )
        .is_some()
    );
    assert!(d.proc.terminate().success());

    // Retention kept two; the repository checks clean; the CLI lists the recorded runs.
    let cfg = dir.path().join("chainops.toml");
    let repo_arg = repo.display().to_string();
    let list = chainops(&["backup", "list", "--json", "--repo", &repo_arg], &cfg);
    assert!(list.status.success(), "{list:?}");
    let snaps: Value = serde_json::from_slice(&list.stdout).expect("json");
    assert_eq!(snaps.as_array().map(Vec::len), Some(2), "{snaps}");
    let check = chainops(
        &["backup", "check", "--read-data", "--repo", &repo_arg],
        &cfg,
    );
    assert!(check.status.success(), "{check:?}");
    let out = chainops(&["backup", "runs", "--job", "broken", "--json"], &cfg);
    let recorded: Value = serde_json::from_slice(&out.stdout).expect("runs json");
    assert!(recorded.as_array().is_some_and(|r| !r.is_empty()));

    // A job run by hand is recorded too; an unknown job is named.
    let out = chainops(&["backup", "run-job", "anvil-dump", "--json"], &cfg);
    assert!(out.status.success(), "{out:?}");
    let run: Value = serde_json::from_slice(&out.stdout).expect("run json");
    assert_eq!(run["ok"], true);
    let out = chainops(&["backup", "run-job", "nightly"], &cfg);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("anvil-dump, broken"));
}

#[test]
fn a_managed_node_is_stopped_for_the_copy_and_started_again_with_its_state() {
    let port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let state_dir = dir.path().join("anvil-state");
    std::fs::create_dir_all(&state_dir).expect("mkdir");
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "pw\n").expect("password file");
    let extra = format!(
        "managed = true\ncommand = \"{anvil}\"\nargs = [\"--host\", \"127.0.0.1\", \"--port\", \"{port}\", \"--block-time\", \"1\", \"--state\", \"{state}\"]\n",
        anvil = anvil_bin().display(),
        state = state_dir.join("state.json").display(),
    );
    let config = format!(
        "{node}[[backups]]\nname = \"cold\"\nnode = \"managed\"\nschedule = \"*/5 * * * * *\"\ncapture = \"stop\"\npaths = [\"{state}\"]\nrepo = \"{repo}\"\npassword_file = \"{pw}\"\n",
        node = evm_node("managed", &format!("http://127.0.0.1:{port}"), &extra),
        state = state_dir.display(),
        repo = dir.path().join("repo").display(),
        pw = pw.display(),
    );
    let mut d = Daemon::start(dir.path(), &config);
    let before = d.wait_node("managed", "managed node up", T, |n| {
        n["up"] == true && n["managed"]["pid"].is_u64()
    });
    let pid = before["managed"]["pid"].as_u64().expect("pid");

    let run = wait_for("a cold backup", T, || {
        runs(&d, "cold").into_iter().find(|r| r["kind"] == "backup")
    });
    assert_eq!(run["ok"], true, "{run}");
    assert_eq!(run["detail"]["mode"], "stopped");
    let height = run["detail"]["height"].as_u64().expect("height recorded");

    // Started again (a new process, not counted as a crash restart) on its saved state.
    let after = d.wait_node("managed", "started again", T, |n| {
        n["up"] == true && n["managed"]["pid"].is_u64() && n["managed"]["pid"].as_u64() != Some(pid)
    });
    assert_eq!(after["managed"]["restarts"], 0, "{after}");
    // Same chain after the restart: the block recorded at capture has the recorded hash.
    // (Retried: the next scheduled run may be holding the node stopped for a moment.)
    let url = format!("http://127.0.0.1:{port}");
    let hash = wait_for("the restarted node answers", T, || {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber", "params": [format!("0x{height:x}"), false]});
        let v: Value = reqwest::blocking::Client::new()
            .post(&url)
            .json(&body)
            .send()
            .ok()?
            .json()
            .ok()?;
        v["result"]["hash"].as_str().map(str::to_string)
    });
    assert_eq!(
        Some(hash.as_str()),
        run["detail"]["hash"].as_str(),
        "state survived the stop"
    );
    assert!(d.proc.terminate().success());

    // The snapshot holds the state anvil wrote when it was stopped.
    let out = Command::new(env!("CARGO_BIN_EXE_chainops"))
        .args(["backup", "restore", "latest", "--target"])
        .arg(dir.path().join("out"))
        .args(["--repo"])
        .arg(dir.path().join("repo"))
        .env("CHAINOPS_BACKUP_PASSWORD", "pw")
        .output()
        .expect("restore");
    assert!(out.status.success(), "{out:?}");
    let restored = std::fs::read(dir.path().join("out/anvil-state/state.json")).expect("state");
    let state: Value = serde_json::from_slice(&restored).expect("anvil state json");
    assert!(state.get("block").is_some() || state.get("accounts").is_some());
}
