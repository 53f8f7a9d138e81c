#!/usr/bin/env python3
"""Console benchmark: the web console against the fake fleet of bench/monitor-scale.

Starts N fake EVM nodes (default 1000) and `chainops serve`, seeds 30 days of 1-minute and
1-hour rollups for one node straight into the SQLite store, logs in, and measures:
server time of the fleet page (and its refresh fragment) and of a node page with the
series requests its charts make for 30 days; page weight (HTML + JS + CSS, gzip as
served); first contentful paint in headless Chromium. Prints a markdown table, writes
results.json, and exits non-zero when a goal of issue 18 is missed:
fleet <= 50 ms server and <= 300 KB gzip, node page <= 100 ms, all JS <= 150 KB gzip; the
public status page (10 chains, 90 days of quorum history) <= 50 ms once its bars are computed.

Env: NODES (1000), REPEAT (30); BENCH_SMOKE=1 runs 20 nodes, 3 days of history and a few
repeats on the binaries in BIN_DIR (default target/release), checks the pages answer, and
skips the goals and results.json (debug builds are not what the goals are about).
"""
import gzip
import json
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SMOKE = os.environ.get("BENCH_SMOKE") == "1"
BIN_DIR = os.path.join(ROOT, os.environ.get("BIN_DIR", os.path.join("target", "release")))
CHAINOPS = os.path.join(BIN_DIR, "chainops")
FLEET = os.path.join(BIN_DIR, "fake-evm-fleet")
TOOLS = os.path.join(ROOT, ".tools")
N = int(os.environ.get("NODES", "20" if SMOKE else "1000"))
REPEAT = int(os.environ.get("REPEAT", "3" if SMOKE else "30"))
DAYS = 3 if SMOKE else 30
PASSWORD = "Tiles-and-charts-731"
METRICS = ["height", "block_interval_seconds", "tx_per_second", "peers", "txpool_pending",
           "rpc_latency_seconds", "gas_used_ratio", "base_fee_wei", "head_age_seconds", "blocks_behind"]

sys.path.insert(0, os.path.join(ROOT, "bench", "monitor-scale"))
from run import free_port  # noqa: E402


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


def request(url, cookie=None, data=None, gz=True):
    headers = {"Accept-Encoding": "gzip"} if gz else {}
    if cookie:
        headers["Cookie"] = f"chainops_session={cookie}"
    req = urllib.request.Request(url, data=data, headers=headers)
    opener = urllib.request.build_opener(NoRedirect)
    t = time.perf_counter()
    try:
        r = opener.open(req, timeout=60)
    except urllib.error.HTTPError as e:
        r = e
    body = r.read()
    ms = (time.perf_counter() - t) * 1000
    return r.status, {k.lower(): v for k, v in r.headers.items()}, body, ms


def timed(url, cookie):
    times, size = [], 0
    for _ in range(REPEAT):
        status, headers, body, ms = request(url, cookie)
        if status != 200:
            sys.exit(f"GET {url}: {status}")
        times.append(ms)
        size = len(body)
    times.sort()
    return {"median_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 1),
            "gzip_bytes": size}


def seed(db, node, now_ms):
    """30 days of 1-minute and 1-hour rollups for `node` (what the collector would write)."""
    con = sqlite3.connect(db, timeout=30)
    rows_1m, rows_1h = [], []
    start = now_ms - DAYS * 86_400_000
    for m in METRICS:
        for i in range(DAYS * 1440):
            t = start + i * 60_000
            v = float(i) if m == "height" else 1.0 + (i % 60) / 60
            rows_1m.append((node, m, t, v, v, v * 60, 60, v, t + 59_000))
        for i in range(DAYS * 24):
            t = start + i * 3_600_000
            v = float(i * 60) if m == "height" else 1.5
            rows_1h.append((node, m, t, v, v, v * 3600, 3600, v, t + 3_599_000))
    # Each chain's quorum series over 90 days of hours (the status page's uptime bars).
    for c in range(10):
        for i in range(90 * 24):
            t = now_ms - 90 * 86_400_000 + i * 3_600_000
            v = 0.0 if i % 500 == 7 else 1.0
            rows_1h.append((f"@c{c}", "chain_quorum", t, v, v, v * 3600, 3600, v, t + 3_599_000))
    with con:
        con.executemany("INSERT OR REPLACE INTO series_1m (node, metric, bucket_ms, min, max, sum, count, last, last_ms) VALUES (?,?,?,?,?,?,?,?,?)", rows_1m)
        con.executemany("INSERT OR REPLACE INTO series_1h (node, metric, bucket_ms, min, max, sum, count, last, last_ms) VALUES (?,?,?,?,?,?,?,?,?)", rows_1h)
    con.close()
    return len(rows_1m) + len(rows_1h)


