#!/usr/bin/env bash
# Builds the demo web chat (clients/demo: vite + React + urql + graphql-ws) into gateway/demo/,
# which is committed and served by `imql serve` at /demo/ with the development app, so the demo
# works on a machine with no internet access. Re-run after changing clients/demo or the schema
# (the typed documents are regenerated from schema/schema.graphql first).
set -euo pipefail
cd "$(dirname "$0")/../clients/demo"
npm ci --no-audit --no-fund --loglevel=error
npm run --silent codegen
npm run --silent build
echo "demo assets written to gateway/demo"
