//! `chainops doctor`: checks a host before (or beside) `chainops serve` and prints what to
//! fix — the config, the data directory (permissions, free space), the listen address, the
//! store (reachable, schema version), the TSDB (remote-write targets, the query API), the
//! clock (NTP, the store's clock, heads from the future), every node (reachable, right chain, managed program present), TLS files, backup
//! repositories and secret files. It changes nothing: no file, store or repository is created.

use crate::cli::{DoctorOpts, GlobalOpts};
use crate::exit::KindError;
use chainops_core::ErrorKind;
use chainops_core::node_config::{NodeConfig, RpcAuth, SecretSource};
use serde::Serialize;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Fine.
    Ok,
    /// Works, but worth a look.
    Warn,
    /// `chainops serve` will fail or misbehave.
    Fail,
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked (`data_dir`, `node geth-1`).
    pub check: String,
    /// Verdict.
    pub verdict: Verdict,
    /// What was found.
    pub detail: String,
    /// What to do about it (empty when fine).
    pub fix: String,
}

#[derive(Default)]
struct Report(Vec<Check>);

impl Report {
    fn add(
        &mut self,
        check: impl Into<String>,
        verdict: Verdict,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.0.push(Check {
            check: check.into(),
            verdict,
            detail: detail.into(),
            fix: fix.into(),
        });
    }
    fn ok(&mut self, check: impl Into<String>, detail: impl Into<String>) {
        self.add(check, Verdict::Ok, detail, "");
    }
}

/// Free space below which the data directory is a failure / a warning.
const FAIL_FREE: u64 = 100 << 20;
const WARN_FREE: u64 = 1 << 30;
/// Clock skew against the store's clock that is a warning / a failure.
const WARN_SKEW_MS: i64 = 1_000;
const FAIL_SKEW_MS: i64 = 30_000;

/// Runs every check; exit code 1 when one fails.
pub async fn run(g: &GlobalOpts, o: &DoctorOpts) -> anyhow::Result<()> {
    let mut r = Report::default();
    let source = crate::config_load::config_source(g);
    let config = match crate::config_load::load(g) {
        Ok(c) => {
            r.ok(
                "config",
                format!(
                    "{source}: valid, {} nodes, {} backup jobs",
                    c.nodes.len(),
                    c.backups.len()
                ),
            );
            Some(c)
        }
        Err(e) => {
            r.add(
                "config",
                Verdict::Fail,
                format!("{source}: {e:#}"),
                "fix the named keys (`chainops config check` lists every problem)",
            );
            None
        }
    };
    if let Some(c) = &config {
        data_dir(&mut r, &c.data_dir);
        listen(&mut r, c.server.listen).await;
        store(&mut r, &c.store.url).await;
        ntp(&mut r);
        if let Some(tls) = &c.server.tls {
            match chainops_server::tls::load(&tls.cert_file, &tls.key_file).await {
                Ok(_) => r.ok("tls", format!("{} and {} load", tls.cert_file.display(), tls.key_file.display())),
                Err(e) => r.add("tls", Verdict::Fail, format!("{}: {e}", tls.cert_file.display()), "[server.tls] cert_file must be a PEM chain and key_file its PEM private key, readable by the daemon"),
            }
        }
        tsdb(&mut r, &c.history, o.timeout).await;
        nodes(&mut r, &c.nodes, o.timeout).await;
        for j in &c.backups {
            backup(&mut r, j);
        }
    }
    print(&r.0, o.json);
    let failed = r.0.iter().filter(|c| c.verdict == Verdict::Fail).count();
    if failed > 0 {
        return Err(KindError(
            ErrorKind::Internal,
            format!("{failed} checks failed: see the fixes above"),
        )
        .into());
    }
    Ok(())
}

fn print(checks: &[Check], json: bool) {
    if json {
        println!("{}", serde_json::json!({ "checks": checks }));
        return;
    }
    for c in checks {
        let mark = match c.verdict {
            Verdict::Ok => "ok  ",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        };
        println!("{mark} {:<22} {}", c.check, c.detail);
        if !c.fix.is_empty() {
            println!("     {:<22} fix: {}", "", c.fix);
        }
    }
    let warn = checks.iter().filter(|c| c.verdict == Verdict::Warn).count();
    let fail = checks.iter().filter(|c| c.verdict == Verdict::Fail).count();
    println!("{} checks: {fail} failing, {warn} warnings", checks.len());
}

