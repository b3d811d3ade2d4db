/*
 * bench/compare: cross-registry comparison (数据比对) at 1,000,000 records
 * against SQLite running the same comparison as one SQL join, in the same run.
 *
 *   build/rel/bench/compare [--persons N] [--store URI] [--keep DIR] [--runs R]
 *
 * Builds (or reuses, with --keep DIR and an existing DIR/compare.db) a store
 * with a population registry of N persons and an enterprise registry of N
 * enterprises whose legal representatives point into the population, with
 * max(1, N/2000) legal representatives missing from the population and
 * max(1, N/1000) names differing.  Keys are handed out in a scrambled order,
 * as in real registries (records are not stored in key order).  Then, R times
 * each (best taken, the file in the page cache for both):
 *   yizhan  reg_cmp_run (engines/registry/compare.c) through the store, on
 *           enterprise.legal_rep_id <-> population.id_no, legal_rep_name = name,
 *           only in A reported (the demo comparison), discrepancies counted by
 *           the callback;
 *   SQLite  the same comparison as SQL on its own connection (default
 *           settings), every row stepped:
 *             SELECT a._id, a.legal_rep_id, a.legal_rep_name, b._id, b.name
 *             FROM reg_enterprise a LEFT JOIN reg_population b ON b.id_no = a.legal_rep_id
 *             WHERE a.legal_rep_id IS NOT NULL AND (b._id IS NULL OR a.legal_rep_name IS NOT b.name)
 * and prints both times, the counts (which must equal the planted ones) and
 * the ratio SQLite / yizhan (target >= 2).  With a postgresql:// store only
 * the yizhan figure is measured.  Not a test: exits 1 only when the counts
 * are wrong or something fails.
 */
#include "core/log.h"
#include "core/store.h"
#include "core/validate.h"
#include "core/xalloc.h"
#include "engines/registry/compare.h"
#include "engines/registry/registry.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char POP[] =
	"registry population\nname 人口基础信息库\nowner psb\nkey id_no\n"
	"share conditional \"经授权后使用\"\n"
	"field id_no        公民身份号码 idcard       required personal source=psb\n"
	"field name         姓名         text(50)     required personal source=psb\n"
	"field sex          性别         enum(男|女)  required source=psb\n"
	"field birth_date   出生日期     date         required source=psb\n"
	"field address      住址         address(200) personal source=psb\n"
	"field household_no 户号         text(20)     required index source=psb\n";
static const char ENT[] =
	"registry enterprise\nname 法人基础信息库\nowner amr\nkey uscc\n"
	"share conditional \"经授权后使用\"\n"
	"field uscc           统一社会信用代码   uscc         required source=amr\n"
	"field name           企业名称           text(100)    required index source=amr\n"
	"field legal_rep_id   法定代表人身份证号 idcard       required personal derived=population.id_no\n"
	"field legal_rep_name 法定代表人姓名     text(50)     required personal derived=population.name\n"
	"field reg_capital    注册资本（万元）   decimal(2)   source=amr\n"
	"field est_date       成立日期           date         required source=amr\n"
	"field status         登记状态           enum(存续|吊销|注销|迁出) required index source=amr\n";

static const char SQL_DEPT[] = "INSERT INTO departments (code, name, level, created_at, updated_at) "
			       "VALUES ($1, $2, 'city', 0, 0) ON CONFLICT (code) DO NOTHING";
static const char SQL_POP[] =
	"INSERT INTO reg_population (id_no, name, sex, birth_date, address, household_no, _version, _created_at, "
	"_created_by, _created_src, _updated_at, _updated_by, _updated_src) "
	"VALUES ($1, $2, $3, $4, $5, $6, 1, 0, 'bench', 'bench', 0, 'bench', 'bench')";
static const char SQL_ENT[] =
	"INSERT INTO reg_enterprise (uscc, name, legal_rep_id, legal_rep_name, reg_capital, est_date, status, "
	"_version, _created_at, _created_by, _created_src, _updated_at, _updated_by, _updated_src) "
	"VALUES ($1, $2, $3, $4, $5, $6, '存续', 1, 0, 'bench', 'bench', 0, 'bench', 'bench')";
