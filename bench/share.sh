#!/bin/sh
# yizhan information-sharing benchmark, as `make bench` runs it after the
# others (BENCH_SHARE=0 skips it).  Needs build/rel/yizhan, wrk, sqlite3.
#   1. import: rows/s of `yizhan import` for a 1,000,000-row population CSV
#      written by `yizhan demo-data --csv` (every value checked first, all
#      or nothing, then written in transactions of 5,000 rows);
#   2. comparison (数据比对) of two registries of BENCH_COMPARE_ROWS
#      (1,000,000) records each on the key with five mapped fields, against
#      SQLite running the same comparison as SQL joins (only in A, only in B,
#      field mismatches) on the same database file in the same run: target
#      yizhan at least 2x faster (the best of BENCH_COMPARE_RUNS, 3, runs of
#      each, the CLI's whole run for yizhan: start, comparison, report
#      written to the store); then the same at BENCH_COMPARE_BIG
#      (10,000,000; 0 skips it; one run), figure printed;
#   3. the sharing API: point lookups/s with a department API token
#      (GET /api/v1/share/population/{key}, random keys of the 100,000-person
#      demo city) against the static-file baseline of the foundation bench
#      measured in the same run: target ratio >= 0.5.
# A benchmark prints figures: exit 0 whatever they are, non-zero only when
# something could not run.  See bench/README.md.
#
# Environment: YIZHAN_BIN (build/rel/yizhan), BENCH_IMPORT_ROWS (1000000),
# BENCH_COMPARE_ROWS (1000000), BENCH_COMPARE_BIG (10000000), BENCH_COMPARE_RUNS (3),
# BENCH_DURATION (10s), BENCH_WARMUP (2s).
set -u
cd "$(dirname "$0")/.." || exit 2
. ./bench/lib.sh

TAG=bench-share
BIN="${YIZHAN_BIN:-build/rel/yizhan}"
IMPORT_ROWS="${BENCH_IMPORT_ROWS:-1000000}"
CMP_ROWS="${BENCH_COMPARE_ROWS:-1000000}"
CMP_BIG="${BENCH_COMPARE_BIG:-10000000}"
COMPARE_RUNS="${BENCH_COMPARE_RUNS:-3}"
DURATION="${BENCH_DURATION:-10s}"
WARMUP="${BENCH_WARMUP:-2s}"
STOP_WAIT=30
START_WAIT=1200
SERVER_ACCESS_LOG=""

[ -x "$BIN" ] || die "$BIN not found; run make"
need_tools wrk curl python3 sqlite3

TMP="$(mktemp -d /tmp/yizhan-bench-share-XXXXXX)"
DATA="$TMP/data"
LOG="$TMP/server.log"
PID=""
cleanup_on_exit
mkdir -p build/bench

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
least() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }'; }

echo "bench-share: yizhan $("$BIN" version | awk '{ print $2 }'), $(nproc) CPUs, SQLite $(sqlite3 --version | awk '{ print $1 }')"

# The demo city (100,000 persons) on a fresh data folder: departments, the six
# registries, grants.  Started once here and stopped, then used by all parts.
YIZHAN_DEMO_PERSONS=100000 start_server || die "the server did not start"
stop_server
DB="$DATA/yizhan.db"

# A registry named CODE with the population registry's definition.
define_copy() { # code
	sed "s/^registry population\$/registry $1/; s/^name .*/name 基准测试人口库/" registries/population.reg \
		>"$TMP/$1.reg"
	"$BIN" --data "$DATA" registry apply "$TMP/$1.reg" >>"$LOG" 2>&1 || die "registry apply $1 failed (see $LOG)"
}

# ====================== 1. import ======================

"$BIN" --data "$DATA" demo-data --persons "$IMPORT_ROWS" --seed 7 --csv "$TMP/csv" >>"$LOG" 2>&1 ||
	die "demo-data --csv failed (see $LOG)"
ROWS="$(($(wc -l <"$TMP/csv/population.csv") - 1))"
define_copy bench_import
T0="$(now)"
"$BIN" --data "$DATA" import bench_import "$TMP/csv/population.csv" >"build/bench/import.txt" 2>&1 ||
	die "import failed: $(tail -5 build/bench/import.txt)"
T1="$(now)"
IMPORT_S="$(secs "$T0" "$T1")"
GOT="$(sqlite3 "$DB" "SELECT COUNT(*) FROM reg_bench_import")"
[ "$GOT" = "$ROWS" ] || die "import wrote $GOT of $ROWS rows"
IMPORT_RPS="$(awk -v n="$ROWS" -v s="$IMPORT_S" 'BEGIN { printf "%.0f", n / s }')"
echo "bench-share: import of $ROWS population rows (CSV, every value checked first, then written in batches of 5,000): ${IMPORT_S} s, $IMPORT_RPS rows/s"
rm -rf "$TMP/csv"

# ====================== 2. comparison vs SQL joins ======================

