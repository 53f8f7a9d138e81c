//! Test harness: real processes on 127.0.0.1 with free ports and temp dirs, killed on drop.

#![allow(dead_code)]

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The workspace root (for `.tools/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// Finds a program: env override, then `.tools/`, then PATH. Panics with install guidance.
pub fn tool(name: &str, env_var: &str, tools_rel: &str) -> PathBuf {
    if let Ok(p) = std::env::var(env_var) {
        return PathBuf::from(p);
    }
    let local = workspace_root().join(tools_rel);
    if local.is_file() {
        return local;
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            if dir.join(name).is_file() {
                return dir.join(name);
            }
        }
    }
    panic!("{name} not found: run `make test` (installs it) or set {env_var}");
}

/// The anvil binary.
pub fn anvil_bin() -> PathBuf {
    tool(
        "anvil",
        "CHAINOPS_TEST_ANVIL",
        ".tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil",
    )
}

/// A new, empty database on the private PostgreSQL `make test` starts
/// (`CHAINOPS_TEST_POSTGRES_URL`); returns its URL.
pub fn postgres_db(prefix: &str) -> String {
    let admin = std::env::var("CHAINOPS_TEST_POSTGRES_URL").expect(
        "CHAINOPS_TEST_POSTGRES_URL is not set: run `make test` (it starts a private PostgreSQL)",
    );
    let db = format!("{prefix}_{}", std::process::id());
    let out = Command::new("psql")
        .arg(&admin)
        .args([
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            &format!("CREATE DATABASE {db}"),
        ])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!("{}/{db}", admin.rsplit_once('/').expect("url").0)
}

/// A free TCP port on 127.0.0.1, below the kernel's ephemeral range (32768+): a port handed
/// out here is never also given by the kernel to a process listening on `:0` (a daemon
/// under test) or to an outgoing connection before the program it was meant for binds it.
/// Each call takes the next candidate, so parallel tests never get the same one.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    let start = std::process::id() % SPAN;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        assert!(n < SPAN, "no free port left in 20000..32000");
        let port = (LOW + (start + n) % SPAN) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Polls `f` every 250 ms until it returns `Some`, or panics with `what` after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, f: impl FnMut() -> Option<T>) -> T {
    wait_for_opt(timeout, f)
        .unwrap_or_else(|| panic!("timed out after {timeout:?} waiting for {what}"))
}

/// Polls `f` every 250 ms until it returns `Some`, or `None` after `timeout` (for a caller
/// that explains the failure itself).
pub fn wait_for_opt<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

pub fn http() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// JSON-RPC call; returns the `result` or panics with the error.
pub fn rpc(url: &str, auth: Option<(&str, &str)>, method: &str, params: Value) -> Value {
    let v = rpc_raw(url, auth, method, params);
    if let Some(e) = v.get("error").filter(|e| !e.is_null()) {
        panic!("{method} failed: {e}");
    }
    v["result"].clone()
}

/// JSON-RPC call returning the whole answer.
pub fn rpc_raw(url: &str, auth: Option<(&str, &str)>, method: &str, params: Value) -> Value {
    let mut req = http()
        .post(url)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}));
    if let Some((u, p)) = auth {
        req = req.basic_auth(u, Some(p));
    }
    let resp = req.send().unwrap_or_else(|e| panic!("{method}: {e}"));
    resp.json()
        .unwrap_or_else(|e| panic!("{method}: bad JSON: {e}"))
}

/// A child process killed (SIGKILL) on drop.
pub struct Proc {
    pub child: Child,
    pub name: String,
}

impl Proc {
    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    pub fn signal(&self, s: Signal) {
        kill(self.pid(), s).expect("signal");
    }

    /// SIGTERM and wait up to 20 s for exit; returns the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = kill(self.pid(), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s;
            }
            if Instant::now() > deadline {
                panic!("{} did not stop within 20 s of SIGTERM", self.name);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = kill(self.pid(), Signal::SIGCONT);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    /// A daemon still running when its test ends (or panics) is stopped with SIGTERM first,
    /// so the nodes it manages stop with it instead of outliving the test (SIGKILL would
    /// orphan them, holding their ports); SIGKILL follows after 10 s.
    fn drop(&mut self) {
        if matches!(self.proc.child.try_wait(), Ok(None)) {
            let _ = kill(self.proc.pid(), Signal::SIGCONT);
            let _ = kill(self.proc.pid(), Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline && matches!(self.proc.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// A real anvil node.
pub struct Anvil {
    pub proc: Proc,
    pub port: u16,
}

impl Anvil {
    /// Starts anvil with 1 s blocks on a free port.
    pub fn start(extra: &[&str]) -> Anvil {
        Self::start_on(free_port(), extra)
    }

    /// Starts anvil on `port`.
    pub fn start_on(port: u16, extra: &[&str]) -> Anvil {
        let child = Command::new(anvil_bin())
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--block-time",
                "1",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn anvil");
        let a = Anvil {
            proc: Proc {
                child,
                name: "anvil".into(),
            },
            port,
        };
        wait_for("anvil to answer", Duration::from_secs(20), || {
            http()
                .post(a.url())
                .json(&json!({"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}))
                .send()
                .ok()
        });
        a
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn rpc(&self, method: &str, params: Value) -> Value {
        rpc(&self.url(), None, method, params)
    }
}

/// A running `chainops serve` with its own data dir.
pub struct Daemon {
    pub proc: Proc,
    pub base: String,
    pub dir: PathBuf,
    /// An admin API token created before start (`chainops token create`).
    pub token: String,
}

/// Creates an API token of `role` in the store of the config at `config`.
/// Runs `chainops ARGS --config CONFIG` with `env` set, asserts it succeeded, returns stdout.
pub fn chainops_ok(config: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_chainops"))
        .args(args)
        .arg("--config")
        .arg(config)
        .envs(env.iter().copied())
        .output()
        .expect("run chainops");
    assert!(
        out.status.success(),
        "chainops {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// `chainops serve --init-only`: creates the store of `config` (the only command that
/// does, besides `serve`), so tokens and users can be made before the daemon starts.
pub fn init_store(config: &Path) {
    chainops_ok(config, &["serve", "--init-only"], &[]);
}

pub fn create_token(config: &Path, role: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_chainops"))
        .args([
            "token", "create", "--role", role, "--name", "test", "--json", "--config",
        ])
        .arg(config)
        .output()
        .expect("run token create");
    assert!(
        out.status.success(),
        "token create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("token json");
    v["token"].as_str().expect("token").to_string()
}

impl Daemon {
    /// Writes `config` (TOML, `data_dir` added) into `dir` and starts the daemon on a free port.
    pub fn start(dir: &Path, config: &str) -> Daemon {
        Self::start_with(dir, config, &[])
    }

    /// Like [`start`](Self::start) with extra `serve` arguments (e.g. `--dev-tls`).
    pub fn start_with(dir: &Path, config: &str, extra: &[&str]) -> Daemon {
        let path = dir.join("chainops.toml");
        let full = format!("data_dir = \"{}\"\n{config}", dir.join("data").display());
        std::fs::write(&path, full).expect("write config");
        init_store(&path);
        let token = create_token(&path, "admin");
        let mut child = Command::new(env!("CARGO_BIN_EXE_chainops"))
            .args(["serve", "--config"])
            .arg(&path)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--log-level",
                "info,chainops=debug",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("daemon.log")).expect("log file"))
            .spawn()
            .expect("spawn chainops");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read listen line");
        let base = line
            .trim()
            .strip_prefix("chainops listening on ")
            .unwrap_or_else(|| {
                let log = std::fs::read_to_string(dir.join("daemon.log")).unwrap_or_default();
                panic!("daemon did not start: {line:?}\n{log}")
            })
            .to_string();
        Daemon {
            proc: Proc {
                child,
                name: "chainops".into(),
            },
            base,
            dir: dir.to_path_buf(),
            token,
        }
    }

    pub fn get(&self, path: &str) -> reqwest::blocking::Response {
        http()
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    pub fn post(&self, path: &str, body: &Value) -> reqwest::blocking::Response {
        http()
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    pub fn delete(&self, path: &str) -> reqwest::blocking::Response {
        http()
            .delete(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .unwrap_or_else(|e| panic!("DELETE {path}: {e}"))
    }

    pub fn json(&self, path: &str) -> Value {
        self.get(path)
            .json()
            .unwrap_or_else(|e| panic!("GET {path}: bad JSON: {e}"))
    }

    pub fn node(&self, name: &str) -> Value {
        self.json(&format!("/api/v1/nodes/{name}"))
    }

    pub fn metrics(&self) -> String {
        self.get("/metrics").text().expect("metrics text")
    }

    /// Waits until node `name` satisfies `pred`, returning its report.
    pub fn wait_node(
        &self,
        name: &str,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let last = self.node(name);
            if pred(&last) {
                return last;
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(self.dir.join("daemon.log")).unwrap_or_default();
                let tail: String = log
                    .lines()
                    .rev()
                    .take(30)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n");
                panic!(
                    "timed out after {timeout:?} waiting for {name}: {what}\nlast report: {last:#}\ndaemon log tail:\n{tail}"
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

/// Value of the sample `name{labels…}` in an exposition, matching all given label pairs.
pub fn metric_value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (series, value) = l.rsplit_once(' ')?;
        let (n, rest) = series.split_once('{').unwrap_or((series, ""));
        if n != name {
            return None;
        }
        labels
            .iter()
            .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
            .then(|| value.parse().ok())?
    })
}

/// An EVM node entry for a config.
pub fn evm_node(name: &str, url: &str, extra: &str) -> String {
    format!(
        "[[nodes]]\nname = \"{name}\"\nchain = \"devnet\"\nkind = \"evm\"\nrpc_url = \"{url}\"\nblock_time = \"1s\"\ntimeout = \"1s\"\n{extra}\n"
    )
}

/// One request a [`Receiver`] got.
#[derive(Debug, Clone)]
pub struct Received {
    /// Lower-cased header names.
    pub headers: std::collections::HashMap<String, String>,
    /// Body text.
    pub body: String,
    /// Status the receiver answered.
    pub status: u16,
    /// Request target (path and query).
    pub target: String,
}

/// A local HTTP webhook receiver that records requests and answers a settable status.
pub struct Receiver {
    pub url: String,
    pub requests: std::sync::Arc<std::sync::Mutex<Vec<Received>>>,
    pub status: std::sync::Arc<std::sync::atomic::AtomicU16>,
    /// Body answered with each response (chat robots answer `{"errcode":0}`).
    pub reply: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicU16, Ordering};
        use std::sync::{Arc, Mutex};
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let requests: Arc<Mutex<Vec<Received>>> = Arc::default();
        let status = Arc::new(AtomicU16::new(200));
        let reply: Arc<Mutex<String>> = Arc::default();
        let (reqs, st, rp) = (requests.clone(), status.clone(), reply.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let (reqs, st, rp) = (reqs.clone(), st.clone(), rp.clone());
                std::thread::spawn(move || {
                    let mut buf: Vec<u8> = Vec::new();
                    loop {
                        let head_end = loop {
                            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                                break p + 4;
                            }
                            let mut chunk = [0u8; 4096];
                            match conn.read(&mut chunk) {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        };
                        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                        let headers: std::collections::HashMap<String, String> = head
                            .lines()
                            .skip(1)
                            .filter_map(|l| l.split_once(':'))
                            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                            .collect();
                        let len: usize = headers
                            .get("content-length")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0);
                        while buf.len() < head_end + len {
                            let mut chunk = [0u8; 4096];
                            match conn.read(&mut chunk) {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        let body =
                            String::from_utf8_lossy(&buf[head_end..head_end + len]).to_string();
                        buf.drain(..head_end + len);
                        let code = st.load(Ordering::SeqCst);
                        let target = head.split(' ').nth(1).unwrap_or("").to_string();
                        reqs.lock().expect("lock").push(Received {
                            headers,
                            body,
                            status: code,
                            target,
                        });
                        let reply = rp.lock().expect("lock").clone();
                        let resp = format!(
                            "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{reply}",
                            reply.len()
                        );
                        if conn.write_all(resp.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Receiver {
            url,
            requests,
            status,
            reply,
        }
    }

    pub fn set_status(&self, code: u16) {
        self.status.store(code, std::sync::atomic::Ordering::SeqCst);
    }

    /// Bodies (parsed) of requests answered with 2xx.
    pub fn delivered(&self) -> Vec<Value> {
        self.requests
            .lock()
            .expect("lock")
            .iter()
            .filter(|r| (200..300).contains(&r.status))
            .filter_map(|r| serde_json::from_str(&r.body).ok())
            .collect()
    }

    /// Delivered notifications for `rule` with `status` (firing|resolved).
    pub fn count(&self, rule: &str, status: &str) -> usize {
        self.delivered()
            .iter()
            .filter(|v| v["alert"]["rule"] == rule && v["status"] == status)
            .count()
    }
}

/// Runs `chainops ARGS` without any config in the environment (the built-in defaults, or
/// what `--config` names).
pub fn chainops(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_chainops"))
        .args(args)
        .env_remove("CHAINOPS_CONFIG")
        .output()
        .expect("run chainops")
}
