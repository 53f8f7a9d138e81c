#!/usr/bin/env python3
"""Load generator benchmark: chainops bench vs Hyperledger Caliper 0.6 on the same anvil.

1. anvil --block-time 1 (30 M gas limit): chainops eth-transfer at 1,500 tx/s for 30 s —
   confirmed tx/s (the block ceiling is 1,428 transfers) and the generator's CPU share.
2. anvil --block-time 1 --gas-limit 100000000: chainops max-rate search (eth-transfer), then
   erc20-transfer at a fixed rate; Caliper's ERC-20 transfer on the same node at several rates.

Prints a Markdown table (paste into docs/benchmarks.md) and writes JSON to bench/load/out/.
Env: CALIPER_HOME (default .tools/caliper; installed when missing unless NO_CALIPER=1),
DURATION (s, default 30). BENCH_SMOKE=1: each run at 50 tx/s for 2 s on the binaries in BIN_DIR
(default target/release), Caliper only if already installed, output under /tmp.
"""
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.dirname(os.path.abspath(__file__))
SMOKE = os.environ.get("BENCH_SMOKE") == "1"
OUT = os.path.join("/tmp", "chainops-bench-load-smoke") if SMOKE else os.path.join(HERE, "out")
CHAINOPS = os.path.join(ROOT, os.environ.get("BIN_DIR", os.path.join("target", "release")), "chainops")
ANVIL = shutil.which("anvil") or os.path.join(ROOT, ".tools", "node_modules", ".bin", "anvil")
CALIPER_HOME = os.environ.get("CALIPER_HOME", os.path.join(ROOT, ".tools", "caliper"))
DURATION = int(os.environ.get("DURATION", "2" if SMOKE else "30"))


def rate(tps):
    """The offered rate: tiny in smoke runs."""
    return "50" if SMOKE else str(tps)
