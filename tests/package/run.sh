#!/usr/bin/env bash
# tests/package/run.sh - build the Debian package from this tree and
# install it on a fresh Debian 12 root, as an operator would:
#   1. copies the tree (tracked and new files, with static/dist, which it
#      builds when missing) to a scratch directory and runs
#      dpkg-buildpackage -us -uc -b there (DEB_BUILD_OPTIONS=nocheck unless
#      IA_PACKAGE_CHECK=1: make check covers the unit tests),
#   2. lintian on the .deb (errors fail; warnings are printed),
#   3. mmdebstrap a minimal bookworm root from the machine's apt sources
#      (cached in IA_PACKAGE_ROOT_CACHE, default /var/tmp/ia-bookworm.tar),
#      apt install ./image-assistant_*.deb inside it (dependencies from the
#      archive), then checks the layout (user, directories, modes, key),
#      runs systemd-analyze verify on the installed units (there, so that
#      their programs, user and paths exist), iactl db migrate and
#      ia-batch --check, and starts what
#      image-assistant.target would start - the five FastCGI programs on
#      their sockets (bin/ia-supervise does systemd's part), the app nginx
#      with /etc/image-assistant/nginx.conf, ia-batch --watch - as the
#      service user in a private network namespace, then GET /health/ and
#      GET /api/v1/services/ through that nginx,
#   4. boots that root with systemd-nspawn (private network): the package's
#      own units start (socket activation, hardening, the app nginx as the
#      service user) and /health/ answers through them; then purges,
#   5. make distcheck from a copy of the tree (IA_DISTCHECK=0 skips it).
# Needs root, dpkg-dev, debhelper, lintian, mmdebstrap, systemd-container
# (./stack packages).
# Ends with "N passed, M failed". Takes about 8 minutes on 2 cores (4 more
# the first time, for mmdebstrap).
#   tests/package/run.sh [OUT_DIR]      (the .deb is left in OUT_DIR)
set -uo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${1:-$(mktemp -d /tmp/ia-package.XXXXXX)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d /tmp/ia-pkgbuild.XXXXXX)
ROOT=$WORK/root
CACHE=${IA_PACKAGE_ROOT_CACHE:-/var/tmp/ia-bookworm.tar}
passed=0 failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() { # description command...
	local what=$1; shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
cleanup() {
	for m in proc sys dev/pts dev; do umount -l "$ROOT/$m" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] || { echo "tests/package/run.sh: run as root" >&2; exit 2; }

# 1. Build from a copy of the tree.
echo "== dpkg-buildpackage"
if [ ! -f "$SRC/static/dist/index.html" ]; then
	(cd "$SRC/static" && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } &&
		npm run --silent build) >/dev/null || { echo "the SPA did not build" >&2; exit 1; }
fi
mkdir -p "$WORK/src/image-assistant"
(cd "$SRC" && git ls-files -z -c -o --exclude-standard | grep -z -v '^static/node_modules/' |
	xargs -0 cp --parents -t "$WORK/src/image-assistant/" 2>/dev/null)
cp -R "$SRC/static/dist" "$WORK/src/image-assistant/static/"
opts=nocheck
[ "${IA_PACKAGE_CHECK:-0}" = 1 ] && opts=
if (cd "$WORK/src/image-assistant" && DEB_BUILD_OPTIONS="$opts parallel=2" dpkg-buildpackage -us -uc -b) \
	>"$OUT/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b"
else
	tail -40 "$OUT/build.log"
	bad "dpkg-buildpackage -us -uc -b (log: $OUT/build.log)"
	echo "$passed passed, $failed failed"
	exit 1
fi
mv "$WORK"/src/image-assistant_*.deb "$WORK"/src/image-assistant_*.changes "$WORK"/src/image-assistant_*.buildinfo "$OUT/" 2>/dev/null
DEB=$(ls "$OUT"/image-assistant_*_amd64.deb | head -1)
echo "package: $DEB"
check "package name image-assistant_<version>_amd64.deb" test -f "$DEB"

