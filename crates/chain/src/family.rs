//! The chain-family registry: what chainops knows about a family beyond its config name —
//! the config defaults of its nodes, the adapter that polls it, how a restore drill boots it
//! on restored data, the node's own state dump if it has one, and its default load test. A family is one file (`evm.rs`, `bitcoin.rs`, `monero.rs`) holding its
//! adapter and its [`Family`] value, plus one line in [`crate::FAMILIES`]. Backups and drills ask
//! the head and block hashes through the family's adapter, so they know no family by name.

use crate::rpc::JsonRpcClient;
use chainops_core::node::NodeKind;
use chainops_core::ports::ChainAdapter;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// One chain family.
pub struct Family {
    /// The config name (`kind = "evm"`).
    pub kind: NodeKind,
    /// Expected block time of a node that does not set `block_time`.
    pub block_time: Duration,
    /// Blocks behind the chain's best node before a node counts as lagging.
    pub lag_blocks: u64,
    /// How `chain_id` is written for this family.
    pub chain_id: ChainIdForm,
    /// The RPC methods one poll of chainops calls, as a node logs them (a managed node's log
    /// source drops those lines by default: they are chainops' own traffic).
    pub poll_methods: &'static [&'static str],
    /// The load-test workload a node of this family runs unless told otherwise (`None`: the
    /// load generator has no workload for the family yet).
    pub bench_workload: Option<&'static str>,
    /// Why the family's nodes cannot take `rpc_user`/`rpc_password` (`None`: HTTP basic auth
    /// works).
    pub rpc_auth: Option<&'static str>,
    /// Builds the adapter over a JSON-RPC client.
    pub adapter: fn(JsonRpcClient) -> Arc<dyn ChainAdapter>,
    /// How a restore drill boots a node of this family, if it can.
    pub drill: Option<DrillBoot>,
    /// The RPC method returning the node's whole state (`anvil_dumpState`: gzip in hex),
    /// for `capture = "dump"`, and the file name it is stored as.
    pub dump: Option<(&'static str, &'static str)>,
}

impl Family {
    /// A drop pattern for the lines a node logs for chainops' own polls (`None` when the
    /// family's nodes do not log requests): a request line is the method name alone.
    pub fn poll_line_pattern(&self) -> Option<String> {
        (!self.poll_methods.is_empty())
            .then(|| format!("^\\s*(?:{})\\s*$", self.poll_methods.join("|")))
    }
}

/// How a family names its network in `chain_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainIdForm {
    /// An integer (EVM chain ids: 1, 31337); a string must hold digits.
    Number,
    /// One of these network names (Bitcoin's `getblockchaininfo.chain`: main, test, …).
    Name(&'static [&'static str]),
}

/// How to start a node of a family on restored data for a drill.
pub struct DrillBoot {
    /// Program names looked up on the PATH.
    pub programs: &'static [&'static str],
    /// Paths (relative to the working directory) tried after the PATH.
    pub local: &'static [&'static str],
    /// The file or directory the node starts from, given the snapshot's restored top entry.
    pub input: fn(top: &Path) -> Result<PathBuf, String>,
    /// Arguments serving RPC on 127.0.0.1:`rpc_port` (`p2p_port` is a free port for the
    /// node's own listener); `network` is the one the snapshot recorded.
    pub args: fn(input: &Path, rpc_port: u16, p2p_port: u16, network: Option<&str>) -> Vec<String>,
    /// RPC credentials the booted node accepts.
    pub auth: Option<(&'static str, &'static str)>,
}

/// The first of `names` on the PATH, else the first existing of `local` paths (relative to
/// the working directory), canonicalized.
pub fn find_program(names: &[&str], local: &[&str]) -> Option<PathBuf> {
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            for n in names {
                let p = dir.join(n);
                if p.is_file() {
                    return Some(p);
                }
            }
        }
    }
    local
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .and_then(|p| std::fs::canonicalize(p).ok())
}

#[cfg(test)]
mod tests {
    use crate::{FAMILIES, family, parse_kind};

    #[test]
    fn every_family_is_found_by_its_name_and_names_are_unique() {
        for f in FAMILIES {
            let kind = parse_kind(f.kind.as_str()).expect("parses");
            assert_eq!(kind, f.kind);
            assert_eq!(family(kind).kind, kind);
            assert_eq!(FAMILIES.iter().filter(|g| g.kind == f.kind).count(), 1);
            assert!(f.bench_workload.is_none_or(|w| !w.is_empty()) && f.lag_blocks >= 1);
        }
        assert!(parse_kind("solana").is_none());
    }
}
