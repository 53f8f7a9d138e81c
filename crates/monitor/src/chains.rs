//! The fleet by chain: one [`ChainReport`] per configured chain, built from the node reports
//! (`GET /api/v1/chains` and the console's fleet page add open alerts and backup state).

use crate::fleet::NodeReport;
use chainops_core::node::{NodeKind, NodeStatus};
use serde::Serialize;

/// Upper bounds (inclusive) of the lag buckets, in blocks behind the chain's best node; a
/// last bucket holds everything above the final bound.
pub const LAG_BUCKETS: &[u64] = &[0, 2, 10, 100];

/// One chain across its nodes.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChainReport {
    /// Chain name (`chain` in `[[nodes]]`).
    pub chain: String,
    /// The families of its nodes (one, unless a chain is served by several).
    pub families: Vec<NodeKind>,
    /// Nodes configured on it.
    pub nodes: usize,
    /// Nodes per status.
    pub statuses: StatusCounts,
    /// Highest height among its nodes that are up.
    pub best_height: Option<u64>,
    /// Whether a strict majority of its nodes is `ok`; `None` until every node was polled.
    pub quorum: Option<bool>,
    /// Nodes answering RPC.
    pub endpoints_up: usize,
    /// How far behind the chain's best its nodes are.
    pub lag: LagDistribution,
}

/// Nodes per status.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct StatusCounts {
    /// `ok`.
    pub ok: usize,
    /// `syncing`.
    pub syncing: usize,
    /// `lagging`.
    pub lagging: usize,
    /// `stalled`.
    pub stalled: usize,
    /// `down`.
    pub down: usize,
}

/// One bucket of a [`LagDistribution`].
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LagBucket {
    /// `0`, `1-2`, `3-10`, `11-100` or `>100` (blocks).
    pub blocks: String,
    /// Nodes in it.
    pub nodes: usize,
}

/// How far behind the chain's best node its nodes are.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LagDistribution {
    /// Largest lag, blocks.
    pub max: Option<u64>,
    /// Median lag, blocks (the lower middle for an even count).
    pub median: Option<u64>,
    /// Nodes per bucket: `0`, `1-2`, `3-10`, `11-100`, `>100` (see [`LAG_BUCKETS`]).
    pub buckets: Vec<LagBucket>,
    /// Nodes whose lag is not known (down, or no head yet).
    pub unknown: usize,
}

/// The bucket labels of [`LAG_BUCKETS`]: `0`, `1-2`, `3-10`, `11-100`, `>100`.
pub fn lag_bucket_labels() -> Vec<String> {
    let mut out = Vec::with_capacity(LAG_BUCKETS.len() + 1);
    let mut low = 0;
    for &b in LAG_BUCKETS {
        out.push(if low == b {
            b.to_string()
        } else {
            format!("{low}-{b}")
        });
        low = b + 1;
    }
    out.push(format!(">{}", LAG_BUCKETS.last().copied().unwrap_or(0)));
    out
}

impl LagDistribution {
    fn of(lags: &mut [u64], unknown: usize) -> Self {
        lags.sort_unstable();
        let mut buckets: Vec<LagBucket> = lag_bucket_labels()
            .into_iter()
            .map(|blocks| LagBucket { blocks, nodes: 0 })
            .collect();
        for &l in lags.iter() {
            let i = LAG_BUCKETS
                .iter()
                .position(|&b| l <= b)
                .unwrap_or(LAG_BUCKETS.len());
            buckets[i].nodes += 1;
        }
        LagDistribution {
            max: lags.last().copied(),
            median: (!lags.is_empty()).then(|| lags[(lags.len() - 1) / 2]),
            buckets,
            unknown,
        }
    }
}

/// What a chain report needs of one node.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    chain: &'a str,
    kind: NodeKind,
    status: NodeStatus,
    up: bool,
    height: Option<u64>,
    behind: Option<u64>,
    polled: bool,
}

impl<'a> From<&'a NodeReport> for Line<'a> {
    fn from(r: &'a NodeReport) -> Self {
        Line {
            chain: &r.chain,
            kind: r.kind,
            status: r.status,
            up: r.up,
            height: r.height,
            behind: r.blocks_behind,
            polled: r.last_poll.is_some(),
        }
    }
}

/// One report per chain, sorted by chain name.
pub fn chain_reports(reports: &[NodeReport]) -> Vec<ChainReport> {
    summarise(&reports.iter().map(Line::from).collect::<Vec<_>>())
}

