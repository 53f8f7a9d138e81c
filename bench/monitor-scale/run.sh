#!/usr/bin/env bash
# Builds the release binaries and runs the collector scale benchmark (see run.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --locked -p chainops -p fake-evm-fleet
exec python3 bench/monitor-scale/run.py "$@"
