#!/usr/bin/env python3
"""Backup benchmark: chainops vs restic 0.14 (--compression auto) vs borg 1.2 (zstd,3,
repokey-blake2) on the same node-like data set, in one run.

For each tool, on a fresh copy of the 1 GiB data set (`../shared/bench/gen_node_data.py base`):
full backup, the 2 % `mutate`, incremental backup, restore of the latest snapshot, and a full
data check. Wall time, CPU (user+sys), peak RSS (GNU time) and repository size are recorded.
The page cache is warm for every tool alike (the copy was just written and synced).

Usage: bench/backup-vs-peers/run.py [WORKDIR]      (default /tmp/chainops-bench-backup)
Prints a Markdown table; writes results.json into WORKDIR.
"""
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GEN = os.path.join(ROOT, "..", "shared", "bench", "gen_node_data.py")
SMOKE = os.environ.get("BENCH_SMOKE") == "1"
CHAINOPS = os.path.join(ROOT, os.environ.get("BIN_DIR", os.path.join("target", "release")), "chainops")
WORK = sys.argv[1] if len(sys.argv) > 1 else ("/tmp/chainops-bench-backup-smoke" if SMOKE else "/tmp/chainops-bench-backup")
ENV = dict(os.environ, CHAINOPS_BACKUP_PASSWORD="bench", RESTIC_PASSWORD="bench",
           BORG_PASSPHRASE="bench", BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK="yes",
           BORG_RELOCATED_REPO_ACCESS_IS_OK="yes")


def timed(cmd, cwd=None):
    """Runs cmd under GNU time; returns (wall s, cpu s, peak RSS MiB)."""
    fmt = "%e %U %S %M"
    out = subprocess.run(["/usr/bin/time", "-f", fmt, "-o", "/tmp/bench-time.txt", *cmd],
                         cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {out.stderr[-2000:]}")
    wall, user, sys_, rss = open("/tmp/bench-time.txt").read().split()[-4:]
    return float(wall), float(user) + float(sys_), int(rss) / 1024


def du_mib(path):
    total = 0
    for d, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(d, f))
    return total / 2**20


def tools(repo, data, target):
    return {
        "chainops": {
            "init": [CHAINOPS, "backup", "init", "--repo", repo],
            "full": [CHAINOPS, "backup", "create", "--repo", repo, data],
            "incr": [CHAINOPS, "backup", "create", "--repo", repo, data],
            "restore": [CHAINOPS, "backup", "restore", "latest", "--repo", repo, "--target", target],
            "check": [CHAINOPS, "backup", "check", "--read-data", "--repo", repo],
        },
        "restic": {
            "init": ["restic", "init", "-q", "-r", repo],
            "full": ["restic", "-q", "-r", repo, "backup", "--compression", "auto", data],
            "incr": ["restic", "-q", "-r", repo, "backup", "--compression", "auto", data],
            "restore": ["restic", "-q", "-r", repo, "restore", "latest", "--target", target],
            "check": ["restic", "-q", "-r", repo, "check", "--read-data"],
        },
        "borg": {
            "init": ["borg", "init", "-e", "repokey-blake2", repo],
            "full": ["borg", "create", "--compression", "zstd,3", repo + "::full", data],
            "incr": ["borg", "create", "--compression", "zstd,3", repo + "::incr", data],
            "restore": ["borg", "extract", repo + "::incr"],
            "check": ["borg", "check", "--verify-data", repo],
        },
    }


def smoke_data(base):
    """BENCH_SMOKE=1: a ~6 MiB node-like directory (compressible logs, random SST-like files,
    a symlink) instead of the 1 GiB set, so the whole script runs in seconds."""
    import random
    rnd = random.Random(14)
    os.makedirs(os.path.join(base, "chaindata"))
    for i in range(6):
        with open(os.path.join(base, "chaindata", f"{i:06d}.sst"), "wb") as f:
            f.write(rnd.randbytes(512 * 1024))
    with open(os.path.join(base, "node.log"), "w") as f:
        for i in range(40000):
            f.write(f"INFO [12-04|18:00:{i % 60:02d}] Imported new chain segment number={i} hash=0x{i:064x}\n")
    os.symlink("chaindata/000000.sst", os.path.join(base, "CURRENT"))


