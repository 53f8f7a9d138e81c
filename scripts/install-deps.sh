#!/usr/bin/env bash
# Installs what chainops needs on a fresh Debian machine, skipping what is already there.
#   scripts/install-deps.sh run    anvil (npm, into .tools/) for the default managed dev node
#   scripts/install-deps.sh test   + ganache, playwright-core, axe-core (npm), chromium, litecoind, monerod, promtool, victoria-metrics, systemd-analyze, Alertmanager, ripgrep, restic, borg, dovecot-imapd (apt), aiosmtpd and
#                                  schemathesis, moto[server], eth-abi (PyPI)
#                                  for the end-to-end tests
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}

ANVIL_PKG="@foundry-rs/anvil-linux-amd64@1.7.1"
ANVIL_BIN=".tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"

if [ ! -x "$ANVIL_BIN" ] && ! command -v anvil >/dev/null 2>&1; then
  command -v npm >/dev/null 2>&1 || { echo "npm is required to install anvil (apt-get install -y npm)" >&2; exit 1; }
  echo "installing anvil ($ANVIL_PKG) into .tools/"
  npm install --silent --no-audit --no-fund --prefix .tools "$ANVIL_PKG"
fi

if [ "$mode" = test ]; then
  # ganache: a second EVM node whose data dir is LevelDB (backup round trips).
  if [ ! -x .tools/node_modules/.bin/ganache ]; then
    echo "installing ganache (npm) into .tools/"
    npm install --silent --no-audit --no-fund --prefix .tools ganache@7.9.2
  fi
  # The web console tests: playwright-core and axe-core (npm) drive Debian's Chromium.
  if [ ! -f .tools/node_modules/playwright-core/package.json ] || [ ! -f .tools/node_modules/axe-core/axe.min.js ]; then
    echo "installing playwright-core and axe-core (npm) into .tools/"
    npm install --silent --no-audit --no-fund --prefix .tools playwright-core@1.65.2 axe-core@4.14.1
  fi
  missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  # A CJK font, so the zh-CN console screenshots show characters, not boxes.
  [ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
  command -v litecoind >/dev/null 2>&1 || missing+=(litecoind)
  command -v monerod >/dev/null 2>&1 || missing+=(monero)
  command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
  command -v victoria-metrics >/dev/null 2>&1 || missing+=(victoria-metrics)
  # The Debian package test: systemd-analyze verifies the unit.
  command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
  command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
  # Benchmark smoke runs (bench/smoke.sh): the peers and tools the benchmarks compare against.
  command -v rg >/dev/null 2>&1 || missing+=(ripgrep)
  command -v restic >/dev/null 2>&1 || missing+=(restic)
  command -v borg >/dev/null 2>&1 || missing+=(borgbackup)
  [ -x /usr/bin/time ] || missing+=(time)
  # A real IMAP server for the support desk's email-in test.
  [ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} with apt"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # From PyPI into .tools/pylib: a real SMTP server for the email notifier test (aiosmtpd)
  # and schemathesis, which fuzzes the live API against its OpenAPI document.
  if ! PYTHONPATH=.tools/pylib python3 -c 'import aiosmtpd, schemathesis' >/dev/null 2>&1; then
    if ! python3 -m pip --version >/dev/null 2>&1; then
      SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
    fi
    echo "installing aiosmtpd and schemathesis (PyPI) into .tools/pylib"
    python3 -m pip install --quiet --disable-pip-version-check --upgrade --target .tools/pylib \
      aiosmtpd==1.4.6 schemathesis==4.32.5
  fi
  # A real S3 server for the backup S3 backend tests (moto), in its own target dir so its
  # pinned dependencies cannot clash with schemathesis'.
  if ! PYTHONPATH=.tools/moto python3 -c 'import moto.server' >/dev/null 2>&1; then
    echo "installing moto[server] (PyPI) into .tools/moto"
    python3 -m pip install --quiet --disable-pip-version-check --upgrade --target .tools/moto \
      'moto[server]==5.2.5'
  fi
  # eth-abi (the encoder web3.py uses) to check the load generator's contract-call calldata,
  # in its own target dir like moto.
  if ! PYTHONPATH=.tools/ethabi python3 -c 'import eth_abi, eth_hash.auto' >/dev/null 2>&1; then
    echo "installing eth-abi (PyPI) into .tools/ethabi"
    python3 -m pip install --quiet --disable-pip-version-check --upgrade --target .tools/ethabi \
      'eth-abi==6.0.0' 'eth-hash[pycryptodome]==0.8.0'
  fi
  # The official SARIF 2.1.0 JSON schema (bundled in @microsoft/jest-sarif) for the audit
  # output schema test.
  if [ ! -f .tools/sarif/sarif-2.1.0.json ]; then
    echo "fetching the SARIF 2.1.0 schema (npm @microsoft/jest-sarif) into .tools/sarif"
    mkdir -p .tools/sarif
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent @microsoft/jest-sarif@1.0.0-beta.0 >/dev/null \
      && tar xzf microsoft-jest-sarif-1.0.0-beta.0.tgz package/lib/schemas/sarif-2.1.0-rtm.5.json)
    cp "$tmp/package/lib/schemas/sarif-2.1.0-rtm.5.json" .tools/sarif/sarif-2.1.0.json
    rm -rf "$tmp"
  fi
  # The Debian package may start a Prometheus service; the tests only need promtool.
  command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
    || { echo "PostgreSQL server binaries (initdb) are missing: apt-get install -y postgresql" >&2; exit 1; }
fi
