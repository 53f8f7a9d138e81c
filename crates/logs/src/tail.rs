//! Tailing a file with rotation and truncation handled and the read position persisted with
//! the entries it covers, so a restart neither loses nor repeats a line.
//!
//! - Rotation by rename (logrotate's default, supervisors): the old file is read to its end
//!   through the handle still open, then the new file from its start.
//! - Truncation in place (`copytruncate`): the grouped tail is flushed and reading restarts
//!   at 0 (what was written between the last read and the truncation is gone with the copy).
//! - The stored position is the start of the entry still being grouped, so a restart
//!   re-reads exactly the lines not yet stored.

use crate::entry::LogEntry;
use crate::ingest::{Ingester, Source};
use crate::parse::{Grouper, detect};
use chainops_core::time::now_ms;
use chainops_store::StoreError;
use chainops_store::logs::LogPosition;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Most bytes read per poll (keeps one busy file from starving the others).
const READ_CHUNK: usize = 4 << 20;
/// An entry still waiting for continuation lines is completed after this much quiet.
pub const IDLE_FLUSH: Duration = Duration::from_millis(1500);

fn file_id(m: &std::fs::Metadata) -> String {
    format!("{}:{}", m.dev(), m.ino())
}

struct Open {
    file: File,
    id: String,
    /// Offset of the first byte not yet split into lines.
    read_to: u64,
    /// Bytes after the last newline.
    partial: Vec<u8>,
    grouper: Grouper,
    /// Where re-reading reproduces the pending state (start of the pending entry).
    resume_at: u64,
    last_data: Instant,
}

/// Follows one file.
pub struct FileTail {
    src: Source,
    path: PathBuf,
    open: Option<Open>,
    idle_flush: Duration,
}

impl FileTail {
    /// Follows `path` for `src`.
    pub fn new(src: Source, path: &Path) -> FileTail {
        FileTail {
            src,
            path: path.to_path_buf(),
            open: None,
            idle_flush: IDLE_FLUSH,
        }
    }

    /// Overrides the idle flush delay (tests).
    pub fn with_idle_flush(mut self, d: Duration) -> FileTail {
        self.idle_flush = d;
        self
    }

    fn sample_format(&self) -> crate::parse::Format {
        if let Some(f) = self.src.format {
            return f;
        }
        let lines: Vec<String> = File::open(&self.path)
            .map(|f| {
                BufReader::new(f)
                    .lines()
                    .take(200)
                    .map_while(Result::ok)
                    .collect()
            })
            .unwrap_or_default();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        detect(&refs)
    }

    async fn open_current(&mut self, ing: &Ingester) -> Result<bool, StoreError> {
        let Ok(mut file) = File::open(&self.path) else {
            return Ok(false);
        };
        let Ok(meta) = file.metadata() else {
            return Ok(false);
        };
        let id = file_id(&meta);
        let saved = ing.store().log_position(&self.src.id).await?;
        let start = match saved {
            Some(p) if p.file_id == id && (p.offset as u64) <= meta.len() => p.offset as u64,
            _ => 0,
        };
        if file.seek(SeekFrom::Start(start)).is_err() {
            return Ok(false);
        }
        let format = self.sample_format();
        tracing::info!(source = %self.src.id, format = format.as_str(), offset = start, "tailing log file");
        self.open = Some(Open {
            file,
            id,
            read_to: start,
            partial: Vec::new(),
            grouper: Grouper::new(format),
            resume_at: start,
            last_data: Instant::now(),
        });
        Ok(true)
    }

    /// Reads what is new, handling rotation and truncation; returns how many entries were
    /// stored.
    pub async fn poll(&mut self, ing: &Ingester) -> Result<usize, StoreError> {
        self.poll_entries(ing).await.map(|e| e.len())
    }

