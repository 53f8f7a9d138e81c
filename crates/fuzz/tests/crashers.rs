//! Every kept crasher still returns, and every target survives a fixed run of mutations
//! (the same inputs every time: seeded), so `make test` catches a parser that regresses.

#[test]
fn kept_crashers_no_longer_crash() {
    let mut replayed = 0;
    for t in chainops_fuzz::all() {
        let Ok(rd) = std::fs::read_dir(chainops_fuzz::crasher_dir(t.name)) else {
            continue;
        };
        for e in rd.flatten() {
            let input = std::fs::read(e.path()).unwrap_or_else(|err| panic!("{err}"));
            assert!(
                chainops_fuzz::check_one(t, &input).is_ok(),
                "{} crashes again on {}",
                t.name,
                e.path().display()
            );
            replayed += 1;
        }
    }
    eprintln!("{replayed} crashers replayed");
}

#[test]
fn every_target_survives_a_seeded_run() {
    for t in chainops_fuzz::all() {
        assert!(!(t.seeds)().is_empty(), "{} has no seeds", t.name);
        let iterations = if t.name.starts_with("backup") || t.name.starts_with("rpc") {
            150
        } else {
            1500
        };
        if let Err(input) = chainops_fuzz::run_iterations(t, 14, iterations) {
            panic!(
                "{} crashed on {:?}",
                t.name,
                String::from_utf8_lossy(&input)
            );
        }
    }
}
