//! Security end to end: every route × every role (and anonymous) against a live daemon,
//! sessions with CSRF and lockout, token revocation, the audit trail verified and tampered
//! with, and secrets kept out of `config show`, logs and API answers.

use crate::harness::*;
use chainops_auth::{Permission, Role};
use chainops_server::access::ROUTES;
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

fn client() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

fn cli(d: &Daemon, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chainops"))
        .args(args)
        .arg("--config")
        .arg(d.dir.join("chainops.toml"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    if let Some(s) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(s.as_bytes())
            .expect("write stdin");
    }
    child.wait_with_output().expect("wait")
}

/// `chainops user add` with the password on stdin; asserts it worked.
pub(crate) fn add_user(d: &Daemon, name: &str, role: &str, password: &str) {
    let out = cli(
        d,
        &[
            "user",
            "add",
            "--name",
            name,
            "--role",
            role,
            "--password-stdin",
        ],
        Some(&format!("{password}\n")),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn daemon(anvil: &Anvil, dir: &std::path::Path) -> Daemon {
    let d = Daemon::start(dir, &evm_node("anvil-1", &anvil.url(), ""));
    d.wait_node("anvil-1", "ok", T, |n| n["status"] == "ok");
    d
}

#[test]
fn every_route_answers_401_403_or_its_result_for_every_role_and_never_5xx() {
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = daemon(&anvil, dir.path());
    let cfg = d.dir.join("chainops.toml");
    let mut principals: Vec<(String, Option<String>, Option<Role>)> =
        vec![("anonymous".into(), None, None)];
    for role in Role::ALL {
        principals.push((
            role.as_str().into(),
            Some(create_token(&cfg, role.as_str())),
            Some(role),
        ));
    }
    let http = client();
    let mut checked = 0;
    for route in ROUTES {
        let (method, path, perm) = (&route.method, &route.path, &route.permission);
        let concrete = path
            .replace("{name}", "no-such-thing")
            .replace("{id}", "no-such-thing");
        for (who, token, role) in &principals {
            let mut req = http.request(
                method.parse().expect("method"),
                format!("{}{concrete}", d.base),
            );
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            if *method != "GET" {
                req = req.json(&json!({}));
            }
            let status = req.send().expect("request").status().as_u16();
            let public = *perm == Permission::Public || *path == "/metrics";
            let expected_denial = match role {
                _ if public => None,
                None => Some(401),
                Some(r) if !perm.allows(*r) => Some(403),
                Some(_) => None,
            };
            assert!(status < 500, "{method} {path} as {who}: {status}");
            match expected_denial {
                Some(code) => assert_eq!(status, code, "{method} {path} as {who}"),
                None => assert!(
                    status != 401 && status != 403,
                    "{method} {path} as {who} must be allowed: {status}"
                ),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, ROUTES.len() * 6);
    // Denied writes are in the audit trail too.
    let log = d.json("/api/v1/audit-log?limit=10000");
    assert!(
        log.as_array()
            .expect("records")
            .iter()
            .any(|r| r["result"] == "denied" && r["role"] == "viewer"),
        "denied attempts are audited"
    );
}

#[test]
fn sessions_need_csrf_logins_lock_out_and_revoked_tokens_stop_working() {
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = daemon(&anvil, dir.path());
    let pw = "Correct-Horse-9-battery";
    add_user(&d, "olivia", "operator", pw);
    let weak = cli(
        &d,
        &[
            "user",
            "add",
            "--name",
            "weak",
            "--role",
            "viewer",
            "--password-stdin",
        ],
        Some("admin123\n"),
    );
    assert_eq!(
        weak.status.code(),
        Some(2),
        "a weak password is invalid input"
    );
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 12"));

    let http = client();
    let login = |password: &str| {
        http.post(format!("{}/api/v1/auth/login", d.base))
            .json(&json!({"name": "olivia", "password": password}))
            .send()
            .expect("login")
    };
    let ok = login(pw);
    assert_eq!(ok.status(), 200);
    let cookie = ok.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().expect("pair").to_string();
    let csrf = ok.json::<Value>().expect("json")["csrf"]
        .as_str()
        .expect("csrf")
        .to_string();
    let me = http
        .get(format!("{}/api/v1/auth/me", d.base))
        .header("cookie", &session)
        .send()
        .expect("me");
    assert_eq!(me.json::<Value>().expect("json")["role"], "operator");
    let silence =
        json!({"matchers": {"node": "anvil-1"}, "duration": "1h", "comment": "csrf test"});
    let no_csrf = http
        .post(format!("{}/api/v1/silences", d.base))
        .header("cookie", &session)
        .json(&silence)
        .send()
        .expect("post");
    assert_eq!(no_csrf.status(), 403, "a cookie alone cannot write");
    let with_csrf = http
        .post(format!("{}/api/v1/silences", d.base))
        .header("cookie", &session)
        .header("x-csrf-token", &csrf)
        .json(&silence)
        .send()
        .expect("post");
    assert_eq!(with_csrf.status(), 201);
    let users = http
        .get(format!("{}/api/v1/users", d.base))
        .header("cookie", &session)
        .send()
        .expect("users");
    assert_eq!(users.status(), 403, "operators do not manage users");
    let out = http
        .post(format!("{}/api/v1/auth/logout", d.base))
        .header("cookie", &session)
        .header("x-csrf-token", &csrf)
        .send()
        .expect("logout");
    assert_eq!(out.status(), 204);
    let after = http
        .get(format!("{}/api/v1/auth/me", d.base))
        .header("cookie", &session)
        .send()
        .expect("me");
    assert_eq!(after.status(), 401);

    // Five failures lock the account: even the right password is refused now.
    for _ in 0..5 {
        assert_eq!(login("Wrong-password-123").status(), 401);
    }
    let locked = login(pw);
    assert_eq!(locked.status(), 401);
    assert!(
        locked
            .text()
            .expect("text")
            .contains("too many failed logins")
    );

    // A token stops working once revoked.
    let created = d.post(
        "/api/v1/tokens",
        &json!({"name": "grafana", "role": "viewer", "expires": "30d"}),
    );
    assert_eq!(created.status(), 201);
    let created: Value = created.json().expect("json");
    let secret = created["token"].as_str().expect("secret").to_string();
    let nodes = |t: &str| {
        http.get(format!("{}/api/v1/nodes", d.base))
            .bearer_auth(t)
            .send()
            .expect("nodes")
            .status()
            .as_u16()
    };
    assert_eq!(nodes(&secret), 200);
    let listed = d.json("/api/v1/tokens");
    assert!(
        !listed.to_string().contains(&secret),
        "lists never show secrets"
    );
    assert_eq!(
        d.delete(&format!(
            "/api/v1/tokens/{}",
            created["id"].as_str().expect("id")
        ))
        .status(),
        204
    );
    assert_eq!(nodes(&secret), 401);
}

#[test]
fn the_audit_trail_records_actions_verifies_and_names_a_tampered_record() {
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = daemon(&anvil, dir.path());
    for i in 0..3 {
        let r = d.post(
            "/api/v1/silences",
            &json!({"matchers": {"node": format!("n{i}")}, "duration": "1h", "comment": "audit"}),
        );
        assert_eq!(r.status(), 201);
    }
    let out = cli(&d, &["audit-log", "verify", "--json"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let export = cli(
        &d,
        &["audit-log", "export", "--format", "csv", "--since", "1h"],
        None,
    );
    let csv = String::from_utf8_lossy(&export.stdout).to_string();
    assert!(csv.starts_with("seq,time,actor,role,source,action,target,result"));
    assert_eq!(csv.matches("silence.create").count(), 3, "{csv}");
    assert!(
        csv.contains("token.create"),
        "the CLI's token creation is audited too"
    );
    // Stop the daemon, then edit record 2 behind its back.
    let mut d = d;
    d.proc.terminate();
    let db = dir.path().join("data/chainops.db");
    let status = Command::new("python3")
        .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE audit_log SET result='denied' WHERE seq=2\"); c.commit()"])
        .arg(&db)
        .status()
        .expect("python3");
    assert!(status.success());
    let out = cli(&d, &["audit-log", "verify"], None);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("TAMPERED at record 2"), "{text}");
}

#[test]
fn secrets_stay_out_of_config_show_logs_and_api_answers() {
    let rx = Receiver::start();
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let secrets = [
        "hook-Secret-4711",
        "rpc-Password-4712",
        "smtp-Password-4713",
    ];
    let config = format!(
        "[[nodes]]\nname = \"anvil-1\"\nchain = \"devnet\"\nkind = \"evm\"\nrpc_url = \"{}\"\nrpc_user = \"u\"\nrpc_password = \"{}\"\nblock_time = \"1s\"\n\
         [[notifiers]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\nsecret = \"{}\"\n\
         [[notifiers]]\nname = \"mail\"\nkind = \"email\"\nurl = \"smtp://u:{}@127.0.0.1:1\"\nfrom = \"a@example.com\"\nto = [\"b@example.com\"]\nsecret = \"{}\"\n",
        anvil.url(),
        secrets[1],
        rx.url,
        secrets[0],
        secrets[2],
        secrets[2]
    );
    let d = Daemon::start(dir.path(), &config);
    d.wait_node("anvil-1", "ok", T, |n| n["status"] == "ok");
    assert_eq!(
        d.post("/api/v1/notifiers/hook/test", &json!({})).status(),
        200
    );
    let _ = d.post("/api/v1/notifiers/mail/test", &json!({}));
    let show = cli(&d, &["config", "show"], None);
    let mut seen = String::from_utf8_lossy(&show.stdout).to_string();
    for path in [
        "/api/v1/notifiers",
        "/api/v1/nodes",
        "/api/v1/tokens",
        "/api/v1/audit-log",
    ] {
        seen.push_str(&d.json(path).to_string());
    }
    let mut d = d;
    d.proc.terminate();
    seen.push_str(&std::fs::read_to_string(dir.path().join("daemon.log")).expect("log"));
    for s in secrets.iter().copied().chain([d.token.as_str()]) {
        assert!(!seen.contains(s), "secret {s} leaked");
    }
    assert!(seen.contains("[REDACTED]"), "config show marks redactions");
}

pub(crate) fn tls_client(cert_pem: &[u8]) -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .tls_certs_only([reqwest::Certificate::from_pem(cert_pem).expect("pem")])
        .build()
        .expect("client")
}

#[test]
fn dev_tls_serves_https_with_hsts_refuses_plain_http_and_reloads_a_new_certificate() {
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = Daemon::start_with(
        dir.path(),
        &evm_node("anvil-1", &anvil.url(), ""),
        &["--dev-tls"],
    );
    assert!(d.base.starts_with("https://127.0.0.1:"), "{}", d.base);
    let cert_path = dir.path().join("data/tls/dev-cert.pem");
    let key_path = dir.path().join("data/tls/dev-key.pem");
    let cert = std::fs::read(&cert_path).expect("dev cert");
    let https = tls_client(&cert);
    let r = https
        .get(format!("{}/api/v1/nodes", d.base))
        .bearer_auth(&d.token)
        .send()
        .expect("https request verified against the generated certificate");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["strict-transport-security"]
            .to_str()
            .expect("hsts")
            .contains("max-age=")
    );
    // An untrusting client fails the handshake; plain HTTP on the TLS port gets no answer.
    assert!(client().get(format!("{}/livez", d.base)).send().is_err());
    let plain = d.base.replace("https://", "http://");
    assert!(
        client().get(format!("{plain}/livez")).send().is_err(),
        "plain HTTP must not be served"
    );
    // Under TLS the session cookie is Secure.
    let pw = "Correct-Horse-9-battery";
    let out = cli(
        &d,
        &[
            "user",
            "add",
            "--name",
            "tina",
            "--role",
            "viewer",
            "--password-stdin",
        ],
        Some(&format!("{pw}\n")),
    );
    assert!(out.status.success());
    let login = https
        .post(format!("{}/api/v1/auth/login", d.base))
        .json(&json!({"name": "tina", "password": pw}))
        .send()
        .expect("login");
    assert!(
        login.headers()["set-cookie"]
            .to_str()
            .expect("cookie")
            .contains("Secure")
    );

    // Replace the pair on disk: the daemon picks it up without a restart.
    let fresh = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).expect("cert");
    std::fs::write(&key_path, fresh.key_pair.serialize_pem()).expect("key");
    std::fs::write(&cert_path, fresh.cert.pem()).expect("cert");
    let new_client = tls_client(fresh.cert.pem().as_bytes());
    wait_for("the new certificate is served", T, || {
        new_client.get(format!("{}/livez", d.base)).send().ok()
    });
    // A new connection trusting only the old certificate fails (pooled ones may live on).
    assert!(
        tls_client(&cert)
            .get(format!("{}/livez", d.base))
            .send()
            .is_err(),
        "the old certificate is gone"
    );
}

#[test]
fn sealed_config_values_are_decrypted_with_the_master_key_and_refused_without_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("master.key");
    let run = |args: &[&str], stdin: Option<&str>, key_env: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_chainops"));
        c.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c.env_remove("CHAINOPS_MASTER_KEY");
        if key_env {
            c.env("CHAINOPS_MASTER_KEY_FILE", &key);
        } else {
            c.env_remove("CHAINOPS_MASTER_KEY_FILE");
        }
        let mut child = c.spawn().expect("spawn");
        if let Some(s) = stdin {
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(s.as_bytes())
                .expect("stdin");
        }
        child.wait_with_output().expect("wait")
    };
    assert!(
        run(
            &["secret", "keygen", "-o", key.to_str().expect("path")],
            None,
            false
        )
        .status
        .success()
    );
    assert!(
        !run(
            &["secret", "keygen", "-o", key.to_str().expect("path")],
            None,
            false
        )
        .status
        .success(),
        "never overwrites a key"
    );
    let sealed = run(&["secret", "encrypt"], Some("webhook-Secret-9000\n"), true);
    assert!(
        sealed.status.success(),
        "{}",
        String::from_utf8_lossy(&sealed.stderr)
    );
    let sealed = String::from_utf8_lossy(&sealed.stdout).trim().to_string();
    assert!(sealed.starts_with("enc:v1:") && !sealed.contains("webhook-Secret"));
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!("[[notifiers]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/h\"\nsecret = \"{sealed}\"\n"),
    )
    .expect("config");
    let cfg = cfg.to_str().expect("path");
    let ok = run(&["config", "check", "--config", cfg], None, true);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let show = run(&["config", "show", "--config", cfg], None, true);
    let shown = String::from_utf8_lossy(&show.stdout);
    assert!(
        !shown.contains("webhook-Secret") && !shown.contains("enc:v1:"),
        "{shown}"
    );
    let no_key = run(&["config", "check", "--config", cfg], None, false);
    assert_eq!(no_key.status.code(), Some(2));
    let msg = String::from_utf8_lossy(&no_key.stderr);
    assert!(
        msg.contains("notifiers[0].secret: is encrypted but no master key is set"),
        "{msg}"
    );
}

