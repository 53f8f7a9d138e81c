//! Issue 16: restore never writes outside its target through links already there (items 1),
//! a damaged file does not stop the others and leaves no temporary file (8), files that vanish
//! during a live backup are skipped and listed (6), special files are not restored as regular
//! files (10).

use super::{init, no_progress, opts};
use chainops_backup::archive::create;
use chainops_backup::restore::restore;
use chainops_backup::tree::CaptureMode;
use std::path::Path;

fn tree(src: &Path) {
    std::fs::create_dir_all(src.join("dir")).expect("mkdir");
    std::fs::write(src.join("dir/inner.txt"), b"from the snapshot").expect("write");
    std::fs::write(src.join("top.txt"), b"top").expect("write");
}

fn temp_files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                stack.push(p.clone());
            }
            if p.to_string_lossy().contains("chainops-restore") {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

#[test]
fn links_already_in_the_target_are_refused_by_path_and_nothing_lands_outside() {
    let t = tempfile::tempdir().expect("tempdir");
    let src = t.path().join("src");
    tree(&src);
    let mut repo = init(&t.path().join("repo"));
    let (id, _) = create(&mut repo, &opts(&src), &no_progress).expect("create");
    let elsewhere = t.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).expect("mkdir");
    std::fs::write(elsewhere.join("inner.txt"), b"precious").expect("write");

    // T/src/dir -> elsewhere: the whole restore and an --include of it are refused.
    let target = t.path().join("t1");
    std::fs::create_dir_all(target.join("src")).expect("mkdir");
    std::os::unix::fs::symlink(&elsewhere, target.join("src/dir")).expect("link");
    for include in [vec![], vec!["src/dir/inner.txt".to_string()]] {
        let e = restore(&repo, &id, &target, &include, &no_progress).expect_err("refused");
        let msg = e.to_string();
        assert!(
            msg.contains(&target.join("src/dir").display().to_string())
                && msg.contains("symbolic link"),
            "{msg}"
        );
    }
    assert_eq!(
        std::fs::read(elsewhere.join("inner.txt")).expect("read"),
        b"precious"
    );

    // T/src -> elsewhere: refused, nothing written there.
    let target = t.path().join("t2");
    std::fs::create_dir_all(&target).expect("mkdir");
    let outside = t.path().join("outside");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::os::unix::fs::symlink(&outside, target.join("src")).expect("link");
    restore(&repo, &id, &target, &[], &no_progress).expect_err("refused");
    assert_eq!(std::fs::read_dir(&outside).expect("ls").count(), 0);

    // A link where a file goes, and one planted under the temporary name: both are replaced
    // by the restored file; their targets are untouched.
    let target = t.path().join("t3");
    std::fs::create_dir_all(target.join("src/dir")).expect("mkdir");
    let victim = t.path().join("victim");
    std::fs::write(&victim, b"victim").expect("write");
    std::os::unix::fs::symlink(&victim, target.join("src/dir/inner.txt")).expect("link");
    std::os::unix::fs::symlink(&victim, target.join("src/.top.txt.chainops-restore"))
        .expect("link");
    restore(&repo, &id, &target, &[], &no_progress).expect("restores");
    assert_eq!(std::fs::read(&victim).expect("read"), b"victim");
    let restored = target.join("src/dir/inner.txt");
    assert!(!restored.is_symlink());
    assert_eq!(
        std::fs::read(&restored).expect("read"),
        b"from the snapshot"
    );
    assert!(temp_files(&target).is_empty(), "{:?}", temp_files(&target));
}

#[test]
fn a_damaged_file_does_not_stop_the_others_and_leaves_no_temporary_file() {
    let t = tempfile::tempdir().expect("tempdir");
    let src = t.path().join("src");
    tree(&src);
    let noise: Vec<u8> = (0..2_000_000).map(|_| rand::random::<u8>()).collect();
    std::fs::write(src.join("big.bin"), &noise).expect("write");
    let repo_dir = t.path().join("repo");
    let mut repo = init(&repo_dir);
    let (id, _) = create(&mut repo, &opts(&src), &no_progress).expect("create");
    // Damage the biggest pack (it holds big.bin).
    let mut packs: Vec<_> = walkdir(&repo_dir.join("data"));
    packs.sort_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0));
    let biggest = packs.last().expect("a pack").clone();
    let mut bytes = std::fs::read(&biggest).expect("read");
    bytes[500] ^= 1;
    std::fs::write(&biggest, bytes).expect("write");

    let out = t.path().join("out");
    let e = restore(&repo, &id, &out, &[], &no_progress).expect_err("damage is reported");
    assert!(e.to_string().contains("big.bin"), "{e}");
    assert_eq!(
        std::fs::read(out.join("src/dir/inner.txt")).expect("intact file restored"),
        b"from the snapshot"
    );
    assert_eq!(
        std::fs::read(out.join("src/top.txt")).expect("read"),
        b"top"
    );
    assert!(!out.join("src/big.bin").exists());
    assert!(temp_files(&out).is_empty(), "{:?}", temp_files(&out));
}