fn summarise(lines: &[Line<'_>]) -> Vec<ChainReport> {
    let mut chains: Vec<&str> = lines.iter().map(|r| r.chain).collect();
    chains.sort_unstable();
    chains.dedup();
    chains
        .into_iter()
        .map(|chain| {
            let nodes: Vec<&Line<'_>> = lines.iter().filter(|r| r.chain == chain).collect();
            let mut families: Vec<NodeKind> = Vec::new();
            for r in &nodes {
                if !families.contains(&r.kind) {
                    families.push(r.kind);
                }
            }
            let count = |s: NodeStatus| nodes.iter().filter(|r| r.status == s).count();
            let ok = count(NodeStatus::Ok);
            let mut lags: Vec<u64> = nodes
                .iter()
                .filter(|r| r.up)
                .filter_map(|r| r.behind)
                .collect();
            let unknown = nodes.len() - lags.len();
            ChainReport {
                chain: chain.to_string(),
                families,
                nodes: nodes.len(),
                statuses: StatusCounts {
                    ok,
                    syncing: count(NodeStatus::Syncing),
                    lagging: count(NodeStatus::Lagging),
                    stalled: count(NodeStatus::Stalled),
                    down: count(NodeStatus::Down),
                },
                best_height: nodes.iter().filter(|r| r.up).filter_map(|r| r.height).max(),
                quorum: nodes
                    .iter()
                    .all(|r| r.polled)
                    .then_some(ok * 2 > nodes.len()),
                endpoints_up: nodes.iter().filter(|r| r.up).count(),
                lag: LagDistribution::of(&mut lags, unknown),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(
        chain: &'static str,
        kind: &'static str,
        status: NodeStatus,
        behind: Option<u64>,
    ) -> Line<'static> {
        Line {
            chain,
            kind: NodeKind::new(kind),
            status,
            up: status != NodeStatus::Down,
            height: behind.map(|b| 100 - b.min(100)),
            behind,
            polled: true,
        }
    }

    #[test]
    fn chains_summarise_their_nodes() {
        let reports = vec![
            node("eth", "evm", NodeStatus::Ok, Some(0)),
            node("xmr", "monero", NodeStatus::Ok, Some(0)),
            node("eth", "evm", NodeStatus::Lagging, Some(7)),
            node("eth", "evm", NodeStatus::Down, None),
            node("eth", "evm", NodeStatus::Ok, Some(1)),
            node("eth", "evm", NodeStatus::Syncing, Some(5000)),
        ];
        let c = summarise(&reports);
        assert_eq!(c.len(), 2);
        let eth = &c[0];
        assert_eq!(eth.chain, "eth");
        assert_eq!(eth.families, vec![NodeKind::new("evm")]);
        assert_eq!(eth.nodes, 5);
        assert_eq!(eth.endpoints_up, 4);
        assert_eq!(eth.best_height, Some(100));
        // 2 of 5 ok: no majority.
        assert_eq!(eth.quorum, Some(false));
        assert_eq!(
            eth.statuses,
            StatusCounts {
                ok: 2,
                syncing: 1,
                lagging: 1,
                stalled: 0,
                down: 1
            }
        );
        assert_eq!(eth.lag.max, Some(5000));
        assert_eq!(eth.lag.median, Some(1));
        assert_eq!(eth.lag.unknown, 1);
        let b: Vec<(&str, usize)> = eth
            .lag
            .buckets
            .iter()
            .map(|b| (b.blocks.as_str(), b.nodes))
            .collect();
        assert_eq!(
            b,
            vec![
                ("0", 1),
                ("1-2", 1),
                ("3-10", 1),
                ("11-100", 0),
                (">100", 1)
            ]
        );
        assert_eq!(c[1].quorum, Some(true));
    }

    #[test]
    fn quorum_is_unknown_until_every_node_was_polled_and_empty_chains_have_no_lag() {
        let mut n = node("x", "evm", NodeStatus::Down, None);
        n.polled = false;
        let c = summarise(&[n]);
        assert_eq!(c[0].quorum, None);
        assert_eq!(c[0].lag.max, None);
        assert_eq!(c[0].lag.median, None);
        assert_eq!(c[0].best_height, None);
        assert!(chain_reports(&[]).is_empty());
    }
}
