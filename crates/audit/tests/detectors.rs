//! Every detector against contracts written for it: `fixtures/<id>/positive.sol` must give
//! exactly the findings in `fixtures/<id>/expected.txt` (line and message), every
//! `negative*.sol` none. `UPDATE_SNAPSHOTS=1 cargo test -p chainops-audit` rewrites the
//! expected files (review the diff).

use chainops_audit::source::SourceFile;
use chainops_audit::{Options, analyze, detectors::registry};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn run(id: &str, file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).expect("fixture");
    let name = file
        .file_name()
        .expect("name")
        .to_string_lossy()
        .to_string();
    let report = analyze(
        vec![SourceFile::new(&name, text)],
        &Options {
            only: vec![id.to_string()],
            ..Options::default()
        },
    );
    assert!(
        report.errors.is_empty(),
        "{}: {:?}",
        file.display(),
        report.errors
    );
    report
        .findings
        .iter()
        .map(|f| format!("{}-{}: {}", f.line, f.end_line, f.message))
        .collect()
}

#[test]
fn every_detector_finds_its_positive_fixture_exactly_and_nothing_in_the_negative_ones() {
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let mut failures = Vec::new();
    for d in registry() {
        let id = d.info().id;
        let dir = fixtures().join(id);
        assert!(
            dir.join("positive.sol").is_file(),
            "{id}: no fixtures/{id}/positive.sol"
        );
        let got = run(id, &dir.join("positive.sol"));
        assert!(
            !got.is_empty(),
            "{id}: the positive fixture gives no finding"
        );
        let expected_path = dir.join("expected.txt");
        let text = got.join("\n") + "\n";
        if update {
            std::fs::write(&expected_path, &text).expect("write snapshot");
        } else {
            let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
            if expected != text {
                failures.push(format!("{id}: expected\n{expected}got\n{text}"));
            }
        }
        let mut negatives = 0;
        for e in std::fs::read_dir(&dir).expect("dir").flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with("negative") && name.ends_with(".sol") {
                negatives += 1;
                let got = run(id, &e.path());
                if !got.is_empty() {
                    failures.push(format!("{id}: {name} should give nothing, got {got:?}"));
                }
            }
        }
        assert!(negatives > 0, "{id}: no negative fixture");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn registry_is_sorted_and_complete() {
    let ids: Vec<&str> = registry().iter().map(|d| d.info().id).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(ids, sorted, "sorted, unique ids");
    for d in registry() {
        let i = d.info();
        assert!(i.swc.is_none_or(|s| s.starts_with("SWC-")), "{}", i.id);
        assert!(i.cwe.is_none_or(|s| s.starts_with("CWE-")), "{}", i.id);
        assert!(!i.description.is_empty() && !i.fix.is_empty(), "{}", i.id);
    }
}

#[test]
fn weakness_ids_are_the_registries_own_or_none() {
    let info = |id: &str| {
        registry()
            .into_iter()
            .map(|d| d.info())
            .find(|i| i.id == id)
            .unwrap_or_else(|| panic!("no detector {id}"))
    };
    // SWC-132 is "unexpected ether balance", SWC-129 "typographical error": neither is
    // what these find, and the registry has no entry that is.
    assert_eq!(info("locked-ether").swc, None);
    assert_eq!(info("short-address").swc, None);
    assert_eq!(info("unprotected-initializer").swc, None);
    let r = info("reentrancy");
    assert_eq!((r.swc, r.cwe), (Some("SWC-107"), Some("CWE-841")));
    assert_eq!(
        chainops_audit::finding::weakness_ids(None, None),
        "no SWC/CWE"
    );
}
