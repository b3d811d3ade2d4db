/*
 * Micro-benchmark of the case engine at scale (`make bench-case`).
 *
 * Fills a fresh store with BENCH_CASES (default 1,000,000) open cases whose
 * clocks run (one transaction, one prepared INSERT), spread over ten
 * departments, started on the 30 days before "today", then times:
 *   1. a full sweep over rows never computed (every row gets its deadlines,
 *      light and next check, and the escalations already due fire: the worst case);
 *   2. the full sweep again (nothing changes: the scan and the arithmetic over
 *      every running case, as after a calendar edit);
 *   3. the daily sweep the same day (nothing is due);
 *   4. the daily sweep of the next working day (lights turn and escalations
 *      fire for the cases crossing a threshold: only those rows are read);
 *   5. the department inbox: first pages and pages deep into the list (p50, p99).
 * Prints seconds and milliseconds; no assertion (a benchmark prints figures).
 *
 * Environment: BENCH_CASES, BENCH_CASE_STORE (a store URI; default a SQLite
 * file in a new temporary folder, removed at the end).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/calendar.h"
#include "core/embed.h"
#include "core/log.h"
#include "core/store.h"
#include "engines/case/case.h"
#include "engines/case/procdef.h"

static const char PROC[] =
	"process 基准流程\n"
	"limits statutory=20 promised=10 warn=0.75\n"
	"state accepted initial clock=run title=已受理\n"
	"state done final title=办结\n"
	"transition approve accepted -> done roles=staff public title=办结\n"
	"escalate remind at=1.0 of=promised to=staff title=系统催办\n"
	"escalate supervise at=1.0 of=statutory to=supervisor title=电子监察督办\n";

static const char SQL_DEPT[] = "INSERT INTO departments (code, name, level, created_at, updated_at) "
			       "VALUES ($1, $2, 'city', 0, 0) RETURNING id";
static const char SQL_CASE[] =
	"INSERT INTO cases (process, dept_id, tracking, subject, state, statutory_days, "
	"promised_days, clock_state, clock_started, run_since, created_at, updated_at) "
	"VALUES ('bench.flow', $1, $2, $3, 'accepted', 20, 10, 1, $4, $4, 0, 0)";

static double secs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int sweep(struct store *st, const struct calendar *cal, cal_day today, int full,
		 const char *what)
{
	struct case_sweep_stats s;
	double t0 = secs();
	if ((full ? case_sweep_full : case_sweep)(st, cal, today, &s) != 0) {
		fprintf(stderr, "sweep failed\n");
		return -1;
	}
	printf("%-34s %7.3f s  scanned %lld, changed %lld, escalated %lld\n", what, secs() - t0,
	       (long long)s.scanned, (long long)s.changed, (long long)s.escalated);
	return 0;
}

/* n inbox pages of dept: first pages, or following the cursor `depth` pages deep. */
static int inbox(struct store *st, int64_t dept, int n, int depth, const char *what)
{
	double *ms = malloc((size_t)n * sizeof *ms);
	char cursor[64] = "";
	if (ms == NULL)
		return -1;
	for (int i = 0; i < n; i++) {
		json_t *page = NULL;
		const char *after = depth > 0 && i % depth != 0 ? cursor : NULL;
		double t0 = secs();
		if (case_inbox(st, dept, NULL, after, 50, &page) != CASE_OK) {
			free(ms);
			return -1;
		}
		ms[i] = (secs() - t0) * 1000.0;
		json_t *next = json_object_get(page, "next");
		snprintf(cursor, sizeof cursor, "%s", json_is_string(next) ? json_string_value(next) : "");
		json_decref(page);
	}
	qsort(ms, (size_t)n, sizeof *ms, cmp_double);
	printf("%-34s p50 %6.3f ms  p99 %6.3f ms  max %6.3f ms\n", what, ms[n / 2],
	       ms[(n * 99) / 100], ms[n - 1]);
	free(ms);
	return 0;
}

