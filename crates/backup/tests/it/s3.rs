//! The S3 backend against a real S3 server: moto (`scripts/install-deps.sh test` installs
//! it into `.tools/moto`), on 127.0.0.1 with a fresh bucket per test.

use super::{CHEAP, flipped_byte_on, no_progress, opts, round_trip_on, sample_tree};
use chainops_backup::BackupError;
use chainops_backup::archive::create;
use chainops_backup::backend::Backend;
use chainops_backup::repo::Repository;
use chainops_backup::s3::S3Options;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A moto S3 server for one test; killed on drop.
struct Moto {
    child: Child,
    port: u16,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// One raw HTTP request (moto accepts unsigned bucket creation); returns the status line.
fn http(port: u16, request: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.write_all(request.as_bytes())?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out.lines().next().unwrap_or_default().to_string())
}

impl Moto {
    fn start() -> Moto {
        // .tools/moto (scripts/install-deps.sh test), or a system-wide moto.
        let lib = workspace_root().join(".tools/moto");
        let importable = Command::new("python3")
            .args(["-c", "import moto.server"])
            .env("PYTHONPATH", &lib)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            importable,
            "moto is missing: run scripts/install-deps.sh test (pip install 'moto[server]' into .tools/moto)"
        );
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .env("PYTHONPATH", &lib)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn moto_server");
        let moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start on {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    fn bucket(&self, name: &str) -> String {
        let status = http(
            self.port,
            &format!("PUT /{name} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
        )
        .expect("create bucket");
        assert!(status.contains(" 200 "), "create bucket: {status}");
        format!("s3://{name}/repos/node-1")
    }

    fn options(&self) -> S3Options {
        S3Options {
            endpoint: Some(format!("http://127.0.0.1:{}", self.port)),
            region: Some("us-east-1".into()),
            access_key_id: Some("testing".into()),
            secret_access_key: Some("testing".into()),
            ..Default::default()
        }
    }

    fn backend(&self, url: &str) -> Arc<dyn Backend> {
        chainops_backup::open_backend(url, &self.options()).expect("S3 backend")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn s3_round_trip_is_byte_identical_and_incremental() {
    let moto = Moto::start();
    let url = moto.bucket("round-trip");
    let t = tempfile::tempdir().expect("tempdir");
    round_trip_on(t.path(), &|| moto.backend(&url));
    // The repository lives under the prefix, nothing outside it.
    let whole = moto.backend("s3://round-trip");
    let keys = whole.list("").expect("list bucket");
    assert!(!keys.is_empty());
    assert!(
        keys.iter().all(|k| k.starts_with("repos/node-1/")),
        "{keys:?}"
    );
}

#[test]
fn s3_flipped_byte_is_found_and_named() {
    let moto = Moto::start();
    let url = moto.bucket("flipped");
    let t = tempfile::tempdir().expect("tempdir");
    flipped_byte_on(t.path(), &|| moto.backend(&url));
}

#[test]
fn s3_wrong_password_missing_repo_and_dead_server_are_named() {
    let moto = Moto::start();
    let url = moto.bucket("errors");
    let t = tempfile::tempdir().expect("tempdir");
    let src = t.path().join("node");
    sample_tree(&src);
    let mut repo = Repository::init(moto.backend(&url), "pw", CHEAP).expect("init");
    create(&mut repo, &opts(&src), &no_progress).expect("create");
    let before = moto.backend(&url).list("").expect("list");
    assert!(matches!(
        Repository::open(moto.backend(&url), "wrong"),
        Err(BackupError::WrongPassword)
    ));
    assert_eq!(moto.backend(&url).list("").expect("list"), before);
    let e = Repository::open(moto.backend("s3://errors/elsewhere"), "pw")
        .err()
        .expect("no repository there");
    assert!(e.to_string().contains("not a chainops repository"), "{e}");

    let e = Repository::init(moto.backend("s3://no-such-bucket/x"), "pw", CHEAP)
        .err()
        .expect("missing bucket");
    assert!(e.to_string().contains("bucket does not exist"), "{e}");

    let port = moto.port;
    drop(moto);
    let dead = chainops_backup::open_backend(
        &url,
        &S3Options {
            endpoint: Some(format!("http://127.0.0.1:{port}")),
            ..Default::default()
        },
    )
    .expect("client");
    let e = dead.read("config").expect_err("server is gone");
    assert!(matches!(e, BackupError::Remote { .. }), "{e:?}");
    assert!(
        e.to_string().contains("s3://errors/repos/node-1/config"),
        "{e}"
    );
}

/// A proxy that records each request head it gets and answers 403, so nothing leaves the
/// machine: what a client would send to a cloud it cannot reach here.
fn capturing_proxy() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            log.lock()
                .expect("log")
                .push(String::from_utf8_lossy(&head).to_string());
            let _ = c.write_all(
                b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (port, seen)
}

#[test]
fn chinese_clouds_get_virtual_hosted_requests_and_minio_path_style() {
    let (port, seen) = capturing_proxy();
    let proxy = Some(format!("http://127.0.0.1:{port}"));
    // The documented examples (docs/backup.md): Aliyun OSS, Tencent COS, Huawei OBS.
    for &(endpoint, region, bucket) in chainops_backup::s3::CLOUD_EXAMPLES {
        let b = chainops_backup::open_backend(
            &format!("s3://{bucket}/geth-1"),
            &S3Options {
                endpoint: Some(endpoint.into()),
                region: Some(region.into()),
                access_key_id: Some("AKID".into()),
                secret_access_key: Some("secret".into()),
                virtual_hosted: Some(true),
                proxy: proxy.clone(),
            },
        )
        .expect("client");
        assert!(b.read("config").is_err(), "nothing is reachable here");
        let host = endpoint.trim_start_matches("https://");
        let want = format!("CONNECT {bucket}.{host}:443 ");
        assert!(
            seen.lock()
                .expect("log")
                .iter()
                .any(|h| h.starts_with(&want)),
            "{want}: {:?}",
            seen.lock().expect("log")
        );
    }
    // MinIO and other path-style servers: the bucket is the first path segment, and the
    // request is signed for the configured region.
    let b = chainops_backup::open_backend(
        "s3://node-backups/geth-1",
        &S3Options {
            endpoint: Some("http://minio.internal:9000".into()),
            region: Some("cn-east-1".into()),
            access_key_id: Some("AKID".into()),
            secret_access_key: Some("secret".into()),
            virtual_hosted: None,
            proxy,
        },
    )
    .expect("client");
    assert!(b.read("config").is_err());
    let log = seen.lock().expect("log");
    let get = log
        .iter()
        .find(|h| h.starts_with("GET http://minio.internal:9000/node-backups/geth-1/config "))
        .unwrap_or_else(|| panic!("{log:?}"));
    assert!(get.contains("/cn-east-1/s3/aws4_request"), "{get}");
}

#[test]
fn endpoints_take_the_bucket_for_virtual_hosted_requests_once() {
    use chainops_backup::s3::endpoint_for;
    assert_eq!(
        endpoint_for("https://oss-cn-hangzhou.aliyuncs.com/", "b", true),
        "https://b.oss-cn-hangzhou.aliyuncs.com"
    );
    assert_eq!(
        endpoint_for("https://b.oss-cn-hangzhou.aliyuncs.com", "b", true),
        "https://b.oss-cn-hangzhou.aliyuncs.com"
    );
    assert_eq!(
        endpoint_for("http://minio:9000", "b", false),
        "http://minio:9000"
    );
}
