//! Backups: every `[[backups]]` job with its last run, next run and overdue state, the
//! recent runs and drills with their outcome, each job's snapshots with the exact command
//! that restores one, and (operators) a backup or drill started now. The jobs come through
//! the [`BackupJobs`](chainops_core::ports::BackupJobs) port the backup crate implements.

use super::{Ctx, Page, page, render, see_other};
use crate::AppState;
use crate::error::ApiError;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use chainops_auth::Permission;
use chainops_core::ports::BackupJobView;
use chainops_core::time::{now_ms, rfc3339};

/// The routes.
pub static PAGE: Page = Page {
    routes: &[
        page(
            "GET",
            "/backups",
            Permission::ReadFleet,
            None,
            "Console: backup jobs, runs and drills, snapshots and their restore commands",
            || get(backups_page),
        ),
        page(
            "POST",
            "/backups/{job}/run",
            Permission::OperateBackups,
            Some("backup.run"),
            "Console form: start a backup of the job now",
            || post(run_backup),
        ),
        page(
            "POST",
            "/backups/{job}/drill",
            Permission::OperateBackups,
            Some("backup.drill"),
            "Console form: start a restore drill of the job now",
            || post(run_drill),
        ),
    ],
    nav: Some(("nav.backups", "/backups", Permission::ReadFleet)),
};

/// Snapshots shown per job.
const SNAPSHOTS_SHOWN: usize = 20;

/// A job as the page shows it.
pub struct JobItem {
    /// The job.
    pub v: BackupJobView,
    /// Last backup: at (RFC 3339), ok, error.
    pub last: Option<(String, bool, String)>,
    /// Last drill.
    pub drill: Option<(String, bool, String)>,
    /// Next backup (RFC 3339).
    pub next: String,
    /// Next drill.
    pub next_drill: String,
    /// Snapshots: id, short id, time, size, tags, restore command.
    pub snapshots: Vec<SnapItem>,
    /// Why the snapshots could not be listed.
    pub snapshots_error: Option<String>,
}

/// A snapshot row.
pub struct SnapItem {
    /// Short id.
    pub short: String,
    /// Taken (RFC 3339).
    pub at: String,
    /// Size, human.
    pub size: String,
    /// Tags.
    pub tags: String,
    /// The command that restores it.
    pub restore: String,
}

/// A run row.
pub struct RunItem {
    /// Job.
    pub job: String,
    /// `backup` or `drill`.
    pub kind: String,
    /// Started.
    pub started: String,
    /// Seconds it took.
    pub seconds: String,
    /// Ok?
    pub ok: bool,
    /// Short snapshot id.
    pub snapshot: String,
    /// Error.
    pub error: String,
}

/// The page.
#[derive(Template)]
#[template(path = "backups.html")]
pub struct BackupsPage {
    /// Context.
    pub c: Ctx,
    /// Jobs.
    pub jobs: Vec<JobItem>,
    /// Recent runs.
    pub runs: Vec<RunItem>,
    /// May the viewer start runs?
    pub operate: bool,
}

fn bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[i])
    }
}

/// Quotes a shell word when it needs it.
fn sh(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:=@%+,".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

fn outcome(o: &Option<(i64, bool, Option<String>)>) -> Option<(String, bool, String)> {
    o.as_ref()
        .map(|(at, ok, e)| (rfc3339(*at), *ok, e.clone().unwrap_or_default()))
}

async fn backups_page(State(s): State<AppState>, c: Ctx) -> Response {
    let mut jobs = Vec::new();
    if let Some(b) = &s.live().backups {
        for v in b.jobs(now_ms()) {
            let (snapshots, snapshots_error) = match b.snapshots(&v.name).await {
                Ok(list) => (
                    list.into_iter()
                        .take(SNAPSHOTS_SHOWN)
                        .map(|sn| SnapItem {
                            short: sn.id.chars().take(12).collect(),
                            at: rfc3339(sn.time_ms),
                            size: bytes(sn.bytes),
                            tags: sn.tags.join(", "),
                            restore: format!(
                                "chainops backup restore --repo {} --password-file {} {} --target {}",
                                sh(&v.repo),
                                sh(&v.password_file),
                                sn.id.chars().take(12).collect::<String>(),
                                sh(&format!("/var/tmp/restore-{}", v.node))
                            ),
                        })
                        .collect(),
                    None,
                ),
                Err((_, m)) => (Vec::new(), Some(m)),
            };
            jobs.push(JobItem {
                last: outcome(&v.last_backup),
                drill: outcome(&v.last_drill),
                next: v.next_backup_ms.map(rfc3339).unwrap_or_default(),
                next_drill: v.next_drill_ms.map(rfc3339).unwrap_or_default(),
                snapshots,
                snapshots_error,
                v,
            });
        }
    }
    let runs = match s.store.backup_runs(None, 50).await {
        Ok(r) => r,
        Err(e) => return super::error_page(c, ApiError::internal(e.kind(), e)),
    };
    let runs = runs
        .into_iter()
        .map(|r| RunItem {
            seconds: format!("{:.1}", (r.finished_ms - r.started_ms) as f64 / 1000.0),
            started: rfc3339(r.started_ms),
            snapshot: r
                .snapshot
                .as_deref()
                .map(|s| s.chars().take(12).collect())
                .unwrap_or_default(),
            error: r.error.unwrap_or_default(),
            job: r.job,
            kind: r.kind,
            ok: r.ok,
        })
        .collect();
    let operate = c.may(&Permission::OperateBackups);
    render(
        StatusCode::OK,
        BackupsPage {
            c,
            jobs,
            runs,
            operate,
        },
    )
}

async fn start(s: &AppState, c: Ctx, job: &str, drill: bool) -> Response {
    let Some(b) = &s.live().backups else {
        return super::error_page(c, ApiError::not_found("this daemon runs no backup jobs"));
    };
    match b.start(job, drill).await {
        Ok(()) => see_other("/backups"),
        Err((kind, message)) => super::error_page(c, ApiError { kind, message }),
    }
}

async fn run_backup(
    State(s): State<AppState>,
    c: Ctx,
    Path(job): Path<String>,
    Form(_f): Form<super::CsrfOnly>,
) -> Response {
    start(&s, c, &job, false).await
}

async fn run_drill(
    State(s): State<AppState>,
    c: Ctx,
    Path(job): Path<String>,
    Form(_f): Form<super::CsrfOnly>,
) -> Response {
    start(&s, c, &job, true).await
}

#[cfg(test)]
mod tests {
    use super::{bytes, sh};

    #[test]
    fn restore_commands_quote_what_the_shell_would_split() {
        assert_eq!(sh("/srv/repo"), "/srv/repo");
        assert_eq!(sh("s3://bucket/prefix"), "s3://bucket/prefix");
        assert_eq!(sh("/srv/my repo"), "'/srv/my repo'");
        assert_eq!(sh("it's"), "'it'\\''s'");
        assert_eq!(sh("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(sh(""), "''");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 * 1024 * 1024), "3.0 MiB");
    }
}
