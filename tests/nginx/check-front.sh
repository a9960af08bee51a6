#!/usr/bin/env bash
# check-front.sh - run by tests/nginx/run.sh inside tests/with-stack
# (BASE_URL is the stack's app nginx): renders nginx/production.conf for
# loopback ports, a temporary certificate and this stack, starts it and
# checks it with curl.
set -uo pipefail
SRC=${IA_SRC:?}
T=$(mktemp -d /tmp/ia-front.XXXXXX)
chmod 0755 "$T"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HTTP=$(free_port) HTTPS=$(free_port)
APP=${BASE_URL#http://}
STATIC=$SRC/static/dist
[ -f "$STATIC/index.html" ] || STATIC=$SRC/static
passed=0 failed=0 NGINX_PID=
ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
cleanup() {
	[ -z "$NGINX_PID" ] || { kill -QUIT "$NGINX_PID" 2>/dev/null; sleep 0.3; kill -KILL "$NGINX_PID" 2>/dev/null; }
	rm -rf "$T"
}
trap cleanup EXIT

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
	-addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
	-keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null || { echo "openssl failed" >&2; exit 1; }
# The site as shipped, with this test's ports, paths and app host; the
# loopback "load balancer" (curl) is trusted for X-Forwarded-For.
sed -e "s#^\( *\)listen 80;#\1listen 127.0.0.1:$HTTP;#" \
	-e "s#^\( *\)listen 443 ssl http2;#\1listen 127.0.0.1:$HTTPS ssl http2;#" \
	-e '/listen \[::\]/d' \
	-e "s#server 127.0.0.1:8080 #server $APP #" \
	-e "s#/etc/ssl/certs/image-assistant.pem#$T/cert.pem#" \
	-e "s#/etc/ssl/private/image-assistant.key#$T/key.pem#" \
	-e "s#/var/log/nginx/#$T/#g" \
	-e "s#root /usr/share/image-assistant/static;#root $STATIC;#" \
	-e "s|# set_real_ip_from 192.0.2.0/24;|set_real_ip_from 127.0.0.1/32;|" \
	"$SRC/nginx/production.conf" >"$T/site.conf"
grep -q "127.0.0.1:$HTTPS ssl http2" "$T/site.conf" && grep -q "server $APP " "$T/site.conf" ||
	{ echo "rendering production.conf failed" >&2; exit 1; }
cat >"$T/nginx.conf" <<EOC
worker_processes 1;
daemon off;
pid $T/nginx.pid;
error_log $T/error.log warn;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    client_body_temp_path $T/client_body;
    proxy_temp_path $T/proxy;
    fastcgi_temp_path $T/fastcgi;
    uwsgi_temp_path $T/uwsgi;
    scgi_temp_path $T/scgi;
    include $T/site.conf;
}
EOC
nginx -t -q -p "$T" -c "$T/nginx.conf" -e "$T/error.log" || { cat "$T/error.log"; exit 1; }
nginx -p "$T" -c "$T/nginx.conf" -e "$T/error.log" &
NGINX_PID=$!
for _ in $(seq 1 50); do curl -sk -o /dev/null "https://127.0.0.1:$HTTPS/health/" && break; sleep 0.1; done
C=(curl -sS --cacert "$T/cert.pem" --resolve "localhost:$HTTPS:127.0.0.1")
L="https://localhost:$HTTPS"

# TLS with the certificate, HTTP/2.
v=$("${C[@]}" --http2 -o /dev/null -w '%{http_version} %{http_code}' "$L/health/")
[ "$v" = "2 200" ] && ok "HTTP/2 over TLS, certificate verified: GET /health/ -> $v" || bad "HTTP/2 /health/: $v"
body=$("${C[@]}" "$L/health/")
echo "$body" | grep -q '"db": *"ok"' && ok "/health/ through the front: $body" || bad "/health/ body: $body"