/// A TLS terminator (Python stdlib) in front of anvil, serving `cert`/`key`.
fn tls_proxy(anvil: &Anvil, cert: &std::path::Path, key: &std::path::Path) -> (Proc, u16) {
    let port = free_port();
    let script = r#"
import http.server, ssl, sys, urllib.request
port, upstream, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('content-length', 0)))
        req = urllib.request.Request(upstream, data=body, headers={'content-type': 'application/json'})
        data = urllib.request.urlopen(req, timeout=5).read()
        self.send_response(200); self.send_header('content-type', 'application/json')
        self.send_header('content-length', str(len(data))); self.end_headers(); self.wfile.write(data)
    def log_message(self, *a): pass
srv = http.server.ThreadingHTTPServer(('127.0.0.1', port), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
"#;
    let child = Command::new("python3")
        .args(["-c", script, &port.to_string(), &anvil.url()])
        .arg(cert)
        .arg(key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 TLS proxy");
    wait_for("TLS proxy", T, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    (
        Proc {
            child,
            name: "tls-proxy".into(),
        },
        port,
    )
}

#[test]
fn node_endpoints_are_verified_and_a_per_node_ca_file_is_trusted() {
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).expect("cert");
    let (cert, key) = (dir.path().join("node.pem"), dir.path().join("node.key"));
    std::fs::write(&cert, made.cert.pem()).expect("cert");
    std::fs::write(&key, made.key_pair.serialize_pem()).expect("key");
    let (_proxy, port) = tls_proxy(&anvil, &cert, &key);
    let url = format!("https://127.0.0.1:{port}");
    let config = format!(
        "{}{}",
        evm_node(
            "trusted",
            &url,
            &format!("ca_file = \"{}\"", cert.display())
        ),
        evm_node("untrusted", &url, "")
    );
    let d = Daemon::start(dir.path(), &config);
    d.wait_node("trusted", "ok over TLS with the node's CA", T, |n| {
        n["status"] == "ok"
    });
    let down = d.wait_node("untrusted", "down: unknown issuer", T, |n| {
        n["status"] == "down" && n["last_error"].is_string()
    });
    let err = down["last_error"].as_str().unwrap_or_default();
    assert!(
        err.contains("certificate") || err.contains("transport"),
        "{err}"
    );
}

#[test]
fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = daemon(&anvil, dir.path());
    let out = Command::new("python3")
        .args(["-m", "schemathesis.cli", "run"])
        .arg(format!("{}/api/openapi.json", d.base))
        .args(["-H", &format!("Authorization: Bearer {}", d.token)])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--max-examples",
            "15",
            "--seed",
            "1",
            "--phases",
            "examples,coverage,fuzzing",
            // Deleting users or tokens could revoke the credentials the run itself uses.
            "--exclude-path-regex",
            "/api/v1/(tokens|users)/",
        ])
        .env("PYTHONPATH", workspace_root().join(".tools/pylib"))
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .expect("python3 -m schemathesis (scripts/install-deps.sh test installs it)");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every selected operation was exercised (the count grows with the route table).
    let count = |label: &str| -> Option<usize> {
        let line = report.lines().find(|l| l.trim_start().starts_with(label))?;
        let n = line.trim_start()[label.len()..].trim();
        n.split('/').next()?.trim().parse().ok()
    };
    let (selected, tested) = (count("Selected:"), count("Tested:"));
    assert!(
        tested.is_some() && tested == selected && tested >= Some(25),
        "operations were exercised (selected {selected:?}, tested {tested:?}): {report}"
    );
}

