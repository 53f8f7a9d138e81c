//! The web console in a real Chromium against a real daemon and a real anvil: login, the
//! fleet tile and alert following a mining halt without a reload, acknowledging in the
//! browser, charts with data, the log tail, a viewer without mutating controls, CSRF, the
//! zh-CN rendering, axe-core at two widths, and screenshots of every page in
//! `target/console-screenshots/`. The steps are in `tests/console/console.mjs`
//! (playwright-core and axe-core from npm, Debian's chromium; `make test` installs them).

use crate::harness::*;
use std::process::Command;

const RULES: &str = "[alerting]\neval_interval = \"500ms\"\n[[rules]]\nname = \"HeadStalled\"\nseverity = \"critical\"\nexpr = \"head_age_seconds > stall_after_seconds\"\nfor = \"2s\"\n";

#[test]
fn console_follows_a_stall_in_a_real_browser() {
    let root = workspace_root();
    let tools = root.join(".tools");
    assert!(
        tools
            .join("node_modules/playwright-core/package.json")
            .is_file()
            && std::path::Path::new("/usr/bin/chromium").is_file(),
        "playwright-core (npm, .tools/) and /usr/bin/chromium are needed: run `make test`, which installs them"
    );
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let (repo, pw) = (dir.path().join("repo"), dir.path().join("pw"));
    std::fs::write(&pw, "console-pw\n").expect("password file");
    // A backup job whose schedule is far away: the browser starts it by hand.
    let backup = format!(
        "[[backups]]\nname = \"anvil-dump\"\nnode = \"anvil-1\"\nschedule = \"0 0 0 1 1 *\"\ncapture = \"dump\"\nrepo = \"{}\"\npassword_file = \"{}\"\n",
        repo.display(),
        pw.display()
    );
    let d = Daemon::start(
        dir.path(),
        &format!(
            "{}{RULES}{backup}",
            evm_node("anvil-1", &anvil.url(), "stall_after = \"3s\"")
        ),
    );
    crate::security::add_user(&d, "alice", "admin", "Tile-watcher-731");
    crate::security::add_user(&d, "victor", "viewer", "Read-only-eye-731");
    d.wait_node("anvil-1", "ok", std::time::Duration::from_secs(40), |n| {
        n["status"] == "ok"
    });
    let line = "console tail check 区块已导入";
    let pushed = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/logs/push?node=anvil-1", d.base))
        .bearer_auth(&d.token)
        .body(serde_json::json!({"level": "info", "msg": line}).to_string())
        .send()
        .expect("push log line");
    assert!(pushed.status().is_success(), "{}", pushed.status());
    // Load tests: one run recorded by `bench run --record`, another kept in a file that the
    // browser uploads.
    let config = dir.path().join("chainops.toml");
    let bench_report = dir.path().join("bench-b.json");
    for (rate, extra) in [
        ("20", vec!["--record"]),
        (
            "40",
            vec!["--out", bench_report.to_str().expect("utf-8 path")],
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_chainops"))
            .args(["bench", "run", "--config"])
            .arg(&config)
            .args([
                "--rpc",
                &anvil.url(),
                "--workload",
                "eth-transfer",
                "--rate",
                rate,
                "--count",
                rate,
            ])
            .args(["--server", &d.base, "--token", &d.token])
            .args(&extra)
            .output()
            .expect("run chainops bench");
        assert!(
            out.status.success(),
            "bench run {extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if extra[0] == "--record" {
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("recorded eth-transfer as run"),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    // The uploaded report names its node with credentials: they must not be kept.
    let mut uploaded: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&bench_report).expect("report")).expect("json");
    uploaded["target"]["url"] =
        serde_json::json!(anvil.url().replace("http://", "http://ops:hunter2@"));
    std::fs::write(&bench_report, uploaded.to_string()).expect("report");
    // Deployed code with a SELFDESTRUCT (PUSH1 0, SELFDESTRUCT) for the address check.
    let code_address = "0x00000000000000000000000000000000c0de0001";
    anvil.rpc(
        "anvil_setCode",
        serde_json::json!([code_address, "0x6000ff"]),
    );
    let project_zip = dir.path().join("vault-main.zip");
    write_project_zip(&project_zip);
    let shots = root.join("target/console-screenshots");
    let out = Command::new("node")
        .arg(root.join("crates/cli/tests/console/console.mjs"))
        .env("CONSOLE_TOOLS", &tools)
        .env("CONSOLE_BASE", &d.base)
        .env("CONSOLE_ANVIL", anvil.url())
        .env("CONSOLE_SHOTS", &shots)
        .env("CONSOLE_ADMIN", "alice")
        .env("CONSOLE_ADMIN_PASSWORD", "Tile-watcher-731")
        .env("CONSOLE_VIEWER", "victor")
        .env("CONSOLE_VIEWER_PASSWORD", "Read-only-eye-731")
        .env("CONSOLE_CATALOG", root.join("crates/server/i18n/en.toml"))
        .env("CONSOLE_LOG_LINE", line)
        .env("CONSOLE_RESTORE_FILE", dir.path().join("restore-command"))
        .env("CONSOLE_BENCH_REPORT", &bench_report)
        .env("CONSOLE_CODE_ADDRESS", code_address)
        .env("CONSOLE_PROJECT_ZIP", &project_zip)
        .output()
        .expect("run node (npm's Node.js is needed)");
    let log = std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default();
    assert!(
        out.status.success(),
        "browser test failed:\n{}\n{}\n--- daemon log (tail) ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        log.lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The status page's uptime counts the halt once its minute is recorded (the bars are
    // recomputed at most once a minute).
    let uptime = wait_for(
        "the halt in the status page's uptime",
        std::time::Duration::from_secs(150),
        || {
            let v = reqwest::blocking::get(format!("{}/api/v1/status", d.base))
                .ok()?
                .json::<serde_json::Value>()
                .ok()?;
            let u = v["chains"][0]["uptime_90d"].as_str()?.to_string();
            (!u.is_empty() && u != "100 %").then_some(u)
        },
    );
    assert!(uptime.ends_with(" %"), "{uptime}");
    // Both runs are recorded; the uploaded one without the credentials of its node URL.
    let runs = d.json("/api/v1/bench/runs");
    assert_eq!(runs.as_array().map(Vec::len), Some(2), "{runs}");
    for run in runs.as_array().into_iter().flatten() {
        let id = run["id"].as_str().expect("id");
        let report = d
            .get(&format!("/api/v1/bench/runs/{id}"))
            .text()
            .expect("report");
        assert!(
            !report.contains("hunter2") && !run.to_string().contains("hunter2"),
            "a credential in a recorded report: {run}"
        );
    }
    // The restore command the backups page shows restores the snapshot it names.
    let command =
        std::fs::read_to_string(dir.path().join("restore-command")).expect("restore command");
    let target = dir.path().join("restored");
    let command = command
        .trim()
        .replace("/var/tmp/restore-anvil-1", &target.display().to_string());
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(&words[..3], ["chainops", "backup", "restore"], "{command}");
    let out = Command::new(env!("CARGO_BIN_EXE_chainops"))
        .args(&words[1..])
        .output()
        .expect("run the restore command");
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let restored = std::fs::read_dir(&target).expect("restored dir").count();
    assert!(
        restored > 0,
        "the restore wrote nothing into {}",
        target.display()
    );
}

/// A Foundry-like project zipped the way GitHub's "Download ZIP" does (one top directory):
/// a vault with a reentrancy that imports a library through `remappings.txt`, and a test and
/// a library with bugs of their own that must not be reported. Written with Python's zipfile.
fn write_project_zip(path: &std::path::Path) {
    let vault = "pragma solidity ^0.8.0;\nimport \"@lib/Math.sol\";\ncontract Vault {\n    mapping(address => uint256) public balances;\n    function deposit() external payable { balances[msg.sender] += msg.value; }\n    function withdraw() external {\n        uint256 amount = balances[msg.sender];\n        (bool ok, ) = msg.sender.call{value: amount}(\"\");\n        require(ok);\n        balances[msg.sender] = Math.zero();\n    }\n}\n";
    let buggy = "pragma solidity ^0.8.0;\ncontract Buggy {\n    mapping(address => uint256) b;\n    function w() external {\n        (bool ok, ) = msg.sender.call{value: b[msg.sender]}(\"\");\n        require(ok);\n        b[msg.sender] = 0;\n    }\n}\n";
    let math = "pragma solidity ^0.8.0;\nlibrary Math { function zero() internal pure returns (uint256) { return 0; } }\n";
    let files = serde_json::json!({
        "vault-main/src/Vault.sol": vault,
        "vault-main/lib/math/Math.sol": format!("{math}{}", buggy.replace("Buggy", "LibBuggy")),
        "vault-main/test/Vault.t.sol": buggy,
        "vault-main/remappings.txt": "@lib/=lib/math/\n",
    });
    let script = "import json, sys, zipfile\nfiles = json.loads(sys.argv[2])\nwith zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n    for name, text in files.items():\n        z.writestr(name, text)\n";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .arg(files.to_string())
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A console session of `name`: its cookie and CSRF token.
fn session(base: &str, name: &str, password: &str) -> (String, String) {
    let client = no_redirects();
    let r = client
        .post(format!("{base}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("name", name), ("password", password)]))
        .send()
        .expect("login");
    assert_eq!(r.status(), 303, "login of {name}");
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_string();
    let page = client
        .get(format!("{base}/"))
        .header("cookie", &cookie)
        .send()
        .expect("fleet page")
        .text()
        .expect("body");
    let csrf = page
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("csrf field")
        .to_string();
    (cookie, csrf)
}

/// An urlencoded form body.
fn form(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn no_redirects() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Every console route, as every role and anonymously: a page a role may not see answers
/// 403 (a page, not JSON), a visitor without a session is sent to the login form, a form
/// post without the CSRF token is refused, and nothing answers 5xx.
#[test]
fn every_console_route_answers_each_role_as_the_table_says() {
    use chainops_auth::{Permission, Role};
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = Daemon::start(dir.path(), &evm_node("anvil-1", &anvil.url(), ""));
    let password = "Route-walker-731";
    let mut sessions = Vec::new();
    for role in Role::ALL {
        let name = format!("u-{}", role.as_str());
        crate::security::add_user(&d, &name, role.as_str(), password);
        sessions.push((role, session(&d.base, &name, password)));
    }
    let client = no_redirects();
    let concrete = |path: &str| {
        path.replace("{name}", "anvil-1")
            .replace("{*file}", "console.css")
            .replace("{id}", "no-such-id")
            .replace("{job}", "no-such-job")
    };
    let mut checked = 0;
    for route in chainops_server::console::routes() {
        if route.path == "/logout" {
            continue; // it would end the sessions; covered by the browser test
        }
        let url = format!("{}{}", d.base, concrete(route.path));
        let send = |cookie: Option<&str>, csrf: Option<&str>| {
            let req = if route.method == "GET" {
                client.get(&url)
            } else {
                client
                    .post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(form(&csrf.map(|c| vec![("_csrf", c)]).unwrap_or_default()))
            };
            let req = match cookie {
                Some(c) => req.header("cookie", c),
                None => req,
            };
            req.send()
                .unwrap_or_else(|e| panic!("{} {url}: {e}", route.method))
        };
        let anon = send(None, None);
        if route.permission == Permission::Public {
            assert!(
                anon.status().as_u16() < 500,
                "{} {url} anonymous: {}",
                route.method,
                anon.status()
            );
        } else {
            assert_eq!(anon.status(), 303, "{} {url} anonymous", route.method);
            let to = anon.headers()["location"].to_str().expect("location");
            assert!(to.starts_with('/'), "{to}");
        }
        for (role, (cookie, csrf)) in &sessions {
            let r = send(Some(cookie), Some(csrf));
            let status = r.status().as_u16();
            assert!(
                status < 500,
                "{} {url} as {}: {status}",
                route.method,
                role.as_str()
            );
            if route.permission.allows(*role) {
                assert_ne!(status, 403, "{} {url} as {}", route.method, role.as_str());
                assert_ne!(status, 401, "{} {url} as {}", route.method, role.as_str());
            } else {
                assert_eq!(status, 403, "{} {url} as {}", route.method, role.as_str());
                let ctype = r.headers()["content-type"]
                    .to_str()
                    .unwrap_or("")
                    .to_string();
                assert!(
                    ctype.starts_with("text/html"),
                    "{url}: a refusal page, not {ctype}"
                );
            }
            if route.method == "POST" && route.permission != Permission::Public {
                let r = send(Some(cookie), None);
                assert_eq!(
                    r.status(),
                    403,
                    "POST {url} as {} without CSRF",
                    role.as_str()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 5 * 25, "only {checked} checks");
}

/// Hostile and odd input to the console: escaped reflection, local-only redirects, no path
/// traversal through assets, oversized and malformed forms, queries that do not parse,
/// multi-byte names — clear 4xx answers or a safe page, never a 5xx.
#[test]
fn the_console_meets_hostile_input_with_clear_answers() {
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = Daemon::start(dir.path(), &evm_node("anvil-1", &anvil.url(), ""));
    crate::security::add_user(&d, "alice", "admin", "Hostile-input-731");
    let (cookie, csrf) = session(&d.base, "alice", "Hostile-input-731");
    let c = no_redirects();
    let get = |path: &str| {
        c.get(format!("{}{path}", d.base))
            .header("cookie", &cookie)
            .send()
            .expect("get")
    };
    let xss = get("/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    assert_eq!(xss.status(), 200);
    let body = xss.text().expect("body");
    assert!(!body.contains("<script>alert(1)"), "reflected unescaped");
    assert!(body.contains("&#60;script&#62;") || body.contains("&lt;script&gt;"));
    for traversal in [
        "/assets/..%2f..%2fCargo.toml",
        "/assets/vendor/..%2f..%2f..%2fCargo.toml",
        "/assets/%00",
    ] {
        let r = get(traversal);
        assert!(
            r.status() == 404 || r.status() == 400,
            "{traversal}: {}",
            r.status()
        );
        assert!(!r.text().unwrap_or_default().contains("[workspace]"));
    }
    let r = c
        .get(format!(
            "{}/prefs?lang=xx&theme=%3Cx%3E&back=%2F%2Fevil.example",
            d.base
        ))
        .send()
        .expect("prefs");
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
    assert!(
        r.headers().get("set-cookie").is_none(),
        "an unknown language or theme is not stored"
    );
    let login = c
        .get(format!("{}/?next=%2F%2Fevil.example%2F", d.base))
        .send()
        .expect("login form")
        .text()
        .expect("body");
    assert!(
        login.contains("name=\"next\" value=\"/\""),
        "next is kept local"
    );
    let big = format!("name=a&password={}", "x".repeat(3 << 20));
    // The server answers before reading all of it and closes the connection; a fresh
    // client (no pooled connection to reuse) sends it.
    let r = no_redirects()
        .post(format!("{}/login", d.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("connection", "close")
        .body(big)
        .send()
        .expect("big form");
    assert!(r.status().is_client_error(), "{}", r.status());
    let r = c
        .post(format!("{}/silences", d.base))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("_csrf={csrf}&rule=%zz&node=%E5%8C"))
        .send()
        .expect("malformed form");
    assert!(r.status().is_client_error(), "{}", r.status());
    let r = get("/logs?q=%22unterminated");
    assert_eq!(r.status(), 200);
    assert!(r.text().expect("body").contains("class=\"error\""));
    let r = get("/nodes/%E5%8C%BA%E5%9D%97-%F0%9F%A6%80");
    assert_eq!(r.status(), 404);
    assert!(r.text().expect("body").contains("区块-🦀"));
    let r = c
        .get(format!("{}/", d.base))
        .header("accept-language", "zh;q=NaN,".repeat(2000))
        .send()
        .expect("odd accept-language");
    assert_eq!(r.status(), 200);
    let r = c
        .post(format!("{}/audit", d.base))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("_csrf={csrf}&name=..%2F..%2Fetc%2Fpasswd&source=import+%22..%2F..%2F..%2Fetc%2Fpasswd%22%3B+contract+A+%7B%7D"))
        .send()
        .expect("audit with a hostile import");
    assert_eq!(r.status(), 303, "audit runs");
    let report = get(r.headers()["location"].to_str().expect("location"))
        .text()
        .expect("report");
    assert!(
        report.contains("passwd.sol") && !report.contains("root:"),
        "no file was read"
    );
    // Uploads: a report that is not one, a project that is not a zip, a zip whose paths climb
    // out, no CSRF field; addresses and nodes that are not.
    let upload = |path: &str, csrf: Option<&str>, field: &str, file: &str, data: &[u8]| {
        let (ctype, body) = multipart(csrf, field, file, data);
        c.post(format!("{}{path}", d.base))
            .header("cookie", &cookie)
            .header("content-type", ctype)
            .body(body)
            .send()
            .expect("upload")
    };
    let expect_400 = |r: reqwest::blocking::Response, says: &str| {
        assert_eq!(r.status(), 400, "{says}");
        let body = r.text().expect("body");
        assert!(body.contains(says), "wanted {says:?} in {body}");
    };
    expect_400(
        upload(
            "/bench",
            Some(&csrf),
            "report",
            "r.json",
            b"{\"rounds\": 3}",
        ),
        "not a chainops bench report",
    );
    expect_400(
        upload("/bench", Some(&csrf), "other", "r.json", b"{}"),
        "no report in the form",
    );
    let r = upload("/bench", None, "report", "r.json", b"{}");
    assert_eq!(r.status(), 403, "an upload without its CSRF field");
    expect_400(
        upload(
            "/audit/project",
            Some(&csrf),
            "project",
            "p.zip",
            b"PK\x03\x04garbage",
        ),
        "not a zip archive",
    );
    let zip = dir.path().join("climb.zip");
    let script = "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w') as z:\n    z.writestr('../../../etc/passwd.sol', 'contract P {}')\n    z.writestr('test/T.t.sol', 'contract T {}')\n";
    let made = Command::new("python3")
        .args(["-c", script])
        .arg(&zip)
        .status()
        .expect("python3");
    assert!(made.success());
    expect_400(
        upload(
            "/audit/project",
            Some(&csrf),
            "project",
            "climb.zip",
            &std::fs::read(&zip).expect("zip"),
        ),
        "only tests, scripts, mocks or dependencies",
    );
    // What an archive holds that cannot be read is named on the report, not dropped.
    let mixed = dir.path().join("mixed.zip");
    let script = "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w') as z:\n    z.writestr('src/A.sol', 'contract A {}')\n    z.writestr('src/Bin.sol', bytes([0xff, 0xfe, 0x00]))\n";
    let made = Command::new("python3")
        .args(["-c", script])
        .arg(&mixed)
        .status()
        .expect("python3");
    assert!(made.success());
    let r = upload(
        "/audit/project",
        Some(&csrf),
        "project",
        "mixed.zip",
        &std::fs::read(&mixed).expect("zip"),
    );
    assert_eq!(r.status(), 303, "the project is audited");
    let report = get(r.headers()["location"].to_str().expect("location"))
        .text()
        .expect("report");
    assert!(
        report.contains("Not analysed:") && report.contains("src/Bin.sol: not UTF-8 text"),
        "{report}"
    );
    let address = |node: &str, address: &str| {
        c.post(format!("{}/audit/address", d.base))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[
                ("_csrf", &csrf),
                ("node", node),
                ("address", address),
            ]))
            .send()
            .expect("address audit")
    };
    expect_400(address("anvil-1", "0xzz"), "is not an address");
    expect_400(
        address("区块-🦀", "0x00000000000000000000000000000000000000aa"),
        "is not a configured EVM node",
    );
    let r = address("anvil-1", "0x00000000000000000000000000000000000000aa");
    assert_eq!(r.status(), 404, "no code there");
    // The API side of load-test reports.
    let api =
        |req: reqwest::blocking::RequestBuilder| req.bearer_auth(&d.token).send().expect("api");
    let r = api(c
        .post(format!("{}/api/v1/bench/runs", d.base))
        .body("[1, 2"));
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .expect("body")
            .contains("not a chainops bench report")
    );
    let r = api(no_redirects()
        .post(format!("{}/api/v1/bench/runs", d.base))
        .header("connection", "close")
        .body(vec![b' '; 17 << 20]));
    assert_eq!(r.status(), 413, "over 16 MiB");
    assert_eq!(
        api(c.get(format!("{}/api/v1/bench/runs/%E5%8C%BA", d.base))).status(),
        404
    );
    assert_eq!(
        api(c.get(format!("{}/api/v1/bench/runs?limit=0", d.base))).status(),
        400
    );
    // The status page: public, cacheable, escaped; its forms refuse what is wrong by name.
    let r = c
        .get(format!("{}/status", d.base))
        .send()
        .expect("status without a session");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap_or("")
            .starts_with("public"),
        "{:?}",
        r.headers()
    );
    let anonymous = r.text().expect("body");
    assert!(anonymous.contains("data-chain=\"devnet\"") && !anonymous.contains("_csrf"));
    let r = c
        .get(format!("{}/status/%3Cscript%3E%E5%8C%BA", d.base))
        .send()
        .expect("unknown chain");
    assert_eq!(r.status(), 404);
    let body = r.text().expect("body");
    assert!(!body.contains("<script>") && body.contains("区"), "{body}");
    let post = |path: &str, pairs: &[(&str, &str)]| {
        let mut all = vec![("_csrf", csrf.as_str())];
        all.extend_from_slice(pairs);
        c.post(format!("{}{path}", d.base))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&all))
            .send()
            .expect("post")
    };
    let long = "标".repeat(201);
    for (pairs, says) in [
        (
            vec![
                ("chain", ""),
                ("title", "t"),
                ("state", "fixed"),
                ("message", "m"),
            ],
            "is not one of investigating",
        ),
        (
            vec![
                ("chain", ""),
                ("title", long.as_str()),
                ("state", "identified"),
                ("message", "m"),
            ],
            "201 characters",
        ),
        (
            vec![
                ("chain", "mainnet-x"),
                ("title", "t"),
                ("state", "identified"),
                ("message", "m"),
            ],
            "is not a monitored chain",
        ),
        (
            vec![
                ("chain", ""),
                ("title", "t"),
                ("state", "identified"),
                ("message", " "),
            ],
            "message is empty",
        ),
    ] {
        expect_400(post("/status/incidents", &pairs), says);
    }
    let r = post(
        "/status/incidents/nope/updates",
        &[("state", "resolved"), ("message", "m")],
    );
    assert_eq!(r.status(), 404);
    for (starts, duration, says) in [
        ("now", "40d", "at most 31 days"),
        ("yesterday", "1h", "is not a time"),
        ("now-3h", "1h", "over already"),
        ("now", "soon", "duration"),
    ] {
        expect_400(
            post(
                "/status/maintenance",
                &[
                    ("chain", "devnet"),
                    ("title", "w"),
                    ("starts", starts),
                    ("duration", duration),
                ],
            ),
            says,
        );
    }
    let v: serde_json::Value = c
        .get(format!("{}/api/v1/status", d.base))
        .send()
        .expect("status json")
        .json()
        .expect("json");
    assert_eq!(v["chains"][0]["name"], "devnet", "{v}");
    let r = get("/bench/compare?a=x");
    assert_eq!(r.status(), 400, "compare needs two runs");
    let r = get("/bench/compare?a=x&b=y");
    assert_eq!(r.status(), 404);
}

/// A `multipart/form-data` body with the `_csrf` field first (as the console's forms send
/// it) and one file.
fn multipart(csrf: Option<&str>, field: &str, file: &str, data: &[u8]) -> (String, Vec<u8>) {
    let boundary = "chainops-test-boundary-7f3a";
    let mut body = Vec::new();
    if let Some(t) = csrf {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{t}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
