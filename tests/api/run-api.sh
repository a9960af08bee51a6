#!/usr/bin/env bash
# run-api.sh - the HTTP API tests (tests/api/test_*.py, stdlib unittest)
# against a private running stack of one build directory, with local fakes
# of Stability AI, Stripe, Google and SMTP (see tests/with-stack).
#   tests/api/run-api.sh [BUILD_DIR]     (make check passes it through the env)
# IA_API_TEST_ARGS='-k name' selects tests.
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-${IA_BUILD_DIR:-$SRC/build}}
# shellcheck disable=SC2086
exec "$SRC/tests/with-stack" "$BUILD" /usr/bin/python3 -m unittest discover -s "$SRC/tests/api" \
	-p 'test_*.py' ${IA_API_TEST_ARGS:-}