# 2. lintian: no errors.
echo "== lintian"
lintian --tag-display-limit 0 "$DEB" >"$OUT/lintian.txt" 2>&1
cat "$OUT/lintian.txt"
check "lintian reports no errors" sh -c "! grep -q '^E:' '$OUT/lintian.txt'"

# 4. A fresh Debian root.
echo "== install on a fresh bookworm root"
if [ ! -s "$CACHE" ]; then
	mmdebstrap --variant=minbase --include=ca-certificates,curl,systemd,iproute2 bookworm "$CACHE" >"$OUT/mmdebstrap.log" 2>&1 ||
		{ tail -20 "$OUT/mmdebstrap.log"; bad "mmdebstrap bookworm"; echo "$passed passed, $failed failed"; exit 1; }
fi
mkdir -p "$ROOT"
tar -C "$ROOT" -xf "$CACHE"
# Nothing the package pulls in may start a daemon on this machine's network
# (nginx's postinst would take port 80): invoke-rc.d asks policy-rc.d.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
mount -t proc proc "$ROOT/proc"; mount --rbind /sys "$ROOT/sys"; mount --rbind /dev "$ROOT/dev"
cp "$DEB" "$ROOT/tmp/"
in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
if in_root sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/$(basename "$DEB")" \
	>"$OUT/install.log" 2>&1; then
	ok "apt install ./$(basename "$DEB") with its dependencies"
else
	tail -30 "$OUT/install.log"
	bad "apt install"
	echo "$passed passed, $failed failed"
	exit 1
fi
check "system user image-assistant" in_root id image-assistant
check "/usr/bin/iactl on the PATH" in_root sh -c 'command -v iactl | grep -qx /usr/bin/iactl'
for p in ia-accounts ia-health ia-images ia-media ia-payments ia-batch ia-supervise iactl; do
	check "/usr/lib/image-assistant/$p" in_root test -x /usr/lib/image-assistant/$p
done
check "migrations in /usr/share/image-assistant/sql" in_root sh -c 'ls /usr/share/image-assistant/sql/sqlite/001_*.sql /usr/share/image-assistant/sql/postgres/001_*.sql >/dev/null'
check "the SPA in /usr/share/image-assistant/static" in_root test -f /usr/share/image-assistant/static/index.html
check "state dir 0700 image-assistant" in_root sh -c '[ "$(stat -c %U:%a /var/lib/image-assistant)" = image-assistant:700 ]'
check "settings 0640 root:image-assistant" in_root sh -c '[ "$(stat -c %U:%G:%a /etc/image-assistant/image-assistant.conf)" = root:image-assistant:640 ]'
check "generated SECRET_KEY, 0600 root" in_root sh -c '[ "$(stat -c %U:%a /etc/image-assistant/secret.env)" = root:600 ] && grep -Eq "^SECRET_KEY=.{40,}" /etc/image-assistant/secret.env'
check "the database, created by postinst, is the service user's" in_root sh -c '[ "$(stat -c %U /var/lib/image-assistant/ia.sqlite3)" = image-assistant ]'
units="image-assistant.target image-assistant-batch.service image-assistant-batch-once.service
	image-assistant-batch-once.timer image-assistant-migrate.service image-assistant-nginx.service"
for p in accounts health images media payments; do units="$units image-assistant@$p.socket image-assistant@$p.service"; done
if in_root systemd-analyze verify --man=no $units >"$OUT/verify.txt" 2>&1 && ! grep -q . "$OUT/verify.txt"; then
	ok "systemd-analyze verify accepts the units (no output)"
else
	cat "$OUT/verify.txt"
	bad "systemd-analyze verify"
fi
check "iactl db migrate (as root: runs as image-assistant)" in_root sh -c 'iactl db migrate | grep -q "is up to date"'
check "iactl service list" in_root sh -c 'iactl service list | grep -q greyscale'
check "ia-batch --check (settings, database, storage)" in_root sh -c \
	'set -a; . /etc/image-assistant/secret.env; set +a; IA_CONFIG=/etc/image-assistant/image-assistant.conf runuser -u image-assistant -- /usr/lib/image-assistant/ia-batch --check'
