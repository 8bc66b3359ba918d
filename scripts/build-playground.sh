#!/usr/bin/env bash
# Builds the offline GraphiQL playground: fetches pinned npm packages once and copies their browser
# bundles into gateway/playground/, which is committed and served by the gateway itself, so the
# playground works on a machine with no internet access. Re-run after changing a version below.
set -euo pipefail
cd "$(dirname "$0")/.."
REACT=18.2.0
GRAPHIQL=3.8.3
GRAPHQL_WS=5.16.0
out=gateway/playground
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
( cd "$work" && npm pack --silent "react@$REACT" "react-dom@$REACT" "graphiql@$GRAPHIQL" "graphql-ws@$GRAPHQL_WS" >/dev/null )
for f in "$work"/*.tgz; do
  d="$work/$(basename "$f" .tgz)"; mkdir -p "$d"; tar xzf "$f" -C "$d"
done
cp "$work/react-$REACT/package/umd/react.production.min.js" "$out/react.production.min.js"
cp "$work/react-dom-$REACT/package/umd/react-dom.production.min.js" "$out/react-dom.production.min.js"
cp "$work/graphiql-$GRAPHIQL/package/graphiql.min.js" "$out/graphiql.min.js"
cp "$work/graphiql-$GRAPHIQL/package/graphiql.min.css" "$out/graphiql.min.css"
cp "$work/graphql-ws-$GRAPHQL_WS/package/umd/graphql-ws.min.js" "$out/graphql-ws.min.js"
cat > "$out/VERSIONS" <<V
react $REACT
react-dom $REACT
graphiql $GRAPHIQL
graphql-ws $GRAPHQL_WS
V
echo "playground assets written to $out"
