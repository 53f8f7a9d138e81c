//! Import resolution: `import "./Ownable.sol"` relative to the importing file, remappings
//! (`@openzeppelin/=node_modules/@openzeppelin/`) like solc's, then relative to the file and
//! the working directory. Imported files give context (bases, modifiers, structs); findings
//! are only reported for the files named on the command line.

use crate::parse::{Diagnostic, Parsed};
use crate::source::SourceFile;
use solang_parser::pt::SourceUnitPart;
use std::path::{Path, PathBuf};

/// A file whose imports are still to be read: (path, imports with offsets, source).
type Pending = (PathBuf, Vec<(String, usize)>, SourceFile);

fn key(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| normalize(p))
}

/// `a/./b/../c` → `a/c`, lexically (for files that exist only in memory, such as the
/// contents of an uploaded archive). A `..` above the start is kept.
fn normalize(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out.iter().collect()
}

/// The import strings of a file with their byte offsets.
fn imports_of(p: &Parsed) -> Vec<(String, usize)> {
    p.unit
        .0
        .iter()
        .filter_map(|part| match part {
            SourceUnitPart::ImportDirective(i) => i.literal().map(|l| {
                let at = match l.loc {
                    solang_parser::pt::Loc::File(_, s, _) => s,
                    _ => 0,
                };
                (l.string.clone(), at)
            }),
            _ => None,
        })
        .collect()
}

/// Where `import` of the file `from` points, if it exists.
pub fn resolve(from: &Path, import: &str, remaps: &[(String, PathBuf)]) -> Option<PathBuf> {
    resolve_where(from, import, remaps, &|p| p.is_file())
}

/// [`resolve`] with `exists` deciding which candidate paths are files.
fn resolve_where(
    from: &Path,
    import: &str,
    remaps: &[(String, PathBuf)],
    exists: &dyn Fn(&Path) -> bool,
) -> Option<PathBuf> {
    let dir = from.parent().unwrap_or(Path::new("."));
    if import.starts_with("./") || import.starts_with("../") {
        let p = dir.join(import);
        return exists(&p).then_some(p);
    }
    let remapped = remaps
        .iter()
        .filter(|(prefix, _)| import.starts_with(prefix.as_str()))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(prefix, target)| target.join(&import[prefix.len()..]));
    [
        remapped,
        Some(dir.join(import)),
        Some(PathBuf::from(import)),
    ]
    .into_iter()
    .flatten()
    .find(|p| exists(p))
}

/// Reads and parses every file the given ones import (transitively) that is not among them.
/// Imports that cannot be found or parsed are reported as diagnostics at the import.
pub fn load(
    given: &[Parsed],
    remaps: &[(String, PathBuf)],
    errors: &mut Vec<Diagnostic>,
) -> Vec<Parsed> {
    let mut known: Vec<PathBuf> = given.iter().map(|p| key(&p.file.path)).collect();
    let mut loaded: Vec<Parsed> = Vec::new();
    let mut queue: Vec<Pending> = given
        .iter()
        .map(|p| (p.file.path.clone(), imports_of(p), p.file.clone()))
        .collect();
    while let Some((from, imports, file)) = queue.pop() {
        for (import, at) in imports {
            let Some(path) = resolve(&from, &import, remaps) else {
                let (line, column) = file.line_col(at);
                errors.push(Diagnostic {
                    file: from.display().to_string(),
                    line,
                    column,
                    message: format!(
                        "import \"{import}\" not found (analysed without it; map it with --remap PREFIX=DIR)"
                    ),
                });
                continue;
            };
            let k = key(&path);
            if known.contains(&k) {
                continue;
            }
            known.push(k);
            let text = match std::fs::read(&path) {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(e) => {
                    errors.push(Diagnostic {
                        file: path.display().to_string(),
                        line: 0,
                        column: 0,
                        message: format!("cannot read import: {e}"),
                    });
                    continue;
                }
            };
            match crate::parse::parse(SourceFile::new(&path, text)) {
                Ok(p) => {
                    queue.push((path.clone(), imports_of(&p), p.file.clone()));
                    loaded.push(p);
                }
                Err(d) => errors.push(d),
            }
        }
    }
    loaded
}

/// Every known file by its canonical path (computed once per analysis, not per lookup).
pub fn index<'a>(given: &'a [Parsed], context: &'a [Parsed]) -> Vec<(PathBuf, &'a Parsed)> {
    given
        .iter()
        .chain(context.iter())
        .map(|p| (key(&p.file.path), p))
        .collect()
}

/// The files `p` imports, transitively, among the indexed ones. With `disk` false, imports
/// resolve among the indexed files only (sources given in memory; the disk is not looked at).
pub fn closure<'a>(
    p: &Parsed,
    index: &[(PathBuf, &'a Parsed)],
    remaps: &[(String, PathBuf)],
    disk: bool,
) -> Vec<&'a Parsed> {
    let exists = |path: &Path| {
        (disk && path.is_file()) || {
            let k = normalize(path);
            index.iter().any(|(i, _)| *i == k)
        }
    };
    let me = key(&p.file.path);
    let mut out: Vec<&'a Parsed> = Vec::new();
    let mut seen = vec![me];
    let mut stack: Vec<(PathBuf, Vec<(String, usize)>)> =
        vec![(p.file.path.clone(), imports_of(p))];
    while let Some((from, imports)) = stack.pop() {
        for (import, _) in imports {
            let Some(path) = resolve_where(&from, &import, remaps, &exists) else {
                continue;
            };
            let k = key(&path);
            if seen.contains(&k) {
                continue;
            }
            seen.push(k.clone());
            if let Some((_, dep)) = index.iter().find(|(path, _)| *path == k) {
                stack.push((dep.file.path.clone(), imports_of(dep)));
                out.push(dep);
            }
        }
    }
    out
}
