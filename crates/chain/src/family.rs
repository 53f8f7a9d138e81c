//! The chain-family registry: what chainops knows about a family beyond its config name —
//! the adapter that polls it, how a restore drill boots it on restored data, and the node's
//! own state dump if it has one. A family is one file (`evm.rs`, `bitcoin.rs`) holding its
//! adapter and its [`Family`] value, plus one line in [`crate::FAMILIES`]. Backups and drills ask
//! the head and block hashes through the family's adapter, so they know no family by name.

use crate::rpc::JsonRpcClient;
use chainops_core::node::NodeKind;
use chainops_core::ports::ChainAdapter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One chain family.
pub struct Family {
    /// The config name (`kind = "evm"`).
    pub kind: NodeKind,
    /// Builds the adapter over a JSON-RPC client.
    pub adapter: fn(JsonRpcClient) -> Arc<dyn ChainAdapter>,
    /// How a restore drill boots a node of this family, if it can.
    pub drill: Option<DrillBoot>,
    /// The RPC method returning the node's whole state (`anvil_dumpState`: gzip in hex),
    /// for `capture = "dump"`, and the file name it is stored as.
    pub dump: Option<(&'static str, &'static str)>,
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
    use super::*;
    use crate::{FAMILIES, family};

    #[test]
    fn every_kind_has_exactly_one_family() {
        for kind in NodeKind::ALL {
            assert_eq!(
                FAMILIES.iter().filter(|f| f.kind == kind).count(),
                1,
                "{}",
                kind.as_str()
            );
            assert_eq!(family(kind).kind, kind);
        }
        assert_eq!(FAMILIES.len(), NodeKind::ALL.len());
    }
}
