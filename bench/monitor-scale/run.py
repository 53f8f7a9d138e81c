#!/usr/bin/env python3
"""Collector scale benchmark: chainops polling N fake EVM nodes at 1 s.

For each fleet size, starts the fake fleet (one process, /n/{i} paths) and `chainops serve`
with a generated config, waits for warm-up, then measures chainops' CPU time (utime+stime
from /proc) and peak RSS over the measurement window while a Prometheus-like scraper reads
/metrics every 15 s. Prints a markdown table and writes results.json.

Env: SIZES (default "100,1000,5000"), WARMUP_SECONDS (30), MEASURE_SECONDS (60);
BENCH_SMOKE=1 runs 5 nodes for a few seconds on the binaries in BIN_DIR (default
target/release) and checks every node is up and polled, without writing results.json.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SMOKE = os.environ.get("BENCH_SMOKE") == "1"
BIN_DIR = os.path.join(ROOT, os.environ.get("BIN_DIR", os.path.join("target", "release")))
CHAINOPS = os.path.join(BIN_DIR, "chainops")
FLEET = os.path.join(BIN_DIR, "fake-evm-fleet")
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def polls_total(body):
    """Successful polls so far: every poll's batch carries one eth_syncing call."""
    return sum(float(l.split()[-1]) for l in body.decode().splitlines()
               if l.startswith("chainops_rpc_requests_total{") and 'method="eth_syncing"' in l and 'outcome="ok"' in l)


TOKEN = None


def get(url, timeout=30):
    """GET with the run's API token (every API route needs credentials)."""
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"} if TOKEN else {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read()


def run(n, warmup, measure):
    fleet_port = free_port()
    fleet = subprocess.Popen([FLEET, str(fleet_port)], stdout=subprocess.PIPE, text=True)
    fleet.stdout.readline()
    tmp = tempfile.mkdtemp(prefix=f"chainops-bench-{n}-")
    cfg = os.path.join(tmp, "chainops.toml")
    with open(cfg, "w") as f:
        f.write(f'data_dir = "{tmp}/data"\n[monitor]\nmax_concurrent_polls = 1024\n')
        for i in range(n):
            f.write(
                f'[[nodes]]\nname = "n{i}"\nchain = "c{i % 10}"\nkind = "evm"\n'
                f'rpc_url = "http://127.0.0.1:{fleet_port}/n/{i}"\nblock_time = "1s"\n'
            )
    global TOKEN
    subprocess.run([CHAINOPS, "serve", "--init-only", "--config", cfg], capture_output=True, check=True)
    TOKEN = json.loads(subprocess.run(
        [CHAINOPS, "token", "create", "--role", "viewer", "--name", "bench", "--json", "--config", cfg],
        capture_output=True, text=True, check=True).stdout)["token"]
    log = open(os.path.join(tmp, "chainops.log"), "w")
    proc = subprocess.Popen(
        [CHAINOPS, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--log-level", "warn"],
        stdout=subprocess.PIPE, stderr=log, text=True,
    )
    base = proc.stdout.readline().strip().replace("chainops listening on ", "")
    try:
        time.sleep(warmup)
        nodes = json.loads(get(base + "/api/v1/nodes?limit=10000"))
        up = sum(1 for x in nodes if x["up"])
        c0, f0, t0 = cpu_seconds(proc.pid), cpu_seconds(fleet.pid), time.time()
        peak, scrape_ms, next_scrape = rss_mb(proc.pid), [], t0
        while time.time() - t0 < measure:
            if time.time() >= next_scrape:
                s = time.time()
                body = get(base + "/metrics")
                scrape_ms.append((time.time() - s) * 1000)
                if next_scrape == t0:
                    polls_start, polls_at = polls_total(body), time.time()
                next_scrape += 15
            peak = max(peak, rss_mb(proc.pid))
            time.sleep(1)
        dt = time.time() - t0
        c1, f1 = cpu_seconds(proc.pid), cpu_seconds(fleet.pid)
        polls_end = polls_total(get(base + "/metrics"))
        nodes = json.loads(get(base + "/api/v1/nodes?limit=10000"))
        return {
            "nodes": n,
            "nodes_up": sum(1 for x in nodes if x["up"]),
            "nodes_up_after_warmup": up,
            "cpu_percent_of_one_core": round((c1 - c0) / dt * 100, 1),
            "peak_rss_mb": round(peak, 1),
            "fleet_cpu_percent": round((f1 - f0) / dt * 100, 1),
            "metrics_scrape_ms_max": round(max(scrape_ms), 1),
            "metrics_bytes": len(body),
            "polls_per_node_per_second": round((polls_end - polls_start) / n / (time.time() - polls_at), 3),
            "measure_seconds": round(dt, 1),
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        fleet.kill()
        fleet.wait()


def main():
    sizes = [int(x) for x in os.environ.get("SIZES", "5" if SMOKE else "100,1000,5000").split(",")]
    warmup = int(os.environ.get("WARMUP_SECONDS", "4" if SMOKE else "30"))
    measure = int(os.environ.get("MEASURE_SECONDS", "3" if SMOKE else "60"))
    for b in (CHAINOPS, FLEET):
        if not os.path.exists(b):
            sys.exit(f"{b} missing: run `cargo build --release -p chainops -p fake-evm-fleet` (or set BIN_DIR)")
    results = []
    for n in sizes:
        print(f"measuring {n} nodes ({warmup}s warm-up, {measure}s window)...", file=sys.stderr, flush=True)
        r = run(n, warmup, measure)
        print(json.dumps(r), file=sys.stderr, flush=True)
        results.append(r)
        if SMOKE:
            assert r["nodes_up"] == n, f"smoke: {r['nodes_up']} of {n} nodes up"
            assert r["polls_per_node_per_second"] > 0, "smoke: no polls counted in /metrics"
    if SMOKE:
        print("monitor-scale smoke: ok")
        return
    with open(os.path.join(os.path.dirname(__file__), "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    print("| nodes | up | polls/node/s | chainops CPU (% of one core) | peak RSS (MB) | /metrics size (MB) | scrape (ms, max) | fake fleet CPU (%) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['nodes']} | {r['nodes_up']} | {r['polls_per_node_per_second']} | {r['cpu_percent_of_one_core']} | "
              f"{r['peak_rss_mb']} | {r['metrics_bytes'] / 1e6:.1f} | {r['metrics_scrape_ms_max']} | {r['fleet_cpu_percent']} |")


if __name__ == "__main__":
    main()