check "nginx -t on /etc/image-assistant/nginx.conf" in_root sh -c \
	'mkdir -p /run/image-assistant-nginx && chown image-assistant: /run/image-assistant-nginx && runuser -u image-assistant -- nginx -q -t -c /etc/image-assistant/nginx.conf -e /var/log/image-assistant/nginx-error.log'

# What image-assistant.target starts, by hand (no systemd in a chroot), in
# a network namespace of its own: port 8080 of this machine stays free.
cat >"$ROOT/tmp/serve.sh" <<'EOS'
set -e
set -a; . /etc/image-assistant/secret.env; set +a
export IA_CONFIG=/etc/image-assistant/image-assistant.conf
L=/usr/lib/image-assistant U=image-assistant
mkdir -p /run/image-assistant /run/image-assistant-nginx
chown image-assistant: /run/image-assistant-nginx
args=""
for p in accounts health images media payments; do
	args="$args $p $U /var/log/image-assistant/$p.log /run/image-assistant/$p.sock $L/ia-$p"
done
$L/ia-supervise -p /run/image-assistant/supervise.pid -r /run/image-assistant $args \
	batch $U /var/log/image-assistant/batch.log - "$L/ia-batch --watch" \
	nginx $U /var/log/image-assistant/nginx.log - "nginx -c /etc/image-assistant/nginx.conf -e /var/log/image-assistant/nginx-error.log" \
	</dev/null >/dev/null 2>/var/log/image-assistant/supervise.log &
for i in $(seq 1 100); do
	curl -fsS -o /dev/null http://127.0.0.1:8080/health/ 2>/dev/null && break
	sleep 0.1
done
echo "health: $(curl -sS http://127.0.0.1:8080/health/)"
echo "services: $(curl -sS -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/api/v1/services/)"
echo "spa: $(curl -sS -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/)"
kill -TERM "$(cat /run/image-assistant/supervise.pid)"
for i in $(seq 1 60); do kill -0 "$(cat /run/image-assistant/supervise.pid 2>/dev/null)" 2>/dev/null || break; sleep 0.1; done
EOS
unshare --net sh -c 'ip link set lo up && exec chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 sh /tmp/serve.sh' \
	sh "$ROOT" >"$OUT/serve.txt" 2>&1
cat "$OUT/serve.txt"
check "GET /health/ through the app nginx: db and storage ok" grep -q '^health: .*"db": *"ok".*"storage": *"ok"' "$OUT/serve.txt"
check "GET /api/v1/services/ through the app nginx: 200" grep -qx 'services: 200' "$OUT/serve.txt"
check "GET / (the SPA): 200" grep -qx 'spa: 200' "$OUT/serve.txt"

