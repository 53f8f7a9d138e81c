//! A zipped project (Foundry, Hardhat, or plain `.sol` files) read in memory: its Solidity
//! files with their paths inside the project, its `remappings.txt`, and which files are the
//! project's own (tests, scripts, mocks and dependencies are context only). Nothing is
//! written to disk and no path outside the archive is ever looked at.

use crate::source::SourceFile;
use std::io::Read;
use std::path::PathBuf;

/// Bounds on what an archive may unpack to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Entries in the archive (files and directories).
    pub max_entries: usize,
    /// Solidity files.
    pub max_files: usize,
    /// Unpacked size of one Solidity file.
    pub max_file_bytes: u64,
    /// Unpacked size of every Solidity file together.
    pub max_total_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 20_000,
            max_files: 5_000,
            max_file_bytes: 2 << 20,
            max_total_bytes: 64 << 20,
        }
    }
}

/// What a project archive holds.
#[derive(Debug)]
pub struct Project {
    /// Every Solidity file, path relative to the project root.
    pub files: Vec<SourceFile>,
    /// Remappings from the root's `remappings.txt`.
    pub remaps: Vec<(String, PathBuf)>,
    /// Entries that were left out and why (not UTF-8, a path that leaves the archive, a
    /// symbolic link): (entry name, reason).
    pub skipped: Vec<(String, String)>,
}

impl Project {
    /// Is the file at `path` the project's own (not a test, script, mock or dependency)?
    pub fn is_own(path: &str) -> bool {
        let lower = path.to_ascii_lowercase();
        let dirs = [
            "lib",
            "node_modules",
            "test",
            "tests",
            "script",
            "scripts",
            "mocks",
            "mock",
        ];
        let in_dir = lower.split('/').rev().skip(1).any(|d| dirs.contains(&d));
        !(in_dir || lower.ends_with(".t.sol") || lower.ends_with(".s.sol"))
    }
}

/// Reads the project in `bytes` (a zip archive). A single top directory (as GitHub's
/// "Download ZIP" makes) is the project root.
pub fn read_zip(bytes: &[u8], limits: Limits) -> Result<Project, String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a zip archive ({e}); upload the project as .zip"))?;
    if zip.len() > limits.max_entries {
        return Err(format!(
            "the archive has {} entries; at most {} are read",
            zip.len(),
            limits.max_entries
        ));
    }
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    let mut skipped = Vec::new();
    let (mut total, mut sol_files) = (0u64, 0usize);
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| format!("entry {i} of the archive cannot be read: {e}"))?;
        if entry.is_dir() {
            continue;
        }
        let shown: String = entry.name().chars().take(200).collect();
        if entry.is_symlink() {
            skipped.push((shown, "a symbolic link, not a file".into()));
            continue;
        }
        let Some(path) = entry.enclosed_name() else {
            skipped.push((shown, "its path leaves the archive".into()));
            continue;
        };
        let path = path.to_string_lossy().replace('\\', "/");
        let wanted = path.ends_with(".sol") || path.rsplit('/').next() == Some("remappings.txt");
        if !wanted {
            continue;
        }
        if path.ends_with(".sol") {
            sol_files += 1;
        }
        if sol_files > limits.max_files {
            return Err(format!(
                "the archive has more than {} Solidity files",
                limits.max_files
            ));
        }
        // The header's size may lie: read one byte past the limit to know.
        let mut data = Vec::new();
        (&mut entry)
            .take(limits.max_file_bytes + 1)
            .read_to_end(&mut data)
            .map_err(|e| format!("{shown}: cannot be unpacked: {e}"))?;
        if data.len() as u64 > limits.max_file_bytes {
            return Err(format!(
                "{shown} unpacks to more than {} bytes",
                limits.max_file_bytes
            ));
        }
        total += data.len() as u64;
        if total > limits.max_total_bytes {
            return Err(format!(
                "the Solidity files unpack to more than {} bytes",
                limits.max_total_bytes
            ));
        }
        entries.push((path, data));
    }
    let root = common_root(entries.iter().map(|(p, _)| p.as_str()));
    let mut files = Vec::new();
    let mut remaps = Vec::new();
    for (path, data) in entries {
        let rel = path[root.len()..].to_string();
        let Ok(text) = String::from_utf8(data) else {
            skipped.push((rel, "not UTF-8 text".into()));
            continue;
        };
        if rel == "remappings.txt" {
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                let line = line.split_once(':').map_or(line, |(_, r)| r);
                if let Ok((prefix, dir)) = crate::config::parse_remap(line) {
                    remaps.push((prefix, PathBuf::from(dir)));
                }
            }
        } else if rel.ends_with(".sol") {
            files.push(SourceFile::new(rel, text));
        }
    }
    if files.is_empty() {
        return Err("the archive holds no .sol file".into());
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Project {
        files,
        remaps,
        skipped,
    })
}

