#!/usr/bin/env python3
"""Cluster benchmark: three `chainops serve` members on one PostgreSQL share N fake nodes.

The fake fleet of bench/monitor-scale (N EVM nodes, one block a second, polled every second),
three members with `[cluster] enabled` on a private PostgreSQL 15 (fsync on, started here),
remote write to VictoriaMetrics. Measures, over the window:
  - CPU (% of one core) and peak RSS of each member;
  - samples/s VictoriaMetrics accepted; samples the members dropped or had rejected;
  - PostgreSQL: CPU of all its processes, transactions/s and rows written/s;
  - polls per node per second (from the fleet's own counts: 1.0 means one member each).
Then kills VictoriaMetrics for OUTAGE_SECONDS and restarts it: every member's queue must
deliver what it held (dropped = 0, and per-node sample counts in VictoriaMetrics have no gap).
Then `kill -9` of the leader: time until another member leads and until the dead leader's
nodes are polled again.

Env: NODES (default 10000), WARMUP_SECONDS (60), MEASURE_SECONDS (60), OUTAGE_SECONDS (30).
BENCH_SMOKE=1: 30 nodes, short windows, 3 s leases, debug binaries from BIN_DIR.
"""
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
spec = importlib.util.spec_from_file_location("scale", os.path.join(HERE, "..", "monitor-scale", "run.py"))
scale = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scale)
rw_spec = importlib.util.spec_from_file_location("rw", os.path.join(HERE, "..", "remote-write", "run.py"))
rw = importlib.util.module_from_spec(rw_spec)
rw_spec.loader.exec_module(rw)

SMOKE = scale.SMOKE
CHAINOPS, FLEET = scale.CHAINOPS, scale.FLEET
MEMBERS = ("m1", "m2", "m3")


def start_postgres():
    env = dict(os.environ, PG_FSYNC="on")
    out = subprocess.run([os.path.join(ROOT, "scripts", "test-postgres.sh"), "start"],
                         capture_output=True, text=True, check=True, env=env).stdout
    vals = dict(re.findall(r"export (\w+)=(\S+)", out))
    return vals["CHAINOPS_TEST_POSTGRES_URL"], vals["PGTEST_DIR"]


