//! `forget`: which snapshots a retention policy keeps (restic's rules: per group, the newest
//! N, and the newest per hour/day/week/month for the last N of each). A snapshot made by a
//! `[[backups]]` job (tag `job:<name>`) belongs to its job's group, whatever paths the capture
//! used (a dump-mode capture reads a fresh temporary directory every run); others group by
//! host and sources, as restic does.

use crate::tree::Snapshot;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// Retention policy; a snapshot is kept if any rule keeps it (`[[backups]] keep_*`,
/// `backup forget --keep-*`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// Newest N.
    pub last: usize,
    /// Newest per hour, for N hours that have snapshots.
    pub hourly: usize,
    /// Per day.
    pub daily: usize,
    /// Per ISO week.
    pub weekly: usize,
    /// Per month.
    pub monthly: usize,
}

impl Policy {
    /// True when no rule is set (forget would delete everything: refused).
    pub fn is_empty(&self) -> bool {
        self.last + self.hourly + self.daily + self.weekly + self.monthly == 0
    }
}

/// The decision for one snapshot.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Decision {
    /// Snapshot id.
    pub id: String,
    /// Kept?
    pub keep: bool,
    /// Rules that keep it.
    pub reasons: Vec<String>,
}

/// (year, month, day, hour) in UTC of epoch milliseconds.
fn civil(ms: i64) -> (i64, i64, i64, i64) {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = chainops_core::time::civil_from_days(secs.div_euclid(86_400));
    (y, m, d, secs.rem_euclid(86_400) / 3600)
}

/// A snapshot's group: `("job:<name>", [])`, else its host and sources.
type Group = (String, Vec<String>);

/// The tag the daemon puts on every snapshot of a `[[backups]]` job.
pub fn job_tag(job: &str) -> String {
    format!("job:{job}")
}

fn group_of(s: &Snapshot) -> Group {
    match s.tags.iter().find(|t| t.starts_with("job:")) {
        Some(t) => (t.clone(), Vec::new()),
        None => (s.host.clone(), s.sources.clone()),
    }
}
/// A rule: name, how many buckets to keep, the bucket of a time.
type Rule<'a> = (&'a str, usize, &'a dyn Fn(i64) -> i64);

/// Applies `policy`: deletes the snapshots it does not keep (unless `dry_run`) and returns
/// every decision. Data is freed only by a later prune. Call with the exclusive lock held.
pub fn forget(
    repo: &crate::repo::Repository,
    policy: &Policy,
    dry_run: bool,
) -> crate::Result<Vec<Decision>> {
    forget_where(repo, policy, dry_run, |_| true)
}

/// [`forget`] over the snapshots of one `[[backups]]` job only (a repository shared by
/// several jobs keeps each job's snapshots by that job's own policy).
pub fn forget_job(
    repo: &crate::repo::Repository,
    policy: &Policy,
    job: &str,
) -> crate::Result<Vec<Decision>> {
    let tag = job_tag(job);
    forget_where(repo, policy, false, |s| s.tags.contains(&tag))
}

fn forget_where(
    repo: &crate::repo::Repository,
    policy: &Policy,
    dry_run: bool,
    include: impl Fn(&Snapshot) -> bool,
) -> crate::Result<Vec<Decision>> {
    let snapshots: Vec<(String, Snapshot)> = repo
        .snapshots()?
        .into_iter()
        .filter(|(_, s)| include(s))
        .collect();
    let decisions = decide(&snapshots, policy);
    if !dry_run {
        for d in decisions.iter().filter(|d| !d.keep) {
            repo.backend().delete(&format!("snapshots/{}", d.id))?;
        }
    }
    Ok(decisions)
}

/// Applies `policy` to snapshots, per group (job, else host and sources).
pub fn decide(snapshots: &[(String, Snapshot)], policy: &Policy) -> Vec<Decision> {
    let mut groups: BTreeMap<Group, Vec<&(String, Snapshot)>> = BTreeMap::new();
    for s in snapshots {
        groups.entry(group_of(&s.1)).or_default().push(s);
    }
    let mut out = Vec::new();
    for (_, mut list) in groups {
        list.sort_by_key(|(_, s)| std::cmp::Reverse(s.time_ms));
        let mut reasons: Vec<Vec<String>> = vec![Vec::new(); list.len()];
        let buckets: [Rule<'_>; 5] = [
            ("last", policy.last, &|_| 0),
            ("hourly", policy.hourly, &|ms| {
                let (y, m, d, h) = civil(ms);
                ((y * 100 + m) * 100 + d) * 100 + h
            }),
            ("daily", policy.daily, &|ms| {
                let (y, m, d, _) = civil(ms);
                (y * 100 + m) * 100 + d
            }),
            ("weekly", policy.weekly, &|ms| {
                (ms.div_euclid(86_400_000) + 3).div_euclid(7)
            }),
            ("monthly", policy.monthly, &|ms| {
                let (y, m, _, _) = civil(ms);
                y * 100 + m
            }),
        ];
        for (name, n, bucket) in buckets {
            if n == 0 {
                continue;
            }
            let mut seen = HashSet::new();
            for (i, (_, s)) in list.iter().enumerate() {
                let b = if name == "last" {
                    i as i64
                } else {
                    bucket(s.time_ms)
                };
                if seen.len() >= n {
                    break;
                }
                if seen.insert(b) {
                    reasons[i].push(name.to_string());
                }
            }
        }
        for ((id, _), r) in list.iter().zip(reasons) {
            out.push(Decision {
                id: id.clone(),
                keep: !r.is_empty(),
                reasons: r,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{CaptureMode, SnapshotStats};

    fn snap(time_ms: i64) -> Snapshot {
        Snapshot {
            time_ms,
            host: "h".into(),
            sources: vec!["/d".into()],
            tags: vec![],
            tree: String::new(),
            parent: None,
            mode: CaptureMode::Live,
            node: None,
            stats: SnapshotStats::default(),
        }
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0));
        // 2026-11-26T05:46:00Z
        assert_eq!(civil(1_795_671_960_000), (2026, 11, 26, 5));
    }

    #[test]
    fn last_and_daily_keep_the_newest_of_each() {
        let h = 3_600_000;
        // Every 6 hours over 4 days.
        let list: Vec<(String, Snapshot)> = (0..16)
            .map(|i| (format!("s{i:02}"), snap(1_795_600_000_000 + i * 6 * h)))
            .collect();
        let d = decide(
            &list,
            &Policy {
                last: 2,
                daily: 3,
                ..Policy::default()
            },
        );
        let mut kept: Vec<&str> = d.iter().filter(|x| x.keep).map(|x| x.id.as_str()).collect();
        kept.sort();
        // last 2: s15, s14; daily 3: the newest of Nov 29 (s15), Nov 28 (s14), Nov 27 (s10).
        assert_eq!(kept, vec!["s10", "s14", "s15"]);
        assert!(decide(&list, &Policy::default()).iter().all(|x| !x.keep));
    }
}
