//! The EVM side: JSON-RPC helpers, funding, workload preparation and the [`ChainView`].

use crate::BenchError;
use crate::abi::Function;
use crate::eth_tx::{Eip1559, SignedTx};
use crate::keys::{Account, Address, hex, hex_address, parse_address};
use crate::target::{Block, ChainView, Prepared, call_value, parse_txid};
use chainops_chain::rpc::{Call, JsonRpcClient};
use chainops_core::ports::RpcLog;
use serde::Deserialize;
use serde_json::value::RawValue;

/// One answer of a batch: the raw result or the node's error.
type RawAnswer = Result<Box<RawValue>, chainops_chain::rpc::RpcError>;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Gas of a plain transfer.
pub const TRANSFER_GAS: u64 = 21_000;
/// Gas limit used for an ERC-20 transfer (measured ~35k–52k; headroom for cold slots).
pub const ERC20_TRANSFER_GAS: u64 = 60_000;

/// An EVM node.
#[derive(Debug, Clone)]
pub struct Evm {
    rpc: JsonRpcClient,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBlock {
    number: String,
    timestamp: String,
    #[serde(default)]
    transactions: Vec<String>,
    #[serde(default)]
    gas_used: Option<String>,
    #[serde(default)]
    gas_limit: Option<String>,
    #[serde(default)]
    base_fee_per_gas: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawReceipt {
    transaction_hash: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    contract_address: Option<String>,
}

/// Parses a `0x` quantity.
pub fn quantity(v: &Value) -> Option<u128> {
    q(v.as_str()?)
}

fn q(s: &str) -> Option<u128> {
    let digits = s.strip_prefix("0x")?;
    // `from_str_radix` alone would take `0x+1`.
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(digits, 16).ok()
}

impl Evm {
    /// Wraps a client.
    pub fn new(rpc: JsonRpcClient) -> Self {
        Self { rpc }
    }

    async fn value(&self, method: &'static str, params: Value) -> Result<Value, BenchError> {
        call_value(&self.rpc, method, params)
            .await
            .map_err(|e| BenchError::node(method, e))
    }

    async fn quantity(&self, method: &'static str, params: Value) -> Result<u128, BenchError> {
        let v = self.value(method, params).await?;
        quantity(&v).ok_or_else(|| BenchError::node(method, format!("not a quantity: {v}")))
    }

    /// One JSON-RPC batch; a failed round trip becomes a node error about `what`.
    async fn batch(&self, what: &str, calls: &[Call]) -> Result<Vec<RawAnswer>, BenchError> {
        let mut log = RpcLog::default();
        self.rpc
            .batch(calls, &mut log)
            .await
            .map_err(|e| BenchError::node(what, e))
    }

    /// `eth_chainId`.
    pub async fn chain_id(&self) -> Result<u64, BenchError> {
        Ok(self.quantity("eth_chainId", json!([])).await? as u64)
    }

    /// Base fee and gas limit of the latest block.
    pub async fn latest_fees(&self) -> Result<(u128, u64), BenchError> {
        let v = self
            .value("eth_getBlockByNumber", json!(["latest", false]))
            .await?;
        let base = v.get("baseFeePerGas").and_then(quantity).unwrap_or(0);
        let limit = v.get("gasLimit").and_then(quantity).unwrap_or(30_000_000) as u64;
        Ok((base, limit))
    }

    /// Pending nonces and balances of many accounts in one batch.
    pub async fn nonces_and_balances(
        &self,
        accounts: &[Address],
    ) -> Result<Vec<(u64, u128)>, BenchError> {
        let mut out = Vec::with_capacity(accounts.len());
        for chunk in accounts.chunks(500) {
            let calls: Vec<Call> = chunk
                .iter()
                .flat_map(|a| {
                    let a = hex_address(a);
                    [
                        Call::new("eth_getTransactionCount", json!([a, "pending"])),
                        Call::new("eth_getBalance", json!([a, "pending"])),
                    ]
                })
                .collect();
            let mut log = RpcLog::default();
            let answers = self
                .rpc
                .batch_values(&calls, &mut log)
                .await
                .map_err(|e| BenchError::node("reading sender nonces", e))?;
            for pair in answers.chunks(2) {
                let n = match &pair[0] {
                    Ok(v) => quantity(v),
                    Err(e) => return Err(BenchError::node("eth_getTransactionCount", &e.message)),
                };
                let b = match &pair[1] {
                    Ok(v) => quantity(v),
                    Err(e) => return Err(BenchError::node("eth_getBalance", &e.message)),
                };
                match (n, b) {
                    (Some(n), Some(b)) => out.push((n as u64, b)),
                    _ => return Err(BenchError::node("reading sender nonces", "not a quantity")),
                }
            }
        }
        Ok(out)
    }

    /// Sends signed transactions (in batches) and waits until every one has a receipt.
    /// Returns the receipts' contract addresses (for deployments).
    pub async fn send_and_wait(
        &self,
        what: &str,
        txs: &[SignedTx],
        timeout: Duration,
    ) -> Result<Vec<Option<Address>>, BenchError> {
        for chunk in txs.chunks(200) {
            let calls: Vec<Call> = chunk.iter().map(raw_call).collect();
            let answers = self.batch(what, &calls).await?;
            if let Some(Err(e)) = answers.iter().find(|a| a.is_err()) {
                return Err(BenchError::Prepare(format!(
                    "{what}: node refused a transaction: {}",
                    e.message
                )));
            }
        }
        let deadline = Instant::now() + timeout;
        let mut out = vec![None; txs.len()];
        let mut missing: Vec<usize> = (0..txs.len()).collect();
        while !missing.is_empty() {
            if Instant::now() > deadline {
                return Err(BenchError::Prepare(format!(
                    "{what}: {} of {} transactions not mined within {}s; is the node producing blocks?",
                    missing.len(),
                    txs.len(),
                    timeout.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            let mut still = Vec::new();
            for chunk in missing.chunks(500) {
                let calls: Vec<Call> = chunk
                    .iter()
                    .map(|i| {
                        Call::new(
                            "eth_getTransactionReceipt",
                            json!([format!("0x{}", hex(&txs[*i].hash))]),
                        )
                    })
                    .collect();
                let answers = self.batch(what, &calls).await?;
                for (i, a) in chunk.iter().zip(answers) {
                    let receipt = a
                        .ok()
                        .and_then(|raw| serde_json::from_str::<Option<RawReceipt>>(raw.get()).ok())
                        .flatten();
                    match receipt {
                        None => still.push(*i),
                        Some(r) if r.status.as_deref() == Some("0x0") => {
                            return Err(BenchError::Prepare(format!(
                                "{what}: transaction {} reverted",
                                r.transaction_hash
                            )));
                        }
                        Some(r) => {
                            out[*i] = r
                                .contract_address
                                .as_deref()
                                .and_then(|a| parse_address(a).ok());
                        }
                    }
                }
            }
            missing = still;
        }
        Ok(out)
    }
}

/// The `eth_sendRawTransaction` call for a signed transaction.
pub fn raw_call(tx: &SignedTx) -> Call {
    Call::new(
        "eth_sendRawTransaction",
        json!([format!("0x{}", hex(&tx.raw))]),
    )
}

/// A prepared send of a signed transaction.
pub fn prepared(tx: &SignedTx) -> Prepared {
    Prepared {
        call: raw_call(tx),
        id: Some(tx.hash),
    }
}

#[async_trait::async_trait]
impl ChainView for Evm {
    async fn head(&self) -> Result<u64, String> {
        let v = call_value(&self.rpc, "eth_blockNumber", json!([])).await?;
        quantity(&v)
            .map(|h| h as u64)
            .ok_or_else(|| format!("eth_blockNumber: {v}"))
    }

    async fn blocks(&self, from: u64, to: u64, receipts: bool) -> Result<Vec<Block>, String> {
        let mut calls = Vec::new();
        for n in from..=to {
            calls.push(Call::new(
                "eth_getBlockByNumber",
                json!([format!("0x{n:x}"), false]),
            ));
            if receipts {
                calls.push(Call::new(
                    "eth_getBlockReceipts",
                    json!([format!("0x{n:x}")]),
                ));
            }
        }
        let mut log = RpcLog::default();
        let answers = self
            .rpc
            .batch(&calls, &mut log)
            .await
            .map_err(|e| e.to_string())?;
        let step = if receipts { 2 } else { 1 };
        let mut out = Vec::new();
        for pair in answers.chunks(step) {
            let raw = pair[0].as_ref().map_err(|e| e.message.clone())?;
            let Ok(Some(b)) = serde_json::from_str::<Option<RawBlock>>(raw.get()) else {
                return Err("eth_getBlockByNumber: not a block".into());
            };
            let mut block = Block {
                number: q(&b.number).unwrap_or(0) as u64,
                timestamp: q(&b.timestamp).unwrap_or(0) as u64,
                txs: b
                    .transactions
                    .iter()
                    .filter_map(|h| parse_txid(h))
                    .collect(),
                reverted: Vec::new(),
                gas_used: b.gas_used.as_deref().and_then(q).map(|v| v as u64),
                gas_limit: b.gas_limit.as_deref().and_then(q).map(|v| v as u64),
                base_fee: b.base_fee_per_gas.as_deref().and_then(q),
            };
            if receipts && let Some(Ok(raw)) = pair.get(1) {
                let list: Vec<RawReceipt> =
                    serde_json::from_str::<Option<Vec<RawReceipt>>>(raw.get())
                        .ok()
                        .flatten()
                        .unwrap_or_default();
                block.reverted = list
                    .iter()
                    .filter(|r| r.status.as_deref() == Some("0x0"))
                    .filter_map(|r| parse_txid(&r.transaction_hash))
                    .collect();
            }
            out.push(block);
        }
        Ok(out)
    }

    async fn pool_depth(&self) -> Option<u64> {
        let v = call_value(&self.rpc, "txpool_status", json!([]))
            .await
            .ok()?;
        let pending = v.get("pending").and_then(quantity)?;
        let queued = v.get("queued").and_then(quantity).unwrap_or(0);
        Some((pending + queued) as u64)
    }

    fn rpc(&self) -> &JsonRpcClient {
        &self.rpc
    }
}

/// The fee settings of a run.
#[derive(Debug, Clone, Copy)]
pub struct Fees {
    /// Fee cap per gas.
    pub max_fee: u128,
    /// Tip per gas.
    pub tip: u128,
}

const GWEI: f64 = 1e9;

impl Fees {
    /// Fees from the optional cap and tip (gwei), defaulting the cap to
    /// max(10 × base fee, 1000 gwei) so full blocks raising the base fee (12.5 % per block)
    /// do not strand the load within a minute.
    pub fn choose(base_fee: u128, max_fee_gwei: Option<f64>, tip_gwei: f64) -> Self {
        let tip = (tip_gwei * GWEI) as u128;
        let max_fee = match max_fee_gwei {
            Some(g) => (g * GWEI) as u128,
            None => (base_fee.saturating_mul(10)).max(1000 * 1_000_000_000),
        }
        .max(tip);
        Self { max_fee, tip }
    }
}

/// A sender with its next nonce.
#[derive(Debug, Clone)]
pub struct Sender {
    /// Account.
    pub account: Account,
    /// Next nonce to sign.
    pub nonce: u64,
}

/// Spreads balance from funders to senders so each holds `need` wei; signs locally.
pub async fn fund(
    evm: &Evm,
    chain_id: u64,
    fees: Fees,
    funders: &[Account],
    senders: &[Sender],
    need: u128,
    first_extra: u128,
) -> Result<usize, BenchError> {
    let addrs: Vec<Address> = senders.iter().map(|s| s.account.address).collect();
    let state = evm.nonces_and_balances(&addrs).await?;
    // The first sender may pay for more than its share (the token deployment).
    let need_of = |i: usize| if i == 0 { need + first_extra } else { need };
    let short: Vec<(usize, u128)> = state
        .iter()
        .enumerate()
        .filter(|(i, (_, bal))| *bal < need_of(*i))
        .map(|(i, (_, bal))| (i, need_of(i) - bal))
        .collect();
    if short.is_empty() {
        return Ok(0);
    }
    let faddrs: Vec<Address> = funders.iter().map(|f| f.address).collect();
    let mut fstate = evm.nonces_and_balances(&faddrs).await?;
    let fee = u128::from(TRANSFER_GAS) * fees.max_fee;
    let mut txs = Vec::with_capacity(short.len());
    let mut f = 0usize;
    for (i, amount) in short {
        while f < funders.len() && fstate[f].1 < amount + fee {
            f += 1;
        }
        let Some(funder) = funders.get(f) else {
            return Err(BenchError::Prepare(format!(
                "the funding accounts (first {} of the mnemonic) cannot give each of {} senders {:.3} ETH; lower --count, --senders or --max-fee-gwei, or fund them",
                funders.len(),
                senders.len(),
                need as f64 / 1e18
            )));
        };
        let tx = Eip1559 {
            chain_id,
            nonce: fstate[f].0,
            max_priority_fee: fees.tip,
            max_fee: fees.max_fee,
            gas: TRANSFER_GAS,
            to: Some(senders[i].account.address),
            value: amount,
            data: vec![],
        };
        txs.push(tx.sign(funder)?);
        fstate[f].0 += 1;
        fstate[f].1 -= amount + fee;
    }
    evm.send_and_wait("funding senders", &txs, Duration::from_secs(120))
        .await?;
    Ok(txs.len())
}

/// The call data and recipient of one load transaction.
pub enum TxShape {
    /// Value transfer to the next sender.
    Transfer,
    /// `transfer(next sender, 1)` on the token at this address.
    Erc20(Address),
    /// A fixed call.
    Call {
        /// Contract.
        to: Address,
        /// Data.
        data: Vec<u8>,
        /// Gas.
        gas: u64,
    },
}

impl TxShape {
    /// Gas limit per transaction.
    pub fn gas(&self) -> u64 {
        match self {
            Self::Transfer => TRANSFER_GAS,
            Self::Erc20(_) => ERC20_TRANSFER_GAS,
            Self::Call { gas, .. } => *gas,
        }
    }

    /// True when a transaction may revert (receipts are checked).
    pub fn may_revert(&self) -> bool {
        !matches!(self, Self::Transfer)
    }
}

/// Signs `count` load transactions round-robin over `senders` (advancing their nonces),
/// on all cores.
pub fn sign_load(
    shape: &TxShape,
    chain_id: u64,
    fees: Fees,
    senders: &mut [Sender],
    count: usize,
) -> Result<Vec<Prepared>, BenchError> {
    let n = senders.len();
    if n == 0 {
        return Err(BenchError::Input("senders: need at least one".into()));
    }
    let mut unsigned = Vec::with_capacity(count);
    for k in 0..count {
        let i = k % n;
        let next = senders[(i + 1) % n].account.address;
        let (to, data, value) = match shape {
            TxShape::Transfer => (next, Vec::new(), 1u128),
            TxShape::Erc20(token) => {
                let mut d = Vec::with_capacity(68);
                d.extend_from_slice(&[0xa9, 0x05, 0x9c, 0xbb]);
                d.extend_from_slice(&[0u8; 12]);
                d.extend_from_slice(&next);
                let mut amount = [0u8; 32];
                amount[31] = 1;
                d.extend_from_slice(&amount);
                (*token, d, 0)
            }
            TxShape::Call { to, data, .. } => (*to, data.clone(), 0),
        };
        unsigned.push((
            i,
            Eip1559 {
                chain_id,
                nonce: senders[i].nonce,
                max_priority_fee: fees.tip,
                max_fee: fees.max_fee,
                gas: shape.gas(),
                to: Some(to),
                value,
                data,
            },
        ));
        senders[i].nonce += 1;
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .max(1);
    let per = unsigned.len().div_ceil(threads).max(1);
    let accounts: Vec<&Account> = senders.iter().map(|s| &s.account).collect();
    let signed: Vec<Result<Vec<Prepared>, BenchError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = unsigned
            .chunks(per)
            .map(|chunk| {
                let accounts = &accounts;
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|(i, tx)| tx.sign(accounts[*i]).map(|s| prepared(&s)))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(BenchError::Input("signing thread panicked".into())))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(count);
    for part in signed {
        out.extend(part?);
    }
    Ok(out)
}

/// Prepared read requests (`eth_getBalance` of senders, or a fixed `eth_call`).
pub fn read_requests(
    method: &str,
    call: Option<(Address, Vec<u8>)>,
    senders: &[Sender],
    count: usize,
) -> Vec<Prepared> {
    (0..count)
        .map(|k| {
            let c = match (method, &call) {
                ("eth_call", Some((to, data))) => Call::new(
                    "eth_call",
                    json!([{"to": hex_address(to), "data": format!("0x{}", hex(data))}, "latest"]),
                ),
                _ => Call::new(
                    "eth_getBalance",
                    json!([
                        hex_address(&senders[k % senders.len().max(1)].account.address),
                        "latest"
                    ]),
                ),
            };
            Prepared { call: c, id: None }
        })
        .collect()
}

/// Encodes a user call.
pub fn encode_call(
    contract: &str,
    call: &str,
    args: &[String],
) -> Result<(Address, Vec<u8>), BenchError> {
    let to = parse_address(contract).map_err(|e| BenchError::Input(format!("contract: {e}")))?;
    let data = Function::parse(call)?.encode(args)?;
    Ok((to, data))
}

/// Reads `eth_getCode` to check that a contract exists.
pub async fn has_code(evm: &Evm, address: &Address) -> Result<bool, BenchError> {
    let v = evm
        .value("eth_getCode", json!([hex_address(address), "latest"]))
        .await?;
    Ok(v.as_str().is_some_and(|s| s.len() > 2))
}

/// Gas the token owner spends in [`deploy_token`] beyond its share of the load: the
/// deployment and one token transfer to each of the other `senders`.
pub fn deploy_gas(senders: usize) -> u64 {
    DEPLOY_GAS + ERC20_TRANSFER_GAS * senders as u64
}

const DEPLOY_GAS: u64 = 2_000_000;

/// Deploys the bundled ERC-20 from `owner` and gives every sender tokens.
pub async fn deploy_token(
    evm: &Evm,
    chain_id: u64,
    fees: Fees,
    owner: &mut Sender,
    senders: &[Sender],
) -> Result<Address, BenchError> {
    let code = crate::keys::parse_hex(ERC20_BYTECODE.trim())?;
    let deploy = Eip1559 {
        chain_id,
        nonce: owner.nonce,
        max_priority_fee: fees.tip,
        max_fee: fees.max_fee,
        gas: DEPLOY_GAS,
        to: None,
        value: 0,
        data: code,
    }
    .sign(&owner.account)?;
    owner.nonce += 1;
    let addr = evm
        .send_and_wait(
            "deploying the ERC-20 token",
            &[deploy],
            Duration::from_secs(60),
        )
        .await?
        .pop()
        .flatten()
        .ok_or_else(|| BenchError::Prepare("token deployment has no contract address".into()))?;
    let transfer = Function::parse("transfer(address,uint256)")?;
    let mut txs = Vec::with_capacity(senders.len());
    for s in senders {
        let data = transfer.encode(&[
            hex_address(&s.account.address),
            "1000000000000000000000000".into(),
        ])?;
        txs.push(
            Eip1559 {
                chain_id,
                nonce: owner.nonce,
                max_priority_fee: fees.tip,
                max_fee: fees.max_fee,
                gas: ERC20_TRANSFER_GAS,
                to: Some(addr),
                value: 0,
                data,
            }
            .sign(&owner.account)?,
        );
        owner.nonce += 1;
    }
    evm.send_and_wait("giving senders tokens", &txs, Duration::from_secs(120))
        .await?;
    Ok(addr)
}

/// Creation code of the bundled token (`assets/BenchToken.sol`, solc 0.8, optimizer on).
pub const ERC20_BYTECODE: &str = include_str!("../assets/BenchToken.bin");

#[cfg(test)]
mod tests {
    #[test]
    fn quantities_are_hex_digits_only() {
        assert_eq!(super::q("0x1a"), Some(26));
        assert_eq!(super::q("0x+1"), None);
        assert_eq!(super::q("0x"), None);
        assert_eq!(super::q("26"), None);
    }
}
