#!/bin/sh
# yizhan benchmark, as `make bench` runs it after building build/rel/yizhan.
# Starts the release server with a fresh demo data folder on a free loopback
# port, signs in as the demo staff member zhang.amr, and drives three
# endpoints with wrk:
#   (a) static   a file from web/ held in memory       (the baseline)
#   (b) api      GET /api/v1/depts/4: JSON of a department read from the store
#   (c) desk     GET /desk as the signed-in staff member (session, SQL, template)
# Prints requests/s and p99 latency of each, the ratios (b)/(a) and (c)/(a),
# and whether the targets of the issue are met.  A benchmark prints figures:
# it exits 0 whatever they are, and non-zero only when something could not
# run (no wrk, server did not start, sign-in failed, wrong answers, errors in
# the server's log).  See bench/README.md.
#
# Environment: YIZHAN_BIN (default build/rel/yizhan), BENCH_THREADS (2),
# BENCH_CONNECTIONS (64), BENCH_DURATION (10s), BENCH_WARMUP (2s),
# BENCH_STATIC (a file under web/ for the baseline; default site.css),
# BENCH_ACCESS_LOG (default: a file in the temporary folder; "none" for off).
set -u
cd "$(dirname "$0")/.." || exit 2
. ./bench/lib.sh

TAG=bench
BIN="${YIZHAN_BIN:-build/rel/yizhan}"
THREADS="${BENCH_THREADS:-2}"
CONNS="${BENCH_CONNECTIONS:-64}"
DURATION="${BENCH_DURATION:-10s}"
WARMUP="${BENCH_WARMUP:-2s}"
TARGET_RATIO=0.6
TARGET_P99_MS=5
STOP_WAIT=10
START_WAIT=200

[ -x "$BIN" ] || die "$BIN not found; run make build/rel/yizhan"
need_tools wrk curl python3

TMP="$(mktemp -d /tmp/yizhan-bench-XXXXXX)"
DATA="$TMP/data"
LOG="$TMP/server.log"
ACCESS="${BENCH_ACCESS_LOG:-$TMP/access.log}"
[ "$ACCESS" = none ] && ACCESS=""
SERVER_ACCESS_LOG="$ACCESS"
PID=""
cleanup_on_exit

# ---------- start the server ----------

server_prepare() { # each attempt starts from a fresh demo and log
	rm -rf "$DATA"
	: >"$LOG"
}
start_server || exit 1

# ---------- sign in as staff: password, then the TOTP code ----------

sign_in_totp zhang.amr "$TMP/cookies"

# ---------- the three targets, each checked before it is measured ----------

STATIC=""
for f in ${BENCH_STATIC:-} site.css $(cd web 2>/dev/null && find . -name '*.css' | sed 's|^\./||' | sort) \
	$(cd web 2>/dev/null && find . -type f | sed 's|^\./||' | sort); do
	if [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/static/$f")" = 200 ]; then
		STATIC="/static/$f"
		break
	fi
done
[ -n "$STATIC" ] || die "yizhan serves no file under /static/ (web/ is empty?)"
STATIC_BYTES="$(curl -s "$BASE$STATIC" | wc -c)"

check() { # label url expected-text [cookie]
	if [ -n "${4:-}" ]; then
		body="$(curl -s -w '\n%{http_code}' -H "Cookie: $4" "$2")"
	else
		body="$(curl -s -w '\n%{http_code}' "$2")"
	fi
	code="$(printf '%s' "$body" | tail -1)"
	[ "$code" = 200 ] || die "$1: GET $2 answered $code"
	printf '%s' "$body" | grep -q "$3" || die "$1: GET $2 does not contain $3"
	printf '%s' "$body" | sed '$d' | wc -c
}
API_BYTES="$(check api "$BASE/api/v1/depts/4" '市场监督管理局')" || exit 1
DESK_BYTES="$(check desk "$BASE/desk" '张晓红' "yz_sid=$SID")" || exit 1

# ---------- measure ----------

run() { # name url [header]
	name="$1"
	out="$TMP/wrk-$name.txt"
	if [ -n "${3:-}" ]; then
		wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -H "$3" "$2" >/dev/null 2>&1
		wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "$3" "$2" >"$out" 2>&1
	else
		wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" "$2" >/dev/null 2>&1
		wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$2" >"$out" 2>&1
	fi
	wrk_figures "$out" || die "$name: could not read wrk's output"
	eval "RPS_$name=\$RPS P99_$name=\$P99 BAD_$name=\$BAD SOCK_$name=\$SOCK"
}

echo "bench: yizhan $("$BIN" version | awk '{ print $2 }') on $BASE, $(nproc) CPUs, $(wrk --version 2>&1 | head -1 | awk '{ print $1, $2 }')"
# How busy the machine is with other work (the server idles now): CPU use over 1 s.
cpu_busy() {
	a="$(head -1 /proc/stat)"
	sleep 1
	b="$(head -1 /proc/stat)"
	printf '%s\n%s\n' "$a" "$b" | awk '{ idle[NR] = $5 + $6; tot[NR] = 0; for (i = 2; i <= NF; i++) tot[NR] += $i }
		END { d = tot[2] - tot[1]; printf "%.0f", (d > 0 ? 100 * (1 - (idle[2] - idle[1]) / d) : 0) }'
}
BUSY="$(cpu_busy 2>/dev/null || echo '?')"
echo "bench: CPU already in use by other work before the runs: $BUSY% (anything else running skews the figures)"
echo "bench: wrk -t$THREADS -c$CONNS -d$DURATION --latency (after a $WARMUP warm-up) against each; server and wrk share the machine"
run static "$BASE$STATIC"
run api "$BASE/api/v1/depts/4"
run desk "$BASE/desk" "Cookie: yz_sid=$SID"

