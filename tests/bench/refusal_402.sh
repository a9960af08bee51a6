#!/usr/bin/env bash
# refusal_402.sh - issue 9 point 5: how long a user with 0 credits waits for
# the 402 of an upload whose PNG header says 7071x7071 (~50 MP, 160 KB on
# disk), and how long a normal user's small upload takes while 8 such
# refusals run in a loop beside it. Against a running stack:
#   tests/bench/refusal_402.sh BASE_URL BUILD_DIR     (IA_STATE_DIR/DB_PATH as iactl wants)
# Prints the median of 20 requests for each.
set -euo pipefail
BASE=${1:-http://127.0.0.1:8080}
BUILD=${2:-build}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT

signup() { # email -> token
	local body="{\"email\":\"$1\",\"password\":\"benchmark-password\"}"
	curl -fsS -o /dev/null -XPOST "$BASE/api/v1/users/signup/" -H 'Content-Type: application/json' -d "$body" || true
	curl -fsS -XPOST "$BASE/api/v1/token/obtain/" -H 'Content-Type: application/json' -d "$body" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["access"])'
}
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.4f s\n", m}'; }

python3 - "$WORK" <<'PY'
import sys, zlib, struct
d = sys.argv[1]
def png(path, w, h):
    def chunk(t, b):
        c = struct.pack(">I", len(b)) + t + b
        return c + struct.pack(">I", zlib.crc32(t + b) & 0xffffffff)
    raw = zlib.compress((b"\0" + b"\0" * (w * 3)) * h, 9)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                           + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
png(d + "/big.png", 7071, 7071)
png(d + "/small.png", 64, 48)
PY
ls -l "$WORK"/big.png | awk '{print "big.png:", $5, "bytes"}'
poor="poor-$RANDOM$RANDOM@example.com"; rich="rich-$RANDOM$RANDOM@example.com"
tp=$(signup "$poor"); tr=$(signup "$rich")
bal=$("$BUILD/bin/iactl" user show "$poor" | sed -n 's/^credits: *//p')
"$BUILD/bin/iactl" credits revoke "$poor" "${bal:-100}" >/dev/null
"$BUILD/bin/iactl" credits grant "$rich" 1000 >/dev/null

refuse() { curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $tp" \
	-F "image=@$WORK/big.png" "$BASE/api/v1/process/greyscale/"; }
normal() { curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $tr" \
	-F "image=@$WORK/small.png" "$BASE/api/v1/process/greyscale/"; }

for _ in $(seq 20); do refuse; done >"$WORK/refuse.txt"
echo "0-credit 50 MP refusal: statuses $(cut -d' ' -f1 "$WORK/refuse.txt" | sort | uniq -c | tr '\n' ' ')median $(cut -d' ' -f2 "$WORK/refuse.txt" | median)"
for _ in $(seq 20); do normal; done >"$WORK/alone.txt"
echo "normal upload alone: median $(cut -d' ' -f2 "$WORK/alone.txt" | median)"
for _ in $(seq 8); do (while :; do refuse >/dev/null; done) & done
sleep 0.5
for _ in $(seq 20); do normal; done >"$WORK/busy.txt"
echo "normal upload beside 8 looping refusals: statuses $(cut -d' ' -f1 "$WORK/busy.txt" | sort | uniq -c | tr '\n' ' ')median $(cut -d' ' -f2 "$WORK/busy.txt" | median)"