# The units themselves: boot the root with systemd-nspawn (its own network
# namespace, loopback only), as an operator's machine boots after the
# install; a one-shot unit of the test records what image-assistant.target
# started and powers the container off.
for m in proc sys dev; do umount -l "$ROOT/$m" 2>/dev/null; done
rm -f "$ROOT/usr/sbin/policy-rc.d"
cat >"$ROOT/etc/systemd/system/ia-boot-check.service" <<'EOU'
[Unit]
Description=tests/package/run.sh: what image-assistant.target started
After=image-assistant.target
Wants=image-assistant.target
[Service]
Type=oneshot
ExecStart=/bin/sh /root/boot-check.sh
[Install]
WantedBy=multi-user.target
EOU
cat >"$ROOT/root/boot-check.sh" <<'EOS'
for i in $(seq 1 150); do curl -fsS -o /dev/null http://127.0.0.1:8080/health/ && break; sleep 0.2; done
{
	echo "health: $(curl -sS http://127.0.0.1:8080/health/)"
	echo "services: $(curl -sS -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/api/v1/services/)"
	for u in image-assistant@accounts image-assistant@health image-assistant@images image-assistant@media \
		image-assistant@payments image-assistant-batch image-assistant-nginx image-assistant-migrate; do
		echo "unit: $u $(systemctl is-active $u.service)"
	done
	echo "sockets: $(stat -c '%U:%a' /run/image-assistant/*.sock | sort -u | tr '\n' ' ')"
	echo "failed: $(systemctl list-units --state=failed --no-legend 'image-assistant*' | wc -l)"
	journalctl -b --no-pager -u 'image-assistant*' | tail -30
} >/root/boot-check.txt 2>&1
systemctl poweroff
EOS
ln -sf /etc/systemd/system/ia-boot-check.service "$ROOT/etc/systemd/system/multi-user.target.wants/ia-boot-check.service"
rm -f "$ROOT/root/boot-check.txt"
timeout 240 systemd-nspawn -q --register=no --keep-unit --private-network -D "$ROOT" --boot >"$OUT/boot.log" 2>&1
cat "$ROOT/root/boot-check.txt" 2>/dev/null || tail -30 "$OUT/boot.log"
check "booted (systemd-nspawn): /health/ through the units, db and storage ok" \
	grep -q '^health: .*"db": *"ok".*"storage": *"ok"' "$ROOT/root/boot-check.txt"
check "booted: GET /api/v1/services/ -> 200" grep -qx 'services: 200' "$ROOT/root/boot-check.txt"
check "booted: every unit of image-assistant.target active, none failed" sh -c \
	"[ \$(grep -c '^unit: .* active\$' '$ROOT/root/boot-check.txt') = 8 ] && grep -qx 'failed: 0' '$ROOT/root/boot-check.txt'"
check "booted: the sockets are image-assistant's, 0600" grep -qx 'sockets: image-assistant:600 ' "$ROOT/root/boot-check.txt"
rm -f "$ROOT/etc/systemd/system/multi-user.target.wants/ia-boot-check.service"
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
mount -t proc proc "$ROOT/proc"; mount --rbind /sys "$ROOT/sys"; mount --rbind /dev "$ROOT/dev"
check "purge keeps the data, removes the key" in_root sh -c \
	'DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq image-assistant >/dev/null 2>&1 && test ! -e /etc/image-assistant/secret.env && test -f /var/lib/image-assistant/ia.sqlite3'

# 5. make distcheck from another copy of the tree: the tarball holds
#    everything make check and ./stack need, the tree builds out of its
#    source directory, and make install / uninstall honour --prefix and
#    DESTDIR. IA_DISTCHECK_TESTS picks the tests make check runs there
#    (default all: the unit tests and the API tests against a private stack
#    started from the unpacked tarball); IA_DISTCHECK=0 skips the step.
if [ "${IA_DISTCHECK:-1}" != 0 ]; then
	echo "== make distcheck"
	mkdir -p "$WORK/dist/image-assistant" "$WORK/dist/build"
	(cd "$SRC" && git ls-files -z -c -o --exclude-standard | grep -z -v '^static/node_modules/' |
		xargs -0 cp --parents -t "$WORK/dist/image-assistant/" 2>/dev/null)
	cp -R "$SRC/static/dist" "$WORK/dist/image-assistant/static/"
	tests=()
	[ -z "${IA_DISTCHECK_TESTS:-}" ] || tests=("TESTS=$IA_DISTCHECK_TESTS")
	if (cd "$WORK/dist/image-assistant" && autoreconf -fi && cd ../build &&
		../image-assistant/configure -q && make -j2 distcheck "${tests[@]}") >"$OUT/distcheck.log" 2>&1; then
		ok "make distcheck: $(grep -o 'image-assistant-[0-9.]* archives ready for distribution' "$OUT/distcheck.log")"
	else
		tail -40 "$OUT/distcheck.log"
		bad "make distcheck (log: $OUT/distcheck.log)"
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