fn mib(b: u64) -> String {
    format!("{} MiB", b >> 20)
}

/// The data directory: present (or creatable), a writable directory, not open to others,
/// with room to grow.
fn data_dir(r: &mut Report, dir: &Path) {
    let name = "data_dir";
    let meta = match std::fs::metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let parent = dir
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if writable(parent) {
                r.add(name, Verdict::Warn, format!("{} does not exist yet", dir.display()), "`chainops serve` creates it (mode 0700); nothing to do unless you meant another path");
            } else {
                r.add(
                    name,
                    Verdict::Fail,
                    format!(
                        "{} does not exist and {} is not writable",
                        dir.display(),
                        parent.display()
                    ),
                    format!(
                        "create it for the daemon's user: install -d -m 0700 -o chainops {}",
                        dir.display()
                    ),
                );
            }
            return;
        }
        Err(e) => {
            r.add(
                name,
                Verdict::Fail,
                format!("{}: {e}", dir.display()),
                "make it readable by the daemon's user",
            );
            return;
        }
    };
    if !meta.is_dir() {
        r.add(
            name,
            Verdict::Fail,
            format!("{} is not a directory", dir.display()),
            "point data_dir (or CHAINOPS_DATA_DIR) at a directory",
        );
        return;
    }
    if !writable(dir) {
        r.add(
            name,
            Verdict::Fail,
            format!("{} is not writable by this user", dir.display()),
            "chown it to the daemon's user, or run as that user (sudo -u chainops chainops doctor)",
        );
        return;
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o002 != 0 {
        r.add(
            format!("{name} permissions"),
            Verdict::Fail,
            format!("{} is writable by everyone ({mode:o})", dir.display()),
            format!("chmod 0700 {}", dir.display()),
        );
    } else if mode & 0o007 != 0 {
        r.add(
            format!("{name} permissions"),
            Verdict::Warn,
            format!(
                "{} is open to other users ({mode:o}); it holds the store and logs",
                dir.display()
            ),
            format!("chmod 0700 {}", dir.display()),
        );
    }
    match chainops_monitor::disk::usage(dir) {
        Some(u) if u.free_bytes < FAIL_FREE => r.add(name, Verdict::Fail, format!("{}: only {} free", dir.display(), mib(u.free_bytes)), "free space on that filesystem or move data_dir; the store stops writing when it is full"),
        Some(u) if u.free_bytes < WARN_FREE || u.used_ratio() > 0.95 => r.add(name, Verdict::Warn, format!("{}: {} free ({:.0} % used)", dir.display(), mib(u.free_bytes), u.used_ratio() * 100.0), "free space or move data_dir before history and logs fill it"),
        Some(u) => r.ok(name, format!("{}: writable, {} free", dir.display(), mib(u.free_bytes))),
        None => r.add(name, Verdict::Warn, format!("{}: free space unknown", dir.display()), ""),
    }
}

fn writable(dir: &Path) -> bool {
    nix::unistd::access(
        dir,
        nix::unistd::AccessFlags::W_OK | nix::unistd::AccessFlags::X_OK,
    )
    .is_ok()
}

