//! Prepares an EVM run: fees, funded senders, the workload's contract, and the source of
//! pre-signed transactions.

use crate::BenchError;
use crate::config::{RateControl, RoundLimit, WorkloadSpec};
use crate::evm::{
    Evm, Fees, Sender, TxShape, deploy_gas, deploy_token, encode_call, fund, has_code,
    read_requests, sign_load,
};
use crate::keys::{DEV_MNEMONIC, derive_accounts, hex_address};
use crate::report::TargetInfo;
use crate::runner::{Progress, RunOptions, Session, Source};
use crate::target::{Prepared, call_value};
use chainops_chain::rpc::JsonRpcClient;
use std::sync::Arc;

/// Index of the first sender account; 0–9 fund them (the node's dev accounts under the
/// dev mnemonic), so load accounts never collide with accounts people use by hand.
pub const FIRST_SENDER_INDEX: u32 = 1000;
/// Accounts that may fund senders.
pub const FUNDERS: u32 = 10;

enum Kind {
    Sign(TxShape),
    Read {
        method: String,
        call: Option<(crate::keys::Address, Vec<u8>)>,
    },
}

struct EvmSource {
    kind: Kind,
    chain_id: u64,
    fees: Fees,
    senders: Vec<Sender>,
}

#[async_trait::async_trait]
impl Source for EvmSource {
    async fn produce(&mut self, n: usize) -> Result<Vec<Prepared>, BenchError> {
        Ok(match &self.kind {
            Kind::Sign(shape) => sign_load(shape, self.chain_id, self.fees, &mut self.senders, n)?,
            Kind::Read { method, call } => read_requests(method, call.clone(), &self.senders, n),
        })
    }

    fn may_revert(&self) -> bool {
        match &self.kind {
            Kind::Sign(s) => s.may_revert(),
            Kind::Read { .. } => false,
        }
    }
}

/// Transactions a plan will need at most (for funding).
pub fn planned_transactions(opts: &RunOptions) -> u64 {
    opts.rounds
        .iter()
        .map(|r| match (&r.rate, r.limit) {
            (_, RoundLimit::Count(n)) => n,
            (RateControl::FixedBacklog { unconfirmed }, RoundLimit::Duration(d)) => {
                // At most the backlog refilled every second.
                u64::from(*unconfirmed).max(1000) * d.as_secs().max(1)
            }
            (
                RateControl::MaxRate {
                    start_tps,
                    step_tps,
                    max_tps,
                },
                RoundLimit::Duration(d),
            ) => {
                let mut total = 0.0;
                let mut tps = *start_tps;
                let mut steps = 0;
                while tps <= *max_tps && steps < 30 {
                    total += tps * d.as_secs_f64();
                    tps += step_tps;
                    steps += 1;
                }
                total as u64
            }
            (rate, limit @ RoundLimit::Duration(_)) => crate::runner::budget(rate, limit) as u64,
        })
        .sum()
}

