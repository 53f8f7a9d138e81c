//! Load-test sessions by chain family — the optional load-test part of a family, one line
//! each: the CLI asks for a session by the node's kind and never names a family.

use crate::config::WorkloadSpec;
use crate::runner::{Progress, RunOptions, Session};
use crate::{BenchError, bitcoin, evm_session};
use chainops_chain::rpc::JsonRpcClient;
use chainops_core::node::NodeKind;
use std::sync::Arc;

/// Prepares a session (accounts, funding, pre-signed load) on a node of `kind`.
pub async fn session(
    kind: NodeKind,
    rpc: JsonRpcClient,
    opts: &mut RunOptions,
    progress: Arc<dyn Progress>,
) -> Result<Session, BenchError> {
    match kind {
        chainops_chain::evm::KIND => evm_session::session(rpc, opts, progress.as_ref()).await,
        chainops_chain::bitcoin::KIND => {
            if !matches!(opts.workload, WorkloadSpec::BitcoinTransfer) {
                return Err(BenchError::Input(format!(
                    "workload {} needs an EVM node; Bitcoin-family nodes run bitcoin-transfer",
                    opts.workload.name()
                )));
            }
            bitcoin::session(rpc, opts, progress).await
        }
        other => Err(BenchError::Input(format!(
            "the {other} family has no load-test session yet"
        ))),
    }
}