/// The listen address: free, or already served by a chainops.
async fn listen(r: &mut Report, addr: std::net::SocketAddr) {
    let name = "listen";
    match std::net::TcpListener::bind(addr) {
        Ok(_) => r.ok(name, format!("{addr} is free")),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            let live = chainops_chain::http_client()
                .ok()
                .map(|c| c.get(format!("http://{addr}/livez")).timeout(Duration::from_secs(2)).send());
            let ours = match live {
                Some(f) => f.await.is_ok_and(|a| a.status().is_success()),
                None => false,
            };
            if ours {
                r.add(name, Verdict::Warn, format!("{addr} is served by a running chainops"), "fine if that is this daemon; a second one needs another [server] listen");
            } else {
                r.add(name, Verdict::Fail, format!("{addr} is in use by another program"), format!("stop it (ss -ltnp 'sport = :{}') or set [server] listen / CHAINOPS_LISTEN", addr.port()));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => r.add(name, Verdict::Fail, format!("{addr}: permission denied"), "ports below 1024 need CAP_NET_BIND_SERVICE (AmbientCapabilities= in the unit) or pick a port ≥ 1024"),
        Err(e) => r.add(name, Verdict::Fail, format!("{addr}: {e}"), "set [server] listen to an address of this host"),
    }
}

/// The store: reachable, and its schema one this binary can run; the store's clock.
async fn store(r: &mut Report, url: &str) {
    let name = "store";
    let shown = chainops_core::secret::redact_url(url);
    let p = match chainops_store::Store::probe(url).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            r.add(
                name,
                Verdict::Warn,
                format!("{shown}: no store file yet"),
                "`chainops serve` creates it on first start",
            );
            return;
        }
        Err(e) => {
            r.add(name, Verdict::Fail, format!("{e}"), "check [store] url (CHAINOPS_STORE_URL): host, port, database, user and password; the server must accept this host");
            return;
        }
    };
    match p.version {
        None => r.add(
            name,
            Verdict::Warn,
            format!("{shown}: reachable, no chainops schema yet"),
            "`chainops serve` creates it on first start",
        ),
        Some(v) if v > p.newest_known => r.add(
            name,
            Verdict::Fail,
            format!(
                "{shown}: schema {v} is newer than this binary knows ({})",
                p.newest_known
            ),
            "upgrade chainops to the version that wrote it; downgrades are refused",
        ),
        Some(v) => {
            let pending = p.newest_known - v;
            let note = if pending > 0 {
                format!(" ({pending} migrations apply at the next start)")
            } else {
                String::new()
            };
            r.ok(name, format!("{shown}: {:?}, schema {v}{note}", p.backend));
        }
    }
    if let Some(db) = p.clock_ms {
        let skew = chainops_core::time::now_ms() - db;
        let (v, fix) = match skew.abs() {
            s if s >= FAIL_SKEW_MS => (
                Verdict::Fail,
                "synchronise both clocks (chrony or systemd-timesyncd); alerts, SLA clocks and leases compare times",
            ),
            s if s >= WARN_SKEW_MS => (
                Verdict::Warn,
                "synchronise both clocks (chrony or systemd-timesyncd)",
            ),
            _ => (Verdict::Ok, ""),
        };
        r.add(
            "clock vs store",
            v,
            format!(
                "this host is {:+.1} s from PostgreSQL's clock",
                skew as f64 / 1000.0
            ),
            fix,
        );
    }
}

/// The TSDB: each remote-write target answers HTTP (any status: a GET on a write endpoint is
/// refused by design) and its credentials files are readable; the query API of `backend =
/// "prometheus"` answers a query.
async fn tsdb(r: &mut Report, h: &chainops_monitor::config::HistoryConfig, timeout: Duration) {
    let Ok(http) = chainops_chain::http_client() else {
        return;
    };
    for t in &h.remote_write {
        let name = format!("remote write {}", t.name);
        let url = chainops_core::secret::redact_url(&t.url);
        let req = match t.auth.apply(http.get(&t.url).timeout(timeout)) {
            Ok(req) => req,
            Err(e) => {
                r.add(
                    name,
                    Verdict::Fail,
                    e,
                    "make the credentials file readable by the daemon's user",
                );
                continue;
            }
        };
        match req.send().await {
            Ok(a) if a.status() == 401 || a.status() == 403 => r.add(name, Verdict::Fail, format!("{url}: HTTP {}", a.status()), "check bearer_token_file / user + password_file"),
            Ok(a) => r.ok(name, format!("{url}: answers (HTTP {})", a.status())),
            Err(e) => r.add(name, Verdict::Warn, format!("{url}: {}", e.without_url()), "samples queue on disk meanwhile (queue_max_bytes), but check the address and that the TSDB runs"),
        }
    }
    if h.backend == "prometheus"
        && let Some(q) = &h.prometheus
    {
        let name = "history backend";
        let url = chainops_core::secret::redact_url(&q.url);
        let target = format!("{}/api/v1/query?query=1", q.url.trim_end_matches('/'));
        let answer = match q.auth.apply(http.get(&target).timeout(timeout)) {
            Ok(req) => req.send().await.map_err(|e| e.without_url().to_string()),
            Err(e) => Err(e),
        };
        match answer {
            Ok(a) if a.status().is_success() => r.ok(name, format!("{url}: queries answer")),
            Ok(a) => r.add(name, Verdict::Fail, format!("{url}: HTTP {}", a.status()), "[history.prometheus] url must be the query API's base (http://vm:8428, http://prometheus:9090), with its credentials"),
            Err(e) => r.add(name, Verdict::Fail, format!("{url}: {e}"), "charts and the series API read from it: start it or fix [history.prometheus] url"),
        }
    }
}