static const char SQL_COUNT[] = "SELECT COUNT(*) FROM reg_enterprise";

static const char BASELINE[] =
	"SELECT a._id, a.legal_rep_id, a.legal_rep_name, b._id, b.name "
	"FROM reg_enterprise a LEFT JOIN reg_population b ON b.id_no = a.legal_rep_id "
	"WHERE a.legal_rep_id IS NOT NULL AND (b._id IS NULL OR a.legal_rep_name IS NOT b.name)";

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A bijection of [0, m) for m < 2^31 (an affine map modulo the next prime is overkill here:
 * multiply by an odd constant modulo a power of two and skip values >= m, cycle-walking). */
static uint64_t scramble(uint64_t i, uint64_t m)
{
	uint64_t p = 1;
	while (p < m)
		p <<= 1;
	uint64_t x = i;
	do
		x = (x * 2654435761u + 12345) & (p - 1);
	while (x >= m);
	return x;
}

/* The k-th 身份证号 (k < 36,500,000): 440106, a birth date from 1950 on, a serial, the check. */
static void idcard_of(uint64_t k, char out[19])
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	uint64_t day = k / 1000, serial = k % 1000;
	int y = 1950, m = 0;
	for (;;) {
		int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
		uint64_t ylen = 365u + (unsigned)leap;
		if (day < ylen)
			break;
		day -= ylen;
		y++;
	}
	for (;;) {
		int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
		uint64_t ml = (uint64_t)mdays[m] + (m == 1 && leap);
		if (day < ml)
			break;
		day -= ml;
		m++;
	}
	char tmp[48];
	snprintf(tmp, sizeof tmp, "440106%04d%02d%02d%03u", y % 10000, (m + 1) % 100, (int)(day + 1) % 100,
		 (unsigned)serial % 1000u);
	memcpy(out, tmp, 17);
	out[17] = idcard_check_char(out);
	out[18] = '\0';
}

