//! Repositories on S3-compatible object storage (AWS S3, MinIO, Ceph RGW, moto…).
//!
//! The location is `s3://BUCKET[/PREFIX]`. Endpoint, region and credentials come from
//! [`S3Options`] (the daemon config) or the standard `AWS_*` environment variables
//! (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`). An S3 PUT
//! is atomic, so the [`Backend`] contract (objects appear whole) holds without temp names.

use crate::backend::Backend;
use crate::{BackupError, Result};
use futures_util::StreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::future::Future;

/// Connection settings; unset fields fall back to the `AWS_*` environment.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// Endpoint URL for non-AWS servers (`http://127.0.0.1:9000`). `http://` is allowed.
    pub endpoint: Option<String>,
    /// Region (default `us-east-1`).
    pub region: Option<String>,
    /// Access key id.
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<String>,
    /// Virtual-hosted-style requests (`https://BUCKET.endpoint/key`): Aliyun OSS requires
    /// them, Tencent COS and Huawei OBS recommend them. `None`: path style with a custom
    /// endpoint, virtual-hosted on AWS (or `AWS_VIRTUAL_HOSTED_STYLE_REQUEST`).
    pub virtual_hosted: Option<bool>,
    /// An HTTP(S) proxy for every request (`http://proxy:3128`).
    pub proxy: Option<String>,
}

/// The (endpoint, region, bucket) of the Chinese-cloud examples in docs/backup.md — Aliyun
/// OSS, Tencent COS (bucket names carry the APPID), Huawei OBS — which the config validation
/// and the request tests both check.
pub const CLOUD_EXAMPLES: &[(&str, &str, &str)] = &[
    (
        "https://oss-cn-hangzhou.aliyuncs.com",
        "oss-cn-hangzhou",
        "node-backups",
    ),
    (
        "https://cos.ap-guangzhou.myqcloud.com",
        "ap-guangzhou",
        "node-backups-1250000000",
    ),
    (
        "https://obs.cn-north-4.myhuaweicloud.com",
        "cn-north-4",
        "node-backups",
    ),
];

/// The endpoint a request goes to: with virtual-hosted style the bucket is the first label
/// of the host (`https://oss-cn-hangzhou.aliyuncs.com` → `https://b.oss-cn-hangzhou…`),
/// added when the endpoint does not start with it already.
pub fn endpoint_for(endpoint: &str, bucket: &str, virtual_hosted: bool) -> String {
    let e = endpoint.trim_end_matches('/');
    if !virtual_hosted {
        return e.to_string();
    }
    match e.split_once("://") {
        Some((scheme, host)) if !host.starts_with(&format!("{bucket}.")) => {
            format!("{scheme}://{bucket}.{host}")
        }
        _ => e.to_string(),
    }
}

/// A repository under `s3://bucket/prefix`.
pub struct S3 {
    store: Box<dyn ObjectStore>,
    prefix: String,
    location: String,
    rt: tokio::runtime::Runtime,
}

impl std::fmt::Debug for S3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3")
            .field("location", &self.location)
            .finish()
    }
}

/// Splits `s3://bucket/prefix/` into (`bucket`, `prefix/` or empty).
fn split_url(url: &str) -> Result<(String, String)> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| BackupError::Input(format!("{url}: an S3 location starts with s3://")))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !valid_bucket {
        return Err(BackupError::Input(format!(
            "{url}: \"{bucket}\" is not a valid bucket name (3–63 characters: a-z, 0-9, '-', '.')"
        )));
    }
    let prefix = prefix.trim_matches('/');
    if prefix.split('/').any(|p| p == "." || p == "..") {
        return Err(BackupError::Input(format!(
            "{url}: the prefix may not contain . or .."
        )));
    }
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    Ok((bucket.to_string(), prefix))
}

