//! A small client for the daemon's API, used by jobs that act on live state (alerts,
//! incidents, silences). API errors keep their code and message.

use crate::exit::KindError;
use chainops_core::ErrorKind;
use serde_json::Value;
use std::time::Duration;

/// The daemon at `base`.
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// Percent-encodes one query-string value or path segment.
pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl ApiClient {
    /// The client of a CLI job: `--server`/`CHAINOPS_SERVER` (else the configured listen
    /// address) and `--token`/`CHAINOPS_TOKEN`.
    pub fn for_cli(
        g: &crate::cli::GlobalOpts,
        server: &crate::cli::ServerOpt,
    ) -> anyhow::Result<ApiClient> {
        let config = crate::config_load::load(g)?;
        ApiClient::new(
            server.server.as_deref(),
            server.token.as_deref(),
            config.server.listen,
        )
    }

    /// A client for `--server URL` (or the configured listen address) sending `token`.
    pub fn new(
        server: Option<&str>,
        token: Option<&str>,
        listen: std::net::SocketAddr,
    ) -> anyhow::Result<ApiClient> {
        let base = server
            .map(str::to_string)
            .unwrap_or_else(|| format!("http://{listen}"));
        Ok(ApiClient {
            http: chainops_chain::http_client()?,
            base: base.trim_end_matches('/').to_string(),
            token: token.map(str::to_string),
        })
    }

    /// GET a JSON document.
    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    /// GET every item of a paged list (`?limit=&offset=`), page after page, up to
    /// `max_items` (a guard against a daemon that never ends the list).
    pub async fn get_all(&self, path: &str, max_items: usize) -> anyhow::Result<Vec<Value>> {
        const PAGE: usize = 1000;
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut out: Vec<Value> = Vec::new();
        loop {
            let page = self
                .get(&format!("{path}{sep}limit={PAGE}&offset={}", out.len()))
                .await?;
            let Value::Array(items) = page else {
                anyhow::bail!("{path} did not answer a list");
            };
            let n = items.len();
            out.extend(items);
            if n < PAGE || out.len() >= max_items {
                return Ok(out);
            }
        }
    }

    /// POST a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(body))
            .await
    }

    /// DELETE a resource.
    pub async fn delete(&self, path: &str) -> anyhow::Result<Value> {
        self.send(self.http.delete(format!("{}{path}", self.base)))
            .await
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let resp = req
            .timeout(Duration::from_secs(15))
            .send()
            .await
            .map_err(|e| {
                KindError(
                    ErrorKind::Unavailable,
                    format!(
                        "no chainops daemon answered at {}: {} (start it or pass --server URL)",
                        self.base,
                        e.without_url()
                    ),
                )
            })?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        let kind = match body["code"].as_str() {
            Some("invalid_input") => ErrorKind::InvalidInput,
            Some("not_found") => ErrorKind::NotFound,
            Some("unauthorized") => ErrorKind::Unauthorized,
            Some("forbidden") => ErrorKind::Forbidden,
            Some("unavailable") => ErrorKind::Unavailable,
            _ => ErrorKind::Internal,
        };
        let mut message = body["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("HTTP {status}"));
        if kind == ErrorKind::Unauthorized && self.token.is_none() {
            message.push_str(
                "; pass --token or set CHAINOPS_TOKEN (create one with `chainops token create --role operator`)",
            );
        }
        Err(KindError(kind, message).into())
    }
}
