//! Issue 15 item 13: redaction must not eat hashes. Over every shared node-log fixture, as
//! the ingest sees them (parsed into entries, then redacted), each 64-hex token is labelled a
//! secret (hardhat's `Private Key:` lines, anvil's and ganache's numbered `(N) 0x…` banner)
//! or a hash (everything else: transaction and block hashes, `UpdateTip best=`, litecoind's
//! `AddToWallet <txid>`, `nMinimumChainWork`). Recall: every secret and every mnemonic is
//! gone. Precision: every hash is still there. Plus labelled hostile lines where a hash and a
//! key share a line.

use chainops_logs::parse::{detect, parse_all};
use chainops_logs::redact::Redactor;
use regex::Regex;

const NOW: i64 = 1_795_700_000_000;

fn hex64() -> Regex {
    Regex::new(r"\b(?:0x)?[0-9a-fA-F]{64}\b").expect("regex")
}

/// (secret tokens, hash tokens) of one raw line, by the labelling rule above.
fn labels(line: &str) -> (Vec<String>, Vec<String>) {
    let secret_line = line.trim_start().starts_with("Private Key:")
        || Regex::new(r"^\(\d+\)\s").expect("regex").is_match(line);
    let tokens: Vec<String> = hex64()
        .find_iter(line)
        .map(|m| m.as_str().trim_start_matches("0x").to_string())
        .collect();
    if secret_line {
        (tokens, Vec::new())
    } else {
        (Vec::new(), tokens)
    }
}

#[test]
fn no_hash_is_redacted_and_every_secret_is_in_every_fixture() {
    let dir = format!("{}/tests/fixtures/node-logs", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    names.sort();
    assert!(names.len() >= 8, "{names:?}");
    let (mut secrets, mut hashes, mut mnemonics) = (Vec::new(), Vec::new(), 0usize);
    let mut stored = String::new();
    for path in &names {
        let text = std::fs::read_to_string(path).expect("read");
        for line in text.lines() {
            let (s, h) = labels(line);
            secrets.extend(s);
            hashes.extend(h);
            mnemonics += usize::from(line.contains("Mnemonic:"));
        }
        let sample: Vec<&str> = text.lines().take(200).collect();
        let mut redactor = Redactor::new(Vec::new());
        for mut e in parse_all(detect(&sample), &text, NOW) {
            redactor.redact_entry(&mut e);
            stored.push_str(&e.message);
            stored.push('\n');
            for (k, v) in &e.fields {
                stored.push_str(&format!("{k}={v}\n"));
            }
        }
    }
    assert!(secrets.len() >= 60 && hashes.len() >= 250 && mnemonics >= 4);
    let kept_secrets: Vec<&String> = secrets
        .iter()
        .filter(|s| stored.contains(s.as_str()))
        .collect();
    let lost_hashes: Vec<&String> = hashes
        .iter()
        .filter(|h| !stored.contains(h.as_str()))
        .collect();
    assert!(kept_secrets.is_empty(), "secrets left: {kept_secrets:?}");
    assert!(
        lost_hashes.is_empty(),
        "{} of {} hashes redacted, e.g. {:?}",
        lost_hashes.len(),
        hashes.len(),
        lost_hashes.first()
    );
    assert!(
        !stored.contains("test test test test"),
        "a mnemonic survived"
    );
}

#[test]
fn hashes_and_keys_on_one_line_are_told_apart() {
    let key = "4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d";
    let hash = "0xe9f2a3c4b5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70";
    let cases: &[(String, bool, bool)] = &[
        // (line, key must go, hash must stay)
        (format!("loaded wallet key 0x{key}"), true, false),
        (format!("signer private key: {key}"), true, false),
        (
            format!("tx hash={hash} signer=0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"),
            false,
            true,
        ),
        (
            format!("signer key={key} sent transaction {hash}"),
            true,
            true,
        ),
        (format!("[w1] AddToWallet {}  new", &hash[2..]), false, true),
        (format!("Block #12: {hash} sealed by signer"), false, true),
        (format!("--private-key {key}"), true, false),
    ];
    let mut r = Redactor::new(Vec::new());
    for (line, key_goes, hash_stays) in cases {
        let mut text = line.clone();
        r.redact(&mut text);
        if *key_goes {
            assert!(!text.contains(key), "{line} -> {text}");
        }
        if *hash_stays {
            assert!(text.contains(&hash[2..]), "{line} -> {text}");
        }
    }
}
