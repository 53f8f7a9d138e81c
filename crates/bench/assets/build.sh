#!/usr/bin/env bash
# Rebuilds BenchToken.bin (creation code) and BenchToken.abi.json from BenchToken.sol with solc-js 0.8.24 from npm (optimizer on,
# EVM version paris so pre-Shanghai chains run it too).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
npm install --silent --prefix "$tmp" solc@0.8.24 >/dev/null
node -e '
const solc = require(process.argv[1] + "/node_modules/solc");
const fs = require("fs");
const input = {language: "Solidity", sources: {"BenchToken.sol": {content: fs.readFileSync(process.argv[2] + "/BenchToken.sol", "utf8")}},
  settings: {optimizer: {enabled: true, runs: 200}, evmVersion: "paris", outputSelection: {"*": {"*": ["abi", "evm.bytecode.object"]}}}};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
if (out.errors && out.errors.some(e => e.severity === "error")) { console.error(out.errors); process.exit(1); }
const c = out.contracts["BenchToken.sol"].BenchToken;
fs.writeFileSync(process.argv[2] + "/BenchToken.bin", c.evm.bytecode.object + "\n");
fs.writeFileSync(process.argv[2] + "/BenchToken.abi.json", JSON.stringify(c.abi) + "\n");
' "$tmp" "$here"
echo "wrote $here/BenchToken.bin"
