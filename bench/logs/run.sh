#!/usr/bin/env bash
# Log management benchmark (issue 7): ingest rate and selective-query latency of chainops
# against ripgrep scanning the same raw files.
#   bench/logs/run.sh [SIZE_MB]     (default 1024)
# Needs python3 and ripgrep (installed with apt if missing). Prints a JSON summary.
# BENCH_SMOKE=1: 2 MB on the already-built binaries in BIN_DIR (bench/smoke.sh), same checks.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${BENCH_SMOKE:-}" = 1 ]; then SIZE_MB=${1:-2}; else SIZE_MB=${1:-1024}; fi
WORK=${BENCH_DIR:-/tmp/chainops-bench-logs}
BIN_DIR=${BIN_DIR:-target/release}
export BIN_DIR
command -v rg >/dev/null 2>&1 || { SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo; $SUDO apt-get install -y -qq ripgrep >/dev/null; }
if [ "${BENCH_SMOKE:-}" != 1 ]; then
  cargo build --release -q -p chainops
  cargo build --release -q -p chainops-logs --example ingest_bench --example query_bench
fi
BIN=$BIN_DIR/chainops
if [ -z "${REUSE_DATA:-}" ] || [ ! -f "$WORK/data/rare.txt" ]; then
  rm -rf "$WORK" && mkdir -p "$WORK/data"
  python3 bench/logs/gen.py "$WORK/data" "$SIZE_MB" >&2
fi
rm -rf "$WORK/state"
printf 'data_dir = "%s/state"\n[[nodes]]\nname = "bench"\nchain = "bench"\nkind = "evm"\nrpc_url = "http://127.0.0.1:1"\n' "$WORK" > "$WORK/c.toml"
python3 - "$WORK" "$BIN" <<'PY'
import json, os, resource, statistics, subprocess, sys, time
work, binary = sys.argv[1], sys.argv[2]
data = os.path.join(work, "data")
files = sorted(f for f in os.listdir(data) if f != "rare.txt")
cfg = os.path.join(work, "c.toml")
lines = sum(sum(1 for _ in open(os.path.join(data, f), "rb")) for f in files)
raw = sum(os.path.getsize(os.path.join(data, f)) for f in files)
# Parse + redact only (no storage), per file, in-process.
parse = {}
for f in files:
    out = subprocess.run([os.path.join(os.environ["BIN_DIR"], "examples", "ingest_bench"), os.path.join(data, f)], capture_output=True, text=True, env=dict(os.environ, PARSE_ONLY="1")).stdout
    parse[f] = json.loads(out.strip().splitlines()[-1])["parse_redact_lines_per_s"]
# Full ingest (parse + redact + store + index) of everything into one store, one process at a time.
subprocess.run([binary, "serve", "--init-only", "--config", cfg], check=True, capture_output=True)
before = resource.getrusage(resource.RUSAGE_CHILDREN)
t = time.time()
for f in files:
    subprocess.run([binary, "logs", "import", "--node", "bench", "--config", cfg, os.path.join(data, f)], check=True, capture_output=True)
wall = time.time() - t
after = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
db = sum(os.path.getsize(os.path.join(work, "state", x)) for x in os.listdir(os.path.join(work, "state")) if x.startswith("chainops.db"))
needles = [n for n in open(os.path.join(data, "rare.txt")).read().split() if n][:20]
def timed(cmd):
    t = time.time(); r = subprocess.run(cmd, capture_output=True, text=True); return time.time() - t, r.stdout
ours, rg = [], []
for n in needles:
    dt, out = timed([binary, "logs", "search", n, "--since", "3650d", "--limit", "1000", "--json", "--config", cfg])
    got = len([l for l in out.splitlines() if l.strip()])
    dt2, out2 = timed(["rg", "-c", "--no-filename", "--glob", "!rare.txt", n, data])
    want = sum(int(x) for x in out2.split() if x.strip())
    assert got == want, (n, got, want)
    ours.append(dt); rg.append(dt2)
# The daemon's API, as the UI and scripts search: one HTTP request per needle.
import urllib.request, urllib.parse
tok = json.loads(subprocess.run([binary, "token", "create", "--role", "auditor", "--name", "bench", "--json", "--config", cfg],
    capture_output=True, text=True, check=True).stdout)["token"]
daemon = subprocess.Popen([binary, "serve", "--config", cfg, "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
try:
    base = daemon.stdout.readline().strip().removeprefix("chainops listening on ")
    api = []
    for n in needles:
        url = base + "/api/v1/logs?" + urllib.parse.urlencode({"q": n, "from": "0", "limit": "1000"})
        req = urllib.request.Request(url, headers={"Authorization": "Bearer " + tok})
        t = time.time(); body = json.loads(urllib.request.urlopen(req).read()); api.append(time.time() - t)
        want = sum(int(x) for x in subprocess.run(["rg", "-c", "--no-filename", "--glob", "!rare.txt", n, data], capture_output=True, text=True).stdout.split())
        assert len(body["entries"]) == want, (n, len(body["entries"]), want)
finally:
    daemon.terminate(); daemon.wait()
inproc = json.loads(subprocess.run([os.path.join(os.environ["BIN_DIR"], "examples", "query_bench"), "sqlite://" + os.path.join(work, "state", "chainops.db"),
    os.path.join(data, "rare.txt")], capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
res = {
    "raw_mb": round(raw / 2**20), "lines": lines,
    "parse_redact_lines_per_s": {f: round(v) for f, v in parse.items()},
    "ingest_lines_per_s_per_core": round(lines / cpu), "ingest_wall_s": round(wall, 1), "ingest_cpu_s": round(cpu, 1),
    "store_mb": round(db / 2**20), "store_to_raw": round(db / raw, 2),
    "query_ms_median_cli": round(statistics.median(ours) * 1000, 1), "rg_ms_median": round(statistics.median(rg) * 1000, 1),
    "speedup_vs_rg_cli": round(statistics.median(rg) / statistics.median(ours), 1), "queries": len(needles),
    "query_ms_median_api": round(statistics.median(api) * 1000, 2), "speedup_vs_rg_api": round(statistics.median(rg) / statistics.median(api), 1),
    "query_ms_median_in_process": inproc["median_ms"], "speedup_vs_rg_in_process": round(statistics.median(rg) * 1000 / inproc["median_ms"], 1),
}
print(json.dumps(res, indent=1))
PY
