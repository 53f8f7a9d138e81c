//! JSON-RPC answers as EVM and Bitcoin-family nodes send them, through the real HTTP client
//! and adapters: a loopback server in this process answers every request with the input,
//! sometimes cut short of its declared length with the connection closed.

use crate::Target;
use chainops_chain::bitcoin::BitcoinAdapter;
use chainops_chain::evm::EvmAdapter;
use chainops_chain::monero::MoneroAdapter;
use chainops_chain::rpc::JsonRpcClient;
use chainops_core::ports::{ChainAdapter, RpcLog};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const EVM: Target = Target {
    name: "rpc-evm",
    about: "EVM node answers to the poll batch and block lookups",
    seeds: evm_seeds,
    run: run_evm,
};

pub const BITCOIN: Target = Target {
    name: "rpc-bitcoin",
    about: "Bitcoin Core / litecoind answers to the poll batch and header lookups",
    seeds: bitcoin_seeds,
    run: run_bitcoin,
};

pub const MONERO: Target = Target {
    name: "rpc-monero",
    about: "monerod answers to get_info, block headers, sync_info, alternate chains and pool stats",
    seeds: monero_seeds,
    run: run_monero,
};

fn monero_seeds() -> Vec<Vec<u8>> {
    // Every request gets the same answer, so one result holds what each call reads.
    let result = r#"{"height":9,"top_block_hash":"5fdaa6f94d67399d9d59f507d252987656a7ac11287c70d6283365302a40f2a0","wide_difficulty":"0x1d6e3a5c2f4b8","difficulty":5,"incoming_connections_count":3,"outgoing_connections_count":8,"tx_pool_size":2,"database_size":81920,"target_height":12,"busy_syncing":false,"restricted":false,"untrusted":false,"nettype":"fakechain","version":"0.18.0.0-unknown","status":"OK","block_header":{"height":8,"hash":"5fdaa6f94d67399d9d59f507d252987656a7ac11287c70d6283365302a40f2a0","prev_hash":"e12e847fff63d896f23f02f88fa5324efa6abee32925e1d83f2e5c3bb6f6dc69","timestamp":1796676313,"num_txes":1,"block_size":85},"peers":[{"info":{"height":12}}],"chains":[{"height":7}],"pool_stats":{"bytes_total":900}}"#;
    vec![
        format!(r#"{{"jsonrpc":"2.0","id":0,"result":{result}}}"#).into_bytes(),
        format!(
            r#"{{"jsonrpc":"2.0","id":0,"result":{}}}"#,
            result.replace(
                r#""untrusted":false"#,
                r#""untrusted":true,"height_without_bootstrap":3"#
            )
        )
        .into_bytes(),
        br#"{"jsonrpc":"2.0","id":0,"result":{"status":"BUSY"}}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":"0","error":{"code":-32601,"message":"Method not found"}}"#
            .to_vec(),
    ]
}

fn evm_seeds() -> Vec<Vec<u8>> {
    let block = r#"{"number":"0x1b4","hash":"0xdc0818cf78f21a8e70579cb46a43643f78291264dda342ae31049421c82d21ae","parentHash":"0xe99e022112df268087ea7eafaf4790497fd21dbeeb6bd7a1721df161a6657a54","timestamp":"0x6928b2c6","gasUsed":"0x5208","gasLimit":"0x1c9c380","baseFeePerGas":"0x3b9aca00","transactions":["0x1","0x2"]}"#;
    let batch = format!(
        r#"[{{"jsonrpc":"2.0","id":0,"result":{block}}},{{"jsonrpc":"2.0","id":1,"result":false}},{{"jsonrpc":"2.0","id":2,"result":"0x3b9aca00"}},{{"jsonrpc":"2.0","id":3,"result":"0x19"}},{{"jsonrpc":"2.0","id":4,"result":{{"pending":"0x10","queued":"0x0"}}}},{{"jsonrpc":"2.0","id":5,"result":{block}}},{{"jsonrpc":"2.0","id":6,"error":{{"code":-32601,"message":"Method not found"}}}},{{"jsonrpc":"2.0","id":7,"result":"0x7a69"}},{{"jsonrpc":"2.0","id":8,"result":"anvil/v1.7.1"}}]"#
    );
    let syncing = batch.replace(
        r#""id":1,"result":false"#,
        r#""id":1,"result":{"startingBlock":"0x0","currentBlock":"0x10","highestBlock":"0xffff"}"#,
    );
    vec![
        batch.into_bytes(),
        syncing.into_bytes(),
        format!(r#"{{"jsonrpc":"2.0","id":0,"result":{block}}}"#).into_bytes(),
        br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#.to_vec(),
    ]
}

fn bitcoin_seeds() -> Vec<Vec<u8>> {
    let info = r#"{"chain":"regtest","blocks":101,"headers":101,"bestblockhash":"0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206","difficulty":4.656542373906925e-10,"mediantime":1764000000,"verificationprogress":1,"initialblockdownload":false,"size_on_disk":30000,"pruned":false}"#;
    let header = r#"{"hash":"0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206","height":101,"time":1764000000,"previousblockhash":"3cfd126d960a9b87823fd94d48121f774aac448c9a6f1b48efc547c61f9b3c42","nTx":1}"#;
    let batch = format!(
        r#"[{{"result":{info},"error":null,"id":0}},{{"result":{header},"error":null,"id":1}},{{"result":{{"size":3,"bytes":900,"usage":2000}},"error":null,"id":2}},{{"result":{{"version":210201,"subversion":"/LitecoinCore:0.21.2/","connections":2}},"error":null,"id":3}},{{"result":{{"feerate":0.0001}},"error":null,"id":4}},{{"result":"0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206","error":null,"id":5}}]"#
    );
    vec![
        batch.into_bytes(),
        format!(r#"{{"result":{header},"error":null,"id":0}}"#).into_bytes(),
        br#"{"result":null,"error":{"code":-28,"message":"Loading block index..."},"id":0}"#
            .to_vec(),
    ]
}

/// The loopback server and the runtime the adapters run on.
struct Rig {
    rt: tokio::runtime::Runtime,
    url: String,
    answer: Arc<Mutex<Vec<u8>>>,
    http: reqwest::Client,
}

fn rig() -> &'static Rig {
    static R: OnceLock<Rig> = OnceLock::new();
    R.get_or_init(|| {
        let rt = super::runtime();
        let answer: Arc<Mutex<Vec<u8>>> = Arc::default();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap_or_else(|e| panic!("fuzz listener: {e}"));
        let url = format!(
            "http://{}/",
            listener
                .local_addr()
                .unwrap_or_else(|e| panic!("fuzz listener: {e}"))
        );
        let served = answer.clone();
        rt.spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(serve(sock, served.clone()));
            }
        });
        let http = chainops_chain::registry::http_client()
            .unwrap_or_else(|e| panic!("fuzz http client: {e}"));
        Rig {
            rt,
            url,
            answer,
            http,
        }
    })
}

