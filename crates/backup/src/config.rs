//! `[[backups]]`: scheduled backups of a node's data, retention and restore drills run by
//! the daemon (the `chainops backup …` jobs need none of this).

use crate::forget::Policy;
use crate::tree::CaptureMode;
use chainops_core::cron::Cron;
use chainops_core::node_config::NodeConfig;
use chainops_core::secret::redact_url;
use chainops_core::section::Problems;
use serde::{Deserialize, Serialize, Serializer};
use std::path::PathBuf;
use std::time::Duration;

/// `[[backups]]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawBackup {
    /// Job name (unique; appears in metrics, alerts and run records).
    pub name: Option<String>,
    /// Node (from `[[nodes]]`) whose data this job backs up.
    pub node: Option<String>,
    /// Cron schedule, UTC unless `timezone` is set (`"0 3 * * *"`, `@daily`).
    pub schedule: Option<String>,
    /// IANA time zone of `schedule` and `drill_schedule` (`"Asia/Shanghai"`; default UTC).
    pub timezone: Option<String>,
    /// Repository: a directory or `s3://bucket/prefix` (created on the first run).
    pub repo: Option<String>,
    /// File whose first line is the repository password.
    pub password_file: Option<PathBuf>,
    /// Directories to back up (default: the node's `data_dir`).
    pub paths: Option<Vec<PathBuf>>,
    /// `live`, `dump` (anvil state dump), `stop` (managed node stopped meanwhile) or `hook`.
    pub capture: Option<String>,
    /// Command run before the copy (`capture = "hook"`).
    pub pre_hook: Option<String>,
    /// Command run after the copy.
    pub post_hook: Option<String>,
    /// Tags added to every snapshot.
    pub tags: Option<Vec<String>>,
    /// Retention: snapshots to keep after each successful run.
    pub keep_last: Option<u32>,
    /// Retention: one per hour for this many hours.
    pub keep_hourly: Option<u32>,
    /// Retention: one per day for this many days.
    pub keep_daily: Option<u32>,
    /// Retention: one per week for this many weeks.
    pub keep_weekly: Option<u32>,
    /// Retention: one per month for this many months.
    pub keep_monthly: Option<u32>,
    /// Delete unreferenced data after forgetting (default true).
    pub prune: Option<bool>,
    /// A backup older than this is overdue (default: the longest gap of the schedule + 1h).
    pub overdue_after: Option<String>,
    /// Cron schedule of restore drills of the latest snapshot (none by default).
    pub drill_schedule: Option<String>,
    /// Node program the drill boots (default: the managed node's command, else anvil or
    /// litecoind/bitcoind from PATH).
    pub drill_command: Option<PathBuf>,
    /// S3 connection settings for an `s3://` repository.
    pub s3: Option<RawS3>,
}

/// `[backups.s3]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawS3 {
    /// Endpoint URL for non-AWS servers.
    pub endpoint: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Access key id.
    pub access_key_id: Option<String>,
    /// File holding the secret access key.
    pub secret_access_key_file: Option<PathBuf>,
    /// `path` or `virtual` (virtual-hosted style: Aliyun OSS, Tencent COS, Huawei OBS).
    pub addressing: Option<String>,
    /// HTTP(S) proxy for the requests.
    pub proxy: Option<String>,
}

/// S3 settings of a job.
#[derive(Debug, Clone, Serialize)]
pub struct S3Settings {
    /// Endpoint URL.
    pub endpoint: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Access key id.
    pub access_key_id: Option<String>,
    /// File holding the secret access key (read at each run).
    pub secret_access_key_file: Option<PathBuf>,
    /// `path` or `virtual` (none: path style with an endpoint, virtual on AWS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addressing: Option<String>,
    /// HTTP(S) proxy.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "chainops_core::section::ser_opt_url"
    )]
    pub proxy: Option<String>,
}

fn ser_capture<S: Serializer>(c: &CaptureMode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.config_name())
}

fn ser_cron<S: Serializer>(c: &Cron, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&c.to_string())
}

