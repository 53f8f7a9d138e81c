//! Checks of deployed code: disassembly (PUSH data skipped, solc metadata stripped), the
//! dangerous opcodes (SELFDESTRUCT, DELEGATECALL, CALLCODE, ORIGIN), proxies (EIP-1967 and
//! EIP-1822 slots, EIP-1167 minimal proxies) and the runtime code hash against a list of
//! verified sources. Fetching code and storage is the caller's job (no network here).

use crate::finding::Severity;
use chainops_core::hex::encode;
use serde::Serialize;
use sha3::{Digest, Keccak256};

/// EIP-1967 implementation slot (`keccak256("eip1967.proxy.implementation") - 1`).
pub const EIP1967_IMPLEMENTATION: &str =
    "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";
/// EIP-1967 admin slot.
pub const EIP1967_ADMIN: &str =
    "0xb53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103";
/// EIP-1967 beacon slot.
pub const EIP1967_BEACON: &str =
    "0xa3f0ad74e5423aebfd80d3ef4346578335a9a72aeaee59ff6cb3582b35133d50";
/// EIP-1822 (UUPS) slot, `keccak256("PROXIABLE")`.
pub const EIP1822_PROXIABLE: &str =
    "0xc5f16f0fcc639fa48a6947836d9850f504798523bf8c9a3a87d5876cf622bcf7";

/// Every storage slot [`check`] may read, so a caller with an async client can fetch them
/// first and answer `storage` from what it fetched.
pub const PROXY_SLOTS: [&str; 4] = [
    EIP1967_IMPLEMENTATION,
    EIP1967_BEACON,
    EIP1822_PROXIABLE,
    EIP1967_ADMIN,
];

/// Is `s` written as an address: `0x` and 40 hex digits?
pub fn is_address(s: &str) -> bool {
    s.len() == 42 && s.starts_with("0x") && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// One instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instruction {
    /// Byte offset.
    pub pc: usize,
    /// Opcode.
    pub op: u8,
    /// Mnemonic.
    pub name: &'static str,
    /// PUSH data, if any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<u8>,
}

/// Mnemonic of an opcode (`UNKNOWN` for unassigned ones).
pub fn mnemonic(op: u8) -> &'static str {
    const LOW: [&str; 0x20] = [
        "STOP",
        "ADD",
        "MUL",
        "SUB",
        "DIV",
        "SDIV",
        "MOD",
        "SMOD",
        "ADDMOD",
        "MULMOD",
        "EXP",
        "SIGNEXTEND",
        "UNKNOWN",
        "UNKNOWN",
        "UNKNOWN",
        "UNKNOWN",
        "LT",
        "GT",
        "SLT",
        "SGT",
        "EQ",
        "ISZERO",
        "AND",
        "OR",
        "XOR",
        "NOT",
        "BYTE",
        "SHL",
        "SHR",
        "SAR",
        "UNKNOWN",
        "UNKNOWN",
    ];
    match op {
        0x00..=0x1f => LOW[op as usize],
        0x20 => "KECCAK256",
        0x30 => "ADDRESS",
        0x31 => "BALANCE",
        0x32 => "ORIGIN",
        0x33 => "CALLER",
        0x34 => "CALLVALUE",
        0x35 => "CALLDATALOAD",
        0x36 => "CALLDATASIZE",
        0x37 => "CALLDATACOPY",
        0x38 => "CODESIZE",
        0x39 => "CODECOPY",
        0x3a => "GASPRICE",
        0x3b => "EXTCODESIZE",
        0x3c => "EXTCODECOPY",
        0x3d => "RETURNDATASIZE",
        0x3e => "RETURNDATACOPY",
        0x3f => "EXTCODEHASH",
        0x40 => "BLOCKHASH",
        0x41 => "COINBASE",
        0x42 => "TIMESTAMP",
        0x43 => "NUMBER",
        0x44 => "PREVRANDAO",
        0x45 => "GASLIMIT",
        0x46 => "CHAINID",
        0x47 => "SELFBALANCE",
        0x48 => "BASEFEE",
        0x49 => "BLOBHASH",
        0x4a => "BLOBBASEFEE",
        0x50 => "POP",
        0x51 => "MLOAD",
        0x52 => "MSTORE",
        0x53 => "MSTORE8",
        0x54 => "SLOAD",
        0x55 => "SSTORE",
        0x56 => "JUMP",
        0x57 => "JUMPI",
        0x58 => "PC",
        0x59 => "MSIZE",
        0x5a => "GAS",
        0x5b => "JUMPDEST",
        0x5c => "TLOAD",
        0x5d => "TSTORE",
        0x5e => "MCOPY",
        0x5f => "PUSH0",
        0x60..=0x7f => PUSH[(op - 0x60) as usize],
        0x80..=0x8f => DUP[(op - 0x80) as usize],
        0x90..=0x9f => SWAP[(op - 0x90) as usize],
        0xa0 => "LOG0",
        0xa1 => "LOG1",
        0xa2 => "LOG2",
        0xa3 => "LOG3",
        0xa4 => "LOG4",
        0xf0 => "CREATE",
        0xf1 => "CALL",
        0xf2 => "CALLCODE",
        0xf3 => "RETURN",
        0xf4 => "DELEGATECALL",
        0xf5 => "CREATE2",
        0xfa => "STATICCALL",
        0xfd => "REVERT",
        0xfe => "INVALID",
        0xff => "SELFDESTRUCT",
        _ => "UNKNOWN",
    }
}

