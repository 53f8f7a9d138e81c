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
    let d = Daemon::start(
        dir.path(),
        &format!(
            "{}{RULES}",
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
}
