//! Given a real anvil and a local webhook receiver, alerts go pending → firing → resolved,
//! arrive signed, are inhibited by NodeDown, survive daemon restarts without duplicates and
//! reach a receiver that was failing once it recovers.

use crate::harness::*;
use hmac::{Hmac, KeyInit, Mac};
use nix::sys::signal::Signal;
use serde_json::json;
use std::time::Duration;

const T: Duration = Duration::from_secs(40);
const SECRET: &str = "s3cret";

fn config(anvil: &Anvil, receiver: &Receiver, rules: &str) -> String {
    format!(
        "{}[alerting]\neval_interval = \"500ms\"\n{rules}\n[[notifiers]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\nsecret = \"{SECRET}\"\n",
        evm_node("anvil-1", &anvil.url(), "stall_after = \"3s\""),
        receiver.url
    )
}

const STALL_RULE: &str = "[[rules]]\nname = \"HeadStalled\"\nseverity = \"critical\"\nexpr = \"head_age_seconds > stall_after_seconds\"\nfor = \"2s\"\ninhibited_by = [\"NodeDown\"]\n";

fn alert_state(d: &Daemon, rule: &str) -> Option<String> {
    let alerts = d.json("/api/v1/alerts");
    alerts
        .as_array()?
        .iter()
        .find(|a| a["rule"] == rule && a["state"] != "resolved")
        .and_then(|a| a["state"].as_str().map(String::from))
}