const PUSH: [&str; 32] = [
    "PUSH1", "PUSH2", "PUSH3", "PUSH4", "PUSH5", "PUSH6", "PUSH7", "PUSH8", "PUSH9", "PUSH10",
    "PUSH11", "PUSH12", "PUSH13", "PUSH14", "PUSH15", "PUSH16", "PUSH17", "PUSH18", "PUSH19",
    "PUSH20", "PUSH21", "PUSH22", "PUSH23", "PUSH24", "PUSH25", "PUSH26", "PUSH27", "PUSH28",
    "PUSH29", "PUSH30", "PUSH31", "PUSH32",
];
const DUP: [&str; 16] = [
    "DUP1", "DUP2", "DUP3", "DUP4", "DUP5", "DUP6", "DUP7", "DUP8", "DUP9", "DUP10", "DUP11",
    "DUP12", "DUP13", "DUP14", "DUP15", "DUP16",
];
const SWAP: [&str; 16] = [
    "SWAP1", "SWAP2", "SWAP3", "SWAP4", "SWAP5", "SWAP6", "SWAP7", "SWAP8", "SWAP9", "SWAP10",
    "SWAP11", "SWAP12", "SWAP13", "SWAP14", "SWAP15", "SWAP16",
];

/// The code without solc's CBOR metadata trailer (its last two bytes give its length).
pub fn strip_metadata(code: &[u8]) -> &[u8] {
    if code.len() < 2 {
        return code;
    }
    let len = u16::from_be_bytes([code[code.len() - 2], code[code.len() - 1]]) as usize;
    match code.len().checked_sub(len + 2) {
        Some(start) if len > 0 && matches!(code.get(start), Some(0xa1..=0xa3)) => &code[..start],
        _ => code,
    }
}

/// Disassembles `code` (PUSH data is skipped, a truncated PUSH at the end keeps what exists).
pub fn disassemble(code: &[u8]) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut pc = 0;
    while pc < code.len() {
        let op = code[pc];
        let n = if (0x60..=0x7f).contains(&op) {
            (op - 0x5f) as usize
        } else {
            0
        };
        let data = code[(pc + 1).min(code.len())..(pc + 1 + n).min(code.len())].to_vec();
        out.push(Instruction {
            pc,
            op,
            name: mnemonic(op),
            data,
        });
        pc += 1 + n;
    }
    out
}

/// `0x`-prefixed keccak256.
pub fn code_hash(code: &[u8]) -> String {
    format!("0x{}", encode(&Keccak256::digest(code)))
}

/// A finding on deployed code.
#[derive(Debug, Clone, Serialize)]
pub struct CodeFinding {
    /// Check id.
    pub detector: &'static str,
    /// Severity.
    pub severity: Severity,
    /// Byte offset of the instruction, if any.
    pub pc: Option<usize>,
    /// What it means.
    pub message: String,
}

/// Proxy facts read from storage.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Proxy {
    /// `eip1967`, `eip1822`, `eip1167` or `beacon`.
    pub kind: String,
    /// Implementation address.
    pub implementation: Option<String>,
    /// Admin address (EIP-1967).
    pub admin: Option<String>,
}

