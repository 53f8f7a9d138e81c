#!/usr/bin/env python3
"""Remote-write benchmark: shipping every 1 s sample of N nodes to VictoriaMetrics.

Same fake fleet as bench/monitor-scale (N fake EVM nodes polled every second), two ways:
  direct - chainops with [[history.remote_write]] to VictoriaMetrics;
  agent  - the peer: chainops without it, and Prometheus in agent mode scraping chainops'
           /metrics every second and remote-writing to the same VictoriaMetrics.
For each: CPU (% of one core) of chainops and of the agent over the window, chainops' peak
RSS, samples/s accepted by VictoriaMetrics (`vm_rows_inserted_total`), and for direct the
samples chainops dropped or had rejected (must be 0).

Env: NODES (default 1000), WARMUP_SECONDS (30), MEASURE_SECONDS (60). BENCH_SMOKE=1: 5 nodes,
seconds each, binaries from BIN_DIR, checks that samples arrive and none are lost.
"""
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("scale", os.path.join(HERE, "..", "monitor-scale", "run.py"))
scale = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scale)

SMOKE = scale.SMOKE
CHAINOPS, FLEET = scale.CHAINOPS, scale.FLEET


def metric(body, name, **labels):
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.split()[-1])
    return total


def vm_rows(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return metric(r.read(), "vm_rows_inserted_total")


def wait_http(url, what):
    for _ in range(600):
        try:
            if urllib.request.urlopen(url, timeout=1).status == 200:
                return
        except Exception:
            pass
        time.sleep(0.1)
    sys.exit(f"{what} did not come up")


def run(mode, n, warmup, measure):
    tmp = tempfile.mkdtemp(prefix=f"chainops-bench-rw-{mode}-")
    fleet_port, vm_port = scale.free_port(), scale.free_port()
    fleet = subprocess.Popen([FLEET, str(fleet_port)], stdout=subprocess.PIPE, text=True)
    fleet.stdout.readline()
    vm = subprocess.Popen(["victoria-metrics", f"-storageDataPath={tmp}/vm", f"-httpListenAddr=127.0.0.1:{vm_port}"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs = [fleet, vm]
    try:
        wait_http(f"http://127.0.0.1:{vm_port}/health", "victoria-metrics")
        cfg = os.path.join(tmp, "chainops.toml")
        with open(cfg, "w") as f:
            f.write(f'data_dir = "{tmp}/data"\n[monitor]\nmax_concurrent_polls = 1024\n')
            if mode == "direct":
                f.write(f'[[history.remote_write]]\nname = "vm"\nurl = "http://127.0.0.1:{vm_port}/api/v1/write"\n')
            for i in range(n):
                f.write(f'[[nodes]]\nname = "n{i}"\nchain = "c{i % 10}"\nkind = "evm"\n'
                        f'rpc_url = "http://127.0.0.1:{fleet_port}/n/{i}"\nblock_time = "1s"\n')
        subprocess.run([CHAINOPS, "serve", "--init-only", "--config", cfg], capture_output=True, check=True)
        scale.TOKEN = json.loads(subprocess.run(
            [CHAINOPS, "token", "create", "--role", "viewer", "--name", "bench", "--json", "--config", cfg],
            capture_output=True, text=True, check=True).stdout)["token"]
        log = open(os.path.join(tmp, "chainops.log"), "w")
        proc = subprocess.Popen([CHAINOPS, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--log-level", "warn"],
                                stdout=subprocess.PIPE, stderr=log, text=True)
        procs.append(proc)
        base = proc.stdout.readline().strip().replace("chainops listening on ", "")
        agent = None
        if mode == "agent":
            pcfg = os.path.join(tmp, "prometheus.yml")
            with open(pcfg, "w") as f:
                f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: chainops\n"
                        f"    authorization:\n      credentials: {scale.TOKEN}\n"
                        f"    static_configs:\n      - targets: [\"{base.replace('http://', '')}\"]\n"
                        f"remote_write:\n  - url: http://127.0.0.1:{vm_port}/api/v1/write\n")
            agent = subprocess.Popen(["prometheus", "--enable-feature=agent", f"--config.file={pcfg}",
                                      f"--storage.agent.path={tmp}/agent", f"--web.listen-address=127.0.0.1:{scale.free_port()}"],
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "agent.log"), "w"))
            procs.append(agent)
        time.sleep(warmup)
        t0 = time.time()
        c0 = scale.cpu_seconds(proc.pid)
        a0 = scale.cpu_seconds(agent.pid) if agent else 0.0
        v0, r0 = scale.cpu_seconds(vm.pid), vm_rows(vm_port)
        peak = scale.rss_mb(proc.pid)
        while time.time() - t0 < measure:
            peak = max(peak, scale.rss_mb(proc.pid))
            time.sleep(1)
        dt = time.time() - t0
        c1 = scale.cpu_seconds(proc.pid)
        a1 = scale.cpu_seconds(agent.pid) if agent else 0.0
        v1, r1 = scale.cpu_seconds(vm.pid), vm_rows(vm_port)
        body = scale.get(base + "/metrics")
        out = {
            "mode": mode, "nodes": n,
            "chainops_cpu_percent": round((c1 - c0) / dt * 100, 1),
            "agent_cpu_percent": round((a1 - a0) / dt * 100, 1),
            "pipeline_cpu_percent": round((c1 - c0 + a1 - a0) / dt * 100, 1),
            "chainops_peak_rss_mb": round(peak, 1),
            "vm_cpu_percent": round((v1 - v0) / dt * 100, 1),
            "vm_rows_per_second": round((r1 - r0) / dt),
            "measure_seconds": round(dt, 1),
        }
        if mode == "direct":
            out["sent"] = metric(body, "chainops_remote_write_samples_total", outcome="sent")
            out["dropped"] = metric(body, "chainops_remote_write_samples_total", outcome="dropped")
            out["rejected"] = metric(body, "chainops_remote_write_samples_total", outcome="rejected")
        return out
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()


def main():
    n = int(os.environ.get("NODES", "5" if SMOKE else "1000"))
    warmup = int(os.environ.get("WARMUP_SECONDS", "5" if SMOKE else "30"))
    measure = int(os.environ.get("MEASURE_SECONDS", "3" if SMOKE else "60"))
    for b in (CHAINOPS, FLEET):
        if not os.path.exists(b):
            sys.exit(f"{b} missing: run `cargo build --release -p chainops -p fake-evm-fleet` (or set BIN_DIR)")
    results = []
    for mode in ("direct", "agent"):
        print(f"{mode}: {n} nodes ({warmup}s warm-up, {measure}s window)...", file=sys.stderr, flush=True)
        r = run(mode, n, warmup, measure)
        print(json.dumps(r), file=sys.stderr, flush=True)
        results.append(r)
    d, a = results
    if SMOKE:
        assert d["sent"] > 0 and d["dropped"] == 0 and d["rejected"] == 0, d
        assert d["vm_rows_per_second"] > 0 and a["vm_rows_per_second"] > 0, results
        print("remote-write smoke: ok")
        return
    with open(os.path.join(HERE, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    print("| way | nodes | chainops CPU | agent CPU | pipeline CPU (% of one core) | chainops peak RSS (MB) | VictoriaMetrics rows/s | VictoriaMetrics CPU |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['mode']} | {r['nodes']} | {r['chainops_cpu_percent']} | {r['agent_cpu_percent']} | {r['pipeline_cpu_percent']} | "
              f"{r['chainops_peak_rss_mb']} | {r['vm_rows_per_second']} | {r['vm_cpu_percent']} |")
    print(f"\npipeline CPU ratio direct/agent: {d['pipeline_cpu_percent'] / max(a['pipeline_cpu_percent'], 0.1):.2f}; "
          f"dropped {d['dropped']:.0f}, rejected {d['rejected']:.0f}")


if __name__ == "__main__":
    main()