DEV_ADDR = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Anvil:
    def __init__(self, *extra):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [ANVIL, "--host", "127.0.0.1", "--port", str(self.port), "--block-time", "1", *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("anvil did not start")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def chainops(anvil, name, *args):
    out = os.path.join(OUT, f"{name}.json")
    cmd = [CHAINOPS, "bench", "run", "--rpc", anvil.url, "--node-pid", str(anvil.proc.pid),
           "--json", "--out", out, "--html", os.path.join(OUT, f"{name}.html"),
           "--log-level", "warn", *args]
    print("+", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        return json.load(f)


def ensure_caliper():
    cli = os.path.join(CALIPER_HOME, "node_modules", ".bin", "caliper")
    if os.path.exists(cli):
        return cli
    if os.environ.get("NO_CALIPER"):
        return None
    os.makedirs(CALIPER_HOME, exist_ok=True)
    subprocess.run(["npm", "install", "--prefix", CALIPER_HOME, "--no-audit", "--no-fund",
                    "@hyperledger/caliper-cli@0.6.0"], check=True)
    subprocess.run([cli, "bind", "--caliper-bind-sut", "ethereum:1.3"], cwd=CALIPER_HOME, check=True)
    return cli


def caliper(cli, anvil, tps, count):
    work = os.path.join(OUT, f"caliper-{tps}")
    os.makedirs(work, exist_ok=True)
    shutil.copy(os.path.join(HERE, "caliper", "workload.js"), work)
    assets = os.path.join(ROOT, "crates", "bench", "assets")
    with open(os.path.join(assets, "BenchToken.abi.json")) as f:
        abi = json.load(f)
    with open(os.path.join(assets, "BenchToken.bin")) as f:
        code = "0x" + f.read().strip()
    with open(os.path.join(work, "token.json"), "w") as f:
        json.dump({"name": "BenchToken", "abi": abi, "bytecode": code, "gas": 2000000}, f)
    with open(os.path.join(work, "network.json"), "w") as f:
        json.dump({
            "caliper": {"blockchain": "ethereum"},
            "ethereum": {
                "url": f"ws://127.0.0.1:{anvil.port}",
                "contractDeployerAddress": DEV_ADDR,
                "contractDeployerAddressPrivateKey": DEV_KEY,
                "fromAddress": DEV_ADDR,
                "fromAddressPrivateKey": DEV_KEY,
                "transactionConfirmationBlocks": 1,
                "gasPrice": 100_000_000_000,
                "chainId": 31337,
                "contracts": {"token": {"path": os.path.join(work, "token.json"),
                                        "gas": {"transfer": 60000}}},
            },
        }, f)
    with open(os.path.join(work, "bench.yaml"), "w") as f:
        f.write(f"""test:
  name: erc20
  workers:
    number: 1
  rounds:
    - label: transfer
      txNumber: {count}
      rateControl:
        type: fixed-rate
        opts:
          tps: {tps}
      workload:
        module: workload.js
""")
    cmd = [cli, "launch", "manager", "--caliper-workspace", work,
           "--caliper-networkconfig", "network.json", "--caliper-benchconfig", "bench.yaml",
           "--caliper-report-path", os.path.join(work, "report.html")]
    print("+", " ".join(cmd), file=sys.stderr)
    t0 = time.time()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = dict(os.environ, NODE_PATH=os.path.join(CALIPER_HOME, "node_modules"))
    log_path = os.path.join(work, "caliper.log")
    with open(log_path, "w") as log:
        subprocess.run(cmd, cwd=CALIPER_HOME, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    wall = time.time() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    # The worker process outlives the manager (its websocket keeps node alive): add its CPU
    # from /proc, then stop it.
    workers = subprocess.run(["pgrep", "-f", f"caliper launch worker --caliper-workspace {work}"],
                             capture_output=True, text=True).stdout.split()
    for pid in workers:
        try:
            cpu += cpu_seconds(int(pid))
            os.kill(int(pid), signal.SIGKILL)
        except (OSError, ValueError):
            pass
    cpu /= wall
    with open(log_path) as f:
        out = f.read()
    # | transfer | 2000 | 0 | 44.3 | 1.52 | 0.51 | 0.98 | 43.9 |
    row = re.search(r"\|\s*transfer\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|", out)
    if not row:
        print(out[-3000:], file=sys.stderr)
        raise SystemExit("no Caliper result row")
    succ, fail, send, maxl, minl, avgl, tput = row.groups()
    return {"tps": tps, "succ": int(succ), "fail": int(fail), "send_rate": float(send),
            "max": float(maxl), "min": float(minl), "avg": float(avgl), "throughput": float(tput),
            "wall": wall, "cpu": cpu}


def main():
    os.makedirs(OUT, exist_ok=True)
    if not os.path.exists(CHAINOPS):
        subprocess.run(["cargo", "build", "--release", "-p", "chainops"], cwd=ROOT, check=True)
    rows = []

    def measure(name, extra_anvil, label, *args):
        """One chainops run on a fresh anvil (the base fee and pool start clean)."""
        a = Anvil(*extra_anvil)
        try:
            r = chainops(a, name, *args)
        finally:
            a.stop()
        rd = r["rounds"][0]
        rows.append((label, r["confirmed"], rd["throughput"], rd["latency"]["p50"], rd["latency"]["p99"],
                     rd["generator"]["cpu_avg"], rd["bottleneck"]["primary"]))
        return rd

    big = ("--gas-limit", "100000000")
    measure("ceiling-30M", (), "chainops eth-transfer, 30 M gas, 1,500 tx/s offered for %d s" % DURATION,
            "--rate", rate(1500), "--duration", f"{DURATION}s", "--senders", "300")
    rd = measure("maxrate-100M", big, "chainops eth-transfer, 100 M gas, max-rate search (failing step shown)",
                 "--rate-control", "max-rate", "--start-tps", rate(1000), "--step-tps", rate(500),
                 "--max-tps", "100" if SMOKE else "8000", "--duration", f"{2 if SMOKE else 10}s", "--senders", "500")
    best = rd["max_sustained_tps"] or 0
    if best:
        measure("sustained-100M", big, f"chainops eth-transfer, 100 M gas, {best:.0f} tx/s (highest sustained) for {DURATION} s",
                "--rate", str(best), "--duration", f"{DURATION}s", "--senders", "500")
    measure("erc20-100M", big, "chainops erc20-transfer, 100 M gas, 1,500 tx/s offered for %d s" % DURATION,
            "--workload", "erc20-transfer", "--rate", rate(1500), "--duration", f"{DURATION}s", "--senders", "500")
    if SMOKE:
        assert all(r[1] > 0 for r in rows), f"smoke: a run confirmed nothing: {rows}"
    cli = None if SMOKE else ensure_caliper()
    if cli:
        for tps in (200, 1000, 2000):
            a = Anvil(*big)
            try:
                c = caliper(cli, a, tps, tps * 10)
            finally:
                a.stop()
            rows.append((f"Caliper 0.6 erc20 transfer, 100 M gas, {tps} tx/s offered", c["succ"], c["throughput"],
                         None, None, c["cpu"],
                         f"send {c['send_rate']:.0f}/s; latency avg {c['avg']:.2f} s, max {c['max']:.2f} s; {c['fail']} failed"))

    with open(os.path.join(OUT, "summary.json"), "w") as f:
        json.dump(rows, f, indent=1)
    print("| run | confirmed | throughput (tx/s) | p50 (s) | p99 (s) | generator CPU (cores) | verdict |")
    print("|---|---:|---:|---:|---:|---:|---|")
    fmt = lambda v, d: "–" if v is None else f"{v:.{d}f}"
    for name, conf, tput, p50, p99, cpu, verdict in rows:
        print(f"| {name} | {conf} | {tput:.1f} | {fmt(p50, 3)} | {fmt(p99, 3)} | {fmt(cpu, 3)} | {verdict} |")


if __name__ == "__main__":
    main()
