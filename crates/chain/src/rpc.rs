//! A JSON-RPC client over HTTP for both EVM (2.0) and Bitcoin Core (1.0-style) nodes.
//!
//! Every call is recorded as an [`RpcCall`] (method, round-trip time, outcome) so the
//! collector can export latency and error metrics by method. A batch is one HTTP round trip;
//! its calls share that duration.

use chainops_core::node::{RpcCall, RpcOutcome};
use chainops_core::ports::{ChainError, RpcLog};
use chainops_core::secret::{Secret, redact_url};
use serde_json::{Value, json};
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

    /// The endpoint with credentials redacted, for logs.
    pub fn display_url(&self) -> String {
        redact_url(&self.url)
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
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(e.into_chain_error(method)),
            None => Err(ChainError::Decode {
                method: method.into(),
                detail: "no answer".into(),
            }),
        }
    }

    /// Sends calls as one batch. `Err` means the whole round trip failed (transport,
    /// timeout, unparseable); otherwise one result per call, in call order.
    pub async fn batch(
        &self,
        calls: &[Call],
        log: &mut RpcLog,
    ) -> Result<Vec<Result<Value, RpcError>>, ChainError> {
        let body: Vec<Value> = calls
            .iter()
            .enumerate()
            .map(
                |(i, c)| json!({"jsonrpc": "2.0", "id": i, "method": c.method, "params": c.params}),
            )
            .collect();
        let single = calls.len() == 1;
        let payload = if single {
            body.into_iter().next().unwrap_or(Value::Null)
        } else {
            Value::Array(body)
        };
        let started = Instant::now();
        let outcome = self.round_trip(&payload).await;
        let duration = started.elapsed();
        let record = |log: &mut RpcLog, outcome: RpcOutcome, method: &str| {
            log.push(RpcCall {
                method: method.to_string(),
                duration,
                outcome,
            });
        };
        let answer = match outcome {
            Ok(v) => v,
            Err(e) => {
                let o = match e {
                    ChainError::Timeout(_) => RpcOutcome::Timeout,
                    _ => RpcOutcome::Transport,
                };
                for c in calls {
                    record(log, o, c.method);
                }
                return Err(e);
            }
        };
        let items: Vec<Value> = match answer {
            Value::Array(items) => items,
            obj @ Value::Object(_) if single => vec![obj],
            other => {
                for c in calls {
                    record(log, RpcOutcome::Transport, c.method);
                }
                return Err(ChainError::Decode {
                    method: calls.first().map(|c| c.method).unwrap_or("batch").into(),
                    detail: format!(
                        "expected a JSON-RPC response, got {}",
                        truncate(&other.to_string())
                    ),
                });
            }
        };
        let mut results: Vec<Option<Result<Value, RpcError>>> = vec![None; calls.len()];
        for item in items {
            let idx = match item.get("id") {
                Some(Value::Number(n)) => n.as_u64().map(|n| n as usize),
                Some(Value::String(s)) => s.parse().ok(),
                _ => None,
            };
            let Some(idx) =
                idx.filter(|i| *i < calls.len())
                    .or(if single { Some(0) } else { None })
            else {
                continue;
            };
            let err = item.get("error").filter(|e| !e.is_null());
            results[idx] = Some(match err {
                Some(e) => Err(RpcError {
                    code: e.get("code").and_then(Value::as_i64).unwrap_or(0),
                    message: e
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown error")
                        .to_string(),
                }),
                None => Ok(item.get("result").cloned().unwrap_or(Value::Null)),
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

    async fn round_trip(&self, payload: &Value) -> Result<Value, ChainError> {
        let mut req = self
            .http
            .post(&self.url)
            .timeout(self.timeout)
            .json(payload);
        if let Some((user, pw)) = &self.auth {
            req = req.basic_auth(user, Some(pw.expose()));
        }
        let timeout_ms = self.timeout.as_millis() as u64;
        let resp = req.send().await.map_err(|e| classify(e, timeout_ms))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| classify(e, timeout_ms))?;
        match serde_json::from_slice::<Value>(&bytes) {
            // Bitcoin Core answers single-call errors with HTTP 404/500 and a JSON body.
            Ok(v) if v.is_array() || v.get("result").is_some() || v.get("error").is_some() => Ok(v),
            _ if status == reqwest::StatusCode::UNAUTHORIZED
                || status == reqwest::StatusCode::FORBIDDEN =>
            {
                Err(ChainError::Transport(format!(
                    "HTTP {status}: check rpc_user / rpc_password"
                )))
            }
            _ if !status.is_success() => Err(ChainError::Transport(format!(
                "HTTP {status}: {}",
                truncate(&String::from_utf8_lossy(&bytes))
            ))),
            _ => Err(ChainError::Transport(format!(
                "answer is not JSON-RPC: {}",
                truncate(&String::from_utf8_lossy(&bytes))
            ))),
        }
    }
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
