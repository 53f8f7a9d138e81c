//! A fleet of fake EVM nodes in one process for `bench/monitor-scale`: `POST /n/{i}` answers
//! JSON-RPC (single or batch) like a mainnet-sized geth node whose chain advances one block
//! per second: 150 transaction hashes per block, finalized/safe tags, txpool, peers.
//! Nodes `i` share chain `i % 10`, so nodes of a chain agree on hashes.
//!
//! `GET /polls` answers a JSON array: per node index, how many polls it has answered (its
//! `eth_syncing` calls, one per chainops poll), so a test can tell who polls what how often.
//!
//! Usage: `fake-evm-fleet PORT`. HTTP/1.1 keep-alive, no TLS; loopback only.

use serde_json::{Value, json};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const CHAINS: u64 = 10;
const TXS_PER_BLOCK: usize = 150;
const FIRST_HEIGHT: u64 = 19_000_000;

static START: OnceLock<Instant> = OnceLock::new();
static TXS: OnceLock<String> = OnceLock::new();
/// Polls answered per node index (indexes past the end are not counted).
static POLLS: OnceLock<Vec<AtomicU64>> = OnceLock::new();
/// One past the highest node index seen.
static SEEN: AtomicUsize = AtomicUsize::new(0);
const COUNTED: usize = 100_000;

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(18_600);
    START.get_or_init(Instant::now);
    POLLS.get_or_init(|| (0..COUNTED).map(|_| AtomicU64::new(0)).collect());
    TXS.get_or_init(|| {
        let hashes: Vec<String> = (0..TXS_PER_BLOCK)
            .map(|i| {
                format!(
                    "\"0x{:064x}\"",
                    (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
                )
            })
            .collect();
        format!("[{}]", hashes.join(","))
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        println!("fake fleet listening on 127.0.0.1:{port}");
        loop {
            let (sock, _) = listener.accept().await?;
            tokio::spawn(async move {
                let _ = serve(sock).await;
            });
        }
    })
}

async fn serve(mut sock: TcpStream) -> std::io::Result<()> {
    sock.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(8192);
    loop {
        let header_end = loop {
            if let Some(p) = find(&buf, b"\r\n\r\n") {
                break p + 4;
            }
            let mut chunk = [0u8; 8192];
            let n = sock.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
        let len = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
            })
            .unwrap_or(0);
        while buf.len() < header_end + len {
            let mut chunk = [0u8; 8192];
            let n = sock.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let path = head.split_whitespace().nth(1).unwrap_or("/");
        if path == "/polls" {
            let counts: Vec<u64> = POLLS
                .get()
                .map(|p| {
                    p[..SEEN.load(Ordering::Relaxed).min(COUNTED)]
                        .iter()
                        .map(|c| c.load(Ordering::Relaxed))
                        .collect()
                })
                .unwrap_or_default();
            let body = serde_json::to_string(&counts).unwrap_or_default();
            buf.drain(..header_end + len);
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            sock.write_all(resp.as_bytes()).await?;
            continue;
        }
        let node: u64 = path
            .strip_prefix("/n/")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let body: Value =
            serde_json::from_slice(&buf[header_end..header_end + len]).unwrap_or(Value::Null);
        buf.drain(..header_end + len);
        let answer = match body {
            Value::Array(calls) => format!(
                "[{}]",
                calls
                    .iter()
                    .map(|c| answer(node, c))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            call => answer(node, &call),
        };
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        sock.write_all(resp.as_bytes()).await?;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn head_height() -> u64 {
    FIRST_HEIGHT + START.get().map(|s| s.elapsed().as_secs()).unwrap_or(0)
}

fn hash(chain: u64, height: u64) -> String {
    format!(
        "0x{chain:016x}{height:016x}{:032x}",
        (chain + 1).wrapping_mul(height).wrapping_mul(0x9e37_79b9)
    )
}

fn block(chain: u64, height: u64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let ts = now - (head_height() - height);
    format!(
        r#"{{"number":"0x{height:x}","hash":"{}","parentHash":"{}","timestamp":"0x{ts:x}","gasUsed":"0xe4e1c0","gasLimit":"0x1c9c380","baseFeePerGas":"0x2540be400","miner":"0x0000000000000000000000000000000000000000","size":"0x1d4c0","transactions":{}}}"#,
        hash(chain, height),
        hash(chain, height - 1),
        TXS.get().map(String::as_str).unwrap_or("[]"),
    )
}

fn answer(node: u64, call: &Value) -> String {
    let id = call.get("id").cloned().unwrap_or(Value::Null);
    let chain = node % CHAINS;
    let method = call.get("method").and_then(Value::as_str).unwrap_or("");
    let tip = head_height();
    let result = match method {
        "eth_getBlockByNumber" => {
            let tag = call["params"][0].as_str().unwrap_or("latest");
            let h = match tag {
                "latest" => tip,
                "finalized" => tip - 64,
                "safe" => tip - 32,
                hex => hex.strip_prefix("0x").and_then(|h| u64::from_str_radix(h, 16).ok()).unwrap_or(tip).min(tip),
            };
            block(chain, h)
        }
        "eth_syncing" => {
            if let Some(c) = POLLS.get().and_then(|p| p.get(node as usize)) {
                c.fetch_add(1, Ordering::Relaxed);
                SEEN.fetch_max(node as usize + 1, Ordering::Relaxed);
            }
            "false".into()
        }
        "eth_gasPrice" => "\"0x3b9aca00\"".into(),
        "net_peerCount" => "\"0x32\"".into(),
        "txpool_status" => r#"{"pending":"0x1f4","queued":"0x10"}"#.into(),
        "eth_chainId" => "\"0x1\"".into(),
        "web3_clientVersion" => "\"Geth/v1.14.8-stable/linux-amd64/go1.22.6\"".into(),
        _ => return json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "Method not found"}}).to_string(),
    };
    format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{result}}}"#)
}
