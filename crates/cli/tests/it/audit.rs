//! `chainops audit` end to end: JSON and SARIF output validate against their schemas (ours in
//! docs/, the official SARIF 2.1.0 schema), `--fail-on` and bad input exit codes, suppression
//! comments, imports through `--remap`, and deployed-code checks against a live anvil.

use crate::harness::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn audit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chainops"))
        .arg("audit")
        .args(args)
        .output()
        .expect("run chainops audit")
}

fn fixtures() -> PathBuf {
    workspace_root().join("crates/audit/tests/fixtures")
}

/// Validates `instance` against `schema` with jsonschema_rs (installed with schemathesis).
fn validate(schema: &Path, instance: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = dir.path().join("doc.json");
    std::fs::write(&doc, instance).expect("write");
    let script = "import json, sys, jsonschema_rs\n\
        schema = json.load(open(sys.argv[1])); doc = json.load(open(sys.argv[2]))\n\
        # The official SARIF schema has one malformed regex (language, `]?`); use the intended one.\n\
        text = json.dumps(schema).replace('^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$', '^[a-zA-Z]{2}(-[a-zA-Z]{2})?$')\n\
        schema = json.loads(text)\n\
        errors = [f'{e.instance_path}: {e.message}' for e in jsonschema_rs.validator_for(schema).iter_errors(doc)]\n\
        print('\\n'.join(errors[:20])); sys.exit(1 if errors else 0)\n";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(schema)
        .arg(&doc)
        .env("PYTHONPATH", workspace_root().join(".tools/pylib"))
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{} does not validate:\n{}{}",
        schema.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn json_and_sarif_validate_against_their_schemas() {
    let out = audit(&["--format", "json", fixtures().to_str().expect("utf8")]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let v: Value = serde_json::from_str(&text).expect("json");
    assert!(v["findings"].as_array().is_some_and(|f| f.len() > 50));
    // `--json` is `--format json`, as on every other command (issue 15 item 17).
    let short = audit(&["--json", fixtures().to_str().expect("utf8")]);
    let short: Value = serde_json::from_slice(&short.stdout).expect("--json");
    assert_eq!(short["findings"], v["findings"]);
    validate(
        &workspace_root().join("docs/audit-report.schema.json"),
        &text,
    );

    let sarif_schema = workspace_root().join(".tools/sarif/sarif-2.1.0.json");
    assert!(
        sarif_schema.is_file(),
        "the SARIF schema is missing: run scripts/install-deps.sh test"
    );
    let out = audit(&["--format", "sarif", fixtures().to_str().expect("utf8")]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    validate(&sarif_schema, &text);
    let v: Value = serde_json::from_str(&text).expect("sarif");
    assert_eq!(v["version"], "2.1.0");
    let results = v["runs"][0]["results"].as_array().expect("results");
    assert!(!results.is_empty());
    assert!(
        results.iter().all(
            |r| r["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64() >= Some(1)
        )
    );
}

#[test]
fn fail_on_bad_input_suppressions_and_remapped_imports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lib = dir.path().join("vendor/auth");
    std::fs::create_dir_all(&lib).expect("mkdir");
    // The guard lives in an imported file: with the import resolved, `sweep` is protected.
    std::fs::write(
        lib.join("Owned.sol"),
        "pragma solidity ^0.4.24;\ncontract Owned {\n    address owner;\n    modifier guarded { require(msg.sender == owner); _; }\n}\n",
    )
    .expect("write");
    let main = dir.path().join("Vault.sol");
    std::fs::write(
        &main,
        "pragma solidity ^0.4.24;\nimport \"@auth/Owned.sol\";\ncontract Vault is Owned {\n    function sweep() public guarded {\n        selfdestruct(msg.sender);\n    }\n    function pay(address to) public {\n        // chainops-disable-next-line unchecked-call\n        to.send(1 ether);\n        to.send(2 ether);\n    }\n}\n",
    )
    .expect("write");
    let m = main.to_str().expect("utf8");
    let remap = format!("@auth/={}/", lib.display());
    let out = audit(&["--format", "json", "--remap", &remap, m]);
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let found: Vec<(String, u64)> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["detector"].as_str().unwrap_or("").to_string(),
                f["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert!(
        !found.iter().any(|(d, _)| d == "unprotected-selfdestruct"),
        "{found:?}"
    );
    assert!(found.contains(&("unchecked-call".into(), 10)), "{found:?}");
    assert!(
        !found.contains(&("unchecked-call".into(), 9)),
        "suppressed: {found:?}"
    );
    assert_eq!(v["errors"], json!([]));

    // Without the remapping the import is named and the guard is unknown.
    let out = audit(&["--format", "json", m]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let err = v["errors"][0]["message"].as_str().unwrap_or("");
    assert!(err.contains("import \"@auth/Owned.sol\" not found"), "{v}");
    assert_eq!(v["errors"][0]["line"], 2);

    // --fail-on: high findings exist in the fixtures → exit 1; bad values → exit 2.
    let pos = fixtures().join("tx-origin/positive.sol");
    let p = pos.to_str().expect("utf8");
    assert_eq!(
        audit(&["--fail-on", "high", p]).status.code(),
        Some(0),
        "tx-origin is medium"
    );
    assert_eq!(audit(&["--fail-on", "medium", p]).status.code(), Some(1));
    let bad = audit(&["--fail-on", "critical", p]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("use high, medium or low"));
    let bad = audit(&["--only", "no-such-detector", p]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("known: arbitrary-send"));
    assert_eq!(audit(&["/no/such/dir"]).status.code(), Some(2));

    // A file that does not parse is named with file:line:col; the others are analysed.
    std::fs::write(
        dir.path().join("Broken.sol"),
        "contract B {\n  function f( {\n}\n",
    )
    .expect("write");
    let out = audit(&[
        "--format",
        "json",
        "--remap",
        &remap,
        dir.path().to_str().expect("utf8"),
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let e = v["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .find(|e| {
            e["file"]
                .as_str()
                .is_some_and(|f| f.ends_with("Broken.sol"))
        })
        .expect("parse error");
    assert_eq!(e["line"], 2, "{e}");
    assert!(v["files"].as_array().is_some_and(|f| {
        f.iter()
            .any(|x| x.as_str().is_some_and(|x| x.ends_with("Vault.sol")))
    }));
}

/// Init code that returns `runtime`, after `prefix` (e.g. an SSTORE) runs.
fn init_code(prefix: &[u8], runtime: &[u8]) -> String {
    let offset = prefix.len() + 11;
    let mut code = prefix.to_vec();
    code.extend([
        0x60,
        runtime.len() as u8,
        0x80,
        0x60,
        offset as u8,
        0x60,
        0x00,
        0x39,
        0x60,
        0x00,
        0xf3,
    ]);
    code.extend(runtime);
    format!(
        "0x{}",
        code.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

fn deploy(anvil: &Anvil, data: &str) -> String {
    let from = anvil.rpc("eth_accounts", json!([]))[0]
        .as_str()
        .expect("account")
        .to_string();
    let tx = anvil.rpc(
        "eth_sendTransaction",
        json!([{"from": from, "data": data, "gas": "0x100000"}]),
    );
    let receipt = wait_for("receipt", std::time::Duration::from_secs(20), || {
        let r = anvil.rpc("eth_getTransactionReceipt", json!([tx]));
        (!r.is_null()).then_some(r)
    });
    receipt["contractAddress"]
        .as_str()
        .expect("contract address")
        .to_string()
}

#[test]
fn deployed_code_is_disassembled_and_proxies_are_read_from_a_live_anvil() {
    let anvil = Anvil::start(&[]);
    // ORIGIN POP CALLER SELFDESTRUCT
    let dangerous = [0x32, 0x50, 0x33, 0xff];
    let a = deploy(&anvil, &init_code(&[], &dangerous));
    // EIP-1967: PUSH20 impl PUSH32 slot SSTORE, runtime GAS DELEGATECALL STOP.
    let implementation = "5fbdb2315678afecb367f032d93f642f64180aa3";
    let mut prefix = vec![0x73];
    prefix.extend(chainops_core::hex::decode(implementation).expect("hex"));
    prefix.push(0x7f);
    prefix.extend(
        chainops_core::hex::decode(
            chainops_audit::bytecode::EIP1967_IMPLEMENTATION.trim_start_matches("0x"),
        )
        .expect("hex"),
    );
    prefix.push(0x55);
    let proxy = deploy(&anvil, &init_code(&prefix, &[0x5a, 0xf4, 0x00]));

    let dir = tempfile::tempdir().expect("tempdir");
    let list = dir.path().join("verified.txt");
    std::fs::write(
        &list,
        format!(
            "{} Dangerous v1\n",
            chainops_audit::bytecode::code_hash(&dangerous)
        ),
    )
    .expect("write");
    let url = anvil.url();
    let out = audit(&[
        "--format",
        "json",
        "--rpc",
        &url,
        "--address",
        &a,
        "--address",
        &proxy,
        "--verified",
        list.to_str().expect("utf8"),
    ]);
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let c = &v["contracts"];
    assert_eq!(c[0]["verified"], "Dangerous v1");
    let ids = |i: usize| -> Vec<String> {
        c[i]["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| f["detector"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(ids(0), ["tx-origin", "selfdestruct"]);
    assert_eq!(c[0]["findings"][1]["pc"], 3);
    assert_eq!(c[1]["proxy"]["kind"], "eip1967");
    assert_eq!(
        c[1]["proxy"]["implementation"],
        format!("0x{implementation}")
    );
    assert!(ids(1).contains(&"unverified-code".to_string()));
    assert_eq!(
        c[1]["findings"]
            .as_array()
            .expect("f")
            .iter()
            .find(|f| f["detector"] == "delegatecall")
            .expect("delegatecall")["severity"],
        "info"
    );

    // --fail-on high: SELFDESTRUCT is high → exit 1. An address without code → exit 3.
    assert_eq!(
        audit(&["--rpc", &url, "--address", &a, "--fail-on", "high"])
            .status
            .code(),
        Some(1)
    );
    let empty = audit(&[
        "--rpc",
        &url,
        "--address",
        "0x000000000000000000000000000000000000dead",
    ]);
    assert_eq!(empty.status.code(), Some(3), "{empty:?}");
    assert!(String::from_utf8_lossy(&empty.stderr).contains("no code at this address"));
    assert_eq!(
        audit(&["--rpc", &url, "--address", "0x12"]).status.code(),
        Some(2)
    );
}

#[test]
fn the_parse_gaps_of_real_code_parse_and_nothing_parsed_is_a_failure() {
    // `^0.4.19` with throw and emit, 0.4 names that later became keywords, the old `_`
    // placeholder without `;`, and 0.8.24 transient storage: each file is analysed.
    let dir = fixtures().join("parse-gaps");
    let out = audit(&["--format", "json", dir.to_str().expect("utf8")]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["errors"], json!([]), "{report:#}");
    assert_eq!(
        report["files"].as_array().map(Vec::len),
        Some(4),
        "{report:#}"
    );
    // A transient-storage lock guards the call: no reentrancy there.
    assert!(
        !report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["file"]
                .as_str()
                .is_some_and(|p| p.ends_with("transient-lock.sol"))
                && f["detector"] == "reentrancy"),
        "{report:#}"
    );
    // No file analysed: exit 2 naming why, never a clean report with exit 0.
    let t = tempfile::tempdir().expect("tempdir");
    let broken = t.path().join("broken.sol");
    std::fs::write(&broken, "contract {\n").expect("write");
    let out = audit(&[broken.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no input file could be analysed") && err.contains("broken.sol:1:"),
        "{err}"
    );
}