fn ser_opt_cron<S: Serializer>(c: &Option<Cron>, s: S) -> Result<S::Ok, S::Error> {
    match c {
        Some(c) => s.serialize_str(&c.to_string()),
        None => s.serialize_none(),
    }
}

/// A validated `[[backups]]` entry.
#[derive(Debug, Clone, Serialize)]
pub struct BackupJob {
    /// Job name.
    pub name: String,
    /// Node name.
    pub node: String,
    /// When to run.
    #[serde(serialize_with = "ser_cron")]
    pub schedule: Cron,
    /// Repository location.
    pub repo: String,
    /// Password file.
    pub password_file: PathBuf,
    /// Directories (empty for `dump`).
    pub paths: Vec<PathBuf>,
    /// Capture mode.
    #[serde(serialize_with = "ser_capture")]
    pub capture: CaptureMode,
    /// Pre hook.
    pub pre_hook: Option<String>,
    /// Post hook.
    pub post_hook: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Retention.
    pub keep: Policy,
    /// Prune after forgetting.
    pub prune: bool,
    /// Overdue threshold.
    #[serde(serialize_with = "chainops_core::section::ser_duration")]
    pub overdue_after: Duration,
    /// Drill schedule.
    #[serde(serialize_with = "ser_opt_cron")]
    pub drill_schedule: Option<Cron>,
    /// Node program for drills.
    pub drill_command: Option<PathBuf>,
    /// S3 settings.
    pub s3: Option<S3Settings>,
}

fn cron(p: &mut Problems, path: &str, text: Option<&str>, required: bool) -> Option<Cron> {
    match text {
        None if required => {
            p.add(
                path,
                "is missing; give a cron schedule such as \"0 3 * * *\" (UTC)",
            );
            None
        }
        None => None,
        Some(t) => match Cron::parse(t) {
            Ok(c) if c.next_after(0).is_some() => Some(c),
            Ok(_) => {
                p.add(path, format!("\"{t}\" never fires"));
                None
            }
            Err(e) => {
                p.add(path, e);
                None
            }
        },
    }
}

