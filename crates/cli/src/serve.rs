//! `chainops serve`: wires config, store, adapters, supervisors, monitor and HTTP server,
//! and shuts them down in order (stop accepting, stop polling, flush history, stop nodes).

use crate::cli::{GlobalOpts, ServeOpts};
use crate::config_load::{self, find_anvil};
use crate::generation::{Base, prepare, start_generation};
use anyhow::Context;
use chainops_chain::supervisor::Supervisor;
use chainops_config::Config;
use chainops_core::task::spawn_supervised;
use chainops_monitor::history::History;
use chainops_server::AppState;
use chainops_store::Store;
use chainops_store::series::Retention;
use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;

/// Runs the daemon until Ctrl-C or SIGTERM; SIGHUP reloads the config file.
pub async fn run(g: &GlobalOpts, o: ServeOpts) -> anyhow::Result<()> {
    let mut config = config_load::load(g)?;
    // A file that cannot be read fails only what uses it (a backup job fails and alerts, a
    // node's polls fail and it shows `down`); the daemon starts and says what is missing.
    if let Err(problems) = config.check_files() {
        for p in &problems.0 {
            tracing::warn!(path = %p.path, problem = %p.message, "a file the config names cannot be read");
        }
    }
    let config_file = config_load::config_path(g);
    if config_file.is_none() && config.nodes.is_empty() && !o.no_default_node && !o.init_only {
        config = default_node_config(&config)?;
    }
    let listen_flag = match &o.listen {
        Some(listen) => Some(
            listen
                .parse::<SocketAddr>()
                .with_context(|| format!("--listen \"{listen}\" is not an IP:port address"))?,
        ),
        None => None,
    };
    if let Some(addr) = listen_flag {
        config.server.listen = addr;
    }
    crate::util::data_dir(&config.data_dir)?;

    let store = Store::open(&config.store.url).await?;
    tracing::info!(backend = store.backend().as_str(), url = %chainops_core::secret::redact_url(&config.store.url), "store open");
    if o.init_only {
        chainops_auth::audit_trail::AuditTrail::open(store.clone(), &config.data_dir)?;
        store.close().await;
        println!(
            "store ready: {} (config {}); add users and tokens, then run `chainops serve`",
            chainops_core::secret::redact_url(&config.store.url),
            config_load::config_source(g)
        );
        return Ok(());
    }

    let http = chainops_chain::http_client()?;
    let prepared = prepare(&config, &http)?;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    // Managed nodes live as long as the process: a reload keeps them running.
    let mut supervised = Vec::new();
    let mut managed_status = HashMap::new();
    let mut controls = HashMap::new();
    for n in &config.nodes {
        if let Some(spec) = &n.managed {
            let sup = Supervisor::new(
                &n.name,
                spec.clone(),
                config.data_dir.join("nodes").join(&n.name),
            );
            managed_status.insert(n.name.clone(), sup.status());
            controls.insert(n.name.clone(), sup.control());
            supervised.push(tokio::spawn(sup.run(shutdown_rx.clone())));
        }
    }
    let retention = Retention {
        raw: config.history.raw_retention,
        minute: config.history.minute_retention,
        hour: config.history.hour_retention,
    };
    let remote_write = Arc::new(
        chainops_monitor::remote_write::RemoteWriter::new(
            &config.history.remote_write,
            &config.data_dir,
        )
        .with_context(|| {
            format!(
                "cannot create the remote-write queue under {}",
                config.data_dir.join("remote-write").display()
            )
        })?,
    );
    let remote_tasks = remote_write.spawn(http.clone(), shutdown_rx.clone());
    let mut history =
        History::new(store.clone(), retention).with_remote_write(remote_write.clone());
    if let Some(read) = config
        .history
        .prometheus
        .clone()
        .filter(|_| config.history.backend == "prometheus")
    {
        tracing::info!(url = %chainops_core::secret::redact_url(&read.url), "history is read from the Prometheus-compatible TSDB");
        history = history.with_reader(chainops_monitor::prom_read::PromReader::new(
            read,
            http.clone(),
        ));
    }
    let history = Arc::new(history);
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (in use? set [server].listen or --listen)",
                config.server.listen
            )
        })?;
    let addr = listener.local_addr()?;
    let tls = tls_config(&config, o.dev_tls).await?;
    let vault = chainops_desk::privacy::Vault::open_file(&config.support.key_file, true)?;
    let (coordinator, views_store) = start_cluster(&config, addr).await?;
    let membership = coordinator
        .as_ref()
        .map_or_else(chainops_monitor::cluster::Membership::standalone, |c| {
            c.membership()
        });
    let (cluster_stop_tx, cluster_stop_rx) = watch::channel(false);
    let cluster_task = coordinator
        .clone()
        .map(|c| tokio::spawn(c.run(cluster_stop_rx)));
    let base = Arc::new(Base {
        vault,
        store: store.clone(),
        http: http.clone(),
        history: history.clone(),
        remote_write,
        managed_status,
        controls,
        membership,
        coordinator: coordinator.clone(),
        views_store: views_store.unwrap_or_else(|| store.clone()),
        addr,
        tls: tls.as_ref().map(|(rustls, _, _)| rustls.clone()),
        dev_tls: tls
            .as_ref()
            .filter(|_| config.server.tls.is_none())
            .map(|(_, c, k)| (c.clone(), k.clone())),
    });
    let (live, generation) = start_generation(&config, &base, prepared).await?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("chainops listening on {scheme}://{addr}");
    tracing::info!(%addr, nodes = config.nodes.len(), "chainops serving: /api/v1/nodes, /metrics, /livez, /readyz");

    let auth = Arc::new(chainops_auth::Auth::new(store.clone()));
    let audit = Arc::new(
        chainops_auth::audit_trail::AuditTrail::open(store.clone(), &config.data_dir)
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    );
    let security = Arc::new(chainops_server::Security {
        metrics_public: config.server.metrics_public,
        tls: tls.is_some(),
        setup_token_digest: std::sync::Mutex::new(setup_token(&store).await?),
    });
    let mut tasks = Vec::new();
    let (trail, keep, stop) = (
        audit.clone(),
        config.security.audit_retention,
        shutdown_rx.clone(),
    );
    tasks.push(spawn_supervised("audit-retention", move || {
        audit_retention(trail.clone(), keep, stop.clone())
    }));
    let live: chainops_server::LiveCell = Arc::new(std::sync::RwLock::new(Arc::new(live)));
    let reloader = Arc::new(crate::reload::Reloader::new(
        config_file,
        listen_flag,
        base,
        config.clone(),
        generation,
        live.clone(),
    ));
    let state = AppState {
        live,
        history,
        store: store.clone(),
        http: http.clone(),
        auth,
        audit: audit.clone(),
        security,
        cluster: coordinator.clone(),
        reloader: reloader
            .has_file()
            .then(|| reloader.clone() as Arc<dyn chainops_core::ports::ConfigReloader>),
    };
    let limits = config.server.limits;
    let max_connections = limits.effective_max(raise_fd_limit());
    if max_connections < limits.max_connections {
        tracing::warn!(
            configured = limits.max_connections,
            used = max_connections,
            "[server] max_connections capped at half the open-file limit (raise `ulimit -n`)"
        );
    }
    let mut server_stop = shutdown_rx.clone();
    let stop = async move {
        let _ = server_stop.changed().await;
    };
    let server = match tls {
        Some((rustls, _, _)) => tokio::spawn(chainops_server::tls::serve(
            listener.into_std()?,
            state,
            rustls,
            limits,
            max_connections,
            stop,
        )),
        None => tokio::spawn(chainops_server::serve(
            listener,
            state,
            limits,
            max_connections,
            stop,
        )),
    };

    let watchdog = crate::systemd::spawn_watchdog(shutdown_rx.clone());
    crate::systemd::ready(&format!("serving {} nodes", config.nodes.len()));
    wait_for_signal(&reloader, &audit).await;
    tracing::info!("shutting down");
    crate::systemd::stopping();
    let _ = shutdown_tx.send(true);
    reloader.stop().await;
    // Polls have stopped: leave the cluster so a successor takes over at once.
    let _ = cluster_stop_tx.send(true);
    if let Some(t) = cluster_task {
        let _ = t.await;
    }
    match server.await {
        Ok(Err(e)) => tracing::warn!(error = %e, "HTTP server stopped with an error"),
        Err(e) => tracing::warn!(error = %e, "HTTP server task failed"),
        Ok(Ok(())) => {}
    }
    for t in tasks.into_iter().chain(watchdog).chain(remote_tasks) {
        let _ = t.await;
    }
    for s in supervised {
        let _ = s.await;
    }
    if let Err(e) = audit.checkpoint(chainops_core::time::now_ms()).await {
        tracing::warn!(error = %e, "cannot sign the closing audit checkpoint");
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// With `[cluster] enabled`: the coordinator for this member, on a pool of its own (so a
/// busy daemon never delays a heartbeat), which node views are shared through too.
async fn start_cluster(
    config: &Config,
    addr: SocketAddr,
) -> anyhow::Result<(
    Option<Arc<chainops_monitor::cluster::Coordinator>>,
    Option<Store>,
)> {
    if !config.cluster.enabled {
        return Ok((None, None));
    }
    let own = Store::open_existing(&config.store.url)
        .await
        .context("cannot open the cluster's store connection")?;
    let member = config
        .cluster
        .member
        .clone()
        .unwrap_or_else(|| chainops_monitor::cluster::default_member_name(addr.port()));
    let advertised = config.server.external_base(Some(addr));
    let key_file = chainops_auth::audit_trail::key_path(&config.data_dir);
    let audit_key = chainops_core::hex::encode(
        chainops_auth::audit_trail::load_or_create_key(&key_file)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .verifying_key()
            .as_bytes(),
    );
    tracing::info!(%member, lease = ?config.cluster.lease, heartbeat = ?config.cluster.heartbeat, "joining the cluster");
    let coordinator = chainops_monitor::cluster::Coordinator::new(
        own.clone(),
        config.cluster.clone(),
        member,
        advertised,
        audit_key,
        config.nodes.iter().map(|n| n.name.clone()).collect(),
    );
    coordinator
        .check_join(chainops_auth::audit_trail::KEY_FILE)
        .await
        .map_err(|e| anyhow::anyhow!("cannot join the cluster: {e}"))?;
    Ok((Some(coordinator), Some(own)))
}

/// The TLS setup: `[server.tls]`, or with `--dev-tls` a self-signed pair for localhost kept
/// in `<data_dir>/tls/` (made once, reused).
async fn tls_config(
    config: &Config,
    dev_tls: bool,
) -> anyhow::Result<
    Option<(
        chainops_server::tls::RustlsConfig,
        std::path::PathBuf,
        std::path::PathBuf,
    )>,
> {
    let (cert, key) = match (&config.server.tls, dev_tls) {
        (Some(t), _) => (t.cert_file.clone(), t.key_file.clone()),
        (None, true) => dev_certificate(&config.data_dir.join("tls"), config.server.listen)?,
        (None, false) => return Ok(None),
    };
    let rustls = chainops_server::tls::load(&cert, &key).await?;
    Ok(Some((rustls, cert, key)))
}

/// Makes (or reuses) a self-signed certificate for localhost, 127.0.0.1, ::1 and the listen IP.
fn dev_certificate(
    dir: &std::path::Path,
    listen: SocketAddr,
) -> anyhow::Result<(std::path::PathBuf, std::path::PathBuf)> {
    let (cert, key) = (dir.join("dev-cert.pem"), dir.join("dev-key.pem"));
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    if !listen.ip().is_unspecified() && !listen.ip().is_loopback() {
        names.push(listen.ip().to_string());
    }
    let made = rcgen::generate_simple_self_signed(names)
        .context("cannot generate a self-signed certificate")?;
    std::fs::write(&cert, made.cert.pem())
        .with_context(|| format!("cannot write {}", cert.display()))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(&key)
        .and_then(|mut f| f.write_all(made.key_pair.serialize_pem().as_bytes()))
        .with_context(|| format!("cannot write {}", key.display()))?;
    tracing::warn!(cert = %cert.display(), "serving HTTPS with a self-signed development certificate; clients need --cacert {}", cert.display());
    Ok((cert, key))
}

/// With no user yet, prints a one-time token for `POST /api/v1/auth/setup` (and the CLI
/// alternative) and returns its digest. There is never a default password.
async fn setup_token(store: &Store) -> anyhow::Result<Option<String>> {
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let token = chainops_auth::secrets::random_hex(16);
    // Never fail (or die of SIGPIPE) because nobody reads stdout.
    let _ = writeln!(
        std::io::stdout(),
        "no users yet: create the first admin with `chainops user add --name NAME --role admin`, \
         or POST /api/v1/auth/setup {{\"token\": \"{token}\", \"name\": …, \"password\": …}} (one-time token, valid until restart)"
    );
    tracing::warn!("no users exist; a one-time setup token was printed on stdout");
    Ok(Some(chainops_auth::secrets::digest(&token)))
}

/// Prunes audit records older than `retention` once a day (after a signed checkpoint).
async fn audit_retention(
    trail: Arc<chainops_auth::audit_trail::AuditTrail>,
    retention: std::time::Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(86_400));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let now = chainops_core::time::now_ms();
        match trail.prune(now - retention.as_millis() as i64, now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(records = n, "audit records past retention pruned"),
            Err(e) => tracing::error!(error = %e, "audit retention failed"),
        }
    }
}

