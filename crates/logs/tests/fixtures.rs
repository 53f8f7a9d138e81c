//! Every real node log in `tests/fixtures/node-logs/` (copied from `../shared/fixtures`)
//! is detected, parsed with the right timestamps and levels, and grouped.

use chainops_logs::entry::{Level, LogEntry};
use chainops_logs::parse::{Format, detect, parse_all};

const NOW: i64 = 1_795_700_000_000;

fn load(name: &str) -> (Format, Vec<LogEntry>) {
    let path = format!(
        "{}/tests/fixtures/node-logs/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("fixture");
    let sample: Vec<&str> = text.lines().take(200).collect();
    let f = detect(&sample);
    (f, parse_all(f, &text, NOW))
}

fn ts(s: &str) -> i64 {
    chainops_core::time::parse_rfc3339(s).expect("ts")
}

fn with<'a>(e: &'a [LogEntry], needle: &str) -> &'a LogEntry {
    e.iter()
        .find(|x| x.message.contains(needle))
        .unwrap_or_else(|| panic!("no entry contains {needle:?}"))
}

#[test]
fn anvil_default_output_groups_transaction_and_block_blocks() {
    for name in ["anvil-automine.log", "anvil-reorg.log"] {
        let (f, e) = load(name);
        assert_eq!(f, Format::Anvil, "{name}");
        assert!(
            e.iter().all(|x| x.ts_ms == NOW),
            "anvil lines carry no time: read time"
        );
        let tx = e
            .iter()
            .find(|x| x.message.starts_with("Transaction: 0x"))
            .expect("a transaction block");
        assert!(tx.message.contains("\nGas used: 21000"), "{}", tx.message);
        assert!(tx.fields.contains_key("tx"));
        assert_eq!(tx.message.matches("Transaction:").count(), 1);
        if name == "anvil-automine.log" {
            // Mined at once: the transaction and its block are one entry.
            assert!(
                tx.message.contains("\nBlock Number: ") && tx.message.contains("\nBlock Hash: 0x")
            );
            assert!(tx.fields["hash"].starts_with("0x") && tx.fields.contains_key("height"));
        }
        let block = with(&e, "Block Hash: 0x");
        assert!(block.message.contains("Block Time: "), "{}", block.message);
        assert!(e.iter().any(|x| x.message == "eth_getTransactionReceipt"));
    }
    let (_, e) = load("anvil-reorg.log");
    let reorg = with(&e, "Mined reorg block number 3");
    assert!(
        reorg.message.starts_with("Block Number: 3"),
        "{}",
        reorg.message
    );
    assert!(
        !reorg.message.contains("Block Number: 4"),
        "each reorged block is its own entry"
    );
}

#[test]
fn anvil_tracing_output_keeps_times_levels_and_groups_continuations() {
    let (f, e) = load("anvil-rustlog-info.log");
    assert_eq!(f, Format::AnvilTracing);
    let mined = with(&e, "Block Number: 1");
    assert_eq!(mined.ts_ms, ts("2026-11-25T23:36:38.478Z"));
    assert_eq!(mined.level, Level::Info);
    assert!(
        mined.message.contains("Block Hash: 0x2beca7c7"),
        "{}",
        mined.message
    );
    assert_eq!(mined.fields["height"], "1");
    let call = with(&e, "anvil_mine");
    assert_eq!(call.fields["target"], "node::user");
    assert_eq!(call.ts_ms, ts("2026-11-25T23:36:38.477Z"));
}

#[test]
fn ganache_and_hardhat_group_transactions() {
    let (f, e) = load("ganache.log");
    assert_eq!(f, Format::Ganache);
    let tx = with(&e, "Transaction: 0x76f79b1b");
    assert!(tx.message.contains("Block number: 1"));
    assert_eq!(tx.fields["height"], "1");
    let (f, e) = load("hardhat-node.log");
    assert_eq!(f, Format::Ganache);
    let tx = with(&e, "Transaction: 0xef24f667");
    assert!(
        tx.message.starts_with("eth_sendTransaction\nTransaction:"),
        "{}",
        tx.message
    );
    assert_eq!(tx.fields["height"], "1");
    assert!(tx.fields["hash"].starts_with("0x058dc5f4"));
}

#[test]
fn litecoind_debug_logs_have_times_levels_and_tips() {
    for name in ["litecoind-regtest-debug.log", "litecoind-n3-sample.log"] {
        let (f, e) = load(name);
        assert_eq!(f, Format::Bitcoin, "{name}");
        assert!(
            e.iter().all(|x| x.ts_ms >= ts("2026-11-25T23:00:00Z")),
            "{name}: every entry has its own time"
        );
    }
    let (_, e) = load("litecoind-regtest-debug.log");
    assert_eq!(
        with(&e, "Litecoin Core version").ts_ms,
        ts("2026-11-25T23:37:31Z")
    );
    let err = with(&e, "DeserializeFileDB: Failed to open file");
    assert_eq!(err.level, Level::Error);
    let tip = with(&e, "UpdateTip: new best=");
    assert_eq!(tip.fields["hash"].len(), 64);
    assert!(tip.fields.contains_key("height"));
}

#[test]
fn monerod_lines_split_into_fields() {
    let (f, e) = load("monerod-regtest.log");
    assert_eq!(f, Format::Monero);
    assert_eq!(e.len(), 43);
    let warn = with(&e, "rotating drive");
    assert_eq!(warn.level, Level::Warn);
    assert_eq!(warn.ts_ms, ts("2026-11-25T23:48:28.317Z"));
    assert_eq!(warn.fields["category"], "global");
    assert!(warn.fields["location"].starts_with("src/blockchain_db/lmdb"));
}
