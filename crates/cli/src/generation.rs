//! One generation of the daemon's subsystems: everything built from the config file — node
//! pollers, the history writer, log ingest, backup schedules, the alert engine and delivery,
//! the certificate watch — started over the process-long [`Base`] and stopped together
//! (`serve` at shutdown, `reload` to replace it).

use anyhow::Context;
use chainops_alert::AlertEngine;
use chainops_alert::delivery::DeliveryWorker;
use chainops_alert::notify::Notifier;
use chainops_chain::supervisor::{NodeControl, StatusHandle};
use chainops_config::Config;
use chainops_core::facts::FactSource;
use chainops_core::task::spawn_supervised;
use chainops_monitor::Monitor;
use chainops_monitor::fleet::Fleet;
use chainops_monitor::history::History;
use chainops_server::Live;
use chainops_store::Store;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;

/// What lives as long as the process, whatever the config file says later: the store, the
/// metric history, the HTTP client, the managed nodes' supervisors, the bound address and
/// the TLS acceptor (whose certificate a reload may swap).
pub(crate) struct Base {
    pub store: Store,
    pub http: reqwest::Client,
    pub history: Arc<History>,
    /// Remote-write targets of `[history]` (restart-only, like the rest of `[history]`).
    pub remote_write: Arc<chainops_monitor::remote_write::RemoteWriter>,
    pub managed_status: HashMap<String, StatusHandle>,
    pub controls: HashMap<String, NodeControl>,
    pub addr: SocketAddr,
    /// The served TLS configuration, if the daemon serves HTTPS.
    pub tls: Option<chainops_server::tls::RustlsConfig>,
    /// The certificate and key in use when they come from `--dev-tls`, not the config.
    pub dev_tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// The key that wraps requesters' keys (`support.key_file`, read once at start).
    pub vault: chainops_desk::privacy::Vault,
    /// Which nodes this daemon polls and whether it leads (standalone: all, always).
    pub membership: Arc<chainops_monitor::cluster::Membership>,
    /// The cluster coordinator, when `[cluster] enabled` (restart-only).
    pub coordinator: Option<Arc<chainops_monitor::cluster::Coordinator>>,
    /// The pool node views are shared through (the coordinator's own, off the busy pool).
    pub views_store: Store,
}

