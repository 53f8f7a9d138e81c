//! Reloading the config without a restart (issue 15 item 11): `POST /api/v1/config/reload`
//! and SIGHUP apply nodes, rules, notifiers, log sources and backup jobs from the file, or
//! keep the running configuration and list every problem; each reload is in the audit trail.

use crate::harness::*;
use serde_json::{Value, json};
use std::time::Duration;

/// Rewrites the daemon's config file (its `data_dir` kept).
fn rewrite(d: &Daemon, config: &str) {
    let full = format!("data_dir = \"{}\"\n{config}", d.dir.join("data").display());
    std::fs::write(d.dir.join("chainops.toml"), full).expect("write config");
}

fn node_names(d: &Daemon) -> Vec<String> {
    d.json("/api/v1/nodes")
        .as_array()
        .expect("nodes")
        .iter()
        .filter_map(|n| n["name"].as_str().map(String::from))
        .collect()
}

fn reloads(d: &Daemon) -> Vec<Value> {
    d.json("/api/v1/audit-log?limit=1000")
        .as_array()
        .expect("audit log")
        .iter()
        .filter(|e| e["action"] == "config.reload")
        .cloned()
        .collect()
}

#[test]
fn reload_applies_the_file_whole_or_keeps_the_running_config() {
    let (a, b) = (Anvil::start(&[]), Anvil::start(&[]));
    let dir = tempfile::tempdir().expect("tempdir");
    let v1 = evm_node("anvil-1", &a.url(), "");
    let d = Daemon::start(dir.path(), &v1);
    d.wait_node("anvil-1", "ok", Duration::from_secs(40), |n| {
        n["status"] == "ok"
    });
    let viewer = create_token(&dir.path().join("chainops.toml"), "viewer");
    let reload = |token: &str| {
        reqwest::blocking::Client::new()
            .post(format!("{}/api/v1/config/reload", d.base))
            .bearer_auth(token)
            .send()
            .expect("reload")
    };

    // Nothing changed: the subsystems restart from the same file, nothing is reported changed.
    let r = reload(&d.token);
    assert_eq!(r.status(), 200);
    let body: Value = r.json().expect("json");
    assert_eq!(body["changed"], json!([]), "{body}");
    assert_eq!(reload(&viewer).status(), 403, "only admins reload");

    // A second node, a rule, a notifier, a log source and a backup job arrive by reload.
    let log = dir.path().join("node-2.log");
    std::fs::write(&log, "").expect("log file");
    let (repo, pw) = (dir.path().join("repo"), dir.path().join("pw"));
    std::fs::write(&pw, "reload-pw\n").expect("password");
    let v2 = format!(
        "{v1}{}[[rules]]\nname = \"ReloadedRule\"\nseverity = \"warning\"\nexpr = \"peers > 1000000\"\n\
         [[notifiers]]\nname = \"ops-hook\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/hook\"\n\
         [[logs.sources]]\nnode = \"anvil-2\"\npath = \"{}\"\n\
         [[backups]]\nname = \"anvil-2-dump\"\nnode = \"anvil-2\"\nschedule = \"0 0 0 1 1 *\"\ncapture = \"dump\"\nrepo = \"{}\"\npassword_file = \"{}\"\n",
        evm_node("anvil-2", &b.url(), ""),
        log.display(),
        repo.display(),
        pw.display()
    );
    rewrite(&d, &v2);
    let reloaded_at = chrono_ms();
    let r = reload(&d.token);
    assert_eq!(r.status(), 200, "{}", r.text().unwrap_or_default());
    let body: Value = r.json().expect("json");
    for section in ["nodes", "rules", "notifiers", "logs", "backups"] {
        assert!(
            body["changed"]
                .as_array()
                .is_some_and(|c| c.iter().any(|s| s == section)),
            "{section} not in {body}"
        );
    }
    assert_eq!(body["nodes"], 2);
    d.wait_node("anvil-2", "ok", Duration::from_secs(40), |n| {
        n["status"] == "ok"
    });
    assert_eq!(node_names(&d), ["anvil-1", "anvil-2"]);
    let hooks = d.json("/api/v1/notifiers");
    assert!(
        hooks.to_string().contains("ops-hook"),
        "notifier not in force: {hooks}"
    );
    let runs_page = d.get("/backups");
    assert!(runs_page.status().is_success() || runs_page.status() == 303);
    // The history of the first node goes on across the reload (same writer, same store):
    // points from before it and after it.
    wait_for(
        "anvil-1's history on both sides of the reload",
        Duration::from_secs(20),
        || {
            let h = d.json("/api/v1/series?node=anvil-1&metric=height&from=now-10m");
            let times: Vec<i64> = h["points"]
                .as_array()?
                .iter()
                .filter_map(|p| p["t"].as_i64())
                .collect();
            (times.iter().any(|t| *t < reloaded_at)
                && times.iter().any(|t| *t > reloaded_at + 1000))
            .then_some(())
        },
    );

    // A bad file changes nothing and names every problem at once.
    let bad = format!(
        "{}[server]\nlisten = \"127.0.0.1:1\"\n[[notifiers]]\nname = \"pager\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/p\"\nsecret_file = \"{}\"\n",
        v2.replacen(
            "timeout = \"1s\"",
            "timeout = \"1s\"\npoll_intervall = \"2s\"",
            1
        ),
        dir.path().join("no-such-secret").display()
    );
    rewrite(&d, &bad);
    let r = reload(&d.token);
    assert_eq!(r.status(), 400);
    let body: Value = r.json().expect("json");
    let problems = body["problems"].to_string();
    assert!(
        problems.contains("nodes[0].poll_intervall"),
        "unknown key not named: {problems}"
    );
    rewrite(
        &d,
        &format!(
            "{v2}[history]\nraw_retention = \"2h\"\n[[notifiers]]\nname = \"pager\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/p\"\nsecret_file = \"{}\"\n",
            dir.path().join("no-such-secret").display()
        ),
    );
    let r = reload(&d.token);
    assert_eq!(r.status(), 400);
    let body: Value = r.json().expect("json");
    let problems = body["problems"].to_string();
    assert!(
        problems.contains("no-such-secret") && problems.contains("does not exist"),
        "missing file not named: {problems}"
    );
    assert!(
        problems.contains("history: changed") && problems.contains("restart"),
        "restart-only change not named: {problems}"
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("running configuration stays")),
        "{body}"
    );
    assert_eq!(node_names(&d), ["anvil-1", "anvil-2"], "nothing changed");
    assert!(
        !d.json("/api/v1/notifiers").to_string().contains("pager"),
        "a refused reload applied a notifier"
    );

    // The file gone, or a symlink to a directory in its place: refused, naming the file.
    let path = d.dir.join("chainops.toml");
    std::fs::remove_file(&path).expect("remove config");
    for what in ["missing", "a directory"] {
        let r = reload(&d.token);
        assert_eq!(r.status(), 400, "config file {what}");
        let body: Value = r.json().expect("json");
        assert!(
            body["problems"]
                .to_string()
                .contains("cannot read config file"),
            "{what}: {body}"
        );
        if what == "missing" {
            std::os::unix::fs::symlink(dir.path(), &path).expect("symlink");
        }
    }
    std::fs::remove_file(&path).expect("remove symlink");
    assert_eq!(node_names(&d), ["anvil-1", "anvil-2"], "nothing changed");

    // SIGHUP: the file without the second node is applied; the trail records the signal.
    rewrite(&d, &v1);
    let pid = d.proc.child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    wait_for(
        "SIGHUP reload to drop anvil-2",
        Duration::from_secs(20),
        || (node_names(&d) == ["anvil-1"]).then_some(()),
    );
    d.wait_node("anvil-1", "ok again", Duration::from_secs(40), |n| {
        n["status"] == "ok"
    });
    let trail = reloads(&d);
    let results: Vec<(&str, &str)> = trail
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap_or(""),
                e["result"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(
        results.contains(&("signal:SIGHUP", "ok")),
        "the signal's reload is not in the trail: {results:?}"
    );
    assert!(
        results.iter().filter(|(_, r)| *r != "ok").count() >= 2,
        "refused reloads are in the trail too: {results:?}"
    );
    assert!(
        d.json("/api/v1/audit-log/verify")["ok"] == true,
        "the trail verifies"
    );
}