def smoke_mutate(data):
    """Appends to the log and replaces one table, as a node does between two backups."""
    with open(os.path.join(data, "node.log"), "a") as f:
        f.write("INFO new block\n" * 1000)
    with open(os.path.join(data, "chaindata", "000005.sst"), "wb") as f:
        f.write(os.urandom(512 * 1024))


def main():
    missing = [p for p, t in (("restic", "restic"), ("borgbackup", "borg")) if shutil.which(t) is None]
    if missing:
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", *missing], check=True)
    os.makedirs(WORK, exist_ok=True)
    base = os.path.join(WORK, "base")
    if SMOKE:
        shutil.rmtree(WORK, ignore_errors=True)
        os.makedirs(WORK)
        smoke_data(base)
    elif not os.path.exists(base):
        subprocess.run([sys.executable, GEN, "base", base], check=True)
    size = du_mib(base)
    if not os.path.exists(CHAINOPS):
        subprocess.run(["cargo", "build", "--release", "-p", "chainops"], cwd=ROOT, check=True)
    results = {}
    for name in ("chainops", "restic", "borg"):
        data = os.path.join(WORK, "data")
        repo = os.path.join(WORK, f"repo-{name}")
        target = os.path.join(WORK, f"restore-{name}")
        for p in (data, repo, target):
            shutil.rmtree(p, ignore_errors=True)
        subprocess.run(["cp", "-a", base, data], check=True)
        subprocess.run(["sync"], check=True)  # no tool pays for the copy's write-back
        os.makedirs(target)
        t = tools(repo, data, target)[name]
        subprocess.run(t["init"], env=ENV, check=True, capture_output=True)
        r = {"full": timed(t["full"])}
        r["repo_full_mib"] = du_mib(repo)
        if SMOKE:
            smoke_mutate(data)
        else:
            subprocess.run([sys.executable, GEN, "mutate", data], check=True, capture_output=True)
        subprocess.run(["sync"], check=True)
        r["incr"] = timed(t["incr"])
        r["restore"] = timed(t["restore"], cwd=target)
        r["check"] = timed(t["check"])
        r["repo_mib"] = du_mib(repo)
        results[name] = r
        print(name, json.dumps(r), file=sys.stderr)
        shutil.rmtree(target, ignore_errors=True)
    if SMOKE:
        print("backup-vs-peers smoke: ok (" + ", ".join(results) + ")")
        return
    with open(os.path.join(WORK, "results.json"), "w") as f:
        json.dump({"data_mib": size, "results": results}, f, indent=1)
    mib_s = lambda sec: size / sec
    print(f"Data: {size:.0f} MiB. Wall s / CPU s / peak RSS MiB; throughput = data ÷ wall.\n")
    print("| tool | full backup | full MiB/s | repo after full (MiB) | incremental | restore | restore MiB/s | check --read-data |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        f = lambda k: f"{r[k][0]:.2f} / {r[k][1]:.2f} / {r[k][2]:.0f}"
        print(f"| {name} | {f('full')} | {mib_s(r['full'][0]):.0f} | {r['repo_full_mib']:.0f} | {f('incr')} | {f('restore')} | {mib_s(r['restore'][0]):.0f} | {f('check')} |")
    c, rs, b = results["chainops"], results["restic"], results["borg"]
    print()
    print(f"- full backup throughput: {rs['full'][0] / c['full'][0]:.2f}× restic (goal ≥ 3), {b['full'][0] / c['full'][0]:.2f}× borg (goal ≥ 1.8)")
    print(f"- repository: {c['repo_full_mib'] / b['repo_full_mib']:.3f}× borg's (goal ≤ 1.02)")
    print(f"- incremental: {c['incr'][0] / b['incr'][0]:.2f}× borg's time (goal ≤ 0.5)")
    print(f"- peak RSS (full): {c['full'][2]:.0f} MiB vs restic {rs['full'][2]:.0f} MiB (goal ≤ restic)")
    print(f"- restore: {mib_s(c['restore'][0]):.0f} MiB/s vs restic {mib_s(rs['restore'][0]):.0f} MiB/s (rustic's 219 MiB/s quoted in the issue; goal ≥ 1.2× rustic = 263 MiB/s)")


if __name__ == "__main__":
    main()