/// The subsystems one configuration runs — pollers, history writer, log ingest, backup
/// schedules, alert engine, delivery, the certificate watch — stopped together by a reload.
pub(crate) struct Generation {
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Generation {
    /// A generation that runs nothing (monitoring stopped after a failed reload).
    pub fn empty() -> Generation {
        let (stop, _) = watch::channel(false);
        Generation {
            stop,
            tasks: Vec::new(),
        }
    }

    /// Stops every task and waits for them (the history writer flushes on its way out).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// What fails before anything starts: node adapters (secret files), notifiers (secret
/// files). A reload builds these first so a bad file changes nothing.
pub(crate) struct Prepared {
    adapters: Vec<Arc<dyn chainops_core::ports::ChainAdapter>>,
    notifiers: Vec<Arc<Notifier>>,
}

/// Builds what can fail without side effects.
pub(crate) fn prepare(config: &Config, http: &reqwest::Client) -> anyhow::Result<Prepared> {
    let adapters = config
        .nodes
        .iter()
        .map(|n| chainops_chain::adapter_for(n, http))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Prepared {
        adapters,
        notifiers: load_notifiers(config)?,
    })
}

/// Starts everything `config` (the file as loaded) describes over `base`, its fallible parts
/// already built ([`prepare`]). Links (runbooks) point at the address actually bound unless
/// `[server] external_url` says otherwise. If a part fails to start, what was started is
/// stopped again before the error returns.
pub(crate) async fn start_generation(
    config: &Config,
    base: &Base,
    prepared: Prepared,
) -> anyhow::Result<(Live, Generation)> {
    let mut config = config.clone();
    config.server.external_url = Some(config.server.external_base(Some(base.addr)));
    let config = &config;
    let (tx, rx) = watch::channel(false);
    let mut tasks = Vec::new();
    match start_parts(config, base, prepared, &rx, &mut tasks).await {
        Ok(live) => Ok((live, Generation { stop: tx, tasks })),
        Err(e) => {
            Generation { stop: tx, tasks }.stop().await;
            Err(e)
        }
    }
}

async fn start_parts(
    config: &Config,
    base: &Base,
    prepared: Prepared,
    stop: &watch::Receiver<bool>,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
) -> anyhow::Result<Live> {
    let Prepared {
        adapters,
        notifiers,
    } = prepared;
    let fleet = Arc::new(Fleet::new(&config.nodes, base.managed_status.clone()));
    base.remote_write.set_nodes(
        config
            .nodes
            .iter()
            .map(|n| (n.name.as_str(), n.chain.as_str())),
    );
    let monitor = Monitor::new(
        fleet.clone(),
        adapters,
        base.store.clone(),
        base.history.clone(),
    )
    .await
    .with_membership(base.membership.clone());
    tasks.extend(monitor.spawn(config.monitor.max_concurrent_polls, stop.clone()));
    let (logs, log_tasks) = crate::logs_wiring::start(config, &base.store, &base.http, stop)?;
    tasks.extend(log_tasks);
    let (backups, backup_jobs, backup_tasks) = chainops_backup::daemon::start(
        &config.backups,
        &config.nodes,
        &base.store,
        &base.http,
        &base.controls,
        stop,
        base.membership.leader(),
    )
    .await
    .map_err(crate::exit::backup_err)?;
    tasks.extend(backup_tasks);
    let mut desk = chainops_desk::service::Desk::new(
        Arc::new(config.support.clone()),
        base.store.clone(),
        base.vault.clone(),
    );
    if let Some(channel) = &config.support.email_notifier {
        desk = desk.with_mail(channel, &config.server.external_base(None));
    }
    let desk = Arc::new(desk);
    match desk.seed_kb(chainops_core::time::now_ms()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(articles = n, "knowledge base seeded with the user guide"),
        Err(e) => tracing::warn!(error = %e, "seeding the knowledge base failed"),
    }
    let fleet_facts: Arc<dyn FactSource> = fleet.clone();
    let facts: Arc<dyn FactSource> = Arc::new(chainops_backup::daemon::WithBackupFacts::new(
        fleet_facts,
        backups.clone(),
    ));
    let alert_metrics = Arc::new(chainops_alert::metrics::AlertMetrics::default());
    let mailbox = match &config.support.mailbox {
        Some(mailbox) => Some((
            mailbox.clone(),
            chainops_core::node_config::read_secret(
                &chainops_core::node_config::SecretSource::File(mailbox.password_file.clone()),
            )
            .with_context(|| {
                format!(
                    "support.mailbox.password_file {} cannot be read",
                    mailbox.password_file.display()
                )
            })?,
        )),
        None => None,
    };
    let work = LeaderWork {
        config: Arc::new(config.clone()),
        store: base.store.clone(),
        http: base.http.clone(),
        notifiers: notifiers.clone(),
        facts,
        log_alerts: logs.alerts.clone(),
        desk: desk.clone(),
        metrics: alert_metrics.clone(),
        mailbox,
    };
    // The alert engine, the outbox, the SLA clocks and the mailbox run once per cluster:
    // on its leader (a standalone daemon always leads).
    tasks.push(while_leader(
        base.membership.clone(),
        stop.clone(),
        move |stop| work.clone().start(stop),
    ));
    if let Some(coordinator) = &base.coordinator {
        coordinator.set_nodes(config.nodes.iter().map(|n| n.name.clone()).collect());
        let sync = chainops_monitor::shared_views::ViewSync::new(
            base.views_store.clone(),
            coordinator.status().member,
            fleet.clone(),
            base.membership.clone(),
        );
        let stop = stop.clone();
        tasks.push(tokio::spawn(sync.run(stop)));
    }
    if let Some(rustls) = &base.tls {
        let files = match (&config.server.tls, &base.dev_tls) {
            (Some(t), _) => Some((t.cert_file.clone(), t.key_file.clone())),
            (None, dev) => dev.clone(),
        };
        if let Some((cert, key)) = files {
            tasks.push(tokio::spawn(chainops_server::tls::watch(
                rustls.clone(),
                cert,
                key,
                stop.clone(),
            )));
        }
    }
    Ok(Live {
        fleet,
        notifiers: Arc::new(notifiers),
        logs: Some(logs),
        extra_metrics: {
            let mut m: Vec<Arc<dyn chainops_core::ports::MetricsSource>> =
                vec![backups, alert_metrics, base.remote_write.clone()];
            if let Some(c) = &base.coordinator {
                m.push(c.clone());
            }
            m
        },
        settings: Arc::new(config.to_redacted_toml()),
        backups: Some(backup_jobs),
        desk: Some(desk),
        label_names: Arc::new(
            chainops_alert::rules::effective_rules(&config.alerting)
                .iter()
                .flat_map(|r| r.labels.keys().cloned())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect(),
        ),
    })
}

/// Runs the desk's SLA pass now and every `support.check_interval`: warnings and breaches go out
/// through the notifiers (`support.notify`, default all) with a link to the ticket.
fn start_sla_pass(
    desk: Arc<chainops_desk::service::Desk>,
    notifiers: Vec<Arc<Notifier>>,
    base_url: String,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    spawn_supervised("desk:sla", move || {
        let (desk, notifiers, base_url, mut stop) = (
            desk.clone(),
            notifiers.clone(),
            base_url.clone(),
            stop.clone(),
        );
        async move {
            let only = desk.config.notify.clone();
            let every = desk.config.check_interval;
            let rows = move |n: &chainops_desk::service::SlaNotice| {
                let notice = sla_notice(n, &base_url);
                chainops_alert::notify::notice::rows(
                    &notifiers,
                    &only,
                    &notice,
                    chainops_core::time::now_ms(),
                )
            };
            // Retention runs with the SLA pass, hourly; the first purge waits ten minutes so
            // a restart (or a reload) does not delete in bulk while everything starts.
            let mut purged_at = chainops_core::time::now_ms() - 50 * 60_000;
            loop {
                let now = chainops_core::time::now_ms();
                if now - purged_at >= 3_600_000 {
                    purged_at = now;
                    match desk.purge(now).await {
                        Ok(c) if c != Default::default() => tracing::info!(
                            tickets = c.tickets,
                            attachments = c.attachments,
                            requesters = c.requesters,
                            surveys = c.surveys,
                            "support data past [support.retention] deleted"
                        ),
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "support retention purge failed; retrying in an hour")
                        }
                    }
                }
                match desk.sla_pass(chainops_core::time::now_ms(), &rows).await {
                    Ok(r) if r.notices > 0 => tracing::info!(
                        tickets = r.tickets,
                        notices = r.notices,
                        escalated = r.escalated,
                        "SLA pass"
                    ),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "SLA pass failed; retrying at the next pass")
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    })
}

/// Polls the support mailbox now and every `support.mailbox.poll_interval`: new mail opens
/// tickets, replies thread onto theirs. A failed poll is logged and retried; nothing is lost.
fn start_mailbox(
    desk: Arc<chainops_desk::service::Desk>,
    cfg: chainops_desk::config::MailboxConfig,
    password: chainops_core::secret::Secret,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    spawn_supervised("desk:mailbox", move || {
        let (desk, cfg, password, mut stop) =
            (desk.clone(), cfg.clone(), password.clone(), stop.clone());
        async move {
            let now = chainops_core::time::now_ms;
            loop {
                let poll = chainops_desk::mailbox::poll(&desk, &cfg, password.expose(), &now);
                tokio::select! {
                    r = poll => match r {
                        Ok(r) if r != Default::default() => tracing::info!(
                            opened = r.opened,
                            replied = r.replied,
                            duplicates = r.duplicates,
                            skipped = r.skipped,
                            "support mailbox polled"
                        ),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(
                            error = %e, mailbox = %cfg.url,
                            "support mailbox poll failed; retrying at the next poll"
                        ),
                    },
                    _ = stop.changed() => return,
                }
                tokio::select! {
                    _ = tokio::time::sleep(cfg.poll_interval) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    })
}

/// An SLA warning or breach as a notice the channels render like an alert.
fn sla_notice(
    n: &chainops_desk::service::SlaNotice,
    base_url: &str,
) -> chainops_alert::notify::notice::Notice {
    use chainops_core::severity::Severity;
    let what = match n.metric {
        chainops_desk::sla::Metric::FirstResponse => "first response",
        chainops_desk::sla::Metric::NextResponse => "next response",
        chainops_desk::sla::Metric::Resolution => "resolution",
    };
    let severity = match (n.level, n.priority) {
        ("breach", chainops_desk::tickets::Priority::P1 | chainops_desk::tickets::Priority::P2) => {
            Severity::Critical
        }
        ("breach", _)
        | (_, chainops_desk::tickets::Priority::P1 | chainops_desk::tickets::Priority::P2) => {
            Severity::Warning
        }
        _ => Severity::Info,
    };
    let verb = if n.level == "breach" {
        "breached"
    } else {
        "is at 75% of"
    };
    chainops_alert::notify::notice::Notice {
        id: format!(
            "ticket/{}/{}/{}/{}",
            n.ticket_id,
            n.metric.as_str(),
            n.cycle,
            n.level
        ),
        fingerprint: format!("ticket/{}", n.ticket_id),
        rule: "TicketSla".into(),
        severity,
        summary: format!(
            "Ticket #{} {verb} its {what} target ({}): {}",
            n.ticket_id,
            n.priority.as_str(),
            n.subject
        ),
        description: format!(
            "Team {}. Open the ticket to answer or re-prioritise it.",
            n.team
        ),
        chain: n.chain.clone(),
        link: format!("{base_url}/tickets/{}", n.ticket_id),
        at_ms: n.at_ms,
    }
}

/// Loads every configured notification channel with its secret.
fn load_notifiers(config: &Config) -> anyhow::Result<Vec<Arc<Notifier>>> {
    config
        .alerting
        .notifiers
        .iter()
        .map(|n| {
            Notifier::load(n.clone())
                .map(Arc::new)
                .with_context(|| format!("notifier {}: cannot read its secret file", n.name))
        })
        .collect()
}

/// What runs only on the cluster's leader, built from one generation's config.
#[derive(Clone)]
struct LeaderWork {
    config: Arc<Config>,
    store: Store,
    http: reqwest::Client,
    notifiers: Vec<Arc<Notifier>>,
    facts: Arc<dyn FactSource>,
    log_alerts: Arc<chainops_logs::service::AlertCounts>,
    desk: Arc<chainops_desk::service::Desk>,
    metrics: Arc<chainops_alert::metrics::AlertMetrics>,
    mailbox: Option<(
        chainops_desk::config::MailboxConfig,
        chainops_core::secret::Secret,
    )>,
}

impl LeaderWork {
    /// Starts the alerting, the SLA pass and the mailbox; they stop with `stop`.
    async fn start(self, stop: watch::Receiver<bool>) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = loop {
            match start_alerting(&self, &stop).await {
                Ok(t) => break t,
                Err(e) => {
                    tracing::error!(
                        error = format!("{e:#}"),
                        "alerting cannot start; retrying in 5 s"
                    );
                    let mut stop = stop.clone();
                    tokio::select! {
                        _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
                        _ = stop.changed() => return Vec::new(),
                    }
                }
            }
        };
        tasks.push(start_sla_pass(
            self.desk.clone(),
            self.notifiers.clone(),
            self.config.server.external_base(None),
            stop.clone(),
        ));
        if let Some((mailbox, password)) = self.mailbox {
            tasks.push(start_mailbox(self.desk, mailbox, password, stop));
        }
        tasks
    }
}

/// Runs what `start` starts while this daemon leads the cluster: started when it becomes
/// the leader, stopped (and awaited) when it stops leading or the generation stops.
fn while_leader<F, Fut>(
    membership: Arc<chainops_monitor::cluster::Membership>,
    mut stop: watch::Receiver<bool>,
    start: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(watch::Receiver<bool>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Vec<tokio::task::JoinHandle<()>>> + Send + 'static,
{
    tokio::spawn(async move {
        let mut leader = membership.leader();
        loop {
            while !*leader.borrow_and_update() {
                tokio::select! {
                    r = leader.changed() => if r.is_err() { return },
                    _ = stop.changed() => return,
                }
            }
            let (tx, rx) = watch::channel(false);
            let starting = tokio::spawn(start(rx));
            let shutting_down = loop {
                tokio::select! {
                    r = leader.changed() => if r.is_err() || !*leader.borrow_and_update() { break false },
                    _ = stop.changed() => break true,
                }
            };
            let _ = tx.send(true);
            if let Ok(tasks) = starting.await {
                for t in tasks {
                    let _ = t.await;
                }
            }
            if shutting_down {
                return;
            }
            tracing::warn!("leader-only work stopped: this member no longer leads");
        }
    })
}

/// Starts the alert engine and the notification delivery worker.
async fn start_alerting(
    work: &LeaderWork,
    shutdown: &watch::Receiver<bool>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let config = &work.config;
    let (store, http, notifiers, metrics) = (
        &work.store,
        &work.http,
        &work.notifiers,
        work.metrics.clone(),
    );
    let recipients: Arc<dyn chainops_core::mail::Recipients> = work.desk.clone();
    let mut rules = chainops_alert::rules::effective_rules(&config.alerting);
    let with_logs =
        chainops_logs::service::WithLogFacts::new(work.facts.clone(), work.log_alerts.clone());
    rules.extend(crate::logs_wiring::rules(config, with_logs.names()));
    chainops_alert::rules::link_runbooks(&mut rules, &config.server.external_base(None));
    tracing::info!(
        rules = rules.len(),
        notifiers = notifiers.len(),
        "alerting enabled"
    );
    let source: Arc<dyn FactSource> = Arc::new(with_logs);
    let engine = AlertEngine::new(
        rules.clone(),
        notifiers.to_vec(),
        store.clone(),
        source.clone(),
    )
    .await?;
    let mut tasks = Vec::new();
    if let Some(url) = &config.alerting.heartbeat_url {
        let a = &config.alerting;
        let (http, url, every, stale, last_ok, stop) = (
            http.clone(),
            url.clone(),
            a.heartbeat_interval,
            (a.eval_interval * 3).max(std::time::Duration::from_secs(10)),
            engine.last_ok(),
            shutdown.clone(),
        );
        tasks.push(spawn_supervised("alert:heartbeat", move || {
            chainops_alert::heartbeat::run(
                http.clone(),
                url.clone(),
                every,
                stale,
                last_ok.clone(),
                stop.clone(),
            )
        }));
    }
    // A restarted engine is rebuilt from the store (active alerts, silences); its windows
    // refill as after a daemon restart.
    let (every, stop, last_ok) = (
        config.alerting.eval_interval,
        shutdown.clone(),
        engine.last_ok(),
    );
    let (store_e, notifiers_e, metrics_e) = (store.clone(), notifiers.to_vec(), metrics.clone());
    let mut first = Some(engine);
    tasks.push(spawn_supervised("alert:engine", move || {
        let built = first.take();
        let (rules, notifiers, store, source, last_ok, metrics, mut stop) = (
            rules.clone(),
            notifiers_e.clone(),
            store_e.clone(),
            source.clone(),
            last_ok.clone(),
            metrics_e.clone(),
            stop.clone(),
        );
        async move {
            let engine = match built {
                Some(e) => e,
                None => loop {
                    match AlertEngine::new(rules.clone(), notifiers.clone(), store.clone(), source.clone()).await {
                        Ok(e) => break e.with_last_ok(last_ok.clone()),
                        Err(e) => {
                            tracing::error!(error = %e, "alert engine cannot restart; retrying in 5 s");
                            tokio::select! {
                                _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
                                _ = stop.changed() => return,
                            }
                        }
                    }
                },
            };
            engine.with_metrics(metrics).run(every, stop).await;
        }
    }));
    let (store_w, notifiers_w, http_w, give_up, stop) = (
        store.clone(),
        notifiers.to_vec(),
        http.clone(),
        config.alerting.give_up_after,
        shutdown.clone(),
    );
    tasks.push(spawn_supervised("alert:delivery", move || {
        DeliveryWorker::new(store_w.clone(), &notifiers_w, http_w.clone(), give_up)
            .with_recipients(recipients.clone())
            .with_metrics(metrics.clone())
            .run(stop.clone())
    }));
    Ok(tasks)
}
