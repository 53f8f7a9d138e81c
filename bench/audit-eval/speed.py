#!/usr/bin/env python3
"""Speed of `chainops audit` vs Slither 0.11.6 on the same SmartBugs files.

chainops: per-file parse + all detectors in-process (crates/audit/examples/timing.rs, best of 3),
plus end-to-end wall time of one `chainops audit` process over the whole set.
Slither: end-to-end wall time per file (solc-js compile + analysis), compiler picked from the
file's pragma among those ../shared/tools/slither-offline/setup.sh installs into .tools/slither.

    bench/audit-eval/speed.py [--sample N] [--json out.json]
"""
import argparse, json, os, re, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(os.path.dirname(ROOT), "shared", "datasets", "smartbugs-curated-dev", "dataset")
SLITHER = os.path.join(ROOT, ".tools", "slither")
SMOKE = os.environ.get("BENCH_SMOKE") == "1"
if SMOKE:  # the repo's detector fixtures, binaries from BIN_DIR, no Slither
    DATA = os.path.join(ROOT, "crates", "audit", "tests", "fixtures")
BIN = os.path.join(ROOT, os.environ.get("BIN_DIR", os.path.join("target", "release")))
VERSIONS = ["0.4.2", "0.4.9", "0.4.10", "0.4.11", "0.4.13", "0.4.15", "0.4.16", "0.4.18", "0.4.19", "0.4.21",
            "0.4.22", "0.4.23", "0.4.24", "0.4.25", "0.5.0", "0.5.16", "0.6.12", "0.7.6", "0.8.24"]


def files():
    out = []
    for d, _, fs in os.walk(DATA):
        out += [os.path.join(d, f) for f in fs if f.endswith(".sol")]
    return sorted(out)


def vkey(v):
    return tuple(int(x) for x in v.split("."))


def compiler_for(path):
    """The installed solc for the file's pragma: the newest of the same minor for ^/>=
    ranges, the exact (or next) one for pinned versions."""
    m = re.search(r"pragma\s+solidity\s+([^;]+);", open(path, errors="replace").read())
    if not m:
        return "0.4.24"
    spec = m.group(1)
    found = re.findall(r"\d+\.\d+\.\d+", spec)
    lo = min(found, key=vkey) if found else "0.4.24"
    same = [v for v in VERSIONS if vkey(v)[:2] == vkey(lo)[:2] and vkey(v) >= vkey(lo)]
    if not same:
        same = [v for v in VERSIONS if vkey(v) >= vkey(lo)] or ["0.8.24"]
    pinned = not re.search(r"[\^>~]", spec)
    return same[0] if pinned else same[-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample", type=int, default=20, help="Slither files (every k-th of the set)")
    ap.add_argument("--json")
    a = ap.parse_args()
    fs = files()
    if not SMOKE:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "chainops", "-p", "chainops-audit", "--example", "timing"], cwd=ROOT, check=True)
    t = json.loads(subprocess.run([os.path.join(BIN, "examples", "timing"), DATA, "--json"],
                                  capture_output=True, text=True, check=True).stdout)
    start = time.perf_counter()
    out = subprocess.run([os.path.join(BIN, "chainops"), "audit", "--format", "json", DATA],
                         capture_output=True, check=False)
    e2e = time.perf_counter() - start
    print(f"chainops: {t['files']} files, median {t['median_ms']:.2f} ms, p95 {t['p95_ms']:.2f} ms per file in-process; "
          f"one process over all files {e2e:.2f} s")
    result = {"chainops": dict(t, end_to_end_s=e2e)}
    if SMOKE:
        assert out.returncode in (0, 1) and t["files"] > 0, f"smoke: audit exit {out.returncode}, {t}"
        print("audit speed smoke: ok")
        return
    slither = os.path.join(SLITHER, "venv", "bin", "slither")
    if not os.path.exists(slither):
        print("Slither not installed: ../shared/tools/slither-offline/setup.sh .tools/slither")
    else:
        step = max(1, len(fs) // a.sample)
        times, failed = [], 0
        for f in fs[::step][: a.sample]:
            solc = os.path.join(SLITHER, "bin", "solc-" + compiler_for(f))
            start = time.perf_counter()
            out = subprocess.run([slither, f, "--solc", solc, "--json", "-", "--solc-force-legacy-json"],
                                 capture_output=True, text=True)
            took = time.perf_counter() - start
            ok = '"success": true' in out.stdout
            failed += not ok
            times.append(took)
            print(f"  slither {os.path.relpath(f, DATA):<70} {took:6.2f} s {'ok' if ok else 'FAILED'}", flush=True)
        med = statistics.median(times)
        print(f"slither: {len(times)} files, median {med:.2f} s per file, {failed} failed")
        print(f"ratio (median per file): {med * 1000 / t['median_ms']:.0f}x")
        result["slither"] = {"files": len(times), "median_s": med, "failed": failed}
    if a.json:
        json.dump(result, open(a.json, "w"), indent=2)


if __name__ == "__main__":
    main()
