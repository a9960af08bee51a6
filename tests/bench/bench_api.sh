#!/usr/bin/env bash
# bench_api.sh - wrk on loopback against GET /api/v1/user/info/ with a valid
# token (also while another process commits 100 times a second), and in
# the same run against two ceilings behind the same nginx: a location
# returning a fixed body, and a bare libfcgi responder (tests/bench/bare.c)
# spawned like the real programs. Then POST
# /api/v1/token/obtain/ against the cost of one Argon2id hash.
#   tests/bench/bench_api.sh [BUILD_DIR]      (run by hand; needs wrk)
#   IA_DB=postgres tests/bench/bench_api.sh   the same on a private PostgreSQL
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/bench/common.sh
. "$SRC/tests/bench/common.sh"
BUILD=$(cd "${1:-$SRC/build}" && pwd)
STATE=$(mktemp -d /tmp/ia-bench.XXXXXX)
PORT=${IA_PORT:-18181}
DUR=${DUR:-10s}
# Debian's python3 (python3-psycopg2 for the PostgreSQL writer), not a pyenv shim.
PY=${PYTHON:-/usr/bin/python3}
export IA_STATE_DIR=$STATE IA_PORT=$PORT IA_BUILD_DIR=$BUILD IA_SKIP_BUILD=1 IA_NO_BATCH=1
export RATE_LIMIT_PER_MINUTE=0 DEV_MODE=1 SECRET_KEY=bench-secret-key-0123456789abcdef
trap '"$SRC/stack" stop >/dev/null 2>&1; kill $(cat "$STATE/run/bare.pid" 2>/dev/null) 2>/dev/null; pkill -f "$STATE/writer.py"; rm -rf "$STATE"' EXIT

cc -O2 -o "$STATE/bare" "$SRC/tests/bench/bare.c" -lfcgi
mkdir -p "$STATE/run" "$STATE/run/nginx.d"
spawn-fcgi -s "$STATE/run/bare.sock" -M 0666 -F 4 -P "$STATE/run/bare.pid" -- "$STATE/bare" >/dev/null
cat >"$STATE/run/nginx.d/bench.conf" <<CONF
location = /bench/fixed { default_type "application/json; charset=utf-8"; return 200 '{"status": "ok"}\n'; }
location = /bench/bare { include /etc/nginx/fastcgi_params; fastcgi_pass unix:$STATE/run/bare.sock; }
CONF
"$SRC/stack" start >/dev/null
# By default nginx runs without its access log (for all three targets alike);
# ACCESS_LOG=on keeps it, exactly as the stack configures nginx.
if [ "${ACCESS_LOG:-off}" = off ]; then
	sed -i 's#access_log .*;#access_log off;#' "$STATE/run/nginx.conf" && kill -HUP "$(cat "$STATE/run/nginx.pid")" && sleep 0.5
fi

B=http://127.0.0.1:$PORT
TOKEN=$(bench_token "$B")
DB_TARGET=$STATE/ia.sqlite3
[ -s "$STATE/database.url" ] && DB_TARGET=$(cat "$STATE/database.url")
echo "database: $( [ "$DB_TARGET" = "$STATE/ia.sqlite3" ] && echo SQLite || echo PostgreSQL)"

run() { # label url [wrk args...]
	local label=$1 url=$2; shift 2
	wrk -t2 -c32 -d"$DUR" --latency "$@" "$url" >"$STATE/$label.txt"
	python3 - "$label" "$STATE/$label.txt" <<'PY'
import re, sys
label, path = sys.argv[1], sys.argv[2]
t = open(path).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
def pct(p):
    m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)" % p, t, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print("%-19s %10.0f req/s   p50 %6.2f ms   p99 %6.2f ms   non-2xx %s" %
      (label, rps, pct(50), pct(99), non2xx.group(1) if non2xx else 0))
open(path + ".rps", "w").write(str(rps))
PY
}

