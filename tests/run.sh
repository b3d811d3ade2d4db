#!/bin/sh
# The whole suite, as `make test` runs it (after building the sanitizer
# binaries): unit tests and HTTP tests on SQLite, the same again on a
# throwaway PostgreSQL, then the browser test.  Ends with one line
# "N passed, M failed" counting every suite.
#   tests/run.sh          everything
#   tests/run.sh unit     unit tests on SQLite only
set -u
cd "$(dirname "$0")/.."

ONLY="${1:-all}"
LOGDIR=build/test-logs
mkdir -p "$LOGDIR"
passed=0
failed=0
failures=""

RUNTMP=$(mktemp -d /tmp/yizhan-run-XXXXXX)
export TMPDIR="$RUNTMP"
trap 'rm -rf "$RUNTMP"' EXIT
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export G_SLICE=always-malloc
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0"

record() { # name status
	if [ "$2" -eq 0 ]; then
		passed=$((passed + 1))
		echo "PASS $1"
	else
		failed=$((failed + 1))
		failures="$failures $1"
		echo "FAIL $1 (log: $LOGDIR/$(echo "$1" | tr ' /:' '___').log)"
	fi
}

run_logged() { # name command...
	name="$1"
	shift
	log="$LOGDIR/$(echo "$name" | tr ' /:' '___').log"
	"$@" >"$log" 2>&1
	st=$?
	# Show the summary lines each runner prints.
	grep -E '^\[  (PASSED|FAILED)  \]|^[0-9]+ passed, [0-9]+ failed|^# (pass|fail) ' "$log" | sed 's/^/    /'
	[ $st -ne 0 ] && tail -30 "$log" | sed 's/^/    | /'
	record "$name" $st
}

unit_suite() { # label
	for t in build/asan/tests/test_*; do
		[ -x "$t" ] || continue
		run_logged "unit $1 $(basename "$t")" "$t"
	done
}

run_logged "checksrc" scripts/checksrc.sh
unit_suite sqlite
[ "$ONLY" = unit ] && { echo "$passed passed, $failed failed"; [ $failed -eq 0 ]; exit; }

run_logged "http sqlite" python3 tests/http/run.py --binary build/asan/yizhan

PGDIR=$(mktemp -d /tmp/yizhan-pg-XXXXXX)
if URI=$(tests/pg.sh start "$PGDIR"); then
	export YIZHAN_TEST_STORE="$URI"
	unit_suite postgresql
	unset YIZHAN_TEST_STORE
	run_logged "http postgresql" python3 tests/http/run.py --binary build/asan/yizhan --store-base "$URI"
	tests/pg.sh stop "$PGDIR" >/dev/null 2>&1
else
	record "postgresql start" 1
fi
rm -rf "$PGDIR"

run_logged "browser" tests/browser/run.sh build/asan/yizhan

echo
[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
