//! `chainops backup run-job` and `backup runs`: the daemon's `[[backups]]` jobs by hand.

use crate::cli::GlobalOpts;
use crate::exit::KindError;
use crate::exit::backup_err as err;
use crate::output::print;
use chainops_backup::daemon::{context, run_now};
use chainops_core::ErrorKind;
use chainops_core::time::rfc3339;
use chainops_store::backup_runs::BackupRun;
use std::collections::HashMap;

fn summary(r: &BackupRun) -> String {
    format!(
        "{:<20} {:<7} {:<24} {:>7.1} s  {:<7} {:<12} {}",
        r.job,
        r.kind,
        rfc3339(r.started_ms),
        (r.finished_ms - r.started_ms) as f64 / 1000.0,
        if r.ok { "ok" } else { "FAILED" },
        r.snapshot.as_deref().map_or("", |s| &s[..s.len().min(12)]),
        r.error.as_deref().unwrap_or("")
    )
}

/// Runs job `name` now and records the run; exits non-zero when it failed.
pub async fn run_job_cmd(
    g: &GlobalOpts,
    name: &str,
    drill: bool,
    json: bool,
) -> anyhow::Result<()> {
    let config = crate::config_load::load(g)?;
    let Some(job) = config.backups.iter().find(|j| j.name == name) else {
        let known: Vec<&str> = config.backups.iter().map(|j| j.name.as_str()).collect();
        return Err(KindError(
            ErrorKind::NotFound,
            format!(
                "no [[backups]] job \"{name}\" in the config (jobs: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ),
        )
        .into());
    };
    if drill && job.drill_schedule.is_none() {
        tracing::info!(job = %name, "the job has no drill_schedule; running a drill anyway");
    }
    let store = crate::config_load::existing_store(g, &config).await?;
    let http = chainops_chain::http_client()?;
    let ctx = context(&config.nodes, job, &http, &HashMap::new()).map_err(err)?;
    let run = run_now(&store, job, ctx, drill).await.map_err(err)?;
    store.close().await;
    if json {
        print(&serde_json::to_string(&run)?)?;
    } else {
        print(&summary(&run))?;
    }
    if run.ok {
        Ok(())
    } else {
        Err(KindError(
            ErrorKind::Upstream,
            format!(
                "{} of {name} failed: {}",
                run.kind,
                run.error.unwrap_or_default()
            ),
        )
        .into())
    }
}

/// Lists recorded runs, newest first.
pub async fn runs_cmd(
    g: &GlobalOpts,
    job: Option<&str>,
    limit: i64,
    json: bool,
) -> anyhow::Result<()> {
    if !(1..=10_000).contains(&limit) {
        return Err(KindError(
            ErrorKind::InvalidInput,
            format!("--limit {limit}: use 1 to 10000"),
        )
        .into());
    }
    let config = crate::config_load::load(g)?;
    let store = crate::config_load::existing_store(g, &config).await?;
    let runs = store.backup_runs(job, limit).await?;
    store.close().await;
    if json {
        return print(&serde_json::to_string(&runs)?);
    }
    let mut out = format!(
        "{:<20} {:<7} {:<24} {:>9}  {:<7} {:<12} error\n",
        "job", "kind", "started", "took", "result", "snapshot"
    );
    for r in &runs {
        out.push_str(&summary(r));
        out.push('\n');
    }
    out.push_str(&format!("{} runs\n", runs.len()));
    print(&out)
}
