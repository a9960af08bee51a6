#!/usr/bin/env bash
# run.sh - build every libFuzzer target of tests/fuzz/ and run each for a
# while on a scratch copy of its seed corpus.
#   tests/fuzz/run.sh [SECONDS]        (default 10 per target)
#   tests/fuzz/run.sh SECONDS fuzz_jwt fuzz_exif   (only these targets)
# The build is a separate configure of this tree with CC=clang and
# -fsanitize=fuzzer,address,undefined in $IA_FUZZ_BUILD_DIR (default
# ./build-fuzz). Each target runs with -max_total_time=SECONDS, a 10 s
# per-input timeout and a 2 GB memory limit; a crash, timeout or
# out-of-memory input is kept under tests/artifacts/fuzz/ with the command
# that replays it. One line per target ("PASS: fuzz_x ..." or
# "FAIL: fuzz_x ..."), then exactly:
#   fuzz: N targets, M runs, K crashes
# M sums libFuzzer's executed units; the exit status is non-zero when K > 0
# or the build fails. Set IA_FUZZ_JOBS to build with more than 2 jobs.
set -uo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SECONDS_PER=${1:-10}
shift || true
BUILD=${IA_FUZZ_BUILD_DIR:-$SRC/build-fuzz}
ARTIFACTS=$SRC/tests/artifacts/fuzz
FLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"

fail_build() {
	echo "FAIL: fuzz build ($*)"
	echo "fuzz: 0 targets, 0 runs, 1 crashes"
	exit 1
}

command -v clang >/dev/null || fail_build "clang is not installed (apt-get install clang libclang-rt-14-dev)"
[ -x "$SRC/configure" ] || (cd "$SRC" && autoreconf -fi >/dev/null 2>&1) || fail_build "autoreconf failed"
mkdir -p "$BUILD"
if [ ! -f "$BUILD/Makefile" ]; then
	(cd "$BUILD" && "$SRC/configure" -q CC=clang CFLAGS="$FLAGS" \
		LDFLAGS="-fsanitize=address,undefined") >"$BUILD/configure.out" 2>&1 ||
		{ cat "$BUILD/configure.out"; fail_build "configure with clang failed"; }
fi
if ! make -C "$BUILD" -s -j"${IA_FUZZ_JOBS:-2}" fuzz >"$BUILD/make.out" 2>&1; then
	tail -40 "$BUILD/make.out"
	fail_build "make fuzz failed"
fi

if [ $# -gt 0 ]; then
	TARGETS=("$@")
else
	TARGETS=()
	for f in "$SRC"/tests/fuzz/fuzz_*.c; do
		t=$(basename "$f" .c)
		TARGETS+=("$t")
	done
fi

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/ia-fuzz-run.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
mkdir -p "$ARTIFACTS"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ntargets=0 total_runs=0 crashes=0
for t in "${TARGETS[@]}"; do
	bin=$BUILD/tests/fuzz/$t
	ntargets=$((ntargets + 1))
	if [ ! -x "$bin" ]; then
		echo "FAIL: $t (not built)"
		crashes=$((crashes + 1))
		continue
	fi
	corpus=$SCRATCH/corpus-$t
	mkdir -p "$corpus" "$SCRATCH/tmp-$t"
	[ -d "$SRC/tests/fuzz/corpus/$t" ] && cp -r "$SRC/tests/fuzz/corpus/$t/." "$corpus/"
	dict=()
	[ -f "$SRC/tests/fuzz/$t.dict" ] && dict=(-dict="$SRC/tests/fuzz/$t.dict")
	log=$SCRATCH/$t.log
	start=$(date +%s)
	TMPDIR=$SCRATCH/tmp-$t "$bin" -max_total_time="$SECONDS_PER" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$ARTIFACTS/$t-" "${dict[@]}" "$corpus" \
		>"$log" 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	if [ -z "$runs" ]; then # a crash ends the run before the final stats
		runs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
	fi
	runs=${runs:-0}
	total_runs=$((total_runs + runs))
	found=$(grep -o -E "Test unit written to [^ ]+" "$log" | sed 's/Test unit written to //')
	if [ $rc -ne 0 ] || [ -n "$found" ]; then
		crashes=$((crashes + 1))
		echo "FAIL: $t ($runs runs in ${took} s; exit $rc; input: ${found:-none})"
		grep -E -m1 -A30 'ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error:|==ERROR' "$log" | head -40
		[ -n "$found" ] && echo "  replay: $bin $found"
	else
		echo "PASS: $t ($runs runs in ${took} s, corpus $(ls "$corpus" | wc -l) inputs)"
	fi
done
echo "fuzz: $ntargets targets, $total_runs runs, $crashes crashes"
[ $crashes -eq 0 ]
