#!/bin/sh
# yizhan service-hall benchmark, as `make bench` runs it after bench/run.sh
# (BENCH_HALL=0 skips it).  Needs build/rel/yizhan, build/rel/bench/fill_cases
# and build/rel/bench/raw_replay.
#   1. durable submissions/s through the HTTP API (SQLite, synchronous=FULL):
#      wrk POSTs applications of 失业保险金申领 as the citizen chen; then, in the
#      same run, raw_replay inserts exactly the rows those submissions wrote
#      into a copy of the store, one transaction per submission: the ratio
#      API / raw (target >= 0.5);
#   2. the department inbox with BENCH_CASES (1,000,000) open cases: fill_cases
#      adds them to the stopped server's store, the server is restarted, and
#      wrk reads the first page and a page a few thousand rows deep as the staff
#      member zhang.amr: req/s and p99 (target < 20 ms);
#   3. the deadline sweeps over those cases (target < 2 s): the full sweep over
#      rows never computed, the full sweep again, the daily sweep of the same
#      day and of the next working day.
# A benchmark prints figures: exit 0 whatever they are, non-zero only when
# something could not run.  See bench/README.md.
#
# Environment: YIZHAN_BIN (build/rel/yizhan), BENCH_CASES (1000000),
# BENCH_HALL_THREADS (2), BENCH_HALL_CONNECTIONS (16), BENCH_DURATION (10s),
# BENCH_WARMUP (2s).
set -u
cd "$(dirname "$0")/.." || exit 2
. ./bench/lib.sh

TAG=bench-hall
BIN="${YIZHAN_BIN:-build/rel/yizhan}"
FILL=build/rel/bench/fill_cases
RAW=build/rel/bench/raw_replay
CASES="${BENCH_CASES:-1000000}"
THREADS="${BENCH_HALL_THREADS:-2}"
CONNS="${BENCH_HALL_CONNECTIONS:-16}"
DURATION="${BENCH_DURATION:-10s}"
WARMUP="${BENCH_WARMUP:-2s}"
TARGET_RATIO=0.5
TARGET_P99_MS=20
TARGET_SWEEP_S=2
STOP_WAIT=30
START_WAIT=1200
SERVER_ACCESS_LOG=""

for f in "$BIN" "$FILL" "$RAW"; do
	[ -x "$f" ] || die "$f not found; run make $f"
done
need_tools wrk curl python3

TMP="$(mktemp -d /tmp/yizhan-bench-hall-XXXXXX)"
DATA="$TMP/data"
LOG="$TMP/server.log"
PID=""
cleanup_on_exit

# start_server (bench/lib.sh) starts the server on DATA (seeded with the demo
# on the first start) and waits until it answers and its start-up sweep of
# the case clocks is done (so that the sweep does not run during a measurement).
server_prepare() {
	sweeps_before="$(grep -c 'sweep (full)' "$LOG" 2>/dev/null)"
}
server_ready() {
	[ "$(grep -c 'sweep (full)' "$LOG")" -gt "${sweeps_before:-0}" ]
}

field() { # json key: a top-level string or number of a JSON answer
	python3 -c 'import json, sys
v = json.loads(sys.stdin.read())
for k in sys.argv[1].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("" if v is None else v)' "$1"
}

echo "bench-hall: yizhan $("$BIN" version | awk '{ print $2 }'), $(nproc) CPUs, wrk -t$THREADS -c$CONNS -d$DURATION --latency"
status=0

# ====================== 1. submissions through the API vs raw SQLite ======================

start_server || die "the server did not start"
CRED="$DATA/demo-credentials.txt"
PW="$(awk '$1 == "chen" { print $2 }' "$CRED")"
[ -n "$PW" ] || die "no chen in $CRED"
ANSWER="$(curl -s -c "$TMP/chen.jar" -H 'Content-Type: application/json' \
	-d "{\"login\":\"chen\",\"password\":\"$PW\"}" "$BASE/api/v1/session")"
