# chainops — the two commands: `make run` and `make test`.
.PHONY: run test deps deps-test build lint fuzz bench-smoke bench-console bench-monitor bench-alert bench-auth bench-logs bench-load bench-backup bench-audit bench-history bench-desk bench-remote-write bench-cluster

CARGO ?= cargo
ARGS ?=

## Install what is missing (anvil into .tools/), build, and start `chainops serve` with the defaults.
run: deps
	$(CARGO) build --release --locked -p chainops
	./target/release/chainops serve $(ARGS)

## Install test dependencies, start a private PostgreSQL, run every test, then every
## benchmark in its smoke mode (bench/smoke.sh).
test: deps-test
	@set -e; eval "$$(scripts/test-postgres.sh start)"; \
	trap 'scripts/test-postgres.sh stop "$$PGTEST_DIR"' EXIT; \
	$(CARGO) build --locked -p fake-evm-fleet; \
	$(CARGO) test --workspace --locked; \
	$(MAKE) --no-print-directory bench-smoke

## Every benchmark in its smoke mode (tiny sizes, debug binaries, about a minute); part of `make test`.
bench-smoke:
	CARGO="$(CARGO)" bench/smoke.sh

deps:
	scripts/install-deps.sh run

deps-test:
	scripts/install-deps.sh test

build:
	$(CARGO) build --release --locked -p chainops

## fmt + clippy + no module cycles, as CI runs them.
lint:
	$(CARGO) fmt --all --check
	python3 scripts/module-cycles.py
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

## Fuzz every parser that sees outside data for FUZZ_SECONDS per target (default 60); crashes
## are kept under crates/fuzz/crashers/ and replayed by `make test`.
fuzz:
	$(CARGO) build --profile fuzz --locked -p chainops-fuzz
	./target/fuzz/chainops-fuzz --seconds $(or $(FUZZ_SECONDS),60) $(TARGETS)

## Web console at 1,000 fake nodes: server time, page weight, first paint (docs/benchmarks.md).
bench-console: build
	cargo build --release --locked -p fake-evm-fleet
	python3 bench/console/run.py

## Collector scale benchmark (see docs/benchmarks.md).
bench-monitor: build
	bench/monitor-scale/run.sh

## Alert rule evaluation: 1,000 nodes x the default pack.
bench-alert:
	cargo run --release -q -p chainops-alert --example eval_bench 1000

## Cost of token checks, logins and audit appends.
bench-auth:
	cargo run --release -q -p chainops-auth --example auth_bench

## Support desk: 100,000 tickets / 1,000,000 messages on SQLite (and PostgreSQL with
## CHAINOPS_BENCH_POSTGRES_URL): queue and search p95, SLA pass, portal throughput.
bench-desk:
	cargo run --release -q -p chainops-desk --example desk_bench

## Log ingest and search vs ripgrep on ~1 GB of generated node logs (SIZE_MB=…).
bench-logs:
	bench/logs/run.sh $(or $(SIZE_MB),1024)

## Load generator vs Caliper 0.6 on anvil (installs Caliper into .tools/caliper).
bench-load: build
	python3 bench/load/run.py

## History reads vs Prometheus on 100 nodes x 30 days of minute samples.
bench-history:
	cargo build --release --locked -p chainops-store --example series_bench
	python3 bench/history/run.py

## Remote write to VictoriaMetrics, direct vs through a Prometheus agent (1,000 nodes).
bench-remote-write:
	cargo build --release --locked -p chainops -p fake-evm-fleet
	python3 bench/remote-write/run.py

## Three daemons on PostgreSQL share 10,000 fake nodes (NODES=…): CPU/RSS per member, PostgreSQL
## load, a 30 s VictoriaMetrics outage, leader takeover (starts its own PostgreSQL, fsync on).
bench-cluster:
	cargo build --release --locked -p chainops -p fake-evm-fleet
	python3 bench/cluster/run.py

## Backups vs restic and borg on the 1 GiB node-like data set (installs them with apt if missing).
bench-backup: build
	python3 bench/backup-vs-peers/run.py

## Contract audit: accuracy on the shared data sets, then speed against Slither (installed
## offline into .tools/slither by ../shared/tools/slither-offline/setup.sh).
bench-audit: build
	bench/audit-eval/run.py
	[ -x .tools/slither/venv/bin/slither ] || ../shared/tools/slither-offline/setup.sh .tools/slither
	bench/audit-eval/speed.py