# The session must still be signed in after the run (else (c) measured a redirect).
DESK_AFTER="$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: yz_sid=$SID" "$BASE/desk")"

stop_server
mkdir -p build/bench && cp "$TMP"/wrk-*.txt build/bench/ 2>/dev/null

# ---------- report ----------

echo
printf '%-8s %-28s %9s %12s %9s\n' name target bytes "req/s" "p99 ms"
printf '%-8s %-28s %9s %12s %9s\n' -------- ---------------------------- --------- ------------ ---------
printf '%-8s %-28s %9s %12.0f %9.2f\n' "(a)" "GET $STATIC" "$STATIC_BYTES" "$RPS_static" "$P99_static"
printf '%-8s %-28s %9s %12.0f %9.2f\n' "(b)" "GET /api/v1/depts/4" "$API_BYTES" "$RPS_api" "$P99_api"
printf '%-8s %-28s %9s %12.0f %9.2f\n' "(c)" "GET /desk (staff session)" "$DESK_BYTES" "$RPS_desk" "$P99_desk"
echo

awk -v a="$RPS_static" -v b="$RPS_api" -v c="$RPS_desk" -v t="$TARGET_RATIO" \
	-v pa="$P99_static" -v pb="$P99_api" -v pc="$P99_desk" -v tp="$TARGET_P99_MS" -v conns="$CONNS" -v busy="$BUSY" '
function verdict(ok) { return ok ? "met" : "NOT MET" }
BEGIN {
	printf "ratio (b)/(a) = %.2f\n", b / a
	printf "ratio (c)/(a) = %.2f\n", c / a
	print ""
	printf "targets (issue: 2-core machine, 64 connections):\n"
	printf "  (b)/(a) >= %.1f              %-8s (%.2f)\n", t, verdict(b / a >= t), b / a
	printf "  p99 < %d ms, (a) static      %-8s (%.2f ms)\n", tp, verdict(pa < tp), pa
	printf "  p99 < %d ms, (b) api         %-8s (%.2f ms)\n", tp, verdict(pb < tp), pb
	printf "  p99 < %d ms, (c) desk        %-8s (%.2f ms)\n", tp, verdict(pc < tp), pc
	if (busy != "?" && busy + 0 > 10)
		printf "  (other work used %s%% of the CPUs before the runs: rerun on an idle machine before trusting these)\n", busy
	if (conns != 64)
		printf "  (measured at %d connections, not 64: the targets do not strictly apply)\n", conns
}'

status=0
for n in static api desk; do
	eval "bad=\$BAD_$n sock=\$SOCK_$n"
	if [ "$bad" != 0 ]; then
		echo "bench: $n: $bad answers were not 2xx/3xx: the figures are not valid" >&2
		status=1
	fi
	[ -n "$sock" ] && echo "bench: $n: wrk socket errors: $sock"
done
if [ "$DESK_AFTER" != 200 ]; then
	echo "bench: desk: the session no longer opens /desk after the run (answered $DESK_AFTER)" >&2
	status=1
fi
if [ -n "$ACCESS" ] && [ -f "$ACCESS" ]; then
	# The server's own time per request (access log "us": first call to
	# completion): when wrk's p99 is far above it, the wait is in queues and
	# scheduling, not in the handler.
	echo
	echo "access log: answers by path and status, and the server's own time per request"
	printf '  %-24s %6s %9s %9s %9s %9s %9s\n' path status count "p50 us" "p99 us" "p99.9 us" "max us"
	awk '{
		p = $0; sub(/.*"path":"/, "", p); sub(/".*/, "", p)
		s = $0; sub(/.*"status":/, "", s); sub(/,.*/, "", s)
		u = $0; sub(/.*"us":/, "", u); sub(/,.*/, "", u)
		print p, s, u }' "$ACCESS" | sort -k1,1 -k2,2n -k3,3n |
		awk 'function flush() { if (n) printf "  %-24s %6s %9d %9d %9d %9d %9d\n", key1, key2, n,
				v[int((n - 1) * 0.5) + 1], v[int((n - 1) * 0.99) + 1], v[int((n - 1) * 0.999) + 1], v[n] }
		($1 " " $2) != key { flush(); key = $1 " " $2; key1 = $1; key2 = $2; n = 0 }
		{ v[++n] = $3 }
		END { flush() }'
fi
warnings="$(grep -cE '^[0-9TZ:-]+ warn ' "$LOG")"
[ "$warnings" != 0 ] && grep -E '^[0-9TZ:-]+ warn ' "$LOG" | sort | uniq -c | sort -rn | head -10
if ! server_errors; then
	status=1
else
	echo "server log: no errors ($warnings warnings)"
fi
exit $status