/// Whether the system clock is synchronised (systemd's view, where there is one).
fn ntp(r: &mut Report) {
    let out = std::process::Command::new("timedatectl")
        .args(["show", "-p", "NTPSynchronized", "--value"])
        .output();
    match out {
        Ok(o) if o.status.success() => match String::from_utf8_lossy(&o.stdout).trim() {
            "yes" => r.ok("clock", "NTP synchronised"),
            other => r.add("clock", Verdict::Warn, format!("NTP synchronised: {other}"), "enable time sync (timedatectl set-ntp true, or chrony): head age, alerts and SLA clocks rely on it"),
        },
        _ => r.add("clock", Verdict::Warn, "cannot tell whether the clock is synchronised (no timedatectl answer)", "make sure NTP (chrony, ntpd or systemd-timesyncd) runs on this host"),
    }
}

/// Every node: secrets readable, reachable, on the configured chain, head not from the
/// future; a managed node's program present.
async fn nodes(r: &mut Report, nodes: &[NodeConfig], timeout: Duration) {
    let http = match chainops_chain::http_client() {
        Ok(h) => h,
        Err(e) => {
            r.add("nodes", Verdict::Fail, e.to_string(), "");
            return;
        }
    };
    // All at once: a fleet of unreachable nodes takes one timeout, not one each.
    let mut set = tokio::task::JoinSet::new();
    for (i, n) in nodes.iter().enumerate() {
        let (n, http) = (n.clone(), http.clone());
        set.spawn(async move { (i, node(&n, &http, timeout).await) });
    }
    let mut results: Vec<_> = set.join_all().await;
    results.sort_by_key(|(i, _)| *i);
    for (_, (name, verdict, detail, fix)) in results {
        r.add(name, verdict, detail, fix);
    }
    for n in nodes {
        if let Some(RpcAuth::Basic {
            password: SecretSource::File(f),
            ..
        }) = &n.rpc_auth
        {
            secret_file(r, &format!("node {} password", n.name), f);
        }
        if let Some(m) = &n.managed {
            match chainops_chain::family::find_program(&[m.command.as_str()], &[m.command.as_str()])
            {
                Some(p) => r.ok(format!("node {} program", n.name), p.display().to_string()),
                None => r.add(
                    format!("node {} program", n.name),
                    Verdict::Fail,
                    format!("{} not found", m.command),
                    "install it or give command = the absolute path of the node binary",
                ),
            }
        }
    }
}

