//! Disk usage of a node's local data directory (`statvfs`), for the `datadir_*` facts and
//! metrics behind DataDirDiskFull / DataDirWillFill.

use std::path::Path;

/// Space on the filesystem holding a directory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiskUsage {
    /// Bytes available to unprivileged users.
    pub free_bytes: u64,
    /// Filesystem size in bytes.
    pub total_bytes: u64,
}

impl DiskUsage {
    /// Used fraction as `df` shows it: used ÷ (used + available).
    pub fn used_ratio(&self) -> f64 {
        let used = self.total_bytes.saturating_sub(self.free_bytes) as f64;
        if self.total_bytes == 0 {
            0.0
        } else {
            used / self.total_bytes as f64
        }
    }
}

/// Usage of the filesystem holding `dir`, or `None` if it cannot be read.
pub fn usage(dir: &Path) -> Option<DiskUsage> {
    let s = nix::sys::statvfs::statvfs(dir).ok()?;
    let frag = s.fragment_size() as u64;
    Some(DiskUsage {
        free_bytes: s.blocks_available() as u64 * frag,
        total_bytes: s.blocks() as u64 * frag,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_temp_dir_has_a_plausible_usage_and_a_missing_dir_none() {
        let u = usage(&std::env::temp_dir()).expect("statvfs of the temp dir");
        assert!(u.total_bytes > 0 && u.free_bytes <= u.total_bytes);
        assert!((0.0..=1.0).contains(&u.used_ratio()));
        assert_eq!(usage(Path::new("/no/such/dir")), None);
    }
}
