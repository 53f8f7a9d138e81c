#!/usr/bin/env python3
"""Generates realistic mixed node logs from the fixture formats with varied values.

usage: gen.py OUT_DIR TOTAL_MB [SEED]
Writes geth.log, litecoind.log, monerod.log, anvil-tracing.log and app.jsonl, about
TOTAL_MB in all, and rare.txt listing selective needles (one per line) planted in the data.
"""
import os, random, sys

out, total_mb = sys.argv[1], float(sys.argv[2])
rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 7)
os.makedirs(out, exist_ok=True)
hexd = "0123456789abcdef"
def h(n): return "".join(rnd.choice(hexd) for _ in range(n))
base = 1795600000  # 2026-11-25

def geth(i, t):
    k = rnd.random()
    mmdd = "11-25"
    ts = "%s|%02d:%02d:%02d.%03d" % (mmdd, (t // 3600) % 24, (t // 60) % 60, t % 60, rnd.randrange(1000))
    if k < 0.6:
        return "INFO [%s] Imported new chain segment               number=%d hash=0x%s blocks=1 txs=%d mgas=%.3f elapsed=%.3fms\n" % (ts, 19000000 + i, h(64), rnd.randrange(400), rnd.random() * 30, rnd.random() * 90)
    if k < 0.85:
        return "DEBUG[%s] Served eth_getBlockByNumber                conn=127.0.0.1:%d reqid=%d duration=%.3fms\n" % (ts, rnd.randrange(30000, 60000), i, rnd.random() * 5)
    if k < 0.97:
        return "WARN [%s] Snapshot extension registration failed   peer=%s err=\"peer connected on snap without compatible eth support\"\n" % (ts, h(8))
    return "ERROR[%s] Failed to journal state snapshot          err=\"write /data/geth/chaindata/%06d.ldb: no space left on device\"\n" % (ts, rnd.randrange(999999))

def btc(i, t):
    d = "2026-11-25T%02d:%02d:%02dZ" % ((t // 3600) % 24, (t // 60) % 60, t % 60)
    k = rnd.random()
    if k < 0.7:
        return "%s UpdateTip: new best=%s height=%d version=0x20000000 log2_work=%.6f tx=%d date='2026-11-25T%02d:%02d:%02dZ' progress=1.000000 cache=%.1fMiB(%dtxo)\n" % (d, h(64), 2500000 + i, 70 + rnd.random(), 90000000 + i, (t // 3600) % 24, (t // 60) % 60, t % 60, rnd.random() * 100, rnd.randrange(100000))
    if k < 0.95:
        return "%s [net] received: inv (%d bytes) peer=%d\n" % (d, rnd.randrange(37, 2000), rnd.randrange(100))
    return "%s ERROR: AcceptToMemoryPool: txn-mempool-conflict, %s\n" % (d, h(64))

def xmr(i, t):
    d = "2026-11-25 %02d:%02d:%02d.%03d" % ((t // 3600) % 24, (t // 60) % 60, t % 60, rnd.randrange(1000))
    lvl = rnd.choice(["INFO", "INFO", "INFO", "DEBUG", "WARNING"])
    return "%s\t    7f172d21fa00\t%s\tglobal\tsrc/cryptonote_core/blockchain.cpp:%d\t+++++ BLOCK SUCCESSFULLY ADDED id: <%s> height: %d difficulty: %d\n" % (d, lvl, rnd.randrange(4000), h(64), 3000000 + i, rnd.randrange(10**12))

def anvil(i, t):
    d = "2026-11-25T%02d:%02d:%02d.%06dZ" % ((t // 3600) % 24, (t // 60) % 60, t % 60, rnd.randrange(10**6))
    m = rnd.choice(["eth_getBlockByNumber", "eth_chainId", "eth_blockNumber", "eth_getTransactionReceipt", "eth_call", "eth_estimateGas"])
    return "%s  INFO node::user: %s\n" % (d, m)

def jsonl(i, t):
    lvl = rnd.choice(["info", "info", "debug", "warn", "error"])
    return '{"ts":"2026-11-25T%02d:%02d:%02dZ","level":"%s","msg":"relay submitted bundle","bundle":"0x%s","slot":%d,"builder":"b%d"}\n' % ((t // 3600) % 24, (t // 60) % 60, t % 60, lvl, h(64), 9000000 + i, rnd.randrange(20))

makers = {"geth.log": geth, "litecoind.log": btc, "monerod.log": xmr, "anvil-tracing.log": anvil, "app.jsonl": jsonl}
budget = int(total_mb * 1024 * 1024 / len(makers))
needles = []
for name, make in makers.items():
    with open(os.path.join(out, name), "w") as f:
        written, i = 0, 0
        p_plant = 40 / (budget / 130)   # about 40 planted needles per file
        while written < budget:
            line = make(i, i // 20)
            if rnd.random() < p_plant:
                needle = "needle" + h(10)
                needles.append(needle)
                line = line.rstrip("\n") + " marker=" + needle + "\n"
            f.write(line)
            written += len(line)
            i += 1
with open(os.path.join(out, "rare.txt"), "w") as f:
    f.write("\n".join(needles) + "\n")
print("wrote %d MB, %d needles" % (total_mb, len(needles)))
