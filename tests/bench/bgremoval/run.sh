#!/bin/sh
# Ground-truth benchmark for remove-background (issue 12): generate the set, score ours and GrabCut.
#   tests/bench/bgremoval/run.sh [BUILD_DIR] [SET_DIR]      (defaults: build, /tmp/ia-bgset)
#   SEED=13 tests/bench/bgremoval/run.sh build /tmp/ia-bgset13   another set never tuned on
# Needs the Debian packages below (installed when run as root, as ./stack does; see README.md).
set -e
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
set_dir=${2:-/tmp/ia-bgset}
seed=${SEED:-12}
packages="time python3-numpy python3-opencv python3-skimage python3-pil adwaita-icon-theme gnome-backgrounds fonts-dejavu-core"
missing=$(for p in $packages; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || echo "$p"; done)
if [ -n "$missing" ]; then
	[ "$(id -u)" = 0 ] || { echo "missing packages: $missing (apt-get install them)" >&2; exit 2; }
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >/dev/null
fi
[ -x "$build/bin/ia-batch" ] || { echo "no $build/bin/ia-batch: build first (./stack build)" >&2; exit 2; }
/usr/bin/python3 "$here/make_set.py" --out "$set_dir" --seed "$seed"
/usr/bin/python3 "$here/score.py" --set "$set_dir" --build "$build" --json "$set_dir/results.json"