/// Validates every `[[backups]]` entry against the configured nodes, reporting every
/// problem into `p`. `written` holds every `[[nodes]]` name as written, valid or not, so a
/// job of a node whose entry has its own problems is not also reported as unknown.
pub fn validate(
    raw: Vec<RawBackup>,
    nodes: &[NodeConfig],
    written: &[String],
    p: &mut Problems,
) -> Vec<BackupJob> {
    let mut jobs: Vec<BackupJob> = Vec::new();
    for (i, b) in raw.into_iter().enumerate() {
        let at = |k: &str| format!("backups[{i}].{k}");
        let before = p.len();
        let name = match b.name {
            Some(n)
                if !n.is_empty()
                    && n.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) =>
            {
                if jobs.iter().any(|j| j.name == n) {
                    p.add(at("name"), format!("\"{n}\" is used by another backup job"));
                }
                n
            }
            Some(n) => {
                p.add(
                    at("name"),
                    format!("\"{n}\" may only contain letters, digits, '-', '_' and '.'"),
                );
                n
            }
            None => {
                p.add(
                    at("name"),
                    "is missing; name the job (e.g. \"anvil-1-nightly\")",
                );
                String::new()
            }
        };
        let node = match b
            .node
            .as_deref()
            .map(|n| (n, nodes.iter().find(|x| x.name == n)))
        {
            Some((_, Some(n))) => Some(n),
            // The node entry is there but invalid: its own problems are reported already.
            Some((n, None)) if written.iter().any(|w| w == n) => None,
            Some((n, None)) => {
                p.add(
                    at("node"),
                    format!("\"{n}\" is not a configured node ([[nodes]] name)"),
                );
                None
            }
            None => {
                p.add(
                    at("node"),
                    "is missing; a backup job belongs to one configured node",
                );
                None
            }
        };
        let zone = match b.timezone.as_deref() {
            None => None,
            Some(z) => chainops_core::cron::zone_named(z)
                .map_err(|e| p.add(at("timezone"), e))
                .ok(),
        };
        let in_zone = |c: Option<Cron>| match (&zone, c) {
            (Some(z), Some(c)) => Some(c.in_zone(z.clone())),
            (_, c) => c,
        };
        let schedule = in_zone(cron(p, &at("schedule"), b.schedule.as_deref(), true));
        let drill_schedule = in_zone(cron(
            p,
            &at("drill_schedule"),
            b.drill_schedule.as_deref(),
            false,
        ));
        let repo = match b.repo {
            Some(r) if r.starts_with("s3://") || !r.contains("://") && !r.is_empty() => r,
            Some(r) => {
                p.add(
                    at("repo"),
                    format!("\"{r}\" is neither a directory path nor s3://bucket/prefix"),
                );
                r
            }
            None => {
                p.add(
                    at("repo"),
                    "is missing; give a directory or s3://bucket/prefix",
                );
                String::new()
            }
        };
        let password_file = b.password_file.unwrap_or_else(|| {
            p.add(
                at("password_file"),
                "is missing; the daemon reads the repository password from this file",
            );
            PathBuf::new()
        });
        let c = b.capture.as_deref().unwrap_or("live");
        let capture = CaptureMode::from_config_name(c).unwrap_or_else(|| {
            p.add(
                at("capture"),
                format!("\"{c}\" is not a mode; use live, dump, stop or hook"),
            );
            CaptureMode::Live
        });
        if let Some(n) = node {
            if capture == CaptureMode::Stopped && n.managed.is_none() {
                p.add(at("capture"), format!("\"stop\" needs a managed node; {} is not managed (use hook with commands that stop it)", n.name));
            }
            if capture == CaptureMode::Dump && chainops_chain::family(n.kind).dump.is_none() {
                p.add(at("capture"), "\"dump\" works for anvil (evm) nodes only");
            }
        }
        if capture == CaptureMode::Hook && b.pre_hook.is_none() {
            p.add(
                at("pre_hook"),
                "is missing; capture = \"hook\" runs it before the copy",
            );
        }
        let paths = match (b.paths, capture) {
            (Some(ps), _) if !ps.is_empty() => ps,
            (_, CaptureMode::Dump) => Vec::new(),
            _ => match node.and_then(|n| n.data_dir.clone()) {
                Some(d) => vec![d],
                None => {
                    if node.is_some() {
                        p.add(at("paths"), "is missing and the node has no data_dir; list the directories to back up");
                    }
                    Vec::new()
                }
            },
        };
        let keep = Policy {
            last: b.keep_last.unwrap_or(0) as usize,
            hourly: b.keep_hourly.unwrap_or(0) as usize,
            daily: b.keep_daily.unwrap_or(0) as usize,
            weekly: b.keep_weekly.unwrap_or(0) as usize,
            monthly: b.keep_monthly.unwrap_or(0) as usize,
        };
        let default_overdue = schedule
            .as_ref()
            .and_then(|c| c.longest_gap_ms(0, 32))
            .map_or(Duration::from_secs(86_400), |g| {
                Duration::from_millis(g as u64)
            })
            + Duration::from_secs(3600);
        let overdue_after = p.duration(
            &at("overdue_after"),
            b.overdue_after.as_deref(),
            default_overdue,
            Duration::from_secs(60),
        );
        let s3 = b.s3.map(|s| {
            if let Some(a) = s
                .addressing
                .as_deref()
                .filter(|a| !matches!(*a, "path" | "virtual"))
            {
                p.add(
                    at("s3.addressing"),
                    format!("\"{a}\" is not path or virtual (Aliyun OSS needs virtual)"),
                );
            }
            for (key, v) in [("s3.endpoint", &s.endpoint), ("s3.proxy", &s.proxy)] {
                if let Some(u) = v
                    .as_deref()
                    .filter(|u| !chainops_core::section::is_http_url(u))
                {
                    p.add(
                        at(key),
                        format!("\"{}\" is not an http:// or https:// URL", redact_url(u)),
                    );
                }
            }
            S3Settings {
                endpoint: s.endpoint,
                region: s.region,
                access_key_id: s.access_key_id,
                secret_access_key_file: s.secret_access_key_file,
                addressing: s.addressing,
                proxy: s.proxy,
            }
        });
        if s3.is_some() && !repo.starts_with("s3://") {
            p.add(at("s3"), "is set but repo is not an s3:// location");
        }
        if p.len() > before {
            continue;
        }
        let (Some(node), Some(schedule)) = (node, schedule) else {
            continue;
        };
        jobs.push(BackupJob {
            name,
            node: node.name.clone(),
            schedule,
            repo,
            password_file,
            paths,
            capture,
            pre_hook: b.pre_hook,
            post_hook: b.post_hook,
            tags: b.tags.unwrap_or_default(),
            prune: b.prune.unwrap_or(true),
            keep,
            overdue_after,
            drill_schedule,
            drill_command: b.drill_command,
            s3,
        });
    }
    jobs
}

