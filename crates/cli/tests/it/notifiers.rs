//! Notification channels end to end: a real SMTP server (aiosmtpd) receives email, a chat
//! robot channel over its rate limit merges the rest into one signed digest, and
//! Alertmanager webhook payloads are routed through our channels exactly once.
//! DingTalk itself cannot run here; the local receiver answers like it (`{"errcode":0}`).

use crate::harness::*;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::Duration;

const T: Duration = Duration::from_secs(40);

/// A real SMTP server writing every message into a maildir.
pub(crate) struct SmtpSink {
    _proc: Proc,
    pub(crate) port: u16,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    pub(crate) fn start() -> SmtpSink {
        let port = free_port();
        let dir = tempfile::tempdir().expect("maildir");
        let pylib = workspace_root().join(".tools/pylib");
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir.path().join("mail"))
            .env("PYTHONPATH", &pylib)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn aiosmtpd (scripts/install-deps.sh test installs it into .tools/pylib)");
        let sink = SmtpSink {
            _proc: Proc {
                child,
                name: "aiosmtpd".into(),
            },
            port,
            dir,
        };
        wait_for("aiosmtpd to listen", T, || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        sink
    }

    /// Raw messages received so far.
    pub(crate) fn messages(&self) -> Vec<String> {
        let new = self.dir.path().join("mail/new");
        std::fs::read_dir(new)
            .map(|rd| {
                rd.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn am_alert(i: usize, status: &str) -> Value {
    json!({"status": status, "labels": {"alertname": format!("Probe{i}"), "instance": format!("geth-{i}:6060"), "severity": "critical"},
        "annotations": {"summary": format!("probe {i} failed")}, "startsAt": "2026-11-26T01:00:00Z", "endsAt": "2026-11-26T02:00:00Z",
        "fingerprint": format!("fp{i}")})
}

fn am_payload(alerts: Vec<Value>) -> Value {
    json!({"version": "4", "status": "firing", "receiver": "chainops", "groupKey": "{}:{}", "alerts": alerts})
}

fn sent_count(d: &Daemon, channel: &str) -> usize {
    d.json("/api/v1/notifications?state=sent")
        .as_array()
        .map(|a| a.iter().filter(|n| n["channel"] == channel).count())
        .unwrap_or(0)
}

#[test]
fn email_reaches_a_real_smtp_server_from_notify_test_and_from_the_outbox() {
    let anvil = Anvil::start(&[]);
    let smtp = SmtpSink::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let mail = format!(
        "[[notifiers]]\nname = \"mail\"\nkind = \"email\"\nurl = \"smtp://127.0.0.1:{}\"\ntls = \"none\"\nfrom = \"chainops@example.com\"\nto = [\"oncall@example.com\"]\n",
        smtp.port
    );
    let config = format!("{}{mail}", evm_node("anvil-1", &anvil.url(), ""));
    std::fs::write(dir.path().join("c.toml"), &config).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_chainops"))
        .args(["notify", "test", "mail", "--json", "--config"])
        .arg(dir.path().join("c.toml"))
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let msgs = wait_for("test email", T, || {
        let m = smtp.messages();
        (m.len() == 1).then_some(m)
    });
    assert!(
        msgs[0].contains("Subject: [TEST] info ChainopsTest on -"),
        "{}",
        msgs[0]
    );
    assert!(msgs[0].contains("To: oncall@example.com"));

    // Through the daemon: an Alertmanager alert is enqueued, delivered by email once.
    let d = Daemon::start(dir.path(), &config);
    let r = d.post(
        "/api/v1/integrations/alertmanager",
        &am_payload(vec![am_alert(1, "firing")]),
    );
    assert_eq!(r.status(), 202);
    wait_for("alert email", T, || {
        (smtp.messages().len() == 2).then_some(())
    });
    assert!(
        smtp.messages()
            .iter()
            .any(|m| m.contains("[FIRING] critical Probe1 on geth-1:6060")
                && m.contains("probe 1 failed"))
    );
}

fn verify_dingtalk_sign(target: &str, secret: &str) {
    let q: std::collections::HashMap<String, String> =
        form_decode(target.split_once('?').map(|x| x.1).unwrap_or(""));
    let ts = q.get("timestamp").expect("timestamp param");
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{ts}\n{secret}").as_bytes());
    let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(q.get("sign"), Some(&want), "sign of {target}");
    let age = chainops_core::time::now_ms() - ts.parse::<i64>().expect("ms");
    assert!(
        (0..120_000).contains(&age),
        "timestamp is in ms and fresh: {age}"
    );
}

fn form_decode(q: &str) -> std::collections::HashMap<String, String> {
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            let mut out = Vec::new();
            let b = v.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'%' && i + 2 < b.len() {
                    let hex = std::str::from_utf8(&b[i + 1..i + 3]).expect("utf8");
                    out.push(u8::from_str_radix(hex, 16).expect("hex"));
                    i += 3;
                } else {
                    out.push(if b[i] == b'+' { b' ' } else { b[i] });
                    i += 1;
                }
            }
            (k.to_string(), String::from_utf8(out).expect("utf8"))
        })
        .collect()
}

#[test]
fn a_rate_limited_robot_gets_a_signed_digest_intake_is_exactly_once_and_the_heartbeat_beats() {
    let anvil = Anvil::start(&[]);
    let rx = Receiver::start();
    *rx.reply.lock().expect("lock") = r#"{"errcode":0,"errmsg":"ok"}"#.into();
    let beat = Receiver::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let node = evm_node(
        "anvil-1",
        &anvil.url(),
        &format!("data_dir = \"{}\"", dir.path().display()),
    );
    let config = format!(
        "{node}[alerting]\nheartbeat_url = \"{}\"\nheartbeat_interval = \"5s\"\n[[notifiers]]\nname = \"ding\"\nkind = \"dingtalk\"\nurl = \"{}?access_token=t0k\"\nsecret = \"SECtest\"\nrate_limit_per_minute = 3\n",
        beat.url, rx.url
    );
    let d = Daemon::start(dir.path(), &config);

    // The test endpoint proves the channel (and counts against the minute's budget).
    let r = d.post("/api/v1/notifiers/ding/test", &json!({}));
    assert_eq!(r.status(), 200);
    let r = d.post("/api/v1/notifiers/nope/test", &json!({}));
    assert_eq!(r.status(), 404);

    let payload = am_payload((0..10).map(|i| am_alert(i, "firing")).collect());
    let r = d.post("/api/v1/integrations/alertmanager?channel=ding", &payload);
    assert_eq!(r.status(), 202);
    assert_eq!(r.json::<Value>().expect("json")["enqueued"], 10);
    // Alertmanager re-sending the same group enqueues nothing new.
    let r = d.post("/api/v1/integrations/alertmanager", &payload);
    assert_eq!(r.json::<Value>().expect("json")["duplicates"], 10);

    wait_for("all 10 delivered", T, || {
        (sent_count(&d, "ding") == 10).then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    let reqs = rx.requests.lock().expect("lock").clone();
    // Budget 3 a minute: the test message, one single, then one digest of the other 9.
    assert_eq!(reqs.len(), 3, "{reqs:#?}");
    for r in &reqs {
        assert!(r.target.contains("access_token=t0k"));
        verify_dingtalk_sign(&r.target, "SECtest");
        let body: Value = serde_json::from_str(&r.body).expect("json");
        assert_eq!(body["msgtype"], "markdown");
    }
    let digest: Value = serde_json::from_str(&reqs[2].body).expect("json");
    let text = digest["markdown"]["text"].as_str().unwrap_or_default();
    assert!(
        digest["markdown"]["title"]
            .as_str()
            .unwrap_or_default()
            .starts_with("[DIGEST] 9 ")
    );
    assert_eq!(text.matches("[FIRING] critical Probe").count(), 9, "{text}");

    // The dead-man switch is pinged while evaluation runs; the data dir's disk is measured.
    wait_for("heartbeat ping", T, || {
        (!beat.requests.lock().expect("lock").is_empty()).then_some(())
    });
    let free = metric_value(
        &d.metrics(),
        "chainops_datadir_free_bytes",
        &[("node", "anvil-1")],
    );
    assert!(free.is_some_and(|f| f > 0.0), "{free:?}");

    // Bad payloads are refused with the field named; nothing is enqueued.
    let r = d.post(
        "/api/v1/integrations/alertmanager",
        &json!({"alerts": [{"status": "firing", "labels": {}}]}),
    );
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .expect("text")
            .contains("alerts[0].labels.alertname")
    );
}