#[test]
fn head_stalled_goes_pending_then_firing_arrives_signed_and_resolves() {
    let anvil = Anvil::start(&[]);
    let rx = Receiver::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = Daemon::start(dir.path(), &config(&anvil, &rx, STALL_RULE));
    d.wait_node("anvil-1", "ok", T, |n| n["status"] == "ok");
    anvil.rpc("evm_setIntervalMining", json!([0]));
    wait_for("HeadStalled pending", T, || {
        (alert_state(&d, "HeadStalled").as_deref() == Some("pending")).then_some(())
    });
    wait_for("HeadStalled firing", T, || {
        (alert_state(&d, "HeadStalled").as_deref() == Some("firing")).then_some(())
    });
    wait_for("firing notification", T, || {
        (rx.count("HeadStalled", "firing") == 1).then_some(())
    });

    let req = rx
        .requests
        .lock()
        .expect("lock")
        .iter()
        .find(|r| r.body.contains("\"firing\""))
        .cloned()
        .expect("request");
    let ts = req
        .headers
        .get("x-chainops-timestamp")
        .expect("timestamp header");
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(format!("{ts}.{}", req.body).as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        req.headers.get("x-chainops-signature"),
        Some(&format!("sha256={expected}"))
    );
    assert!(req.headers.contains_key("x-chainops-delivery"));
    let body: serde_json::Value = serde_json::from_str(&req.body).expect("json");
    assert_eq!(
        (
            body["alert"]["node"].as_str(),
            body["alert"]["severity"].as_str()
        ),
        (Some("anvil-1"), Some("critical"))
    );

    anvil.rpc("evm_setIntervalMining", json!([1]));
    wait_for("resolved notification", T, || {
        (rx.count("HeadStalled", "resolved") == 1).then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        (
            rx.count("HeadStalled", "firing"),
            rx.count("HeadStalled", "resolved")
        ),
        (1, 1)
    );
}

#[test]
fn node_down_fires_and_inhibits_head_stalled() {
    let mut anvil = Anvil::start(&[]);
    let rx = Receiver::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = format!(
        "{STALL_RULE}[[rules]]\nname = \"NodeDown\"\nseverity = \"critical\"\nexpr = \"up < 1\"\nfor = \"2s\"\n"
    );
    let d = Daemon::start(dir.path(), &config(&anvil, &rx, &rules));
    d.wait_node("anvil-1", "ok", T, |n| n["status"] == "ok");
    anvil.proc.signal(Signal::SIGKILL);
    let _ = anvil.proc.child.wait();
    wait_for("NodeDown notification", T, || {
        (rx.count("NodeDown", "firing") == 1).then_some(())
    });
    // Head age keeps growing past stall_after while the node is down: inhibited, not fired.
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(
        rx.count("HeadStalled", "firing"),
        0,
        "HeadStalled must be inhibited by NodeDown"
    );
    assert_eq!(alert_state(&d, "HeadStalled"), None);
}

#[test]
fn restart_while_firing_sends_no_duplicate_and_a_failing_receiver_gets_it_once() {
    let anvil = Anvil::start(&[]);
    let rx = Receiver::start();
    rx.set_status(500);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(&anvil, &rx, STALL_RULE);
    let mut d = Daemon::start(dir.path(), &cfg);
    d.wait_node("anvil-1", "ok", T, |n| n["status"] == "ok");
    anvil.rpc("evm_setIntervalMining", json!([0]));
    wait_for("firing", T, || {
        (alert_state(&d, "HeadStalled").as_deref() == Some("firing")).then_some(())
    });
    wait_for("a failed attempt", T, || {
        let n = d.json("/api/v1/notifications?state=pending");
        n.as_array()
            .and_then(|a| a.first())
            .filter(|x| x["attempts"].as_i64() >= Some(1))
            .map(|x| x["last_error"].clone())
    });
    assert!(d.proc.terminate().success());
    let d = Daemon::start(dir.path(), &cfg);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        alert_state(&d, "HeadStalled").as_deref(),
        Some("firing"),
        "firing state must survive the restart"
    );
    rx.set_status(200);
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while rx.count("HeadStalled", "firing") != 1 {
        if std::time::Instant::now() > deadline {
            let log = std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default();
            panic!(
                "no delivery after the receiver recovered\nnotifications: {}\nrequests: {:?}\nlog:\n{log}",
                d.json("/api/v1/notifications"),
                rx.requests
                    .lock()
                    .expect("lock")
                    .iter()
                    .map(|r| r.status)
                    .collect::<Vec<_>>()
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        rx.count("HeadStalled", "firing"),
        1,
        "exactly one firing notification"
    );
    anvil.rpc("evm_setIntervalMining", json!([1]));
    wait_for("resolved notification", T, || {
        (rx.count("HeadStalled", "resolved") == 1).then_some(())
    });
    let sent = d.json("/api/v1/notifications?state=sent");
    assert_eq!(sent.as_array().expect("array").len(), 2, "{sent}");
}

/// A real Prometheus Alertmanager 0.25 on a free port.
struct Alertmanager {
    _proc: Proc,
    url: String,
}

impl Alertmanager {
    fn start(dir: &std::path::Path) -> Alertmanager {
        let cfg = dir.join("alertmanager.yml");
        std::fs::write(
            &cfg,
            "route:\n  receiver: \"null\"\nreceivers:\n  - name: \"null\"\n",
        )
        .expect("am config");
        let port = free_port();
        let bin = tool(
            "prometheus-alertmanager",
            "CHAINOPS_TEST_ALERTMANAGER",
            ".tools/bin/alertmanager",
        );
        let child = std::process::Command::new(bin)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!("--storage.path={}", dir.join("am-data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("alertmanager.log")).expect("log"))
            .spawn()
            .expect("spawn alertmanager");
        let am = Alertmanager {
            _proc: Proc {
                child,
                name: "alertmanager".into(),
            },
            url: format!("http://127.0.0.1:{port}"),
        };
        wait_for("alertmanager ready", T, || {
            reqwest::blocking::get(format!("{}/-/ready", am.url))
                .ok()
                .filter(|r| r.status().is_success())
        });
        am
    }

    fn active(&self, alertname: &str) -> Vec<serde_json::Value> {
        let v: serde_json::Value = reqwest::blocking::get(format!("{}/api/v2/alerts", self.url))
            .and_then(|r| r.json())
            .unwrap_or_default();
        v.as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|a| a["labels"]["alertname"] == alertname)
            .collect()
    }
}

#[test]
fn a_real_alertmanager_receives_and_resolves_our_alerts() {
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let am = Alertmanager::start(dir.path());
    let cfg = format!(
        "{}[alerting]\neval_interval = \"500ms\"\n{STALL_RULE}\n[[notifiers]]\nname = \"am\"\nkind = \"alertmanager\"\nurl = \"{}\"\n",
        evm_node("anvil-1", &anvil.url(), "stall_after = \"3s\""),
        am.url
    );
    let d = Daemon::start(dir.path(), &cfg);
    d.wait_node("anvil-1", "ok", T, |n| n["status"] == "ok");
    anvil.rpc("evm_setIntervalMining", json!([0]));
    let alert = wait_for("Alertmanager to hold HeadStalled", T, || {
        am.active("HeadStalled").into_iter().next()
    });
    assert_eq!(alert["labels"]["node"], "anvil-1");
    assert_eq!(alert["labels"]["severity"], "critical");
    assert_eq!(alert["status"]["state"], "active");
    anvil.rpc("evm_setIntervalMining", json!([1]));
    wait_for("Alertmanager to see it resolved", T, || {
        am.active("HeadStalled").is_empty().then_some(())
    });
}

#[test]
fn a_silence_suppresses_notifications_but_not_the_alert() {
    let anvil = Anvil::start(&[]);
    let rx = Receiver::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = Daemon::start(dir.path(), &config(&anvil, &rx, STALL_RULE));
    d.wait_node("anvil-1", "ok", T, |n| n["status"] == "ok");

    let bad = d.post(
        "/api/v1/silences",
        &json!({"matchers": {}, "duration": "1h", "comment": "x"}),
    );
    assert_eq!(bad.status(), 400);
    let err: serde_json::Value = bad.json().expect("json");
    assert_eq!(err["code"], "invalid_input");
    assert!(
        err["message"]
            .as_str()
            .expect("message")
            .contains("matchers")
    );
    assert_eq!(
        d.post(
            "/api/v1/silences",
            &json!({"matchers": {"node": "anvil-1"}, "duration": "1h"})
        )
        .status(),
        400
    );

    // A matcher on a label no rule or alert has is refused with the labels that exist, or
    // accepted with a warning when asked for (issue 15 item 5).
    let typo = d.post(
        "/api/v1/silences",
        &json!({"matchers": {"nod": "anvil-1"}, "duration": "1h", "comment": "typo"}),
    );
    assert_eq!(typo.status(), 400);
    let msg = typo.json::<serde_json::Value>().expect("json")["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        msg.contains("nod")
            && msg.contains("node, severity")
            && msg.contains("allow_unknown_labels"),
        "{msg}"
    );
    let forced = d.post("/api/v1/silences", &json!({"matchers": {"nod": "anvil-1"}, "duration": "1h", "comment": "typo", "allow_unknown_labels": true}));
    assert_eq!(forced.status(), 201);
    let forced: serde_json::Value = forced.json().expect("json");
    assert!(
        forced["warnings"][0].as_str().unwrap_or("").contains("nod"),
        "{forced}"
    );
    assert_eq!(
        d.delete(&format!(
            "/api/v1/silences/{}",
            forced["id"].as_str().expect("id")
        ))
        .status(),
        204
    );
    let created = d.post("/api/v1/silences", &json!({"matchers": {"node": "anvil-1", "alertname": "HeadStalled"}, "duration": "1h", "comment": "planned maintenance"}));
    assert_eq!(created.status(), 201);
    let silence: serde_json::Value = created.json().expect("json");
    let id = silence["id"].as_str().expect("id").to_string();
    assert_eq!(d.json("/api/v1/silences")[0]["id"], id.as_str());

    anvil.rpc("evm_setIntervalMining", json!([0]));
    wait_for("HeadStalled firing", T, || {
        (alert_state(&d, "HeadStalled").as_deref() == Some("firing")).then_some(())
    });
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        rx.count("HeadStalled", "firing"),
        0,
        "a silenced alert must not notify"
    );
    // The alert list says it is silenced, by which silence and until when (issue 15 item 4).
    let listed = d.json("/api/v1/alerts");
    let alert = listed
        .as_array()
        .and_then(|a| a.iter().find(|a| a["rule"] == "HeadStalled"))
        .cloned()
        .expect("HeadStalled listed");
    assert_eq!(alert["silenced"]["id"], id.as_str(), "{alert:#}");
    assert_eq!(alert["silenced"]["until"], silence["ends_at"]);
    assert!(alert["acknowledged"].is_null());

    assert_eq!(d.delete(&format!("/api/v1/silences/{id}")).status(), 204);
    assert_eq!(d.delete(&format!("/api/v1/silences/{id}")).status(), 404);
    assert!(
        d.json("/api/v1/silences")
            .as_array()
            .expect("array")
            .is_empty()
    );
}

#[test]
fn notify_test_proves_a_channel_and_reports_failures() {
    let rx = Receiver::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, format!("[[notifiers]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\nsecret = \"{SECRET}\"\n", rx.url)).expect("write");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_chainops"))
            .args(args)
            .arg("--config")
            .arg(&cfg)
            .output()
            .expect("run")
    };
    let out = run(&["notify", "test", "hook", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["delivered"], true);
    assert_eq!(rx.delivered()[0]["status"], "test");
    rx.set_status(503);
    let out = run(&["notify", "test", "hook"]);
    assert_eq!(out.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP 503"));
    let out = run(&["notify", "test", "nope"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("configured: hook"));
    // Issue 15 item 17: a receiver that is not there is named with its cause, not "error
    // sending request".
    let closed = crate::harness::free_port();
    std::fs::write(
        &cfg,
        format!("[[notifiers]]\nname = \"gone\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{closed}/hook/s3cr3t\"\n"),
    )
    .expect("write");
    let out = run(&["notify", "test", "gone"]);
    assert_eq!(out.status.code(), Some(6));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "connection refused by 127.0.0.1:{closed} — is the receiver running?"
        )),
        "{err}"
    );
    assert!(
        !err.contains("s3cr3t") && !err.contains("error sending request"),
        "{err}"
    );
    // A receiver that accepts the connection and hangs up before answering.
    let hangup = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = hangup.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for conn in hangup.incoming() {
            drop(conn);
        }
    });
    std::fs::write(
        &cfg,
        format!("[[notifiers]]\nname = \"rude\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{port}/hook\"\n"),
    )
    .expect("write");
    let out = run(&["notify", "test", "rude"]);
    assert_eq!(out.status.code(), Some(6));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("127.0.0.1:{port} closed the connection")),
        "{err}"
    );
}

