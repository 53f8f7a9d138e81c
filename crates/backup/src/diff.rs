//! `diff A B`: paths added, removed and changed between two snapshots. Directories whose
//! tree ids are equal are skipped whole, so the cost follows the change, not the size.

use crate::Result;
use crate::repo::Repository;
use crate::tree::{Node, NodeKind, Tree};
use serde::Serialize;

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `+` added, `-` removed, `M` content changed, `U` metadata only (mode, time, link).
    pub op: char,
    /// Path inside the snapshot.
    pub path: String,
}

/// Differences from snapshot `a` to snapshot `b`.
pub fn diff(repo: &Repository, a: &str, b: &str) -> Result<Vec<Change>> {
    let (_, sa) = repo.snapshot(a)?;
    let (_, sb) = repo.snapshot(b)?;
    let mut out = Vec::new();
    let (ta, tb) = (repo.read_tree(&sa.tree)?, repo.read_tree(&sb.tree)?);
    walk(repo, &ta, &tb, "", &mut out)?;
    Ok(out)
}

fn walk(repo: &Repository, a: &Tree, b: &Tree, prefix: &str, out: &mut Vec<Change>) -> Result<()> {
    let path = |n: &Node| format!("{prefix}/{}", n.name);
    let (mut i, mut j) = (0, 0);
    while i < a.nodes.len() || j < b.nodes.len() {
        let (x, y) = (a.nodes.get(i), b.nodes.get(j));
        match (x, y) {
            (Some(x), Some(y)) if x.name == y.name => {
                compare(repo, x, y, &path(x), out)?;
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x.name < y.name => {
                removed_or_added(repo, x, &path(x), '-', out)?;
                i += 1;
            }
            (Some(_), Some(y)) | (None, Some(y)) => {
                removed_or_added(repo, y, &path(y), '+', out)?;
                j += 1;
            }
            (Some(x), None) => {
                removed_or_added(repo, x, &path(x), '-', out)?;
                i += 1;
            }
            (None, None) => break,
        }
    }
    Ok(())
}

fn removed_or_added(
    repo: &Repository,
    n: &Node,
    p: &str,
    op: char,
    out: &mut Vec<Change>,
) -> Result<()> {
    out.push(Change {
        op,
        path: p.to_string(),
    });
    if n.kind == NodeKind::Dir
        && let Some(sub) = &n.subtree
    {
        let t = repo.read_tree(sub)?;
        for c in &t.nodes {
            removed_or_added(repo, c, &format!("{p}/{}", c.name), op, out)?;
        }
    }
    Ok(())
}

fn compare(repo: &Repository, x: &Node, y: &Node, p: &str, out: &mut Vec<Change>) -> Result<()> {
    if x.kind != y.kind {
        removed_or_added(repo, x, p, '-', out)?;
        return removed_or_added(repo, y, p, '+', out);
    }
    match x.kind {
        NodeKind::Dir if x.subtree != y.subtree => {
            let ta = match &x.subtree {
                Some(s) => repo.read_tree(s)?,
                None => Tree::default(),
            };
            let tb = match &y.subtree {
                Some(s) => repo.read_tree(s)?,
                None => Tree::default(),
            };
            walk(repo, &ta, &tb, p, out)?;
        }
        NodeKind::Dir => {}
        NodeKind::File if x.content != y.content || x.size != y.size => out.push(Change {
            op: 'M',
            path: p.into(),
        }),
        _ if x.mode != y.mode || x.mtime_ns != y.mtime_ns || x.target != y.target => {
            out.push(Change {
                op: 'U',
                path: p.into(),
            })
        }
        _ => {}
    }
    Ok(())
}