fn default_node_config(base: &Config) -> anyhow::Result<Config> {
    let Some(anvil) = find_anvil() else {
        tracing::warn!(
            "no nodes configured and no anvil found (PATH or ./.tools); run `make run` to install one, or pass --config"
        );
        return Ok(base.clone());
    };
    let port = if std::net::TcpListener::bind(("127.0.0.1", 8545)).is_ok() {
        8545
    } else {
        crate::util::free_port()?
    };
    let mut c = config_load::with_default_node(&anvil, port)?;
    c.data_dir = base.data_dir.clone();
    c.store = base.store.clone();
    c.server = base.server.clone();
    tracing::info!(anvil = %anvil.display(), port, "no config: starting a managed anvil dev node ({})", config_load::DEFAULT_NODE_NAME);
    Ok(c)
}

/// Waits for Ctrl-C or SIGTERM; each SIGHUP meanwhile reloads the config file (the outcome is
/// logged and written to the audit trail as `config.reload` by `signal:SIGHUP`).
async fn wait_for_signal(
    reloader: &crate::reload::Reloader,
    audit: &chainops_auth::audit_trail::AuditTrail,
) {
    use tokio::signal::unix::{SignalKind, signal};
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let (mut term, mut hup) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) {
        (Ok(t), Ok(h)) => (t, h),
        _ => {
            tracing::warn!("cannot watch SIGTERM/SIGHUP; only Ctrl-C stops the daemon");
            let _ = ctrl_c.await;
            return;
        }
    };
    loop {
        tokio::select! {
            _ = &mut ctrl_c => return,
            _ = term.recv() => return,
            _ = hup.recv() => {
                crate::systemd::reloading();
                let (result, detail) = match chainops_core::ports::ConfigReloader::reload(reloader).await {
                    Ok(o) => ("ok", serde_json::json!(o)),
                    Err(problems) => ("failed", serde_json::json!({ "problems": problems })),
                };
                crate::systemd::ready(&format!("reloaded ({result})"));
                let entry = chainops_auth::audit_trail::Entry {
                    actor: "signal:SIGHUP".into(),
                    role: String::new(),
                    source: "signal".into(),
                    action: "config.reload".into(),
                    target: reloader.file_name(),
                    result: result.into(),
                    detail,
                };
                if let Err(e) = audit.record(entry, chainops_core::time::now_ms()).await {
                    tracing::error!(error = %e, "cannot append the reload to the audit trail");
                }
            }
        }
    }
}

/// Raises the soft open-file limit to the hard one (as Go and nginx do) and returns it: the
/// HTTP connection budget is half of it.
fn raise_fd_limit() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) => {
            if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
                return hard;
            }
            soft
        }
        Err(_) => 1024,
    }
}
