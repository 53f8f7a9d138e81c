//! A JSON-RPC client over HTTP for both EVM (2.0) and Bitcoin Core (1.0-style) nodes.
//!
//! Every call is recorded as an [`RpcCall`] (method, round-trip time, outcome) so the
//! collector can export latency and error metrics by method. A batch is one HTTP round trip;
//! its calls share that duration.

use chainops_core::node::{RpcCall, RpcOutcome};
use chainops_core::ports::{ChainError, RpcLog};
use chainops_core::secret::Secret;
use serde_json::Value;
use serde_json::value::RawValue;
use std::time::{Duration, Instant};

/// JSON-RPC error code for "method not found".
pub const METHOD_NOT_FOUND: i64 = -32601;

/// One call in a batch.
#[derive(Debug, Clone)]
pub struct Call {
    /// Method name.
    pub method: &'static str,
    /// Positional params.
    pub params: Value,
}

impl Call {
    /// A call with positional params.
    pub fn new(method: &'static str, params: Value) -> Self {
        Self { method, params }
    }
}

/// A JSON-RPC error answer to one call.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    /// Error code.
    pub code: i64,
    /// Error message.
    pub message: String,
}

impl RpcError {
    /// True when the node does not implement the method.
    pub fn is_method_not_found(&self) -> bool {
        self.code == METHOD_NOT_FOUND
            || self
                .message
                .to_ascii_lowercase()
                .contains("method not found")
            || self.message.to_ascii_lowercase().contains("not supported")
    }

    /// As a [`ChainError`] for `method`.
    pub fn into_chain_error(self, method: &str) -> ChainError {
        ChainError::Rpc {
            method: method.to_string(),
            code: self.code,
            message: self.message,
        }
    }
}

/// HTTP JSON-RPC client for one node.
#[derive(Debug, Clone)]
pub struct JsonRpcClient {
    http: reqwest::Client,
    url: String,
    auth: Option<(String, Secret)>,
    timeout: Duration,
}

impl JsonRpcClient {
    /// A client for `url`; `auth` adds HTTP basic auth.
    pub fn new(
        http: reqwest::Client,
        url: String,
        auth: Option<(String, Secret)>,
        timeout: Duration,
    ) -> Self {
        Self {
            http,
            url,
            auth,
            timeout,
        }
    }

    /// Sends one call; a JSON-RPC error becomes [`ChainError::Rpc`].
    pub async fn call(
        &self,
        method: &'static str,
        params: Value,
        log: &mut RpcLog,
    ) -> Result<Value, ChainError> {
        let mut answers = self.batch(&[Call::new(method, params)], log).await?;
        match answers.pop() {
            Some(Ok(raw)) => to_value(&raw, method),
            Some(Err(e)) => Err(e.into_chain_error(method)),
            None => Err(ChainError::Decode {
                method: method.into(),
                detail: "no answer".into(),
            }),
        }
    }