/// The report for one address.
#[derive(Debug, Clone, Serialize)]
pub struct CodeReport {
    /// Address checked.
    pub address: String,
    /// Runtime code size in bytes.
    pub code_size: usize,
    /// keccak256 of the runtime code.
    pub code_hash: String,
    /// Name of the verified source whose hash matches, if a list was given and one does.
    pub verified: Option<String>,
    /// Proxy facts, when it is one.
    pub proxy: Option<Proxy>,
    /// Findings.
    pub findings: Vec<CodeFinding>,
}

/// An address from a 32-byte storage word (`None` when zero).
fn word_address(word: &str) -> Option<String> {
    let hex = word.trim_start_matches("0x");
    let tail = &hex[hex.len().saturating_sub(40)..];
    (tail.len() == 40 && tail.bytes().any(|b| b != b'0')).then(|| format!("0x{tail}"))
}

/// Checks runtime `code` at `address`. `storage(slot)` reads a 32-byte word (hex); `verified`
/// maps code hashes to source names.
pub fn check(
    address: &str,
    code: &[u8],
    storage: &mut dyn FnMut(&str) -> Option<String>,
    verified: Option<&[(String, String)]>,
) -> CodeReport {
    let hash = code_hash(code);
    let mut findings = Vec::new();
    let mut proxy = None;
    // EIP-1167 minimal proxy: 363d3d373d3d3d363d73 <20 bytes> 5af43d82803e903d91602b57fd5bf3.
    if code.len() == 45
        && code.starts_with(&[0x36, 0x3d, 0x3d, 0x37, 0x3d, 0x3d, 0x3d, 0x36, 0x3d, 0x73])
    {
        proxy = Some(Proxy {
            kind: "eip1167".into(),
            implementation: Some(format!("0x{}", encode(&code[10..30]))),
            admin: None,
        });
    }
    if proxy.is_none() {
        let implementation = storage(EIP1967_IMPLEMENTATION).and_then(|w| word_address(&w));
        let beacon = storage(EIP1967_BEACON).and_then(|w| word_address(&w));
        let proxiable = storage(EIP1822_PROXIABLE).and_then(|w| word_address(&w));
        let admin = storage(EIP1967_ADMIN).and_then(|w| word_address(&w));
        proxy = match (implementation, beacon, proxiable) {
            (Some(i), _, _) => Some(Proxy {
                kind: "eip1967".into(),
                implementation: Some(i),
                admin,
            }),
            (None, Some(b), _) => Some(Proxy {
                kind: "beacon".into(),
                implementation: Some(b),
                admin,
            }),
            (None, None, Some(i)) => Some(Proxy {
                kind: "eip1822".into(),
                implementation: Some(i),
                admin,
            }),
            _ => None,
        };
    }
    if let Some(p) = &proxy {
        findings.push(CodeFinding {
            detector: "proxy",
            severity: Severity::Info,
            pc: None,
            message: format!(
                "{} proxy: implementation {}{}; its code can change — audit the implementation and who may upgrade",
                p.kind,
                p.implementation.as_deref().unwrap_or("?"),
                p.admin.as_deref().map(|a| format!(", admin {a}")).unwrap_or_default()
            ),
        });
    }
    let body = strip_metadata(code);
    let mut seen: Vec<u8> = Vec::new();
    for ins in disassemble(body) {
        if seen.contains(&ins.op) {
            continue;
        }
        let (detector, severity, message) = match ins.op {
            0xff => (
                "selfdestruct",
                Severity::High,
                "SELFDESTRUCT: the code can destroy the contract (check who may reach it)",
            ),
            0xf4 if proxy.is_some() => (
                "delegatecall",
                Severity::Info,
                "DELEGATECALL: expected in a proxy",
            ),
            0xf4 => (
                "delegatecall",
                Severity::Medium,
                "DELEGATECALL: runs other code with this contract's storage and balance",
            ),
            0xf2 => (
                "callcode",
                Severity::Medium,
                "CALLCODE: deprecated; runs other code with this contract's storage",
            ),
            0x32 => (
                "tx-origin",
                Severity::Medium,
                "ORIGIN: reads tx.origin (authorization by tx.origin is phishable)",
            ),
            _ => continue,
        };
        seen.push(ins.op);
        findings.push(CodeFinding {
            detector,
            severity,
            pc: Some(ins.pc),
            message: message.to_string(),
        });
    }
    let matched = verified.and_then(|list| {
        list.iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(&hash))
            .map(|(_, n)| n.clone())
    });
    if verified.is_some() && matched.is_none() {
        findings.push(CodeFinding {
            detector: "unverified-code",
            severity: Severity::Medium,
            pc: None,
            message: format!("runtime code hash {hash} is not in the verified-source list"),
        });
    }
    CodeReport {
        address: address.to_string(),
        code_size: code.len(),
        code_hash: hash,
        verified: matched,
        proxy,
        findings,
    }
}