# Fills reg_<a> and reg_<b> with n synthetic persons each, in SQL (fast; the
# comparison does not look at how values were written).  Keys are a
# permutation (key order is not insertion order, as after a real import).
# b differs from a: every 1000th person of a is missing, every 500th has
# another name, every 700th another address, and n/1000 persons only in b.
fill_pair() { # a b n
	P="$(python3 -c 'import sys
n = 2 * int(sys.argv[1]) + 3
def prime(k):
    if k % 2 == 0: return False
    i = 3
    while i * i <= k:
        if k % i == 0: return False
        i += 2
    return True
while not prime(n): n += 1
print(n)' "$3")"
	X="$((($3 / 1000) + 1))"
	cols="id_no, name, sex, birth_date, address, phone, household_no, _version, _created_at, _created_by, _created_src, _updated_at, _updated_by, _updated_src"
	row="printf('440101%012d', (i * 7919) % $P), '姓名' || (i % 9973), CASE i % 2 WHEN 0 THEN '女' ELSE '男' END,
		printf('19%02d-%02d-%02d', i % 100, i % 12 + 1, i % 28 + 1), '示范市明珠区海滨路' || (i % 5000) || '号', NULL,
		printf('H%09d', i / 3), 1, 0, 'bench', 'bench', 0, 'bench', 'bench'"
	rowb="printf('440101%012d', (i * 7919) % $P),
		CASE WHEN i % 500 = 0 THEN '改名' || i ELSE '姓名' || (i % 9973) END, CASE i % 2 WHEN 0 THEN '女' ELSE '男' END,
		printf('19%02d-%02d-%02d', i % 100, i % 12 + 1, i % 28 + 1),
		CASE WHEN i % 700 = 0 THEN '示范市东湖区' || i ELSE '示范市明珠区海滨路' || (i % 5000) || '号' END, NULL,
		printf('H%09d', i / 3), 1, 0, 'bench', 'bench', 0, 'bench', 'bench'"
	sqlite3 "$DB" >/dev/null <<EOF || die "filling $1 and $2 failed"
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
DELETE FROM reg_$1;
DELETE FROM reg_$2;
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $3)
INSERT INTO reg_$1 ($cols) SELECT $row FROM s;
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $3 + $X)
INSERT INTO reg_$2 ($cols) SELECT $rowb FROM s WHERE i % 1000 <> 0 OR i > $3;
COMMIT;
ANALYZE;
EOF
}

# The same comparison as SQL joins, rows written to /dev/null as yizhan writes its report.
sql_compare() { # a b
	m="a.name IS NOT b.name OR a.sex IS NOT b.sex OR a.birth_date IS NOT b.birth_date OR a.address IS NOT b.address OR a.household_no IS NOT b.household_no"
	sqlite3 "$DB" >/dev/null <<EOF || die "the SQL comparison failed"
SELECT a.id_no FROM reg_$1 a WHERE NOT EXISTS (SELECT 1 FROM reg_$2 b WHERE b.id_no = a.id_no);
SELECT b.id_no FROM reg_$2 b WHERE NOT EXISTS (SELECT 1 FROM reg_$1 a WHERE a.id_no = b.id_no);
SELECT a.id_no, a.name, b.name, a.sex, b.sex, a.birth_date, b.birth_date, a.address, b.address,
       a.household_no, b.household_no
  FROM reg_$1 a JOIN reg_$2 b ON b.id_no = a.id_no WHERE $m;
EOF
}

compare_run() { # n label
	define_copy bench_a
	define_copy bench_b
	fill_pair bench_a bench_b "$1"
	# Best of COMPARE_RUNS each, alternating (the database file in the page cache for both).
	SQL_S=""
	YZ_S=""
	run=0
	while [ "$run" -lt "$COMPARE_RUNS" ]; do
		T0="$(now)"
		sql_compare bench_a bench_b
		T1="$(now)"
		SQL_S="$(least "$SQL_S" "$(secs "$T0" "$T1")")"
		T0="$(now)"
		"$BIN" --data "$DATA" compare bench_a:id_no bench_b:id_no \
			--map name=name,sex=sex,birth_date=birth_date,address=address,household_no=household_no \
			--only-b --no-tasks >"build/bench/compare-$2.txt" 2>&1 ||
			die "yizhan compare failed: $(tail -5 "build/bench/compare-$2.txt")"
		T1="$(now)"
		YZ_S="$(least "$YZ_S" "$(secs "$T0" "$T1")")"
		run=$((run + 1))
	done
	SPEEDUP="$(awk -v a="$SQL_S" -v b="$YZ_S" 'BEGIN { printf "%.2f", a / b }')"
	echo "bench-share: comparison of two $1-record registries (5 mapped fields): yizhan $YZ_S s, SQLite joins $SQL_S s: yizhan ${SPEEDUP}x faster"
	# Both must find the same discrepancies.
	m="a.name IS NOT b.name OR a.sex IS NOT b.sex OR a.birth_date IS NOT b.birth_date OR a.address IS NOT b.address OR a.household_no IS NOT b.household_no"
	WANT="$(sqlite3 "$DB" "SELECT (SELECT COUNT(*) FROM reg_bench_a a WHERE NOT EXISTS (SELECT 1 FROM reg_bench_b b WHERE b.id_no = a.id_no)) || ' ' ||
		(SELECT COUNT(*) FROM reg_bench_b b WHERE NOT EXISTS (SELECT 1 FROM reg_bench_a a WHERE a.id_no = b.id_no)) || ' ' ||
		((SELECT COUNT(*) FROM reg_bench_a a JOIN reg_bench_b b ON b.id_no = a.id_no WHERE a.name IS NOT b.name) +
		 (SELECT COUNT(*) FROM reg_bench_a a JOIN reg_bench_b b ON b.id_no = a.id_no WHERE a.address IS NOT b.address))")"
	GOT="$(awk -F': *' '/^only in A/ { a = $2 } /^only in B/ { b = $2 } /^mismatches/ { m = $2 } END { print a " " b " " m }' \
		"build/bench/compare-$2.txt")"
	[ "$WANT" = "$GOT" ] || die "yizhan compare found $GOT (only A, only B, field mismatches), SQL finds $WANT"
	echo "    both found: $GOT (only in A, only in B, field mismatches)"
}