def psql(url, sql):
    return subprocess.run(["psql", url, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          capture_output=True, text=True, check=True).stdout.strip()


def pg_pids(pgdir):
    with open(os.path.join(pgdir, "data", "postmaster.pid")) as f:
        master = int(f.readline())
    pids = [master]
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == master:
                        pids.append(int(p))
            except (OSError, ValueError, IndexError):
                pass
    return pids


def pg_cpu(pgdir):
    total = 0.0
    for p in pg_pids(pgdir):
        try:
            total += scale.cpu_seconds(p)
        except OSError:
            pass
    return total


def pg_counters(url, db):
    row = psql(url, "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted FROM pg_stat_database "
                    f"WHERE datname = '{db}'")
    xacts, rows = row.split("|")
    return int(xacts), int(rows)


def api(base, path, token, timeout=5):
    req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def metrics(base, token):
    req = urllib.request.Request(base + "/metrics", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read()


def fleet_polls(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/polls", timeout=10) as r:
        return json.loads(r.read())


def owned_indexes(body):
    out = []
    for line in body.decode().splitlines():
        if line.startswith("chainops_node_up{"):
            m = re.search(r'node="n(\d+)"', line)
            if m:
                out.append(int(m.group(1)))
    return out


def vm_gaps(vm_port, nodes, start, end, limit):
    """Per node with a gap: the longest stretch (s) without a chainops_block_height sample
    in [start, end], from the raw samples VictoriaMetrics holds, when longer than `limit`
    (samples lost in an outage leave a gap as long as the outage; a busy machine only
    spaces polls out)."""
    gaps = {}
    for n in nodes:
        q = urllib.parse.urlencode({"query": f'chainops_block_height{{node="n{n}"}}[{int(end - start)}s]',
                                    "time": f"{end:.3f}"})
        with urllib.request.urlopen(f"http://127.0.0.1:{vm_port}/api/v1/query?{q}", timeout=30) as r:
            res = json.loads(r.read())["data"]["result"]
        ts = sorted(float(t) for t, _ in res[0]["values"]) if res else []
        edges = [start] + ts + [end]
        longest = max(b - a for a, b in zip(edges, edges[1:]))
        if longest > limit:
            gaps[n] = round(longest, 1)
    return gaps


def main():
    n = int(os.environ.get("NODES", "30" if SMOKE else "10000"))
    warmup = int(os.environ.get("WARMUP_SECONDS", "8" if SMOKE else "60"))
    measure = int(os.environ.get("MEASURE_SECONDS", "4" if SMOKE else "60"))
    outage = int(os.environ.get("OUTAGE_SECONDS", "6" if SMOKE else "30"))
    lease, heartbeat = ("3s", "1s") if SMOKE else ("8s", "2s")
    for b in (CHAINOPS, FLEET):
        if not os.path.exists(b):
            sys.exit(f"{b} missing: run `cargo build --release -p chainops -p fake-evm-fleet` (or set BIN_DIR)")
    tmp = tempfile.mkdtemp(prefix="chainops-bench-cluster-")
    pg_url, pgdir = start_postgres()
    procs = []
    try:
        db = "chainops_bench"
        psql(pg_url, f"CREATE DATABASE {db}")
        url = pg_url.rsplit("/", 1)[0] + "/" + db
        fleet_port, vm_port = scale.free_port(), scale.free_port()
        fleet = subprocess.Popen([FLEET, str(fleet_port)], stdout=subprocess.PIPE, text=True)
        fleet.stdout.readline()
        procs.append(fleet)
        vm_cmd = ["victoria-metrics", f"-storageDataPath={tmp}/vm", f"-httpListenAddr=127.0.0.1:{vm_port}",
              "-search.latencyOffset=0s"]
        vm = subprocess.Popen(vm_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rw.wait_http(f"http://127.0.0.1:{vm_port}/health", "victoria-metrics")
        nodes = "".join(f'[[nodes]]\nname = "n{i}"\nchain = "c{i % 10}"\nkind = "evm"\n'
                        f'rpc_url = "http://127.0.0.1:{fleet_port}/n/{i}"\nblock_time = "1s"\n' for i in range(n))
        cfgs = []
        for m in MEMBERS:
            cfg = os.path.join(tmp, f"{m}.toml")
            with open(cfg, "w") as f:
                f.write(f'data_dir = "{tmp}/{m}"\n[store]\nurl = "{url}"\n'
                        f'[cluster]\nenabled = true\nmember = "{m}"\nlease = "{lease}"\nheartbeat = "{heartbeat}"\n'
                        '[monitor]\nmax_concurrent_polls = 1024\n'
                        f'[[history.remote_write]]\nname = "vm"\nurl = "http://127.0.0.1:{vm_port}/api/v1/write"\n'
                        f'queue_max_bytes = "512MB"\n{nodes}')
            cfgs.append(cfg)
        subprocess.run([CHAINOPS, "serve", "--init-only", "--config", cfgs[0]], capture_output=True, check=True)
        # Members sign the audit trail with one key.
        for m in MEMBERS[1:]:
            os.makedirs(os.path.join(tmp, m), exist_ok=True)
            shutil.copy(os.path.join(tmp, MEMBERS[0], "audit-signing.key"), os.path.join(tmp, m))
        token = json.loads(subprocess.run(
            [CHAINOPS, "token", "create", "--role", "viewer", "--name", "bench", "--json", "--config", cfgs[0]],
            capture_output=True, text=True, check=True).stdout)["token"]
        members = {}
        for m, cfg in zip(MEMBERS, cfgs):
            log = open(os.path.join(tmp, f"{m}.log"), "w")
            p = subprocess.Popen([CHAINOPS, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--log-level", "warn"],
                                 stdout=subprocess.PIPE, stderr=log, text=True)
            procs.append(p)
            members[m] = (p, p.stdout.readline().strip().replace("chainops listening on ", ""))
        print(f"cluster: {n} nodes over {len(MEMBERS)} members ({warmup}s warm-up, {measure}s window)...",
              file=sys.stderr, flush=True)
        time.sleep(warmup)

        # -- steady state
        c0 = {m: scale.cpu_seconds(p.pid) for m, (p, _) in members.items()}
        pg0, (x0, w0), v0 = pg_cpu(pgdir), pg_counters(pg_url, db), rw.vm_rows(vm_port)
        f0 = fleet_polls(fleet_port)
        t0 = time.time()
        peak = {m: scale.rss_mb(p.pid) for m, (p, _) in members.items()}
        while time.time() - t0 < measure:
            for m, (p, _) in members.items():
                peak[m] = max(peak[m], scale.rss_mb(p.pid))
            time.sleep(1)
        dt = time.time() - t0
        c1 = {m: scale.cpu_seconds(p.pid) for m, (p, _) in members.items()}
        pg1, (x1, w1), v1 = pg_cpu(pgdir), pg_counters(pg_url, db), rw.vm_rows(vm_port)
        f1 = fleet_polls(fleet_port)
        rates = [(f1[i] - f0[i]) / dt for i in range(min(n, len(f1)))]
        status = api(members["m1"][1], "/api/v1/cluster", token)
        owned = {m["member"]: m["nodes"] for m in status["members"]}
        result = {
            "nodes": n, "members": len(MEMBERS), "measure_seconds": round(dt, 1),
            "member_cpu_percent": {m: round((c1[m] - c0[m]) / dt * 100, 1) for m in members},
            "member_peak_rss_mb": {m: round(peak[m], 1) for m in members},
            "member_nodes": owned,
            "vm_rows_per_second": round((v1 - v0) / dt),
            "postgres_cpu_percent": round((pg1 - pg0) / dt * 100, 1),
            "postgres_commits_per_second": round((x1 - x0) / dt),
            "postgres_rows_written_per_second": round((w1 - w0) / dt),
            "polls_per_node_per_second_min": round(min(rates), 2) if rates else 0,
            "polls_per_node_per_second_max": round(max(rates), 2) if rates else 0,
        }
        print(json.dumps(result), file=sys.stderr, flush=True)

        # -- a TSDB outage
        print(f"VictoriaMetrics down for {outage}s...", file=sys.stderr, flush=True)
        down_at = time.time()
        vm.send_signal(signal.SIGTERM)
        vm.wait(60)
        time.sleep(outage)
        vm = subprocess.Popen(vm_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rw.wait_http(f"http://127.0.0.1:{vm_port}/health", "victoria-metrics")
        up_at = time.time()

        def queued():
            total = 0.0
            for _, base in members.values():
                total += rw.metric(metrics(base, token), "chainops_remote_write_queue_bytes")
            return total
        deadline = time.time() + (120 if not SMOKE else 60)
        while queued() > 0 and time.time() < deadline:
            time.sleep(1)
        drained_s = round(time.time() - up_at, 1)
        dropped = rejected = 0.0
        for _, base in members.values():
            body = metrics(base, token)
            dropped += rw.metric(body, "chainops_remote_write_samples_total", outcome="dropped")
            rejected += rw.metric(body, "chainops_remote_write_samples_total", outcome="rejected")
        time.sleep(5)
        sample = list(range(0, n, max(1, n // 20)))[:20]
        gaps = vm_gaps(vm_port, sample, down_at - 10, up_at + 5, max(5.0, outage / 2))
        result.update({
            "outage_seconds": outage, "queue_drained_seconds": drained_s,
            "samples_dropped": dropped, "samples_rejected": rejected,
            "nodes_checked_for_gaps": len(sample), "nodes_with_gaps": len(gaps),
        })
        print(json.dumps({"outage": result["samples_dropped"], "gaps": gaps}), file=sys.stderr, flush=True)

        # -- kill -9 the leader
        leader = api(members["m1"][1], "/api/v1/cluster", token)["leader"]["member"]
        lp, lbase = members.pop(leader)
        leader_nodes = owned_indexes(metrics(lbase, token))
        before = fleet_polls(fleet_port)
        killed = time.time()
        lp.send_signal(signal.SIGKILL)
        lp.wait()
        new_leader_s = picked_s = None
        while time.time() - killed < 120 and (new_leader_s is None or picked_s is None):
            if new_leader_s is None:
                for _, base in members.values():
                    try:
                        if api(base, "/api/v1/cluster", token, timeout=2)["is_leader"]:
                            new_leader_s = round(time.time() - killed, 1)
                    except Exception:
                        pass
            if picked_s is None:
                now = fleet_polls(fleet_port)
                if all(now[i] > before[i] for i in leader_nodes):
                    picked_s = round(time.time() - killed, 1)
            time.sleep(0.2)
        result.update({"leader_killed": leader, "leader_nodes": len(leader_nodes),
                       "new_leader_seconds": new_leader_s, "nodes_picked_up_seconds": picked_s})
        print(json.dumps(result), file=sys.stderr, flush=True)
        ok = (dropped == 0 and rejected == 0 and not gaps and new_leader_s is not None
              and picked_s is not None and result["polls_per_node_per_second_max"] < 1.6)
        if SMOKE:
            assert ok, result
            print("cluster smoke: ok")
            return
        path = os.path.join(HERE, "results.json")
        try:
            with open(path) as f:
                kept = [r for r in json.load(f) if r.get("nodes") != n]
        except (OSError, ValueError):
            kept = []
        with open(path, "w") as f:
            json.dump(sorted(kept + [result], key=lambda r: -r["nodes"]), f, indent=2)
        print("| member | nodes | CPU (% of one core) | peak RSS (MB) |")
        print("|---|---:|---:|---:|")
        for m in MEMBERS:
            print(f"| {m} | {owned.get(m, 0)} | {result['member_cpu_percent'][m]} | {result['member_peak_rss_mb'][m]} |")
        print(f"\nVictoriaMetrics rows/s {result['vm_rows_per_second']}; PostgreSQL CPU {result['postgres_cpu_percent']} %, "
              f"{result['postgres_commits_per_second']} commits/s, {result['postgres_rows_written_per_second']} rows/s; "
              f"polls/node/s {result['polls_per_node_per_second_min']}–{result['polls_per_node_per_second_max']}")
        print(f"outage {outage}s: dropped {dropped:.0f}, rejected {rejected:.0f}, nodes with gaps {len(gaps)}/{len(sample)}, "
              f"queues drained in {drained_s}s")
        print(f"leader {leader} killed: new leader after {new_leader_s}s, its {len(leader_nodes)} nodes polled again after {picked_s}s")
        if not ok:
            sys.exit("a goal was missed (see above)")
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
        try:
            vm.send_signal(signal.SIGTERM)
            vm.wait(30)
        except Exception:
            pass
        subprocess.run([os.path.join(ROOT, "scripts", "test-postgres.sh"), "stop", pgdir], check=False)


if __name__ == "__main__":
    main()