/// Reads a verified-source list: lines `0xHASH NAME` (or JSON `{"0xHASH": "NAME"}`).
pub fn parse_verified(text: &str) -> Result<Vec<(String, String)>, String> {
    if text.trim_start().starts_with('{') {
        let map: std::collections::BTreeMap<String, String> = serde_json::from_str(text)
            .map_err(|e| format!("not a JSON object of hash → name: {e}"))?;
        return Ok(map.into_iter().collect());
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (hash, name) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let valid = hash.len() == 66
            && hash.starts_with("0x")
            && hash[2..].bytes().all(|b| b.is_ascii_hexdigit());
        if !valid {
            return Err(format!(
                "line {}: \"{hash}\" is not a 0x-prefixed 32-byte hash",
                i + 1
            ));
        }
        out.push((hash.to_string(), name.trim().to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_0x_and_40_hex_digits() {
        assert!(is_address("0x00000000000000000000000000000000c0de0001"));
        assert!(is_address("0xABCDEFabcdef0000000000000000000000000000"));
        for bad in [
            "",
            "0x",
            "00000000000000000000000000000000000000c0de",
            "0x00000000000000000000000000000000c0de000",
            "0x00000000000000000000000000000000c0de00011",
            "0xzz000000000000000000000000000000c0de0001",
            &format!("0x{}", "é".repeat(20)),
        ] {
            assert!(!is_address(bad), "{bad:?}");
        }
    }

    #[test]
    fn disassembly_skips_push_data_and_finds_opcodes() {
        // PUSH2 0xff32 ORIGIN PUSH1 0 SELFDESTRUCT
        let code = [0x61, 0xff, 0x32, 0x32, 0x60, 0x00, 0xff];
        let ins = disassemble(&code);
        assert_eq!(
            ins.iter().map(|i| i.name).collect::<Vec<_>>(),
            ["PUSH2", "ORIGIN", "PUSH1", "SELFDESTRUCT"]
        );
        let r = check("0x1", &code, &mut |_| None, None);
        let ids: Vec<_> = r.findings.iter().map(|f| (f.detector, f.pc)).collect();
        assert_eq!(ids, [("tx-origin", Some(3)), ("selfdestruct", Some(6))]);
    }

    #[test]
    fn metadata_is_not_code() {
        // STOP, then a fake CBOR trailer holding 0xff and its length (3).
        let code = [0x00, 0xa1, 0xff, 0xf4, 0x00, 0x03];
        assert_eq!(strip_metadata(&code), &[0x00]);
        assert!(check("0x1", &code, &mut |_| None, None).findings.is_empty());
    }

    #[test]
    fn proxies_and_verified_hashes() {
        let mut slots = |slot: &str| {
            (slot == EIP1967_IMPLEMENTATION)
                .then(|| format!("0x{:0>64}", "5fbdb2315678afecb367f032d93f642f64180aa3"))
        };
        let r = check("0x1", &[0x00], &mut slots, Some(&[]));
        let p = r.proxy.expect("proxy");
        assert_eq!(p.kind, "eip1967");
        assert_eq!(
            p.implementation.as_deref(),
            Some("0x5fbdb2315678afecb367f032d93f642f64180aa3")
        );
        assert!(r.findings.iter().any(|f| f.detector == "unverified-code"));
        let list = parse_verified(&format!("# verified\n{} Token v1\n", code_hash(&[0x00])))
            .expect("list");
        let r = check("0x1", &[0x00], &mut |_| None, Some(&list));
        assert_eq!(r.verified.as_deref(), Some("Token v1"));
        assert!(parse_verified("0x12 short").is_err());
    }
}