static const char *const SURNAMES[] = { "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙" };
static const char *const GIVEN[] = { "伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "涛", "明", "超" };

static void name_of(uint64_t i, char *out, size_t cap)
{
	snprintf(out, cap, "%s%s%s", SURNAMES[i % 12], GIVEN[(i / 12) % 14], GIVEN[(i / 168) % 14]);
}

static int fill(struct store *st, int64_t n, int64_t *planted_missing, int64_t *planted_name)
{
	uint64_t cap = (uint64_t)n + (uint64_t)n / 100 + 10;   /* key space: persons and the missing ones */
	double t0 = now_s();
	fprintf(stderr, "filling population (%lld)...\n", (long long)n);
	for (int64_t i = 0; i < n; i++) {
		if (i % 50000 == 0 && store_begin(st) != STORE_OK)
			return -1;
		char id[19], name[32], addr[64], hh[16];
		idcard_of(scramble((uint64_t)i, cap), id);
		name_of((uint64_t)i, name, sizeof name);
		snprintf(addr, sizeof addr, "示范市中山路%lld号", (long long)(i % 9999 + 1));
		snprintf(hh, sizeof hh, "H%09lld", (long long)(i / 3));
		char birth[11];
		snprintf(birth, sizeof birth, "%.4s-%.2s-%.2s", id + 6, id + 10, id + 12);
		struct sval p[] = { SVT(id), SVT(name), SVT(i % 2 ? "男" : "女"), SVT(birth), SVT(addr), SVT(hh) };
		if (store_exec(st, SQL_POP, p, 6, NULL) != STORE_OK)
			return -1;
		if ((i + 1) % 50000 == 0 || i + 1 == n)
			if (store_commit(st) != STORE_OK)
				return -1;
	}
	fprintf(stderr, "filling enterprise (%lld)...\n", (long long)n);
	int64_t miss_every = n / 2000 > 0 ? 2000 : n, name_every = n / 1000 > 0 ? 1000 : n;
	*planted_missing = *planted_name = 0;
	for (int64_t i = 0; i < n; i++) {
		if (i % 50000 == 0 && store_begin(st) != STORE_OK)
			return -1;
		uint64_t person = scramble((uint64_t)i * 7919u % (uint64_t)n, (uint64_t)n);
		char id[19], name[40], uscc[19], ename[64], cap2[24];
		int missing = i % miss_every == 17 % miss_every && *planted_missing < (n / 2000 > 0 ? n / 2000 : 1);
		int wrong = !missing && i % name_every == 501 % name_every &&
			    *planted_name < (n / 1000 > 0 ? n / 1000 : 1);
		if (missing) {
			idcard_of(scramble((uint64_t)(n + *planted_missing), cap), id);
			(*planted_missing)++;
		} else {
			idcard_of(scramble(person, cap), id);
		}
		name_of(person, name, sizeof name);
		if (wrong) {
			size_t l = strlen(name);
			snprintf(name + l, sizeof name - l, "%s", "某");
			(*planted_name)++;
		}
		snprintf(uscc, sizeof uscc, "91440106MA%08lld", (long long)i);
		snprintf(ename, sizeof ename, "示范市第%lld科技有限公司", (long long)i);
		snprintf(cap2, sizeof cap2, "%lld", (long long)(i % 1000 + 1) * 10000);
		struct sval p[] = { SVT(uscc), SVT(ename), SVT(id), SVT(name), SVT(cap2), SVT("2015-06-01") };
		if (store_exec(st, SQL_ENT, p, 6, NULL) != STORE_OK)
			return -1;
		if ((i + 1) % 50000 == 0 || i + 1 == n)
			if (store_commit(st) != STORE_OK)
				return -1;
	}
	fprintf(stderr, "filled in %.1f s\n", now_s() - t0);
	return 0;
}

static int count_diff(void *arg, const struct reg_cmp_diff *d)
{
	int64_t *n = arg;
	n[d->kind == REG_CMP_ONLY_A ? 0 : 1]++;
	return 0;
}

static int apply(struct store *st, const char *text)
{
	struct reg_actor who = { 0, "bench", "bench" };
	struct reg_error e;
	memset(&e, 0, sizeof e);
	if (store_begin(st) != STORE_OK)
		return -1;
	if (registry_apply(st, text, strlen(text), &who, &e) != 0) {
		fprintf(stderr, "registry_apply: %s %s %s\n", msg(e.why), e.field, e.detail);
		store_rollback(st);
		return -1;
	}
	return store_commit(st) == STORE_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
	int64_t persons = 1000000;
	int runs = 3;
	const char *uri = NULL, *keep = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--persons") == 0 && i + 1 < argc)
			persons = strtoll(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
			uri = argv[++i];
		else if (strcmp(argv[i], "--keep") == 0 && i + 1 < argc)
			keep = argv[++i];
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = (int)strtol(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: %s [--persons N] [--store URI] [--keep DIR] [--runs R]\n", argv[0]);
			return 2;
		}
	}
	if (persons < 1000 || persons > 30000000 || runs < 1) {
		fprintf(stderr, "compare bench: --persons 1000..30000000, --runs >= 1\n");
		return 2;
	}
	char dir[512], path[600], own[700];
	if (keep) {
		snprintf(dir, sizeof dir, "%s", keep);
		mkdir(dir, 0700);
	} else {
		snprintf(dir, sizeof dir, "%s/yizhan-bench-compare-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		if (mkdtemp(dir) == NULL) {
			perror("mkdtemp");
			return 1;
		}
	}
	snprintf(path, sizeof path, "%s/compare-%lld.db", dir, (long long)persons);
	snprintf(own, sizeof own, "sqlite:%s", path);
	int sqlite = uri == NULL;
	if (uri == NULL)
		uri = own;
	struct store *st = NULL;
	char *err = NULL;
	if (store_open(uri, &st, &err) != 0) {
		fprintf(stderr, "store: %s\n", err);
		return 1;
	}
	if (store_migrate(st) != 0)
		return 1;
	int64_t have = 0, missing = 0, names = 0;
	if (registry_get(st, "enterprise") == NULL) {
		struct sval d1[] = { SVT("psb"), SVT("公安局") }, d2[] = { SVT("amr"), SVT("市场监督管理局") };
		if (store_exec(st, SQL_DEPT, d1, 2, NULL) != STORE_OK || store_exec(st, SQL_DEPT, d2, 2, NULL) != STORE_OK ||
		    apply(st, POP) != 0 || apply(st, ENT) != 0)
			return 1;
	} else if (store_query_int(st, SQL_COUNT, NULL, 0, &have) != STORE_OK) {
		return 1;
	}
	if (have == 0) {
		if (fill(st, persons, &missing, &names) != 0) {
			fprintf(stderr, "fill: %s\n", store_errmsg(st));
			return 1;
		}
	} else {
		missing = persons / 2000 > 0 ? persons / 2000 : 1;
		names = persons / 1000 > 0 ? persons / 1000 : 1;
		fprintf(stderr, "reusing %s (%lld enterprises)\n", path, (long long)have);
	}

	struct reg_cmp c;
	struct reg_error e;
	if (reg_cmp_resolve(st, "enterprise", "legal_rep_id", "population", "id_no", "legal_rep_name=name", 1, 0, &c,
			    &e) != 0) {
		fprintf(stderr, "resolve: %s %s\n", msg(e.why), e.detail);
		return 1;
	}
	double best_y = 1e9, best_s = 1e9;
	int64_t got[2] = { 0, 0 }, base_rows = 0;
	int bad = 0;
	for (int r = 0; r < runs; r++) {
		struct reg_cmp_stats s;
		got[0] = got[1] = 0;
		struct reg_cmp_cb cb = { count_diff, NULL, got };
		double t0 = now_s();
		if (reg_cmp_run(st, &c, &cb, &s) != 0) {
			fprintf(stderr, "reg_cmp_run failed\n");
			return 1;
		}
		double t = now_s() - t0;
		if (t < best_y)
			best_y = t;
		printf("yizhan  run %d: %.3f s (A %lld, B %lld records; only in A %lld, mismatches %lld; %d partition%s)\n",
		       r + 1, t, (long long)s.rows_a, (long long)s.rows_b, (long long)got[0], (long long)got[1],
		       s.partitions, s.partitions == 1 ? "" : "s");
		if (got[0] != missing || got[1] != names)
			bad = 1;
		if (!sqlite)
			continue;
		sqlite3 *db = NULL;
		sqlite3_stmt *q = NULL;
		if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
		    sqlite3_prepare_v2(db, BASELINE, -1, &q, NULL) != SQLITE_OK) {
			fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(db));
			return 1;
		}
		int64_t rows = 0, only = 0;
		t0 = now_s();
		int rc;
		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			rows++;
			/* touch what a report needs, as the engine does */
			only += sqlite3_column_type(q, 3) == SQLITE_NULL;
			(void)sqlite3_column_text(q, 1);
			(void)sqlite3_column_text(q, 2);
			(void)sqlite3_column_text(q, 4);
		}
		t = now_s() - t0;
		sqlite3_finalize(q);
		sqlite3_close(db);
		if (rc != SQLITE_DONE) {
			fprintf(stderr, "sqlite step: %d\n", rc);
			return 1;
		}
		if (t < best_s)
			best_s = t;
		base_rows = rows;
		printf("SQLite  run %d: %.3f s (%lld rows: only in A %lld, mismatches %lld)\n", r + 1, t, (long long)rows,
		       (long long)only, (long long)(rows - only));
		if (only != missing || rows - only != names)
			bad = 1;
	}
	printf("compare %lld x %lld records: yizhan %.3f s", (long long)persons, (long long)persons, best_y);
	if (sqlite)
		printf(", SQLite SQL join %.3f s, ratio %.2f (target >= 2)", best_s, best_s / best_y);
	printf("; planted: %lld missing, %lld names%s\n", (long long)missing, (long long)names,
	       bad ? " — COUNTS WRONG" : " (found exactly)");
	(void)base_rows;
	store_close(st);
	if (!keep) {
		unlink(path);
		char wal[700];
		snprintf(wal, sizeof wal, "%s-wal", path);
		unlink(wal);
		snprintf(wal, sizeof wal, "%s-shm", path);
		unlink(wal);
		rmdir(dir);
	}
	return bad ? 1 : 0;
}