/// Holds `per_source * sources` half-sent requests from 127.0.0.2.. until told; then reports
/// how many of them the server has closed.
const IDLE_CLIENTS: &str = r#"
import resource, socket, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
port, sources, per = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
held = []
for s in range(sources):
    for _ in range(per):
        c = socket.socket()
        c.bind(("127.0.0.%d" % (2 + s), 0))
        try:
            c.connect(("127.0.0.1", port))
            c.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n")
        except OSError:
            pass
        held.append(c)
print("ready", len(held), flush=True)
sys.stdin.readline()
closed = 0
for c in held:
    c.settimeout(0.2)
    try:
        if c.recv(1) == b"":
            closed += 1
    except socket.timeout:
        pass
    except OSError:
        closed += 1
print("closed", closed, flush=True)
"#;

/// Issue 16 item 3: 5,000 idle half-sent requests neither starve `/livez` nor node polling;
/// the budgets refuse the excess at accept and the header timeout closes the rest.
#[test]
fn five_thousand_idle_connections_do_not_starve_the_daemon() {
    use std::io::BufRead;
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        "{}[server]\nmax_connections_per_address = 64\nheader_read_timeout = \"3s\"\n",
        evm_node("anvil-1", &anvil.url(), "")
    );
    let d = Daemon::start(dir.path(), &config);
    d.wait_node("anvil-1", "ok", Duration::from_secs(30), |n| {
        n["status"] == "ok"
    });
    let port = d.base.rsplit(':').next().expect("port").to_string();
    let mut clients = Command::new("python3")
        .args(["-c", IDLE_CLIENTS, &port, "20", "250"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut out = std::io::BufReader::new(clients.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("ready line");
    assert_eq!(line.trim(), "ready 5000", "{line}");

    let height = |d: &Daemon| d.node("anvil-1")["height"].as_u64().unwrap_or(0);
    let before = height(&d);
    for _ in 0..5 {
        let started = std::time::Instant::now();
        assert_eq!(d.get("/livez").status(), 200);
        assert!(started.elapsed() < Duration::from_secs(2), "/livez is slow");
        std::thread::sleep(Duration::from_millis(300));
    }
    d.wait_node("anvil-1", "polling goes on", Duration::from_secs(20), |n| {
        n["status"] == "ok" && n["height"].as_u64().unwrap_or(0) > before
    });
    let metrics = d.metrics();
    let refused = metric_value(
        &metrics,
        "chainops_http_connections_rejected_total",
        &[("reason", "max_connections_per_address")],
    )
    .unwrap_or(0.0);
    assert!(refused >= 5000.0 - 20.0 * 64.0, "{refused}\n{metrics}");

    // Past the header timeout every held connection has been closed by the daemon.
    std::thread::sleep(Duration::from_secs(4));
    clients
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"go\n")
        .expect("signal");
    line.clear();
    out.read_line(&mut line).expect("closed line");
    assert_eq!(line.trim(), "closed 5000", "{line}");
    let _ = clients.wait();
    let open = metric_value(&d.metrics(), "chainops_http_connections_open", &[]).unwrap_or(99.0);
    assert!(open <= 2.0, "{open}");
}

/// Issue 16 item 5: a token without `expires` lives 90 days; non-strings, zero, negative and
/// absurd lifetimes are refused; `never` is explicit.
#[test]
fn token_lifetimes_default_to_ninety_days_and_bad_ones_are_refused() {
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = daemon(&anvil, dir.path());
    let r = d.post(
        "/api/v1/tokens",
        &json!({"name": "grafana", "role": "viewer"}),
    );
    assert_eq!(r.status(), 201);
    let t: Value = r.json().expect("json");
    let expires = t["expires"].as_str().expect("an expiry");
    let days = (chainops_core::time::parse_rfc3339(expires).expect("rfc3339")
        - chainops_core::time::now_ms()) as f64
        / 86_400_000.0;
    assert!((89.9..=90.0).contains(&days), "{days}");
    for bad in [
        json!(5),
        json!(true),
        json!({}),
        json!("-1"),
        json!("0s"),
        json!("5000000y"),
    ] {
        let r = d.post(
            "/api/v1/tokens",
            &json!({"name": "x", "role": "viewer", "expires": bad}),
        );
        assert_eq!(r.status(), 400, "expires {bad}");
        let e: Value = r.json().expect("json");
        assert_eq!(e["code"], "invalid_input");
    }
    let r = d.post(
        "/api/v1/tokens",
        &json!({"name": "forever", "role": "viewer", "expires": "never"}),
    );
    assert_eq!(r.status(), 201);
    assert!(r.json::<Value>().expect("json")["expires"].is_null());
}

/// Issue 16 item 14: the data directory is owner-only and so is every file in it.
#[test]
fn the_data_dir_and_the_database_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = daemon(&anvil, dir.path());
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    let data = dir.path().join("data");
    assert_eq!(mode(&data), 0o700);
    let mut seen = 0;
    for e in std::fs::read_dir(&data).expect("ls").flatten() {
        let p = e.path();
        if p.is_file() {
            assert_eq!(mode(&p) & 0o077, 0, "{} is readable by others", p.display());
            seen += 1;
        }
    }
    assert!(seen >= 1 && data.join("chainops.db").exists());
    drop(d);
}

