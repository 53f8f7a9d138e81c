//! Three `chainops serve` members on a private PostgreSQL share 300 fake nodes (the fake
//! fleet of `bench/monitor-scale`, which counts the polls each node answers) and one dead
//! node whose alert is firing with its notification due:
//! - every node is polled by exactly one member (the fleet's counts, the members' /metrics);
//! - every member's API shows every node;
//! - `kill -9` of the leader: a new leader within 15 s, the notification arrives exactly
//!   once, the dead leader's nodes are polled again within 15 s;
//! - `kill -9` of a member: its nodes are polled again within 15 s.

use crate::harness::*;
use nix::sys::signal::Signal;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const NODES: usize = 300;
const T: Duration = Duration::from_secs(90);
const TAKEOVER: Duration = Duration::from_secs(15);

/// The fake fleet on a free port, answering; returns it and its base URL.
fn start_fleet() -> (Proc, String) {
    let port = free_port();
    let proc = Proc {
        child: Command::new(fake_fleet_bin())
            .arg(port.to_string())
            .stdout(Stdio::null())
            .spawn()
            .expect("start the fake fleet"),
        name: "fake-evm-fleet".into(),
    };
    let fleet = format!("http://127.0.0.1:{port}");
    wait_for("the fake fleet", T, || {
        http().get(format!("{fleet}/polls")).send().ok()
    });
    (proc, fleet)
}

/// Gives the member in `dir` the audit signing key of the member in `from` (members share one).
fn share_key(from: &std::path::Path, dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("data")).expect("data dir");
    std::fs::copy(
        from.join("data/audit-signing.key"),
        dir.join("data/audit-signing.key"),
    )
    .expect("copy the key");
}

fn fake_fleet_bin() -> PathBuf {
    tool(
        "fake-evm-fleet",
        "CHAINOPS_TEST_FAKE_FLEET",
        "target/debug/fake-evm-fleet",
    )
}

/// Polls each fake node has answered so far.
fn polls(fleet: &str) -> Vec<u64> {
    http()
        .get(format!("{fleet}/polls"))
        .send()
        .and_then(|r| r.json::<Vec<u64>>())
        .expect("fleet poll counts")
}

fn cluster(d: &Daemon) -> Option<Value> {
    let r = http()
        .get(format!("{}/api/v1/cluster", d.base))
        .bearer_auth(&d.token)
        .timeout(Duration::from_secs(3))
        .send()
        .ok()?;
    r.json().ok()
}

/// The nodes a member exports on /metrics (it exports only those it polls, `chainops_node_up`).
fn exported(d: &Daemon) -> BTreeSet<String> {
    d.metrics()
        .lines()
        .filter(|l| l.starts_with("chainops_node_up{"))
        .filter_map(|l| {
            l.split("node=\"")
                .nth(1)?
                .split('"')
                .next()
                .map(String::from)
        })
        .collect()
}

/// Waits until every node in `nodes` (fake indexes) answered a poll after `before`;
/// returns how long that took from `since`.
fn picked_up(fleet: &str, nodes: &[usize], before: &[u64], since: Instant) -> Duration {
    wait_for("the nodes to be polled again", T, || {
        let now = polls(fleet);
        nodes
            .iter()
            .all(|&i| now.get(i).copied().unwrap_or(0) > before.get(i).copied().unwrap_or(0))
            .then(|| since.elapsed())
    })
}

fn member(members: &[Option<Daemon>], i: usize) -> &Daemon {
    members[i].as_ref().expect("live member")
}

fn indexes(names: &BTreeSet<String>) -> Vec<usize> {
    names
        .iter()
        .filter_map(|n| n.strip_prefix("fake-")?.parse().ok())
        .collect()
}

