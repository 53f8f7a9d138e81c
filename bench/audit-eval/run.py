#!/usr/bin/env python3
"""Scores `chainops audit` on the shared data sets (rule: ../shared/datasets/README.md).

SmartBugs curated (dev split): recall per DASP category, a finding counts for a label when its
category equals the label's and its line lies within [first-2, last+2] of the label's lines
(also reported with tolerance 0); one finding satisfies at most one label.
SolidiFI (bases 1-25): recall and precision per injected bug type; a finding of an accepted
category outside every injected span (±2) of its type is a false positive.

    bench/audit-eval/run.py [--chainops target/release/chainops] [--json out.json]
"""
import argparse, csv, json, os, shutil, subprocess, sys, time
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(os.path.dirname(ROOT), "shared", "datasets")
SMOKE = os.environ.get("BENCH_SMOKE") == "1"


def smoke_data():
    """BENCH_SMOKE=1: both data-set layouts in miniature, built from the repo's reentrancy
    fixture and its expected lines, so the scoring code runs without ../shared."""
    import tempfile
    root = tempfile.mkdtemp(prefix="chainops-audit-smoke-")
    fx = os.path.join(ROOT, "crates", "audit", "tests", "fixtures", "reentrancy")
    lines = [tuple(int(x) for x in l.split(":")[0].split("-")) for l in open(os.path.join(fx, "expected.txt")) if l.strip()]
    sb = os.path.join(root, "smartbugs-curated-dev", "dataset", "reentrancy")
    os.makedirs(sb)
    shutil.copy(os.path.join(fx, "positive.sol"), sb)
    json.dump([{"name": "positive.sol", "path": "dataset/reentrancy/positive.sol",
                "vulnerabilities": [{"lines": list(range(lo, hi + 1)), "category": "reentrancy"} for lo, hi in lines]}],
              open(os.path.join(root, "smartbugs-curated-dev", "vulnerabilities.json"), "w"))
    sf = os.path.join(root, "solidifi-dev", "Re-entrancy")
    os.makedirs(sf)
    shutil.copy(os.path.join(fx, "positive.sol"), os.path.join(sf, "buggy_1.sol"))
    with open(os.path.join(sf, "BugLog_1.csv"), "w") as f:
        f.write("loc,length,bug type,approach\n")
        for lo, hi in lines:
            f.write(f"{lo},{hi - lo + 1},Re-entrancy,code snippet injection\n")
    return root
SOLIDIFI_ACCEPT = {
    "Overflow-Underflow": {"arithmetic"},
    "Re-entrancy": {"reentrancy"},
    "TOD": {"front_running"},
    "Timestamp-Dependency": {"time_manipulation", "bad_randomness"},
    "Unchecked-Send": {"access_control", "unchecked_low_level_calls"},
    "Unhandled-Exceptions": {"unchecked_low_level_calls"},
    "tx.origin": {"access_control"},
}


def audit(chainops, path):
    t = time.perf_counter()
    out = subprocess.run([chainops, "audit", "--format", "json", path], capture_output=True, text=True)
    took = time.perf_counter() - t
    if out.returncode not in (0, 1):
        sys.exit(f"chainops audit failed ({out.returncode}): {out.stderr}")
    return json.loads(out.stdout), took


def by_file(report, base):
    found = defaultdict(list)
    for f in report["findings"]:
        found[os.path.relpath(f["file"], base)].append(f)
    return found