/// Rewrites a serialized [`BackupJob`] into the keys `[[backups]]` takes (`keep` becomes
/// the `keep_*` it was written as), for `config show`.
pub fn file_shape(b: &mut toml::Table) {
    if let Some(toml::Value::Table(keep)) = b.remove("keep") {
        for (k, v) in keep {
            if v.as_integer().is_some_and(|n| n > 0) {
                b.insert(format!("keep_{k}"), v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{BackupJob, RawBackup};
    use chainops_chain::config::RawNode;

    #[derive(serde::Deserialize)]
    struct File {
        nodes: Vec<RawNode>,
        backups: Vec<RawBackup>,
    }

    /// `[[nodes]]` and `[[backups]]` validated as the daemon does.
    fn validate(toml_text: &str) -> Result<Vec<BackupJob>, String> {
        chainops_core::section::parse_section(toml_text, |f: File, p| {
            let second = std::time::Duration::from_secs(1);
            let written: Vec<String> = f.nodes.iter().filter_map(|n| n.name.clone()).collect();
            let nodes = chainops_chain::config::validate(f.nodes, second, second, p);
            super::validate(f.backups, &nodes, &written, p)
        })
        .map_err(|e| e.to_string())
    }

    /// What `config show` prints for the jobs.
    fn shown(jobs: &[BackupJob]) -> String {
        #[derive(serde::Serialize)]
        struct Shown<'a> {
            backups: &'a [BackupJob],
        }
        toml::to_string_pretty(&Shown { backups: jobs }).expect("serializes")
    }

    const NODES: &str = r#"
[[nodes]]
name = "anvil-1"
chain = "devnet"
kind = "evm"
rpc_url = "http://127.0.0.1:8545"
data_dir = "/var/lib/anvil"
[[nodes]]
name = "ltc"
chain = "litecoin"
kind = "bitcoin"
rpc_url = "http://127.0.0.1:9332"
"#;

    #[test]
    fn a_complete_job_validates_with_defaults() {
        let c = validate(&format!(
            "{NODES}[[backups]]\nname = \"nightly\"\nnode = \"anvil-1\"\nschedule = \"@daily\"\nrepo = \"/b\"\npassword_file = \"/pw\"\nkeep_daily = 7\n"
        ))
        .expect("valid");
        let j = &c[0];
        assert_eq!(j.paths, vec![std::path::PathBuf::from("/var/lib/anvil")]);
        assert_eq!(j.overdue_after, std::time::Duration::from_secs(25 * 3600));
        assert!(j.prune && !j.keep.is_empty());
        assert!(shown(&c).contains("schedule = \"@daily\""));
        let zoned = validate(&format!(
                "{NODES}[[backups]]\nname = \"z\"\nnode = \"anvil-1\"\nschedule = \"0 3 * * *\"\ntimezone = \"Asia/Shanghai\"\nrepo = \"/b\"\npassword_file = \"/pw\"\n"
        ))
        .expect("zoned job");
        assert!(shown(&zoned).contains("schedule = \"TZ=Asia/Shanghai 0 3 * * *\""));
        let bad = validate(&format!(
                "{NODES}[[backups]]\nname = \"z\"\nnode = \"anvil-1\"\nschedule = \"0 3 * * *\"\ntimezone = \"Moon/Base\"\nrepo = \"/b\"\npassword_file = \"/pw\"\n"
        ))
        .expect_err("bad zone");
        assert!(
            bad.contains("backups[0].timezone: \"Moon/Base\" is not a time zone"),
            "{bad}"
        );
    }

    #[test]
    fn every_problem_is_named_with_its_path() {
        let e = validate(&format!(
            "{NODES}[[backups]]\nname = \"a b\"\nnode = \"nope\"\nschedule = \"0 3 * *\"\nrepo = \"ftp://x\"\n\
             [[backups]]\nname = \"cold\"\nnode = \"ltc\"\nschedule = \"@daily\"\nrepo = \"/b\"\npassword_file = \"/pw\"\ncapture = \"stop\"\n\
             [[backups]]\nname = \"dump\"\nnode = \"ltc\"\nschedule = \"@daily\"\nrepo = \"/b\"\npassword_file = \"/pw\"\ncapture = \"dump\"\ndrill_schedule = \"0 0 31 2 *\"\n[backups.s3]\nendpoint = \"http://s3\"\n"
        ))
        .expect_err("invalid");
        for needle in [
            "backups[0].name: \"a b\" may only contain",
            "backups[0].node: \"nope\" is not a configured node",
            "backups[0].schedule: \"0 3 * *\" has 4 fields",
            "backups[0].repo: \"ftp://x\" is neither",
            "backups[0].password_file: is missing",
            "backups[1].capture: \"stop\" needs a managed node",
            "backups[1].paths: is missing and the node has no data_dir",
            "backups[2].capture: \"dump\" works for anvil (evm) nodes only",
            "backups[2].drill_schedule: \"0 0 31 2 *\" never fires",
            "backups[2].s3: is set but repo is not an s3:// location",
        ] {
            assert!(e.contains(needle), "{needle}\n{e}");
        }
    }

    #[test]
    fn the_chinese_cloud_examples_validate_and_bad_s3_settings_are_named() {
        for &(endpoint, region, bucket) in crate::s3::CLOUD_EXAMPLES {
            let jobs = validate(&format!(
                "{NODES}[[backups]]\nname = \"cloud\"\nnode = \"anvil-1\"\nschedule = \"@daily\"\nrepo = \"s3://{bucket}/geth-1\"\npassword_file = \"/pw\"\n[backups.s3]\nendpoint = \"{endpoint}\"\nregion = \"{region}\"\naddressing = \"virtual\"\naccess_key_id = \"AK\"\nsecret_access_key_file = \"/etc/chainops/s3.secret\"\nproxy = \"http://proxy.internal:3128\"\n"
            ))
            .unwrap_or_else(|e| panic!("{endpoint}: {e}"));
            let s3 = jobs[0].s3.as_ref().expect("s3");
            assert_eq!(s3.addressing.as_deref(), Some("virtual"));
            let shown = shown(&jobs);
            assert!(
                shown.contains("addressing = \"virtual\"") && shown.contains("proxy ="),
                "{shown}"
            );
        }
        let e = validate(&format!(
            "{NODES}[[backups]]\nname = \"cloud\"\nnode = \"anvil-1\"\nschedule = \"@daily\"\nrepo = \"s3://b/p\"\npassword_file = \"/pw\"\n[backups.s3]\nendpoint = \"oss-cn-hangzhou.aliyuncs.com\"\naddressing = \"vhost\"\nproxy = \"socks://x\"\n"
        ))
        .expect_err("refused");
        for key in ["s3.addressing", "s3.endpoint", "s3.proxy"] {
            assert!(e.contains(&format!("backups[0].{key}")), "{key}: {e}");
        }
    }
}
