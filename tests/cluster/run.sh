#!/usr/bin/env bash
# run.sh - the cluster tests: a cluster (./stack cluster, bin/stack-cluster:
# PostgreSQL, two app hosts, two batch hosts, a front nginx) in a private
# state dir on free ports, with the fakes of tests/with-stack (IA_CLUSTER=1),
#   1. the whole API suite (tests/api) through the front, then the failover
#      tests (tests/cluster/test_*.py), which stop and kill hosts, last, as
#      one unittest run (tests/cluster/suite.py);
#   2. the browser tests (tests/browser/run.sh) through the front of a
#      second cluster (they need other settings: no rate limit, no Google).
#   tests/cluster/run.sh [BUILD_DIR]
# IA_CLUSTER_PARTS="api browser" (the default) chooses the parts;
# IA_API_TEST_ARGS='-k name' selects API tests (failover tests included).
# Prints unittest's "Ran N tests" lines and the browser suite's "N passed,
# M failed" line (tests/count-results.py reads them).
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-${IA_BUILD_DIR:-$SRC/build}}
PARTS=${IA_CLUSTER_PARTS:-api browser}
export IA_CLUSTER=1
unset IA_DB # a cluster always runs on PostgreSQL
status=0
for part in $PARTS; do
	case $part in
	api)
		# shellcheck disable=SC2086
		"$SRC/tests/with-stack" "$BUILD" /usr/bin/python3 "$SRC/tests/cluster/suite.py" \
			${IA_API_TEST_ARGS:-} || status=1
		;;
	browser)
		"$SRC/tests/browser/run.sh" "$BUILD" || status=1
		;;
	*) echo "IA_CLUSTER_PARTS: api or browser, not $part" >&2; exit 2 ;;
	esac
done
exit $status