#[test]
fn three_members_share_the_fleet_and_replace_a_dead_leader_and_member() {
    let url = postgres_db("chainops_cluster");
    let (fleet_proc, fleet) = start_fleet();
    let rx = Receiver::start();
    let mut nodes = String::new();
    for i in 0..NODES {
        nodes += &format!(
            "[[nodes]]\nname = \"fake-{i}\"\nchain = \"c{}\"\nkind = \"evm\"\nrpc_url = \"{fleet}/n/{i}\"\nblock_time = \"1s\"\n",
            i % 10
        );
    }
    nodes += &evm_node("dead-1", &format!("http://127.0.0.1:{}", free_port()), "");
    let dirs: Vec<_> = (0..3)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let config = |member: &str| {
        format!(
            "[store]\nurl = \"{url}\"\n[cluster]\nenabled = true\nmember = \"{member}\"\n\
             [monitor]\npoll_interval = \"1s\"\n\
             [alerting]\ndefault_rules = false\neval_interval = \"500ms\"\n\
             [[rules]]\nname = \"DeadNode\"\nseverity = \"critical\"\nexpr = \"up < 1\"\nfor = \"2s\"\n\
             [[notifiers]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\nsecret = \"s3cret-s3cret\"\n{nodes}",
            rx.url
        )
    };
    // The receiver fails until the leader is killed: the notification stays due.
    rx.set_status(503);
    let mut members: Vec<Option<Daemon>> = vec![Some(Daemon::start(dirs[0].path(), &config("m1")))];
    // Members share the audit trail's signing key (or checkpoints would not verify across
    // them): a member with a key of its own is refused, naming the file to copy.
    let stranger = tempfile::tempdir().expect("tempdir");
    let cfg = stranger.path().join("chainops.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = \"{}/data\"\n{}",
            stranger.path().display(),
            config("m9")
        ),
    )
    .expect("config");
    let mut refused = Command::new(env!("CARGO_BIN_EXE_chainops"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let status = wait_for("the stranger to be refused", T, || {
        refused.try_wait().ok().flatten()
    });
    let mut err = String::new();
    std::io::Read::read_to_string(&mut refused.stderr.take().expect("stderr"), &mut err)
        .expect("stderr");
    assert!(
        !status.success()
            && err.contains("signs the audit trail with another key")
            && err.contains("audit-signing.key"),
        "{status:?}: {err}"
    );
    for (m, dir) in ["m2", "m3"].iter().zip(&dirs[1..]) {
        share_key(dirs[0].path(), dir.path());
        members.push(Some(Daemon::start(dir.path(), &config(m))));
    }
    let live = |members: &[Option<Daemon>]| -> Vec<usize> {
        (0..members.len())
            .filter(|&i| members[i].is_some())
            .collect()
    };

    // Everyone joined, every node assigned.
    wait_for("three live members and every node assigned", T, || {
        let c = cluster(member(&members, 0))?;
        let alive = c["members"]
            .as_array()?
            .iter()
            .filter(|m| m["alive"] == true)
            .count();
        (alive == 3 && c["unassigned_nodes"] == 0).then_some(())
    });
    // Each member exports the nodes it polls: together all of them, no node twice.
    let mut last = Vec::new();
    let owned: Vec<BTreeSet<String>> = wait_for_opt(T, || {
        let sets: Vec<_> = (0..3).map(|i| exported(member(&members, i))).collect();
        let total: usize = sets.iter().map(BTreeSet::len).sum();
        let union: BTreeSet<&String> = sets.iter().flatten().collect();
        let settled = total == NODES + 1 && union.len() == NODES + 1;
        last = sets.iter().map(BTreeSet::len).collect();
        settled.then_some(sets)
    })
    .unwrap_or_else(|| {
        panic!(
            "the members' /metrics did not settle: they export {last:?} nodes; cluster {}",
            cluster(member(&members, 0)).unwrap_or_default()
        )
    });
    for (i, set) in owned.iter().enumerate() {
        assert!(
            set.len() > NODES / 6,
            "member {i} polls only {} of {} nodes: {owned:?}",
            set.len(),
            NODES + 1
        );
    }
    // One leader, by its own metrics too; each member counts what it polls.
    let leaders: Vec<usize> = (0..3)
        .filter(|&i| {
            let m = member(&members, i).metrics();
            let me = [("member", ["m1", "m2", "m3"][i])];
            assert_eq!(
                metric_value(&m, "chainops_cluster_owned_nodes", &me),
                Some(owned[i].len() as f64)
            );
            assert_eq!(metric_value(&m, "chainops_cluster_members", &me), Some(3.0));
            metric_value(&m, "chainops_cluster_leader", &me) == Some(1.0)
        })
        .collect();
    assert_eq!(leaders.len(), 1, "exactly one leader: {leaders:?}");
    // The console's settings page shows the cluster, this member marked, in either language.
    let page = member(&members, 1)
        .get("/settings")
        .text()
        .expect("settings page");
    assert!(
        page.contains("id=\"cluster\"")
            && ["m1", "m2", "m3"]
                .iter()
                .all(|m| page.contains(&format!("<td>{m}")))
            && page.contains("m2 ★"),
        "{page}"
    );
    let zh = http()
        .get(format!("{}/settings", member(&members, 1).base))
        .bearer_auth(&member(&members, 1).token)
        .header("Accept-Language", "zh-CN")
        .send()
        .and_then(|r| r.text())
        .expect("settings page");
    assert!(zh.contains("集群"), "{zh}");
    // Exactly one member polls each node: over 10 s at 1 s polls, about 10 polls each.
    let before = polls(&fleet);
    std::thread::sleep(Duration::from_secs(10));
    let after = polls(&fleet);
    let rates: Vec<u64> = (0..NODES).map(|i| after[i] - before[i]).collect();
    let twice: Vec<usize> = (0..NODES).filter(|&i| rates[i] > 14).collect();
    let never: Vec<usize> = (0..NODES).filter(|&i| rates[i] < 6).collect();
    assert!(
        twice.is_empty() && never.is_empty(),
        "polled more than once a second: {twice:?}; less than that: {never:?}; rates {rates:?}"
    );
    // Any member answers for every node (views are shared).
    for i in 0..3 {
        let d = member(&members, i);
        let all = wait_for("every node on every member's API", T, || {
            let v = d.json("/api/v1/nodes");
            let a = v.as_array()?.clone();
            let ok = a.iter().filter(|n| n["status"] == "ok").count();
            (a.len() == NODES + 1 && ok == NODES).then_some(a)
        });
        assert!(
            all.iter()
                .any(|n| n["name"] == "dead-1" && n["status"] == "down")
        );
    }

    // The dead node's alert fires; its notification fails and stays due.
    let any = member(&members, 1);
    wait_for("DeadNode firing and its delivery failing", T, || {
        let alerts = any.json("/api/v1/alerts");
        let firing = alerts
            .as_array()?
            .iter()
            .any(|a| a["rule"] == "DeadNode" && a["state"] == "firing");
        let failed = rx
            .requests
            .lock()
            .expect("lock")
            .iter()
            .any(|r| r.status == 503);
        (firing && failed).then_some(())
    });
    let c = cluster(any).expect("cluster");
    let leader_name = c["leader"]["member"].as_str().expect("leader").to_string();
    let epoch = c["leader"]["epoch"].as_i64().expect("epoch");
    let li = ["m1", "m2", "m3"]
        .iter()
        .position(|m| *m == leader_name)
        .expect("leader is a member");
    let leader_nodes = indexes(&owned[li]);
    let counts = polls(&fleet);
    let killed = Instant::now();
    let mut gone = members[li].take().expect("leader");
    gone.proc.signal(Signal::SIGKILL);
    let _ = gone.proc.child.wait();
    let new_leader = wait_for("a new leader", T, || {
        live(&members).into_iter().find_map(|i| {
            let c = cluster(member(&members, i))?;
            (c["is_leader"] == true).then(|| (i, c, killed.elapsed()))
        })
    });
    assert!(
        new_leader.2 <= TAKEOVER,
        "a new leader took {:?} (more than 15 s)",
        new_leader.2
    );
    assert!(
        new_leader.1["leader"]["epoch"].as_i64() > Some(epoch),
        "the epoch grows"
    );
    let pickup = picked_up(&fleet, &leader_nodes, &counts, killed);
    assert!(
        pickup <= TAKEOVER,
        "the dead leader's nodes were polled again after {pickup:?}"
    );
    eprintln!(
        "leader killed: new leader after {:?}, its {} nodes polled again after {pickup:?}",
        new_leader.2,
        leader_nodes.len()
    );

    // The receiver recovers: the notification arrives, once.
    rx.set_status(200);
    wait_for("the DeadNode notification", T, || {
        (rx.count("DeadNode", "firing") >= 1).then_some(())
    });
    std::thread::sleep(Duration::from_secs(8));
    let mut by_delivery: BTreeMap<String, usize> = BTreeMap::new();
    for r in rx
        .requests
        .lock()
        .expect("lock")
        .iter()
        .filter(|r| r.status == 200)
    {
        let id = r
            .headers
            .get("x-chainops-delivery")
            .cloned()
            .unwrap_or_default();
        *by_delivery.entry(id).or_default() += 1;
    }
    assert_eq!(
        rx.count("DeadNode", "firing"),
        1,
        "delivered {by_delivery:?}"
    );
    assert!(
        by_delivery.values().all(|n| *n == 1),
        "a notification arrived twice: {by_delivery:?}"
    );

    // A member (not the leader) dies: its nodes are picked up.
    let fi = live(&members)
        .into_iter()
        .find(|&i| i != new_leader.0)
        .expect("a follower");
    let follower_nodes = indexes(&exported(member(&members, fi)));
    assert!(!follower_nodes.is_empty());
    let mut gone = members[fi].take().expect("follower");
    gone.proc.signal(Signal::SIGKILL);
    let _ = gone.proc.child.wait();
    let killed = Instant::now();
    std::thread::sleep(Duration::from_millis(300));
    let counts = polls(&fleet);
    let pickup = picked_up(&fleet, &follower_nodes, &counts, killed);
    assert!(
        pickup <= TAKEOVER,
        "the dead member's nodes were polled again after {pickup:?}"
    );
    eprintln!(
        "member killed: its {} nodes polled again after {pickup:?}",
        follower_nodes.len()
    );
    let last = member(&members, new_leader.0);
    wait_for("the last member to poll everything", T, || {
        (exported(last).len() == NODES + 1).then_some(())
    });
    drop(fleet_proc);
}

/// The members' own private PostgreSQL, paused and resumed by the test (the shared one
/// serves the other tests).
struct OwnPostgres {
    url: String,
    dir: String,
}

impl OwnPostgres {
    fn start() -> OwnPostgres {
        let script = workspace_root().join("scripts/test-postgres.sh");
        let out = Command::new(&script)
            .arg("start")
            .output()
            .expect("start postgres");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let var = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("export {name}=")))
                .expect("script output")
                .to_string()
        };
        OwnPostgres {
            url: var("CHAINOPS_TEST_POSTGRES_URL"),
            dir: var("PGTEST_DIR"),
        }
    }

    fn run(&self, what: &str) {
        let out = Command::new(workspace_root().join("scripts/test-postgres.sh"))
            .args([what, &self.dir])
            .output()
            .expect("postgres script");
        assert!(
            out.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        self.run("stop");
    }
}