def match(labels, findings, tol):
    """labels: [(category or None, lo, hi)]. A maximum one-to-one matching of labels to
    findings (one finding satisfies at most one label); returns the matched label indexes."""
    fits = [[j for j, f in enumerate(findings)
             if (cat is None or f["category"] == cat) and lo - tol <= f["line"] <= hi + tol]
            for cat, lo, hi in labels]
    owner = {}

    def augment(i, seen):
        for j in fits[i]:
            if j not in seen:
                seen.add(j)
                if j not in owner or augment(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    for i in range(len(labels)):
        augment(i, set())
    return set(owner.values())


def smartbugs(chainops):
    base = os.path.join(DATA, "smartbugs-curated-dev")
    report, took = audit(chainops, os.path.join(base, "dataset"))
    found = by_file(report, base)
    vulns = json.load(open(os.path.join(base, "vulnerabilities.json")))
    result = {}
    for tol in (2, 0):
        per = defaultdict(lambda: [0, 0])
        for entry in vulns:
            labels = [(v["category"], min(v["lines"]), max(v["lines"])) for v in entry["vulnerabilities"]]
            hit = match(labels, found.get(entry["path"], []), tol)
            for i, (cat, _, _) in enumerate(labels):
                per[cat][1] += 1
                per[cat][0] += i in hit
        result[tol] = dict(per)
    return result, report, took


def solidifi(chainops):
    base = os.path.join(DATA, "solidifi-dev")
    out, took_all, errors = {}, 0.0, []
    for bug_type, accept in SOLIDIFI_ACCEPT.items():
        d = os.path.join(base, bug_type)
        if SMOKE and not os.path.isdir(d):
            continue
        report, took = audit(chainops, d)
        took_all += took
        errors += report["errors"]
        found = by_file(report, d)
        tp = fp = hits = total = 0
        for name in sorted(os.listdir(d)):
            if not name.startswith("BugLog_"):
                continue
            n = name[len("BugLog_"):-len(".csv")]
            spans = [(int(r["loc"]), int(r["loc"]) + int(r["length"]) - 1) for r in csv.DictReader(open(os.path.join(d, name)))]
            fs = [f for f in found.get(f"buggy_{n}.sol", []) if f["category"] in accept]
            total += len(spans)
            hits += len(match([(None, lo, hi) for lo, hi in spans], fs, 2))
            for f in fs:
                if any(lo - 2 <= f["line"] <= hi + 2 for lo, hi in spans):
                    tp += 1
                else:
                    fp += 1
        out[bug_type] = {"recall": [hits, total], "precision": [tp, tp + fp]}
    return out, took_all, errors


def pct(a, b):
    return f"{100.0 * a / b:5.1f} %" if b else "   —  "


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chainops", default=os.path.join(ROOT, "target", "release", "chainops"))
    ap.add_argument("--json")
    a = ap.parse_args()
    global DATA
    if SMOKE:
        DATA = smoke_data()
        if "BIN_DIR" in os.environ:
            a.chainops = os.path.join(ROOT, os.environ["BIN_DIR"], "chainops")
    sb, sb_report, sb_took = smartbugs(a.chainops)
    print("SmartBugs curated (dev split): recall by category (±2 lines | exact line)")
    tot2 = [0, 0]; tot0 = [0, 0]
    for cat in sorted(sb[2]):
        h2, n = sb[2][cat]; h0, _ = sb[0][cat]
        tot2[0] += h2; tot2[1] += n; tot0[0] += h0; tot0[1] += n
        print(f"  {cat:<28} {h2:>3}/{n:<3} {pct(h2, n)}   | {h0:>3}/{n:<3} {pct(h0, n)}")
    print(f"  {'overall':<28} {tot2[0]:>3}/{tot2[1]:<3} {pct(*tot2)}   | {tot0[0]:>3}/{tot0[1]:<3} {pct(*tot0)}")
    print(f"  files {len(sb_report['files'])}, parse errors {len(sb_report['errors'])}, findings {len(sb_report['findings'])}, wall {sb_took:.2f} s (process included)")
    sf, sf_took, sf_errors = solidifi(a.chainops)
    print("SolidiFI (bases 1-25): per bug type")
    for t, v in sf.items():
        print(f"  {t:<22} recall {v['recall'][0]:>3}/{v['recall'][1]:<3} {pct(*v['recall'])}   precision {v['precision'][0]:>3}/{v['precision'][1]:<3} {pct(*v['precision'])}")
    print(f"  parse errors {len(sf_errors)}, wall {sf_took:.2f} s for 7 × 25 files")
    if SMOKE:
        assert tot2[1] > 0 and tot2[0] == tot2[1], f"smoke: recall {tot2}"
        assert sf["Re-entrancy"]["recall"][0] > 0, f"smoke: {sf}"
        print("audit-eval smoke: ok")
        return
    if a.json:
        json.dump({"smartbugs": {str(k): v for k, v in sb.items()}, "solidifi": sf}, open(a.json, "w"), indent=2)


if __name__ == "__main__":
    main()
