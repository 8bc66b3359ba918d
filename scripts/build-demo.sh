#!/usr/bin/env bash
# Builds the demo web chat (clients/demo: vite + React + urql + graphql-ws, on the TypeScript kit in
# clients/typescript) into gateway/demo/, which is committed and served by `imql serve` at /demo/
# with the development app, so the demo works on a machine with no internet access. Re-run after
# changing clients/demo or the kit (its documents are the kit's: after a schema change, regenerate
# them first with `npm run codegen` in clients/typescript). The same sources build the same bytes
# (tests/test_demo_build.py checks the committed assets against a fresh build).
set -euo pipefail
cd "$(dirname "$0")/../clients/demo"
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
echo "demo assets written to gateway/demo"
