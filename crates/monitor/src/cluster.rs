//! The daemon cluster (`[cluster] enabled = true`): several `chainops serve` processes on one
//! PostgreSQL store share the work.
//!
//! Every member heartbeats into `cluster_members` each `heartbeat` and tries to take or renew
//! the leader lease (`cluster_leader`, `lease` long, a fencing epoch that grows with each
//! change of leader). The leader assigns every configured node to a live member by
//! rendezvous hashing (a join or a death moves only the nodes it must) and writes the
//! assignments fenced by its epoch; each member polls the nodes assigned to it and nothing
//! else ([`Membership::owns`]). The leader alone runs what must happen once: the alert
//! engine, the outbox, the schedulers (the binary gates them on [`Membership::leader`]).
//!
//! Failure handling is by leases, on the database's clock: a leader that cannot renew its
//! lease for `lease − heartbeat` stops leading before anyone else may take over (its lease
//! has not ended yet), so two members never both lead. Polling goes on through a database
//! outage (nobody can reassign nodes without it); only a member cut off from a database the
//! others still reach polls nodes twice, until it reaches it again. A member killed outright is replaced when its lease ends:
//! at most `lease + heartbeat` for the leader, plus one heartbeat for its nodes to be polled
//! by their new members (8 s + 2 s + 2 s with the defaults).
//!
//! Standalone daemons use [`Membership::standalone`]: they own every node and always lead.

use crate::config::ClusterConfig;
use chainops_store::Store;
use chainops_store::cluster::{LeaderRow, MemberRow};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::Instant;
use tokio::sync::watch;

/// Members not seen for this long are dropped from the table (they stay listed as dead
/// until then).
const FORGET_AFTER_MS: i64 = 24 * 3_600_000;

/// What this daemon may do: which nodes it polls, whether it leads.
#[derive(Debug)]
pub struct Membership {
    clustered: bool,
    owned: RwLock<HashSet<String>>,
    changes: watch::Sender<u64>,
    leader: watch::Sender<bool>,
}

impl Membership {
    /// A daemon on its own: owns every node, always leads.
    pub fn standalone() -> Arc<Self> {
        Arc::new(Self {
            clustered: false,
            owned: RwLock::new(HashSet::new()),
            changes: watch::channel(0).0,
            leader: watch::channel(true).0,
        })
    }

    /// A cluster member before its first round: owns nothing, does not lead.
    pub fn member() -> Arc<Self> {
        Arc::new(Self {
            clustered: true,
            owned: RwLock::new(HashSet::new()),
            changes: watch::channel(0).0,
            leader: watch::channel(false).0,
        })
    }

    /// Whether this daemon is a cluster member.
    pub fn is_clustered(&self) -> bool {
        self.clustered
    }

    /// Whether this daemon polls `node` now.
    pub fn owns(&self, node: &str) -> bool {
        !self.clustered
            || self
                .owned
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .contains(node)
    }

    /// Whether this daemon leads now.
    pub fn is_leader(&self) -> bool {
        *self.leader.borrow()
    }

    /// Follows leadership (`true` while this daemon leads).
    pub fn leader(&self) -> watch::Receiver<bool> {
        self.leader.subscribe()
    }

    /// Ticks whenever the set of owned nodes changes.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn set_owned(&self, nodes: HashSet<String>) {
        let mut owned = self.owned.write().unwrap_or_else(|p| p.into_inner());
        if *owned != nodes {
            *owned = nodes;
            drop(owned);
            self.changes.send_modify(|v| *v += 1);
        }
    }

    fn set_leader(&self, leads: bool) {
        self.leader.send_if_modified(|l| {
            let changed = *l != leads;
            *l = leads;
            changed
        });
    }
}

/// A member as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct MemberStatus {
    /// The member's row.
    #[serde(flatten)]
    pub row: MemberRow,
    /// Heard of within the lease.
    pub alive: bool,
    /// Nodes assigned to it.
    pub nodes: usize,
}

/// The cluster as this member last saw it (`GET /api/v1/cluster`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClusterStatus {
    /// Whether this daemon is a cluster member.
    pub enabled: bool,
    /// This member's name.
    pub member: String,
    /// Whether this member leads.
    pub is_leader: bool,
    /// The leader lease.
    pub leader: Option<LeaderRow>,
    /// Every member on record.
    pub members: Vec<MemberStatus>,
    /// Nodes this member polls.
    pub owned_nodes: usize,
    /// Configured nodes no live member polls yet.
    pub unassigned_nodes: usize,
    /// The last round that reached the store, epoch ms (database clock).
    pub last_round_ms: Option<i64>,
    /// The last round's error, if it failed.
    pub last_error: Option<String>,
}

