#!/usr/bin/env bash
# instructions.sh - instructions executed per request (valgrind callgrind,
# deterministic where requests/s are noisy) by one ia-accounts worker
# serving GET /api/v1/user/info/ and by the bare libfcgi responder. Run
# by hand; needs valgrind and wrk. Prints the per-request totals and
# leaves the callgrind files in OUT (callgrind_annotate reads them).
#   tests/bench/instructions.sh [BUILD_DIR] [OUT_DIR]
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/bench/common.sh
. "$SRC/tests/bench/common.sh"
BUILD=$(cd "${1:-$SRC/build}" && pwd)
OUT=${2:-$(mktemp -d /tmp/ia-callgrind.XXXXXX)}
STATE=$(mktemp -d /tmp/ia-instr.XXXXXX)
PORT=${IA_PORT:-18385}
export IA_STATE_DIR=$STATE IA_PORT=$PORT IA_BUILD_DIR=$BUILD IA_SKIP_BUILD=1 IA_NO_BATCH=1
export RATE_LIMIT_PER_MINUTE=0 DEV_MODE=1 SECRET_KEY=bench-secret-key-0123456789abcdef
trap '"$SRC/stack" stop >/dev/null 2>&1; pkill -f "callgrind-out-file=$OUT/" || true; rm -rf "$STATE"' EXIT
mkdir -p "$OUT" "$STATE/run" "$STATE/run/nginx.d"
cc -O2 -o "$STATE/bare" "$SRC/tests/bench/bare.c" -lfcgi
echo "location = /bench/bare { include /etc/nginx/fastcgi_params; fastcgi_pass unix:$STATE/bare.sock; }" \
	>"$STATE/run/nginx.d/bench.conf"
"$SRC/stack" start >/dev/null
B=http://127.0.0.1:$PORT
TOKEN=$(bench_token "$B")

# One worker of each under callgrind, on the sockets nginx already uses.
kill "$(cat "$STATE/run/accounts.pid")"
sleep 0.5
rm -f "$STATE/run/accounts.sock"
IA_WORKERS=1 spawn-fcgi -n -s "$STATE/run/accounts.sock" -M 0666 -- /usr/bin/valgrind \
	--tool=callgrind --callgrind-out-file="$OUT/user_info.%p" \
	"$BUILD/cgi-bin/ia-accounts" \
	>/dev/null 2>&1 &
spawn-fcgi -n -s "$STATE/bare.sock" -M 0666 -- /usr/bin/valgrind --tool=callgrind \
	--callgrind-out-file="$OUT/bare.%p" "$STATE/bare" >/dev/null 2>&1 &
sleep 3
wrk -t1 -c1 -d"${DUR:-8s}" -H "Authorization: Bearer $TOKEN" "$B/api/v1/user/info/" >/dev/null
wrk -t1 -c1 -d"${DUR:-8s}" "$B/bench/bare" >/dev/null
pkill -TERM -f "callgrind-out-file=$OUT/" || true
sleep 2

# Instructions of the worker process divided by the requests it accepted:
# start-up (about 10 million instructions, mostly symbol binding) is
# included, so compare runs that served similar numbers of requests.
python3 - "$OUT" <<'PY'
import glob, os, re, sys
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.*"))):
    text = open(path).read()
    names = {m.group(1): m.group(2) for m in re.finditer(r"^c?fn=\((\d+)\) (.*)$", text, re.M)}
    accept = {k for k, v in names.items() if v == "FCGX_Accept_r"}
    calls = sum(int(m.group(2)) for m in re.finditer(r"^cfn=\((\d+)\).*\ncalls=(\d+)", text, re.M)
                if m.group(1) in accept)
    total = int(re.search(r"^(?:summary|totals): (\d+)", text, re.M).group(1))
    if calls > 100:
        print("%-10s %7d requests  %6.0f instructions/request  (%s)" %
              (os.path.basename(path).split(".")[0], calls, total / calls, path))
PY
