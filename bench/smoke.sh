#!/usr/bin/env bash
# Every benchmark in its smoke mode (tiny sizes, seconds each) on the debug binaries that
# `cargo test` already built, so a change that breaks a benchmark fails `make test`.
# The real runs are the `make bench-*` targets; figures live in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export BENCH_SMOKE=1 BIN_DIR=target/debug
CARGO=${CARGO:-cargo}
# The whole workspace at once: the same feature set as `cargo test --workspace`, so nothing is
# rebuilt (per-package builds would unify features differently and recompile dependencies).
$CARGO build -q --locked --workspace --bins --examples
PATH="$PWD/.tools/node_modules/.bin:$PATH"
step() { echo "== bench smoke: $1" >&2; }
step "alert rule evaluation (eval_bench)";  target/debug/examples/eval_bench 20 >/dev/null
step "auth (auth_bench)";                   target/debug/examples/auth_bench >/dev/null
step "support desk (desk_bench)";           target/debug/examples/desk_bench >/dev/null
step "monitor-scale";                       python3 bench/monitor-scale/run.py
step "logs vs ripgrep";                     BENCH_DIR=/tmp/chainops-bench-logs-smoke bench/logs/run.sh >/dev/null
step "load generator";                      python3 bench/load/run.py >/dev/null
step "backup vs restic and borg";           python3 bench/backup-vs-peers/run.py
step "audit accuracy";                      python3 bench/audit-eval/run.py >/dev/null
step "audit speed";                         python3 bench/audit-eval/speed.py
step "console";                             python3 bench/console/run.py
step "history vs prometheus";               python3 bench/history/run.py >/dev/null
step "remote write vs a Prometheus agent";  python3 bench/remote-write/run.py >/dev/null
step "cluster of three daemons";           python3 bench/cluster/run.py >/dev/null
echo "bench smoke: all benchmarks ran" >&2