/// Connects, funds senders and prepares the workload. Sets `opts.max_fee_gwei` to the fee
/// cap in effect.
pub async fn session(
    rpc: JsonRpcClient,
    opts: &mut RunOptions,
    progress: &dyn Progress,
) -> Result<Session, BenchError> {
    let evm = Evm::new(rpc.clone());
    let chain_id = evm.chain_id().await?;
    let client = call_value(&rpc, "web3_clientVersion", serde_json::json!([]))
        .await
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let (base_fee, gas_limit) = evm.latest_fees().await?;
    let fees = Fees::choose(base_fee, opts.max_fee_gwei, opts.priority_fee_gwei);
    opts.max_fee_gwei = Some(fees.max_fee as f64 / 1e9);
    let mnemonic = opts
        .mnemonic
        .clone()
        .unwrap_or_else(|| DEV_MNEMONIC.to_string());
    progress.phase(&format!("deriving {} sender accounts", opts.senders));
    let funders = derive_accounts(&mnemonic, 0, FUNDERS)?;
    let accounts = derive_accounts(&mnemonic, FIRST_SENDER_INDEX, opts.senders)?;
    let addrs: Vec<_> = accounts.iter().map(|a| a.address).collect();
    let state = evm.nonces_and_balances(&addrs).await?;
    let mut senders: Vec<Sender> = accounts
        .into_iter()
        .zip(state)
        .map(|(account, (nonce, _))| Sender { account, nonce })
        .collect();
    let read = matches!(opts.workload, WorkloadSpec::Read { .. });
    let kind = match &opts.workload {
        WorkloadSpec::EthTransfer => Kind::Sign(TxShape::Transfer),
        WorkloadSpec::Erc20Transfer => Kind::Sign(TxShape::Erc20([0; 20])),
        WorkloadSpec::ContractCall {
            contract,
            call,
            args,
            gas,
        } => {
            let (to, data) = encode_call(contract, call, args)?;
            if !has_code(&evm, &to).await? {
                return Err(BenchError::Input(format!(
                    "contract {contract}: no code at this address on chain {chain_id}; deploy it first or fix the address"
                )));
            }
            Kind::Sign(TxShape::Call {
                to,
                data,
                gas: *gas,
            })
        }
        WorkloadSpec::Read {
            method,
            contract,
            call,
            args,
        } => Kind::Read {
            method: method.clone(),
            call: match (contract, call) {
                (Some(c), Some(f)) => Some(encode_call(c, f, args)?),
                _ => None,
            },
        },
        WorkloadSpec::BitcoinTransfer => {
            return Err(BenchError::Input(
                "workload bitcoin-transfer needs a Bitcoin-family node (--kind bitcoin)".into(),
            ));
        }
    };
    let kind = if read {
        kind
    } else {
        let gas = match &kind {
            Kind::Sign(s) => s.gas(),
            Kind::Read { .. } => 0,
        };
        if gas > gas_limit {
            return Err(BenchError::Input(format!(
                "gas per transaction ({gas}) exceeds the block gas limit ({gas_limit})"
            )));
        }
        let planned = planned_transactions(opts);
        let per_sender = planned.div_ceil(u64::from(opts.senders.max(1))) + 10;
        let need = u128::from(per_sender) * u128::from(gas) * fees.max_fee * 12 / 10
            + u128::from(per_sender);
        progress.phase(&format!(
            "funding {} senders with {:.3} ETH each for {planned} transactions",
            senders.len(),
            need as f64 / 1e18
        ));
        // Funded with the load: a small run's share alone would not pay for the token.
        let owner_extra = match &kind {
            Kind::Sign(TxShape::Erc20(_)) => {
                u128::from(deploy_gas(senders.len().saturating_sub(1))) * fees.max_fee * 12 / 10
            }
            _ => 0,
        };
        let funded = fund(&evm, chain_id, fees, &funders, &senders, need, owner_extra).await?;
        tracing::info!(
            funded,
            chain_id,
            fee_cap_gwei = fees.max_fee as f64 / 1e9,
            "senders funded"
        );
        match kind {
            Kind::Sign(TxShape::Erc20(_)) => {
                progress.phase("deploying the ERC-20 token");
                let (owner, rest) = senders
                    .split_first_mut()
                    .ok_or_else(|| BenchError::Input("senders: need at least one".into()))?;
                let token = deploy_token(&evm, chain_id, fees, owner, rest).await?;
                tracing::info!(token = %hex_address(&token), "token deployed");
                Kind::Sign(TxShape::Erc20(token))
            }
            k => k,
        }
    };
    let source = EvmSource {
        kind,
        chain_id,
        fees,
        senders: std::mem::take(&mut senders),
    };
    Ok(Session {
        view: Arc::new(evm),
        source: Box::new(source),
        target: TargetInfo {
            url: opts.url.clone(),
            kind: "evm".into(),
            chain: chain_id.to_string(),
            client,
        },
        background: Vec::new(),
    })
}