#[test]
fn incidents_group_a_nodes_alerts_with_a_timeline_and_take_acknowledgements() {
    let anvil = Anvil::start(&[]);
    let rx = Receiver::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = Daemon::start(dir.path(), &config(&anvil, &rx, STALL_RULE));
    d.wait_node("anvil-1", "ok", T, |n| n["status"] == "ok");
    anvil.rpc("evm_setIntervalMining", json!([0]));
    wait_for("firing notification", T, || {
        (rx.count("HeadStalled", "firing") == 1).then_some(())
    });
    let inc = wait_for("incident timeline with the delivery", T, || {
        let list = d.json("/api/v1/incidents?state=open");
        let inc = list.as_array()?.first()?.clone();
        let kinds: Vec<String> = inc["timeline"]
            .as_array()?
            .iter()
            .filter_map(|e| e["kind"].as_str().map(String::from))
            .collect();
        (kinds == ["opened", "firing", "notified"]).then_some(inc)
    });
    assert_eq!(
        (inc["node"].as_str(), inc["chain"].as_str()),
        (Some("anvil-1"), Some("devnet"))
    );
    let id = inc["id"].as_str().expect("id").to_string();

    assert_eq!(
        d.post(
            &format!("/api/v1/incidents/{id}/ack"),
            &json!({"expires": "1h"})
        )
        .status(),
        400
    );
    assert_eq!(
        d.post("/api/v1/incidents/nope/ack", &json!({"comment": "x"}))
            .status(),
        404
    );
    let acked = d.post(
        &format!("/api/v1/incidents/{id}/ack"),
        &json!({"comment": "on it: restarting the sequencer", "expires": "1h"}),
    );
    assert_eq!(acked.status(), 200);
    let acked: serde_json::Value = acked.json().expect("json");
    assert_eq!(acked["acknowledged"], true);
    let by = acked["ack"]["by"].as_str().unwrap_or_default();
    assert!(
        by.starts_with("token:") && by.ends_with("(test)"),
        "the acknowledger is the caller's identity: {by}"
    );
    // The node's unresolved alerts say who acknowledged them, until when (issue 15 item 4).
    let alerts = d.json("/api/v1/alerts");
    let open: Vec<&serde_json::Value> = alerts
        .as_array()
        .expect("alerts")
        .iter()
        .filter(|a| a["node"] == "anvil-1" && a["state"] != "resolved")
        .collect();
    assert!(!open.is_empty());
    for a in open {
        assert_eq!(a["acknowledged"]["by"], by, "{a:#}");
        assert_eq!(
            a["acknowledged"]["comment"],
            "on it: restarting the sequencer"
        );
        assert_eq!(a["acknowledged"]["until"], acked["ack"]["until"]);
    }

    anvil.rpc("evm_setIntervalMining", json!([1]));
    let closed = wait_for("incident resolved", T, || {
        let list = d.json("/api/v1/incidents?state=resolved");
        list.as_array()?
            .iter()
            .find(|i| i["id"] == id.as_str())
            .cloned()
    });
    let kinds: Vec<&str> = closed["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(
        &kinds[..5],
        ["opened", "firing", "notified", "acknowledged", "resolved"],
        "{closed:#}"
    );
    assert!(kinds.contains(&"closed"));
}

