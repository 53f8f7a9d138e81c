//! `chainops backup` end to end: a stopped litecoind regtest data dir backs up and restores
//! byte-identical; list, diff, check and keys work from the CLI; a wrong password exits 5 and
//! changes nothing.

use crate::litecoin::Litecoind;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output};

fn backup(repo: &Path, pw: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chainops"))
        .arg("backup")
        .args(args)
        .args(["--repo", repo.to_str().expect("utf8")])
        .env("CHAINOPS_BACKUP_PASSWORD", pw)
        .env_remove("CHAINOPS_BACKUP_REPO")
        .output()
        .expect("run chainops backup")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Relative path → bytes of every regular file (and link targets) under `root`.
fn files(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            let m = std::fs::symlink_metadata(&p).expect("meta");
            let rel = p.strip_prefix(root).expect("rel").display().to_string();
            if m.is_dir() {
                stack.push(p);
            } else if m.file_type().is_symlink() {
                out.push((
                    rel,
                    std::fs::read_link(&p)
                        .expect("link")
                        .display()
                        .to_string()
                        .into_bytes(),
                ));
            } else {
                out.push((rel, std::fs::read(&p).expect("read")));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn litecoind_data_dir_round_trips_and_the_cli_reports() {
    let t = tempfile::tempdir().expect("tempdir");
    let data = t.path().join("ltc");
    let mut node = Litecoind::start_opts(&data, "raw(51)", false);
    node.rpc("generatetodescriptor", json!([25, "raw(51)"]));
    let tip = node.rpc("getbestblockhash", json!([]));
    node.proc.terminate();
    let repo = t.path().join("repo");

    ok(&backup(&repo, "s3cret", &["init"]));
    let out = ok(&backup(
        &repo,
        "s3cret",
        &[
            "create",
            "--tag",
            "regtest",
            "--json",
            data.to_str().expect("utf8"),
        ],
    ));
    let first: Value = serde_json::from_str(&out).expect("json");
    let id1 = first["id"].as_str().expect("id").to_string();
    assert!(
        first["snapshot"]["stats"]["files"].as_u64() > Some(5),
        "{first}"
    );

    // Same data again: nothing re-read, nothing added.
    let out = ok(&backup(
        &repo,
        "s3cret",
        &["create", "--json", data.to_str().expect("utf8")],
    ));
    let second: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(second["snapshot"]["stats"]["files_read"], 0, "{second}");
    assert_eq!(second["snapshot"]["stats"]["bytes_added"], 0);
    assert_eq!(second["snapshot"]["parent"], id1.as_str());

    let list: Value =
        serde_json::from_str(&ok(&backup(&repo, "s3cret", &["list", "--json"]))).expect("json");
    assert_eq!(list.as_array().expect("list").len(), 2);
    assert_eq!(list[0]["snapshot"]["tags"][0], "regtest");
    let diff = ok(&backup(&repo, "s3cret", &["diff", &id1[..10], "latest"]));
    assert!(diff.contains("0 changes"), "{diff}");

    let target = t.path().join("restored");
    ok(&backup(
        &repo,
        "s3cret",
        &[
            "restore",
            &id1[..10],
            "--target",
            target.to_str().expect("utf8"),
        ],
    ));
    assert_eq!(files(&data), files(&target.join("ltc")));
    // The restored node boots on the same tip.
    let restored = Litecoind::start_opts(&target.join("ltc"), "raw(51)", false);
    assert_eq!(restored.rpc("getbestblockhash", json!([])), tip);
    drop(restored);

    let check = ok(&backup(&repo, "s3cret", &["check", "--read-data"]));
    assert!(check.contains("no errors found"), "{check}");

    // Wrong password: exit 5, named, repository unchanged.
    let before = files(&repo);
    let out = backup(&repo, "wrong", &["list"]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong password"));
    assert_eq!(files(&repo), before);

    // A second password opens it too.
    let keyfile = t.path().join("new-pw");
    std::fs::write(&keyfile, "another\n").expect("write");
    ok(&backup(
        &repo,
        "s3cret",
        &[
            "key",
            "add",
            "--new-password-file",
            keyfile.to_str().expect("utf8"),
        ],
    ));
    let keys: Value =
        serde_json::from_str(&ok(&backup(&repo, "another", &["key", "list", "--json"])))
            .expect("json");
    assert_eq!(keys.as_array().expect("keys").len(), 2);

    // Bad input is named.
    let out = backup(&repo, "s3cret", &["check", "--read-data-subset", "150%"]);
    assert_eq!(out.status.code(), Some(2));
    let out = backup(&t.path().join("nothing"), "s3cret", &["list"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a chainops repository"));
}

/// A deterministic pseudo-random sequence (xorshift) so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn spawn_backup(repo: &Path, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_chainops"))
        .arg("backup")
        .args(args)
        .args(["--repo", repo.to_str().expect("utf8")])
        .env("CHAINOPS_BACKUP_PASSWORD", "pw")
        .env_remove("CHAINOPS_BACKUP_REPO")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn")
}

#[test]
fn kill_9_during_create_and_prune_leaves_a_sound_repository() {
    let seed = 0x5eed_1234_u64;
    let mut rng = Rng(seed);
    let t = tempfile::tempdir().expect("tempdir");
    let (fixed, data, repo) = (
        t.path().join("fixed"),
        t.path().join("data"),
        t.path().join("repo"),
    );
    std::fs::create_dir_all(&fixed).expect("mkdir");
    std::fs::create_dir_all(&data).expect("mkdir");
    for i in 0..4 {
        std::fs::write(fixed.join(format!("f{i}")), rng.bytes(300_000)).expect("write");
    }
    for i in 0..24 {
        std::fs::write(data.join(format!("d{i}")), rng.bytes(1_000_000)).expect("write");
    }
    ok(&backup(&repo, "pw", &["init"]));
    // The snapshot that must survive everything (its own group: forget never touches it).
    let first: Value = serde_json::from_str(&ok(&backup(
        &repo,
        "pw",
        &["create", "--json", fixed.to_str().expect("utf8")],
    )))
    .expect("json");
    let first_id = first["id"].as_str().expect("id").to_string();
    let started = std::time::Instant::now();
    ok(&backup(
        &repo,
        "pw",
        &["create", data.to_str().expect("utf8")],
    ));
    let create_ms = started.elapsed().as_millis() as u64;

    for round in 0..20 {
        // New content so each create has work to do.
        for _ in 0..6 {
            let i = rng.next() % 24;
            std::fs::write(data.join(format!("d{i}")), rng.bytes(1_000_000)).expect("write");
        }
        let args: Vec<&str> = if round % 2 == 0 {
            vec!["create", data.to_str().expect("utf8")]
        } else {
            // Something to prune: forget all but the newest two data snapshots first.
            ok(&backup(
                &repo,
                "pw",
                &["create", data.to_str().expect("utf8")],
            ));
            ok(&backup(&repo, "pw", &["forget", "--keep-last", "2"]));
            vec!["prune"]
        };
        let mut child = spawn_backup(&repo, &args);
        std::thread::sleep(std::time::Duration::from_millis(
            rng.next() % (create_ms + 1),
        ));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let out = backup(&repo, "pw", &["check", "--json"]);
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        assert!(
            out.status.success(),
            "seed {seed:#x} round {round} ({args:?}): check failed: {report} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Every byte still verifies, and the first snapshot restores byte-identical.
    ok(&backup(&repo, "pw", &["prune"]));
    let check = ok(&backup(&repo, "pw", &["check", "--read-data"]));
    assert!(check.contains("no errors found"), "{check}");
    let target = t.path().join("restored");
    ok(&backup(
        &repo,
        "pw",
        &[
            "restore",
            &first_id,
            "--target",
            target.to_str().expect("utf8"),
        ],
    ));
    assert_eq!(files(&fixed), files(&target.join("fixed")));
}

#[test]
fn drills_boot_snapshots_of_running_nodes_on_the_recorded_head() {
    let t = tempfile::tempdir().expect("tempdir");
    let repo = t.path().join("repo");
    ok(&backup(&repo, "pw", &["init"]));

    // anvil: its own dump, taken while it mines a block per second.
    let anvil = crate::harness::Anvil::start(&[]);
    std::thread::sleep(std::time::Duration::from_secs(3));
    let out = ok(&backup(
        &repo,
        "pw",
        &[
            "create",
            "--json",
            "--node-rpc",
            &anvil.url(),
            "--capture",
            "dump",
            "--node-name",
            "anvil-1",
        ],
    ));
    let snap: Value = serde_json::from_str(&out).expect("json");
    let node = &snap["snapshot"]["node"];
    assert_eq!(snap["snapshot"]["mode"], "dump");
    assert!(node["height"].as_u64() >= Some(2), "{node}");
    let recorded = anvil.rpc(
        "eth_getBlockByNumber",
        json!([
            format!("0x{:x}", node["height"].as_u64().expect("h")),
            false
        ]),
    );
    assert_eq!(
        recorded["hash"], node["hash"],
        "the recorded head is the chain's"
    );
    let id = snap["id"].as_str().expect("id").to_string();
    let anvil_bin = crate::harness::anvil_bin();
    let drill: Value = serde_json::from_str(&ok(&backup(
        &repo,
        "pw",
        &[
            "drill",
            &id[..10],
            "--json",
            "--node-bin",
            anvil_bin.to_str().expect("utf8"),
        ],
    )))
    .expect("json");
    assert_eq!(drill["ok"], true, "{drill}");
    assert_eq!(drill["found_hash"], node["hash"]);

    // litecoind: a hook stops it (the data dir is only consistent when the node is down).
    let data = t.path().join("ltc");
    let node = Litecoind::start_opts(&data, "raw(51)", false);
    node.rpc("generatetodescriptor", json!([12, "raw(51)"]));
    let tip = node.rpc("getbestblockhash", json!([]));
    let pid = node.proc.pid().to_string();
    // Wait until it has exited (it stays a zombie of this test process, hence the state check).
    let stop = format!(
        "kill -TERM {pid}; while [ -e /proc/{pid} ] && ! grep -q '^State:.*Z' /proc/{pid}/status; do sleep 0.1; done"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_chainops"))
        .args([
            "backup",
            "create",
            "--json",
            "--repo",
            repo.to_str().expect("utf8"),
        ])
        .args([
            "--node-rpc",
            &node.url(),
            "--node-kind",
            "bitcoin",
            "--rpc-user",
            crate::litecoin::AUTH.0,
        ])
        .args([
            "--capture",
            "hook",
            "--pre-hook",
            &stop,
            data.to_str().expect("utf8"),
        ])
        .env("CHAINOPS_BACKUP_PASSWORD", "pw")
        .env("CHAINOPS_BACKUP_RPC_PASSWORD", crate::litecoin::AUTH.1)
        .output()
        .expect("create");
    let snap: Value = serde_json::from_str(&ok(&out)).expect("json");
    assert_eq!(snap["snapshot"]["node"]["hash"], tip);
    assert_eq!(snap["snapshot"]["node"]["network"], "regtest");
    let id = snap["id"].as_str().expect("id").to_string();
    let ltc_bin = crate::harness::tool(
        "litecoind",
        "CHAINOPS_TEST_LITECOIND",
        ".tools/bin/litecoind",
    );
    let drill = ok(&backup(
        &repo,
        "pw",
        &[
            "drill",
            &id[..10],
            "--node-bin",
            ltc_bin.to_str().expect("utf8"),
            "--node-arg=-vbparams=mweb:9999999998:9999999999",
        ],
    ));
    assert!(drill.contains("OK"), "{drill}");
    drop(node);

    // A snapshot without node state cannot be drilled: named, exit 2.
    let plain = t.path().join("plain");
    std::fs::create_dir_all(&plain).expect("mkdir");
    std::fs::write(plain.join("x"), b"x").expect("write");
    ok(&backup(
        &repo,
        "pw",
        &["create", plain.to_str().expect("utf8")],
    ));
    let out = backup(&repo, "pw", &["drill", "latest"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no node state"));
}

/// Starts ganache on `db` at `port`; waits until it answers.
fn ganache(db: &Path, port: u16, block_time: bool) -> crate::harness::Proc {
    let bin = crate::harness::tool(
        "ganache",
        "CHAINOPS_TEST_GANACHE",
        ".tools/node_modules/.bin/ganache",
    );
    let mut cmd = Command::new(bin);
    cmd.args([
        "--server.host",
        "127.0.0.1",
        "--server.port",
        &port.to_string(),
        "--logging.quiet",
    ])
    .arg(format!("--database.dbPath={}", db.display()));
    if block_time {
        cmd.arg("--miner.blockTime=1");
    }
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn ganache");
    let url = format!("http://127.0.0.1:{port}");
    crate::harness::wait_for(
        "ganache to answer",
        std::time::Duration::from_secs(60),
        || {
            std::panic::catch_unwind(|| {
                crate::harness::rpc_raw(&url, None, "eth_blockNumber", json!([]))
            })
            .ok()
            .filter(|v| v["result"].is_string())
        },
    );
    crate::harness::Proc {
        child,
        name: "ganache".into(),
    }
}

#[test]
fn ganache_leveldb_round_trips_and_boots_on_the_same_head() {
    let t = tempfile::tempdir().expect("tempdir");
    let db = t.path().join("ganache-db");
    let port = crate::harness::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut node = ganache(&db, port, true);
    crate::harness::wait_for("three blocks", std::time::Duration::from_secs(30), || {
        let h = crate::harness::rpc(&url, None, "eth_blockNumber", json!([]));
        (u64::from_str_radix(h.as_str()?.trim_start_matches("0x"), 16).ok()? >= 3).then_some(())
    });
    node.terminate();
    let original = files(&db);
    let repo = t.path().join("repo");
    ok(&backup(&repo, "pw", &["init"]));
    ok(&backup(
        &repo,
        "pw",
        &["create", db.to_str().expect("utf8")],
    ));
    let target = t.path().join("restored");
    ok(&backup(
        &repo,
        "pw",
        &[
            "restore",
            "latest",
            "--target",
            target.to_str().expect("utf8"),
        ],
    ));
    assert_eq!(
        original,
        files(&target.join("ganache-db")),
        "LevelDB files byte-identical"
    );
    // Both the original and the restored data boot on the same chain head.
    let heads: Vec<Value> = [db.clone(), target.join("ganache-db")]
        .iter()
        .map(|d| {
            let port = crate::harness::free_port();
            let url = format!("http://127.0.0.1:{port}");
            let _node = ganache(d, port, false);
            let b =
                crate::harness::rpc(&url, None, "eth_getBlockByNumber", json!(["latest", false]));
            json!([b["number"], b["hash"]])
        })
        .collect();
    assert_eq!(heads[0], heads[1]);
    assert!(
        heads[0][0].as_str().is_some_and(|n| n != "0x0"),
        "{heads:?}"
    );
}

/// Restoring over a directory that holds something is refused (it would mix two states of a
/// node's data) unless `--overwrite`, which replaces what the snapshot holds and leaves the
/// rest; a file as target is refused; a new or empty directory is fine (issue 15 item 16).
#[test]
fn restore_refuses_a_non_empty_target_without_overwrite() {
    let t = tempfile::tempdir().expect("tempdir");
    let (repo, data) = (t.path().join("repo"), t.path().join("data"));
    std::fs::create_dir_all(&data).expect("data");
    std::fs::write(data.join("chain.db"), b"new state").expect("file");
    ok(&backup(&repo, "pw", &["init"]));
    ok(&backup(
        &repo,
        "pw",
        &["create", data.to_str().expect("utf8")],
    ));
    let target = t.path().join("target");
    std::fs::create_dir_all(target.join("data")).expect("target");
    std::fs::write(target.join("data/chain.db"), b"old state").expect("old");
    std::fs::write(target.join("keep.txt"), b"mine").expect("keep");
    let tgt = target.to_str().expect("utf8");
    let out = backup(&repo, "pw", &["restore", "latest", "--target", tgt]);
    assert!(!out.status.success(), "restored over a non-empty directory");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is not empty") && err.contains("--overwrite"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(target.join("data/chain.db")).expect("old"),
        b"old state",
        "nothing was touched"
    );

    ok(&backup(
        &repo,
        "pw",
        &["restore", "latest", "--target", tgt, "--overwrite"],
    ));
    assert_eq!(
        std::fs::read(target.join("data/chain.db")).expect("new"),
        b"new state"
    );
    assert_eq!(
        std::fs::read(target.join("keep.txt")).expect("keep"),
        b"mine"
    );

    let file = t.path().join("a-file");
    std::fs::write(&file, b"x").expect("file");
    let out = backup(
        &repo,
        "pw",
        &[
            "restore",
            "latest",
            "--target",
            file.to_str().expect("utf8"),
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a directory"));
    let empty = t.path().join("empty");
    std::fs::create_dir_all(&empty).expect("empty");
    ok(&backup(
        &repo,
        "pw",
        &[
            "restore",
            "latest",
            "--target",
            empty.to_str().expect("utf8"),
        ],
    ));
    assert_eq!(
        std::fs::read(empty.join("data/chain.db")).expect("restored"),
        b"new state"
    );
}

/// `backup create --node NAME` takes the node from the config: a node without a data dir
/// that dumps its state is captured by its dump, one with a data dir copies it with the
/// capture of its `[[backups]]` job; an unknown name lists the configured ones (issue 15
/// item 16).
#[test]
fn create_takes_the_node_and_its_capture_from_the_config() {
    let anvil = crate::harness::Anvil::start(&[]);
    let t = tempfile::tempdir().expect("tempdir");
    let repo = t.path().join("repo");
    let data = t.path().join("geth-data");
    std::fs::create_dir_all(data.join("chaindata")).expect("data");
    std::fs::write(data.join("chaindata/000001.ldb"), b"blocks").expect("file");
    let cfg = t.path().join("chainops.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = \"{d}\"\n{a}{b}[[backups]]\nname = \"geth-copy\"\nnode = \"geth-1\"\nschedule = \"0 0 0 1 1 *\"\ncapture = \"live\"\nrepo = \"{r}\"\npassword_file = \"{p}\"\n",
            d = t.path().join("state").display(),
            a = crate::harness::evm_node("anvil-1", &anvil.url(), ""),
            b = crate::harness::evm_node("geth-1", &anvil.url(), &format!("data_dir = \"{}\"", data.display())),
            r = repo.display(),
            p = t.path().join("pw").display(),
        ),
    )
    .expect("config");
    ok(&backup(&repo, "pw", &["init"]));
    let c = cfg.to_str().expect("utf8");
    let out = ok(&backup(
        &repo,
        "pw",
        &["create", "--json", "--node", "anvil-1", "--config", c],
    ));
    let snap: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(snap["snapshot"]["mode"], "dump", "{snap}");
    assert_eq!(snap["snapshot"]["node"]["node"], "anvil-1");
    assert_eq!(snap["snapshot"]["node"]["chain"], "devnet");
    assert!(snap["snapshot"]["node"]["height"].is_u64());

    let out = ok(&backup(
        &repo,
        "pw",
        &["create", "--json", "--node", "geth-1", "--config", c],
    ));
    let snap: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(snap["snapshot"]["mode"], "live", "{snap}");
    assert_eq!(snap["snapshot"]["stats"]["files"], 1, "{snap}");
    assert_eq!(snap["snapshot"]["node"]["node"], "geth-1");

    let out = backup(&repo, "pw", &["create", "--node", "ghost", "--config", c]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ghost") && err.contains("anvil-1, geth-1"),
        "{err}"
    );
}