/// Runs this member's rounds: heartbeat, lease, assignments.
pub struct Coordinator {
    store: Store,
    cfg: ClusterConfig,
    member: String,
    me: MemberRow,
    nodes: RwLock<Vec<String>>,
    membership: Arc<Membership>,
    status: RwLock<ClusterStatus>,
}

impl Coordinator {
    /// A coordinator for `member` (answering on `addr`, signing the audit trail with
    /// `audit_key`, hex) over the configured `nodes`. The store should be a pool of its own
    /// so a busy daemon never delays a heartbeat.
    pub fn new(
        store: Store,
        cfg: ClusterConfig,
        member: String,
        addr: String,
        audit_key: String,
        nodes: Vec<String>,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            cfg,
            status: RwLock::new(ClusterStatus {
                enabled: true,
                member: member.clone(),
                ..ClusterStatus::default()
            }),
            me: MemberRow {
                member: member.clone(),
                addr,
                version: env!("CARGO_PKG_VERSION").into(),
                audit_key,
                started_ms: 0,
                seen_ms: 0,
            },
            member,
            nodes: RwLock::new(nodes),
            membership: Membership::member(),
        })
    }

    /// Checks, before joining, that this member can: no live member has its name (two
    /// processes with one name would both poll its nodes), and the live members sign the
    /// audit trail with this member's key (or checkpoints one signs fail verification on
    /// another). `key_file` names the key file in the message.
    pub async fn check_join(&self, key_file: &str) -> Result<(), String> {
        let fail =
            |e: chainops_store::StoreError| format!("cannot read the cluster's members: {e}");
        let now = self.store.db_now_ms().await.map_err(fail)?;
        let lease_ms = self.cfg.lease.as_millis() as i64;
        for m in self.store.cluster_members().await.map_err(fail)? {
            if m.seen_ms < now - lease_ms {
                continue;
            }
            if m.member == self.member && m.addr != self.me.addr {
                return Err(format!(
                    "a live member at {} is already called \"{}\": give this one another [cluster] member name \
                     (if that was this member before a restart on another address, start again after {})",
                    m.addr,
                    m.member,
                    chainops_core::duration::format_duration(self.cfg.lease)
                ));
            }
            if m.member != self.member && m.audit_key != self.me.audit_key {
                return Err(format!(
                    "member \"{}\" signs the audit trail with another key: every member needs the same \
                     {key_file} (copy it from that member's data_dir into this one's, then start again)",
                    m.member
                ));
            }
        }
        Ok(())
    }

    /// What this member may do.
    pub fn membership(&self) -> Arc<Membership> {
        self.membership.clone()
    }

    /// Replaces the configured node names (a reload).
    pub fn set_nodes(&self, nodes: Vec<String>) {
        *self.nodes.write().unwrap_or_else(|p| p.into_inner()) = nodes;
    }

    /// The cluster as last seen.
    pub fn status(&self) -> ClusterStatus {
        self.status
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Runs rounds every `heartbeat` until `stop`, then leaves the cluster (a successor
    /// takes over at once instead of waiting for the lease to end).
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let (lease, heartbeat) = (self.cfg.lease, self.cfg.heartbeat);
        // A leader whose last good round is this old steps down: the next check comes one
        // heartbeat later, still before its lease (renewed at that round) ends.
        let margin = lease.saturating_sub(heartbeat * 2);
        let mut last_ok: Option<Instant> = None;
        // Since when rounds have succeeded without a break (a fresh start or the end of an
        // outage resets it).
        let mut connected_since: Option<Instant> = None;
        let mut tick = tokio::time::interval(self.cfg.heartbeat);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => break,
            }
            let sent = Instant::now();
            let steady = connected_since.is_some_and(|t| t.elapsed() >= lease);
            // A round stuck on an unreachable database must not keep the loop from fencing.
            let round = match tokio::time::timeout(heartbeat, self.round(steady)).await {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(_) => Err(format!(
                    "the round took longer than the heartbeat ({}); is the store reachable?",
                    chainops_core::duration::format_duration(heartbeat)
                )),
            };
            match round {
                Ok(()) => {
                    last_ok = Some(sent);
                    connected_since.get_or_insert(sent);
                }
                Err(e) => {
                    connected_since = None;
                    tracing::warn!(member = %self.member, error = %e, "cluster round failed; retrying at the next heartbeat");
                    self.status
                        .write()
                        .unwrap_or_else(|p| p.into_inner())
                        .last_error = Some(e);
                }
            }
            // Self-fencing: without a successful round for lease − 2 × heartbeat, another
            // member may lead soon; stop leading first. Polling goes on: nobody can reassign the
            // nodes without the database, so an outage of it does not blind the monitor.
            if last_ok.is_none_or(|t| t.elapsed() > margin) && self.membership.is_leader() {
                tracing::error!(member = %self.member, "cannot renew the leader lease; stepping down (polling goes on)");
                self.membership.set_leader(false);
                self.status
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .is_leader = false;
            }
        }
        self.membership.set_leader(false);
        self.membership.set_owned(HashSet::new());
        if let Err(e) = self.store.cluster_leave(&self.member).await {
            tracing::warn!(member = %self.member, error = %e, "cannot leave the cluster; the others take over when its lease ends");
        }
    }

    /// One round: heartbeat, lease, (as leader) assignments, then this member's nodes.
    /// `steady`: this member has reached the store for a whole lease; until then, as leader,
    /// it takes no nodes from members that still hold some (after a database outage every
    /// heartbeat is old, and the first member back would otherwise grab the whole fleet).
    async fn round(&self, steady: bool) -> Result<(), chainops_store::StoreError> {
        let lease_ms = self.cfg.lease.as_millis() as i64;
        let now = self.store.cluster_heartbeat(&self.me).await?;
        let lease = self.store.cluster_try_lead(&self.member, lease_ms).await?;
        let leads = lease.member == self.member && lease.expires_ms > now;
        let was = self.membership.is_leader();
        if leads && !was {
            tracing::info!(member = %self.member, epoch = lease.epoch, "this member leads the cluster now");
        } else if was && !leads {
            tracing::warn!(member = %self.member, leader = %lease.member, "another member leads the cluster now");
        }
        let members = self.store.cluster_members().await?;
        let alive: Vec<String> = members
            .iter()
            .filter(|m| m.seen_ms >= now - lease_ms)
            .map(|m| m.member.clone())
            .collect();
        let nodes = self.nodes.read().unwrap_or_else(|p| p.into_inner()).clone();
        let mut current: HashMap<String, String> = self
            .store
            .cluster_assignments()
            .await?
            .into_iter()
            .collect();
        if leads {
            let mut candidates = alive.clone();
            if !steady {
                for m in current.values() {
                    if !candidates.contains(m) && members.iter().any(|r| &r.member == m) {
                        candidates.push(m.clone());
                    }
                }
            }
            let desired = assign(&nodes, &candidates);
            let set: Vec<(String, String)> = desired
                .iter()
                .filter(|(n, m)| current.get(*n) != Some(*m))
                .map(|(n, m)| (n.clone(), m.clone()))
                .collect();
            let remove: Vec<String> = current
                .keys()
                .filter(|n| !desired.contains_key(*n))
                .cloned()
                .collect();
            if !set.is_empty() || !remove.is_empty() {
                if self
                    .store
                    .cluster_assign(&self.member, lease.epoch, &set, &remove)
                    .await?
                {
                    tracing::info!(
                        moved = set.len(),
                        removed = remove.len(),
                        members = alive.len(),
                        "nodes assigned to cluster members"
                    );
                    current = desired;
                } else {
                    tracing::warn!(member = %self.member, "lost the lease while assigning nodes");
                }
            }
            if let Err(e) = self.store.cluster_forget(now - FORGET_AFTER_MS).await {
                tracing::warn!(error = %e, "cannot drop long-dead cluster members");
            }
        }
        self.membership.set_leader(leads);
        let configured: HashSet<&String> = nodes.iter().collect();
        let mine: HashSet<String> = current
            .iter()
            .filter(|(n, m)| **m == self.member && configured.contains(n))
            .map(|(n, _)| n.clone())
            .collect();
        let owned_nodes = mine.len();
        self.membership.set_owned(mine);
        let mut per_member: BTreeMap<&str, usize> = BTreeMap::new();
        for m in current.values() {
            *per_member.entry(m.as_str()).or_default() += 1;
        }
        let alive_set: HashSet<&str> = alive.iter().map(String::as_str).collect();
        let unassigned_nodes = nodes
            .iter()
            .filter(|n| {
                current
                    .get(*n)
                    .is_none_or(|m| !alive_set.contains(m.as_str()))
            })
            .count();
        *self.status.write().unwrap_or_else(|p| p.into_inner()) = ClusterStatus {
            enabled: true,
            member: self.member.clone(),
            is_leader: leads,
            leader: Some(lease),
            members: members
                .into_iter()
                .map(|row| MemberStatus {
                    alive: alive_set.contains(row.member.as_str()),
                    nodes: per_member.get(row.member.as_str()).copied().unwrap_or(0),
                    row,
                })
                .collect(),
            owned_nodes,
            unassigned_nodes,
            last_round_ms: Some(now),
            last_error: None,
        };
        Ok(())
    }
}