    /// Sends calls as one batch. `Err` means the whole round trip failed (transport,
    /// timeout, unparseable); otherwise one result per call, in call order, as raw JSON so
    /// hot paths can decode into typed structs without building a `Value` tree.
    pub async fn batch(
        &self,
        calls: &[Call],
        log: &mut RpcLog,
    ) -> Result<Vec<Result<Box<RawValue>, RpcError>>, ChainError> {
        let started = Instant::now();
        let outcome = self.round_trip(calls).await;
        let duration = started.elapsed();
        let record = |log: &mut RpcLog, outcome: RpcOutcome, method: &'static str| {
            log.push(RpcCall {
                method,
                duration,
                outcome,
            });
        };
        let (status, bytes) = match outcome {
            Ok(answer) => answer,
            Err(e) => {
                let o = if matches!(e, ChainError::Timeout(_)) {
                    RpcOutcome::Timeout
                } else {
                    RpcOutcome::Transport
                };
                for c in calls {
                    record(log, o, c.method);
                }
                return Err(e);
            }
        };
        let Some(items) = parse_responses(&bytes) else {
            for c in calls {
                record(log, RpcOutcome::Transport, c.method);
            }
            return Err(not_json_rpc(status, &bytes));
        };
        let single = calls.len() == 1;
        let mut results: Vec<Option<Result<Box<RawValue>, RpcError>>> =
            (0..calls.len()).map(|_| None).collect();
        for item in items {
            let idx = item
                .id
                .and_then(|raw| raw.get().trim_matches('"').parse::<usize>().ok());
            let Some(idx) =
                idx.filter(|i| *i < calls.len())
                    .or(if single { Some(0) } else { None })
            else {
                continue;
            };
            results[idx] = Some(match item.error {
                Some(e) => Err(RpcError {
                    code: e.code,
                    message: e.message,
                }),
                None => Ok(item.result.map(RawValue::to_owned).unwrap_or_else(null_raw)),
            });
        }
        Ok(results
            .into_iter()
            .zip(calls)
            .map(|(r, c)| {
                let r = r.unwrap_or_else(|| {
                    Err(RpcError {
                        code: 0,
                        message: "missing from batch answer".into(),
                    })
                });
                record(
                    log,
                    if r.is_ok() {
                        RpcOutcome::Ok
                    } else {
                        RpcOutcome::Error
                    },
                    c.method,
                );
                r
            })
            .collect())
    }

    /// Like [`batch`](Self::batch) with every answer parsed into a `Value`.
    pub async fn batch_values(
        &self,
        calls: &[Call],
        log: &mut RpcLog,
    ) -> Result<Vec<Result<Value, RpcError>>, ChainError> {
        let raw = self.batch(calls, log).await?;
        Ok(raw
            .into_iter()
            .map(|r| r.map(|raw| serde_json::from_str(raw.get()).unwrap_or(Value::Null)))
            .collect())
    }

    /// The same node at another path of its URL (`/json_rpc`): the path replaces whatever
    /// path the configured URL has, so `http://h:18081` and `http://h:18081/json_rpc` both work.
    pub fn at_path(&self, path: &str) -> JsonRpcClient {
        let mut url = self.url.clone();
        if let Ok(mut u) = reqwest::Url::parse(&self.url) {
            u.set_path(path);
            u.set_query(None);
            url = u.to_string();
        }
        JsonRpcClient {
            url,
            ..self.clone()
        }
    }

    /// POSTs `body` as JSON and returns the JSON answer as it is, recorded in `log` as
    /// `method`: for plain-JSON endpoints beside a node's JSON-RPC (monerod's
    /// `/get_transaction_pool_stats`). An answer that is not a JSON object is an error.
    pub async fn post_plain(
        &self,
        method: &'static str,
        body: &Value,
        log: &mut RpcLog,
    ) -> Result<Value, ChainError> {
        let started = Instant::now();
        let answer =
            self.send(body).await.and_then(|(status, bytes)| {
                match serde_json::from_slice::<Value>(&bytes) {
                    Ok(v @ Value::Object(_)) if status.is_success() => Ok(v),
                    _ => Err(not_json_rpc(status, &bytes)),
                }
            });
        let outcome = match &answer {
            Ok(_) => RpcOutcome::Ok,
            Err(ChainError::Timeout(_)) => RpcOutcome::Timeout,
            Err(_) => RpcOutcome::Transport,
        };
        log.push(RpcCall {
            method,
            duration: started.elapsed(),
            outcome,
        });
        answer
    }

    async fn round_trip(
        &self,
        calls: &[Call],
    ) -> Result<(reqwest::StatusCode, bytes::Bytes), ChainError> {
        let requests: Vec<Request<'_>> = calls
            .iter()
            .enumerate()
            .map(|(id, c)| Request {
                jsonrpc: "2.0",
                id,
                method: c.method,
                params: &c.params,
            })
            .collect();
        match requests.as_slice() {
            [one] => self.send(one).await,
            many => self.send(&many).await,
        }
    }

    async fn send(
        &self,
        body: &impl serde::Serialize,
    ) -> Result<(reqwest::StatusCode, bytes::Bytes), ChainError> {
        let mut req = self.http.post(&self.url).timeout(self.timeout).json(body);
        if let Some((user, pw)) = &self.auth {
            req = req.basic_auth(user, Some(pw.expose()));
        }
        let timeout_ms = self.timeout.as_millis() as u64;
        let resp = req.send().await.map_err(|e| classify(e, timeout_ms))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| classify(e, timeout_ms))?;
        Ok((status, bytes))
    }
}