# Another process committing WRITES_PER_SEC (100) times a second to a
# rate-limit counter, as a busy site's logins and jobs would: every commit
# empties the user cache of every worker (lib/usercache.c), so this is
# user/info with misses.
# On PostgreSQL (IA_DB=postgres) the writer commits to the stack's server.
cat >"$STATE/writer.py" <<'PY'
import sys, time
target, pause = sys.argv[1], 1.0 / float(sys.argv[2])
sql = ("INSERT INTO rate_limits(bucket, window_start, count) VALUES ('bench', 0, 1) "
       "ON CONFLICT(bucket, window_start) DO UPDATE SET count = rate_limits.count + 1")
if "://" in target:
    import psycopg2
    conn = psycopg2.connect(target)
    conn.autocommit = True
    cur = conn.cursor()
    execute = lambda: cur.execute(sql)
else:
    import sqlite3
    conn = sqlite3.connect(target, timeout=10, isolation_level=None)
    execute = lambda: conn.execute(sql)
while True:
    execute()
    time.sleep(pause)
PY

ROUNDS=${ROUNDS:-3}
echo "wrk -t2 -c32 -d$DUR on 127.0.0.1, $(nproc) cores, access log ${ACCESS_LOG:-off}; $ROUNDS alternating rounds, the median counts"
for r in $(seq 1 "$ROUNDS"); do
	run "fixed.$r" "$B/bench/fixed"
	run "bare.$r" "$B/bench/bare"
	run "user_info.$r" "$B/api/v1/user/info/" -H "Authorization: Bearer $TOKEN"
	"$PY" "$STATE/writer.py" "$DB_TARGET" "${WRITES_PER_SEC:-100}" >/dev/null &
	WRITER=$!
	run "user_info_writes.$r" "$B/api/v1/user/info/" -H "Authorization: Bearer $TOKEN"
	kill $WRITER
	wait $WRITER 2>/dev/null || true
done
"$PY" - "$DB_TARGET" "$ROUNDS" <<'PY'
import sys
q = "SELECT count FROM rate_limits WHERE bucket = 'bench'"
if "://" in sys.argv[1]:
    import psycopg2
    cur = psycopg2.connect(sys.argv[1]).cursor()
    cur.execute(q)
    n = cur.fetchone()[0]
else:
    import sqlite3
    n = sqlite3.connect(sys.argv[1]).execute(q).fetchone()[0]
print("commits by the writer: %d in %s rounds" % (n, sys.argv[2]))
PY
python3 - "$STATE" "$ROUNDS" <<'PY'
import statistics, sys
s, n = sys.argv[1], int(sys.argv[2])
med = {k: statistics.median(float(open("%s/%s.%d.txt.rps" % (s, k, r)).read()) for r in range(1, n + 1))
       for k in ("fixed", "bare", "user_info", "user_info_writes")}
print("medians: fixed %.0f, bare %.0f, user/info %.0f, user/info with writes %.0f req/s" %
      (med["fixed"], med["bare"], med["user_info"], med["user_info_writes"]))
rps = lambda k, r: float(open("%s/%s.%d.txt.rps" % (s, k, r)).read())
for k in ("user_info", "user_info_writes"):
    paired = [rps(k, r) / rps("bare", r) for r in range(1, n + 1)]
    print("%s / bare responder, per round: %s; median %.2f" %
          (k, ", ".join("%.2f" % x for x in paired), statistics.median(paired)))
print("user/info / fixed nginx (medians) = %.2f" % (med["user_info"] / med["fixed"]))
PY
# Peak RSS of the accounts worker processes (VmHWM).
for pid in $(pgrep -f "$BUILD/cgi-bin/ia-accounts"); do
	awk -v p="$pid" '/VmHWM/ {print "ia-accounts pid " p " peak RSS " $2 " kB"}' "/proc/$pid/status"
done

cat >"$STATE/login.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"email":"bench@example.com","password":"benchmark-password"}'
wrk.headers["Content-Type"] = "application/json"
LUA
run token_obtain "$B/api/v1/token/obtain/" -s "$STATE/login.lua"
cc -O2 -o "$STATE/argon2_cost" "$SRC/tests/bench/argon2_cost.c" -lsodium
"$STATE/argon2_cost"
