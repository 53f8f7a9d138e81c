#!/usr/bin/env bash
# Every benchmark in its smoke mode (tiny sizes, seconds each) on the debug binaries that
# `cargo test` already built, so a change that breaks a benchmark fails `make test`.
# The real runs are the `make bench-*` targets; figures live in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export BENCH_SMOKE=1 BIN_DIR=target/debug
CARGO=${CARGO:-cargo}
$CARGO build -q --locked -p chainops -p fake-evm-fleet \
  -p chainops-logs --example ingest_bench --example query_bench \
  -p chainops-audit --example timing
PATH="$PWD/.tools/node_modules/.bin:$PATH"
step() { echo "== bench smoke: $1" >&2; }
step "alert rule evaluation (eval_bench)";  $CARGO run -q --locked -p chainops-alert --example eval_bench 20 >/dev/null
step "auth (auth_bench)";                   $CARGO run -q --locked -p chainops-auth --example auth_bench >/dev/null
step "monitor-scale";                       python3 bench/monitor-scale/run.py
step "logs vs ripgrep";                     BENCH_DIR=/tmp/chainops-bench-logs-smoke bench/logs/run.sh >/dev/null
step "load generator";                      python3 bench/load/run.py >/dev/null
step "backup vs restic and borg";           python3 bench/backup-vs-peers/run.py
step "audit accuracy";                      python3 bench/audit-eval/run.py >/dev/null
step "audit speed";                         python3 bench/audit-eval/speed.py
echo "bench smoke: all benchmarks ran" >&2