#[test]
fn the_alert_api_works_from_the_command_line() {
    let anvil = Anvil::start(&[]);
    let rx = Receiver::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = Daemon::start(dir.path(), &config(&anvil, &rx, STALL_RULE));
    d.wait_node("anvil-1", "ok", T, |n| n["status"] == "ok");
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_chainops"))
            .args(args)
            .args(["--server", &d.base])
            .env("CHAINOPS_TOKEN", &d.token)
            .output()
            .expect("run")
    };
    let out = cli(&[
        "silences",
        "add",
        "--match",
        "node=anvil-1",
        "--for",
        "1h",
        "--comment",
        "upgrade",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let id = s["id"].as_str().expect("id").to_string();
    let typo = cli(&[
        "silences",
        "add",
        "--match",
        "nod=anvil-1",
        "--for",
        "1h",
        "--comment",
        "typo",
    ]);
    assert!(!typo.status.success());
    assert!(
        String::from_utf8_lossy(&typo.stderr).contains("known labels"),
        "{}",
        String::from_utf8_lossy(&typo.stderr)
    );
    let forced = cli(&[
        "silences",
        "add",
        "--match",
        "nod=anvil-1",
        "--for",
        "1h",
        "--comment",
        "typo",
        "--allow-unknown-labels",
    ]);
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    assert!(
        String::from_utf8_lossy(&forced.stderr)
            .contains("warning: no rule or alert has the label nod")
    );
    let list: serde_json::Value =
        serde_json::from_slice(&cli(&["silences", "list", "--json"]).stdout).expect("json");
    assert!(
        list.as_array()
            .expect("list")
            .iter()
            .any(|x| x["id"] == id.as_str())
    );
    assert!(cli(&["silences", "expire", &id]).status.success());
    let again = cli(&["silences", "expire", &id]);
    assert_eq!(again.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&again.stderr).contains("no active silence"));
    assert_eq!(
        cli(&[
            "silences",
            "add",
            "--match",
            "node",
            "--for",
            "1h",
            "--comment",
            "x"
        ])
        .status
        .code(),
        Some(2)
    );
    let alerts = cli(&["alerts", "list", "--json"]);
    assert!(
        serde_json::from_slice::<serde_json::Value>(&alerts.stdout)
            .expect("json")
            .is_array()
    );
    let incidents = cli(&["incidents", "list", "--json"]);
    assert!(
        serde_json::from_slice::<serde_json::Value>(&incidents.stdout)
            .expect("json")
            .is_array()
    );
    let down = std::process::Command::new(env!("CARGO_BIN_EXE_chainops"))
        .args(["alerts", "list", "--server", "http://127.0.0.1:1"])
        .output()
        .expect("run");
    assert_eq!(down.status.code(), Some(6));
}

