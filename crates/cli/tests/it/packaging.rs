//! Packaging: the Debian package builds (scripts/build-deb.sh), installs with `dpkg -i`,
//! `systemd-analyze verify` accepts its unit, the installed binary runs and the shipped config
//! passes `config check`, and it removes cleanly; `serve` speaks systemd's notify protocol
//! (ready, reloading, stopping, watchdog) to a socket the test holds; the container file runs
//! a non-root user and copies files that exist.

use crate::harness::*;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn run(cmd: &str, args: &[&str]) -> std::process::Output {
    Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"))
}

fn ok(cmd: &str, args: &[&str]) -> String {
    let out = run(cmd, args);
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn the_debian_package_installs_verifies_runs_and_removes_cleanly() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "dpkg -i needs root (CI runs as root)"
    );
    let out_dir = tempfile::tempdir().expect("tempdir");
    let script = workspace_root().join("scripts/build-deb.sh");
    let deb = ok(
        script.to_str().expect("utf8"),
        &[
            "--fast",
            "--binary",
            env!("CARGO_BIN_EXE_chainops"),
            "--out",
            out_dir.path().to_str().expect("utf8"),
        ],
    );
    let deb = deb.trim();
    // Leftovers of an interrupted run would make this one lie.
    let _ = run("dpkg", &["--purge", "chainops"]);
    let contents = ok("dpkg-deb", &["--contents", deb]);
    for path in [
        "./usr/bin/chainops",
        "./lib/systemd/system/chainops.service",
        "./etc/chainops/chainops.toml",
        "./usr/share/man/man1/chainops.1.gz",
        "./usr/share/bash-completion/completions/chainops",
        "./usr/share/chainops/grafana/chainops-fleet.json",
        "./usr/share/doc/chainops/copyright",
    ] {
        assert!(contents.contains(path), "{path} missing from the package");
    }
    assert!(
        !contents.lines().any(|l| l.starts_with("drwx------")),
        "a private directory in the package:\n{contents}"
    );
    ok("dpkg", &["-i", deb]);
    let unit = "/lib/systemd/system/chainops.service";
    ok("systemd-analyze", &["verify", unit]);
    let text = std::fs::read_to_string(unit).expect("unit");
    for line in [
        "Type=notify",
        "WatchdogSec=",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "ProtectSystem=strict",
        "User=chainops",
        "StateDirectory=chainops",
    ] {
        assert!(text.contains(line), "unit lacks {line}");
    }
    assert!(ok("/usr/bin/chainops", &["--version"]).starts_with("chainops "));
    ok(
        "/usr/bin/chainops",
        &["config", "check", "--config", "/etc/chainops/chainops.toml"],
    );
    ok("id", &["chainops"]);
    // The config is readable by the daemon's group only.
    let meta = std::fs::metadata("/etc/chainops/chainops.toml").expect("config");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o640
    );
    ok("dpkg", &["--purge", "chainops"]);
    for gone in ["/usr/bin/chainops", unit, "/etc/chainops/chainops.toml"] {
        assert!(
            !std::path::Path::new(gone).exists(),
            "{gone} left after purge"
        );
    }
    assert!(!run("dpkg", &["-s", "chainops"]).status.success());
}

/// Reads datagrams until one contains `want` (returns everything read), or panics.
fn until(sock: &UnixDatagram, want: &str, seen: &mut Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(n) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).to_string();
            let hit = msg.lines().any(|l| l == want);
            seen.push(msg);
            if hit {
                return;
            }
        }
    }
    panic!("no {want} from serve; got {seen:?}");
}

#[test]
fn serve_notifies_systemd_of_readiness_reloads_shutdown_and_pings_the_watchdog() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("bind notify socket");
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let cfg = dir.path().join("chainops.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = \"{}\"\n[server]\nlisten = \"127.0.0.1:0\"\n",
            dir.path().join("data").display()
        ),
    )
    .expect("config");
    // As systemd does: WATCHDOG_PID names the main process (the shell execs chainops).
    let child = Command::new("sh")
        .args(["-c", "WATCHDOG_PID=$$ exec \"$0\" serve --config \"$1\""])
        .arg(env!("CARGO_BIN_EXE_chainops"))
        .arg(&cfg)
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "400000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let mut p = Proc {
        child,
        name: "chainops".into(),
    };
    let mut seen = Vec::new();
    until(&sock, "READY=1", &mut seen);
    assert!(
        seen.iter().any(|m| m.contains("STATUS=serving 0 nodes")),
        "{seen:?}"
    );
    // Pings every 200 ms: several within a second.
    let before = seen.iter().filter(|m| m.contains("WATCHDOG=1")).count();
    std::thread::sleep(Duration::from_secs(1));
    let mut buf = [0u8; 4096];
    while let Ok(n) = sock.recv(&mut buf) {
        seen.push(String::from_utf8_lossy(&buf[..n]).to_string());
        if seen.iter().filter(|m| m.contains("WATCHDOG=1")).count() >= before + 3 {
            break;
        }
    }
    assert!(
        seen.iter().filter(|m| m.contains("WATCHDOG=1")).count() >= before + 3,
        "{seen:?}"
    );
    p.signal(nix::sys::signal::Signal::SIGHUP);
    until(&sock, "RELOADING=1", &mut seen);
    until(&sock, "READY=1", &mut seen);
    assert!(p.terminate().success());
    until(&sock, "STOPPING=1", &mut seen);
}

#[test]
fn the_container_file_runs_a_non_root_user_and_copies_files_that_exist() {
    let root = workspace_root();
    let file = std::fs::read_to_string(root.join("deploy/container/Containerfile")).expect("read");
    let user = file
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    assert!(
        !user.starts_with('0') && !user.starts_with("root"),
        "runs as {user}"
    );
    for line in file
        .lines()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from="))
    {
        let parts: Vec<&str> = line.split_whitespace().collect();
        for src in &parts[1..parts.len() - 1] {
            if *src != "." {
                assert!(root.join(src).exists(), "COPY {src}: no such file");
            }
        }
    }
    assert!(file.contains("CHAINOPS_LISTEN=0.0.0.0:8080"));
    // The shipped config it copies loads.
    let out = Command::new(env!("CARGO_BIN_EXE_chainops"))
        .args(["config", "check", "--config"])
        .arg(root.join("deploy/debian/chainops.toml"))
        .output()
        .expect("config check");
    assert!(out.status.success(), "{out:?}");
}