def main():
    for b in (CHAINOPS, FLEET):
        if not os.path.exists(b):
            sys.exit(f"{b} missing: run `cargo build --release -p chainops -p fake-evm-fleet` (or set BIN_DIR)")
    fleet_port = free_port()
    tmp = tempfile.mkdtemp(prefix="chainops-bench-console-")
    cfg = os.path.join(tmp, "chainops.toml")
    with open(cfg, "w") as f:
        f.write(f'data_dir = "{tmp}/data"\n[monitor]\nmax_concurrent_polls = 1024\n')
        for i in range(N):
            f.write(f'[[nodes]]\nname = "n{i}"\nchain = "c{i % 10}"\nkind = "evm"\n'
                    f'rpc_url = "http://127.0.0.1:{fleet_port}/n/{i}"\nblock_time = "1s"\n')
    subprocess.run([CHAINOPS, "serve", "--init-only", "--config", cfg], capture_output=True, check=True)
    subprocess.run([CHAINOPS, "user", "add", "--name", "perf", "--role", "admin", "--password-stdin",
                    "--config", cfg], input=PASSWORD + "\n", text=True, check=True, capture_output=True)
    fleet = subprocess.Popen([FLEET, str(fleet_port)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    fleet.stdout.readline()
    log = open(os.path.join(tmp, "chainops.log"), "w")
    proc = subprocess.Popen([CHAINOPS, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--log-level", "warn"],
                            stdout=subprocess.PIPE, stderr=log, text=True)
    base = proc.stdout.readline().strip().replace("chainops listening on ", "")
    try:
        seeded = seed(os.path.join(tmp, "data", "chainops.db"), "n0", int(time.time() * 1000))
        status, headers, _, _ = request(base + "/login", data=urllib.parse.urlencode(
            {"name": "perf", "password": PASSWORD}).encode())
        cookie = re.search(r"chainops_session=([^;]+)", headers.get("set-cookie", ""))
        if status != 303 or not cookie:
            sys.exit(f"login failed: {status}")
        cookie = cookie.group(1)
        # Every node polled once, so tiles carry real values.
        deadline = time.time() + 60
        while time.time() < deadline:
            _, _, body, _ = request(base + "/api/v1/nodes", cookie, gz=False)
            if sum(1 for n in json.loads(body) if n["up"]) == N:
                break
            time.sleep(1)
        fleet_page = timed(base + "/", cookie)
        fragment = timed(base + "/ui/fleet?q=&status=", cookie)
        node_page = timed(base + "/nodes/n0?range=30d", cookie)
        series = [timed(f"{base}/api/v1/series?node=n0&metric={m}&from=now-{DAYS}d", cookie) for m in METRICS]
        # The public status page (10 chains, 90 days of quorum history each): the first view
        # reads the history, later ones within a minute reuse the bars.
        status_first = request(base + "/status")[3]
        status_page = timed(base + "/status", None)
        _, _, html, _ = request(base + "/nodes/n0?range=30d", cookie, gz=False)
        points = len(json.loads(request(f"{base}/api/v1/series?node=n0&metric=height&from=now-{DAYS}d", cookie, gz=False)[2])["points"])
        assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', html.decode())
        js = css = 0
        for a in assets:
            _, _, body, _ = request(base + a, cookie)
            if ".js" in a:
                js += len(body)
            elif ".css" in a:
                css += len(body)
        fcp = json.loads(subprocess.run(["node", os.path.join(ROOT, "bench", "console", "fcp.mjs"), TOOLS, base, cookie,
                                         "/", "/nodes/n0?range=30d"], capture_output=True, text=True, check=True).stdout)
        result = {
            "nodes": N, "history_days": DAYS, "seeded_rollup_rows": seeded, "points_per_chart": points,
            "fleet_page": fleet_page, "fleet_fragment": fragment, "node_page": node_page,
            "status_page_first_ms": round(status_first, 1), "status_page": status_page,
            "node_series_30d_each_max_median_ms": max(s["median_ms"] for s in series),
            "node_series_30d_sum_median_ms": round(sum(s["median_ms"] for s in series), 1),
            "js_gzip_bytes": js, "css_gzip_bytes": css,
            "fleet_page_weight_gzip_bytes": fleet_page["gzip_bytes"] + js + css,
            "fcp_ms": {"fleet": fcp["/"]["fcp_ms"], "node": fcp["/nodes/n0?range=30d"]["fcp_ms"]},
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        fleet.kill()
        fleet.wait()
    print(json.dumps(result, indent=1))
    print(f"\n| nodes | fleet page ms (median/p95) | fleet weight gzip | node page ms | 30 d series ms (max of {len(METRICS)}) | JS gzip | FCP fleet / node ms | status page ms (first / median) |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {N} | {fleet_page['median_ms']} / {fleet_page['p95_ms']} | {result['fleet_page_weight_gzip_bytes'] / 1024:.0f} KB "
          f"| {node_page['median_ms']} | {result['node_series_30d_each_max_median_ms']} | {js / 1024:.0f} KB "
          f"| {result['fcp_ms']['fleet']} / {result['fcp_ms']['node']} | {result['status_page_first_ms']} / {status_page['median_ms']} |")
    if SMOKE:
        print("console smoke: ok")
        return
    with open(os.path.join(os.path.dirname(__file__), "results.json"), "w") as f:
        json.dump(result, f, indent=1)
    missed = []
    if fleet_page["median_ms"] > 50:
        missed.append(f"fleet page {fleet_page['median_ms']} ms > 50 ms")
    if result["fleet_page_weight_gzip_bytes"] > 300 * 1024:
        missed.append(f"fleet page weight {result['fleet_page_weight_gzip_bytes']} B > 300 KB")
    if node_page["median_ms"] > 100 or result["node_series_30d_each_max_median_ms"] > 100:
        missed.append("node page or one of its 30 d series > 100 ms")
    if status_page["median_ms"] > 50:
        missed.append(f"status page {status_page['median_ms']} ms > 50 ms")
    if js > 150 * 1024:
        missed.append(f"JS {js} B > 150 KB")
    if missed:
        sys.exit("goals missed: " + "; ".join(missed))


if __name__ == "__main__":
    main()