fn walkdir(d: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walkdir(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn fifos_are_left_out_and_files_vanishing_in_a_live_copy_are_listed() {
    let t = tempfile::tempdir().expect("tempdir");
    let src = t.path().join("src");
    tree(&src);
    let fifo = src.join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    // The biggest file is read first (one thread); while it is read, `doomed` is deleted,
    // as a node compacting its database deletes files.
    let big: Vec<u8> = (0..3_000_000).map(|_| rand::random::<u8>()).collect();
    std::fs::write(src.join("big.bin"), &big).expect("write");
    let doomed = src.join("dir/doomed.log");
    std::fs::write(&doomed, b"soon gone").expect("write");
    let mut o = opts(&src);
    o.threads = Some(1);
    let mut repo = init(&t.path().join("repo"));
    let delete = |_: u64, _: u64| {
        let _ = std::fs::remove_file(&doomed);
    };
    let (id, snap) = create(&mut repo, &o, &delete).expect("a live copy survives a vanished file");
    assert_eq!(snap.stats.skipped, 2, "{:?}", snap.stats);
    let listed = snap.stats.skipped_paths.join("\n");
    assert!(listed.contains("pipe (special file)"), "{listed}");
    assert!(listed.contains("doomed.log (vanished)"), "{listed}");

    let out = t.path().join("out");
    restore(&repo, &id, &out, &[], &no_progress).expect("restore");
    assert!(
        !out.join("src/pipe").exists(),
        "no empty regular file for a FIFO"
    );
    assert!(!out.join("src/dir/doomed.log").exists());
    assert_eq!(std::fs::read(out.join("src/big.bin")).expect("read"), big);

    // A copy that promises consistency (node stopped) fails on a vanished file instead.
    std::fs::write(&doomed, b"again").expect("write");
    o.mode = CaptureMode::Stopped;
    o.force = true;
    let e = create(&mut repo, &o, &delete).expect_err("a stopped copy must be complete");
    assert!(e.to_string().contains("doomed.log"), "{e}");
}

/// Items 8 and 9: a truncated pack fails plain `check`; temporary files of an interrupted
/// write are reported by `check`, counted by `prune --dry-run` and removed by `prune`, and
/// orphan packs count in what a dry run would free.
#[test]
fn truncated_packs_and_leftovers_of_interrupted_writes_are_found_and_cleaned() {
    use chainops_backup::check::check;
    use chainops_backup::prune::prune;
    let t = tempfile::tempdir().expect("tempdir");
    let src = t.path().join("src");
    tree(&src);
    let noise: Vec<u8> = (0..500_000).map(|_| rand::random::<u8>()).collect();
    std::fs::write(src.join("big.bin"), &noise).expect("write");
    let repo_dir = t.path().join("repo");
    let mut repo = init(&repo_dir);
    create(&mut repo, &opts(&src), &no_progress).expect("create");

    // Leftovers of a kill -9: a temp file and an orphan pack.
    let tmp = repo_dir.join("data/.tmp-4242-17");
    std::fs::create_dir_all(tmp.parent().expect("dir")).expect("mkdir");
    std::fs::write(&tmp, vec![7u8; 100_000]).expect("write");
    let orphan =
        repo_dir.join("data/ff/ff00000000000000000000000000000000000000000000000000000000000000");
    std::fs::create_dir_all(orphan.parent().expect("dir")).expect("mkdir");
    std::fs::write(&orphan, vec![1u8; 50_000]).expect("write");
    let report = check(&repo, None, &no_progress).expect("check");
    assert!(report.ok(), "{:?}", report.errors);
    assert_eq!(report.temporary_files.len(), 1, "{report:?}");
    assert_eq!(report.unreferenced_packs.len(), 1, "{report:?}");
    let dry = prune(&mut repo, true).expect("dry run");
    assert_eq!((dry.temporary_removed, dry.packs_unreferenced), (1, 1));
    assert!(dry.bytes_freed >= 150_000, "{dry:?}");
    assert!(tmp.exists(), "a dry run deletes nothing");
    prune(&mut repo, false).expect("prune");
    assert!(!tmp.exists() && !orphan.exists());

    // Truncate the biggest pack: plain check (no --read-data) finds it.
    let mut packs = walkdir(&repo_dir.join("data"));
    packs.sort_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0));
    let biggest = packs.last().expect("a pack").clone();
    let bytes = std::fs::read(&biggest).expect("read");
    std::fs::write(&biggest, &bytes[..bytes.len() / 2]).expect("truncate");
    let report = check(&repo, None, &no_progress).expect("check");
    assert!(!report.ok());
    assert!(
        report.errors.iter().any(|e| e.contains("truncated")),
        "{:?}",
        report.errors
    );
    assert!(
        report.damaged.iter().any(|d| d.path.ends_with("big.bin")),
        "{:?}",
        report.damaged
    );
}