[ "$(printf '%s' "$ANSWER" | field state)" = ok ] || die "sign-in of chen failed: $ANSWER"
CSRF="$(printf '%s' "$ANSWER" | field csrf_token)"
SID="$(awk '$6 == "yz_sid" { print $7 }' "$TMP/chen.jar")"
[ -n "$SID" ] && [ -n "$CSRF" ] || die "no session cookie or CSRF token for chen"

# The material: one 1x1 PNG, uploaded once; every application names it.
python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(
"89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415478"
"9c63f8cfc0000003010100c9fe92ef0000000049454e44ae426082"))' >"$TMP/id.png"
ANSWER="$(curl -s -b "$TMP/chen.jar" -H "X-CSRF-Token: $CSRF" -H "Idempotency-Key: bench-upload-$$" \
	-F "file=@$TMP/id.png;type=image/png" "$BASE/api/v1/files")"
FILE_ID="$(printf '%s' "$ANSWER" | field id)"
[ -n "$FILE_ID" ] || die "POST /api/v1/files failed: $ANSWER"

APPLY="$BASE/api/v1/hall/items/hrss-syj/applications"
submit_wrk() { # duration output
	wrk -t"$THREADS" -c"$CONNS" -d"$1" --latency -H "Cookie: yz_sid=$SID" -H "X-CSRF-Token: $CSRF" \
		-s bench/submit.lua "$APPLY" -- "$FILE_ID" "$$-$2" >"$TMP/wrk-submit-$2.txt" 2>&1
}
submit_wrk "$WARMUP" warmup
# One submission checked by hand; the cases of the measured run come after it.
python3 -c 'import json, sys
print(json.dumps({"name": "陈小梅", "id_number": "440106199001010013", "last_employer": "示范市某某公司",
	"separation_date": "2026-01-15", "bank_account": "6217000000000000", "phone": "13800138000",
	"action": "submit", "files": {"m1": int(sys.argv[1])}}, ensure_ascii=False))' "$FILE_ID" >"$TMP/apply.json"
ANSWER="$(curl -s -w '\n%{http_code}' -b "$TMP/chen.jar" -H "X-CSRF-Token: $CSRF" \
	-H "Idempotency-Key: bench-check-$$" -H 'Content-Type: application/json' --data-binary @"$TMP/apply.json" "$APPLY")"
[ "$(printf '%s' "$ANSWER" | tail -1)" = 201 ] || die "the check application failed: $ANSWER"
CHECK_ID="$(printf '%s' "$ANSWER" | sed '$d' | field id)"
[ "$(printf '%s' "$ANSWER" | sed '$d' | field state)" = submitted ] || die "the check application is not submitted: $ANSWER"
FIRST=$((CHECK_ID + 1))

submit_wrk "$DURATION" run
OUT="$TMP/wrk-submit-run.txt"
wrk_figures "$OUT" || die "could not read wrk's output $OUT"
SUB_RPS="$RPS" SUB_P99="$P99" SUB_BAD="$BAD" SUB_SOCK="$SOCK"
SUB_201="$(awk '$1 == "status" && $2 == 201 { print $3 }' "$OUT")"
SUB_OTHER="$(awk '$1 == "status" && $2 != 201 { printf "%s%s x%s", sep, $2, $3; sep = ", " }' "$OUT")"
SUB_SECS="$(awk '/requests in/ { v = $(NF - 2); sub(/,$/, "", v); print v }' "$OUT")"
stop_server

RAW_OUT="$("$RAW" "$DATA/yizhan.db" "$TMP/raw.db" "$FIRST")" || die "raw_replay failed"
rm -f "$TMP/raw.db" "$TMP/raw.db-wal" "$TMP/raw.db-shm"
RAW_N="$(printf '%s' "$RAW_OUT" | awk '{ print $2 }')"
RAW_ROWS="$(printf '%s' "$RAW_OUT" | awk '{ print $4 }')"
RAW_RPS="$(printf '%s' "$RAW_OUT" | awk '{ print $(NF - 1) }')"

