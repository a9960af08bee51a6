#!/bin/sh
# bench_images.sh - image operations of `ia-batch --run` against libvips
# (vips / vipsthumbnail) and Pillow doing the same work, in the same run:
# wall time per process with hyperfine (process start included) and peak
# RSS with /usr/bin/time -f %M. Run by hand from a build directory:
#
#   cd /tmp/build && /path/to/src/tests/bench/bench_images.sh
#
# Environment: IA_BATCH (default ./bin/ia-batch), BENCH_DIR (scratch,
# default /tmp/ia-bench-images), RUNS (hyperfine runs, default 10),
# PNG_LEVEL (zlib level given to vips and Pillow; 2 matches ia-batch,
# IMGIO_PNG_LEVEL in lib/imgio.c).
# Needs: hyperfine, /usr/bin/time (Debian "time"), libvips-tools,
# python3-pil. Inputs are made by make_bench_images.py (reproducible).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
batch=${IA_BATCH:-$(pwd)/bin/ia-batch}
work=${BENCH_DIR:-/tmp/ia-bench-images}
runs=${RUNS:-10}
level=${PNG_LEVEL:-2}
py=/usr/bin/python3

for tool in hyperfine vips vipsthumbnail /usr/bin/time; do
	command -v "$tool" >/dev/null 2>&1 || { echo "missing $tool" >&2; exit 2; }
done
[ -x "$batch" ] || { echo "no ia-batch at $batch (set IA_BATCH)" >&2; exit 2; }
batch=$(cd "$(dirname "$batch")" && pwd)/$(basename "$batch")

mkdir -p "$work"
cd "$work"
[ -f photo.jpg ] && [ -f rgba.png ] || "$py" "$here/make_bench_images.py" .
rm -f results-*.json rss.txt sizes.txt

# op name, then the three commands: ia-batch, libvips, Pillow.
ops() {
	echo "thumbnail|$batch --run thumbnail photo.jpg out-ia.png|vipsthumbnail photo.jpg -s 1280x720 -o $work/out-vips.png[compression=$level]|$py $here/pil_ops.py thumbnail photo.jpg out-pil.png $level"
	echo "greyscale|$batch --run greyscale photo.jpg out-ia.png|vips colourspace photo.jpg out-vips.png[compression=$level] b-w|$py $here/pil_ops.py greyscale photo.jpg out-pil.png $level"
	echo "resize|$batch --run resize rgba.png out-ia.png width=800 height=600|vips resize rgba.png out-vips.png[compression=$level] 0.41666667 --vscale 0.55555556|$py $here/pil_ops.py resize rgba.png out-pil.png $level"
	echo "outline|$batch --run outline photo.jpg out-ia.png||"
}

# Peak RSS in KiB: the largest of three runs.
peak_rss() {
	max=0
	for i in 1 2 3; do
		kb=$(/usr/bin/time -f %M sh -c "exec $1 >/dev/null" 2>&1 | tail -n 1)
		[ "$kb" -gt "$max" ] && max=$kb
	done
	echo "$max"
}

ops | while IFS='|' read -r op ia vp pil; do
	set -- -n ia-batch "$ia"
	if [ -n "$vp" ]; then set -- "$@" -n libvips "$vp"; fi
	if [ -n "$pil" ]; then set -- "$@" -n Pillow "$pil"; fi
	hyperfine -N --warmup 2 --runs "$runs" --export-json "results-$op.json" \
		--style none "$@" >/dev/null 2>&1
	echo "$op ia-batch $(peak_rss "$ia")" >>rss.txt
	if [ -n "$vp" ]; then echo "$op libvips $(peak_rss "$vp")" >>rss.txt; fi
	if [ -n "$pil" ]; then echo "$op Pillow $(peak_rss "$pil")" >>rss.txt; fi
	for f in out-ia.png out-vips.png out-pil.png; do
		if [ -f "$f" ]; then
			echo "$op $f $(stat -c %s "$f")" >>sizes.txt
			rm -f "$f"
		fi
	done
done

"$py" - "$work" <<'EOF'
import json, os, sys
work = sys.argv[1]
rss = {}
for line in open(os.path.join(work, "rss.txt")):
    op, tool, kb = line.split()
    rss[(op, tool)] = int(kb)
print("| operation | tool | wall ms (mean +- sd) | CPU ms (user+sys) | wall vs ia-batch | peak RSS MiB |")
print("|---|---|---:|---:|---:|---:|")
for op in ("thumbnail", "greyscale", "resize", "outline"):
    path = os.path.join(work, "results-%s.json" % op)
    if not os.path.exists(path):
        continue
    res = json.load(open(path))["results"]
    base = res[0]["mean"]
    for r in res:
        tool = r["command"]
        print("| %s | %s | %.0f +- %.0f | %.0f | %.2fx | %.1f |" % (
            op, tool, r["mean"] * 1000, r["stddev"] * 1000,
            (r["user"] + r["system"]) * 1000, r["mean"] / base,
            rss.get((op, tool), 0) / 1024.0))
print()
print("Output bytes:")
for line in open(os.path.join(work, "sizes.txt")):
    print("  " + line.rstrip())
EOF