impl chainops_core::ports::MetricsSource for Coordinator {
    fn render(&self, _now_ms: i64) -> String {
        use chainops_core::exposition::{header, sample};
        let st = self.status();
        let mut out = String::new();
        let me = [("member", st.member.as_str())];
        header(
            &mut out,
            "chainops_cluster_leader",
            "gauge",
            "1 while this cluster member leads (runs alerting, the outbox and the schedulers).",
        );
        sample(
            &mut out,
            "chainops_cluster_leader",
            &me,
            f64::from(u8::from(st.is_leader)),
        );
        header(
            &mut out,
            "chainops_cluster_members",
            "gauge",
            "Cluster members this member sees alive (heard of within the lease).",
        );
        let alive = st.members.iter().filter(|m| m.alive).count();
        sample(&mut out, "chainops_cluster_members", &me, alive as f64);
        header(
            &mut out,
            "chainops_cluster_owned_nodes",
            "gauge",
            "Nodes this member polls.",
        );
        sample(
            &mut out,
            "chainops_cluster_owned_nodes",
            &me,
            st.owned_nodes as f64,
        );
        header(
            &mut out,
            "chainops_cluster_unassigned_nodes",
            "gauge",
            "Configured nodes no live member polls (non-zero only during a takeover).",
        );
        sample(
            &mut out,
            "chainops_cluster_unassigned_nodes",
            &me,
            st.unassigned_nodes as f64,
        );
        header(
            &mut out,
            "chainops_cluster_epoch",
            "gauge",
            "The leader lease's epoch: grows by one with every change of leader.",
        );
        let epoch = st.leader.as_ref().map_or(0, |l| l.epoch);
        sample(&mut out, "chainops_cluster_epoch", &me, epoch as f64);
        out
    }
}