/// Answers every request on a keep-alive connection with the current answer.
async fn serve(mut sock: tokio::net::TcpStream, answer: Arc<Mutex<Vec<u8>>>) {
    let mut buf = Vec::new();
    loop {
        // Read one request: headers, then Content-Length bytes of body.
        let header_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
        let body_len = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        while buf.len() < header_end + body_len {
            let mut chunk = [0u8; 4096];
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..header_end + body_len);
        let body = answer.lock().map(|a| a.clone()).unwrap_or_default();
        // Some inputs (by their last byte) become broken answers: a body cut short of its
        // declared length and the connection closed (a node dying mid-answer), or a length
        // one byte short of the body.
        let (declared, close) = match body.last().map(|b| b % 8) {
            Some(0) => (body.len() + 16, true),
            Some(1) => (body.len().saturating_sub(1), true),
            _ => (body.len(), false),
        };
        let mut out = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {declared}\r\n\r\n"
        )
        .into_bytes();
        out.extend_from_slice(&body);
        if sock.write_all(&out).await.is_err() || close {
            let _ = sock.shutdown().await;
            return;
        }
    }
}

fn client(r: &Rig) -> JsonRpcClient {
    JsonRpcClient::new(r.http.clone(), r.url.clone(), None, Duration::from_secs(5))
}

fn drive(data: &[u8], adapter: &dyn ChainAdapter) {
    let r = rig();
    if let Ok(mut a) = r.answer.lock() {
        *a = data.to_vec();
    }
    r.rt.block_on(async {
        let mut log = RpcLog::default();
        // Two polls: the second takes the paths that depend on the first's probes.
        let _ = adapter.poll(&mut log).await;
        let _ = adapter.poll(&mut log).await;
        let _ = adapter.block_at(436, &mut log).await;
    });
}

fn run_evm(data: &[u8]) {
    drive(data, &EvmAdapter::new(client(rig())));
}

fn run_bitcoin(data: &[u8]) {
    drive(data, &BitcoinAdapter::new(client(rig())));
}

fn run_monero(data: &[u8]) {
    drive(data, &MoneroAdapter::new(client(rig())));
}