/// The error for an answer that is not JSON-RPC (Bitcoin Core answers single-call errors
/// with HTTP 404/500 *and* a JSON-RPC body, so the status alone decides nothing).
fn not_json_rpc(status: reqwest::StatusCode, bytes: &[u8]) -> ChainError {
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return ChainError::Transport(format!("HTTP {status}: check rpc_user / rpc_password"));
    }
    let text = truncate(&String::from_utf8_lossy(bytes));
    if !status.is_success() {
        return ChainError::Transport(format!("HTTP {status}: {text}"));
    }
    ChainError::Transport(format!("answer is not JSON-RPC: {text}"))
}

#[derive(serde::Serialize)]
struct Request<'a> {
    jsonrpc: &'static str,
    id: usize,
    method: &'a str,
    params: &'a Value,
}

#[derive(serde::Deserialize)]
struct Response<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(default)]
    error: Option<ErrorObject>,
}

#[derive(serde::Deserialize)]
struct ErrorObject {
    #[serde(default)]
    code: i64,
    #[serde(default = "unknown_error")]
    message: String,
}

fn unknown_error() -> String {
    "unknown error".into()
}

/// Parses a JSON-RPC answer (one object or a batch array); `None` if it is not one.
fn parse_responses(bytes: &[u8]) -> Option<Vec<Response<'_>>> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace())?;
    match first {
        b'[' => serde_json::from_slice::<Vec<Response<'_>>>(bytes).ok(),
        b'{' => {
            let r: Response<'_> = serde_json::from_slice(bytes).ok()?;
            (r.result.is_some() || r.error.is_some() || r.id.is_some()).then(|| vec![r])
        }
        _ => None,
    }
}

fn null_raw() -> Box<RawValue> {
    RawValue::NULL.to_owned()
}

/// Decodes a raw answer into `T`, naming the method on failure.
pub fn decode<'a, T: serde::Deserialize<'a>>(
    raw: &'a RawValue,
    method: &str,
) -> Result<T, ChainError> {
    serde_json::from_str(raw.get()).map_err(|e| ChainError::Decode {
        method: method.into(),
        detail: e.to_string(),
    })
}

/// A raw answer as a `Value` (for small, cold-path answers).
pub fn to_value(raw: &RawValue, method: &str) -> Result<Value, ChainError> {
    decode(raw, method)
}

fn classify(e: reqwest::Error, timeout_ms: u64) -> ChainError {
    if e.is_timeout() {
        ChainError::Timeout(timeout_ms)
    } else {
        // Without the URL: it may carry credentials.
        let e = e.without_url();
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        ChainError::Transport(msg)
    }
}

fn truncate(s: &str) -> String {
    let s = s.trim();
    if s.len() <= 200 {
        return s.to_string();
    }
    let mut end = 200;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Field `field` of an answer to `method` as a `u64`, or a decode error naming both.
pub(crate) fn u64_field(v: &Value, method: &str, field: &str) -> Result<u64, ChainError> {
    v.get(field)
        .and_then(Value::as_u64)
        .ok_or_else(|| ChainError::Decode {
            method: method.into(),
            detail: format!("{field} missing or not a number"),
        })
}

/// Field `field` of an answer to `method` as a string, or a decode error naming both.
pub(crate) fn str_field<'a>(
    v: &'a Value,
    method: &str,
    field: &str,
) -> Result<&'a str, ChainError> {
    v.get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| ChainError::Decode {
            method: method.into(),
            detail: format!("{field} missing or not a string"),
        })
}
