//! The CLI jobs: config check/show, nodes list, version, help.

use crate::harness::chainops;
use std::process::Command;

#[test]
fn config_check_reports_every_problem_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        r#"
[server]
listen = "localhost"
[[nodes]]
name = "ok-node"
chain = "devnet"
kind = "evm"
rpc_url = "http://127.0.0.1:8545"
[[nodes]]
name = "bad node"
chain = "devnet"
kind = "evm"
rpc_url = "htp://x"
block_time = "soon"
"#,
    )
    .expect("write");
    let p = path.to_str().expect("utf8");
    let out = chainops(&["config", "check", "--config", p]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "server.listen:",
        "nodes[1].name:",
        "nodes[1].rpc_url: \"htp://x\" is not an http(s) URL",
        "nodes[1].block_time:",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    let out = chainops(&["config", "check", "--json", "--config", p]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["ok"], false);
    assert_eq!(v["problems"].as_array().expect("problems").len(), 4);
}

#[test]
fn config_show_redacts_secrets_and_check_accepts_good_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = dir.path().join("ltc.secret");
    std::fs::write(&secret, "s3cret-from-file\n").expect("write");
    let path = dir.path().join("good.toml");
    std::fs::write(
        &path,
        format!(
            "[store]\nurl = \"postgres://ops:pgpass@127.0.0.1/chainops\"\n[[nodes]]\nname = \"ltc-1\"\nchain = \"ltc-regtest\"\nkind = \"bitcoin\"\nrpc_url = \"http://127.0.0.1:29441\"\nrpc_user = \"ops\"\nrpc_password = \"inline-pass\"\n[[nodes]]\nname = \"ltc-2\"\nchain = \"ltc-regtest\"\nkind = \"bitcoin\"\nrpc_url = \"http://127.0.0.1:29442\"\nrpc_user = \"ops\"\nrpc_password_file = \"{}\"\n",
            secret.display()
        ),
    )
    .expect("write");
    let p = path.to_str().expect("utf8");
    let out = chainops(&["config", "check", "--config", p]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for args in [
        vec!["config", "show", "--config", p],
        vec!["config", "show", "--json", "--config", p],
    ] {
        let out = chainops(&args);
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains("pgpass") && !text.contains("inline-pass") && !text.contains("s3cret"),
            "{text}"
        );
        assert!(text.contains("[REDACTED]"), "{text}");
    }
}

#[test]
fn missing_config_file_is_a_clear_error() {
    let out = chainops(&["config", "check", "--config", "/nonexistent/chainops.toml"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("cannot read config file /nonexistent/chainops.toml")
    );
}

#[test]
fn nodes_list_without_a_daemon_fails_naming_the_url_and_offline_lists_the_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.toml");
    let port = crate::harness::free_port();
    std::fs::write(
        &path,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\n{}",
            crate::harness::evm_node("n1", "http://127.0.0.1:1", "")
        ),
    )
    .expect("write");
    // No daemon there: an error naming the URL, not an empty table with exit 0.
    let p = path.to_str().expect("utf8");
    let out = chainops(&["nodes", "list", "--config", p]);
    assert!(!out.status.success(), "exit 0 without a daemon");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("http://127.0.0.1:{port}/api/v1/nodes")) && err.contains("--offline"),
        "{err}"
    );
    assert!(
        out.stdout.is_empty(),
        "printed a table: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = chainops(&["nodes", "list", "--json", "--offline", "--config", p]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["source"], "config");
    assert_eq!(v["nodes"][0]["name"], "n1");
}