int main(void)
{
	const char *env = getenv("BENCH_CASES");
	long ncases = env ? strtol(env, NULL, 10) : 1000000;
	const char *uri_env = getenv("BENCH_CASE_STORE");
	char dir[] = "/tmp/yz-bench-case-XXXXXX", uri[128], *err = NULL;
	struct store *st = NULL;
	struct calendar *cal = NULL;
	int64_t depts[10];
	int rc = 1;

	if (ncases < 1)
		ncases = 1;
	log_set_level(LOG_WARN);
	if (uri_env == NULL || *uri_env == '\0') {
		if (mkdtemp(dir) == NULL) {
			perror("mkdtemp");
			return 1;
		}
		snprintf(uri, sizeof uri, "sqlite:%s/bench.db", dir);
	} else {
		snprintf(uri, sizeof uri, "%s", uri_env);
		dir[0] = '\0';
	}
	if (store_open(uri, &st, &err) != 0) {
		fprintf(stderr, "store %s: %s\n", uri, err ? err : "?");
		free(err);
		return 1;
	}
	if (store_driver(st) == STORE_PG &&
	    store_exec_script(st, "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;") != 0)
		goto out;
	if (store_migrate(st) != 0)
		goto out;
	const struct embed_file files[] = { { "bench/flow.proc", (const unsigned char *)PROC,
					      sizeof PROC - 1 },
					    { NULL, NULL, 0 } };
	if (procdef_load_all(files, &err) != 0) {
		fprintf(stderr, "process: %s\n", err ? err : "?");
		goto out;
	}

	cal_day today = cal_day_of(time(NULL));
	while (cal_weekday(today) >= 5)
		today++;
	double t0 = secs();
	if (store_begin(st) != STORE_OK)
		goto out;
	for (int d = 0; d < 10; d++) {
		char code[16], name[32];
		snprintf(code, sizeof code, "b%d", d);
		snprintf(name, sizeof name, "基准部门%d", d);
		struct sval v[] = { SVT(code), SVT(name) };
		if (store_query_int(st, SQL_DEPT, v, 2, &depts[d]) != STORE_OK)
			goto out;
	}
	for (long i = 0; i < ncases; i++) {
		char tracking[24];
		snprintf(tracking, sizeof tracking, "B%09ld", i);
		struct sval v[] = { SVI(depts[i % 10]), SVT(tracking), SVT("基准办件"),
				    SVI(today - 1 - (i * 7919) % 30) };
		if (store_exec(st, SQL_CASE, v, 4, NULL) != STORE_OK)
			goto out;
	}
	if (store_commit(st) != STORE_OK)
		goto out;
	printf("%-34s %7.3f s  %ld cases, %s\n", "insert", secs() - t0, ncases,
	       store_driver(st) == STORE_PG ? "PostgreSQL" : "SQLite");
	if (store_driver(st) == STORE_PG && store_exec_script(st, "ANALYZE") != 0)
		goto out;

	cal = calendar_plain();
	cal_day next = today + (cal_weekday(today) == 4 ? 3 : 1);
	if (sweep(st, cal, today, 1, "full sweep, rows never computed") != 0 ||
	    sweep(st, cal, today, 1, "full sweep again, no change") != 0 ||
	    sweep(st, cal, today, 0, "daily sweep, same day") != 0 ||
	    sweep(st, cal, next, 0, "daily sweep, next working day") != 0)
		goto out;
	if (inbox(st, depts[0], 1000, 0, "inbox first page (50)") != 0 ||
	    inbox(st, depts[0], 1000, 100, "inbox following pages (50)") != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "bench: failed (%s)\n", st ? store_errmsg(st) : "?");
	calendar_free(cal);
	procdef_unload_all();
	store_close(st);
	free(err);
	if (uri_env == NULL || *uri_env == '\0') {
		char path[160];
		snprintf(path, sizeof path, "%s/bench.db", dir);
		unlink(path);
		snprintf(path, sizeof path, "%s/bench.db-wal", dir);
		unlink(path);
		snprintf(path, sizeof path, "%s/bench.db-shm", dir);
		unlink(path);
		rmdir(dir);
	}
	return rc;
}
