//! `chainops doctor` on real parts: a private PostgreSQL (reachable, schema, clock), anvil
//! (reachable; a wrong chain id), a port held by another program and one held by a running
//! daemon, a world-writable data dir and a world-readable secret. It creates nothing.

use crate::harness::*;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

fn doctor(config: &Path) -> (Option<i32>, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_chainops"))
        .args(["doctor", "--json", "--timeout", "3s", "--config"])
        .arg(config)
        .output()
        .expect("doctor");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor --json: {e}\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), v)
}

fn check<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["check"] == name))
        .unwrap_or_else(|| panic!("no check {name}: {v:#}"))
}

#[test]
fn doctor_names_what_to_fix_and_creates_nothing() {
    let admin = std::env::var("CHAINOPS_TEST_POSTGRES_URL").expect(
        "CHAINOPS_TEST_POSTGRES_URL is not set: run `make test` (it starts a private PostgreSQL)",
    );
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let busy_addr = busy.local_addr().expect("addr");
    let secret = dir.path().join("rpc.secret");
    std::fs::write(&secret, "pw\n").expect("secret");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let data = dir.path().join("data");
    let cfg = dir.path().join("chainops.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = \"{data}\"\n[server]\nlisten = \"{busy_addr}\"\n[store]\nurl = \"{admin}\"\n\
             [history]\nbackend = \"prometheus\"\n[history.prometheus]\nurl = \"http://127.0.0.1:{dead}\"\n[[history.remote_write]]\nname = \"vm\"\nurl = \"http://127.0.0.1:{dead}/api/v1/write\"\n{good}{wrong}\
             [[nodes]]\nname = \"auth\"\nchain = \"other\"\nkind = \"evm\"\nrpc_url = \"{url}\"\nrpc_user = \"u\"\nrpc_password_file = \"{secret}\"\n",
            data = data.display(),
            good = evm_node("anvil-1", &anvil.url(), ""),
            wrong = evm_node("wrong", &anvil.url(), "chain_id = 1"),
            url = anvil.url(),
            secret = secret.display(),
            dead = free_port(),
        ),
    )
    .expect("config");

    let (code, v) = doctor(&cfg);
    assert_eq!(code, Some(1), "{v:#}");
    assert_eq!(check(&v, "config")["verdict"], "ok");
    assert_eq!(check(&v, "listen")["verdict"], "fail", "{v:#}");
    assert!(
        check(&v, "listen")["fix"]
            .as_str()
            .is_some_and(|f| f.contains("CHAINOPS_LISTEN")),
        "{v:#}"
    );
    // PostgreSQL is reached; its clock is this host's.
    let store = check(&v, "store");
    assert!(
        store["verdict"] != "fail",
        "the private PostgreSQL is reachable: {store}"
    );
    assert_eq!(check(&v, "clock vs store")["verdict"], "ok", "{v:#}");
    assert_eq!(check(&v, "node anvil-1")["verdict"], "ok", "{v:#}");
    let wrong = check(&v, "node wrong");
    assert_eq!(wrong["verdict"], "fail");
    assert!(
        wrong["detail"]
            .as_str()
            .is_some_and(|d| d.contains("chain id 31337")),
        "{wrong}"
    );
    assert_eq!(check(&v, "node auth password")["verdict"], "warn", "{v:#}");
    // The TSDB: a remote-write target away only queues (warning); charts read from a dead
    // query API fail.
    assert_eq!(check(&v, "remote write vm")["verdict"], "warn", "{v:#}");
    assert_eq!(check(&v, "history backend")["verdict"], "fail", "{v:#}");
    assert_eq!(check(&v, "data_dir")["verdict"], "warn");
    assert!(!data.exists(), "doctor must not create the data dir");
    drop(busy);

    // A world-writable data dir fails; a running daemon on the port is only a warning.
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let (_, v) = doctor(&cfg);
    assert_eq!(
        check(&v, "data_dir permissions")["verdict"],
        "fail",
        "{v:#}"
    );
    assert_eq!(check(&v, "listen")["verdict"], "ok", "{v:#}");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    std::fs::create_dir_all(dir.path().join("d")).expect("mkdir");
    let d = Daemon::start(
        &dir.path().join("d"),
        &evm_node("anvil-1", &anvil.url(), ""),
    );
    let addr = d.base.trim_start_matches("http://").to_string();
    let text = std::fs::read_to_string(&cfg)
        .expect("config")
        .replace(&busy_addr.to_string(), &addr);
    std::fs::write(&cfg, text).expect("config");
    let (_, v) = doctor(&cfg);
    assert_eq!(check(&v, "listen")["verdict"], "warn", "{v:#}");
    assert_eq!(
        std::fs::read_dir(&data).expect("data").count(),
        0,
        "doctor wrote into the data dir"
    );

    // A config that does not load is the one failing check, named.
    std::fs::write(&cfg, "[[nodes]]\nname = \"x\"\n").expect("config");
    let (code, v) = doctor(&cfg);
    assert_eq!(code, Some(1));
    assert_eq!(check(&v, "config")["verdict"], "fail", "{v:#}");
}