compare_run "$CMP_ROWS" 1m
VERDICT="$(awk -v s="$SPEEDUP" 'BEGIN { print (s >= 2) ? "met" : "NOT MET" }')"
echo "bench-share: target yizhan >= 2x faster than the SQL joins at $CMP_ROWS records: $VERDICT"
if [ "$CMP_BIG" != 0 ]; then
	COMPARE_RUNS=1
	compare_run "$CMP_BIG" big
fi
sqlite3 "$DB" "DELETE FROM reg_bench_a; DELETE FROM reg_bench_b; DELETE FROM reg_bench_import;" ||
	die "cleaning up the bench registries failed"

# ====================== 3. the sharing API vs static files ======================

TOKEN="$("$BIN" --data "$DATA" token create --dept mca --name "基准测试" --scopes population 2>>"$LOG")" ||
	die "token create failed"
start_server || die "the server did not restart"
sqlite3 "$DB" "SELECT id_no FROM reg_population ORDER BY random() LIMIT 10000" >"$TMP/keys.txt"
KEY="$(head -1 "$TMP/keys.txt")"
CODE="$(curl -s -o "$TMP/one.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/share/population/$KEY")"
[ "$CODE" = 200 ] || die "GET /api/v1/share/population/KEY with the token answered $CODE: $(cat "$TMP/one.json")"
grep -q '"record"' "$TMP/one.json" || die "the sharing API answered no record: $(cat "$TMP/one.json")"

cat >"$TMP/keys.lua" <<EOF
local keys = {}
for line in io.lines("$TMP/keys.txt") do keys[#keys + 1] = line end
local n = 0
request = function()
	n = n + 1
	return wrk.format("GET", "/api/v1/share/population/" .. keys[(n % #keys) + 1],
		{ ["Authorization"] = "Bearer $TOKEN" })
end
EOF
wrk -t2 -c64 -d"$WARMUP" "$BASE/static/site.css" >/dev/null 2>&1
wrk -t2 -c64 -d"$DURATION" --latency "$BASE/static/site.css" >build/bench/wrk-share-static.txt 2>&1
wrk_figures build/bench/wrk-share-static.txt || die "wrk gave no figures for the static file"
S_RPS="$RPS"
S_P99="$P99"
wrk -t2 -c64 -d"$WARMUP" -s "$TMP/keys.lua" "$BASE" >/dev/null 2>&1
wrk -t2 -c64 -d"$DURATION" --latency -s "$TMP/keys.lua" "$BASE" >build/bench/wrk-share-api.txt 2>&1
wrk_figures build/bench/wrk-share-api.txt || die "wrk gave no figures for the sharing API"
[ "$BAD" = 0 ] || echo "bench-share: $BAD sharing API answers were not 2xx" >&2
RATIO="$(awk -v a="$RPS" -v b="$S_RPS" 'BEGIN { printf "%.2f", a / b }')"
echo "bench-share: static /static/site.css: $S_RPS req/s, p99 $S_P99 ms"
echo "bench-share: sharing API point lookups with a token (random keys, audited, logged for the tracker): $RPS req/s, p99 $P99 ms"
VERDICT="$(awk -v r="$RATIO" 'BEGIN { print (r >= 0.5) ? "met" : "NOT MET" }')"
echo "bench-share: ratio API / static $RATIO (target >= 0.5): $VERDICT"
stop_server
AUDITED="$(sqlite3 "$DB" "SELECT COUNT(*) FROM audit_log WHERE action = 'share.read'")"
echo "bench-share: share.read audit entries after the run: $AUDITED"
server_errors || exit 1
exit 0
