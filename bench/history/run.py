#!/usr/bin/env python3
"""History read benchmark: chainops' series store against Prometheus on the same data.

N nodes x D days of one `height` sample per minute (value = node * 1e6 + minute) are written
into chainops' embedded SQLite store (examples/series_bench, which also times the reads the
series API makes for `chain=`) and backfilled into a Prometheus TSDB with
`promtool tsdb create-blocks-from openmetrics`; then the same two reads are timed on
Prometheus' HTTP API: every series over the whole range at 1-hour averages
(`avg_over_time(height[1h])`, step 1h) and the last day at 1-minute resolution.

Full run: 100 nodes x 30 days (4.32 M samples). BENCH_SMOKE=1: 3 nodes x 1 day.
Binaries from BIN_DIR (default target/release).
"""
import json, os, shutil, socket, subprocess, sys, tempfile, time, urllib.parse, urllib.request

SMOKE = os.environ.get("BENCH_SMOKE") == "1"
NODES, DAYS = (3, 1) if SMOKE else (100, 30)
BIN = os.environ.get("BIN_DIR", "target/release")
BENCH = os.path.join(BIN, "examples", "series_bench")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def best_of(f, n=3):
    f()  # warm-up
    out = []
    for _ in range(n):
        t = time.perf_counter()
        body = f()
        out.append(((time.perf_counter() - t) * 1000, body))
    return min(out, key=lambda x: x[0])


def main():
    if not os.path.exists(BENCH):
        sys.exit(f"{BENCH} missing: run `cargo build --release -p chainops-store --example series_bench` (or set BIN_DIR)")
    tmp = tempfile.mkdtemp(prefix="chainops-bench-history-")
    try:
        print(f"writing {NODES} nodes x {DAYS} days into chainops...", file=sys.stderr, flush=True)
        ours = json.loads(subprocess.run([BENCH, os.path.join(tmp, "h.db"), str(NODES), str(DAYS)],
                                         check=True, capture_output=True, text=True).stdout)
        start, end = ours["start_ms"] // 1000, ours["end_ms"] // 1000
        print("backfilling the same samples into Prometheus...", file=sys.stderr, flush=True)
        # promtool reads its whole input once per 2-hour block, so a month in one file takes
        # hours: feed it one day per call (each call writes that day's blocks).
        tsdb = os.path.join(tmp, "tsdb")
        minutes = (end - start) // 60
        t = time.time()
        for day in range(DAYS):
            om = os.path.join(tmp, f"day{day}.om")
            with open(om, "w") as f:
                f.write("# TYPE height gauge\n")
                for n in range(NODES):
                    for m in range(day * 1440, min((day + 1) * 1440, minutes)):
                        f.write(f'height{{node="n{n}"}} {n * 1000000 + m} {start + m * 60}\n')
                f.write("# EOF\n")
            subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", om, tsdb],
                           check=True, capture_output=True)
            os.remove(om)
        backfill_s = time.time() - t
        port = free_port()
        cfg = os.path.join(tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1h\n")
        prom = subprocess.Popen(["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={tsdb}",
                                 "--storage.tsdb.retention.time=10y", f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    if urllib.request.urlopen(base + "/-/ready", timeout=1).status == 200:
                        break
                except Exception:
                    time.sleep(0.2)
            def q(query, s, e, step):
                url = base + "/api/v1/query_range?" + urllib.parse.urlencode(
                    {"query": query, "start": s, "end": e, "step": step})
                return lambda: urllib.request.urlopen(url, timeout=60).read()
            range_ms, range_body = best_of(q("avg_over_time(height[1h])", start + 3600, end, 3600))
            day_ms, day_body = best_of(q("height", end - 86400, end, 60))
            prom_range_points = sum(len(r["values"]) for r in json.loads(range_body)["data"]["result"])
            prom_day_points = sum(len(r["values"]) for r in json.loads(day_body)["data"]["result"])
        finally:
            prom.terminate()
            prom.wait(timeout=30)
        result = {
            "nodes": NODES, "days": DAYS, "samples": ours["samples"],
            "chainops": {"range_hourly_ms": round(ours["range_hourly_ms"], 1), "range_points": ours["range_hourly_points"],
                         "day_minutes_ms": round(ours["day_minutes_ms"], 1), "day_points": ours["day_minutes_points"],
                         "write_seconds": round(ours["write_seconds"], 1)},
            "prometheus": {"range_hourly_ms": round(range_ms, 1), "range_points": prom_range_points,
                           "day_minutes_ms": round(day_ms, 1), "day_points": prom_day_points,
                           "backfill_seconds": round(backfill_s, 1)},
        }
        result["ratio_range"] = round(result["prometheus"]["range_hourly_ms"] / max(result["chainops"]["range_hourly_ms"], 0.01), 2)
        result["ratio_day"] = round(result["prometheus"]["day_minutes_ms"] / max(result["chainops"]["day_minutes_ms"], 0.01), 2)
        print(json.dumps(result, indent=2))
        # Both sides must have answered every series with data.
        assert ours["range_hourly_points"] >= NODES * DAYS * 23, ours
        assert prom_range_points >= NODES * DAYS * 23, prom_range_points
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
