#!/usr/bin/env bash
# tests/nginx/run.sh - the production front (nginx/production.conf) with a
# self-signed certificate in front of a private stack of BUILD_DIR
# (tests/with-stack), checked with curl: HTTP/2 over TLS, HSTS and the
# security headers, /health/ and API calls through it, the redirect from
# http to https, the body limit, and the client address from a trusted
# load balancer's X-Forwarded-For reaching the programs' throttling
# (set_real_ip_from here, TRUSTED_PROXIES on the app host). Ends with
# "N passed, M failed".
#   tests/nginx/run.sh [BUILD_DIR]
set -uo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-${IA_BUILD_DIR:-$SRC/build}}
# The app host trusts the front (loopback) as a proxy; a short throttle.
export TRUSTED_PROXIES=127.0.0.1/32 RATE_LIMIT_PER_MINUTE=5
exec "$SRC/tests/with-stack" "$BUILD" "$SRC/tests/nginx/check-front.sh"