# ====================== 2./3. 1,000,000 cases: sweeps and the inbox ======================

FILL_OUT="$TMP/fill.txt"
"$FILL" "sqlite:$DATA/yizhan.db" "$CASES" >"$FILL_OUT" || die "fill_cases failed"
start_server || die "the server did not start"

sign_in_totp zhang.amr "$TMP/zhang.jar"
COOKIE="Cookie: yz_sid=$SID"

DEPT="$(curl -s -H "$COOKIE" "$BASE/api/v1/hall/inbox" | field dept.id)"
[ -n "$DEPT" ] || die "GET /api/v1/hall/inbox: no department for zhang.amr"
# A cursor a few thousand rows deep, through the API (200 rows a page).
AFTER=""
DEPTH=0
while [ $DEPTH -lt 5000 ]; do
	Q="dept=$DEPT&limit=200"
	[ -n "$AFTER" ] && Q="$Q&after=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$AFTER")"
	NEXT="$(curl -s -H "$COOKIE" "$BASE/api/v1/hall/inbox?$Q" | field next)"
	[ -n "$NEXT" ] || die "the inbox of department $DEPT ended after $DEPTH rows (fill_cases added $CASES?)"
	AFTER="$NEXT"
	DEPTH=$((DEPTH + 200))
done
AFTER_Q="$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$AFTER")"
FIRST_URL="$BASE/hall/inbox?dept=$DEPT"
DEEP_URL="$BASE/hall/inbox?dept=$DEPT&after=$AFTER_Q"
for u in "$FIRST_URL" "$DEEP_URL"; do
	body="$(curl -s -w '\n%{http_code}' -H "$COOKIE" "$u")"
	[ "$(printf '%s' "$body" | tail -1)" = 200 ] || die "GET $u answered $(printf '%s' "$body" | tail -1)"
	printf '%s' "$body" | grep -q '/hall/cases/' || die "GET $u lists no case"
done
INBOX_BYTES="$(curl -s -H "$COOKIE" "$FIRST_URL" | wc -c)"

inbox_wrk() { # name url
	wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -H "$COOKIE" "$2" >/dev/null 2>&1
	wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "$COOKIE" "$2" >"$TMP/wrk-$1.txt" 2>&1
	wrk_figures "$TMP/wrk-$1.txt" || die "could not read wrk's output $TMP/wrk-$1.txt"
}
inbox_wrk inbox-first "$FIRST_URL"
IN1_RPS="$RPS" IN1_P99="$P99" IN1_BAD="$BAD" IN1_SOCK="$SOCK"
inbox_wrk inbox-deep "$DEEP_URL"
IN2_RPS="$RPS" IN2_P99="$P99" IN2_BAD="$BAD" IN2_SOCK="$SOCK"
AFTER_STATUS="$(curl -s -o /dev/null -w '%{http_code}' -H "$COOKIE" "$FIRST_URL")"
stop_server
"$FILL" --next-day "sqlite:$DATA/yizhan.db" >>"$FILL_OUT" || die "fill_cases --next-day failed"
mkdir -p build/bench && cp "$TMP"/wrk-*.txt "$FILL_OUT" build/bench/ 2>/dev/null

# ====================== report ======================

secs_of() { awk -v w="$1" 'index($0, w) == 1 { print $(NF - 7) }' "$FILL_OUT"; }
sweep_line() { awk -v w="$1" 'index($0, w) == 1 { s = substr($0, 38); sub(/^ +/, "", s); print s }' "$FILL_OUT"; }
INSERT_S="$(awk '$1 == "insert" { print $2 }' "$FILL_OUT")"
FULL1_S="$(secs_of 'full sweep, rows never computed')"
FULL2_S="$(secs_of 'full sweep again, no change')"
DAY1_S="$(secs_of 'daily sweep, same day')"
DAY2_S="$(secs_of 'daily sweep, next working day')"