fn chrono_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `[server.tls]` pointed at another pair by a reload serves it on new connections; a pair
/// that does not load is refused and the old one keeps serving.
#[test]
fn reload_swaps_the_tls_certificate_files() {
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let pair = |name: &str| {
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).expect("cert");
        let (cert, key) = (
            dir.path().join(format!("{name}.pem")),
            dir.path().join(format!("{name}.key")),
        );
        std::fs::write(&cert, made.cert.pem()).expect("cert");
        std::fs::write(&key, made.key_pair.serialize_pem()).expect("key");
        (cert, key, made.cert.pem())
    };
    let tls = |cert: &std::path::Path, key: &std::path::Path| {
        format!(
            "{}[server.tls]\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
            evm_node("anvil-1", &anvil.url(), ""),
            cert.display(),
            key.display()
        )
    };
    let (cert_a, key_a, pem_a) = pair("a");
    let d = Daemon::start(dir.path(), &tls(&cert_a, &key_a));
    assert!(d.base.starts_with("https://"), "{}", d.base);
    let trusting_a = crate::security::tls_client(pem_a.as_bytes());
    let reload = |client: &reqwest::blocking::Client| {
        client
            .post(format!("{}/api/v1/config/reload", d.base))
            .bearer_auth(&d.token)
            .send()
            .expect("reload")
    };
    // A broken pair is refused; A keeps serving.
    let broken = dir.path().join("broken.pem");
    std::fs::write(&broken, "-----BEGIN CERTIFICATE-----\nnot base64\n").expect("broken");
    rewrite(&d, &tls(&broken, &key_a));
    let r = reload(&trusting_a);
    assert_eq!(r.status(), 400);
    let body: Value = r.json().expect("json");
    assert!(
        body["problems"].to_string().contains("server.tls"),
        "{body}"
    );
    assert_eq!(
        crate::security::tls_client(pem_a.as_bytes())
            .get(format!("{}/livez", d.base))
            .send()
            .expect("A still served")
            .status(),
        200
    );
    // B by reload: new connections see B, not A.
    let (cert_b, key_b, pem_b) = pair("b");
    rewrite(&d, &tls(&cert_b, &key_b));
    let r = reload(&trusting_a);
    assert_eq!(r.status(), 200, "{}", r.text().unwrap_or_default());
    let r = crate::security::tls_client(pem_b.as_bytes())
        .get(format!("{}/livez", d.base))
        .send()
        .expect("B is served after the reload");
    assert_eq!(r.status(), 200);
    assert!(
        crate::security::tls_client(pem_a.as_bytes())
            .get(format!("{}/livez", d.base))
            .send()
            .is_err(),
        "A is no longer served"
    );
}
