#!/bin/sh
# Ground-truth benchmark for remove-background (issue 12): generate the set, score ours and GrabCut.
#   tests/bench/bgremoval/run.sh [BUILD_DIR] [SET_DIR]      (defaults: build, /tmp/ia-bgset)
# Needs: python3-numpy python3-opencv python3-skimage python3-pil adwaita-icon-theme
#        gnome-backgrounds fonts-dejavu-core (see README.md).
set -e
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
set_dir=${2:-/tmp/ia-bgset}
[ -x "$build/bin/ia-batch" ] || { echo "no $build/bin/ia-batch: build first (./stack build)" >&2; exit 2; }
/usr/bin/python3 "$here/make_set.py" --out "$set_dir"
/usr/bin/python3 "$here/score.py" --set "$set_dir" --build "$build" --json "$set_dir/results.json"