/// Issue 15 items 2 and 4, end to end: when HeadStale escalates to HeadStalled on a real
/// anvil, no "resolved HeadStale" is sent; the API and `alerts list` say HeadStale is
/// inhibited by HeadStalled; once blocks come back both resolve, each notified once.
#[test]
fn escalation_is_shown_as_inhibited_not_sent_as_a_recovery() {
    let anvil = Anvil::start(&[]);
    let rx = Receiver::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "{}[alerting]\neval_interval = \"500ms\"\n[[notifiers]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\nsecret = \"{SECRET}\"\n",
        evm_node("anvil-1", &anvil.url(), "stall_after = \"8s\""),
        rx.url
    );
    let d = Daemon::start(dir.path(), &text);
    d.wait_node("anvil-1", "ok", T, |n| n["status"] == "ok");
    anvil.rpc("evm_setIntervalMining", json!([0]));
    wait_for("HeadStale notified", T, || {
        (rx.count("HeadStale", "firing") == 1).then_some(())
    });
    wait_for("HeadStalled notified", T, || {
        (rx.count("HeadStalled", "firing") == 1).then_some(())
    });
    let stale = wait_for("HeadStale inhibited", T, || {
        d.json("/api/v1/alerts")
            .as_array()?
            .iter()
            .find(|a| a["rule"] == "HeadStale" && a["inhibited"]["by"] == "HeadStalled")
            .cloned()
    });
    assert_eq!(stale["state"], "firing", "{stale:#}");
    // The runbook link of the page is absolute and opens the guide on this daemon (item 6).
    let sent = rx.delivered();
    let link = sent
        .iter()
        .find(|v| v["alert"]["rule"] == "HeadStale")
        .and_then(|v| v["alert"]["runbook_url"].as_str())
        .map(String::from)
        .expect("runbook_url");
    assert_eq!(link, format!("{}/docs/alerting#headstale", d.base));
    let guide = d.get("/docs/alerting");
    assert_eq!(guide.status(), 200);
    let html = guide.text().expect("html");
    assert!(
        html.contains("id=\"headstale\"") && html.contains("<table>"),
        "{html}"
    );
    assert_eq!(
        rx.count("HeadStale", "resolved"),
        0,
        "escalation is not a recovery"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chainops"))
        .args(["alerts", "list", "--server", &d.base])
        .env("CHAINOPS_TOKEN", &d.token)
        .output()
        .expect("alerts list");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("HeadStale ") && l.contains("inhibited by HeadStalled")),
        "{table}"
    );
    anvil.rpc("evm_setIntervalMining", json!([1]));
    wait_for("both resolved", T, || {
        (rx.count("HeadStale", "resolved") == 1 && rx.count("HeadStalled", "resolved") == 1)
            .then_some(())
    });
    let incidents = d.json("/api/v1/incidents");
    let timeline = incidents[0]["timeline"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        timeline
            .iter()
            .any(|e| e["kind"] == "inhibited" && e["detail"]["by"] == "HeadStalled"),
        "{incidents:#}"
    );
}