/// Issue 16 item 11: answers made outside the handlers are `{code, message}` JSON too — an
/// oversized body (413), a path that is not UTF-8 (400), a wrong method (405 with `Allow`).
#[test]
fn framework_errors_are_json_with_their_status() {
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = daemon(&anvil, dir.path());
    // No pooling: the server closes a connection after answering an oversized body early,
    // and a reuse of it would race that close.
    let client = reqwest::blocking::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let send = |method: reqwest::Method, path: &str, body: Vec<u8>| {
        client
            .request(method, format!("{}{path}", d.base))
            .bearer_auth(&d.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .expect("send")
    };
    let check = |r: reqwest::blocking::Response, status: u16, code: &str| {
        assert_eq!(r.status().as_u16(), status);
        let allow = r
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap_or("").to_string());
        let v: Value = r.json().expect("a JSON body");
        assert_eq!(v["code"], code, "{v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
        allow
    };
    let big = format!("{{\"comment\": \"{}\"}}", "x".repeat(3 << 20)).into_bytes();
    check(
        send(reqwest::Method::POST, "/api/v1/silences", big),
        413,
        "payload_too_large",
    );
    check(
        send(reqwest::Method::GET, "/api/v1/nodes/%FF%FE", vec![]),
        400,
        "invalid_input",
    );
    let allow = check(
        send(reqwest::Method::PUT, "/api/v1/silences", vec![]),
        405,
        "method_not_allowed",
    );
    assert_eq!(allow.as_deref(), Some("GET, POST"));
    check(
        send(reqwest::Method::DELETE, "/livez", vec![]),
        405,
        "method_not_allowed",
    );
}

/// Issue 16 item 12: free text is bounded, names and matchers refuse control and bidi
/// characters, and every list endpoint is paged (`limit`, `offset`, `X-Total-Count`).
#[test]
fn free_text_is_bounded_and_every_list_is_paged() {
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = daemon(&anvil, dir.path());
    let silence = |matchers: Value, comment: &str| {
        d.post(
            "/api/v1/silences",
            &json!({"matchers": matchers, "comment": comment, "duration": "1h"}),
        )
    };
    for (m, c) in [
        (json!({"node": "anvil-1"}), "x".repeat(1 << 20)),
        (json!({"k".repeat(100_000): "v"}), "why".to_string()),
        (json!({"node": "anvil\u{0}-1"}), "why".to_string()),
        (json!({"node\u{202e}": "1-livna"}), "why".to_string()),
    ] {
        let r = silence(m, &c);
        assert_eq!(r.status(), 400);
        assert_eq!(r.json::<Value>().expect("json")["code"], "invalid_input");
    }
    for i in 0..5 {
        assert_eq!(
            silence(json!({"node": format!("n{i}")}), "maintenance\n第二行").status(),
            201
        );
    }
    let page = |q: &str| {
        d.json(&format!("/api/v1/silences{q}"))
            .as_array()
            .map_or(0, Vec::len)
    };
    assert_eq!(page(""), 5);
    assert_eq!(page("?limit=2"), 2);
    assert_eq!(page("?limit=2&offset=4"), 1);
    assert_eq!(d.get("/api/v1/silences?limit=0").status(), 400);

    for i in 0..3 {
        let r = d.post(
            "/api/v1/users",
            &json!({"name": format!("pager{i}"), "role": "viewer", "password": "Tall-Grass-7-Moon"}),
        );
        assert_eq!(r.status(), 201);
    }
    // A user or token name with a bidi override, a NUL or 1 MB is refused, not stored.
    for name in ["ev\u{202e}il", "nul\u{0}x", &"n".repeat(1 << 20)] {
        let r = d.post(
            "/api/v1/users",
            &json!({"name": name, "role": "viewer", "password": "Tall-Grass-7-Moon"}),
        );
        assert_eq!(r.status(), 400, "{}", name.len());
        let r = d.post("/api/v1/tokens", &json!({"name": name, "role": "viewer"}));
        assert_eq!(r.status(), 400, "{}", name.len());
    }
    // A login with a 1 MB name fails like any wrong login, without a 5xx.
    let r = client()
        .post(format!("{}/api/v1/auth/login", d.base))
        .json(&json!({"name": "x".repeat(1 << 20), "password": "y"}))
        .send()
        .expect("login");
    assert_eq!(r.status(), 401);
    // Tickets: hostile fields are refused by name and nothing is stored; two real ones page.
    let ticket = |subject: &str, body: &str, email: &str| {
        d.post(
            "/api/v1/tickets",
            &json!({"subject": subject, "body": body, "category": "rpc", "email": email}),
        )
    };
    for (subject, body, email, why) in [
        ("x".repeat(1 << 20), "b".to_string(), "a@b.cn", "subject"),
        ("nul\u{0}".to_string(), "b".to_string(), "a@b.cn", "subject"),
        ("s".to_string(), "b".repeat(60_000), "a@b.cn", "body"),
        (
            "s".to_string(),
            "b".to_string(),
            "a@b.cn\r\nBcc: x@y.z",
            "email",
        ),
        (
            "s".to_string(),
            "b".to_string(),
            &"e".repeat(1 << 20),
            "email",
        ),
    ] {
        let r = ticket(&subject, &body, email);
        assert_eq!(r.status(), 400, "{why}");
        assert!(r.text().expect("text").contains(why), "{why}");
    }
    assert_eq!(d.get("/api/v1/tickets").headers()["x-total-count"], "0");
    for i in 0..2 {
        assert_eq!(
            ticket(&format!("节点 {i} 超时"), "eth_call", "dev@example.cn").status(),
            201
        );
    }
    for bad in [
        "state=resolved",
        "priority=P9",
        &format!("q={}", "x".repeat(300)),
    ] {
        assert_eq!(
            d.get(&format!("/api/v1/tickets?{bad}")).status(),
            400,
            "{bad}"
        );
    }
    for bad in ["0", "-1", "abc", "99999999999999999999"] {
        assert_eq!(
            d.get(&format!("/api/v1/tickets/{bad}")).status(),
            404,
            "{bad}"
        );
    }
    for list in [
        "/api/v1/nodes",
        "/api/v1/alerts",
        "/api/v1/incidents",
        "/api/v1/silences",
        "/api/v1/users",
        "/api/v1/tokens",
        "/api/v1/notifiers",
        "/api/v1/tickets",
    ] {
        let all = d.get(list);
        assert_eq!(all.status(), 200, "{list}");
        let total: usize = all
            .headers()
            .get("x-total-count")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{list}: no X-Total-Count"));
        let items = all.json::<Value>().expect("json");
        assert_eq!(items.as_array().map(Vec::len), Some(total), "{list}");
        let one = d.json(&format!("{list}?limit=1"));
        assert_eq!(one.as_array().map(Vec::len), Some(total.min(1)), "{list}");
        let past = d.json(&format!("{list}?offset={total}"));
        assert_eq!(past.as_array().map(Vec::len), Some(0), "{list}");
        for bad in [
            "limit=0",
            "limit=100001",
            "offset=-1",
            "offset=x",
            "limit=1&color=red",
        ] {
            assert_eq!(
                d.get(&format!("{list}?{bad}")).status(),
                400,
                "{list}?{bad}"
            );
        }
    }
    let users = d.json("/api/v1/users?limit=2&offset=1");
    assert_eq!(users.as_array().map(Vec::len), Some(2));
}

/// Issue 16 item 13: the CLI's audit actor is the real uid's account, not `$USER`.
#[test]
fn the_cli_audit_actor_comes_from_the_real_uid_not_the_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("chainops.toml");
    std::fs::write(
        &cfg,
        format!("data_dir = \"{}\"\n", dir.path().join("data").display()),
    )
    .expect("write");
    let spoofed = [("USER", "spoofed-admin"), ("LOGNAME", "spoofed-admin")];
    let run = |args: &[&str]| chainops_ok(&cfg, args, &spoofed);
    crate::harness::init_store(&cfg);
    run(&[
        "token", "create", "--role", "viewer", "--name", "probe", "--json",
    ]);
    let export = run(&["audit-log", "export", "--format", "json"]);
    let uid = nix::unistd::getuid();
    assert!(!export.contains("spoofed-admin"), "{export}");
    assert!(export.contains(&format!("(uid={uid})")), "{export}");
}

/// Issue 16 item 13: a login lockout survives a daemon restart.
#[test]
fn a_login_lockout_survives_a_restart() {
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = daemon(&anvil, dir.path());
    let pw = "Correct-Horse-9-battery";
    add_user(&d, "rita", "viewer", pw);
    let login = |d: &Daemon, password: &str| {
        client()
            .post(format!("{}/api/v1/auth/login", d.base))
            .json(&json!({"name": "rita", "password": password}))
            .send()
            .expect("login")
    };
    for _ in 0..5 {
        assert_eq!(login(&d, "Wrong-password-123").status(), 401);
    }
    drop(d);
    let d = daemon(&anvil, dir.path());
    let r = login(&d, pw);
    assert_eq!(r.status(), 401);
    assert!(r.text().expect("text").contains("too many failed logins"));
}
