//! `chainops-fuzz`: runs the fuzz targets for a set time and keeps every crash.
//!
//! ```text
//! chainops-fuzz [--seconds N] [--list] [TARGET…]
//! ```
//! Each target runs in a child process (`--child`), so an abort or a stack overflow is a
//! crash like a panic: the child writes each input to a scratch file before feeding it, and
//! the parent keeps that file under `crashers/<target>/` when the child dies. Ends with a
//! table of executions, CPU seconds and crashes per target; exits 1 if anything crashed.

use std::io::Write;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

fn usage() -> ExitCode {
    eprintln!("usage: chainops-fuzz [--seconds N] [--list] [TARGET…]   (targets: --list)");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        return child(&args[1..]);
    }
    let mut seconds = 30u64;
    let mut names = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => match it.next().and_then(|s| s.parse().ok()) {
                Some(s) if s > 0 => seconds = s,
                _ => return usage(),
            },
            "--list" => {
                for t in chainops_fuzz::all() {
                    println!("{:<18} {}", t.name, t.about);
                }
                return ExitCode::SUCCESS;
            }
            "-h" | "--help" => {
                let _ = usage();
                return ExitCode::SUCCESS;
            }
            n if chainops_fuzz::find(n).is_some() => names.push(n.to_string()),
            n => {
                eprintln!("chainops-fuzz: no target {n:?} (see --list)");
                return ExitCode::from(2);
            }
        }
    }
    if names.is_empty() {
        names = chainops_fuzz::all()
            .iter()
            .map(|t| t.name.to_string())
            .collect();
    }
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("chainops-fuzz: {e}");
            return ExitCode::from(2);
        }
    };
    let scratch = std::env::temp_dir().join(format!("chainops-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&scratch);
    println!(
        "{:<18} {:>10} {:>8} {:>8} {:>8}",
        "target", "execs", "exec/s", "cpu_s", "crashes"
    );
    let (mut total_cpu, mut total_crashes) = (0.0, 0);
    for name in &names {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let (mut execs, mut cpu, mut crashes, mut round) = (0u64, 0.0f64, 0usize, 0u64);
        let started = Instant::now();
        while Instant::now() < deadline {
            round += 1;
            let left = deadline
                .saturating_duration_since(Instant::now())
                .as_millis()
                .max(1);
            let cur = scratch.join(format!("{name}.cur"));
            let stats = scratch.join(format!("{name}.stats"));
            let _ = std::fs::remove_file(&stats);
            let before = children_cpu();
            let out = Command::new(&exe)
                .args(["--child", name, &round.to_string(), &left.to_string()])
                .arg(&cur)
                .arg(&stats)
                .env("RUST_BACKTRACE", "0")
                .stderr(Stdio::piped())
                .output();
            cpu += children_cpu() - before;
            let done: u64 = std::fs::read_to_string(&stats)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            execs += done;
            match out {
                Ok(o) if o.status.success() => {}
                Ok(o) => {
                    crashes += 1;
                    let why = crash_site(&String::from_utf8_lossy(&o.stderr));
                    match keep_crasher(name, &why, &cur) {
                        Ok(Some(p)) => eprintln!("{name}: {why}: kept as {}", p.display()),
                        Ok(None) => {}
                        Err(e) => eprintln!("{name}: {why}: the input is lost: {e}"),
                    }
                }
                Err(e) => {
                    eprintln!("chainops-fuzz: cannot start a child: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        let rate = execs as f64 / started.elapsed().as_secs_f64().max(1e-9);
        println!("{name:<18} {execs:>10} {rate:>8.0} {cpu:>8.1} {crashes:>8}");
        total_cpu += cpu;
        total_crashes += crashes;
    }
    println!(
        "total: {:.1} CPU-minutes, {total_crashes} crashes",
        total_cpu / 60.0
    );
    let _ = std::fs::remove_dir_all(&scratch);
    if total_crashes > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// CPU seconds of waited-for children (user + system).
fn children_cpu() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.split_whitespace().collect::<Vec<_>>();
            // Fields 16 and 17 (cutime, cstime) are rest[13], rest[14].
            let tick = 100.0;
            Some((rest.get(13)?.parse::<f64>().ok()? + rest.get(14)?.parse::<f64>().ok()?) / tick)
        })
        .unwrap_or(0.0)
}

/// Where a child died: the panic's `file:line:col`, or the kind of abort.
fn crash_site(stderr: &str) -> String {
    if let Some(rest) = stderr.split("panicked at ").nth(1) {
        return rest
            .split([':', '\n'])
            .take(2)
            .collect::<Vec<_>>()
            .join(":");
    }
    if stderr.contains("memory allocation of") {
        return "allocation failure".into();
    }
    if stderr.contains("overflowed its stack") {
        return "stack overflow".into();
    }
    "abort".into()
}

/// Keeps the input under `crashers/<target>/`, one file per crash site (a site already kept
/// is not kept again); returns the new file.
fn keep_crasher(
    name: &str,
    site: &str,
    cur: &std::path::Path,
) -> std::io::Result<Option<std::path::PathBuf>> {
    let data = std::fs::read(cur)?;
    let dir = chainops_fuzz::crasher_dir(name);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(&blake3::hash(site.as_bytes()).to_hex()[..16]);
    if path.exists() {
        return Ok(None);
    }
    std::fs::write(&path, &data)?;
    Ok(Some(path))
}

/// `--child TARGET ROUND MILLIS CUR STATS`: fuzzes until the time is up; panics abort.
fn child(args: &[String]) -> ExitCode {
    let [name, round, millis, cur, stats] = args else {
        return usage();
    };
    let (Some(target), Ok(round), Ok(millis)) = (
        chainops_fuzz::find(name),
        round.parse::<u64>(),
        millis.parse::<u64>(),
    ) else {
        return usage();
    };
    // A panic is a crash: let it print, then abort so the parent keeps the input.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("crash: {info}");
        std::process::abort();
    }));
    let Ok(mut scratch) = std::fs::File::create(cur) else {
        return ExitCode::from(2);
    };
    let deadline = Instant::now() + Duration::from_millis(millis);
    let seed = round ^ (std::process::id() as u64) << 32 ^ now_nanos();
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
    let seeds = (target.seeds)();
    let mut n = 0u64;
    let mut feed = |input: &[u8], n: &mut u64| {
        use std::io::Seek;
        let _ = scratch.set_len(0);
        let _ = scratch.rewind();
        let _ = scratch.write_all(input);
        (target.run)(input);
        *n += 1;
    };
    if round == 1 {
        for s in &seeds {
            feed(s, &mut n);
        }
    }
    while Instant::now() < deadline {
        for _ in 0..64 {
            let input = chainops_fuzz::mutate(&mut rng, &seeds, chainops_fuzz::MAX_LEN);
            feed(&input, &mut n);
        }
    }
    let _ = std::fs::write(stats, n.to_string());
    ExitCode::SUCCESS
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}
