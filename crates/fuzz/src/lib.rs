//! Mutational fuzzing of the parsers that see outside data.
//!
//! A nightly toolchain cannot be installed here, so `cargo fuzz` (libFuzzer's coverage
//! guidance) is out; this is a seed-driven mutational fuzzer instead. Every target starts
//! from real inputs (fixture log lines, shipped configs, detector fixtures, captured node
//! answers) and mutates them the ways real input goes wrong: flipped and inserted bytes,
//! multi-byte UTF-8 cut anywhere, deleted and repeated ranges, splices of two seeds,
//! absurd numbers, deep nesting and truncation. A target is one function over bytes that
//! must return (errors are fine); a panic, an abort or a stack overflow is a crash.
//!
//! `chainops-fuzz` (see `src/main.rs`, `make fuzz`) runs targets for a set time in child
//! processes so an abort is caught too; every crash found is kept under `crashers/<target>/`
//! and replayed by `tests/crashers.rs` on every `make test`.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub mod targets;

/// One fuzz target.
pub struct Target {
    /// Stable name (`logs-line`, `config-toml`…), also the crasher folder name.
    pub name: &'static str,
    /// What the target feeds.
    pub about: &'static str,
    /// Real inputs to start from.
    pub seeds: fn() -> Vec<Vec<u8>>,
    /// Feeds one input; must return whatever the input is.
    pub run: fn(&[u8]),
}

/// Every target, sorted by name.
pub fn all() -> &'static [Target] {
    targets::ALL
}

/// The target called `name`.
pub fn find(name: &str) -> Option<&'static Target> {
    all().iter().find(|t| t.name == name)
}

/// Text fragments that break hand-written parsers: multi-byte characters, signs, separators,
/// huge numbers, nesting openers.
const DICT: &[&str] = &[
    "中文",
    "é",
    "𝄞",
    "\u{200b}",
    "\0",
    "\r\n",
    "\n",
    "\t",
    "+08:",
    "-",
    ":",
    ".",
    ",",
    "=",
    "\"",
    "'",
    "\\",
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "0x",
    "99999999999999999999999999",
    "-9223372036854775808",
    "18446744073709551616",
    "1e308",
    "NaN",
    "null",
    "true",
    "${",
    "T",
    "Z",
    "/*",
    "*/",
    "//",
    "..",
    "%",
];

/// Produces a mutated input from `seeds` (and may grow it up to `max_len`).
pub fn mutate(rng: &mut StdRng, seeds: &[Vec<u8>], max_len: usize) -> Vec<u8> {
    let mut data = if seeds.is_empty() {
        Vec::new()
    } else {
        seeds[rng.random_range(0..seeds.len())].clone()
    };
    let rounds = 1 + rng.random_range(0..4) * rng.random_range(0..4);
    for _ in 0..rounds {
        let len = data.len();
        let at = if len == 0 {
            0
        } else {
            rng.random_range(0..=len)
        };
        match rng.random_range(0..11) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                data[i] ^= 1 << rng.random_range(0..8);
            }
            1 => data.insert(at, rng.random()),
            2 | 3 => {
                let d = DICT[rng.random_range(0..DICT.len())].as_bytes();
                data.splice(at..at, d.iter().copied());
            }
            4 if len > 0 => {
                let end = (at + rng.random_range(1..=16)).min(len);
                data.drain(at.min(end)..end);
            }
            5 if len > 0 => {
                // Repeat a range: long lines, deep nesting, many fields.
                let start = rng.random_range(0..len);
                let end = (start + rng.random_range(1..=8)).min(len);
                let piece = data[start..end].to_vec();
                let times = 1usize << rng.random_range(0..10);
                for _ in 0..times {
                    data.splice(at..at, piece.iter().copied());
                }
            }
            6 if !seeds.is_empty() => {
                let other = &seeds[rng.random_range(0..seeds.len())];
                if !other.is_empty() {
                    let s = rng.random_range(0..other.len());
                    let e = (s + rng.random_range(1..=64)).min(other.len());
                    data.splice(at..at, other[s..e].iter().copied());
                }
            }
            7 if len > 0 => data.truncate(at),
            8 => {
                // Replace a digit run with an absurd number.
                if let Some(i) = data.iter().skip(at).position(u8::is_ascii_digit) {
                    let i = at + i;
                    let j = data[i..]
                        .iter()
                        .position(|b| !b.is_ascii_digit())
                        .map_or(data.len(), |p| i + p);
                    let n = [
                        "0",
                        "4294967295",
                        "4294967296",
                        "2147483648",
                        "18446744073709551615",
                        "99999999999",
                    ][rng.random_range(0..6)];
                    data.splice(i..j, n.bytes());
                }
            }
            9 if len > 0 => {
                let i = rng.random_range(0..len);
                data[i] = [0x80, 0xC3, 0xE4, 0xF0, 0xFF, b'\n', b'"'][rng.random_range(0..7)];
            }
            _ => {
                let d = DICT[rng.random_range(0..DICT.len())].as_bytes();
                if len > 0 {
                    let i = rng.random_range(0..len);
                    let e = (i + d.len()).min(len);
                    data.splice(i..e, d.iter().copied());
                }
            }
        }
        data.truncate(max_len);
    }
    data
}

/// Largest input a mutation may grow to.
pub const MAX_LEN: usize = 64 * 1024;

/// Runs `target` on `iterations` inputs derived from `seed`; returns the first input that
/// panicked. The caller installs a quiet panic hook if it wants one.
pub fn run_iterations(target: &Target, seed: u64, iterations: u64) -> Result<u64, Vec<u8>> {
    let seeds = (target.seeds)();
    let mut rng = StdRng::seed_from_u64(seed);
    for s in &seeds {
        check_one(target, s)?;
    }
    for _ in 0..iterations {
        let input = mutate(&mut rng, &seeds, MAX_LEN);
        check_one(target, &input)?;
    }
    Ok(iterations + seeds.len() as u64)
}

/// Feeds one input; `Err(input)` if it panicked.
pub fn check_one(target: &Target, input: &[u8]) -> Result<(), Vec<u8>> {
    std::panic::catch_unwind(|| (target.run)(input)).map_err(|_| input.to_vec())
}

/// Where the kept crashers of a target live.
pub fn crasher_dir(target: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crashers")
        .join(target)
}
