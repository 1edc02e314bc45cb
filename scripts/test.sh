#!/usr/bin/env bash
# Runs every test: unit tests first (fast, no kernel), then the namespace-backed ones.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
mapfile -t unit < <(find dist/test/unit -name '*.test.js' | sort)
mapfile -t kernel < <(find dist/test/integration dist/test/e2e dist/test/conformance -name '*.test.js' 2>/dev/null | sort)
node --test --test-concurrency=1 "${unit[@]}" "${kernel[@]}"
