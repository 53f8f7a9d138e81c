//! Directory listings (tree blobs) and snapshots.

use serde::{Deserialize, Serialize};

/// Type of a tree entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// Regular file.
    File,
    /// Directory.
    Dir,
    /// Symbolic link.
    Symlink,
}

/// One entry of a directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// File name.
    pub name: String,
    /// Type.
    pub kind: NodeKind,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
    /// Size in bytes (files).
    pub size: u64,
    /// Inode (to detect replaced files on incremental runs).
    pub inode: u64,
    /// Content blob ids in order (files).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub content: Vec<String>,
    /// Tree blob id (directories).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtree: Option<String>,
    /// Link target (symlinks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// A directory listing, sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tree {
    /// Entries.
    pub nodes: Vec<Node>,
}

impl Tree {
    /// The entry named `name`.
    pub fn get(&self, name: &str) -> Option<&Node> {
        self.nodes
            .binary_search_by(|n| n.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.nodes[i])
    }
}

/// How a source was captured (recorded so a restore knows what it gets), and how a
/// `[[backups]]` job captures (`capture = "live" | "dump" | "stop" | "hook"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaptureMode {
    /// Files copied as they were, the writer (if any) running.
    Live,
    /// The node was stopped for the copy and restarted.
    Stopped,
    /// The node's own dump (e.g. `anvil_dumpState`).
    Dump,
    /// Pre/post hook commands ran around the copy.
    Hook,
}

impl CaptureMode {
    const CONFIG_NAMES: [(CaptureMode, &'static str); 4] = [
        (CaptureMode::Live, "live"),
        (CaptureMode::Dump, "dump"),
        (CaptureMode::Stopped, "stop"),
        (CaptureMode::Hook, "hook"),
    ];

    /// The spelling of `[[backups]] capture` (`stop` for [`CaptureMode::Stopped`]).
    pub fn config_name(&self) -> &'static str {
        Self::CONFIG_NAMES
            .iter()
            .find(|(m, _)| m == self)
            .map_or("live", |(_, n)| n)
    }

    /// Parses the spelling of `[[backups]] capture`.
    pub fn from_config_name(name: &str) -> Option<Self> {
        Self::CONFIG_NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(m, _)| *m)
    }
}

/// Chain state at capture, for node sources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeState {
    /// Chain name.
    pub chain: String,
    /// Node name.
    pub node: String,
    /// Head height.
    pub height: u64,
    /// Head hash.
    pub hash: String,
    /// Network the node ran (`regtest`, `main`, chain id …), for drills.
    #[serde(default)]
    pub network: Option<String>,
    /// Node family: `evm` or `bitcoin`.
    #[serde(default)]
    pub kind: Option<String>,
}

/// Counts of one `create`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SnapshotStats {
    /// Files in the snapshot.
    pub files: u64,
    /// Directories.
    pub dirs: u64,
    /// Bytes of all files.
    pub total_bytes: u64,
    /// Files read (changed or new since the parent).
    pub files_read: u64,
    /// Bytes read from disk.
    pub bytes_read: u64,
    /// New chunks stored.
    pub chunks_added: u64,
    /// Plaintext bytes of new chunks.
    pub bytes_added: u64,
    /// Bytes written to the repository (packs, after compression and sealing).
    pub bytes_stored: u64,
    /// Wall time.
    pub duration_ms: u64,
    /// Paths left out: vanished while a live copy ran, or sockets, FIFOs and devices.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skipped: u64,
    /// The first of them, each with why (`… (vanished)`, `… (special file)`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_paths: Vec<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A snapshot: a root tree plus where, when and how it was taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Creation time (epoch ms).
    pub time_ms: i64,
    /// Host name.
    pub host: String,
    /// Absolute source paths.
    pub sources: Vec<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Root tree (one entry per source).
    pub tree: String,
    /// Parent snapshot used for change detection.
    #[serde(default)]
    pub parent: Option<String>,
    /// Capture mode.
    pub mode: CaptureMode,
    /// Node state at capture.
    #[serde(default)]
    pub node: Option<NodeState>,
    /// Counts.
    pub stats: SnapshotStats,
}