    /// Like [`poll`](Self::poll), returning the stored (redacted) entries.
    pub async fn poll_entries(&mut self, ing: &Ingester) -> Result<Vec<LogEntry>, StoreError> {
        if self.open.is_none() && !self.open_current(ing).await? {
            return Ok(Vec::new());
        }
        let meta = std::fs::metadata(&self.path).ok();
        let mut stored = Vec::new();
        let rotated = match (&meta, &self.open) {
            (Some(m), Some(o)) => file_id(m) != o.id,
            (None, Some(_)) => false, // moved away, new one not there yet: keep draining
            _ => false,
        };
        let truncated = match (&meta, &self.open) {
            (Some(m), Some(o)) if !rotated => m.len() < o.read_to,
            _ => false,
        };
        if truncated && let Some(o) = &mut self.open {
            tracing::warn!(source = %self.src.id, "log file was truncated; reading from its start");
            let flushed: Vec<_> = o.grouper.finish().into_iter().collect();
            o.partial.clear();
            o.read_to = 0;
            o.resume_at = 0;
            let _ = o.file.seek(SeekFrom::Start(0));
            let pos = LogPosition {
                source: self.src.id.clone(),
                file_id: o.id.clone(),
                offset: 0,
            };
            stored.extend(ing.write(&self.src, flushed, Some(&pos), now_ms()).await?);
        }
        stored.extend(self.read_available(ing, rotated).await?);
        if rotated {
            tracing::info!(source = %self.src.id, "log file rotated; following the new file");
            self.open = None;
            if self.open_current(ing).await? {
                stored.extend(self.read_available(ing, false).await?);
            }
        }
        Ok(stored)
    }

    /// Reads to the current end; with `to_end` (the file was rotated away) everything pending
    /// is completed as well.
    async fn read_available(
        &mut self,
        ing: &Ingester,
        to_end: bool,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let Some(o) = &mut self.open else {
            return Ok(Vec::new());
        };
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0usize;
        let mut entries = Vec::new();
        let now = now_ms();
        loop {
            let n = match o.file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(source = %self.src.id, error = %e, "cannot read log file");
                    break;
                }
            };
            total += n;
            o.partial.extend_from_slice(&buf[..n]);
            // Split complete lines.
            let mut consumed = 0;
            while let Some(nl) = o.partial[consumed..].iter().position(|&b| b == b'\n') {
                let line_start = o.read_to + consumed as u64;
                let end = consumed + nl;
                let line = String::from_utf8_lossy(&o.partial[consumed..end]).into_owned();
                consumed = end + 1;
                let line_end = o.read_to + consumed as u64;
                ing.stats
                    .lines
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let was_pending = o.grouper.pending();
                let done = o.grouper.push(&line, now);
                let started = done.is_some() || (!was_pending && o.grouper.pending());
                entries.extend(done);
                o.resume_at = if !o.grouper.pending() {
                    line_end
                } else if started {
                    line_start
                } else {
                    o.resume_at
                };
            }
            o.partial.drain(..consumed);
            o.read_to += consumed as u64;
            if total >= READ_CHUNK {
                break;
            }
        }
        if total > 0 {
            o.last_data = Instant::now();
        }
        let quiet = o.last_data.elapsed() >= self.idle_flush;
        if (to_end || quiet) && o.grouper.pending() {
            entries.extend(o.grouper.finish());
            o.resume_at = o.read_to;
        }
        if to_end && !o.partial.is_empty() {
            // A last line without a newline in a rotated-away file is complete now.
            let line = String::from_utf8_lossy(&o.partial).into_owned();
            let mut g = Grouper::new(o.grouper.format());
            entries.extend(g.push(&line, now));
            entries.extend(g.finish());
            o.read_to += o.partial.len() as u64;
            o.partial.clear();
            o.resume_at = o.read_to;
        }
        if entries.is_empty() && total == 0 {
            return Ok(Vec::new());
        }
        let pos = LogPosition {
            source: self.src.id.clone(),
            file_id: o.id.clone(),
            offset: o.resume_at as i64,
        };
        ing.write(&self.src, entries, Some(&pos), now).await
    }
}
