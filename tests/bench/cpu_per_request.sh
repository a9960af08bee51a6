#!/usr/bin/env bash
# cpu_per_request.sh - CPU time per request of the FastCGI processes and of
# nginx (from /proc/PID/stat ticks around a wrk run): GET /api/v1/user/info/
# against the bare libfcgi responder. Explains the gap that bench_api.sh
# measures in requests/s.
#   tests/bench/cpu_per_request.sh [BUILD_DIR]     (run by hand; needs wrk)
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/bench/common.sh
. "$SRC/tests/bench/common.sh"
BUILD=$(cd "${1:-$SRC/build}" && pwd)
STATE=$(mktemp -d /tmp/ia-cpu.XXXXXX)
PORT=${IA_PORT:-18284}
export IA_STATE_DIR=$STATE IA_PORT=$PORT IA_BUILD_DIR=$BUILD IA_SKIP_BUILD=1 IA_NO_BATCH=1
export RATE_LIMIT_PER_MINUTE=0 DEV_MODE=1 SECRET_KEY=bench-secret-key-0123456789abcdef
trap '"$SRC/stack" stop >/dev/null 2>&1; pkill -f "$STATE/bare" || true; rm -rf "$STATE"' EXIT

cc -O2 -o "$STATE/bare" "$SRC/tests/bench/bare.c" -lfcgi
mkdir -p "$STATE/run" "$STATE/run/nginx.d"
spawn-fcgi -s "$STATE/bare.sock" -M 0666 -F 4 -- "$STATE/bare" >/dev/null
echo "location = /bench/bare { include /etc/nginx/fastcgi_params; fastcgi_pass unix:$STATE/bare.sock; }" \
	>"$STATE/run/nginx.d/bench.conf"
"$SRC/stack" start >/dev/null
sed -i 's#access_log .*;#access_log off;#' "$STATE/run/nginx.conf" && kill -HUP "$(cat "$STATE/run/nginx.pid")" && sleep 0.5
B=http://127.0.0.1:$PORT
TOKEN=$(bench_token "$B")

ticks() { # pids... -> utime+stime in clock ticks
	local t=0 p
	for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
	echo $t
}
measure() { # label process-pattern url
	local pids ng a n b m req hz
	pids=$(pgrep -f "$2"); ng=$(pgrep -f "nginx: worker")
	a=$(ticks $pids); n=$(ticks $ng)
	wrk -t2 -c32 -d8s -H "Authorization: Bearer $TOKEN" "$3" >"$STATE/wrk.txt"
	b=$(ticks $pids); m=$(ticks $ng)
	req=$(awk '/requests in/ {print $1}' "$STATE/wrk.txt"); hz=$(getconf CLK_TCK)
	echo "$1: $req requests; FastCGI CPU $(((b - a) * 1000000000 / hz / req)) ns/request;" \
		"nginx CPU $(((m - n) * 1000000000 / hz / req)) ns/request"
}
measure bare "$STATE/bare" "$B/bench/bare"
measure user_info "$BUILD/cgi-bin/ia-accounts" "$B/api/v1/user/info/"