impl S3 {
    /// Connects to `url` (`s3://bucket[/prefix]`). Nothing is sent until the first request.
    pub fn new(url: &str, opts: &S3Options) -> Result<S3> {
        let (bucket, prefix) = split_url(url)?;
        let mut b = AmazonS3Builder::from_env().with_bucket_name(&bucket);
        let endpoint = opts
            .endpoint
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok());
        let virtual_hosted = opts.virtual_hosted.unwrap_or_else(|| {
            endpoint.is_none()
                || std::env::var("AWS_VIRTUAL_HOSTED_STYLE_REQUEST").is_ok_and(|v| v == "true")
        });
        if let Some(e) = &endpoint {
            b = b
                .with_endpoint(endpoint_for(e, &bucket, virtual_hosted))
                .with_allow_http(e.starts_with("http://"))
                .with_virtual_hosted_style_request(virtual_hosted);
        } else if opts.virtual_hosted == Some(false) {
            b = b.with_virtual_hosted_style_request(false);
        }
        if let Some(p) = &opts.proxy {
            b = b.with_proxy_url(p);
        }
        if let Some(r) = &opts.region {
            b = b.with_region(r);
        } else if std::env::var("AWS_REGION").is_err()
            && std::env::var("AWS_DEFAULT_REGION").is_err()
        {
            b = b.with_region("us-east-1");
        }
        if let Some(k) = &opts.access_key_id {
            b = b.with_config(AmazonS3ConfigKey::AccessKeyId, k);
        }
        if let Some(k) = &opts.secret_access_key {
            b = b.with_config(AmazonS3ConfigKey::SecretAccessKey, k);
        }
        // HTTPS endpoints need a process-wide rustls provider (any installed one will do).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let store = b
            .build()
            .map_err(|e| BackupError::Input(format!("{url}: {e}")))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("chainops-s3")
            .enable_all()
            .build()
            .map_err(|e| BackupError::io("tokio runtime", e))?;
        Ok(S3 {
            store: Box::new(store),
            prefix,
            location: url.trim_end_matches('/').to_string(),
            rt,
        })
    }

    fn path(&self, key: &str) -> Result<ObjectPath> {
        if key
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
        {
            return Err(BackupError::Input(format!("bad object name {key:?}")));
        }
        Ok(ObjectPath::from(format!("{}{key}", self.prefix)))
    }

    fn run<T>(&self, f: impl Future<Output = T>) -> T {
        self.rt.block_on(f)
    }

    fn error(&self, key: &str, e: object_store::Error) -> BackupError {
        match e {
            object_store::Error::NotFound { .. } => BackupError::NotFound(key.to_string()),
            e => BackupError::Remote {
                location: format!("{}/{key}", self.location),
                detail: e.to_string(),
            },
        }
    }
}

impl Backend for S3 {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn write(&self, key: &str, data: &[u8]) -> Result<()> {
        let path = self.path(key)?;
        let payload = PutPayload::from(data.to_vec());
        self.run(self.store.put(&path, payload))
            .map(|_| ())
            .map_err(|e| match e {
                // A PUT finds nothing missing but the bucket.
                object_store::Error::NotFound { .. } => BackupError::Remote {
                    location: self.location.clone(),
                    detail:
                        "the bucket does not exist; create it first (e.g. `aws s3 mb s3://BUCKET`)"
                            .into(),
                },
                e => self.error(key, e),
            })
    }

    fn read(&self, key: &str) -> Result<Vec<u8>> {
        let path = self.path(key)?;
        self.run(async {
            let got = self.store.get(&path).await?;
            got.bytes().await
        })
        .map(|b| b.to_vec())
        .map_err(|e| self.error(key, e))
    }

    fn read_range(&self, key: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let path = self.path(key)?;
        let end = offset.checked_add(len).ok_or_else(|| {
            BackupError::corrupt(key, format!("range {offset}+{len} is beyond any object"))
        })?;
        let bytes = self
            .run(self.store.get_range(&path, offset..end))
            .map_err(|e| self.error(key, e))?;
        if bytes.len() as u64 != len {
            return Err(BackupError::corrupt(
                key,
                format!("short read at {offset}+{len}: got {}", bytes.len()),
            ));
        }
        Ok(bytes.to_vec())
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let full = format!("{}{}", self.prefix, prefix.trim_end_matches('/'));
        let under = (!full.is_empty()).then(|| ObjectPath::from(full));
        let metas = self.run(async {
            let mut out = Vec::new();
            let mut stream = self.store.list(under.as_ref());
            while let Some(m) = stream.next().await {
                out.push(m?);
            }
            Ok::<_, object_store::Error>(out)
        });
        let metas = metas.map_err(|e| self.error(prefix, e))?;
        let mut keys: Vec<String> = metas
            .into_iter()
            .filter_map(|m| {
                m.location
                    .as_ref()
                    .strip_prefix(&self.prefix)
                    .map(str::to_string)
            })
            .collect();
        keys.sort();
        Ok(keys)
    }

    fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key)?;
        match self.run(self.store.delete(&path)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error(key, e)),
        }
    }

    fn exists(&self, key: &str) -> Result<bool> {
        let path = self.path(key)?;
        match self.run(self.store.head(&path)) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.error(key, e)),
        }
    }

    fn size(&self, key: &str) -> Result<u64> {
        let path = self.path(key)?;
        self.run(self.store.head(&path))
            .map(|m| m.size)
            .map_err(|e| self.error(key, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_bucket_and_prefix() {
        assert_eq!(
            split_url("s3://node-backups").expect("ok"),
            ("node-backups".into(), String::new())
        );
        assert_eq!(
            split_url("s3://node-backups/eu/anvil-1/").expect("ok"),
            ("node-backups".into(), "eu/anvil-1/".into())
        );
        for bad in ["/tmp/x", "s3://", "s3://AB", "s3://ok-bucket/../x"] {
            assert!(split_url(bad).is_err(), "{bad}");
        }
    }
}