/// The directory every path starts with (`proj-main/`), or empty.
fn common_root<'a>(mut paths: impl Iterator<Item = &'a str>) -> String {
    let Some(first) = paths.next() else {
        return String::new();
    };
    let Some((top, _)) = first.split_once('/') else {
        return String::new();
    };
    // A project's own folders are never the wrapper (a zip of `src/` alone keeps `src/`).
    let own = [
        "src",
        "contracts",
        "test",
        "tests",
        "lib",
        "node_modules",
        "script",
        "scripts",
        "mocks",
    ];
    let prefix = format!("{top}/");
    if !own.contains(&top.to_ascii_lowercase().as_str()) && paths.all(|p| p.starts_with(&prefix)) {
        prefix
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, data) in files {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .expect("start");
            w.write_all(data).expect("write");
        }
        w.finish().expect("finish").into_inner()
    }

    #[test]
    fn a_project_is_read_from_its_top_directory_with_remappings() {
        let z = zip_of(&[
            ("proj-main/src/Vault.sol", b"contract Vault {}"),
            ("proj-main/test/Vault.t.sol", b"contract T {}"),
            ("proj-main/lib/oz/Ownable.sol", b"contract Ownable {}"),
            ("proj-main/remappings.txt", b"@oz/=lib/oz/\nnot a remap\n"),
            ("proj-main/README.md", b"# hi"),
            ("proj-main/src/bin.sol", &[0xff, 0xfe, 0x00]),
        ]);
        let p = read_zip(&z, Limits::default()).expect("read");
        let paths: Vec<String> = p
            .files
            .iter()
            .map(|f| f.path.display().to_string())
            .collect();
        assert_eq!(
            paths,
            ["lib/oz/Ownable.sol", "src/Vault.sol", "test/Vault.t.sol"]
        );
        assert_eq!(p.remaps, vec![("@oz/".into(), PathBuf::from("lib/oz/"))]);
        assert_eq!(
            p.skipped,
            vec![("src/bin.sol".to_string(), "not UTF-8 text".to_string())]
        );
        assert!(Project::is_own("src/Vault.sol"));
        assert!(Project::is_own("contracts/token/测试.sol"));
        for other in [
            "test/Vault.t.sol",
            "lib/oz/Ownable.sol",
            "node_modules/@oz/A.sol",
            "src/mocks/M.sol",
            "script/Deploy.s.sol",
            "src/Vault.t.sol",
        ] {
            assert!(!Project::is_own(other), "{other}");
        }
    }

    #[test]
    fn hostile_archives_are_refused_with_a_reason() {
        assert!(
            read_zip(b"PK\x03\x04 not really", Limits::default())
                .unwrap_err()
                .contains("not a zip archive")
        );
        assert!(read_zip(b"", Limits::default()).is_err());
        // A path that climbs out of the archive is skipped, never resolved.
        let z = zip_of(&[
            ("../../etc/x.sol", b"contract X {}"),
            ("a/B.sol", b"contract B {}"),
        ]);
        let p = read_zip(&z, Limits::default()).expect("read");
        assert_eq!(p.files.len(), 1);
        assert_eq!(
            p.skipped,
            vec![(
                "../../etc/x.sol".to_string(),
                "its path leaves the archive".to_string()
            )]
        );
        // A bomb: one small entry that unpacks past the limit.
        let big = vec![b' '; 4096];
        let z = zip_of(&[("A.sol", &big)]);
        let tight = Limits {
            max_file_bytes: 1024,
            ..Limits::default()
        };
        assert!(
            read_zip(&z, tight)
                .unwrap_err()
                .contains("more than 1024 bytes")
        );
        let z = zip_of(&[("A.sol", b"contract A {}"), ("B.sol", b"contract B {}")]);
        let few = Limits {
            max_files: 1,
            ..Limits::default()
        };
        assert!(
            read_zip(&z, few)
                .unwrap_err()
                .contains("more than 1 Solidity")
        );
        // A symlink entry is skipped, never followed nor read as code.
        let with_link = |code: Option<&[u8]>| {
            let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            let o = zip::write::SimpleFileOptions::default();
            w.add_symlink("src/Evil.sol", "/etc/passwd", o)
                .expect("symlink");
            if let Some(code) = code {
                w.start_file("src/A.sol", o).expect("start");
                w.write_all(code).expect("write");
            }
            w.finish().expect("finish").into_inner()
        };
        let e = read_zip(&with_link(None), Limits::default()).unwrap_err();
        assert!(e.contains("no .sol"), "{e}");
        let z = with_link(Some(b"contract A {}"));
        let p = read_zip(&z, Limits::default()).expect("read");
        assert_eq!(p.files.len(), 1);
        assert_eq!(
            p.skipped,
            vec![(
                "src/Evil.sol".to_string(),
                "a symbolic link, not a file".to_string()
            )]
        );
        let z = zip_of(&[("README.md", b"no code")]);
        assert!(
            read_zip(&z, Limits::default())
                .unwrap_err()
                .contains("no .sol")
        );
    }
}
