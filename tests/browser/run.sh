#!/usr/bin/env bash
# run.sh - the browser tests (tests/browser/run.mjs, playwright-core driving
# Debian's Chromium) against a private running stack of one build directory.
#   tests/browser/run.sh [BUILD_DIR]
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-$SRC/build}
# Google's and Stripe's scripts cannot load on this closed network.
export RATE_LIMIT_PER_MINUTE=0 GOOGLE_CLIENT_ID= STRIPE_PUBLIC_KEY=
[ -f "$SRC/tests/api/fakes/stability.py" ] && export FAKE_STABILITY=1
exec "$SRC/tests/with-stack" "$BUILD" node "$SRC/tests/browser/run.mjs"