async fn node(
    n: &NodeConfig,
    http: &reqwest::Client,
    timeout: Duration,
) -> (String, Verdict, String, String) {
    let name = format!("node {}", n.name);
    let url = chainops_core::secret::redact_url(&n.rpc_url);
    let adapter = match chainops_chain::adapter_for(n, http) {
        Ok(a) => a,
        Err(e) => {
            return (
                name,
                Verdict::Fail,
                e.to_string(),
                "make the named file readable by the daemon's user".into(),
            );
        }
    };
    let mut log = Vec::new();
    let polled = tokio::time::timeout(timeout, adapter.poll(&mut log)).await;
    let snap = match polled {
        Err(_) => {
            return (
                name,
                Verdict::Fail,
                format!("{url}: no answer within {timeout:?}"),
                "check the address, firewalls, and that the node's RPC listens on it".into(),
            );
        }
        Ok(Err(e)) => {
            let managed = n.managed.is_some();
            let fix = if managed {
                "a managed node is started by `chainops serve`; nothing to do if it is not running yet"
            } else if e.to_string().contains("rpc_user") || e.to_string().contains("401") {
                "check rpc_user and rpc_password_file"
            } else {
                "is the node running, and its RPC listening on that address (and allowed from this host)?"
            };
            return (
                name,
                if managed {
                    Verdict::Warn
                } else {
                    Verdict::Fail
                },
                format!("{url}: {e}"),
                fix.into(),
            );
        }
        Ok(Ok(s)) => s,
    };
    let height = snap.head.as_ref().map(|h| h.number);
    if let (Some(want), Some(got)) = (&n.chain_id, &snap.chain_id)
        && want != got
    {
        return (
            name,
            Verdict::Fail,
            format!("{url}: chain id {got}, the config says {want}"),
            "point rpc_url at a node of the configured chain, or correct chain_id".into(),
        );
    }
    if let Some(h) = &snap.head {
        let ahead = h.timestamp * 1000 - chainops_core::time::now_ms();
        if ahead > FAIL_SKEW_MS {
            return (name, Verdict::Warn, format!("{url}: the head block is {} s in this host's future", ahead / 1000), "this host's clock is behind: synchronise it (head age and stall alerts depend on it)".into());
        }
    }
    (
        name,
        Verdict::Ok,
        format!(
            "{url}: height {}, {}",
            height.map_or("–".into(), |h| h.to_string()),
            snap.chain_id
                .unwrap_or_else(|| "chain id not reported".into())
        ),
        String::new(),
    )
}

/// A secret file: readable, and not readable by everyone.
fn secret_file(r: &mut Report, what: &str, f: &Path) {
    match std::fs::metadata(f) {
        Ok(m) if m.permissions().mode() & 0o004 != 0 => r.add(
            what,
            Verdict::Warn,
            format!("{} is readable by every user", f.display()),
            format!("chmod 0600 {} (owned by the daemon's user)", f.display()),
        ),
        Ok(_) => match std::fs::File::open(f) {
            Ok(_) => {}
            Err(e) => r.add(
                what,
                Verdict::Fail,
                format!("{}: {e}", f.display()),
                "make it readable by the daemon's user",
            ),
        },
        Err(e) => r.add(
            what,
            Verdict::Fail,
            format!("{}: {e}", f.display()),
            "create it (one line, the secret) or fix the path",
        ),
    }
}

/// A backup job: its password file; a local repository's directory.
fn backup(r: &mut Report, j: &chainops_backup::config::BackupJob) {
    let name = format!("backup {}", j.name);
    secret_file(r, &format!("{name} password"), &j.password_file);
    if j.s3.is_some() || j.repo.starts_with("s3://") {
        r.ok(
            name,
            format!("{}: S3 (checked by `chainops backup check`)", j.repo),
        );
        return;
    }
    let repo = Path::new(&j.repo);
    if repo.join("config").is_file() {
        r.ok(name, format!("{}: repository present", j.repo));
    } else if repo.exists() && std::fs::read_dir(repo).is_ok_and(|mut d| d.next().is_some()) {
        r.add(
            name,
            Verdict::Fail,
            format!("{} exists but is not a chainops repository", j.repo),
            "point repo at an empty directory or an existing repository",
        );
    } else {
        let parent = repo
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if repo.exists() || writable(parent) {
            r.add(
                name,
                Verdict::Warn,
                format!("{}: no repository yet", j.repo),
                "the first scheduled run initialises it (or `chainops backup init`)",
            );
        } else {
            r.add(
                name,
                Verdict::Fail,
                format!(
                    "{}: cannot be created ({} is not writable)",
                    j.repo,
                    parent.display()
                ),
                "create the directory for the daemon's user",
            );
        }
    }
}