# Headers: HSTS everywhere, the security headers on the SPA and the API.
"${C[@]}" -D "$T/spa.h" -o "$T/spa.html" "$L/"
"${C[@]}" -D "$T/api.h" -o /dev/null "$L/api/v1/services/"
for h in strict-transport-security x-content-type-options x-frame-options referrer-policy content-security-policy; do
	grep -qi "^$h:" "$T/spa.h" && ok "SPA response has $h" || bad "SPA response lacks $h"
done
for h in strict-transport-security x-content-type-options x-frame-options referrer-policy; do
	grep -qi "^$h:" "$T/api.h" && ok "API response has $h" || bad "API response lacks $h"
done
grep -qi '^strict-transport-security: max-age=63072000; includeSubDomains' "$T/spa.h" &&
	ok "HSTS max-age two years" || bad "HSTS value"
grep -q '<div id="app"\|<!doctype html\|<!DOCTYPE html' "$T/spa.html" && ok "the SPA is served by the front" || bad "SPA body"

# API calls through the front: signup, login, an authenticated read.
email="front-$RANDOM$RANDOM@example.com"
code=$("${C[@]}" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
	-d "{\"email\": \"$email\", \"password\": \"front-password-1\"}" "$L/api/v1/users/signup/")
[ "$code" = 201 ] && ok "POST /api/v1/users/signup/ -> 201" || bad "signup -> $code"
tok=$("${C[@]}" -H 'Content-Type: application/json' -d "{\"email\": \"$email\", \"password\": \"front-password-1\"}" \
	"$L/api/v1/token/obtain/" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("access",""))' 2>/dev/null)
info=$("${C[@]}" -H "Authorization: Bearer $tok" "$L/api/v1/user/info/")
echo "$info" | grep -q "\"$email\"" && ok "GET /api/v1/user/info/ with the token obtained through the front" ||
	bad "user info: $info"

# http -> https.
r=$(curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$HTTP/gallery?x=1")
[ "$r" = "301 https://127.0.0.1/gallery?x=1" ] && ok "http redirects to https: $r" || bad "redirect: $r"

# The body limit: 11 MiB of envelope, answered by the front as JSON.
head -c $((12 * 1024 * 1024)) /dev/zero >"$T/big"
r=$("${C[@]}" -o "$T/big.out" -w '%{http_code}' -H "Authorization: Bearer $tok" -F "image=@$T/big;type=image/png" \
	"$L/api/v1/process/greyscale/")
[ "$r" = 413 ] && grep -q 'too large' "$T/big.out" && ok "a 12 MiB upload -> 413 JSON" || bad "body limit: $r $(cat "$T/big.out")"

# The client of a trusted load balancer's X-Forwarded-For is the one the
# programs throttle (RATE_LIMIT_PER_MINUTE=5 failed logins per client).
# The windows are fixed minutes, so 11 attempts: however a minute's end
# splits them, one window holds at least 6 (7 once came out 3 + 4).
login() { # client-address
	"${C[@]}" -o /dev/null -w '%{http_code}' -H "X-Forwarded-For: $1" -H 'Content-Type: application/json' \
		-d '{"email": "nobody@example.com", "password": "wrong-password-1"}' "$L/api/v1/token/obtain/"
}
codes=""
for _ in 1 2 3 4 5 6 7 8 9 10 11; do codes="$codes $(login 198.51.100.7)"; done
other=$(login 198.51.100.8)
case $codes in *429*) ok "one client is throttled through the front:$codes" ;; *) bad "no 429 for one client:$codes" ;; esac
[ "$other" != 429 ] && ok "another client behind the same balancer is not: $other" || bad "other client throttled: $other"

# real_ip: the front itself logs the balancer's client, not the balancer.
grep -q '^198\.51\.100\.7 .*token/obtain' "$T/image-assistant-access.log" &&
	ok "set_real_ip_from: the front's access log names the client 198.51.100.7" ||
	bad "real_ip: $(tail -2 "$T/image-assistant-access.log")"
grep -E '\[(emerg|alert|crit)\]' "$T/error.log" && bad "nginx errors logged"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
