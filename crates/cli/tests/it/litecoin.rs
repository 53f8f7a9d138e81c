//! Given two peered litecoind regtest nodes, the daemon shows a lagging node and clears it,
//! and detects the reorg on the node that loses a real fork.

use crate::harness::*;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const T: Duration = Duration::from_secs(60);
pub(crate) const AUTH: (&str, &str) = ("ops", "regtest-pass");

pub(crate) struct Litecoind {
    pub(crate) proc: Proc,
    rpc_port: u16,
    p2p_port: u16,
    /// Descriptor this node mines to (differs per node so blocks differ).
    payout: &'static str,
}

impl Litecoind {
    fn start(dir: &Path, payout: &'static str) -> Litecoind {
        Self::start_opts(dir, payout, false)
    }

    /// Starts a regtest node; `wallet` enables its wallet (for load tests).
    pub(crate) fn start_opts(dir: &Path, payout: &'static str, wallet: bool) -> Litecoind {
        let (rpc_port, p2p_port) = (free_port(), free_port());
        std::fs::create_dir_all(dir).expect("datadir");
        let bin = tool(
            "litecoind",
            "CHAINOPS_TEST_LITECOIND",
            ".tools/bin/litecoind",
        );
        let child = Command::new(bin)
            .arg("-regtest")
            .arg(format!("-datadir={}", dir.display()))
            .arg(format!("-port={p2p_port}"))
            .arg(format!("-rpcport={rpc_port}"))
            .arg(format!("-rpcuser={}", AUTH.0))
            .arg(format!("-rpcpassword={}", AUTH.1))
            .args([
                "-listenonion=0",
                "-vbparams=mweb:9999999998:9999999999",
                "-bind=127.0.0.1",
            ])
            .arg(if wallet {
                "-fallbackfee=0.0002"
            } else {
                "-disablewallet"
            })
            .args([
                "-rpcbind=127.0.0.1",
                "-rpcallowip=127.0.0.1",
                "-dnsseed=0",
                "-discover=0",
                "-printtoconsole=0",
                "-upnp=0",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn litecoind");
        let node = Litecoind {
            proc: Proc {
                child,
                name: "litecoind".into(),
            },
            rpc_port,
            p2p_port,
            payout,
        };
        wait_for("litecoind RPC", T, || {
            let url = node.url();
            std::panic::catch_unwind(|| rpc_raw(&url, Some(AUTH), "getblockchaininfo", json!([])))
                .ok()
                .filter(|v| v["result"].is_object())
        });
        node
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.rpc_port)
    }

    pub(crate) fn rpc(&self, method: &str, params: Value) -> Value {
        rpc(&self.url(), Some(AUTH), method, params)
    }

    fn height(&self) -> u64 {
        self.rpc("getblockcount", json!([]))
            .as_u64()
            .expect("count")
    }

    fn mine(&self, n: u64) {
        self.rpc("generatetodescriptor", json!([n, self.payout]));
    }

    fn connect(&self, other: &Litecoind) {
        self.rpc(
            "addnode",
            json!([format!("127.0.0.1:{}", other.p2p_port), "onetry"]),
        );
        wait_for("peers connected", T, || {
            (self.rpc("getconnectioncount", json!([])).as_u64() >= Some(1)).then_some(())
        });
    }

    fn isolate(&self) {
        self.rpc("setnetworkactive", json!([false]));
        wait_for("peers disconnected", T, || {
            (self.rpc("getconnectioncount", json!([])).as_u64() == Some(0)).then_some(())
        });
    }

    fn rejoin(&self, other: &Litecoind) {
        self.rpc("setnetworkactive", json!([true]));
        other.rpc("setnetworkactive", json!([true]));
        self.connect(other);
    }
}

fn ltc_node(name: &str, node: &Litecoind, secret: &Path) -> String {
    format!(
        "[[nodes]]\nname = \"{name}\"\nchain = \"ltc-regtest\"\nkind = \"bitcoin\"\nrpc_url = \"{}\"\nrpc_user = \"{}\"\nrpc_password_file = \"{}\"\nblock_time = \"150s\"\nstall_after = \"1h\"\nchain_id = \"regtest\"\ntimeout = \"2s\"\n",
        node.url(),
        AUTH.0,
        secret.display()
    )
}

#[test]
fn lag_shows_then_clears_and_the_losing_side_of_a_fork_reports_a_reorg() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = Litecoind::start(&dir.path().join("a"), "raw(51)");
    let b = Litecoind::start(&dir.path().join("b"), "raw(52)");
    b.connect(&a);
    a.mine(5);
    wait_for("b to sync to 5", T, || (b.height() == 5).then_some(()));

    let secret = dir.path().join("rpc.secret");
    std::fs::write(&secret, format!("{}\n", AUTH.1)).expect("secret");
    let cfg = format!(
        "{}{}",
        ltc_node("ltc-a", &a, &secret),
        ltc_node("ltc-b", &b, &secret)
    );
    let d = Daemon::start(dir.path(), &cfg);
    for n in ["ltc-a", "ltc-b"] {
        let r = d.wait_node(n, "ok at height 5", T, |r| {
            r["status"] == "ok" && r["height"] == 5
        });
        assert_eq!(r["chain_id"], "regtest");
        assert!(
            r["client_version"]
                .as_str()
                .expect("version")
                .contains("LitecoinCore")
        );
        assert!(
            r["peers"].as_u64().is_some(),
            "bitcoin nodes report peers: {r}"
        );
    }

    // Lag: cut b off, mine on a.
    b.isolate();
    a.mine(5);
    let r = d.wait_node("ltc-b", "lagging by 5", T, |r| r["status"] == "lagging");
    assert_eq!(r["blocks_behind"], 5);
    let m = d.metrics();
    assert_eq!(
        metric_value(&m, "chainops_blocks_behind", &[("node", "ltc-b")]),
        Some(5.0)
    );
    b.rejoin(&a);
    d.wait_node("ltc-b", "lag cleared", T, |r| {
        r["status"] == "ok" && r["blocks_behind"] == 0
    });

    // Fork: split, mine 2 on b and 4 on a, rejoin: b loses its 2 blocks.
    a.isolate();
    b.mine(2);
    d.wait_node("ltc-b", "b's own branch at 12", T, |r| r["height"] == 12);
    a.mine(4);
    d.wait_node("ltc-a", "a's branch at 14", T, |r| r["height"] == 14);
    b.rejoin(&a);
    let r = d.wait_node("ltc-b", "reorg onto a's chain", T, |r| {
        r["reorgs_total"] == 1 && r["height"] == 14
    });
    assert_eq!(r["last_reorg"]["depth"], 2, "{r:#}");
    assert_eq!(r["last_reorg"]["fork_height"], 10);
    assert_eq!(d.node("ltc-a")["reorgs_total"], 0);
    assert_eq!(
        metric_value(&d.metrics(), "chainops_reorgs_total", &[("node", "ltc-b")]),
        Some(1.0)
    );
}
