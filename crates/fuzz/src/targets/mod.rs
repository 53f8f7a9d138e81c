//! The targets: one module per input surface, one line each in [`ALL`].

use crate::Target;

mod api;
mod audit;
mod backup;
mod config;
mod intake;
mod logs;
mod rpc;

/// Every target, sorted by name.
pub static ALL: &[Target] = &[
    api::REQUESTS,
    audit::SOLIDITY,
    backup::CONFIG,
    backup::INDEX,
    backup::KEYFILE,
    backup::PACK,
    backup::SNAPSHOT,
    backup::TREE,
    config::SCHEDULES,
    config::TOML,
    config::RULE_EXPR,
    intake::ALERTMANAGER,
    logs::LINES,
    rpc::BITCOIN,
    rpc::EVM,
    rpc::MONERO,
];

/// Files under `dir` (relative to the workspace root) whose name ends with `ext`, read as
/// seeds; a folder that is missing gives none.
pub(crate) fn files(dir: &str, ext: &str) -> Vec<Vec<u8>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(dir);
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(ext)
                && let Ok(b) = std::fs::read(&p)
            {
                out.push(b);
            }
        }
    }
    out
}

/// A one-worker runtime for the targets that drive async code (rigs are built once).
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("fuzz runtime: {e}"))
}

/// Input as text (lossy: a parser of outside text sees `String`s).
pub(crate) fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}
