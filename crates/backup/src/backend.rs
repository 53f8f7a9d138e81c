//! Where repository objects live. Keys are `/`-separated names like `data/ab/abcd…`.

use crate::{BackupError, Result};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Object storage for a repository: whole-object writes (atomic), reads, ranges, lists.
pub trait Backend: Send + Sync {
    /// Human-readable location (for messages).
    fn location(&self) -> String;
    /// Writes an object atomically: readers see the old state or the whole new object.
    fn write(&self, key: &str, data: &[u8]) -> Result<()>;
    /// Reads a whole object.
    fn read(&self, key: &str) -> Result<Vec<u8>>;
    /// Reads `len` bytes at `offset`.
    fn read_range(&self, key: &str, offset: u64, len: u64) -> Result<Vec<u8>>;
    /// Object names under a prefix (`data/`, `snapshots/`…), recursively.
    fn list(&self, prefix: &str) -> Result<Vec<String>>;
    /// Deletes an object (absent is fine).
    fn delete(&self, key: &str) -> Result<()>;
    /// True when the object exists.
    fn exists(&self, key: &str) -> Result<bool>;
    /// The object's size in bytes.
    fn size(&self, key: &str) -> Result<u64>;
    /// Temporary objects an interrupted write left behind (none where writes are atomic,
    /// as on S3); [`Backend::delete`] removes them.
    fn leftovers(&self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
}

/// A repository in a local directory.
#[derive(Debug, Clone)]
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    /// A backend rooted at `root` (created by `init`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Object names under `prefix`: regular ones, or (`temporary`) the `.tmp-` ones.
    fn walk(&self, prefix: &str, temporary: bool) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let base = self.root.join(prefix.trim_end_matches('/'));
        let mut stack = vec![base.clone()];
        while let Some(dir) = stack.pop() {
            let rd = match std::fs::read_dir(&dir) {
                Ok(rd) => rd,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(BackupError::io(&dir, e)),
            };
            for entry in rd {
                let entry = entry.map_err(|e| BackupError::io(&dir, e))?;
                let name = entry.file_name().to_string_lossy().to_string();
                let p = entry.path();
                if entry
                    .file_type()
                    .map_err(|e| BackupError::io(&p, e))?
                    .is_dir()
                {
                    stack.push(p);
                } else if name.starts_with(".tmp-") != temporary {
                    continue;
                } else if let Ok(rel) = p.strip_prefix(&self.root) {
                    out.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn path(&self, key: &str) -> Result<PathBuf> {
        if key
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
        {
            return Err(BackupError::Input(format!("bad object name {key:?}")));
        }
        Ok(self.root.join(key))
    }
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

impl Backend for LocalDir {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn write(&self, key: &str, data: &[u8]) -> Result<()> {
        let path = self.path(key)?;
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| BackupError::io(&dir, e))?;
        let tmp = dir.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        let result = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(data)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(BackupError::io(&path, e));
        }
        sync_dir(&dir);
        Ok(())
    }

    fn read(&self, key: &str) -> Result<Vec<u8>> {
        let path = self.path(key)?;
        std::fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                BackupError::NotFound(key.to_string())
            } else {
                BackupError::io(&path, e)
            }
        })
    }

    fn read_range(&self, key: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let path = self.path(key)?;
        let mut f = std::fs::File::open(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                BackupError::NotFound(key.to_string())
            } else {
                BackupError::io(&path, e)
            }
        })?;
        // Bounds first: a damaged index may claim any offset and length, and the buffer is
        // only allocated for bytes the file really has.
        let size = f.metadata().map_err(|e| BackupError::io(&path, e))?.len();
        if offset.checked_add(len).is_none_or(|end| end > size) {
            return Err(BackupError::corrupt(
                key,
                format!("short read at {offset}+{len}: the object holds {size} bytes"),
            ));
        }
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| BackupError::io(&path, e))?;
        let mut buf = vec![0u8; len as usize];
        f.read_exact(&mut buf)
            .map_err(|e| BackupError::corrupt(key, format!("short read at {offset}+{len}: {e}")))?;
        Ok(buf)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.walk(prefix, false)
    }

    fn leftovers(&self) -> Result<Vec<String>> {
        self.walk("", true)
    }

    fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(BackupError::io(&path, e)),
        }
    }

    fn exists(&self, key: &str) -> Result<bool> {
        Ok(self.path(key)?.exists())
    }

    fn size(&self, key: &str) -> Result<u64> {
        let path = self.path(key)?;
        std::fs::metadata(&path)
            .map(|m| m.len())
            .map_err(|e| BackupError::io(&path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_list_delete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let b = LocalDir::new(dir.path());
        b.write("data/ab/abc", b"hello").expect("write");
        b.write("snapshots/1", b"x").expect("write");
        assert_eq!(b.read("data/ab/abc").expect("read"), b"hello");
        assert_eq!(b.read_range("data/ab/abc", 1, 3).expect("range"), b"ell");
        assert_eq!(b.list("data/").expect("list"), vec!["data/ab/abc"]);
        assert!(matches!(b.read("nope"), Err(BackupError::NotFound(_))));
        assert!(b.read_range("data/ab/abc", 3, 10).is_err());
        assert!(
            b.read_range("data/ab/abc", 1, u64::MAX).is_err(),
            "no 2^64-byte buffer"
        );
        assert!(b.read_range("data/ab/abc", u64::MAX, 2).is_err());
        assert!(b.write("../escape", b"x").is_err());
        b.delete("data/ab/abc").expect("delete");
        assert!(!b.exists("data/ab/abc").expect("exists"));
    }
}