echo
echo "1. durable submissions (POST /api/v1/hall/items/hrss-syj/applications, SQLite WAL, synchronous=FULL)"
printf '   API  %9.1f submissions/s   (%s answers 201 in %s, p99 %.2f ms, -t%s -c%s)\n' \
	"$SUB_RPS" "${SUB_201:-0}" "$SUB_SECS" "$SUB_P99" "$THREADS" "$CONNS"
printf '   raw  %9.1f submissions/s   (the same %s submissions, %s rows, replayed one transaction each)\n' \
	"$RAW_RPS" "$RAW_N" "$RAW_ROWS"
echo
echo "2. department inbox, $CASES open cases of 市场监督管理局 (dept $DEPT) in the store"
printf '   first page           %8.0f req/s   p99 %7.2f ms   (%s bytes of HTML)\n' "$IN1_RPS" "$IN1_P99" "$INBOX_BYTES"
printf '   page %5s rows deep %8.0f req/s   p99 %7.2f ms\n' "$DEPTH" "$IN2_RPS" "$IN2_P99"
echo
echo "3. deadline sweeps over the same store (fill_cases: insert $INSERT_S s)"
for w in 'full sweep, rows never computed' 'full sweep again, no change' 'daily sweep, same day' \
	'daily sweep, next working day'; do
	printf '   %-32s %s\n' "$w" "$(sweep_line "$w")"
done
echo
awk -v a="$SUB_RPS" -v r="$RAW_RPS" -v t="$TARGET_RATIO" -v p1="$IN1_P99" -v p2="$IN2_P99" -v tp="$TARGET_P99_MS" \
	-v f1="$FULL1_S" -v f2="$FULL2_S" -v d1="$DAY1_S" -v d2="$DAY2_S" -v ts="$TARGET_SWEEP_S" -v n="$CASES" '
function verdict(ok) { return ok ? "met" : "NOT MET" }
BEGIN {
	printf "targets (issue):\n"
	printf "  submissions API/raw >= %.1f              %-8s (%.2f)\n", t, verdict(a / r >= t), a / r
	printf "  inbox p99 < %d ms, first page            %-8s (%.2f ms)\n", tp, verdict(p1 < tp), p1
	printf "  inbox p99 < %d ms, deep page             %-8s (%.2f ms)\n", tp, verdict(p2 < tp), p2
	printf "  sweep over %d open cases < %d s:\n", n, ts
	printf "    daily sweep, same day                   %-8s (%.3f s)\n", verdict(d1 < ts), d1
	printf "    daily sweep, next working day           %-8s (%.3f s)\n", verdict(d2 < ts), d2
	printf "    full sweep, nothing changes             %-8s (%.3f s)\n", verdict(f2 < ts), f2
	printf "    full sweep, every row computed/written  %-8s (%.3f s)\n", verdict(f1 < ts), f1
}'

if [ "$SUB_BAD" != 0 ] || [ -n "$SUB_OTHER" ]; then
	echo "bench-hall: submissions: answers other than 201: ${SUB_OTHER:-$SUB_BAD}: the figure is not valid" >&2
	status=1
fi
for n in IN1 IN2; do
	eval "bad=\$${n}_BAD"
	if [ "$bad" != 0 ]; then
		echo "bench-hall: inbox: $bad answers were not 2xx/3xx: the figures are not valid" >&2
		status=1
	fi
done
for s in "$SUB_SOCK" "$IN1_SOCK" "$IN2_SOCK"; do
	[ -n "$s" ] && echo "bench-hall: wrk socket errors: $s"
done
if [ "$AFTER_STATUS" != 200 ]; then
	echo "bench-hall: the staff session no longer opens the inbox after the run ($AFTER_STATUS)" >&2
	status=1
fi
if ! server_errors; then
	status=1
else
	echo "server log: no errors"
fi
exit $status
