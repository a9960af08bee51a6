#!/usr/bin/env bash
# run-api.sh - start a private stack (its own state dir and port) from the
# build this test run belongs to, run the HTTP API tests against it, stop
# it, and fail when any program logged a sanitizer report.
#   tests/api/run-api.sh [BUILD_DIR]     (make check passes it through the env)
set -uo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-${IA_BUILD_DIR:-${abs_top_builddir:-$SRC/build}}}
BUILD=$(cd "$BUILD" && pwd)
STATE=$(mktemp -d "${TMPDIR:-/tmp}/ia-api.XXXXXX")
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

export IA_STATE_DIR=$STATE IA_PORT=$PORT IA_BUILD_DIR=$BUILD IA_SKIP_BUILD=1
export DEV_MODE=1 SECRET_KEY="api-test-secret-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export RATE_LIMIT_PER_MINUTE=${RATE_LIMIT_PER_MINUTE:-20}
export CORS_ALLOWED_ORIGINS=${CORS_ALLOWED_ORIGINS:-http://app.example}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=0:log_path=$STATE/log/asan}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:log_path=$STATE/log/ubsan}
export BASE_URL=http://127.0.0.1:$PORT IA_SRC=$SRC PUBLIC_URL=http://127.0.0.1:$PORT
mkdir -p "$STATE/log"

# Local fakes of the paid outside services (tests/api/fakes/<name>.py),
# each on a free port it writes to a file; the stack reaches them through
# the base-URL settings of API.md.
start_fake() { # name variable url-prefix url-suffix
	local script=$SRC/tests/api/fakes/$1.py portfile=$STATE/fake-$1.port
	[ -f "$script" ] || return 0
	/usr/bin/python3 "$script" --port-file "$portfile" >"$STATE/log/fake-$1.log" 2>&1 &
	echo $! >>"$STATE/fakes.pids"
	for _ in $(seq 1 100); do [ -s "$portfile" ] && break; sleep 0.05; done
	[ -s "$portfile" ] || { echo "fake $1 did not start" >&2; exit 99; }
	export "$2=$3127.0.0.1:$(cat "$portfile")$4"
	export "FAKE_${1^^}_URL=http://127.0.0.1:$(cat "$portfile")"
}
export STABILITY_AI_KEY=sk-test-stability STRIPE_SECRET_KEY=sk_test_image_assistant
export STRIPE_PUBLIC_KEY=pk_test_image_assistant STRIPE_WEBHOOK_SECRET=whsec_test_image_assistant
export GOOGLE_CLIENT_ID=test-client.apps.googleusercontent.com
start_fake stability STABILITY_API_BASE "http://" ""
start_fake stripe STRIPE_API_BASE "http://" ""
start_fake google GOOGLE_TOKENINFO_URL "http://" "/tokeninfo"
start_fake smtp SMTP_URL "smtp://" ""

cleanup() {
	"$SRC/stack" stop >/dev/null 2>&1
	[ -s "$STATE/fakes.pids" ] && kill $(cat "$STATE/fakes.pids") 2>/dev/null
	rm -f "$STATE/fakes.pids"
}
trap cleanup EXIT

"$SRC/stack" start || { cat "$STATE"/log/*.log >&2; exit 99; }
/usr/bin/python3 -m unittest discover -s "$SRC/tests/api" -p 'test_*.py' ${IA_API_TEST_ARGS:-}
rc=$?
cleanup
if ls "$STATE"/log/asan* "$STATE"/log/ubsan* >/dev/null 2>&1 ||
	grep -l -E 'runtime error:|AddressSanitizer|LeakSanitizer' "$STATE"/log/*.log >/dev/null 2>&1; then
	echo "sanitizer reports:" >&2
	cat "$STATE"/log/asan* "$STATE"/log/ubsan* 2>/dev/null | head -80 >&2
	grep -h -A20 -E 'runtime error:|AddressSanitizer' "$STATE"/log/*.log 2>/dev/null | head -80 >&2
	rc=1
fi
[ $rc -eq 0 ] && rm -rf "$STATE" || echo "state kept in $STATE" >&2
exit $rc
