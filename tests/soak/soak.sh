#!/usr/bin/env bash
# soak.sh - the chaos/soak run (by hand; minutes): a private stack with the
# fakes (tests/with-stack, its own state dir and free port), many users and
# concurrent clients, kill -9 of FastCGI workers and ia-batch every ~20 s,
# then the money and queue invariants checked against the database and the
# API (tests/soak/soak.py says which). Ends with one line
#   soak: 300 s, N jobs, K kills (...), 0 ledger mismatches, 0 double charges,
#   0 missing refunds, 0 stuck, 0 orphans, 0 missing files
# and exits non-zero on any violation.
#   tests/soak/soak.sh [SECONDS [CLIENTS]]      (defaults 300 and 16)
# Other knobs: SOAK_USERS, SOAK_KILL_INTERVAL, SOAK_DRAIN_TIMEOUT, SOAK_SEED;
# IA_BUILD_DIR (default ./build: run ./stack build first).
set -uo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${IA_BUILD_DIR:-$SRC/build}
[ -x "$BUILD/bin/ia-batch" ] || { echo "soak: no build in $BUILD (./stack build first)" >&2; exit 2; }
export SOAK_SECONDS=${1:-${SOAK_SECONDS:-300}} SOAK_CLIENTS=${2:-${SOAK_CLIENTS:-16}}
# No throttling (one client address per request anyway), the local
# placeholder generator for prompts (no Stability AI key).
export RATE_LIMIT_PER_MINUTE=0 LOCAL_GENERATOR=1 STABILITY_AI_KEY=
exec "$SRC/tests/with-stack" "$BUILD" /usr/bin/python3 "$SRC/tests/soak/soak.py"
