#!/usr/bin/env bash
# lint.sh - lint docs/openapi.yaml with Redocly CLI (the version
# tests/openapi/package-lock.json pins; rules in tests/openapi/redocly.yaml).
# Installs it first with `npm ci` when node_modules is missing or older than
# the lock file, as ./stack does for the SPA. Ends with one line
# "N passed, M failed" (one test: the lint) for tests/count-results.py.
#   tests/openapi/lint.sh
set -uo pipefail
DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$DIR/../.." && pwd)
cd "$DIR" || exit 1
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	if ! npm ci --no-audit --no-fund --loglevel=error >/dev/null; then
		echo "openapi lint: npm ci failed in $DIR"
		echo "0 passed, 1 failed"
		exit 1
	fi
fi
if npx --no-install redocly lint "$SRC/docs/openapi.yaml" --config "$DIR/redocly.yaml" --format=stylish; then
	echo "openapi lint: docs/openapi.yaml is valid"
	echo "1 passed, 0 failed"
	exit 0
fi
echo "openapi lint: docs/openapi.yaml has problems (above)"
echo "0 passed, 1 failed"
exit 1