/// The default member name: the host name and the listen port (`db-1:8080`).
pub fn default_member_name(port: u16) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "chainops".into());
    format!("{host}:{port}")
}

/// Assigns every node to one of `members` by rendezvous (highest random weight) hashing:
/// each node goes to the member whose hash with it is highest, so a member joining takes
/// about 1/n of the nodes from the others and a member leaving hands only its own on.
/// Deterministic across processes and versions (FNV-1a, then a 64-bit finaliser).
pub fn assign(nodes: &[String], members: &[String]) -> HashMap<String, String> {
    let mut out = HashMap::with_capacity(nodes.len());
    if members.is_empty() {
        return out;
    }
    for node in nodes {
        if let Some(best) = members.iter().max_by_key(|m| (weight(m, node), m.as_str())) {
            out.insert(node.clone(), best.clone());
        }
    }
    out
}

fn weight(member: &str, node: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in member.bytes().chain([0xff]).chain(node.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // splitmix64's finaliser: FNV alone clusters on similar names.
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(prefix: &str, n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i}")).collect()
    }

    #[test]
    fn rendezvous_spreads_evenly_and_moves_only_what_it_must() {
        let nodes = names("fake-", 3000);
        let three = names("member-", 3);
        let a = assign(&nodes, &three);
        assert_eq!(a.len(), 3000);
        let mut counts: HashMap<&String, usize> = HashMap::new();
        for m in a.values() {
            *counts.entry(m).or_default() += 1;
        }
        for (m, c) in &counts {
            assert!((850..=1150).contains(c), "{m} got {c} of 3000");
        }
        // A member dies: only its nodes move.
        let two = vec![three[0].clone(), three[2].clone()];
        let b = assign(&nodes, &two);
        for n in &nodes {
            if a[n] != three[1] {
                assert_eq!(a[n], b[n], "{n} moved though its member lived");
            }
        }
        // A member joins: it takes about a quarter, the rest stay.
        let four = names("member-", 4);
        let c = assign(&nodes, &four);
        let moved = nodes.iter().filter(|n| a[*n] != c[*n]).count();
        assert!(nodes.iter().all(|n| a[n] == c[n] || c[n] == four[3]));
        assert!((600..=900).contains(&moved), "{moved} moved");
        assert!(assign(&nodes, &[]).is_empty());
    }

    #[test]
    fn multi_byte_and_empty_names_hash_without_trouble() {
        let nodes = vec!["节点-一".to_string(), String::new(), "n".repeat(10_000)];
        let got = assign(&nodes, &["成员".to_string(), "b".to_string()]);
        assert_eq!(got.len(), 3);
        assert_ne!(
            weight("a", "bc"),
            weight("ab", "c"),
            "the separator keeps names apart"
        );
    }

    #[test]
    fn standalone_owns_everything_and_leads() {
        let m = Membership::standalone();
        assert!(m.owns("anything") && m.is_leader() && !m.is_clustered());
        let c = Membership::member();
        assert!(!c.owns("n1") && !c.is_leader());
        let changes = c.changes();
        c.set_owned(["n1".to_string()].into());
        assert!(changes.has_changed().unwrap());
        assert!(c.owns("n1") && !c.owns("n2"));
        assert_eq!(c.owned.read().unwrap().len(), 1);
    }
}