#[test]
fn version_and_help_are_available() {
    let out = chainops(&["version", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    let help = String::from_utf8_lossy(&chainops(&["--help"]).stdout).to_string();
    for cmd in ["serve", "config", "nodes", "version"] {
        assert!(help.contains(cmd), "{help}");
    }
}

#[test]
fn exported_rules_pass_promtool_check_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        "[[rules]]\nname = \"SlowBlocks\"\nseverity = \"info\"\nexpr = \"head_age_seconds > 3 * block_time_seconds\"\nfor = \"1m\"\nkeep_firing_for = \"30s\"\nsummary = \"{{node}} slow: {{value}} s\"\nlabels = { team = \"infra\" }\n",
    )
    .expect("write");
    let out_file = dir.path().join("rules.yml");
    let out = chainops(&[
        "rules",
        "export",
        "--format",
        "prometheus",
        "--config",
        cfg.to_str().expect("utf8"),
        "-o",
        out_file.to_str().expect("utf8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&out_file).expect("read");
    assert!(
        text.contains("alert: SlowBlocks") && text.contains("alert: HeadStalled"),
        "{text}"
    );
    let check = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&out_file)
        .output()
        .expect("promtool");
    assert!(
        check.status.success(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let list = chainops(&[
        "rules",
        "list",
        "--json",
        "--config",
        cfg.to_str().expect("utf8"),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    assert!(
        v.as_array()
            .expect("array")
            .iter()
            .any(|r| r["name"] == "SlowBlocks" && r["for"] == "1m")
    );
    // `--json` (issue 15 item 17): the same rules as JSON, which promtool loads too.
    let json_file = dir.path().join("rules.json");
    let out = chainops(&[
        "rules",
        "export",
        "--json",
        "--config",
        cfg.to_str().expect("utf8"),
        "-o",
        json_file.to_str().expect("utf8"),
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("note: NodeDown: inhibited_by"));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_file).expect("read")).expect("json");
    let rules = doc["groups"][0]["rules"].as_array().expect("rules");
    let slow = rules
        .iter()
        .find(|r| r["alert"] == "SlowBlocks")
        .expect("SlowBlocks");
    assert_eq!(
        (slow["for"].as_str(), slow["labels"]["team"].as_str()),
        (Some("1m"), Some("infra"))
    );
    let check = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&json_file)
        .output()
        .expect("promtool");
    assert!(check.status.success(), "promtool: {check:?}");
}

/// Issue 16 item 7: what `config check` used to accept — unparsable URLs, ports over 65535,
/// missing or directory secret files, missing TLS files, overflowing durations, and a bad
/// `[[logs.redact]]` regex next to another problem — is reported, each with its path.
#[test]
fn config_check_refuses_what_would_fail_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.toml");
    let missing = dir.path().join("nope.txt");
    std::fs::write(
        &path,
        format!(
            r#"
[server.tls]
cert_file = "{missing}"
key_file = "{d}"
[[nodes]]
name = "a"
chain = "c"
kind = "evm"
rpc_url = "http://[::1"
[[nodes]]
name = "b"
chain = "c"
kind = "evm"
rpc_url = "http://127.0.0.1:99999"
[[nodes]]
name = "c"
chain = "c"
kind = "bitcoin"
rpc_url = "http://127.0.0.1:9332"
rpc_user = "u"
rpc_password_file = "{d}"
stall_after = "18446744073709551615ms"
[[nodes]]
name = "d"
chain = "c"
kind = "bitcoin"
rpc_url = "http://127.0.0.1:9333"
rpc_user = "u"
rpc_password_file = "{missing}"
block_time = "5000000y"
[logs]
retention = "forever"
[[logs.redact]]
name = "broken"
pattern = "([a-z"
"#,
            missing = missing.display(),
            d = dir.path().display()
        ),
    )
    .expect("write");
    let p = path.to_str().expect("utf8");
    let out = chainops(&["config", "check", "--config", p]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "nodes[0].rpc_url: \"http://[::1\" is not an http(s) URL",
        "nodes[1].rpc_url: \"http://127.0.0.1:99999\" is not an http(s) URL",
        "nodes[2].stall_after: \"18446744073709551615ms\" is too long",
        "nodes[3].block_time: \"5000000y\" is too long",
        "logs.redact[0].pattern: is not a valid regular expression",
        "logs.retention",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    // Once the pure problems are fixed, the files are checked.
    let text = std::fs::read_to_string(&path).expect("read");
    let fixed = text
        .replace("http://[::1\"", "http://[::1]:8545\"")
        .replace(":99999", ":8546")
        .replace("18446744073709551615ms", "1m")
        .replace("5000000y", "10m")
        .replace("retention = \"forever\"", "retention = \"30d\"")
        .replace("([a-z", "[a-z]+");
    std::fs::write(&path, fixed).expect("write");
    let out = chainops(&["config", "check", "--config", p]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "server.tls.cert_file: ".to_string(),
        format!("{} does not exist", missing.display()),
        "server.tls.key_file: ".to_string(),
        "is a directory, not a file".to_string(),
        "nodes[2].rpc_password_file: ".to_string(),
        "nodes[3].rpc_password_file: ".to_string(),
    ] {
        assert!(err.contains(&needle), "missing {needle:?} in:\n{err}");
    }
}

/// Issue 15 items 9 and 10, issue 16 item 7: an unknown key is reported with its full path
/// beside every other problem (it used to hide them all, with an empty path); a wrong type
/// names the array index; every enumerated value is checked, including Bitcoin network
/// names; a rule's syntax error names its column; and `serve` prints the same list, not
/// Rust debug text.
#[test]
fn config_check_reports_unknown_keys_bad_types_and_every_enumerated_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.toml");
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "pw\n").expect("pw");
    std::fs::write(
        &path,
        format!(
            r#"
[monitor]
poll_intervall = "5s"
[store]
url = "mysql://x/y"
[[nodes]]
name = "ltc"
chain = "c"
kind = "bitcoin"
rpc_url = "http://127.0.0.1:9332"
chain_id = "regtset"
[[nodes]]
name = "evm"
chain = "e"
kind = "evmm"
rpc_url = "http://127.0.0.1:8545"
[[nodes]]
name = "evm2"
chain = "e"
kind = "evm"
rpc_url = "http://127.0.0.1:8546"
block_time = 5
[[rules]]
name = "R"
expr = "height > 5 and"
severity = "urgent"
[[notifiers]]
name = "n1"
kind = "telegram"
url = "http://x/"
[[notifiers]]
name = "n2"
kind = "email"
url = "smtp://127.0.0.1:25"
from = "ops@example.org"
to = ["oncall@example.org"]
tls = "ssl"
min_severity = "loud"
[logs]
compliance = "eu"
[[logs.sources]]
node = "ltc"
path = "/tmp/x.log"
format = "syslog"
[bench]
workload = "eth-transfr"
read_method = "eth_foo"
[[bench.rounds]]
rate_control = "fixed-rte"
tps = 5
count = 10
[audit]
fail_on = "critical"
[[backups]]
name = "b"
node = "ltc"
schedule = "@daily"
timezone = "Mars/Olympus"
repo = "{repo}"
password_file = "{pw}"
capture = "snapshot"
paths = ["/tmp"]
"#,
            repo = dir.path().join("repo").display(),
            pw = pw.display()
        ),
    )
    .expect("write");
    let p = path.to_str().expect("utf8");
    let needles = [
        "monitor.poll_intervall: is not a known key; did you mean `poll_interval`?",
        "store.url: \"mysql://x/y\" is not a sqlite:// or postgres:// URL",
        "nodes[0].chain_id: \"regtset\" is not a network name; use one of main, test",
        "nodes[1].kind: \"evmm\" is not a known kind",
        "nodes[2].block_time: has the wrong type",
        "rules[0].severity: \"urgent\" is not a severity",
        "rules[0].expr: expected a term after `and` at column 12",
        "notifiers[0].kind: \"telegram\" is not a supported notifier kind",
        "notifiers[1].min_severity: \"loud\" is not a severity",
        "notifiers[1].tls: \"ssl\" is not a TLS mode",
        "logs.compliance: \"eu\" is not a profile",
        "logs.sources[0].format: \"syslog\" is not a format",
        "bench.read_method: read method \"eth_foo\" is not supported",
        "bench.workload: \"eth-transfr\" is not a workload",
        "bench.rounds[0].rate_control: \"fixed-rte\" is not a rate control",
        "backups[0].timezone: \"Mars/Olympus\" is not a time zone",
        "backups[0].capture: \"snapshot\" is not a mode",
        "audit.fail_on: \"critical\": use high, medium or low",
    ];
    let out = chainops(&["config", "check", "--config", p]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in needles {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    // The node whose entry is wrong is not also "not a configured node" elsewhere.
    assert!(!err.contains("is not a configured node"), "{err}");
    assert!(
        err.contains(&format!("{} configuration problems", needles.len())),
        "{err}"
    );
    // --json lists the same problems with their paths.
    let out = chainops(&["config", "check", "--config", p, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let problems = v["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), needles.len(), "{v}");
    assert!(
        problems
            .iter()
            .any(|p| p["path"] == "monitor.poll_intervall")
    );
    // serve refuses with the same list (exit 2) instead of debug text.
    let out = Command::new(env!("CARGO_BIN_EXE_chainops"))
        .args(["serve", "--config", p])
        .env_remove("CHAINOPS_CONFIG")
        .env("CHAINOPS_DATA", dir.path().join("data"))
        .output()
        .expect("serve");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nodes[2].block_time: has the wrong type"),
        "{err}"
    );
    assert!(
        !err.contains("ConfigProblem") && !err.contains("{ path"),
        "{err}"
    );
    assert!(
        !dir.path().join("data").exists(),
        "a refused serve created its data dir"
    );
}

/// Issue 15 item 7: the jobs beside the daemon find its config the way it does (`--config`,
/// `CHAINOPS_CONFIG`, `./chainops.toml`, `/etc/chainops/chainops.toml`) and never create an
/// empty store: `token create` without a config used to create `./chainops-data` and mint a
/// token the running daemon rejected.
#[test]
fn jobs_find_the_daemon_config_and_never_create_a_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cwd = dir.path().join("work");
    std::fs::create_dir(&cwd).expect("cwd");
    let run = |args: &[&str], env: &[(&str, &std::path::Path)]| {
        Command::new(env!("CARGO_BIN_EXE_chainops"))
            .args(args)
            .current_dir(&cwd)
            .env_remove("CHAINOPS_CONFIG")
            .env_remove("CHAINOPS_DATA")
            .env_remove("CHAINOPS_DATA_DIR")
            .env_remove("CHAINOPS_STORE_URL")
            .envs(env.iter().copied())
            .output()
            .expect("run chainops")
    };
    let token = [
        "token", "create", "--role", "viewer", "--name", "probe", "--json",
    ];
    // No config anywhere: the jobs say which store they looked for, and create nothing.
    for args in [
        &token[..],
        &["user", "list"][..],
        &["token", "list"][..],
        &["logs", "search", "x"][..],
        &["audit-log", "verify"][..],
    ] {
        let out = run(args, &[]);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("no chainops store at sqlite://./chainops-data/chainops.db")
                && err.contains("only `chainops serve` creates one")
                && err.contains("built-in defaults"),
            "{args:?}: {err}"
        );
        assert!(
            !cwd.join("chainops-data").exists(),
            "{args:?} created a store"
        );
    }
    // ./chainops.toml is the daemon's config: `serve --init-only` creates its store and the
    // jobs use it without --config.
    let data = dir.path().join("daemon-data");
    std::fs::write(
        cwd.join("chainops.toml"),
        format!("data_dir = \"{}\"\n", data.display()),
    )
    .expect("config");
    let out = run(&token, &[]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("no chainops store at sqlite://{}", data.display()))
            && err.contains("./chainops.toml"),
        "{err}"
    );
    let out = run(&["serve", "--init-only"], &[]);
    assert!(out.status.success(), "{out:?}");
    assert!(data.join("chainops.db").is_file());
    let out = run(&token, &[]);
    assert!(out.status.success(), "{out:?}");
    let listed = run(&["token", "list", "--json"], &[]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("probe"));
    let out = run(&["config", "check"], &[]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("(./chainops.toml)"),
        "{out:?}"
    );
    // CHAINOPS_CONFIG comes before ./chainops.toml, --config before both.
    let other = dir.path().join("other.toml");
    let other_data = dir.path().join("other-data");
    std::fs::write(&other, format!("data_dir = \"{}\"\n", other_data.display())).expect("other");
    let out = run(&token, &[("CHAINOPS_CONFIG", &other)]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&other_data.display().to_string()),
        "{out:?}"
    );
    let local = cwd.join("chainops.toml");
    let mut args = token.to_vec();
    args.extend(["--config", local.to_str().expect("utf8")]);
    let out = run(&args, &[("CHAINOPS_CONFIG", &other)]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        !other_data.exists(),
        "a job created the other config's data dir"
    );
}

/// Issue 15 item 6: runbook links in exported rules (and payloads) are absolute, from
/// `[server] external_url`, else the daemon's address; they used to be
/// `docs/alerting.md#headstalled`, which nobody could click.
#[test]
fn runbook_links_are_absolute_from_external_url() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("c.toml");
    let export = |text: &str| {
        std::fs::write(&cfg, text).expect("write");
        let out = chainops(&["rules", "export", "--config", cfg.to_str().expect("utf8")]);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, text, err) = export(
        "[server]\nexternal_url = \"https://ops.example.org/chainops/\"\n[[rules]]\nname = \"Own\"\nexpr = \"peers < 1\"\nrunbook_url = \"wiki/own-rule\"\n[[rules]]\nname = \"Ext\"\nexpr = \"peers < 2\"\nrunbook_url = \"https://wiki.example.org/ext\"\n",
    );
    assert_eq!(code, Some(0), "{err}");
    for link in [
        "https://ops.example.org/chainops/docs/alerting#headstalled",
        "https://ops.example.org/chainops/wiki/own-rule",
        "https://wiki.example.org/ext",
    ] {
        assert!(text.contains(link), "missing {link} in:\n{text}");
    }
    assert!(!text.contains("docs/alerting.md"), "{text}");
    let (_, text, _) = export("[server]\nlisten = \"0.0.0.0:9100\"\n");
    assert!(
        text.contains("http://127.0.0.1:9100/docs/alerting#nodedown"),
        "{text}"
    );
    for bad in ["ops.example.org", "https://ops.example.org/#x", "ftp://x"] {
        let (code, _, err) = export(&format!("[server]\nexternal_url = \"{bad}\"\n"));
        assert_eq!(code, Some(2));
        assert!(err.contains("server.external_url"), "{err}");
    }
}

/// Issue 15 item 17: results as `--json` on the commands that lacked it (`user add/remove`,
/// `token revoke`, `silences expire`, `logs import`), tables that fit a 64-character node
/// name, and `nodes show NAME`.
#[test]
fn results_print_as_json_tables_fit_long_names_and_nodes_show_one_node() {
    use crate::harness::{Anvil, Daemon, evm_node};
    const T: std::time::Duration = std::time::Duration::from_secs(30);
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let long = format!("validator-{}", "a".repeat(54));
    assert_eq!(long.len(), 64);
    let d = Daemon::start(dir.path(), &evm_node(&long, &anvil.url(), ""));
    d.wait_node(&long, "ok", T, |n| n["status"] == "ok");
    let cfg = dir.path().join("chainops.toml");
    let run = |args: &[&str], stdin: Option<&str>| {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_chainops"))
            .args(args)
            .args(["--config", cfg.to_str().expect("utf8")])
            .env("CHAINOPS_TOKEN", &d.token)
            .env("CHAINOPS_SERVER", &d.base)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        if let Some(s) = stdin {
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(s.as_bytes())
                .expect("stdin");
        }
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let json = |args: &[&str], stdin: Option<&str>| -> serde_json::Value {
        let text = run(args, stdin);
        serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"))
    };
    // The table lines up behind a 64-character name.
    let table = run(&["nodes", "list"], None);
    let mut lines = table.lines();
    let header = lines.next().expect("header");
    let row = lines.next().expect("row");
    assert_eq!(header.find("CHAIN"), Some(65), "{table}");
    assert_eq!(row.find("devnet"), Some(65), "{table}");
    // nodes show: the last values, what is unsupported, recent events.
    let shown = run(&["nodes", "show", &long], None);
    assert!(
        shown.contains("status") && shown.contains("ok") && shown.contains("recent events"),
        "{shown}"
    );
    assert_eq!(
        json(&["nodes", "show", &long, "--json"], None)["name"],
        long.as_str()
    );
    // --json results.
    let added = json(
        &[
            "user",
            "add",
            "--name",
            "jsonuser",
            "--role",
            "viewer",
            "--password-stdin",
            "--json",
        ],
        Some("Quiet-River-4821\n"),
    );
    assert_eq!(
        (added["name"].as_str(), added["created"].as_bool()),
        (Some("jsonuser"), Some(true))
    );
    assert_eq!(
        json(&["user", "remove", "jsonuser", "--json"], None)["removed"],
        true
    );
    let token = json(
        &[
            "token", "create", "--role", "viewer", "--name", "probe", "--json",
        ],
        None,
    );
    let id = token["id"].as_str().expect("id").to_string();
    assert_eq!(
        json(&["token", "revoke", &id, "--json"], None)["revoked"],
        true
    );
    let silence = json(
        &[
            "silences",
            "add",
            "--match",
            &format!("node={long}"),
            "--for",
            "1h",
            "--comment",
            "maintenance",
            "--json",
        ],
        None,
    );
    let sid = silence["id"].as_str().expect("silence id").to_string();
    assert_eq!(
        json(&["silences", "expire", &sid, "--json"], None)["expired"],
        true
    );
    let log = dir.path().join("geth.log");
    std::fs::write(
        &log,
        "INFO [11-26|00:00:00.000] Imported new chain segment number=5\n",
    )
    .expect("log");
    let imported = json(
        &[
            "logs",
            "import",
            "--node",
            &long,
            "--json",
            log.to_str().expect("utf8"),
        ],
        None,
    );
    assert_eq!(imported["entries"], 1, "{imported}");
}

/// Issue 15 item 17: `config show` prints TOML that can be pasted back — `config check`
/// accepts it and showing it again gives the same text — with every secret redacted. It
/// used to print the validated types (`[alerting]` nesting rules and notifiers, `rpc_auth`
/// tables, a bench workload table), which `config check` refused.
#[test]
fn config_show_prints_toml_that_pastes_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "repo-password\n").expect("pw");
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"data_dir = "{data}"
[server]
external_url = "https://ops.example.org"
[[nodes]]
name = "anvil-1"
chain = "devnet"
kind = "evm"
rpc_url = "http://127.0.0.1:8545"
chain_id = 31337
[[nodes]]
name = "ltc"
chain = "ltc"
kind = "bitcoin"
rpc_url = "http://127.0.0.1:9332"
rpc_user = "u"
rpc_password = "hunter2-secret"
chain_id = "regtest"
[[nodes]]
name = "ltc2"
chain = "ltc"
kind = "bitcoin"
rpc_url = "http://127.0.0.1:9333"
rpc_cookie_file = "{data}/.cookie"
[[nodes]]
name = "managed"
chain = "devnet"
kind = "evm"
rpc_url = "http://127.0.0.1:8546"
managed = true
command = "/usr/bin/anvil"
args = ["--port", "8546"]
env = {{ RUST_LOG = "info" }}
[[rules]]
name = "LowPeers2"
expr = "peers < 2 and height > 5"
for = "1m"
labels = {{ team = "infra" }}
inhibited_by = ["NodeDown"]
[[notifiers]]
name = "hook"
kind = "webhook"
url = "http://127.0.0.1:9/hook"
secret = "hook-secret-value"
[[notifiers]]
name = "mail"
kind = "email"
url = "smtp://127.0.0.1:25"
from = "ops@example.org"
to = ["oncall@example.org"]
quiet_hours = "22:00-07:00"
quiet_hours_utc_offset = "+08:00"
[[logs.sources]]
node = "anvil-1"
path = "/var/log/a.log"
drop = ["^x"]
[bench]
node = "anvil-1"
workload = "read"
read_method = "eth_getBalance"
[[bench.rounds]]
rate_control = "linear-ramp"
start_tps = 5
end_tps = 10
duration = "30s"
[[backups]]
name = "b"
node = "anvil-1"
schedule = "@daily"
repo = "{data}/repo"
password_file = "{pw}"
paths = ["{data}"]
keep_last = 3
keep_daily = 7
[support]
teams = ["tier1", "tier2"]
notify = ["hook"]
max_attachment_size = "2MB"
check_interval = "10s"
[support.calendars.office]
zone = "Asia/Shanghai"
hours = ["mon-fri 09:00-12:00,13:00-18:00"]
holidays = ["2026-10-01..2026-10-07"]
makeup_days = ["2026-10-10"]
[[support.sla]]
priority = "P1"
first_response = "30m"
escalate_to = "tier2"
[[support.sla]]
priority = "P3"
category = "contract"
calendar = "office"
resolution = "5d"
[[support.canned]]
title = "More detail"
body = "Please send the transaction hash."
"#,
            data = dir.path().join("data").display(),
            pw = pw.display()
        ),
    )
    .expect("write");
    let show = |path: &std::path::Path| {
        let out = chainops(&["config", "show", "--config", path.to_str().expect("utf8")]);
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let shown = show(&cfg);
    for secret in ["hunter2-secret", "hook-secret-value"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    let pasted = dir.path().join("pasted.toml");
    std::fs::write(&pasted, &shown).expect("write");
    let check = chainops(&[
        "config",
        "check",
        "--config",
        pasted.to_str().expect("utf8"),
    ]);
    assert!(
        check.status.success(),
        "config check refused what config show printed: {}\n{shown}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(show(&pasted), shown, "showing the pasted config changes it");
    for key in [
        "expr = \"peers < 2 and height > 5\"",
        "quiet_hours = \"22:00-07:00\"",
        "quiet_hours_utc_offset = \"+08:00\"",
        "rate_control = \"linear-ramp\"",
        "keep_daily = 7",
        "rpc_user = \"u\"",
        "workload = \"read\"",
        "makeup_days = [\"2026-10-10\"]",
        "calendar = \"office\"",
        "escalate_to = \"tier2\"",
        "max_attachment_size = \"2097152\"",
    ] {
        assert!(shown.contains(key), "missing {key} in:\n{shown}");
    }
}

#[test]
fn completions_and_manual_pages_come_from_the_same_definitions() {
    let out = chainops(&["completions", "bash"]);
    assert!(out.status.success());
    let script = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        script.contains("backup") && script.contains("--config"),
        "{script}"
    );
    let mut check = Command::new("bash")
        .arg("-n")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("bash");
    use std::io::Write;
    check
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("write");
    assert!(check.wait().expect("bash").success(), "bash -n accepts it");
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        assert!(
            chainops(&["completions", shell]).status.success(),
            "{shell}"
        );
    }
    let bad = chainops(&["completions", "tcsh"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("possible values"));

    let dir = tempfile::tempdir().expect("tmp");
    let man = dir.path().join("share/man/man1");
    let out = chainops(&["man", "--out-dir", man.to_str().expect("path")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let top = std::fs::read_to_string(man.join("chainops.1")).expect("chainops.1");
    assert!(top.contains(".TH chainops 1"), "{top}");
    let page = std::fs::read_to_string(man.join("chainops-backup-create.1")).expect("page");
    assert!(
        page.contains("\\-\\-repo") && page.contains("SOURCE"),
        "{page}"
    );
    // A file where the directory should be is named.
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").expect("file");
    let out = chainops(&["man", "--out-dir", file.to_str().expect("path")]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not-a-dir"));
}