/// `chainops_cluster_leader` of a member, from its public /metrics (no store needed).
fn leads(d: &Daemon) -> Option<bool> {
    let body = http()
        .get(format!("{}/metrics", d.base))
        .timeout(Duration::from_secs(3))
        .send()
        .ok()?
        .text()
        .ok()?;
    body.lines()
        .find(|l| l.starts_with("chainops_cluster_leader{"))
        .map(|l| l.ends_with(" 1"))
}

#[test]
fn members_keep_polling_through_a_database_outage_and_elect_a_leader_after_it() {
    let pg = OwnPostgres::start();
    let (_fleet, fleet) = start_fleet();
    let n = 20;
    let mut nodes = String::new();
    for i in 0..n {
        nodes += &format!(
            "[[nodes]]\nname = \"fake-{i}\"\nchain = \"c\"\nkind = \"evm\"\nrpc_url = \"{fleet}/n/{i}\"\nblock_time = \"1s\"\n"
        );
    }
    let config = |m: &str| {
        format!(
            "[store]\nurl = \"{}\"\n[server]\nmetrics_public = true\n[cluster]\nenabled = true\nmember = \"{m}\"\n\
             lease = \"3s\"\nheartbeat = \"1s\"\n[monitor]\npoll_interval = \"1s\"\n{nodes}",
            pg.url
        )
    };
    let dirs: Vec<_> = (0..2)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let a = Daemon::start(dirs[0].path(), &config("a"));
    share_key(dirs[0].path(), dirs[1].path());
    let b = Daemon::start(dirs[1].path(), &config("b"));
    let steady = |what: &str| {
        wait_for(what, T, || {
            let la = leads(&a)?;
            let lb = leads(&b)?;
            let split = exported(&a).len() + exported(&b).len() == n;
            (la != lb && split).then_some(())
        })
    };
    steady("one leader and the nodes split");

    pg.run("pause");
    // Past the lease, nobody leads, and every node is still polled.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(
        (leads(&a), leads(&b)),
        (Some(false), Some(false)),
        "a leader without a database"
    );
    // Every node is polled again within 12 s of the outage's fifth second (one CI run saw
    // a member's polls pause for a few seconds at this point; see the stop-31 note).
    let before = polls(&fleet);
    let stale = wait_for_opt(Duration::from_secs(12), || {
        let after = polls(&fleet);
        let stale: Vec<usize> = (0..n).filter(|&i| after[i] <= before[i]).collect();
        stale.is_empty().then_some(())
    })
    .map_or_else(
        || {
            let after = polls(&fleet);
            (0..n).filter(|&i| after[i] <= before[i]).collect()
        },
        |()| Vec::new(),
    );
    let logs = || {
        [&a, &b]
            .iter()
            .map(|d| {
                let log = std::fs::read_to_string(d.dir.join("daemon.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            })
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    assert!(
        stale.is_empty(),
        "unpolled during the outage: {stale:?}\n{}",
        logs()
    );

    pg.run("resume");
    steady("a leader again once the database is back");
    let before = polls(&fleet);
    std::thread::sleep(Duration::from_secs(6));
    let after = polls(&fleet);
    let twice: Vec<u64> = (0..n)
        .map(|i| after[i] - before[i])
        .filter(|d| *d > 9)
        .collect();
    assert!(twice.is_empty(), "polled twice after the outage: {twice:?}");
}
